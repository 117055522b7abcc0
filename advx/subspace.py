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

**Exact span versus top-k.** The exact span of MNIST's 60,000 training images has dimension 712 of
784: it misses the 67 blank pixels (0 on every image) and 5 more directions, combinations of rarely lit
pixels that no image separates (``exact_null_directions``). So "exactly in the span" says little more
than "zero on the blank pixels". The telling subspace is the top-``k`` one, with ``k`` chosen by the
share of the images' energy it keeps (90, 95 or 99%). The basis is ordered so that any ``k`` up to the number
of non-blank pixels gives a subspace that is exactly zero on the blank pixels.

Vectors are pixel-space columns: ``(784,)`` or ``(784, n)``, as ``advx.neurons.effective_weights``.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from advx.model import N_PIXELS, param_layer_names
from advx.paths import VerifiedFileError, atomic_write_bytes, cache_dir, decode_verified, encode_verified

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


_PCA_CHUNK = 4096


def fit_subspace(images, centred: bool = False) -> DataSubspace:
    """PCA of ``images`` (``(n, 28, 28)`` uint8 or ``(n, 784)`` in [0, 1]) as a ``DataSubspace``.

    Uncentred by default (the span of the raw images; see the module docstring). The second-moment
    matrix is formed on the non-blank pixels only, so the blank pixels stay exact zeros of every
    principal direction.
    """
    arr = np.asarray(images)
    if np.issubdtype(arr.dtype, np.integer) and arr.ndim >= 2 and arr.shape[0] and arr[0].size == N_PIXELS:
        x, scale = arr.reshape(arr.shape[0], N_PIXELS), 1 / 255  # converted chunk by chunk below
    else:
        x, scale = as_pixels(arr), 1.0
    n = x.shape[0]
    # The second-moment matrix, accumulated over chunks of images converted to float32 one at a time (no
    # float copy of the whole set): a contiguous conversion and a symmetric rank-k update (BLAS syrk,
    # which ``b.T @ b`` dispatches to) are cheaper than gathering the non-blank columns first. The
    # uint8 scale 1/255 is applied once, to the sums.
    gram = np.zeros((N_PIXELS, N_PIXELS), np.float32)
    sums = np.zeros(N_PIXELS, np.float64)
    buf = np.empty((_PCA_CHUNK, N_PIXELS), np.float32)
    for start in range(0, n, _PCA_CHUNK):
        chunk = x[start:start + _PCA_CHUNK]
        b = buf[:len(chunk)]
        b[...] = chunk
        gram += b.T @ b
        sums += b.sum(axis=0, dtype=np.float64)
    # uint8 pixels are non-negative, so their sum vanishes only where every image is 0
    blank = sums == 0 if scale != 1.0 else ~np.any(x != 0, axis=0)
    live = np.flatnonzero(~blank)
    mean = sums * scale / n
    # Only the non-blank pixels enter the eigendecomposition, so the blank ones stay exact zeros of
    # every principal direction.
    gram = gram[np.ix_(live, live)].astype(np.float64) * (scale * scale / n)
    if centred:
        gram -= np.outer(mean[live], mean[live])
    mean = mean.astype(np.float32)
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


def exact_null_directions(images, rel_tol: float = 1e-13) -> np.ndarray:
    """``(784, m)`` orthonormal directions orthogonal to every image: the complement of the exact span.

    The blank pixels' unit vectors come first, then the directions on the other pixels whose energy is
    below ``rel_tol`` × the largest, found from a float64 second-moment matrix (for uint8 images its
    entries are exact). On MNIST's training set: 67 + 5. A plain-SGD change of W1 has no component along
    any of them, to float rounding. This costs a float64 product, so it is not part of ``fit_subspace``.
    """
    x = as_pixels(images)
    blank = ~np.any(x != 0, axis=0)
    live = np.flatnonzero(~blank)
    xs = x[:, live].astype(np.float64)
    values, vectors = np.linalg.eigh(xs.T @ xs)
    null = vectors[:, values < rel_tol * values.max()]
    out = np.zeros((N_PIXELS, int(blank.sum()) + null.shape[1]), np.float64)
    out[np.flatnonzero(blank), np.arange(int(blank.sum()))] = 1.0
    out[np.ix_(live, np.arange(int(blank.sum()), out.shape[1]))] = null
    return out


# --------------------------------------------------------------------------------------------
# The subspace on disk: computed once per data set, then read back (verified) by every process

SUBSPACE_FORMAT = 1


class SubspaceFileError(ValueError):
    """A stored subspace file is damaged or belongs to other data."""


def subspace_path(data_sha: str, centred: bool = False, root: Path | None = None) -> Path:
    """Where the subspace of the data with content hash ``data_sha`` is kept (under the cache dir)."""
    folder = Path(root) if root is not None else cache_dir() / "subspace"
    return folder / f"{data_sha[:16]}-{'centred' if centred else 'uncentred'}-v{SUBSPACE_FORMAT}.npz"


def encode_subspace(sub: DataSubspace, data_sha: str) -> bytes:
    """The bytes of a subspace file: its arrays and a JSON record with the data hash and array digests."""
    arrays = {"basis": sub.basis, "energies": sub.energies, "blank": sub.blank, "mean": sub.mean}
    return encode_verified(arrays, {"format": SUBSPACE_FORMAT, "data_sha": data_sha, "centred": sub.centred,
                                    "n_images": sub.n_images})


def decode_subspace(blob: bytes, data_sha: str, centred: bool) -> DataSubspace:
    """Parse and verify subspace-file bytes; ``SubspaceFileError`` on any damage or mismatch."""
    try:
        arrays, meta = decode_verified(blob, SUBSPACE_FORMAT)
    except VerifiedFileError as exc:
        raise SubspaceFileError(f"the subspace file: {exc}") from exc
    if meta.get("data_sha") != data_sha or meta.get("centred") != centred:
        raise SubspaceFileError("the subspace file belongs to other data or another kind of PCA")
    if set(arrays) != {"basis", "energies", "blank", "mean"}:
        raise SubspaceFileError("the subspace file lacks some of its arrays")
    return DataSubspace(basis=arrays["basis"], energies=arrays["energies"], blank=arrays["blank"],
                        mean=arrays["mean"], centred=centred, n_images=int(meta["n_images"]))


def load_or_fit_subspace(images, data_sha: str, centred: bool = False, root: Path | None = None) -> DataSubspace:
    """``fit_subspace(images, centred)``, read from the cache folder when it was computed before.

    ``data_sha`` is the content hash of the data (``MNIST.sha``): it names the file and is checked on
    reading. A damaged or mismatched file is replaced; a cache folder that cannot be written only
    means the result is not kept.
    """
    try:
        path = subspace_path(data_sha, centred, root)
    except OSError:  # no usable cache folder
        return fit_subspace(images, centred)
    try:
        return decode_subspace(path.read_bytes(), data_sha, centred)
    except (OSError, SubspaceFileError):  # absent, unreadable or damaged: compute it again
        pass
    sub = fit_subspace(images, centred)
    try:
        atomic_write_bytes(path, encode_subspace(sub, data_sha))
    except OSError:
        pass
    return sub


# --------------------------------------------------------------------------------------------
# Projections and energies
#
# Plain NumPy: the products are at most (784, 784) by (784, a few hundred), a few milliseconds with
# BLAS, and a NumPy call has nothing to compile, so neither a first visit nor a new k waits for XLA.


def _coordinates(sub: DataSubspace, arr: np.ndarray) -> np.ndarray:
    """``(784, n)`` float32: the coordinates of the columns of ``arr`` along every basis direction."""
    return sub.basis.T @ arr


def _energies(coords: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sq = np.square(coords, dtype=np.float64)
    return sq[:k].sum(0).astype(np.float32), sq[k:].sum(0).astype(np.float32)


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
    k = sub.check_k(k)
    coords = _coordinates(sub, arr)
    inside, outside = sub.basis[:, :k] @ coords[:k], sub.basis[:, k:] @ coords[k:]
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
    return Energy(*_energies(_coordinates(sub, arr), sub.check_k(k)))


def energy_fraction(sub: DataSubspace, v, k: int) -> np.ndarray | float:
    """Share of each column's energy ``‖Pv‖² / ‖v‖²`` inside the top-``k`` subspace.

    ``(n,)`` float32 for ``(784, n)``, a float for ``(784,)``; NaN for a zero column.
    """
    arr, single = _columns(v)
    frac = energy(sub, arr, k).fraction_inside
    return float(frac[0]) if single else frac


class Spectrum(NamedTuple):
    """Every ``k``'s inside / outside energy of the columns of a ``(784, n)`` matrix, from one projection.

    ``head[k]``: energy in the top ``k`` directions, ``tail[k]``: energy in the others, both ``(785, n)``
    float64 for ``k = 0 .. 784``. Measuring at a new ``k`` is then a lookup, not a product.
    """

    head: np.ndarray
    tail: np.ndarray

    def energy(self, k: int) -> Energy:
        return Energy(self.head[k].astype(np.float32), self.tail[k].astype(np.float32))


def spectrum(sub: DataSubspace, v) -> Spectrum:
    """The ``Spectrum`` of ``v`` (``(784,)`` or ``(784, n)``): ``spectrum(sub, v).energy(k) == energy(sub, v, k)``."""
    arr, _ = _columns(v)
    sq = np.square(_coordinates(sub, arr), dtype=np.float64)
    zero = np.zeros((1, sq.shape[1]))
    head = np.concatenate([zero, np.cumsum(sq, axis=0)])
    tail = np.concatenate([np.cumsum(sq[::-1], axis=0)[::-1], zero])
    for a in (head, tail):
        a.setflags(write=False)
    return Spectrum(head, tail)


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


@dataclass(frozen=True, eq=False)
class NeuronMaps:
    """Every neuron's pixel maps for one run, at initialisation and trained: ``{layer: (784, n)}`` each.

    ``effective_*``: ``advx.neurons.effective_weights``; ``average_*``: ``advx.neurons.dataset_average``
    (images weighted by the neuron's activation; the output layer by its softmax probability). They do
    not depend on ``k``: compute them once per run and measure them at any ``k`` with ``measure_neurons``.
    """

    effective_init: dict
    effective_trained: dict
    average_init: dict
    average_trained: dict

    @property
    def layers(self) -> list[str]:
        return list(self.effective_trained)

    @classmethod
    def from_layer_dicts(cls, init: dict, trained: dict) -> "NeuronMaps":
        """From two ``{layer: {"effective": (784, n), "average": (784, n), ...}}`` dicts (init, trained),
        the layout of the neuron pages' cached maps."""
        return cls(effective_init={n: np.asarray(v["effective"]) for n, v in init.items()},
                   effective_trained={n: np.asarray(v["effective"]) for n, v in trained.items()},
                   average_init={n: np.asarray(v["average"]) for n, v in init.items()},
                   average_trained={n: np.asarray(v["average"]) for n, v in trained.items()})


def neuron_maps(params_init: dict, params_trained: dict, images) -> NeuronMaps:
    """The ``NeuronMaps`` of a run; ``images`` are the set averaged over, ``(n, 784)`` uint8 or float.

    uint8 pixels are passed through as they are (``advx.neurons`` scales them inside its jitted code).
    """
    from advx.neurons import all_dataset_averages, all_effective_weights

    arr = np.asarray(images)
    if arr.ndim != 2 and not (arr.ndim == 3 and arr.shape[1:] == (28, 28)):
        raise SubspaceError(f"images must be (n, 784) or (n, 28, 28), got shape {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.shape[1] != N_PIXELS or arr.shape[0] == 0:
        raise SubspaceError(f"images must be a non-empty (n, 784) stack, got shape {arr.shape}")
    names = param_layer_names(params_trained)
    if param_layer_names(params_init) != names:
        raise SubspaceError(f"the two parameter sets have different layers: {param_layer_names(params_init)} "
                            f"and {names}")

    def numpy(tree: dict, attr: str | None = None) -> dict:
        return {n: np.asarray(getattr(tree[n], attr) if attr else tree[n]) for n in names}

    return NeuronMaps(
        effective_init=numpy(all_effective_weights(params_init)),
        effective_trained=numpy(all_effective_weights(params_trained)),
        average_init=numpy(all_dataset_averages(params_init, arr), "images"),
        average_trained=numpy(all_dataset_averages(params_trained, arr), "images"),
    )


_NEURON_PARTS = ("effective_init", "effective_trained", "average_init", "average_trained", "change")


def _neuron_parts(maps: NeuronMaps, layer: str) -> list[np.ndarray]:
    w0, w1 = maps.effective_init[layer], maps.effective_trained[layer]
    return [np.asarray(p, np.float32) for p in (w0, w1, maps.average_init[layer], maps.average_trained[layer], w1 - w0)]


@dataclass(frozen=True, eq=False)
class NeuronSpectra:
    """The ``Spectrum`` of every neuron's maps (``NeuronMaps``) in one data subspace, for every layer: what
    ``measure_neurons`` needs at any ``k``, computed once. ``spectra[layer]`` covers the columns of the
    five parts of ``NeuronSubspace`` side by side, ``width[layer]`` neurons each."""

    spectra: dict
    width: dict

    @property
    def layers(self) -> list[str]:
        return list(self.spectra)


def neuron_spectra(sub: DataSubspace, maps: NeuronMaps) -> NeuronSpectra:
    """``NeuronSpectra`` of ``maps`` in ``sub``: one product per layer, then any ``k`` is a lookup."""
    return NeuronSpectra({layer: spectrum(sub, np.concatenate(_neuron_parts(maps, layer), axis=1)) for layer in maps.layers},
                         {layer: int(maps.effective_trained[layer].shape[1]) for layer in maps.layers})


def measure_neurons(sub: DataSubspace, k: int, maps: NeuronMaps | NeuronSpectra, layer: str) -> NeuronSubspace:
    """Every measurement of one layer's neurons in the top-``k`` subspace (see ``NeuronSubspace``).

    ``maps``: the ``NeuronMaps``, or their ``NeuronSpectra`` in ``sub`` (the same numbers, without a product).
    Raises ``SubspaceError`` if ``layer`` is not one of ``maps.layers``.
    """
    if layer not in maps.layers:
        raise SubspaceError(f"unknown layer {layer!r}; layers are {maps.layers}")
    k = sub.check_k(k)
    if isinstance(maps, NeuronSpectra):
        both, n = maps.spectra[layer].energy(k), maps.width[layer]
    else:
        parts = _neuron_parts(maps, layer)
        both, n = energy(sub, np.concatenate(parts, axis=1), k), parts[0].shape[1]  # one product
    cuts = [n * i for i in range(1, len(_NEURON_PARTS))]
    e0, e1, a0, a1, change = (Energy(i, o) for i, o in zip(np.split(both.inside, cuts), np.split(both.outside, cuts)))
    return NeuronSubspace(layer=layer, k=k, effective_init=e0, effective_trained=e1, average_init=a0,
                          average_trained=a1, change=change)


def layer_summary(sub: DataSubspace, k: int, maps: NeuronMaps | NeuronSpectra) -> list[dict]:
    """One row per layer, energies pooled over its neurons: the shares inside the top-``k`` subspace of
    the effective weights (init, trained), of the dataset averages (trained; the smallest single neuron
    too) and of the change, and the outside norm of the effective weights at init and trained."""
    rows = []
    for layer in maps.layers:
        m = measure_neurons(sub, k, maps, layer)
        rows.append({
            "layer": layer,
            "effective weights inside, init": pooled_fraction(m.effective_init),
            "effective weights inside, trained": pooled_fraction(m.effective_trained),
            "dataset averages inside, trained": pooled_fraction(m.average_trained),
            "lowest neuron's dataset average inside": float(np.nanmin(m.average_trained.fraction_inside)),
            "change inside": pooled_fraction(m.change),
            "outside norm, init": float(np.sqrt(m.effective_init.outside.sum())),
            "outside norm, trained": float(np.sqrt(m.effective_trained.outside.sum())),
        })
    return rows


def chosen_energies(measured: dict[str, NeuronSubspace], chosen: dict[str, list[int]]) -> tuple[np.ndarray, ...]:
    """``(inside_init, outside_init, inside_trained, outside_trained)`` of the effective weights of the
    chosen neurons, each ``(m,)``, in the order of ``chosen`` (``{layer: [neuron index, ...]}``)."""
    out = []
    for stage in ("effective_init", "effective_trained"):
        for part in ("inside", "outside"):
            out.append(np.array([getattr(getattr(measured[layer], stage), part)[i]
                                 for layer, idx in chosen.items() for i in idx], np.float64))
    return tuple(out)


def neuron_parts(sub: DataSubspace, k: int, maps: NeuronMaps, layer: str, index: int) -> dict[str, np.ndarray]:
    """One neuron's effective weights split into their inside and outside parts, at init and trained.

    Returns ``{"init, inside": (784,), "init, outside", "trained, inside", "trained, outside"}``.
    """
    if layer not in maps.layers:
        raise SubspaceError(f"unknown layer {layer!r}; layers are {maps.layers}")
    width = maps.effective_trained[layer].shape[1]
    if not 0 <= index < width:
        raise SubspaceError(f"{layer} has neurons 0 to {width - 1}, got {index}")
    out = {}
    for stage, source in (("init", maps.effective_init), ("trained", maps.effective_trained)):
        inside, outside = split(sub, source[layer][:, index], k)
        out[f"{stage}, inside"], out[f"{stage}, outside"] = inside, outside
    return out


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
        return self.change_norm_inside / self.norm_inside_init if self.norm_inside_init > 0 else float("nan")

    @property
    def moved_outside(self) -> float:
        """‖Q ΔW1‖ / ‖Q W1_init‖: the same for the outside part (NaN when there is no outside, k = 784)."""
        return self.change_norm_outside / self.norm_outside_init if self.norm_outside_init > 0 else float("nan")


def _first_layer(params_init: dict, params_trained: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W1 at init, W1 trained, ΔW1)``, each ``(784, h)`` float32."""
    first = param_layer_names(params_init)[0]
    w0 = np.asarray(params_init[first]["kernel"], np.float32)
    w1 = np.asarray(params_trained[first]["kernel"], np.float32)
    if w0.shape != w1.shape or w0.shape[0] != N_PIXELS:
        raise SubspaceError(f"first-layer kernels must both be (784, h), got {w0.shape} and {w1.shape}")
    return w0, w1, w1 - w0


def first_layer_spectrum(sub: DataSubspace, params_init: dict, params_trained: dict) -> Spectrum:
    """The ``Spectrum`` of ``[W1 init | W1 trained | ΔW1]`` (columns side by side): ``first_layer_change`` at any k."""
    return spectrum(sub, np.concatenate(_first_layer(params_init, params_trained), axis=1))


def first_layer_change(sub: DataSubspace, k: int, params_init: dict, params_trained: dict,
                       spectrum: Spectrum | None = None) -> FirstLayerChange:
    """Measure ΔW1 = W1_trained − W1_init against the top-``k`` subspace and the blank pixels.

    ``spectrum``: ``first_layer_spectrum(sub, params_init, params_trained)`` if already computed (any k).
    """
    w0, w1, delta = _first_layer(params_init, params_trained)
    k = sub.check_k(k)
    if spectrum is None:
        both = energy(sub, np.concatenate([w0, w1, delta], axis=1), k)
    else:
        both = spectrum.energy(k)
    h = w0.shape[1]
    e0, e1, ed = (Energy(both.inside[i * h:(i + 1) * h], both.outside[i * h:(i + 1) * h]) for i in range(3))
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


def energy_curve(sub: DataSubspace, matrix) -> np.ndarray:
    """``(784,)`` float64: the share of ``matrix``'s total energy inside the top-``k`` subspace, at ``k-1``.

    ``matrix``: ``(784,)`` or ``(784, h)``; the columns' energies are pooled. For the images themselves
    this curve is ``sub.explained``; a random matrix gives about ``k / 784``.
    """
    arr, _ = _columns(matrix)
    per_direction = np.square(_coordinates(sub, arr), dtype=np.float64).sum(1)
    total = per_direction.sum()
    return np.cumsum(per_direction) / (total if total > 0 else 1.0)


RUN_LABELS = {"adam": "Adam", "sgd": "SGD", "noise": "Adam + input noise", "decay": "AdamW (weight decay)"}


class FirstLayerStudy(NamedTuple):
    """Everything the page shows about one run's first layer.

    ``change``: ``first_layer_change``; ``maps``: ``pixel_maps`` of ΔW1; ``change_curve`` and
    ``init_curve``: ``energy_curve`` of ΔW1 and of W1 at initialisation, ``(784,)`` each.
    """

    change: FirstLayerChange
    maps: PixelMaps
    change_curve: np.ndarray
    init_curve: np.ndarray


def first_layer_curves(sub: DataSubspace, params_init: dict, params_trained: dict,
                       spectrum: Spectrum | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(change curve, init curve)``: ``energy_curve`` of ΔW1 and of W1 at initialisation (they do not depend on k).

    ``spectrum``: ``first_layer_spectrum(sub, params_init, params_trained)``, if computed already: the curves
    are then read off it.
    """
    w0, _, delta = _first_layer(params_init, params_trained)
    if spectrum is None:
        return energy_curve(sub, delta), energy_curve(sub, w0)
    h = w0.shape[1]

    def curve(columns: slice) -> np.ndarray:
        head = spectrum.head[1:, columns].sum(1)
        total = head[-1]
        return head / (total if total > 0 else 1.0)

    return curve(slice(2 * h, 3 * h)), curve(slice(0, h))


def first_layer_study(sub: DataSubspace, k: int, params_init: dict, params_trained: dict,
                      curves: tuple[np.ndarray, np.ndarray] | None = None,
                      spectrum: Spectrum | None = None) -> FirstLayerStudy:
    """``first_layer_change``, the ΔW1 pixel maps and the energy curves of one run, at ``k``.

    ``curves``: ``first_layer_curves(sub, params_init, params_trained)`` and ``spectrum``:
    ``first_layer_spectrum(...)``, if already computed (they do not depend on k).
    """
    delta = _first_layer(params_init, params_trained)[2]
    change_curve, init_curve = (curves if curves is not None
                                else first_layer_curves(sub, params_init, params_trained, spectrum))
    return FirstLayerStudy(first_layer_change(sub, k, params_init, params_trained, spectrum), pixel_maps(sub, delta, k),
                           change_curve, init_curve)


def first_layer_rows(studies: dict[str, FirstLayerStudy], accuracies: dict[str, float]) -> list[dict]:
    """The optimiser comparison as rows, one per run (``studies`` keyed as ``RUN_LABELS``)."""
    rows = []
    for name, st in studies.items():
        c = st.change
        rows.append({"run": RUN_LABELS.get(name, name), "test accuracy": f"{accuracies[name]:.2%}",
                     "ΔW1 energy inside": f"{c.fraction_inside:.1%}",
                     "largest |ΔW1| on a blank pixel": f"{c.max_abs_on_blank:.3g}",
                     "W1 outside norm, init → trained": f"{c.norm_outside_init:.2f} → {c.norm_outside_trained:.2f}",
                     "W1 inside norm, init → trained": f"{c.norm_inside_init:.2f} → {c.norm_inside_trained:.2f}",
                     "outside moved (‖QΔW1‖ / ‖QW1 init‖)": f"{c.moved_outside:.2f}"})
    return rows


# --------------------------------------------------------------------------------------------
# The counterfactual: clean accuracy and attack success of a set of networks

COUNTERFACTUAL_TARGET = 0  # the seed's overlay turns a correctly classified digit into a 0
# L-inf budgets per attack, from advx.attacks.COMPARISON_BUDGETS. PGD is the costly one and succeeds
# on every network at 0.3 already, so it is not run at 0.5.
ATTACK_BUDGETS = {"overlay": (0.1, 0.3, 0.5), "fgsm": (0.1, 0.3, 0.5), "pgd": (0.1, 0.3)}
ATTACK_LABELS = {"overlay": "Overlay", "fgsm": "FGSM", "pgd": "PGD"}
ATTACK_IMAGES = 500  # the first this many test images are attacked (a share of ~450 has a standard error <= 2.4 points)
PGD_STEPS = 40

# The comparison runs: plain SGD (its change of W1 lies in the span of the images) and two
# "street-smart" variants that also train directions the data does not occupy.
SGD_LEARNING_RATE = 0.05
STREET_SMART_NOISE = 0.3
STREET_SMART_DECAY = 1.0


class AttackRates(NamedTuple):
    """One network's column of the counterfactual table.

    ``clean_accuracy``: on every test image given. ``success[(attack, budget)]``: the share of the
    attacked images (correctly classified, label other than ``target``) that the attack turns into
    ``target`` at that L-inf budget. Attacks: ``overlay`` (the network's own output-neuron effective
    weights, as in the seed), ``fgsm`` and ``pgd`` (targeted; PGD from one random start).
    ``n_attacked``: how many images the shares are over.
    """

    clean_accuracy: float
    success: dict
    n_attacked: int


@functools.partial(jax.jit, static_argnames=("n_attack", "target", "pgd_steps"))
def _attack_table(params: dict, pixels: jax.Array, labels: jax.Array, key: jax.Array, overlay_budgets: jax.Array,
                  fgsm_budgets: jax.Array, pgd_budgets: jax.Array, *, n_attack: int, target: int,
                  pgd_steps: int):
    """Every prediction ``attack_rates`` counts, in one compiled program (one compilation serves every
    network of the same shape, and every budget, as the budgets are arrays).

    Each attack runs once on the attacked images stacked for all its budgets, each copy with its own
    budget (a column of per-image budgets), which compiles faster than mapping over the budgets.
    ``pixels (n, 784)``: uint8 or float32 (uint8 is scaled here). Returns ``(clean (n,), overlay (b1,
    n_attack), fgsm (b2, n_attack), pgd (b3, n_attack))`` predicted classes.
    """
    from advx import attacks

    if pixels.dtype == jnp.uint8:
        pixels = pixels.astype(jnp.float32) / 255.0
    clean = attacks.predictions(params, pixels)
    x = pixels[:n_attack]
    m = None
    for name in param_layer_names(params):
        m = params[name]["kernel"] if m is None else m @ params[name]["kernel"]
    pattern = m[:, target]  # output neuron ``target``'s effective weights

    def stacked(budgets):  # the images once per budget, and each copy's budget as a column
        return jnp.tile(x, (budgets.shape[0], 1)), jnp.repeat(budgets, x.shape[0])[:, None]

    def predict(adversarial):
        return attacks.predictions(params, adversarial).reshape(-1, x.shape[0])

    xo, bo = stacked(overlay_budgets)
    overlaid = predict(attacks.overlay(xo, pattern, bo[:, 0]))
    xf, bf = stacked(fgsm_budgets)
    fgsm = predict(attacks.fgsm(params, xf, jnp.full((xf.shape[0],), target, jnp.int32), bf, targeted=True))
    xp, bp = stacked(pgd_budgets)
    pgd = predict(attacks.pgd(params, xp, jnp.full((xp.shape[0],), target, jnp.int32), bp, key, targeted=True,
                              steps=pgd_steps))
    return clean, overlaid, fgsm, pgd


_programs: dict[tuple, Future] = {}  # signature -> Future of the compiled attack table
_programs_lock = threading.Lock()
_compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="advx-attack-compile")


def _spec(tree):
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype if hasattr(a, "dtype") else
                                                       jnp.result_type(a)), tree)


def _attack_program(args: tuple, n_attack: int, target: int, pgd_steps: int) -> Future:
    """The compiled ``_attack_table`` for arguments shaped like ``args`` (arrays or shape specs), as a
    Future: compiled once per signature in a worker thread, and shared by every caller, so a caller
    that comes while the compilation is under way waits for it instead of compiling again."""
    spec = _spec(args)
    leaves, tree = jax.tree.flatten(spec)
    signature = (tree, tuple((leaf.shape, str(leaf.dtype)) for leaf in leaves), n_attack, target, pgd_steps)
    with _programs_lock:
        job = _programs.get(signature)
        if job is None or (job.done() and job.exception() is not None):
            job = _compiler.submit(lambda: _attack_table.lower(*spec, n_attack=n_attack, target=target,
                                                               pgd_steps=pgd_steps).compile())
            _programs[signature] = job
    return job


def prepare_attack_rates(params: dict, n_images: int, pixel_dtype=np.float32, *,
                         target: int = COUNTERFACTUAL_TARGET, budgets: dict | None = None,
                         n_attack: int = ATTACK_IMAGES, pgd_steps: int = PGD_STEPS) -> Future:
    """Start compiling what ``attack_rates`` runs for networks shaped like ``params`` and ``n_images`` test
    images of ``pixel_dtype`` (float32 in [0, 1] or uint8), without waiting: XLA takes about a second for
    it, which a caller can spend on other work. Returns a Future that is done when the program is
    ready; ``attack_rates`` with the same shapes then runs it at once.
    """
    budgets = ATTACK_BUDGETS if budgets is None else budgets
    n_images = int(n_images)
    if n_images < 1:
        raise SubspaceError(f"need at least one test image, got {n_images}")
    args = (_spec(params), jax.ShapeDtypeStruct((n_images, N_PIXELS), np.dtype(pixel_dtype)),
            jax.ShapeDtypeStruct((n_images,), np.int32), jax.eval_shape(lambda: jax.random.key(0)),
            *(jax.ShapeDtypeStruct((len(budgets.get(a, ())),), np.float32) for a in ("overlay", "fgsm", "pgd")))
    return _attack_program(args, min(int(n_attack), n_images), int(target), int(pgd_steps))


def attack_rates(params: dict, test_images, test_labels, key: jax.Array, *, target: int = COUNTERFACTUAL_TARGET,
                 budgets: dict | None = None, n_attack: int = ATTACK_IMAGES,
                 pgd_steps: int = PGD_STEPS) -> AttackRates:
    """Clean accuracy on all of ``test_images`` and targeted attack success on the first ``n_attack``.

    ``test_images``: ``(n, 784)`` float32 in [0, 1] or ``(n, 28, 28)`` / ``(n, 784)`` uint8 (a uint8 JAX array
    of shape ``(n, 784)`` is used where it is, without a copy); ``test_labels``: ``(n,)``. ``budgets``: ``{attack: (L-inf budget, ...)}``, default ``ATTACK_BUDGETS``. The attacks run
    on the whole fixed-size sample in one compiled program, so every network of the same shape reuses
    it, and the success rate is counted over the eligible images only, as
    ``advx.attacks.success_rates`` does. PGD starts from one random draw of ``key`` over all its budgets.
    """
    from advx import attacks

    budgets = ATTACK_BUDGETS if budgets is None else budgets
    unknown = set(budgets) - set(ATTACK_LABELS)
    if unknown:
        raise SubspaceError(f"unknown attacks {sorted(unknown)}; the attacks are {list(ATTACK_LABELS)}")
    if (isinstance(test_images, jax.Array) and test_images.dtype == jnp.uint8 and test_images.ndim == 2
            and test_images.shape[0] > 0 and test_images.shape[1] == N_PIXELS):
        pixels = test_images  # already on the device: no copy
    else:
        arr = np.asarray(test_images)
        if arr.dtype == np.uint8 and arr.ndim >= 2 and arr.shape[0] > 0 and arr[0].size == N_PIXELS:
            pixels = arr.reshape(arr.shape[0], N_PIXELS)
        else:
            pixels = as_pixels(arr)
    labels = np.asarray(test_labels).astype(np.int32)
    if labels.shape != (pixels.shape[0],):
        raise SubspaceError(f"need one label per image: {pixels.shape[0]} images, labels of shape {labels.shape}")
    attacks.check_class(target)
    n_attack = min(int(n_attack), pixels.shape[0])
    args = (params, jnp.asarray(pixels), jnp.asarray(labels), key,
            *(jnp.asarray(budgets.get(a, ()), jnp.float32).reshape(-1) for a in ("overlay", "fgsm", "pgd")))
    program = _attack_program(args, n_attack, int(target), int(pgd_steps)).result()
    clean, *attacked = program(*args)
    clean = np.asarray(clean)
    y = labels[:n_attack]
    eligible = (clean[:n_attack] == y) & (y != target)
    n = int(eligible.sum())
    if n == 0:
        raise SubspaceError(f"no correctly classified image with a label other than {target} to attack")
    success = {}
    for attack, predicted in zip(("overlay", "fgsm", "pgd"), attacked):
        hits = (np.asarray(predicted) == target)[:, eligible].mean(axis=1)
        for budget, rate in zip(budgets.get(attack, ()), hits):
            success[(attack, float(budget))] = float(rate)
    return AttackRates(float((clean == labels).mean()), success, n)


# --------------------------------------------------------------------------------------------
# The counterfactual columns on disk: a run's attack rates, per k, read back (verified) after a restart

COUNTERFACTUAL_FORMAT = 1


def counterfactual_path(run_id: str, root: Path | None = None) -> Path:
    """Where the counterfactual columns of the run ``run_id`` are kept (under the cache dir)."""
    return (Path(root) if root is not None else cache_dir() / "counterfactual") / f"{run_id}-v{COUNTERFACTUAL_FORMAT}.json"


def _settings(sub: DataSubspace, n_test: int, seed: int) -> dict:
    return {"budgets": {a: [float(b) for b in bs] for a, bs in ATTACK_BUDGETS.items()}, "n_attack": ATTACK_IMAGES,
            "pgd_steps": PGD_STEPS, "target": COUNTERFACTUAL_TARGET, "seed": int(seed), "n_test": int(n_test),
            "subspace": {"n_images": sub.n_images, "centred": sub.centred,
                         "energies": [float(e) for e in sub.energies[:8]]}}


def _read_columns(path: Path, run_id: str, fingerprint: str, settings: dict) -> dict:
    """``{k: AttackRates}`` from a counterfactual file, or ``{}`` when it is absent, damaged or stale."""
    import json

    from advx.paths import sha256_bytes

    try:
        record = json.loads(path.read_bytes())
        body = json.dumps(record["body"], sort_keys=True).encode()
        if record.get("sha256") != sha256_bytes(body):
            return {}
        body = record["body"]
        if (body["format"], body["run_id"], body["fingerprint"], body["settings"]) != (
                COUNTERFACTUAL_FORMAT, run_id, fingerprint, json.loads(json.dumps(settings))):
            return {}
        return {int(k): AttackRates(float(c["clean_accuracy"]), {(a, float(b)): float(r) for a, b, r in c["success"]},
                                    int(c["n_attacked"])) for k, c in body["columns"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


_columns_lock = threading.Lock()


def stored_attack_rates(run, k: int, sub: DataSubspace, test_images, test_labels, *, seed: int = 0,
                        root: Path | None = None) -> AttackRates:
    """``attack_rates`` of ``run``'s final network (``k`` = 0) or of it with its first layer projected onto the
    top-``k`` subspace of ``sub``, with ``jax.random.key(seed)``, read from the cache folder when it was
    computed before.

    The file ``counterfactual_path(run.run_id)`` holds every k measured for the run, under a SHA-256 of
    its content, the run's weights and the attack settings; a damaged or stale file is ignored and
    rewritten (atomically), and a folder that cannot be written only means nothing is kept.
    """
    import json

    from advx.derived import params_fingerprint
    from advx.paths import sha256_bytes

    k = 0 if not k else sub.check_k(k)
    fingerprint = params_fingerprint(run.final_params)
    settings = _settings(sub, len(test_labels), seed)
    try:
        path = counterfactual_path(run.run_id, root)
    except OSError:  # no usable cache folder
        path = None
    found = _read_columns(path, run.run_id, fingerprint, settings) if path is not None else {}
    if k in found:
        return found[k]
    params = project_first_layer(run.final_params, sub, k) if k else run.final_params
    rates = attack_rates(params, test_images, test_labels, jax.random.key(seed))
    if path is None:
        return rates
    with _columns_lock:  # read again and add: another k may have been written meanwhile
        columns = _read_columns(path, run.run_id, fingerprint, settings)
        columns[k] = rates
        body = {"format": COUNTERFACTUAL_FORMAT, "run_id": run.run_id, "fingerprint": fingerprint,
                "settings": settings,
                "columns": {str(kk): {"clean_accuracy": r.clean_accuracy, "n_attacked": r.n_attacked,
                                      "success": [[a, b, v] for (a, b), v in r.success.items()]}
                            for kk, r in sorted(columns.items())}}
        blob = json.dumps({"body": body, "sha256": sha256_bytes(json.dumps(body, sort_keys=True).encode())})
        try:
            atomic_write_bytes(path, blob.encode())
        except OSError:
            pass
    return rates


COLUMN_KINDS = ("trained", "projected", "noise", "decay")


def column_labels(k: int, configs: dict) -> dict[str, str]:
    """Column titles of the counterfactual table: ``{kind: title}`` for ``COLUMN_KINDS``.

    ``configs``: ``{"trained", "noise", "decay"} -> TrainConfig``.
    """
    return {"trained": f"Trained ({configs['trained'].optimizer})",
            "projected": f"Projected, k = {k}",
            "noise": f"Input noise σ = {configs['noise'].input_noise:g}",
            "decay": f"Weight decay {configs['decay'].weight_decay:g}"}


def counterfactual_rows(columns: dict[str, AttackRates], labels: dict[str, str] | None = None,
                        target: int = COUNTERFACTUAL_TARGET) -> list[dict]:
    """The counterfactual table as rows ``{"measure": str, <column title>: float}``, ready for a data frame.

    ``columns``: ``{kind: AttackRates}``, all with the same attacks and budgets; ``labels`` titles the
    columns (default: the kinds themselves).
    """
    labels = labels or {}
    title = {kind: labels.get(kind, kind) for kind in columns}
    first = next(iter(columns.values()))
    rows = [{"measure": "Clean test accuracy", **{title[c]: r.clean_accuracy for c, r in columns.items()}}]
    for attack, budget in first.success:
        rows.append({"measure": f"{ATTACK_LABELS[attack]} → {target} success, L∞ {budget:g}",
                     **{title[c]: r.success[(attack, budget)] for c, r in columns.items()}})
    return rows


def counterfactual_caption(rates: AttackRates, n_test: int = 10_000, target: int = COUNTERFACTUAL_TARGET) -> str:
    """How the counterfactual table was measured, in one paragraph."""
    return (f"Clean accuracy on all {n_test:,} test images. Attacks on the first {ATTACK_IMAGES:,} test images, "
            f"counting only those the network classifies correctly and whose label is not {target} "
            f"({rates.n_attacked} for the first column, so a share has a sampling error of at most "
            f"±{100 / (2 * rates.n_attacked ** 0.5):.1f} points); success means the network then answers {target}. "
            f"Overlay: the network's own output-neuron-{target} effective weights, scaled to the L∞ budget and added "
            f"to the digit (the seed's trick). FGSM: one signed-gradient step. PGD: {PGD_STEPS} steps of budget/30 "
            "from one random start (Madry et al. 2018). All attacks are targeted and white-box: each network is "
            "attacked through its own gradients.")


def comparison_configs(base):
    """The runs this page compares, all with ``base``'s network, epochs, batch size and seed.

    Returns ``{"adam", "sgd", "noise", "decay"}`` -> ``TrainConfig``: plain Adam and plain SGD
    (momentum as in ``base``; each keeps ``base``'s learning rate if ``base`` already uses that
    optimiser, else takes the default Adam rate or ``SGD_LEARNING_RATE``), and the two street-smart variants of the Adam run: Gaussian input noise of standard
    deviation ``STREET_SMART_NOISE``, and decoupled weight decay ``STREET_SMART_DECAY``.
    """
    import dataclasses

    from advx.config import TrainConfig

    plain = dict(weight_decay=0.0, input_noise=0.0)
    adam_rate = base.learning_rate if base.optimizer == "adam" else TrainConfig().learning_rate
    adam = dataclasses.replace(base, optimizer="adam", learning_rate=adam_rate, **plain)
    sgd = dataclasses.replace(base, optimizer="sgd", **plain,
                              learning_rate=base.learning_rate if base.optimizer == "sgd" else SGD_LEARNING_RATE)
    return {"adam": adam, "sgd": sgd,
            "noise": dataclasses.replace(adam, input_noise=STREET_SMART_NOISE),
            "decay": dataclasses.replace(adam, weight_decay=STREET_SMART_DECAY)}


# --------------------------------------------------------------------------------------------
# Words that follow the numbers


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if abs(x) < 0.995 or x >= 1 else f"{100 * x:.2f}%"


def _amount(share: float) -> str:
    """A word for a share, so that the sentence cannot claim more than the number says."""
    if share >= 0.9:
        return "almost all"
    if share >= 0.6:
        return "most"
    if share >= 0.4:
        return "about half"
    if share >= 0.1:
        return "a minority"
    return "almost none"


def explain(*, k: int, kept: float, n_blank: int, layer: str, effective_inside_init: float,
            effective_inside_trained: float, average_inside_trained: float, adam: FirstLayerChange,
            sgd: FirstLayerChange, columns: dict[str, AttackRates] | None = None,
            trained: str = "", projected: str = "", street_smart: tuple[str, ...] = ()) -> list[str]:
    """Sentences that follow the seed's argument with the measured numbers, so they cannot contradict them.

    Shares are in [0, 1] and pooled over the neurons of ``layer``. ``adam`` and ``sgd`` are the
    ``FirstLayerChange`` of the two plain runs. ``columns`` is the counterfactual table by column name;
    ``trained``, ``projected`` and ``street_smart`` name its columns.
    """
    out = [
        f"The top {k} of 784 directions hold {_pct(kept)} of the training images' energy, and {n_blank} pixels "
        "are blank in every training image: this is the data subspace.",
        f"At initialisation the {layer} effective weights put {_pct(effective_inside_init)} of their energy inside "
        f"it, close to the {_pct(k / 784)} a random direction would (k / 784). After training, "
        f"{_amount(1 - effective_inside_trained)} of it ({_pct(1 - effective_inside_trained)}) is still outside: "
        "the noise-like look of the effective weights comes from there.",
        f"The dataset averages put {_pct(average_inside_trained)} of their energy inside. An average of images can "
        "only point where the images point, which is why it looks like a digit.",
    ]
    sgd_sentence = (f"With plain SGD, {_pct(sgd.fraction_inside)} of the change ΔW1 lies inside the subspace "
                    f"(the images themselves: {_pct(kept)}), and the outside part of W1 went from "
                    f"{sgd.norm_outside_init:.1f} to {sgd.norm_outside_trained:.1f} in norm.")
    if adam.fraction_inside < sgd.fraction_inside - 0.05:
        sgd_sentence += (f" With Adam only {_pct(adam.fraction_inside)} of ΔW1 is inside, and the outside part went "
                         f"from {adam.norm_outside_init:.1f} to {adam.norm_outside_trained:.1f}: Adam divides each "
                         "weight's step by that weight's own gradient size, so directions the images barely touch "
                         "get full-size steps. The seed's \"training refines only inside the subspace\" is nearly "
                         "exact for SGD and only partly true for Adam.")
    else:
        sgd_sentence += f" With Adam, {_pct(adam.fraction_inside)} of ΔW1 is inside: much the same."
    out.append(sgd_sentence)
    blank_words = ("exactly 0 under both optimisers: no image ever sends a gradient there"
                   if adam.max_abs_on_blank == 0 and sgd.max_abs_on_blank == 0
                   else f"at most {max(adam.max_abs_on_blank, sgd.max_abs_on_blank):.3g}")
    out.append(f"On the blank pixels ΔW1 is {blank_words}; a weight there keeps its random initial value for good.")
    if columns and trained in columns and projected in columns:
        t, p = columns[trained], columns[projected]
        out.append(_counterfactual_sentence(t, p, projected))
        for name in street_smart:
            if name in columns:
                out.append(_street_smart_sentence(t, columns[name], _PHRASES.get(name, name)))
    return out


_PHRASES = {"noise": "noise-trained", "decay": "weight-decayed"}


def _pgd_budgets(rates: AttackRates) -> list[float]:
    return sorted(b for a, b in rates.success if a == "pgd")


def _counterfactual_sentence(t: AttackRates, p: AttackRates, name: str) -> str:
    change = 100 * (p.clean_accuracy - t.clean_accuracy)
    words = [f"The {name} network (W1 with its off-data part removed) keeps {_pct(p.clean_accuracy)} clean accuracy "
             f"({change:+.2f} points)."]
    budgets = _pgd_budgets(t)
    if budgets:
        small, large = budgets[0], budgets[-1]
        ts, ps = t.success[("pgd", small)], p.success[("pgd", small)]
        tl, pl = t.success[("pgd", large)], p.success[("pgd", large)]
        if ps < ts - 0.1:
            words.append(f"At L∞ {small:g}, PGD turns {_pct(ps)} of the images into a {COUNTERFACTUAL_TARGET} against "
                         f"it, against {_pct(ts)} for the trained network: much of the small-budget weakness lived in "
                         "the directions training never visited.")
        else:
            words.append(f"At L∞ {small:g}, PGD still succeeds on {_pct(ps)} of the images (trained: {_pct(ts)}): "
                         "removing the off-data part did not help much at this budget.")
        if pl >= 0.5:
            words.append(f"At L∞ {large:g}, PGD succeeds on {_pct(pl)} (trained: {_pct(tl)}). So the argument is not "
                         "the whole story: the projected network sees only the in-subspace part of a perturbation, "
                         "and a budget this large is enough to move an image inside the data subspace across the "
                         "network's boundary. The untouched directions make adversarial examples cheap; they are not "
                         "the only way to make one.")
        else:
            words.append(f"At L∞ {large:g}, PGD succeeds on {_pct(pl)} (trained: {_pct(tl)}).")
    return " ".join(words)


def _street_smart_sentence(t: AttackRates, s: AttackRates, name: str) -> str:
    parts = [f"The {name} network: clean accuracy {_pct(s.clean_accuracy)}"]
    for attack, budget in (("overlay", max(b for a, b in t.success if a == "overlay")),
                           ("pgd", min(_pgd_budgets(t), default=None))):
        if budget is None:
            continue
        before, after = t.success[(attack, budget)], s.success[(attack, budget)]
        verb = "down from" if after < before else "against"
        label = "the overlay" if attack == "overlay" else ATTACK_LABELS[attack]
        parts.append(f"{label} at L∞ {budget:g} succeeds on {_pct(after)}, {verb} {_pct(before)}")
    return "; ".join(parts) + "."


def explain_page(sub: DataSubspace, k: int, maps: NeuronMaps | NeuronSpectra, studies: dict[str, FirstLayerStudy],
                 columns: dict[str, AttackRates] | None, layer: str = "output") -> list[str]:
    """``explain`` with every number taken from the page's measurements.

    ``studies`` needs ``"adam"`` and ``"sgd"``; ``columns`` is keyed by ``COLUMN_KINDS``.
    """
    m = measure_neurons(sub, k, maps, layer)
    return explain(k=k, kept=float(sub.explained[k - 1]), n_blank=int(sub.blank.sum()), layer=layer,
                   effective_inside_init=pooled_fraction(m.effective_init),
                   effective_inside_trained=pooled_fraction(m.effective_trained),
                   average_inside_trained=pooled_fraction(m.average_trained),
                   adam=studies["adam"].change, sgd=studies["sgd"].change, columns=columns,
                   trained="trained", projected="projected", street_smart=("noise", "decay"))
