"""Agreement between networks: how alike their output neurons' effective weights are, inside the data subspace
and outside it.

The post's argument says a neuron's opinion about directions outside the data subspace is what its random
initialisation gave it. Then two networks trained from different seeds should agree inside the subspace
(both learned the digits) and not outside it (two independent random draws), while two networks trained from
the *same* seed with different optimizers should agree outside too (one random draw, kept by both).

The agreement of two pixel maps is their uncentred correlation (the cosine of the angle between them), of the
parts inside the top-``k`` subspace, of the parts outside it, and of the whole maps.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np

from advx.config import TrainConfig
from advx.model import effective_weights
from advx.subspace.pca import DataSubspace

RELATIONS = ("other seed, same optimizer", "same seed, other optimizer", "other seed, other optimizer")


class Agreement(NamedTuple):
    """Correlations of the output neurons' effective weights between every two of ``m`` networks.

    ``whole``, ``inside``, ``outside``: ``(m, m, 10)`` float64, the correlation of neuron ``c``'s effective
    weights (its whole map, its part inside the top-``k`` subspace, its part outside) of network ``a`` and of
    network ``b``; 1 on the diagonal. ``share_outside (m, 10)``: the share of each map's energy outside.
    ``init_inside``, ``init_outside (m, 10)``: the correlation of each trained map's part with the same part
    of the network's own map at initialisation (NaN when the initial params were not given).
    """

    k: int
    whole: np.ndarray
    inside: np.ndarray
    outside: np.ndarray
    share_outside: np.ndarray
    init_inside: np.ndarray
    init_outside: np.ndarray


def _coordinates(sub: DataSubspace, params: dict, layer: str) -> np.ndarray:
    """``(784, width)`` float64: the layer's effective weights along every basis direction of ``sub``."""
    return sub.basis.T.astype(np.float64) @ np.asarray(effective_weights(params)[layer], np.float64)


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of the columns of ``a`` and ``b`` (both ``(d, c)``), over axis 0: ``(c,)``; NaN for a zero column."""
    norms = np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (a * b).sum(axis=0) / np.where(norms > 0, norms, 1.0), np.nan)


def agreement(params: Sequence[dict], sub: DataSubspace, k: int, *, init: Optional[Sequence[dict]] = None,
              layer: str = "output") -> Agreement:
    """The ``Agreement`` of networks ``params`` (``init``: their params at initialisation, optional)."""
    k = sub.check_k(k)
    coords = [_coordinates(sub, p, layer) for p in params]
    m, width = len(coords), coords[0].shape[1]
    out = {name: np.ones((m, m, width)) for name in ("whole", "inside", "outside")}
    for a in range(m):
        for b in range(a + 1, m):
            for name, rows in (("whole", slice(None)), ("inside", slice(0, k)), ("outside", slice(k, None))):
                out[name][a, b] = out[name][b, a] = _correlation(coords[a][rows], coords[b][rows])
    energy = np.stack([np.square(c) for c in coords])  # (m, 784, width)
    share_outside = energy[:, k:].sum(axis=1) / energy.sum(axis=1)
    init_inside = init_outside = np.full((m, width), np.nan)
    if init is not None:
        start = [_coordinates(sub, p, layer) for p in init]
        init_inside = np.stack([_correlation(c[:k], s[:k]) for c, s in zip(coords, start)])
        init_outside = np.stack([_correlation(c[k:], s[k:]) for c, s in zip(coords, start)])
    return Agreement(k, out["whole"], out["inside"], out["outside"], share_outside, init_inside, init_outside)


def relation(a: TrainConfig, b: TrainConfig) -> Optional[str]:
    """How two members differ, as one of ``RELATIONS`` (``None`` when they differ otherwise, e.g. in scale)."""
    if a.init_scale != b.init_scale:
        return None
    same_seed, same_optimizer = a.seed == b.seed, a.optimizer == b.optimizer
    if same_seed and same_optimizer:
        return None
    if same_optimizer:
        return RELATIONS[0]
    return RELATIONS[1] if same_seed else RELATIONS[2]


def agreement_rows(result: Agreement, configs: Sequence[TrainConfig], neuron: int = 0) -> list[dict]:
    """One row per relation of ``RELATIONS`` present: mean correlations over its pairs of networks.

    Each row: ``relation``, ``pairs``, ``neuron``; ``inside``, ``outside``, ``whole`` (output neuron
    ``neuron``, mean over the pairs) and ``inside_all``, ``outside_all`` (every output neuron).
    """
    rows = []
    for name in RELATIONS:
        pairs = [(a, b) for a in range(len(configs)) for b in range(a + 1, len(configs))
                 if relation(configs[a], configs[b]) == name]
        if not pairs:
            continue
        a, b = np.array(pairs).T
        rows.append({"relation": name, "pairs": len(pairs), "neuron": int(neuron),
                     "inside": float(result.inside[a, b, neuron].mean()),
                     "outside": float(result.outside[a, b, neuron].mean()),
                     "whole": float(result.whole[a, b, neuron].mean()),
                     "inside_all": float(result.inside[a, b].mean()),
                     "outside_all": float(result.outside[a, b].mean())})
    return rows
