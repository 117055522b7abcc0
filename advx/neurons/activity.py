"""How strongly neurons fire: activations from the model's one walk over the layers, each neuron's
largest activation and firing rate over a reference set, activation levels and sparsity.

Images go in as ``(n, 784)`` float32 pixels in [0, 1] or the raw uint8 pixels, converted by
``advx.model.to_pixels`` inside the jitted functions (which keeps the 60,000-image training set at
47 MB on the way in).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from advx.model import device_rows, to_pixels, walk
from advx.neurons.naming import NeuronError, check_layer, hidden_layer_names

# What weights the output layer's dataset average and histograms. The output layer has no ReLU:
# "softmax" uses the class probability (always positive; the average is then close to the mean of
# the images the network assigns to that class), "relu_logit" applies a ReLU to the logit so the
# output layer is treated like a hidden one.
OUTPUT_WEIGHTINGS = ("softmax", "relu_logit")
DEFAULT_OUTPUT_WEIGHTING = "softmax"

# Activation levels, as stored by ``activation_levels``.
INACTIVE, MILD, HIGH = 0, 1, 2
LEVEL_NAMES = ("inactive", "mild", "high")

# What "highly activated" is measured against.
DEFINITIONS = ("neuron_max", "image_max")
DEFINITION_TITLES = {
    "neuron_max": "share of the neuron's largest activation over the training set",
    "image_max": "share of the image's own largest activation in the layer",
}
DEFAULT_HIGH = 0.5
DEFAULT_MILD = 0.1


class ThresholdError(NeuronError):
    """Activation thresholds that do not satisfy 0 <= mild < high <= 1."""


def _layer_outputs(params: dict, x: jax.Array, output: str = DEFAULT_OUTPUT_WEIGHTING,
                  stop: str | None = None) -> dict[str, tuple[jax.Array, jax.Array]]:
    """``{layer: (pre-activation, activation)}`` from ``advx.model.walk``, up to ``stop`` (default: all).

    Not jitted, so the jitted functions of this package build on it. ``x``: ``(n, 784)`` float32 in
    [0, 1] or uint8. The output layer's activation is per ``output`` (see ``OUTPUT_WEIGHTINGS``).
    """
    if output not in OUTPUT_WEIGHTINGS:
        raise NeuronError(f"output weighting must be one of {', '.join(OUTPUT_WEIGHTINGS)}, got {output!r}")
    return {name: (pre, post) for name, pre, post in walk(params, to_pixels(x), stop=stop, output=output)}


@jax.jit
def activations(params: dict, x: jax.Array) -> dict[str, jax.Array]:
    """The ReLU activations of every hidden layer: ``{layer: (n, width) float32 >= 0}``.

    ``x``: ``(n, 784)`` float32 in [0, 1] or uint8.
    """
    hidden = hidden_layer_names(params)
    return {name: post for name, (_, post) in _layer_outputs(params, x, stop=hidden[-1]).items()}


@functools.partial(jax.jit, static_argnames=("output",))
def all_layer_outputs(params: dict, x: jax.Array, output: str = DEFAULT_OUTPUT_WEIGHTING) -> dict:
    """``{layer: (pre-activation, activation)}``, each ``(n, width)``, for every layer in one forward pass.

    ``x``: ``(n, 784)`` float32 in [0, 1] or uint8. The output layer's activation is per ``output``.
    """
    return _layer_outputs(params, x, output)


@functools.partial(jax.jit, static_argnames=("layer", "output"))
def layer_activation(params: dict, x: jax.Array, layer: str, output: str = DEFAULT_OUTPUT_WEIGHTING) -> jax.Array:
    """The activation of every neuron of ``layer``: ``(n, width)`` float32 >= 0.

    Hidden layers: ReLU output. The output layer: per ``output`` (see ``OUTPUT_WEIGHTINGS``).
    """
    check_layer(params, layer)
    return _layer_outputs(params, x, output, stop=layer)[layer][1]


STATS_CHUNK = 10_000  # images per step of ``neuron_stats``: its float32 pixels and activations stay near 40 MB


@jax.jit
def _chunk_stats(params: dict, x: jax.Array) -> dict[str, tuple[jax.Array, jax.Array]]:
    """``{layer: (largest activation, number of images on which the neuron is active)}`` over one chunk."""
    layers = _layer_outputs(params, x, "relu_logit")
    return {name: (post.max(axis=0), (post > 0).sum(axis=0)) for name, (_, post) in layers.items()}


@dataclass(frozen=True)
class NeuronStats:
    """Per-neuron facts for one layer, measured on a reference set (the training set).

    ``neuron_max``: ``(width,)`` largest activation; ``firing_rate``: ``(width,)`` share of images
    on which the neuron is active (activation > 0); ``dead``: ``(width,)`` bool, never active.
    For the output layer "active" means a positive logit, and ``neuron_max`` is the largest logit
    (0 if none is positive).
    """

    layer: str
    neuron_max: np.ndarray
    firing_rate: np.ndarray
    n_images: int

    @property
    def dead(self) -> np.ndarray:
        return self.neuron_max <= 0

    @property
    def dead_neurons(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(self.dead)]


def neuron_stats(params: dict, reference_images) -> dict[str, NeuronStats]:
    """``{layer: NeuronStats}`` for every layer over ``reference_images (n, 784)`` (float32 in [0, 1] or uint8).

    ``STATS_CHUNK`` images at a time, each put on the device only while it is measured: over the training set the
    pass then needs about 40 MB beyond the images, not the 240 MB of one pass over all 60,000. The maxima and counts
    are exact whatever the chunking, and the rate is the count times ``1/n`` in float32, the bits of XLA's mean over
    all at once.
    """
    n = int(reference_images.shape[0])
    if n == 0:
        raise NeuronError("neuron statistics need at least one reference image")
    rows = reference_images.reshape(n, -1)
    top: dict = {}
    count: dict = {}
    for start in range(0, n, STATS_CHUNK):
        for name, (mx, active) in _chunk_stats(params, device_rows(rows[start:start + STATS_CHUNK])).items():
            top[name] = mx if name not in top else jnp.maximum(top[name], mx)
            count[name] = active if name not in count else count[name] + active
    return {name: NeuronStats(name, np.asarray(top[name]),
                              np.asarray(count[name]).astype(np.float32) * (np.float32(1) / np.float32(n)), n)
            for name in top}


def check_thresholds(high: float, mild: float) -> None:
    """Raise ``ThresholdError`` unless 0 <= mild < high <= 1."""
    if not (0.0 <= mild < high <= 1.0):
        raise ThresholdError(f"thresholds need 0 <= mild < high <= 1; got mild={mild!r}, high={high!r}")


@functools.partial(jax.jit, static_argnames="definition")
def _levels(acts, neuron_max, definition, high, mild):
    if definition == "neuron_max":
        scale = jnp.broadcast_to(neuron_max[None, :], acts.shape)
    else:
        scale = jnp.broadcast_to(acts.max(axis=1, keepdims=True), acts.shape)
    share = jnp.where(scale > 0, acts / jnp.where(scale > 0, scale, 1.0), 0.0)
    active = acts > 0
    level = jnp.where(active & (share >= high), HIGH, jnp.where(active & (share >= mild), MILD, INACTIVE))
    return level.astype(jnp.int8)


def activation_levels(acts, neuron_max=None, *, definition: str = "neuron_max",
                      high: float = DEFAULT_HIGH, mild: float = DEFAULT_MILD) -> np.ndarray:
    """Classify each activation as ``HIGH`` (2), ``MILD`` (1) or ``INACTIVE`` (0): ``(n, width) int8``.

    ``acts``: ``(n, width)`` activations >= 0. The share ``a / scale`` is compared with the
    thresholds, where ``scale`` is the neuron's largest activation over the training set
    (``definition="neuron_max"``, needs ``neuron_max (width,)``) or the image's largest activation
    in the layer (``"image_max"``). High: share >= ``high``; mild: ``mild`` <= share < ``high``;
    inactive: share < ``mild`` or the activation is exactly 0 (so a dead neuron is always inactive).
    """
    check_thresholds(high, mild)
    if definition not in DEFINITIONS:
        raise NeuronError(f"definition must be one of {', '.join(DEFINITIONS)}, got {definition!r}")
    acts = jnp.asarray(acts, jnp.float32)
    if definition == "neuron_max":
        if neuron_max is None:
            raise NeuronError("definition 'neuron_max' needs each neuron's largest training-set activation")
        neuron_max = jnp.asarray(neuron_max, jnp.float32)
        if neuron_max.shape != acts.shape[1:]:
            raise NeuronError(f"neuron_max has shape {neuron_max.shape}, activations have {acts.shape}")
    else:
        neuron_max = jnp.zeros(acts.shape[1:], jnp.float32)
    return np.asarray(_levels(acts, neuron_max, definition, float(high), float(mild)))


def level_counts(levels: np.ndarray) -> np.ndarray:
    """Per image, how many neurons are at each level: ``(n, 3) int`` columns inactive, mild, high."""
    levels = np.asarray(levels)
    return np.stack([(levels == lv).sum(axis=1) for lv in (INACTIVE, MILD, HIGH)], axis=1)


@dataclass(frozen=True)
class LayerSparsity:
    """Sparsity of one hidden layer over a set of images.

    ``counts``: ``(n, 3)`` per-image numbers of inactive, mild and high neurons; ``levels``:
    ``(n, width) int8``; ``width``: neurons in the layer.
    """

    layer: str
    definition: str
    high: float
    mild: float
    levels: np.ndarray
    counts: np.ndarray

    @property
    def width(self) -> int:
        return int(self.levels.shape[1])

    def mean(self, level: int) -> float:
        return float(self.counts[:, level].mean())

    def median(self, level: int) -> float:
        return float(np.median(self.counts[:, level]))


def sparsity(params: dict, images, stats: dict[str, NeuronStats], *, definition: str = "neuron_max",
             high: float = DEFAULT_HIGH, mild: float = DEFAULT_MILD) -> dict[str, LayerSparsity]:
    """``{hidden layer: LayerSparsity}`` for ``images (n, 784)``; ``stats`` from ``neuron_stats``."""
    acts = activations(params, device_rows(images))
    out = {}
    for name, a in acts.items():
        levels = activation_levels(a, stats[name].neuron_max, definition=definition, high=high, mild=mild)
        out[name] = LayerSparsity(name, definition, float(high), float(mild), levels, level_counts(levels))
    return out
