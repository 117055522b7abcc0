"""The post's own measurements, taken again on any network: its overlay, the data subspace, sparsity.

- **overlay**: the post's trick (add output neuron ``c``'s effective weights to a correctly classified image)
  swept over the overlay page's eps grid, with its random control: ``advx.attacks.source_sweep``,
  ``control_sweep`` and ``summarise``;
- **subspace**: the share of the effective weights' energy, and of ΔW1 (what training did to the first
  layer), inside the top-``k`` data subspace: ``advx.subspace.energy`` and ``first_layer_change``;
- **sparsity**: how many neurons of each hidden layer an image activates highly or mildly:
  ``advx.neurons.neuron_stats`` and ``sparsity``.

Shapes: images ``(n, 784)`` float32 in [0, 1] or uint8; labels ``(n,)`` int.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import numpy as np

from advx import attacks
from advx.model import effective_weights, param_layer_names, to_pixels
from advx.neurons.activity import HIGH, MILD, neuron_stats, sparsity
from advx.subspace.first_layer import first_layer_change
from advx.subspace.pca import DataSubspace
from advx.subspace.projections import energy, pooled_fraction

SUBSPACE_LEVEL = 0.95  # k keeps this share of the training images' energy (``DataSubspace.k_for``)


def overlay_summary(params: dict, images, labels, key: jax.Array, *, norm: str = "linf",
                    eps_grid=None) -> attacks.SweepSummary:
    """The post's overlay with output-``c`` effective weights on every image and target 0..9, and its random
    control, over ``eps_grid`` (default: the overlay page's ``advx.attacks.EPS_GRID[norm]``).

    Only correctly classified images count (``advx.attacks.summarise``). ``summary.success (e,)`` is the
    targeted success rate, ``summary.control_success (e,)`` the control's.
    """
    pixels = to_pixels(np.asarray(images))
    eps_grid = attacks.EPS_GRID[attacks.threat(norm).name] if eps_grid is None else eps_grid
    clean = np.asarray(attacks.predictions(params, pixels))
    sweep = attacks.source_sweep(params, pixels, "effective_weights", norm, eps_grid)
    control = attacks.control_sweep(params, pixels, "gaussian", norm, eps_grid, key=key)
    return attacks.summarise(sweep, control, np.asarray(labels), clean)


class SubspaceShares(NamedTuple):
    """Energy inside the top-``k`` data subspace.

    ``effective (layers,)``: each layer's effective weights, pooled over its neurons (``layers`` in forward
    order, ``Layer_1`` ... ``output``); ``delta_w1``: ΔW1 = W1 trained − W1 at initialisation, pooled (NaN
    when no initial params are given); ``random``: ``k / 784``, what a random direction puts inside.
    """

    k: int
    effective: np.ndarray
    delta_w1: float
    random: float


def subspace_shares(sub: DataSubspace, params: dict, params_init: Optional[dict] = None, *,
                    k: Optional[int] = None) -> SubspaceShares:
    """``SubspaceShares`` of ``params`` (and ΔW1 from ``params_init``); ``k`` defaults to
    ``sub.k_for(SUBSPACE_LEVEL)``."""
    k = sub.k_for(SUBSPACE_LEVEL) if k is None else sub.check_k(k)
    maps = effective_weights(params)
    shares = np.array([pooled_fraction(energy(sub, np.asarray(maps[name]), k)) for name in param_layer_names(params)])
    delta = float("nan") if params_init is None else first_layer_change(sub, k, params_init, params).fraction_inside
    return SubspaceShares(int(k), shares, delta, k / sub.basis.shape[0])


class SparsityCounts(NamedTuple):
    """Mean numbers of highly and mildly activated neurons per image, per hidden layer: ``(layers,)`` each
    (``advx.neurons`` defaults: high >= 0.5 and mild >= 0.1 of the neuron's largest training activation)."""

    high: np.ndarray
    mild: np.ndarray


def sparsity_counts(params: dict, images, reference_images) -> SparsityCounts:
    """``SparsityCounts`` of ``images``; each neuron's largest activation is taken over ``reference_images``
    (the training set)."""
    layers = sparsity(params, images, neuron_stats(params, reference_images))
    return SparsityCounts(np.array([s.mean(HIGH) for s in layers.values()]),
                          np.array([s.mean(MILD) for s in layers.values()]))
