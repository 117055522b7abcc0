"""A 28 × 28 input as text: in a link (short, URL-safe) and in an example file (28 lines a person can read),
and the pad's raster as it arrives from the browser.

Both texts quantise each pixel to 16 levels (``round(15 · v)``, read back as ``level / 15``: at most 1/30
from the original, finer than a person can draw).

- **Link** (``encode_link`` / ``decode_link``): the 784 levels packed two to a byte (392 bytes), compressed
  with zlib and written in base64url without padding. Any image fits in 545 characters (a blank one
  in 16); drawings take about 150-250. zlib's checksum turns a damaged link into a clear error.
- **Text** (``to_text`` / ``from_text``): 28 lines of 28 characters, ``.`` for 0 and ``1``-``9``, ``a``-``f``
  for levels 1-15, so that the digit shows in the file.
- **Raster** (``decode_raster``): the pad's ``size × size`` bytes (0-255) in standard base64.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

import numpy as np

from advx.drawing.preprocess import SIDE, DrawingError

LEVELS = 16
N_BYTES = SIDE * SIDE // 2
MAX_LINK_CHARS = 600  # every encoded image is shorter (545 at most); longer is not one of ours
_LINK_ALPHABET = re.compile(r"^[A-Za-z0-9_-]*$")
_TEXT_DIGITS = ".123456789abcdef"
MAX_RASTER = 1024


class LinkError(DrawingError):
    """A drawing in a link that cannot be read: too long, wrong characters, damaged or the wrong size."""


def quantise(image) -> np.ndarray:
    """``(28, 28)`` (or ``(784,)``) in [0, 1] -> ``(28, 28)`` uint8 levels 0..15."""
    arr = np.asarray(image, np.float32)
    if arr.size != SIDE * SIDE:
        raise DrawingError(f"an input image has {SIDE * SIDE} pixels, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DrawingError("an input image contains NaN or infinite values")
    return np.round(np.clip(arr.reshape(SIDE, SIDE), 0.0, 1.0) * (LEVELS - 1)).astype(np.uint8)


def from_levels(levels: np.ndarray) -> np.ndarray:
    """``(28, 28)`` levels 0..15 -> float32 pixels in [0, 1]."""
    return (np.asarray(levels, np.float32) / (LEVELS - 1)).reshape(SIDE, SIDE)


def encode_link(image) -> str:
    """The URL-safe text of ``image`` (``(28, 28)`` or ``(784,)`` in [0, 1]); see the module's text."""
    flat = quantise(image).reshape(-1)
    packed = (flat[0::2] << 4 | flat[1::2]).astype(np.uint8).tobytes()
    return base64.urlsafe_b64encode(zlib.compress(packed, 9)).decode("ascii").rstrip("=")


def decode_link(text: str) -> np.ndarray:
    """The ``(28, 28)`` float32 image in [0, 1] of a link's text; ``LinkError`` saying what is wrong."""
    if not isinstance(text, str):
        raise LinkError(f"a drawing in a link is text, got {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_LINK_CHARS:
        raise LinkError(f"the drawing in the link has {len(text)} characters; a drawing takes at most "
                        f"{MAX_LINK_CHARS}")
    if not text:
        raise LinkError("the drawing in the link is empty")
    if not _LINK_ALPHABET.match(text):
        bad = sorted({c for c in text if not _LINK_ALPHABET.match(c)})
        raise LinkError(f"the drawing in the link contains characters a drawing never has: {''.join(bad)[:20]!r}")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, N_BYTES + 1)  # never inflate more than one byte past a drawing
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise LinkError(f"the drawing in the link is damaged ({exc})") from exc
    if len(data) != N_BYTES or not inflater.eof:
        raise LinkError(f"the drawing in the link holds {'more than ' if len(data) > N_BYTES else ''}{len(data)} "
                        f"bytes of pixels, not {N_BYTES}")
    raw = np.frombuffer(data, np.uint8)
    levels = np.stack([raw >> 4, raw & 0x0F], axis=1).reshape(SIDE, SIDE)
    return from_levels(levels)


def to_text(image) -> str:
    """``image`` as 28 lines of 28 characters (``.`` for 0, ``1``-``f`` for levels 1-15), ending in a newline."""
    levels = quantise(image)
    return "".join("".join(_TEXT_DIGITS[v] for v in row) + "\n" for row in levels)


def from_text(text: str) -> np.ndarray:
    """The ``(28, 28)`` float32 image of ``to_text``'s format (``0`` is read as ``.``; blank lines and
    trailing spaces are ignored). ``DrawingError`` saying which line is wrong."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if len(lines) != SIDE:
        raise DrawingError(f"a drawing in text has {SIDE} lines, got {len(lines)}")
    levels = np.zeros((SIDE, SIDE), np.uint8)
    for i, line in enumerate(lines):
        line = line.lower().replace("0", ".")
        if len(line) != SIDE or any(c not in _TEXT_DIGITS for c in line):
            raise DrawingError(f"line {i + 1} must be {SIDE} characters from '{_TEXT_DIGITS}', got {line!r}")
        levels[i] = [_TEXT_DIGITS.index(c) for c in line]
    return from_levels(levels)


def decode_raster(text: str, size: int) -> np.ndarray:
    """The pad's raster: ``size × size`` bytes in standard base64 -> ``(size, size)`` float32 in [0, 1].

    ``DrawingError`` for a size outside 1..1024 or a text that is not that many bytes in base64.
    """
    if not isinstance(size, int) or not 1 <= size <= MAX_RASTER:
        raise DrawingError(f"a raster is 1 to {MAX_RASTER} pixels on a side, got {size!r}")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise DrawingError(f"the raster is not base64 ({exc})") from exc
    if len(data) != size * size:
        raise DrawingError(f"a {size} × {size} raster has {size * size} bytes, got {len(data)}")
    return (np.frombuffer(data, np.uint8).astype(np.float32) / 255.0).reshape(size, size)
