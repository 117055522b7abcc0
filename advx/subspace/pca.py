"""The data subspace: PCA of the training images, their blank pixels, and the PCA kept on disk.

``fit_subspace`` runs PCA of the images by an eigendecomposition of their second-moment matrix,
*uncentred* by default (the span of the raw images; see ``advx.subspace``). The basis is ordered so that
any ``k`` up to the number of non-blank pixels gives a subspace that is exactly zero on the blank pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advx import storage
from advx.model import N_PIXELS, to_pixels

VARIANCE_LEVELS = (0.90, 0.95, 0.99)


class SubspaceError(ValueError):
    """Images, vectors or a dimension do not fit the data subspace."""


def _flat_images(images) -> np.ndarray:
    """``(n, 784)`` view of a non-empty stack of images; ``SubspaceError`` otherwise."""
    arr = np.asarray(images)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise SubspaceError(f"need a non-empty stack of images, got shape {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1)
    if flat.shape[1] != N_PIXELS:
        raise SubspaceError(f"images must have {N_PIXELS} pixels each, got {flat.shape[1]} (shape {arr.shape})")
    return flat


def as_pixels(images) -> np.ndarray:
    """``(n, 28, 28)`` uint8 or ``(n, 784)`` float/uint8 -> ``(n, 784)`` float32 in [0, 1] (``advx.model.to_pixels``).

    Raises ``SubspaceError`` for an empty set, a wrong pixel count or non-finite values.
    """
    flat = _flat_images(images)
    pixels = to_pixels(flat)
    if not np.issubdtype(flat.dtype, np.integer) and not np.isfinite(pixels).all():
        raise SubspaceError("images contain NaN or infinite values")
    return pixels


def blank_pixels(images) -> np.ndarray:
    """``(784,)`` bool: the pixels that are exactly 0 on every image of ``images``.

    ``images``: ``(n, 28, 28)`` or ``(n, 784)``, uint8 or float.
    """
    return ~np.any(_flat_images(images) != 0, axis=0)


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

    Uncentred by default (the span of the raw images; see ``advx.subspace``). The second-moment
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
# The PCA as a verified file's content (kept by ``advx.experiments.data_subspace``)

_ARRAYS = ("basis", "energies", "blank", "mean")


def encode_subspace(sub: DataSubspace) -> tuple[dict, dict]:
    return {name: getattr(sub, name) for name in _ARRAYS}, {"n_images": sub.n_images}


def subspace_decoder(centred: bool):
    def decode(arrays: dict, extra: dict) -> DataSubspace:
        if set(arrays) != set(_ARRAYS) or "n_images" not in extra:
            raise storage.StoredFileError("the subspace file lacks some of its arrays")
        return DataSubspace(centred=centred, n_images=int(extra["n_images"]), **arrays)
    return decode
