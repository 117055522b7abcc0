"""Neuron maths: activations, sparsity, effective weights, local Jacobians, dataset averages.

Everything here is a pure function of ``(params, arrays, ...)``. Layouts:

- images go in as ``(n, 784)``: float32 pixels in [0, 1], or the raw uint8 pixels (divided by 255
  inside the jitted function, which keeps the 60,000-image training set at 47 MB on the way in);
- per-neuron pixel maps come out as ``(784, n_neurons)``, one column per neuron, the layout of a
  kernel: ``effective_weights``, ``local_jacobian`` and ``dataset_average`` all share it, and so do
  the noise-versus-digit measures that take them.

Neurons across layers are written ``L1:5`` (Layer_1, neuron 5), ``L2:5`` and ``output:3``;
``Layer_2:5`` and ``out:3`` are accepted too. On figures they are labelled ``Layer_2 #5``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from advx.model import N_PIXELS, param_layer_names

SIDE = 28

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

# What weights the output layer's dataset average and histograms. The output layer has no ReLU:
# "softmax" uses the class probability (always positive; the average is then close to the mean of
# the images the network assigns to that class), "relu_logit" applies a ReLU to the logit so the
# output layer is treated like a hidden one.
OUTPUT_WEIGHTINGS = ("softmax", "relu_logit")
DEFAULT_OUTPUT_WEIGHTING = "softmax"

# Radial spatial frequency (cycles per pixel; Nyquist is 0.5) above which energy counts as "high".
# For i.i.d. noise on a 28 x 28 grid the share above 0.25 is about 1 - pi * 0.25**2 = 0.80.
HIGH_FREQUENCY_CUTOFF = 0.25
NOISE_HIGH_FREQUENCY_SHARE = 0.80
# roughness = ||spatial gradient|| / ||map - mean||; i.i.d. noise gives sqrt(2 * 1512 / 783) = 1.97.
NOISE_ROUGHNESS = 1.97


class NeuronError(ValueError):
    """Base class for the neuron module's errors."""


class UnknownLayerError(NeuronError):
    """A layer name that the parameters do not have."""


class UnknownNeuronError(NeuronError):
    """A neuron reference that cannot be parsed or is out of range."""


class ThresholdError(NeuronError):
    """Activation thresholds that do not satisfy 0 <= mild < high <= 1."""


# --------------------------------------------------------------------------------------------
# Layers and neuron references


def layer_widths(params: dict) -> dict[str, int]:
    """``{layer: number of neurons}`` in forward order, output included."""
    return {name: int(params[name]["kernel"].shape[1]) for name in param_layer_names(params)}


def hidden_layer_names(params: dict) -> list[str]:
    """The hidden layers, in forward order (``Layer_1``, ``Layer_2``, ...)."""
    return param_layer_names(params)[:-1]


def check_layer(params: dict, layer: str) -> None:
    """Raise ``UnknownLayerError`` unless ``layer`` is one of the layers of ``params``."""
    names = param_layer_names(params)
    if layer not in names:
        raise UnknownLayerError(f"unknown layer {layer!r}; the layers are {', '.join(names)}")


def neuron_label(layer: str, index: int) -> str:
    """The label used on figures, e.g. ``"Layer_2 #5"``."""
    return f"{layer} #{int(index)}"


def neuron_code(layer: str, index: int) -> str:
    """The short form used in links: ``L2:5`` for ``Layer_2`` neuron 5, ``output:3``."""
    short = "output" if layer == "output" else "L" + layer.split("_", 1)[1]
    return f"{short}:{int(index)}"


def _layer_from_short(short: str, widths: dict[str, int]) -> str:
    s = short.strip()
    if s.lower() in ("output", "out"):
        return "output"
    if s[:1] in "Ll" and s[1:].isdigit():
        s = f"Layer_{int(s[1:])}"
    if s.lower().startswith("layer_") and s[6:].isdigit():
        s = f"Layer_{int(s[6:])}"
    if s not in widths:
        raise UnknownLayerError(f"unknown layer {short!r}; the layers are "
                                + ", ".join(neuron_code(n, 0).split(":")[0] for n in widths))
    return s


def parse_neuron(code: str, widths: dict[str, int]) -> tuple[str, int]:
    """``"L2:5"`` -> ``("Layer_2", 5)``; raises ``UnknownLayerError`` / ``UnknownNeuronError``.

    ``widths`` is ``layer_widths(params)``.
    """
    if not isinstance(code, str) or code.count(":") != 1:
        raise UnknownNeuronError(f"a neuron is written layer:index, e.g. L2:5 or output:3; got {code!r}")
    short, idx = code.split(":")
    layer = _layer_from_short(short, widths)
    try:
        index = int(idx.strip())
    except ValueError:
        raise UnknownNeuronError(f"neuron index {idx!r} in {code!r} is not a whole number") from None
    if not 0 <= index < widths[layer]:
        raise UnknownNeuronError(f"{layer} has neurons 0 to {widths[layer] - 1}; got {index} in {code!r}")
    return layer, index


def nearest_neuron(code: str, widths: dict[str, int], default: str) -> tuple[str, str | None]:
    """The valid neuron code closest to ``code``, and a sentence saying what was changed (or None).

    An out-of-range index is clamped into the layer; an unknown layer or unreadable text falls back
    to ``default`` (a valid code).
    """
    try:
        return neuron_code(*parse_neuron(code, widths)), None  # accepted spellings need no note
    except UnknownNeuronError as exc:
        try:
            short, idx = str(code).split(":")
            layer = _layer_from_short(short, widths)
            index = int(float(idx.strip()))
        except (ValueError, UnknownLayerError):
            return default, f"{exc}; showing {default} instead"
        fixed = neuron_code(layer, min(max(index, 0), widths[layer] - 1))
        return fixed, f"{exc}; showing {fixed} instead"
    except UnknownLayerError as exc:
        return default, f"{exc}; showing {default} instead"


def all_neuron_codes(widths: dict[str, int]) -> list[str]:
    """Every neuron of the network as a link code, layer by layer."""
    return [neuron_code(layer, i) for layer, w in widths.items() for i in range(w)]


# --------------------------------------------------------------------------------------------
# Activations


def _as_pixels(x: jax.Array) -> jax.Array:
    """uint8 pixels -> float32 in [0, 1]; float input is cast to float32 unchanged."""
    if jnp.issubdtype(x.dtype, jnp.integer):
        return x.astype(jnp.float32) / 255.0
    return x.astype(jnp.float32)


def _all_layers(params: dict, x: jax.Array, output: str) -> dict[str, tuple[jax.Array, jax.Array]]:
    """``{layer: (pre, activation)}`` for every layer; the output's activation per ``output``."""
    if output not in OUTPUT_WEIGHTINGS:
        raise NeuronError(f"output weighting must be one of {', '.join(OUTPUT_WEIGHTINGS)}, got {output!r}")
    out = {}
    h = _as_pixels(x)
    for name in param_layer_names(params):
        pre = h @ params[name]["kernel"] + params[name]["bias"]
        if name == "output":
            post = jax.nn.softmax(pre, axis=-1) if output == "softmax" else jax.nn.relu(pre)
        else:
            post = jax.nn.relu(pre)
        out[name] = (pre, post)
        h = post
    return out


@jax.jit
def activations(params: dict, x: jax.Array) -> dict[str, jax.Array]:
    """The ReLU activations of every hidden layer: ``{layer: (n, width) float32 >= 0}``.

    ``x``: ``(n, 784)`` float32 in [0, 1] or uint8.
    """
    layers = _all_layers(params, x, DEFAULT_OUTPUT_WEIGHTING)
    return {name: post for name, (_, post) in layers.items() if name != "output"}


@functools.partial(jax.jit, static_argnames=("output",))
def all_layer_outputs(params: dict, x: jax.Array, output: str = DEFAULT_OUTPUT_WEIGHTING) -> dict:
    """``{layer: (pre-activation, activation)}``, each ``(n, width)``, for every layer in one forward pass.

    ``x``: ``(n, 784)`` float32 in [0, 1] or uint8. The output layer's activation is per ``output``.
    """
    return _all_layers(params, x, output)


@functools.partial(jax.jit, static_argnames=("layer", "output"))
def layer_activation(params: dict, x: jax.Array, layer: str, output: str = DEFAULT_OUTPUT_WEIGHTING) -> jax.Array:
    """The activation of every neuron of ``layer``: ``(n, width)`` float32 >= 0.

    Hidden layers: ReLU output. The output layer: per ``output`` (see ``OUTPUT_WEIGHTINGS``).
    """
    check_layer(params, layer)
    return _all_layers(params, x, output)[layer][1]


@jax.jit
def _neuron_stats(params: dict, x: jax.Array) -> dict[str, tuple[jax.Array, jax.Array]]:
    layers = _all_layers(params, x, "relu_logit")
    return {name: (post.max(axis=0), (post > 0).mean(axis=0)) for name, (_, post) in layers.items()}


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
    """``{layer: NeuronStats}`` for every layer over ``reference_images (n, 784)`` (float32 in [0, 1] or uint8)."""
    stats = _neuron_stats(params, jnp.asarray(reference_images))
    return {name: NeuronStats(name, np.asarray(mx), np.asarray(rate), int(reference_images.shape[0]))
            for name, (mx, rate) in stats.items()}


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
    acts = activations(params, jnp.asarray(images))
    out = {}
    for name, a in acts.items():
        levels = activation_levels(a, stats[name].neuron_max, definition=definition, high=high, mild=mild)
        out[name] = LayerSparsity(name, definition, float(high), float(mild), levels, level_counts(levels))
    return out


# --------------------------------------------------------------------------------------------
# Effective weights and local Jacobians


@functools.partial(jax.jit, static_argnames="layer")
def effective_weights(params: dict, layer: str) -> jax.Array:
    """The linear "maximally activating image" of every neuron in ``layer``: ``(784, n)``.

    Layer_1 is W1; Layer_2 is W1 @ W2 (the weighted sum of the previous layer's images);
    output is W1 @ W2 @ W3. ReLU-free and bias-free, as in the seed.
    """
    check_layer(params, layer)
    names = param_layer_names(params)
    out = params[names[0]]["kernel"]
    for name in names[1 : names.index(layer) + 1]:
        out = out @ params[name]["kernel"]
    return out


@jax.jit
def all_effective_weights(params: dict) -> dict[str, jax.Array]:
    """``{layer: effective_weights(params, layer)}`` for every layer, output included."""
    out, m = {}, None
    for name in param_layer_names(params):
        m = params[name]["kernel"] if m is None else m @ params[name]["kernel"]
        out[name] = m
    return out


def _pre_activation(params: dict, x: jax.Array, layer: str) -> jax.Array:
    """Pre-activations ``(n,)`` of ``layer`` for one image ``x (784,)``, with the real ReLUs."""
    h = x
    for name in param_layer_names(params):
        pre = h @ params[name]["kernel"] + params[name]["bias"]
        if name == layer:
            return pre
        h = jax.nn.relu(pre)
    raise UnknownLayerError(f"unknown layer {layer!r}")


@functools.partial(jax.jit, static_argnames="layer")
def local_jacobian(params: dict, x: jax.Array, layer: str) -> jax.Array:
    """Exact gradient of each neuron's pre-activation with respect to the pixels at image ``x``.

    ``x``: ``(784,)`` float32 in [0, 1]. Returns ``(784, n)``, the same layout as
    ``effective_weights``; here the ReLU masks at ``x`` matter.
    """
    check_layer(params, layer)
    return jax.jacrev(_pre_activation, argnums=1)(params, _as_pixels(x), layer).T


# --------------------------------------------------------------------------------------------
# Dataset averages and top images


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
    sums = pixels.T @ weights  # one (784, n) x (n, k) matmul over the whole set
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
    pixels = _as_pixels(images)
    return _weighted_average(pixels, _all_layers(params, pixels, output)[layer][1])


@functools.partial(jax.jit, static_argnames=("output",))
def all_dataset_averages(params: dict, images: jax.Array,
                         output: str = DEFAULT_OUTPUT_WEIGHTING) -> dict[str, DatasetAverage]:
    """``{layer: DatasetAverage}`` for every layer, with one matmul over all neurons together."""
    pixels = _as_pixels(images)
    layers = _all_layers(params, pixels, output)
    names = list(layers)
    both = _weighted_average(pixels, jnp.concatenate([layers[n][1] for n in names], axis=1))
    out, start = {}, 0
    for name in names:
        stop = start + layers[name][1].shape[1]
        out[name] = DatasetAverage(both.images[:, start:stop], both.total_weight[start:stop], both.dead[start:stop])
        start = stop
    return out


@functools.partial(jax.jit, static_argnames=("layer", "k"))
def _top(params, images, layer, neuron, k):
    pre, post = _all_layers(params, images, DEFAULT_OUTPUT_WEIGHTING)[layer]
    values, idx = jax.lax.top_k(pre[:, neuron], k)
    return idx, values


def top_activating(params: dict, images, layer: str, neuron: int, k: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` images of ``images (n, 784)`` that drive ``neuron`` of ``layer`` hardest.

    Ranked by pre-activation (for hidden layers the same order as the ReLU activation wherever it
    is positive; for the output layer the logit). Returns ``(indices (k,) int, pre-activations (k,))``,
    largest first.
    """
    check_layer(params, layer)
    width = layer_widths(params)[layer]
    if not 0 <= int(neuron) < width:
        raise UnknownNeuronError(f"{layer} has neurons 0 to {width - 1}; got {neuron}")
    n = int(images.shape[0])
    if not 1 <= k <= n:
        raise NeuronError(f"k must be from 1 to the number of images ({n}); got {k}")
    idx, values = _top(params, jnp.asarray(images), layer, jnp.int32(neuron), int(k))
    return np.asarray(idx), np.asarray(values)


# --------------------------------------------------------------------------------------------
# Noise versus digit, as numbers. Maps are (784, n): one 28 x 28 map per column.


def _frequency_mask(cutoff: float) -> np.ndarray:
    f = np.fft.fftfreq(SIDE)
    return np.sqrt(f[:, None] ** 2 + f[None, :] ** 2) > cutoff


@functools.partial(jax.jit, static_argnames="cutoff")
def high_frequency_share(maps: jax.Array, cutoff: float = HIGH_FREQUENCY_CUTOFF) -> jax.Array:
    """Share of each map's energy (mean removed) above radial frequency ``cutoff`` cycles/pixel: ``(n,)``.

    ``maps``: ``(784, n)``. i.i.d. noise gives about 0.80 (``NOISE_HIGH_FREQUENCY_SHARE``); smooth
    strokes much less. NaN for a constant map.
    """
    m = maps.T.reshape(-1, SIDE, SIDE)
    m = m - m.mean(axis=(1, 2), keepdims=True)
    power = jnp.abs(jnp.fft.fft2(m)) ** 2
    mask = jnp.asarray(_frequency_mask(cutoff))
    return (power * mask).sum(axis=(1, 2)) / power.sum(axis=(1, 2))


@jax.jit
def roughness(maps: jax.Array) -> jax.Array:
    """||spatial gradient|| / ||map − mean|| for each map: ``(n,)``.

    Neighbouring-pixel differences (both directions) against the map's own spread, so it is
    scale-free. i.i.d. noise gives about 1.97 (``NOISE_ROUGHNESS``); smooth strokes much less.
    NaN for a constant map.
    """
    m = maps.T.reshape(-1, SIDE, SIDE)
    dx = jnp.diff(m, axis=2)
    dy = jnp.diff(m, axis=1)
    grad = jnp.sqrt((dx**2).sum(axis=(1, 2)) + (dy**2).sum(axis=(1, 2)))
    spread = jnp.sqrt(((m - m.mean(axis=(1, 2), keepdims=True)) ** 2).sum(axis=(1, 2)))
    return grad / spread


@jax.jit
def pixel_correlation(a: jax.Array, b: jax.Array) -> jax.Array:
    """Pearson correlation over the 784 pixels between matching columns of ``a`` and ``b (784, n)``: ``(n,)``."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    return (a * b).sum(axis=0) / jnp.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))


class NoiseDigitMeasures(NamedTuple):
    """Per-neuron measures ``(n,)`` of how noise-like or digit-like the two pictures are."""

    effective_high_frequency: np.ndarray
    average_high_frequency: np.ndarray
    effective_roughness: np.ndarray
    average_roughness: np.ndarray
    correlation: np.ndarray  # between the effective weights and the dataset average


def noise_digit_measures(effective: jax.Array, average: DatasetAverage) -> NoiseDigitMeasures:
    """All measures for matching columns of ``effective (784, n)`` and ``average`` (a ``DatasetAverage``).

    Dead neurons get NaN in the average's measures and the correlation (they have no average).
    """
    dead = np.asarray(average.dead)
    eff = jnp.asarray(effective)
    avg = average.images

    def masked(v):
        v = np.asarray(v, np.float64).copy()
        v[dead] = np.nan
        return v

    return NoiseDigitMeasures(
        np.asarray(high_frequency_share(eff), np.float64),
        masked(high_frequency_share(avg)),
        np.asarray(roughness(eff), np.float64),
        masked(roughness(avg)),
        masked(pixel_correlation(eff, avg)),
    )
