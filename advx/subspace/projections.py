"""Projections onto the top-``k`` data subspace and the energies inside and outside it.

Vectors are pixel-space columns: ``(784,)`` or ``(784, n)``, the layout of ``advx.model.effective_weights``.
Plain NumPy: the products are at most (784, 784) by (784, a few hundred), a few milliseconds with
BLAS, and a NumPy call has nothing to compile, so neither a first visit nor a new k waits for XLA.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from advx.model import N_PIXELS
from advx.subspace.pca import DataSubspace, SubspaceError


def _coordinates(sub: DataSubspace, arr: np.ndarray) -> np.ndarray:
    """``(784, n)`` float32: the coordinates of the columns of ``arr`` along every basis direction."""
    return sub.basis.T @ arr


def _energies(coords: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sq = np.square(coords, dtype=np.float64)
    return sq[:k].sum(0).astype(np.float32), sq[k:].sum(0).astype(np.float32)


def _columns(v) -> tuple[np.ndarray, bool]:
    """``(v as (784, n) float32, whether v was a single (784,) vector)``; ``SubspaceError`` for other shapes."""
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


def _share(part: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``part / (part + other)`` elementwise; NaN where both are 0."""
    total = part + other
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, part / np.where(total > 0, total, 1), np.nan)


class Energy(NamedTuple):
    """Squared norms of the parts of each column inside and outside a subspace: ``(n,)`` float32 each."""

    inside: np.ndarray
    outside: np.ndarray

    @property
    def fraction_inside(self) -> np.ndarray:
        """``(n,)`` share of each column's energy inside; NaN for a zero column."""
        return _share(self.inside, self.outside)

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


def pooled_fraction(e: Energy) -> float:
    """Share of the *total* energy of all columns that lies inside (big columns weigh more)."""
    total = float(e.inside.sum() + e.outside.sum())
    return float(e.inside.sum()) / total if total > 0 else float("nan")


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


def energy_curve(sub: DataSubspace, matrix) -> np.ndarray:
    """``(784,)`` float64: the share of ``matrix``'s total energy inside the top-``k`` subspace, at ``k-1``.

    ``matrix``: ``(784,)`` or ``(784, h)``; the columns' energies are pooled. For the images themselves
    this curve is ``sub.explained``; a random matrix gives about ``k / 784``.
    """
    arr, _ = _columns(matrix)
    per_direction = np.square(_coordinates(sub, arr), dtype=np.float64).sum(1)
    total = per_direction.sum()
    return np.cumsum(per_direction) / (total if total > 0 else 1.0)


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
        return _share(self.inside, self.outside)


def pixel_maps(sub: DataSubspace, matrix, k: int) -> PixelMaps:
    """Where in the image the inside and outside parts of ``matrix`` (``(784, h)``) put their energy."""
    inside, outside = split(sub, matrix, k)
    arr, _ = _columns(matrix)
    return PixelMaps((inside**2).sum(1), (outside**2).sum(1), (arr**2).sum(1))
