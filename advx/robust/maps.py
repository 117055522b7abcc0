"""How digit-like a network's pictures of each class are: effective weights, local Jacobians, input gradients.

Three kinds of map, each a ``(784,)`` picture tied to one class ``c`` (``MAP_KINDS``):

- ``effective_weights``: output neuron ``c``'s effective weights W1·W2·W3 (``advx.model.effective_weights``),
  ReLU- and bias-free: the post's picture, the same for every image (10 maps);
- ``local_jacobian``: the gradient of logit ``c`` at a test image of class ``c``, with the ReLUs that image
  switches on (one map per image);
- ``input_gradient``: minus the gradient of the cross-entropy at that image and its label: the direction
  that makes the image more its own class (one map per image).

Each map is scored with the noise-versus-digit measures of ``advx.neurons`` (share of energy at high spatial
frequency, roughness; pixel noise gives about 0.80 and 1.97) and its pixel correlation with the class's
dataset average (the mean training image of class ``c``), plainly and centred (the class average minus the
average of the ten, which keeps what sets the class apart from the others). ``MapMeasures`` holds the
medians over the maps of each kind; ``map_measures_by_epoch`` follows them through a run's training.

Shapes: images ``(n, 784)`` float32 in [0, 1] or uint8; labels ``(n,)`` int.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from advx.model import N_CLASSES, effective_weights, forward, to_pixels
from advx.neurons.measures import high_frequency_share, pixel_correlation, roughness

MAP_KINDS = ("effective_weights", "local_jacobian", "input_gradient")
MEASURES = ("high_frequency", "roughness", "correlation", "correlation_centred")
MAP_IMAGES = 200  # test images whose local Jacobians and input gradients are measured


def class_averages(images, labels) -> np.ndarray:
    """``(10, 784)`` float32: the mean image of each class (a class with no image gets zeros)."""
    images, labels = np.asarray(images).reshape(len(images), -1), np.asarray(labels)
    out = np.zeros((N_CLASSES, images.shape[1]))
    for c in range(N_CLASSES):  # one class's float64 rows at a time: no float64 copy of the whole set (470 MB)
        if (labels == c).any():
            out[c] = np.asarray(to_pixels(images[labels == c]), np.float64).mean(axis=0)
    return out.astype(np.float32)


def _logit_gradients(params: dict, x: jax.Array, labels: jax.Array) -> jax.Array:
    """``(n, 784)``: the gradient of each image's logit for its label, at that image."""
    return jax.grad(lambda v: jnp.take_along_axis(forward(params, v), labels[:, None], axis=-1).sum())(x)


def _loss_gradients(params: dict, x: jax.Array, labels: jax.Array) -> jax.Array:
    """``(n, 784)``: minus the gradient of each image's cross-entropy for its label."""
    def loss(v):
        log_probs = jax.nn.log_softmax(forward(params, v), axis=-1)
        return -jnp.take_along_axis(log_probs, labels[:, None], axis=-1).sum()
    return -jax.grad(loss)(x)


def _scores(maps: jax.Array, averages: jax.Array, centred: jax.Array) -> jax.Array:
    """``(4, m)``: the ``MEASURES`` of ``maps (784, m)`` against matching class pictures ``(784, m)``."""
    return jnp.stack([high_frequency_share(maps), roughness(maps), pixel_correlation(maps, averages),
                      pixel_correlation(maps, centred)])


@jax.jit
def _all_scores(params, x, labels, averages):
    centred = averages - averages.mean(axis=0, keepdims=True)
    out = {"effective_weights": _scores(effective_weights(params)["output"], averages.T, centred.T)}
    per_image = {"local_jacobian": _logit_gradients(params, x, labels),
                 "input_gradient": _loss_gradients(params, x, labels)}
    for kind, maps in per_image.items():
        out[kind] = _scores(maps.T, averages[labels].T, centred[labels].T)
    return out


class MapMeasures(NamedTuple):
    """Medians over the maps of each kind: ``(3,)`` float64 each, in the order of ``MAP_KINDS``.

    ``high_frequency``, ``roughness``: noise gives about 0.80 and 1.97, digits far less.
    ``correlation``: with the class's dataset average; ``correlation_centred``: with it minus the mean of the
    ten class averages. Both in [-1, 1]; digit-like maps are near 1.
    """

    high_frequency: np.ndarray
    roughness: np.ndarray
    correlation: np.ndarray
    correlation_centred: np.ndarray


def map_scores(params: dict, images, labels, averages) -> dict:
    """Every map's scores: ``{kind: (4, m) float64}``, rows the ``MEASURES`` (NaN for a constant map).

    ``images (n, 784)`` and ``labels (n,)`` give the per-image maps (m = n); ``averages (10, 784)`` from
    ``class_averages``; the effective weights give m = 10.
    """
    out = _all_scores(params, jnp.asarray(to_pixels(images)), jnp.asarray(labels, jnp.int32),
                      jnp.asarray(averages, jnp.float32))
    return {kind: np.asarray(out[kind], np.float64) for kind in MAP_KINDS}


def map_measures(params: dict, images, labels, averages) -> MapMeasures:
    """The medians of ``map_scores`` per kind (NaN maps left out)."""
    scores = map_scores(params, images, labels, averages)
    table = np.stack([np.nanmedian(scores[kind], axis=1) for kind in MAP_KINDS], axis=1)  # (4, 3)
    return MapMeasures(*table)


def map_measures_by_epoch(params_history, images, labels, averages) -> MapMeasures:
    """``map_measures`` at every epoch of a run (``run.params_history``, epoch 0 the initialisation):
    each field ``(epochs + 1, 3)``."""
    per_epoch = [map_measures(p, images, labels, averages) for p in params_history]
    return MapMeasures(*(np.stack(column) for column in zip(*per_epoch)))
