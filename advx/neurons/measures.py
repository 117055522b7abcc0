"""Noise versus digit, as numbers: how rough, how high in spatial frequency, and how alike two pixel maps are.

Maps are ``(784, n)``: one 28 x 28 map per column, the layout of ``advx.neurons.maps``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from advx.neurons.maps import DatasetAverage

SIDE = 28

# Radial spatial frequency (cycles per pixel; Nyquist is 0.5) above which energy counts as "high".
# For i.i.d. noise on a 28 x 28 grid the share above 0.25 is about 1 - pi * 0.25**2 = 0.80.
HIGH_FREQUENCY_CUTOFF = 0.25
NOISE_HIGH_FREQUENCY_SHARE = 0.80
# roughness = ||spatial gradient|| / ||map - mean||; i.i.d. noise gives sqrt(2 * 1512 / 783) = 1.97.
NOISE_ROUGHNESS = 1.97


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
