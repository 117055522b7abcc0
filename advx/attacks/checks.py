"""Typed errors and the argument checks shared by the attacks (plain Python and NumPy, before tracing)."""

from __future__ import annotations

import numpy as np

from advx.model import N_CLASSES, N_PIXELS


class AttackError(ValueError):
    """An overlay or attack was asked for something it cannot do (bad norm, shape, class or eps)."""


def check_class(classes, what: str = "target") -> None:
    """Raise unless every class in ``classes`` (an int or an array of them) is in 0..9."""
    values = np.atleast_1d(np.asarray(classes))
    if values.size and (values.min() < 0 or values.max() >= N_CLASSES):
        raise AttackError(f"{what} classes must be in 0..{N_CLASSES - 1}, got {values.min()}..{values.max()}")


def check_images(images) -> None:
    """Raise unless ``images`` is shaped ``(n, 784)``."""
    shape = getattr(images, "shape", None)
    if shape is None or len(shape) != 2 or shape[1] != N_PIXELS:
        raise AttackError(f"images must be (n, {N_PIXELS}) float pixels in [0, 1], got shape {shape}")


def check_eps(eps, what: str = "eps") -> None:
    """Raise unless every value of ``eps`` (a number or an array) is finite and at least 0."""
    values = np.atleast_1d(np.asarray(eps, np.float64))
    if not np.isfinite(values).all() or values.min() < 0:
        raise AttackError(f"{what} must be finite and at least 0, got {values.min()}..{values.max()}")
