"""Success rates read off an ``OverlaySweep``: per (true class, target), per eps, and their summary for a view.

``labels`` and ``clean_predictions`` are ``(n,)``: only the images the network classifies correctly count,
and a target equal to an image's label is never an attack. ``eps_index`` picks one eps of the sweep's grid.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from advx.attacks.checks import AttackError
from advx.attacks.sweeps import OverlaySweep
from advx.model import N_CLASSES


def success_matrix(sweep: OverlaySweep, labels, clean_predictions, eps_index: int) -> np.ndarray:
    """Share of the correctly classified images of class ``c`` that the overlay turns into ``t``.

    Returns ``(10, 10)`` float64, rows the true class, columns the target (``sweep.targets`` must be
    0..9 in order); the diagonal is NaN (no attack is needed there).
    """
    labels = np.asarray(labels)
    if not np.array_equal(sweep.targets, np.arange(N_CLASSES)):
        raise AttackError(f"a success matrix needs targets 0..9 in order, got {sweep.targets.tolist()}")
    correct = labels == np.asarray(clean_predictions)
    preds = sweep.predictions[eps_index]  # (10, n)
    out = np.full((N_CLASSES, N_CLASSES), np.nan)
    for c in range(N_CLASSES):
        members = correct & (labels == c)
        if members.any():
            out[c] = (preds[:, members] == np.arange(N_CLASSES)[:, None]).mean(axis=1)
    np.fill_diagonal(out, np.nan)
    return out


def _eligible(sweep: OverlaySweep, labels, clean_predictions) -> np.ndarray:
    """``(t, n)``: the (target, image) pairs that count: a correct image and a target other than its label."""
    labels = np.asarray(labels)
    return (labels == np.asarray(clean_predictions))[None, :] & (labels[None, :] != sweep.targets[:, None])


def success_curve(sweep: OverlaySweep, labels, clean_predictions) -> np.ndarray:
    """Targeted success rate at each eps, over every (correct image, other target) pair: ``(e,)``."""
    eligible = _eligible(sweep, labels, clean_predictions)
    hit = sweep.predictions == sweep.targets[None, :, None]
    return (hit & eligible[None]).sum(axis=(1, 2)) / max(int(eligible.sum()), 1)


def success_confidence(sweep: OverlaySweep, labels, clean_predictions, eps_index: int) -> np.ndarray:
    """Target probabilities of the successful overlays at one eps: a 1-d array."""
    eligible = _eligible(sweep, labels, clean_predictions)
    hit = (sweep.predictions[eps_index] == sweep.targets[:, None]) & eligible
    return sweep.target_probability[eps_index][hit]


def untargeted_rate(sweep: OverlaySweep, labels, clean_predictions, eps_index: int) -> float:
    """Share of (correctly classified image, pattern) pairs whose prediction leaves the true label."""
    labels = np.asarray(labels)
    correct = labels == np.asarray(clean_predictions)
    preds = sweep.predictions[eps_index][:, correct]
    return float((preds != labels[correct][None, :]).mean()) if preds.size else 0.0


class SweepSummary(NamedTuple):
    """Everything a view needs from a sweep and its random control, per eps: small arrays.

    ``matrices (e, 10, 10)`` (``success_matrix`` at each eps); ``success``, ``control_success`` and
    ``control_untargeted`` ``(e,)`` (``success_curve`` of the sweep and of the control,
    ``untargeted_rate`` of the control); ``confidence_counts (e, bins)``: histogram of the target
    probability of the successful overlays over ``confidence_edges (bins + 1,)``;
    ``median_confidence (e,)`` (NaN where nothing succeeds).
    """

    eps_grid: np.ndarray
    matrices: np.ndarray
    success: np.ndarray
    control_success: np.ndarray
    control_untargeted: np.ndarray
    confidence_counts: np.ndarray
    confidence_edges: np.ndarray
    median_confidence: np.ndarray


def summarise(sweep: OverlaySweep, control: OverlaySweep, labels, clean_predictions, bins: int = 20) -> SweepSummary:
    """Reduce a sweep over targets 0..9 and its random control (same eps grid) to a ``SweepSummary``."""
    if not np.array_equal(sweep.eps_grid, control.eps_grid):
        raise AttackError("the sweep and its control must use the same eps grid")
    n_eps = len(sweep.eps_grid)
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.zeros((n_eps, bins), np.int64)
    medians = np.full(n_eps, np.nan)
    for i in range(n_eps):
        conf = success_confidence(sweep, labels, clean_predictions, i)
        counts[i] = np.histogram(conf, edges)[0]
        if conf.size:
            medians[i] = float(np.median(conf))
    return SweepSummary(
        np.asarray(sweep.eps_grid),
        np.stack([success_matrix(sweep, labels, clean_predictions, i) for i in range(n_eps)]),
        success_curve(sweep, labels, clean_predictions), success_curve(control, labels, clean_predictions),
        np.array([untargeted_rate(control, labels, clean_predictions, i) for i in range(n_eps)]), counts, edges,
        medians)
