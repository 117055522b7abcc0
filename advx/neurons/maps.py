"""Per-neuron pixel maps, each ``(784, n_neurons)`` with one column per neuron (the layout of a kernel):
effective weights, local Jacobians and dataset averages; and the images that drive a neuron hardest.

Effective weights come from ``advx.model.effective_weights`` (the walk over the layers with the ReLUs
and biases left out); local Jacobians and activations from ``advx.model.walk`` itself.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from advx import model
from advx.model import device_rows, to_pixels, walk
from advx.neurons.activity import DEFAULT_OUTPUT_WEIGHTING, _layer_outputs
from advx.neurons.naming import NeuronError, check_layer, check_neuron


@functools.partial(jax.jit, static_argnames="layer")
def effective_weights(params: dict, layer: str) -> jax.Array:
    """The linear "maximally activating image" of every neuron in ``layer``: ``(784, n)``.

    Layer_1 is W1; Layer_2 is W1 @ W2 (the weighted sum of the previous layer's images);
    output is W1 @ W2 @ W3. ReLU-free and bias-free, as in the post.
    """
    check_layer(params, layer)
    return model.effective_weights(params)[layer]  # the later layers' products are dropped by the compiler


@jax.jit
def all_effective_weights(params: dict) -> dict[str, jax.Array]:
    """``{layer: effective_weights(params, layer)}`` for every layer, output included."""
    return model.effective_weights(params)


def _pre_activation(params: dict, x: jax.Array, layer: str) -> jax.Array:
    """Pre-activations ``(n,)`` of ``layer`` for one image ``x (784,)``, with the real ReLUs."""
    for _, pre, _ in walk(params, x, stop=layer):
        pass
    return pre


@functools.partial(jax.jit, static_argnames="layer")
def local_jacobian(params: dict, x: jax.Array, layer: str) -> jax.Array:
    """Exact gradient of each neuron's pre-activation with respect to the pixels at image ``x``.

    ``x``: ``(784,)`` float32 in [0, 1] (or uint8). Returns ``(784, n)``, the same layout as
    ``effective_weights``; here the ReLU masks at ``x`` matter.
    """
    check_layer(params, layer)
    return jax.jacrev(_pre_activation, argnums=1)(params, to_pixels(x), layer).T


class DatasetAverage(NamedTuple):
    """Activation-weighted averages of a set of images, one per neuron.

    ``images``: ``(784, n)`` float32 in [0, 1], Σᵢ aⱼ(xᵢ)·xᵢ / Σᵢ aⱼ(xᵢ); all zeros for a dead
    neuron. ``total_weight``: ``(n,)`` Σᵢ aⱼ(xᵢ). ``dead``: ``(n,)`` bool, the neuron's activation
    is 0 on every image, so it has no average.
    """

    images: jax.Array
    total_weight: jax.Array
    dead: jax.Array


def _weighted_average(pixels: jax.Array, weights: jax.Array) -> DatasetAverage:
    total = weights.sum(axis=0)
    sums = pixels.T @ weights  # one (784, n) x (n, width) matmul over the whole set
    dead = total <= 0
    avg = jnp.where(dead[None, :], 0.0, sums / jnp.where(dead, 1.0, total)[None, :])
    return DatasetAverage(avg, total, dead)


@functools.partial(jax.jit, static_argnames=("layer", "output"))
def dataset_average(params: dict, images: jax.Array, layer: str,
                    output: str = DEFAULT_OUTPUT_WEIGHTING) -> DatasetAverage:
    """Σᵢ aⱼ(xᵢ)·xᵢ / Σᵢ aⱼ(xᵢ) for every neuron ``j`` of ``layer``, over ``images (n, 784)``.

    ``aⱼ`` is the ReLU activation for hidden layers; for the output layer it is set by ``output``
    (default: the softmax probability of the class). Returns a ``DatasetAverage``.
    """
    check_layer(params, layer)
    pixels = to_pixels(images)
    return _weighted_average(pixels, _layer_outputs(params, pixels, output, stop=layer)[layer][1])


@functools.partial(jax.jit, static_argnames=("output",))
def all_dataset_averages(params: dict, images: jax.Array,
                         output: str = DEFAULT_OUTPUT_WEIGHTING) -> dict[str, DatasetAverage]:
    """``{layer: DatasetAverage}`` for every layer, with one matmul over all neurons together."""
    pixels = to_pixels(images)
    layers = _layer_outputs(params, pixels, output)
    names = list(layers)
    both = _weighted_average(pixels, jnp.concatenate([layers[n][1] for n in names], axis=1))
    out, start = {}, 0
    for name in names:
        stop = start + layers[name][1].shape[1]
        out[name] = DatasetAverage(both.images[:, start:stop], both.total_weight[start:stop], both.dead[start:stop])
        start = stop
    return out


@functools.partial(jax.jit, static_argnames=("layer", "count"))
def _top(params, images, layer, neuron, count):
    pre, _ = _layer_outputs(params, images, DEFAULT_OUTPUT_WEIGHTING, stop=layer)[layer]
    values, idx = jax.lax.top_k(pre[:, neuron], count)
    return idx, values


def top_activating(params: dict, images, layer: str, neuron: int, count: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` images of ``images (n, 784)`` that drive ``neuron`` of ``layer`` hardest.

    Ranked by pre-activation (for hidden layers the same order as the ReLU activation wherever it
    is positive; for the output layer the logit). Returns ``(indices (count,) int, pre-activations
    (count,))``, largest first.
    """
    check_neuron(params, layer, neuron)
    n = int(images.shape[0])
    if not 1 <= count <= n:
        raise NeuronError(f"count must be from 1 to the number of images ({n}); got {count}")
    idx, values = _top(params, device_rows(images), layer, jnp.int32(neuron), int(count))
    return np.asarray(idx), np.asarray(values)
