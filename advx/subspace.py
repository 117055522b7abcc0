"""The data subspace, and how much of each neuron lives inside it.

The seed's argument: training refines a neuron only inside the tiny subspace that the data occupies,
so its opinion about every other direction stays what the random initialisation gave it. This module
turns that sentence into measurements.

**Which subspace.** ``fit_subspace`` runs PCA of the training images by an eigendecomposition of their
second-moment matrix. By default it is *uncentred*: the principal directions span the raw images
``xᵢ``, not ``xᵢ − mean``. That is the subspace the argument is about: a plain-SGD update of the first
layer is ``−η Σᵢ xᵢ δᵢᵀ``, a combination of the raw images, and a neuron's response ``w·x`` to an image
depends on the raw ``x``. ``centred=True`` gives the classic PCA of the variation about the mean, for
comparison; its span leaves out the mean image itself.

**Exact span versus top-k.** On MNIST the exact span of 60,000 images is every direction that does not
touch a blank pixel (a pixel that is 0 on every training image), so "exactly in the span" says only
"zero on the blank pixels". The telling subspace is the top-``k`` one, with ``k`` chosen by the share of
the images' energy it keeps (90, 95 or 99%). The basis is ordered so that any ``k`` up to the number
of non-blank pixels gives a subspace that is exactly zero on the blank pixels.

Vectors are pixel-space columns: ``(784,)`` or ``(784, n)``, as ``advx.neurons.effective_weights``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from advx.model import N_PIXELS, param_layer_names

VARIANCE_LEVELS = (0.90, 0.95, 0.99)


class SubspaceError(ValueError):
    """Images, vectors or a dimension do not fit the data subspace."""


# --------------------------------------------------------------------------------------------
# Images and blank pixels


def as_pixels(images) -> np.ndarray:
    """``(n, 28, 28)`` uint8 or ``(n, 784)`` float/uint8 -> ``(n, 784)`` float32 in [0, 1].

    Raises ``SubspaceError`` for an empty set, a wrong pixel count or non-finite values.
    """
    arr = np.asarray(images)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise SubspaceError(f"need a non-empty stack of images, got shape {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1)
    if flat.shape[1] != N_PIXELS:
        raise SubspaceError(f"images must have {N_PIXELS} pixels each, got {flat.shape[1]} (shape {arr.shape})")
    if np.issubdtype(flat.dtype, np.integer):
        return flat.astype(np.float32) / np.float32(255.0)
    flat = flat.astype(np.float32, copy=False)
    if not np.isfinite(flat).all():
        raise SubspaceError("images contain NaN or infinite values")
    return flat


def blank_pixels(images) -> np.ndarray:
    """``(784,)`` bool: the pixels that are exactly 0 on every image of ``images``.

    ``images``: ``(n, 28, 28)`` or ``(n, 784)``, uint8 or float.
    """
    arr = np.asarray(images)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise SubspaceError(f"need a non-empty stack of images, got shape {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1)
    if flat.shape[1] != N_PIXELS:
        raise SubspaceError(f"images must have {N_PIXELS} pixels each, got {flat.shape[1]}")
    return ~np.any(flat != 0, axis=0)


# --------------------------------------------------------------------------------------------
# The subspace


@dataclass(frozen=True, eq=False)
class DataSubspace:
    """Principal directions of a set of images, ordered by the energy they carry.

    ``basis``: ``(784, 784)`` float32 with orthonormal columns. Columns ``0 .. n_nonblank-1`` are the
    principal directions on the non-blank pixels, by decreasing energy; the last ``n_blank`` columns
    are the unit vectors of the blank pixels (energy exactly 0). The top-``k`` subspace is the span of
    the first ``k`` columns.
    ``energies``: ``(784,)`` float64 ≥ 0, the mean squared coordinate of the images along each column
    (eigenvalues of ``XᵀX / n``, or of the covariance when ``centred``).
    ``blank``: ``(784,)`` bool, pixels that are 0 on every image. ``mean``: ``(784,)`` float32 mean image.
    """

    basis: np.ndarray
    energies: np.ndarray
    blank: np.ndarray
    mean: np.ndarray
    centred: bool
    n_images: int

    @property
    def n_nonblank(self) -> int:
        return int((~self.blank).sum())

    def rank(self, rel_tol: float = 1e-6) -> int:
        """Numerical rank of the images: directions with energy above ``rel_tol`` × the largest.

        The default sits above the rounding floor of the float32 second-moment matrix (about 1e-8 of the
        largest energy per direction).
        """
        return int((self.energies > rel_tol * self.energies[0]).sum())

    @property
    def explained(self) -> np.ndarray:
        """``(784,)`` float64: share of the total energy kept by the top ``k`` directions, at index ``k-1``."""
        total = self.energies.sum()
        return np.cumsum(self.energies) / (total if total > 0 else 1.0)

    def k_for(self, level: float) -> int:
        """The smallest ``k`` whose top-``k`` subspace keeps at least ``level`` of the energy.

        Shares are compared to within ``1e-6``, the precision of the float32 second-moment matrix, so
        ``level=1.0`` gives the numerical rank rather than a count that includes rounding noise.
        """
        if not 0 < level <= 1:
            raise SubspaceError(f"a variance level must be in (0, 1], got {level!r}")
        k = int(np.searchsorted(self.explained, level - 1e-6) + 1)
        return min(k, self.n_nonblank)

    def check_k(self, k: int) -> int:
        """``k`` as an int, or ``SubspaceError`` if it is outside ``1 .. 784``."""
        if not (isinstance(k, (int, np.integer)) and 1 <= k <= N_PIXELS):
            raise SubspaceError(f"k must be a whole number from 1 to {N_PIXELS}, got {k!r}")
        return int(k)

    def top(self, k: int) -> np.ndarray:
        """``(784, k)`` float32: an orthonormal basis of the top-``k`` subspace."""
        return self.basis[:, : self.check_k(k)]


def fit_subspace(images, centred: bool = False) -> DataSubspace:
    """PCA of ``images`` (``(n, 28, 28)`` uint8 or ``(n, 784)`` in [0, 1]) as a ``DataSubspace``.

    Uncentred by default (the span of the raw images; see the module docstring). The second-moment
    matrix is formed on the non-blank pixels only, so the blank pixels stay exact zeros of every
    principal direction.
    """
    x = as_pixels(images)
    n = x.shape[0]
    blank = ~np.any(x != 0, axis=0)
    live = np.flatnonzero(~blank)
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    xs = x[:, live]
    if centred:
        xs = xs - mean[live]
    # float32 product (the expensive part), float64 eigendecomposition of the small matrix.
    gram = (xs.T @ xs).astype(np.float64) / n
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    vectors = vectors[:, order]
    basis = np.zeros((N_PIXELS, N_PIXELS), np.float32)
    basis[np.ix_(live, np.arange(live.size))] = vectors
    dead = np.flatnonzero(blank)
    basis[dead, live.size + np.arange(dead.size)] = 1.0
    energies = np.concatenate([values, np.zeros(dead.size)])
    for a in (basis, energies, blank, mean):
        a.setflags(write=False)
    return DataSubspace(basis=basis, energies=energies, blank=blank, mean=mean, centred=centred, n_images=n)


# --------------------------------------------------------------------------------------------
# Projections and energies (jitted on the full basis with a mask, so a new k never retraces)


def _keep(basis: jax.Array, k) -> jax.Array:
    return (jnp.arange(basis.shape[1]) < k).astype(basis.dtype)


@jax.jit
def _split(basis: jax.Array, k, v: jax.Array) -> tuple[jax.Array, jax.Array]:
    coords = basis.T @ v
    inside = basis @ (coords * _keep(basis, k)[:, None])
    outside = basis @ (coords * (1 - _keep(basis, k))[:, None])
    return inside, outside


@jax.jit
def _energy(basis: jax.Array, k, v: jax.Array) -> tuple[jax.Array, jax.Array]:
    sq = (basis.T @ v) ** 2
    keep = _keep(basis, k)[:, None]
    return (sq * keep).sum(0), (sq * (1 - keep)).sum(0)


def _columns(v) -> tuple[np.ndarray, bool]:
    arr = np.asarray(v, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[:, None]
        single = True
    elif arr.ndim == 2:
        single = False
    else:
        raise SubspaceError(f"vectors must be (784,) or (784, n), got shape {arr.shape}")
    if arr.shape[0] != N_PIXELS:
        raise SubspaceError(f"vectors must have {N_PIXELS} rows (pixels), got shape {arr.shape}")
    return arr, single


def split(sub: DataSubspace, v, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(inside, outside)``: ``v`` projected onto the top-``k`` subspace and onto its complement.

    ``v``: ``(784,)`` or ``(784, n)``; both parts have its shape (float32) and add up to ``v``.
    """
    arr, single = _columns(v)
    inside, outside = _split(sub.basis, sub.check_k(k), arr)
    inside, outside = np.asarray(inside), np.asarray(outside)
    return (inside[:, 0], outside[:, 0]) if single else (inside, outside)


def project(sub: DataSubspace, v, k: int) -> np.ndarray:
    """``v`` projected onto the top-``k`` data subspace (same shape as ``v``)."""
    return split(sub, v, k)[0]


def project_out(sub: DataSubspace, v, k: int) -> np.ndarray:
    """The part of ``v`` orthogonal to the top-``k`` data subspace (same shape as ``v``)."""
    return split(sub, v, k)[1]


class Energy(NamedTuple):
    """Squared norms of the parts of each column inside and outside a subspace: ``(n,)`` float32 each."""

    inside: np.ndarray
    outside: np.ndarray

    @property
    def fraction_inside(self) -> np.ndarray:
        """``(n,)`` share of each column's energy inside; NaN for a zero column."""
        total = self.inside + self.outside
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, self.inside / np.where(total > 0, total, 1), np.nan)

    @property
    def norm_inside(self) -> np.ndarray:
        return np.sqrt(self.inside)

    @property
    def norm_outside(self) -> np.ndarray:
        return np.sqrt(self.outside)


def energy(sub: DataSubspace, v, k: int) -> Energy:
    """Inside and outside energy of every column of ``v`` (``(784,)`` or ``(784, n)``)."""
    arr, _ = _columns(v)
    inside, outside = _energy(sub.basis, sub.check_k(k), arr)
    return Energy(np.asarray(inside), np.asarray(outside))


def energy_fraction(sub: DataSubspace, v, k: int) -> np.ndarray | float:
    """Share of each column's energy ``‖Pv‖² / ‖v‖²`` inside the top-``k`` subspace.

    ``(n,)`` float32 for ``(784, n)``, a float for ``(784,)``; NaN for a zero column.
    """
    arr, single = _columns(v)
    frac = energy(sub, arr, k).fraction_inside
    return float(frac[0]) if single else frac


def pooled_fraction(e: Energy) -> float:
    """Share of the *total* energy of all columns that lies inside (big columns weigh more)."""
    total = float(e.inside.sum() + e.outside.sum())
    return float(e.inside.sum()) / total if total > 0 else float("nan")


# --------------------------------------------------------------------------------------------
# Neurons: effective weights, dataset averages and what training changed


@dataclass(frozen=True, eq=False)
class NeuronSubspace:
    """Inside/outside energies of every neuron of ``layer`` in the top-``k`` subspace.

    Each field is an ``Energy`` over the layer's ``n`` neurons:
    ``effective_init`` / ``effective_trained``: the effective weights (``advx.neurons.effective_weights``)
    at initialisation and after training; ``average_init`` / ``average_trained``: the dataset averages;
    ``change``: the change of the effective weights, trained − init (for ``Layer_1`` this is ΔW1).
    """

    layer: str
    k: int
    effective_init: Energy
    effective_trained: Energy
    average_init: Energy
    average_trained: Energy
    change: Energy

    def rows(self) -> dict[str, np.ndarray]:
        """Column-wise table: one ``(n,)`` array per measurement, for a data frame."""
        ei, et, c = self.effective_init, self.effective_trained, self.change
        return {
            "neuron": np.arange(ei.inside.shape[0]),
            "effective weights inside, init": ei.fraction_inside,
            "effective weights inside, trained": et.fraction_inside,
            "dataset average inside, trained": self.average_trained.fraction_inside,
            "change inside": c.fraction_inside,
            "norm inside, init": ei.norm_inside,
            "norm inside, trained": et.norm_inside,
            "norm outside, init": ei.norm_outside,
            "norm outside, trained": et.norm_outside,
            "change norm inside": c.norm_inside,
            "change norm outside": c.norm_outside,
        }


def _effective(params: dict, layer: str) -> np.ndarray:
    from advx.neurons import effective_weights

    return np.asarray(effective_weights(params, layer))


def _average(params: dict, pixels: np.ndarray, layer: str) -> np.ndarray:
    from advx.neurons import dataset_average

    return np.asarray(dataset_average(params, pixels, layer).images)


def measure_neurons(sub: DataSubspace, k: int, params_init: dict, params_trained: dict, layer: str,
                    images) -> NeuronSubspace:
    """Every measurement of one layer's neurons in the top-``k`` subspace (see ``NeuronSubspace``).

    ``images``: the set the dataset averages are taken over, ``(n, 784)`` or ``(n, 28, 28)``.
    Raises ``SubspaceError`` if ``layer`` is not a layer of both parameter sets.
    """
    for params in (params_init, params_trained):
        if layer not in param_layer_names(params):
            raise SubspaceError(f"unknown layer {layer!r}; layers are {param_layer_names(params)}")
    k = sub.check_k(k)
    pixels = as_pixels(images)
    w0, w1 = _effective(params_init, layer), _effective(params_trained, layer)
    return NeuronSubspace(
        layer=layer, k=k,
        effective_init=energy(sub, w0, k), effective_trained=energy(sub, w1, k),
        average_init=energy(sub, _average(params_init, pixels, layer), k),
        average_trained=energy(sub, _average(params_trained, pixels, layer), k),
        change=energy(sub, w1 - w0, k),
    )


class FirstLayerChange(NamedTuple):
    """What training did to W1 (``(784, h)``), pooled over all first-layer neurons.

    ``fraction_inside``: share of ‖ΔW1‖² inside the top-``k`` subspace.
    ``max_abs_on_blank``: the largest |ΔW1| on a blank pixel (exactly 0 unless something other than the
    data gradient, such as weight decay or input noise, reaches those pixels); 0 if no pixel is blank.
    ``norm_*``: Frobenius norms of the inside / outside parts of W1 at init and trained, and of ΔW1.
    """

    fraction_inside: float
    max_abs_on_blank: float
    norm_inside_init: float
    norm_outside_init: float
    norm_inside_trained: float
    norm_outside_trained: float
    change_norm_inside: float
    change_norm_outside: float

    @property
    def moved_inside(self) -> float:
        """‖P ΔW1‖ / ‖P W1_init‖: how far training moved the inside part, relative to where it started."""
        return self.change_norm_inside / self.norm_inside_init

    @property
    def moved_outside(self) -> float:
        """‖Q ΔW1‖ / ‖Q W1_init‖: the same for the outside part."""
        return self.change_norm_outside / self.norm_outside_init


def first_layer_change(sub: DataSubspace, k: int, params_init: dict, params_trained: dict) -> FirstLayerChange:
    """Measure ΔW1 = W1_trained − W1_init against the top-``k`` subspace and the blank pixels."""
    first = param_layer_names(params_init)[0]
    w0 = np.asarray(params_init[first]["kernel"], np.float32)
    w1 = np.asarray(params_trained[first]["kernel"], np.float32)
    if w0.shape != w1.shape or w0.shape[0] != N_PIXELS:
        raise SubspaceError(f"first-layer kernels must both be (784, h), got {w0.shape} and {w1.shape}")
    delta = w1 - w0
    e0, e1, ed = energy(sub, w0, k), energy(sub, w1, k), energy(sub, delta, k)
    blank_delta = np.abs(delta[sub.blank])
    return FirstLayerChange(
        fraction_inside=pooled_fraction(ed),
        max_abs_on_blank=float(blank_delta.max()) if blank_delta.size else 0.0,
        norm_inside_init=float(np.sqrt(e0.inside.sum())), norm_outside_init=float(np.sqrt(e0.outside.sum())),
        norm_inside_trained=float(np.sqrt(e1.inside.sum())), norm_outside_trained=float(np.sqrt(e1.outside.sum())),
        change_norm_inside=float(np.sqrt(ed.inside.sum())), change_norm_outside=float(np.sqrt(ed.outside.sum())),
    )


class PixelMaps(NamedTuple):
    """Per-pixel energy of a ``(784, h)`` matrix's parts, summed over its columns: ``(784,)`` float32 each.

    ``inside`` + ``outside`` is not ``total`` pixel by pixel (the parts overlap in pixel space), but
    all three sum to the same total over the pixels when the parts are orthogonal.
    """

    inside: np.ndarray
    outside: np.ndarray
    total: np.ndarray

    @property
    def share_inside(self) -> np.ndarray:
        """``(784,)`` inside / (inside + outside) per pixel; NaN where both are 0 (blank pixels)."""
        both = self.inside + self.outside
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(both > 0, self.inside / np.where(both > 0, both, 1), np.nan)


def pixel_maps(sub: DataSubspace, matrix, k: int) -> PixelMaps:
    """Where in the image the inside and outside parts of ``matrix`` (``(784, h)``) put their energy."""
    inside, outside = split(sub, matrix, k)
    arr, _ = _columns(matrix)
    return PixelMaps((inside**2).sum(1), (outside**2).sum(1), (arr**2).sum(1))


def project_first_layer(params: dict, sub: DataSubspace, k: int) -> dict:
    """A copy of ``params`` whose first-layer kernel columns are projected onto the top-``k`` subspace.

    The off-data part of every first-layer neuron (the part training barely touched) is removed; biases
    and later layers are unchanged. For an input ``x`` inside the subspace the network's output is
    unchanged, since ``(P W1)ᵀ x = W1ᵀ P x``.
    """
    first = param_layer_names(params)[0]
    out = {name: dict(layer) for name, layer in params.items()}
    out[first]["kernel"] = project(sub, np.asarray(params[first]["kernel"]), k)
    return out
