"""MNIST's own preprocessing, applied to a drawing: the ink's bounding box scaled to fit 20 × 20 keeping its
aspect ratio (anti-aliased), then centred in 28 × 28 by its centre of mass.

MNIST's documentation: "The original black and white (bilevel) images from NIST were size normalized to fit
in a 20x20 pixel box while preserving their aspect ratio. The resulting images contain grey levels as a
result of the anti-aliasing technique used by the normalization algorithm. the images were centered in a
28x28 image by computing the center of mass of the pixels, and translating the image so as to position this
point at the center of the 28x28 field." Measured on the test set, the centre of mass (row and column index,
pixel-weighted) sits at 14.0 ± 0.29 on both axes: a whole-pixel shift that puts it at index 14, which is
what ``preprocess`` does. The anti-aliasing here is exact area averaging (each output pixel is the mean of
the ink it covers, at one scale for both axes, so a stroke 2.6 pixels wide gets a grey third column), written
with NumPy alone.

Shapes: a drawing is ``(h, w)`` float in [0, 1], ink 1 on paper 0, any size (the pad sends 140 × 140); the
result is ``(28, 28)`` float32 in [0, 1]. Pure NumPy, nothing to compile.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

SIDE = 28
BOX = 20
CENTRE = 14.0  # index of the pixel the centre of mass lands on (MNIST's, measured)
INK_THRESHOLD = 0.0  # ink is any value above this: MNIST's bilevel scans had no faint fringe to ignore
MAX_SIDE = 4096

# What ``preprocess`` reports about a drawing, as codes; ``advx.text.drawing`` says them in sentences.
EMPTY, SOLID, DOT, OFF_CENTRE, AT_EDGE, CLIPPED = "empty", "solid", "dot", "off_centre", "at_edge", "clipped"
REDONE = "redone"  # a 28 x 28 input (from a link) that was not shaped as MNIST's, preprocessed again
SOLID_SHARE = 0.6  # ink on more than this share of the pad: filled rather than drawn
DOT_SIDE = 0.12  # ink whose bounding box is smaller than this share of the pad's side: a dot
OFF_CENTRE_SHARE = 0.25  # centre of mass further than this share of the side from the pad's centre


class DrawingError(ValueError):
    """A drawing, an encoded drawing or an example that cannot be read; the message says what is wrong."""


class Preprocessed(NamedTuple):
    """A drawing after MNIST's preprocessing.

    ``image``: ``(28, 28)`` float32 in [0, 1]. ``box``: the ink's bounding box in the drawing as
    ``(top, left, bottom, right)`` (bottom and right exclusive), ``None`` for an empty drawing. ``scaled``:
    ``(height, width)`` in whole pixels of the box after scaling (the longer side is 20, the other rounded up). ``shift``: where the scaled box's
    top-left corner went in the 28 × 28 field, ``(row, col)``. ``ink_share``: share of the drawing's
    pixels with ink. ``centre_offset``: distance of the drawing's centre of mass from its centre, as a share
    of its side. ``issues``: codes among ``EMPTY``, ``SOLID``, ``DOT``, ``OFF_CENTRE``, ``AT_EDGE``, ``CLIPPED``,
    ``REDONE``.
    """

    image: np.ndarray
    box: Optional[tuple[int, int, int, int]]
    scaled: tuple[int, int]
    shift: tuple[int, int]
    ink_share: float
    centre_offset: float
    issues: tuple[str, ...]


def check_drawing(raw) -> np.ndarray:
    """``raw`` as ``(h, w)`` float32 clipped to [0, 1]; ``DrawingError`` for another rank, an empty or
    oversized array, or values that are not finite numbers."""
    try:
        arr = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DrawingError(f"a drawing must be an array of numbers: {exc}") from exc
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise DrawingError(f"a drawing must be a non-empty 2-D array, got shape {arr.shape}")
    if max(arr.shape) > MAX_SIDE:
        raise DrawingError(f"a drawing may be at most {MAX_SIDE} pixels on a side, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DrawingError("a drawing contains NaN or infinite values")
    return np.clip(arr, 0.0, 1.0)


def area_weights(n_in: int, n_out: int, scale: Optional[float] = None, offset: float = 0.0) -> np.ndarray:
    """``(n_out, n_in)`` float64: row ``i`` is output pixel ``i`` as a weighted mean of the input pixels, each
    weighted by how much of it lies under the output pixel. Exact area averaging, for shrinking and enlarging.

    The input is scaled by ``scale`` (default ``n_out / n_in``: it fills the output) and shifted by ``offset``
    output pixels; an output pixel only partly covered by the input gets that share of its value (a grey edge).
    """
    scale = n_out / n_in if scale is None else float(scale)
    edges = (np.arange(n_out + 1) - offset) / scale  # output pixel i covers [edges[i], edges[i+1]) of the input
    left, right = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(right, j + 1) - np.maximum(left, j), 0.0, None)
    return overlap * scale


def area_resize(image: np.ndarray, height: int, width: int, scale: Optional[float] = None) -> np.ndarray:
    """``image (h, w)`` resized to ``(height, width)`` by exact area averaging (anti-aliased), float32.

    With ``scale``, both axes are scaled by it (the aspect ratio is kept) and the result is centred in the
    ``(height, width)`` field; without, each axis is stretched to fill it.
    """
    image = np.asarray(image, np.float64)
    h, w = image.shape
    if scale is None:
        rows, cols = area_weights(h, height), area_weights(w, width)
    else:
        rows = area_weights(h, height, scale, (height - h * scale) / 2)
        cols = area_weights(w, width, scale, (width - w * scale) / 2)
    return (rows @ image @ cols.T).astype(np.float32)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Pixel-weighted mean ``(row, col)`` index of ``image (h, w)`` (values >= 0 with a positive sum)."""
    image = np.asarray(image, np.float64)
    total = image.sum()
    return (float(image.sum(axis=1) @ np.arange(image.shape[0]) / total),
            float(image.sum(axis=0) @ np.arange(image.shape[1]) / total))


def ink_box(raw: np.ndarray, threshold: float = INK_THRESHOLD) -> Optional[tuple[int, int, int, int]]:
    """``(top, left, bottom, right)`` (exclusive) of the pixels above ``threshold``; ``None`` when there are none."""
    mask = np.asarray(raw) > threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _issues(raw: np.ndarray, box: tuple[int, int, int, int], ink_share: float, offset: float) -> list[str]:
    h, w = raw.shape
    top, left, bottom, right = box
    out = []
    if ink_share > SOLID_SHARE:
        out.append(SOLID)
    if max(bottom - top, right - left) < DOT_SIDE * max(h, w):
        out.append(DOT)
    if offset > OFF_CENTRE_SHARE:
        out.append(OFF_CENTRE)
    if SOLID not in out and (top == 0 or left == 0 or bottom == h or right == w):
        out.append(AT_EDGE)
    return out


def preprocess(raw, threshold: float = INK_THRESHOLD) -> Preprocessed:
    """MNIST's preprocessing of the drawing ``raw`` (``(h, w)`` in [0, 1], ink 1); see the module's text.

    The ink inside its bounding box (pixels above ``threshold``)
    is scaled by area averaging so that its longer side is 20 pixels, then shifted by whole pixels so that
    its centre of mass lands on pixel (14, 14). A drawing whose mass is so lopsided that this would push ink
    out of the field is shifted only as far as fits (``CLIPPED``). An empty drawing gives a blank image.
    Raises ``DrawingError`` for an array that is not a drawing (see ``check_drawing``).
    """
    raw = check_drawing(raw)
    box = ink_box(raw, threshold)
    if box is None:
        return Preprocessed(np.zeros((SIDE, SIDE), np.float32), None, (0, 0), (0, 0), 0.0, 0.0, (EMPTY,))
    top, left, bottom, right = box
    crop = raw[top:bottom, left:right]
    h, w = crop.shape
    scale = BOX / max(h, w)
    height, width = min(BOX, int(np.ceil(h * scale - 1e-9))), min(BOX, int(np.ceil(w * scale - 1e-9)))
    small = np.clip(area_resize(crop, height, width, scale), 0.0, 1.0)
    cy, cx = centre_of_mass(small)
    want = (int(np.floor(CENTRE - cy + 0.5)), int(np.floor(CENTRE - cx + 0.5)))  # halves round up, not to even
    row, col = int(np.clip(want[0], 0, SIDE - height)), int(np.clip(want[1], 0, SIDE - width))
    image = np.zeros((SIDE, SIDE), np.float32)
    image[row:row + height, col:col + width] = small
    ry, rx = centre_of_mass(raw)
    offset = float(np.hypot(ry - (raw.shape[0] - 1) / 2, rx - (raw.shape[1] - 1) / 2) / max(raw.shape))
    ink_share = float((raw > threshold).mean())
    issues = _issues(raw, box, ink_share, offset)
    if (row, col) != want:
        issues.append(CLIPPED)
    return Preprocessed(image, box, (height, width), (row, col), ink_share, offset, tuple(issues))


def as_input(image) -> Preprocessed:
    """A ``(28, 28)`` image from a link or an example as the network's input.

    One that is already shaped as MNIST's preprocessing leaves it (ink within a 20 × 20 box, centre of mass
    within a pixel of (14, 14)) is taken as it is, so that a link reproduces its input exactly; any other is
    preprocessed (``preprocess``) and marked ``REDONE``. Issues as ``preprocess`` reports them for the image.
    """
    image = check_drawing(image)
    if image.shape != (SIDE, SIDE):
        raise DrawingError(f"an input image is {SIDE} × {SIDE}, got shape {image.shape}")
    pre = preprocess(image)
    if pre.box is None:
        return pre
    top, left, bottom, right = pre.box
    cy, cx = centre_of_mass(image)
    if max(bottom - top, right - left) <= BOX and max(abs(cy - CENTRE), abs(cx - CENTRE)) <= 1.0:
        issues = tuple(i for i in pre.issues if i not in (CLIPPED, AT_EDGE))
        return pre._replace(image=image, scaled=(bottom - top, right - left), shift=(top, left), issues=issues)
    return pre._replace(issues=pre.issues + (REDONE,))
