"""Parts of a population's measurements: one optimizer's networks, tables per optimizer, and where the data subspace
is split.

Every measure is shown for each optimizer that "Why it happens" compares (Adam and plain SGD): the transfer and
agreement results of a mixed population are sliced to one optimizer's networks (``select_transfer``,
``select_agreement``), so a share "on the other networks" is over networks trained the same way, and the pairs across
optimizers are reported apart. Nothing here computes a measure: it slices, averages and labels stored results.

Two splits of pixel space are used (``SPLITS``): ``"energy"``, the top ``k`` directions holding ``SPLIT_LEVEL`` of the
training images' energy (what the rest of the app calls the data subspace), and ``"blank"``, the span of the images
itself, whose outside is only the directions of the pixels that are 0 on every training image.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from advx.config import TrainConfig
from advx.population.agreement import RELATIONS, Agreement, agreement_rows
from advx.population.members import POPULATION_OPTIMIZERS, Population
from advx.population.transfer import PARTS, TRANSFER_ATTACKS, PopulationError, TransferMatrices, own_and_others
from advx.subspace.pca import DataSubspace
from advx.vocabulary import OPTIMIZER_LABELS, member_label

SPLITS = ("energy", "blank")
SPLIT_LEVEL = 0.95  # the data subspace of "Why it happens" at its default: 95% of the images' energy
SPLIT_LABELS = {"energy": f"the top directions holding {SPLIT_LEVEL:.0%} of the images' energy",
                "blank": "every direction an image reaches (outside: only the blank pixels)"}
OPTIMIZER_FILTERS = ("both",) + POPULATION_OPTIMIZERS
OPTIMIZER_FILTER_LABELS = {"both": "Adam and SGD", **{o: OPTIMIZER_LABELS[o] for o in POPULATION_OPTIMIZERS}}
AGREEMENT_PARTS = {"inside": "part inside the data subspace", "outside": "part outside the data subspace",
                   "whole": "whole map"}
ACROSS = "Adam and SGD"  # the label of pairs of networks trained with different optimizers


def split_k(sub: DataSubspace, split: str, level: float = SPLIT_LEVEL) -> int:
    """The ``k`` of ``split`` (one of ``SPLITS``): ``sub.k_for(level)``, or ``sub.n_nonblank`` for ``"blank"``."""
    if split not in SPLITS:
        raise PopulationError(f"a split is one of {SPLITS}, got {split!r}")
    return sub.k_for(level) if split == "energy" else sub.n_nonblank


def members_of(configs: Sequence[TrainConfig], optimizer: str = "both") -> list[int]:
    """Indices of the members trained with ``optimizer`` (``"both"``: every member), in order."""
    if optimizer not in OPTIMIZER_FILTERS:
        raise PopulationError(f"an optimizer filter is one of {OPTIMIZER_FILTERS}, got {optimizer!r}")
    return [i for i, c in enumerate(configs) if optimizer == "both" or c.optimizer == optimizer]


def by_optimizer(configs: Sequence[TrainConfig]) -> dict[str, list[int]]:
    """``{optimizer: member indices}`` for each optimizer of ``POPULATION_OPTIMIZERS`` present, in that order."""
    return {o: idx for o in POPULATION_OPTIMIZERS if (idx := members_of(configs, o))}


def select_transfer(result: TransferMatrices, indices: Sequence[int]) -> TransferMatrices:
    """``result`` restricted to the networks ``indices`` (as sources and as targets)."""
    idx = np.asarray(indices, int)
    grid = np.ix_(idx, idx)
    return result._replace(success=result.success[..., grid[0], grid[1]], fooled=result.fooled[..., grid[0], grid[1]],
                           part_l2=result.part_l2[..., idx], clean_accuracy=result.clean_accuracy[idx],
                           n_attacked=result.n_attacked[idx])


def select_agreement(result: Agreement, indices: Sequence[int]) -> Agreement:
    """``result`` restricted to the networks ``indices``."""
    idx = np.asarray(indices, int)
    grid = np.ix_(idx, idx)
    return result._replace(whole=result.whole[grid], inside=result.inside[grid], outside=result.outside[grid],
                           share_outside=result.share_outside[idx], init_inside=result.init_inside[idx],
                           init_outside=result.init_outside[idx])


def agreement_stack(result: Agreement, neuron: int) -> np.ndarray:
    """``(3, m, m)``: output neuron ``neuron``'s correlations between every two networks, parts as
    ``AGREEMENT_PARTS``."""
    return np.stack([getattr(result, part)[..., int(neuron)] for part in AGREEMENT_PARTS])


def member_rows(populations: Mapping[str, Population]) -> list[dict]:
    """One row per distinct network of ``populations`` (``{what it is used for: Population}``), in first-seen order:
    ``network``, ``optimizer``, ``seed``, ``init scale``, ``epochs``, ``test accuracy`` and ``used for``."""
    rows: dict[str, dict] = {}
    for use, population in populations.items():
        for run in population.runs:
            c = run.config
            row = rows.setdefault(run.run_id, {
                "network": member_label(c), "optimizer": OPTIMIZER_LABELS.get(c.optimizer, c.optimizer),
                "seed": c.seed, "init scale": c.init_scale, "epochs": run.n_epochs,
                "test accuracy": float(run.test_accuracy), "used for": []})
            if use not in row["used for"]:
                row["used for"].append(use)
    return [dict(row, **{"used for": ", ".join(row["used for"])}) for row in rows.values()]


def own_and_others_mean(result: TransferMatrices, attack: str, part: str = "whole",
                        measure: str = "success") -> tuple[float, float]:
    """``(own, others)``: an attack's part on its own network and on the others, each a mean over the sources."""
    own, others = own_and_others(getattr(result, measure)[TRANSFER_ATTACKS.index(attack), PARTS.index(part)])
    return float(own.mean()), float(np.nanmean(others)) if len(own) > 1 else float("nan")


def agreement_table(result: Agreement, configs: Sequence[TrainConfig], neuron: int = 0) -> list[dict]:
    """``advx.population.agreement_rows`` per optimizer (networks of different seeds trained alike), then the pairs
    across optimizers (``optimizer``: ``ACROSS``); ``optimizer`` first."""
    out = []
    for optimizer, idx in by_optimizer(configs).items():
        chosen = [configs[i] for i in idx]
        for row in agreement_rows(select_agreement(result, idx), chosen, neuron):
            out.append({"optimizer": OPTIMIZER_LABELS[optimizer], **row})
    for row in agreement_rows(result, configs, neuron):
        if row["relation"] != RELATIONS[0]:
            out.append({"optimizer": ACROSS, **row})
    return out


def init_rows(result: Agreement, configs: Sequence[TrainConfig], neuron: Optional[int] = None) -> list[dict]:
    """One row per network: how much of its output effective weights lies outside, and how alike each part is to
    the same part of its own initialisation (output neuron ``neuron``, or the mean over every output neuron)."""
    pick = (lambda a: a[:, neuron]) if neuron is not None else (lambda a: a.mean(axis=1))
    share, inside, outside = (pick(a) for a in (result.share_outside, result.init_inside, result.init_outside))
    return [{"network": member_label(c), "energy outside": float(share[i]),
             "alike its initialisation, inside": float(inside[i]),
             "alike its initialisation, outside": float(outside[i])} for i, c in enumerate(configs)]


def scale_table(curves: Sequence[dict], eps_index: int = -1) -> list[dict]:
    """``advx.population.scale_curves`` rows as a flat table, the attacks' success at ``eps[eps_index]``."""
    return [{"optimizer": OPTIMIZER_LABELS.get(c["optimizer"], c["optimizer"]), "init scale": c["init_scale"],
             "seeds": c["seeds"], "test accuracy": c["test_acc"], "weights outside": c["weights_outside"],
             "energy outside": c["weights_share_outside"], "gradient outside": c["gradient_outside"],
             "L2 ε": c["eps"][eps_index], "attack kept outside": c["success_outside"][eps_index],
             "attack anywhere": c["success_anywhere"][eps_index]} for c in curves]
