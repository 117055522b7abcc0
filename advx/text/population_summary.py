"""The population measurements in a few plain findings, each with its verdict on the post's argument, and the
published work beside our numbers.

The post's argument predicts (1) that a perturbation crafted on one network fools another far less, and its part
outside the data subspace less still, because that part follows one network's random initialisation; (2) that
networks from different seeds disagree outside the data subspace while a network's outside part stays alike its own
initialisation; (3) that a smaller initialisation leaves less off the data. Each finding states its numbers and takes
its verdict from them (``holds``, ``partly`` or ``fails``), so where a prediction fails the text says so.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from advx.config import TrainConfig
from advx.model import N_PIXELS
from advx.population.agreement import RELATIONS, Agreement
from advx.population.selection import (ACROSS, SPLIT_LEVEL, agreement_table, by_optimizer, own_and_others_mean,
                                       select_agreement, select_transfer)
from advx.population.transfer import TransferMatrices
from advx.subspace.counterfactual import PGD_STEPS
from advx.text.population import PUBLISHED
from advx.vocabulary import NORM_LABELS, OPTIMIZER_LABELS

VERDICT_LABELS = {"holds": "As the argument predicts", "partly": "Partly", "fails": "Against the argument"}
RISE = 1.2  # a measure rises with the scale when its value at the largest scale is 20% above the smallest's


def _by_label(values: dict[str, float], fmt: str) -> str:
    return ", ".join(f"{OPTIMIZER_LABELS[o]} {format(v, fmt)}" for o, v in values.items())


def _ratios(result: TransferMatrices, configs: Sequence[TrainConfig], attack: str, part: str) -> dict[str, float]:
    """``{optimizer: others / own}`` of ``attack``'s ``part`` within each optimizer's networks."""
    out = {}
    for optimizer, idx in by_optimizer(configs).items():
        own, others = own_and_others_mean(select_transfer(result, idx), attack, part)
        out[optimizer] = others / own if own > 0 else float("nan")
    return out


def transfer_findings(result: TransferMatrices, configs: Sequence[TrainConfig]) -> list[dict]:
    """Prediction (1): PGD's transfer, its parts' transfer, and which part is the stronger on its own network."""
    norm = f"{NORM_LABELS.get(result.norm, result.norm)} ε = {result.eps:g}"
    whole = _ratios(result, configs, "pgd", "whole")
    worst = max(whole.values())
    verdict = "holds" if worst <= 0.5 else "partly" if worst <= 0.8 else "fails"
    out = [{"verdict": verdict, "finding": (
        f"PGD at {norm}, crafted on one network, keeps this share of its own-network success on the other networks "
        f"trained alike: {_by_label(whole, '.2f')}. " + {
            "holds": "It transfers far less, as if each network's weakness were its own.",
            "partly": "It transfers less, but much of it carries over: the weakness is largely shared.",
            "fails": "It transfers about as well as it works: the weakness is shared."}[verdict])}]
    inside, outside = _ratios(result, configs, "pgd", "inside"), _ratios(result, configs, "pgd", "outside")
    lower = all(outside[o] < inside[o] - 0.1 for o in inside)
    out.append({"verdict": "holds" if lower else "fails", "finding": (
        f"Its part outside the top-{result.k} data subspace, applied alone at the same size, keeps "
        f"{_by_label(outside, '.2f')} of its success on the other networks; the part inside "
        f"{_by_label(inside, '.2f')}. " + ("What lies off the data is the network-specific part."
                                           if lower else "The outside part is not the more network-specific one."))})
    own = {o: own_and_others_mean(select_transfer(result, idx), "pgd", "inside")[0]
           for o, idx in by_optimizer(configs).items()}
    own_out = {o: own_and_others_mean(select_transfer(result, idx), "pgd", "outside")[0]
               for o, idx in by_optimizer(configs).items()}
    inside_first = [o for o in own if own[o] > own_out[o]]
    verdict = "fails" if len(inside_first) == len(own) else "partly" if inside_first else "holds"
    out.append({"verdict": verdict, "finding": (
        f"On its own network the inside part alone succeeds on {_by_label(own, '.0%')}, the outside part on "
        f"{_by_label(own_out, '.0%')}. " + {
            "fails": "The part inside the data is the stronger one: the off-data directions are not where most of "
                     "the weakness lives.",
            "partly": "The part inside the data is the stronger one for "
                      f"{' and '.join(OPTIMIZER_LABELS[o] for o in inside_first)}, the part outside for "
                      f"{' and '.join(OPTIMIZER_LABELS[o] for o in own if o not in inside_first)}.",
            "holds": "The part outside the data is the stronger one."}[verdict])})
    return out


def agreement_findings(energy: Agreement, blank: Agreement, configs: Sequence[TrainConfig]) -> list[dict]:
    """Prediction (2), at the ``energy`` split (top-k subspace) and at the ``blank`` split (the blank pixels)."""
    rows = {(r["optimizer"], r["relation"]): r for r in agreement_table(energy, configs)}
    seeds = {o: rows[(OPTIMIZER_LABELS[o], RELATIONS[0])]["outside_all"] for o in by_optimizer(configs)
             if (OPTIMIZER_LABELS[o], RELATIONS[0]) in rows}
    own_init = {o: float(np.nanmean(select_agreement(energy, idx).init_outside))
                for o, idx in by_optimizer(configs).items()}
    learned = min(seeds.values(), default=0.0) >= 0.1
    out = [{"verdict": "fails" if learned else "holds", "finding": (
        f"Outside the top-{energy.k} data subspace, the output neurons' effective weights of networks from different "
        f"seeds correlate {_by_label(seeds, '.2f')} (two independent random draws: about 0), and each network's "
        f"outside part correlates {_by_label(own_init, '.2f')} with its own initialisation. " +
        ("The outside part is largely learned, not left over from the initialisation." if learned else
         "Outside, the networks disagree as independent draws do: the outside part is each random seed's own."))}]
    blank_rows = {(r["optimizer"], r["relation"]): r for r in agreement_table(blank, configs)}
    other = {o: blank_rows[(OPTIMIZER_LABELS[o], RELATIONS[0])]["outside_all"] for o in by_optimizer(configs)
             if (OPTIMIZER_LABELS[o], RELATIONS[0]) in blank_rows}
    same = blank_rows.get((ACROSS, RELATIONS[1]))
    if other and same is not None:
        inherited = max(abs(v) for v in other.values()) < 0.1 and same["outside_all"] > 0.3
        out.append({"verdict": "holds" if inherited else "fails", "finding": (
            f"On the {N_PIXELS - blank.k} blank pixels, which no training image reaches, networks from different seeds "
            f"correlate {_by_label(other, '.2f')} and networks from the same seed with the other "
            f"optimizer {same['outside_all']:.2f}. " +
            ("There, and only there, the opinion is the initialisation's, as the argument says." if inherited else
             "Even there the opinion is not simply the initialisation's."))})
    return out


def _ends(rows: Sequence[dict], key: str, eps_index: int) -> tuple[float, float]:
    values = [r[key][eps_index] if isinstance(r[key], list) else r[key] for r in rows]
    return values[0], values[-1]


def scale_findings(curves: Sequence[dict], eps_index: int = -1) -> list[dict]:
    """Prediction (3), per optimizer, from ``advx.population.scale_curves`` (the attack at ``eps[eps_index]``)."""
    out = []
    for optimizer in dict.fromkeys(c["optimizer"] for c in curves):
        rows = sorted((c for c in curves if c["optimizer"] == optimizer), key=lambda c: c["init_scale"])
        if len(rows) < 2:
            continue
        ends = {key: _ends(rows, key, eps_index) for key in ("weights_outside", "gradient_outside", "success_outside")}
        rising = [key for key, (lo, hi) in ends.items() if lo > 0 and hi > RISE * lo]
        verdict = "holds" if len(rising) == len(ends) else "partly" if rising else "fails"
        name = OPTIMIZER_LABELS.get(optimizer, optimizer)
        (w0, w1), (g0, g1), (s0, s1) = ends.values()
        at_one = [r for r in rows[1:-1] if r["init_scale"] == 1.0]
        late = verdict == "holds" and at_one and at_one[0]["weights_outside"] < 1.1 * w0
        out.append({"verdict": verdict, "finding": (
            f"{name}, from init ×{rows[0]['init_scale']:g} to ×{rows[-1]['init_scale']:g} at matched accuracy: the "
            f"output weights' norm outside the subspace goes {w0:.1f} → {w1:.1f}, the input gradient's {g0:.2f} → "
            f"{g1:.2f}, and an L2 attack of size {rows[0]['eps'][eps_index]:g} kept outside succeeds on {s0:.0%} → "
            f"{s1:.0%}. " + {"holds": "A larger initialisation leaves more off the data" + (
                                 f"; most of the rise comes above ×1 (the outside norm at ×1: "
                                 f"{at_one[0]['weights_outside']:.1f})." if late else "."),
                             "partly": "Only part of it grows with the initialisation.",
                             "fails": f"{name} ignores the initialisation scale."}[verdict])})
    return out


def published_rows(transfer: TransferMatrices, configs: Sequence[TrainConfig], curves: Sequence[dict]) -> list[dict]:
    """``PUBLISHED`` beside our numbers: ``work``, ``their claim``, ``their setting``, ``ours``, ``our setting``."""
    norm = f"{NORM_LABELS.get(transfer.norm, transfer.norm)} ε = {transfer.eps:g}"
    groups = by_optimizer(configs)
    seeds = len({c.seed for c in configs})
    shares = {o: own_and_others_mean(select_transfer(transfer, idx), "pgd") for o, idx in groups.items()}
    inside, outside = (_ratios(transfer, configs, "pgd", part) for part in ("inside", "outside"))
    scales = ", ".join(f"×{s:g}" for s in sorted({c["init_scale"] for c in curves}))
    seeds_each = max((c["seeds"] for c in curves), default=0)
    ours = [
        ("PGD crafted on one network turns " + "; ".join(
            f"{OPTIMIZER_LABELS[o]} {own:.0%} of its own correct digits and {others:.0%} of another's"
            for o, (own, others) in shares.items()) + " into a 0.",
         f"targeted PGD ({PGD_STEPS} steps) at {norm}; {seeds} seeds × "
         f"{' and '.join(OPTIMIZER_LABELS[o] for o in groups)}; 784-64-64-10 MLPs; about "
         f"{float(np.mean(transfer.n_attacked)):.0f} correctly classified test digits per network"),
        (f"The part of each PGD perturbation inside the top-{transfer.k} data subspace keeps "
         f"{_by_label(inside, '.2f')} of its own-network success on the other networks, the part outside "
         f"{_by_label(outside, '.2f')}: the shared part lies mostly in the data.",
         f"each part applied alone, rescaled to {norm}; the subspace holds {SPLIT_LEVEL:.0%} of the training "
         "images' energy"),
        (" ".join(f["finding"] for f in scale_findings(curves)),
         f"784-64-64-10 MLPs on MNIST (not exactly in a subspace); init {scales}, {seeds_each} seeds each; compared "
         "at matched test accuracy; L2 PGD kept in the complement of the top-k subspace, without the pixel box"),
    ]
    return [{"work": claim.source, "their claim": claim.claim, "their setting": claim.setting, "ours": text,
             "our setting": setting} for claim, (text, setting) in zip(PUBLISHED, ours)]
