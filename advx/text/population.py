"""Every label, row and sentence of the population measurements, built from the numbers (no maths here).

Each sentence picks its verdict from the numbers it states, so it says so where a prediction of the post's
argument fails. The published work is cited for its claims and settings only: its figures could not be checked
against the papers themselves here, so none is quoted (``REFERENCES.md`` section 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from advx.config import TrainConfig
from advx.population.agreement import Agreement
from advx.population.selection import ACROSS, agreement_table, by_optimizer, select_transfer
from advx.population.transfer import PARTS, TRANSFER_ATTACKS, TransferMatrices, own_and_others
from advx.vocabulary import ATTACK_TITLES, NORM_LABELS, OPTIMIZER_LABELS, pct

PART_LABELS = {"whole": "whole perturbation", "inside": "part inside the data subspace",
               "outside": "part outside the data subspace"}
MEASURE_LABELS = {"success": "turned into the target class", "fooled": "misclassified"}


@dataclass(frozen=True)
class PublishedClaim:
    """A published finding the page sets beside its own numbers: who, what, and in which setting."""

    source: str
    claim: str
    setting: str


PUBLISHED = (
    PublishedClaim("Szegedy et al. 2014, “Intriguing properties of neural networks”, Tables 2–4",
                   "Adversarial examples crafted on one MNIST network are also misclassified by networks trained "
                   "with other hyperparameters, other architectures, and on a disjoint half of the training set, "
                   "though less often than by the network they were crafted on.",
                   "box-constrained L-BFGS examples of minimal distortion; fully connected and softmax networks "
                   "and an autoencoder-based one on MNIST"),
    PublishedClaim("Tramèr, Papernot, Goodfellow, Boneh, McDaniel 2017, “The Space of Transferable Adversarial "
                   "Examples”",
                   "Adversarial examples span a contiguous subspace of many dimensions, and the subspaces of two "
                   "models trained on the same task overlap in part: that shared part is where examples transfer.",
                   "MNIST and other tasks, fully connected and convolutional models"),
    PublishedClaim("Melamed, Yehudai, Vardi 2023, “Adversarial Examples Exist in Two-Layer ReLU Networks for Low "
                   "Dimensional Linear Subspaces” (NeurIPS)",
                   "Gradient training of a two-layer ReLU network on data in a low-dimensional linear subspace leaves "
                   "it non-robust along directions orthogonal to the subspace; a smaller initialisation scale, or L2 "
                   "regularisation, makes it more robust to perturbations orthogonal to the subspace.",
                   "theory for two-layer ReLU networks, with experiments on data in a linear subspace"),
)


def _transfer_ratio(own: float, others: float) -> float:
    return others / own if own > 0 else float("nan")


def transfer_rows(result: TransferMatrices, measure: str = "success") -> list[dict]:
    """One row per attack and part: the mean over source networks of its own share and of its mean over the
    other networks, and their ratio (``measure``: ``"success"`` or ``"fooled"``)."""
    table = getattr(result, measure)
    rows = []
    for a, attack in enumerate(TRANSFER_ATTACKS):
        for p, part in enumerate(PARTS):
            own, others = own_and_others(table[a, p])
            rows.append({"attack": ATTACK_TITLES[attack], "part": PART_LABELS[part], "own": float(own.mean()),
                         "others": float(np.nanmean(others)) if len(own) > 1 else float("nan"),
                         "ratio": _transfer_ratio(float(own.mean()), float(np.nanmean(others)))
                         if len(own) > 1 else float("nan"),
                         "mean L2 size": float(result.part_l2[a, p].mean())})
    return rows


def transfer_table(result: TransferMatrices, configs: Sequence[TrainConfig], measure: str = "success") -> list[dict]:
    """``transfer_rows`` within each optimizer's networks, with ``optimizer`` (its label) first and
    ``optimizer_name`` (its name) and ``part_name`` (one of ``PARTS``) added for figures."""
    out = []
    for optimizer, idx in by_optimizer(configs).items():
        for part, row in zip(PARTS * len(TRANSFER_ATTACKS), transfer_rows(select_transfer(result, idx), measure)):
            out.append({"optimizer": OPTIMIZER_LABELS[optimizer], **row, "optimizer_name": optimizer,
                        "part_name": part})
    return out


def agreement_words(result: Agreement, configs: Sequence[TrainConfig], neuron: int = 0) -> list[str]:
    """``agreement_sentences`` for each optimizer's networks, then for the pairs across optimizers."""
    rows = agreement_table(result, configs, neuron)
    out = []
    for optimizer in by_optimizer(configs):
        label = OPTIMIZER_LABELS[optimizer]
        out += [f"{label}: {s}" for s in agreement_sentences([r for r in rows if r["optimizer"] == label], result.k)]
    return out + agreement_sentences([r for r in rows if r["optimizer"] == ACROSS], result.k)


def _verdict(ratio: float) -> str:
    if not np.isfinite(ratio):
        return "nothing to compare"
    if ratio <= 0.5:
        return "far less, as the argument predicts"
    if ratio <= 0.8:
        return "less, but not far less than the argument predicts"
    return "about as much: here the argument's prediction fails"


def transfer_sentences(result: TransferMatrices, target: int = 0) -> list[str]:
    """What the transfer matrices say about the post's first prediction, one sentence per finding."""
    if result.success.shape[-1] < 2:
        return ["Transfer needs at least two networks."]
    out = []
    norm = NORM_LABELS.get(result.norm, result.norm)
    for a, attack in enumerate(TRANSFER_ATTACKS):
        own, others = (float(np.nanmean(v)) for v in own_and_others(result.success[a, 0]))
        name = "The overlay" if attack == "overlay" else ATTACK_TITLES[attack]
        sentence = (f"{name} at {norm} ε = {result.eps:g}, crafted on a network, turns {pct(own)} of the digits it "
                    f"classifies correctly into a {target}; applied to the other networks, {pct(others)} on average")
        if own < 0.05:
            out.append(sentence + ": it barely works on its own network at this ε, so its transfer says little.")
        else:
            out.append(sentence + f" ({others / own:.2f} of it): {_verdict(others / own)}.")
    inside = _part_ratios(result, "inside")
    outside = _part_ratios(result, "outside")
    better = [TRANSFER_ATTACKS[a] for a in range(len(TRANSFER_ATTACKS))
              if np.isfinite(inside[a]) and np.isfinite(outside[a]) and inside[a] > outside[a] + 0.1]
    worse = [TRANSFER_ATTACKS[a] for a in range(len(TRANSFER_ATTACKS))
             if np.isfinite(inside[a]) and np.isfinite(outside[a]) and inside[a] < outside[a] - 0.1]
    detail = ", ".join(f"{ATTACK_TITLES[t]} {inside[a]:.2f} against {outside[a]:.2f}"
                       for a, t in enumerate(TRANSFER_ATTACKS) if np.isfinite(inside[a]) and np.isfinite(outside[a]))
    if detail:
        head = (f"Split along the top-{result.k} data subspace, each part applied alone at the same {norm} ε, the "
                f"part inside keeps this share of its own-network success on the other networks, and the part "
                f"outside that one: {detail}.")
        if better and not worse:
            head += " The inside part transfers better, as predicted: what lies off the data is more network-specific."
        elif worse and not better:
            head += " The outside part transfers better: against the prediction."
        else:
            head += " No clear difference across the attacks: the prediction is not borne out here."
        out.append(head)
    own_in = float(np.mean(np.diagonal(result.success[TRANSFER_ATTACKS.index("pgd"), 1])))
    own_out = float(np.mean(np.diagonal(result.success[TRANSFER_ATTACKS.index("pgd"), 2])))
    if own_in > own_out:
        ending = (": the part inside the data is the stronger one, so the off-data directions are not where all of "
                  "the weakness lives.")
    else:
        ending = ": the part outside the data is the stronger one, as the argument says."
    out.append(f"On its own network, PGD's inside part alone succeeds on {pct(own_in)} and its outside part on "
               f"{pct(own_out)}" + ending)
    return out


def _part_ratios(result: TransferMatrices, part: str) -> list[float]:
    p = PARTS.index(part)
    out = []
    for a in range(len(TRANSFER_ATTACKS)):
        own, others = own_and_others(result.success[a, p])
        out.append(_transfer_ratio(float(own.mean()), float(np.nanmean(others))) if own.mean() >= 0.02 else np.nan)
    return out


def agreement_sentences(rows: Sequence[dict], k: int) -> list[str]:
    """What the correlations of ``advx.population.agreement_rows`` say about the post's first prediction."""
    by = {row["relation"]: row for row in rows}
    out = []
    other = by.get("other seed, same optimizer")
    if other:
        n = other["neuron"]
        sentence = (f"Between networks trained from different seeds, output neuron {n}'s effective weights correlate "
                    f"{other['inside']:.2f} inside the top-{k} data subspace and {other['outside']:.2f} outside it "
                    f"(every output neuron: {other['inside_all']:.2f} and {other['outside_all']:.2f}). ")
        if abs(other["outside"]) < 0.1:
            sentence += ("Outside, that is what two independent random draws give: the off-data part is each random "
                         "seed's own.")
        elif other["outside"] < other["inside"] - 0.2:
            sentence += ("Outside they agree less, but far more than two independent random draws would (about 0): "
                         "much of what lies outside the top-k subspace at this k was learned from the data's weaker "
                         "directions, not inherited from the initialisation.")
        else:
            sentence += "They agree as much outside as inside: against the prediction."
        out.append(sentence)
    same, both = by.get("same seed, other optimizer"), by.get("other seed, other optimizer")
    if same and both:
        gain = same["outside"] - both["outside"]
        out.append(f"Trained from the same seed with the other optimizer, the outside parts correlate "
                   f"{same['outside']:.2f}; from different seeds, {both['outside']:.2f}. "
                   + (f"Sharing the initialisation adds {gain:.2f}: part of the off-data opinion is inherited."
                      if gain > 0.05 else "Sharing the initialisation adds nothing visible outside."))
    return out


def _series(rows: Sequence[dict], key: str, fmt: str) -> str:
    return ", ".join(format(r[key] if not isinstance(r[key], list) else r[key][-1], fmt) for r in rows)


def scale_sentences(curves: Sequence[dict]) -> list[str]:
    """What ``advx.population.scale_curves`` says about the post's second prediction, one sentence per optimizer.

    A measure *rises* with the scale when its value at the largest scale is more than 20% above the smallest
    scale's; the verdict names the measures that do, and says where the rise comes only above scale 1.
    """
    out = []
    for optimizer in dict.fromkeys(c["optimizer"] for c in curves):
        rows = sorted((c for c in curves if c["optimizer"] == optimizer), key=lambda c: c["init_scale"])
        if len(rows) < 2:
            continue
        name = OPTIMIZER_LABELS.get(optimizer, optimizer)
        scales = ", ".join(f"×{r['init_scale']:g}" for r in rows)
        eps = rows[0]["eps"][-1]
        words = [f"{name} at init {scales}, at matched accuracy ({_series(rows, 'test_acc', '.2%')}): the output "
                 f"effective weights' norm outside the subspace is {_series(rows, 'weights_outside', '.1f')}; the "
                 f"input gradient's outside norm {_series(rows, 'gradient_outside', '.2f')}; an L2 attack of size "
                 f"{eps:g} kept outside the subspace succeeds on {_series(rows, 'success_outside', '.1%')} "
                 f"(unrestricted: {_series(rows, 'success_anywhere', '.1%')})."]
        keys = {"weights_outside": "the outside weights", "gradient_outside": "the outside gradient",
                "success_outside": "the restricted attack's success"}
        value = {key: [r[key][-1] if isinstance(r[key], list) else r[key] for r in rows] for key in keys}
        rising = [key for key, v in value.items() if v[0] > 0 and v[-1] > 1.2 * v[0]]
        at_one = [i for i, r in enumerate(rows) if r["init_scale"] == 1.0]
        late = [key for key in rising if at_one and 0 < at_one[0] < len(rows) - 1
                and value[key][at_one[0]] < 1.1 * value[key][0]]
        if len(rising) == len(keys):
            verdict = ("A smaller initialisation leaves less off the data and less to attack there, as Melamed et al. "
                       "predict")
            verdict += (f"; but {' and '.join(keys[k] for k in late)} barely change from ×{rows[0]['init_scale']:g} "
                        "to ×1: their rise comes above ×1." if late else ".")
        elif rising:
            verdict = (f"Only {', '.join(keys[k] for k in rising)} rise with the scale: the prediction holds in part "
                       "here.")
        else:
            verdict = ("No measure grows with the initialisation scale: here the off-data part does not "
                       "come from the initialisation, and the prediction fails.")
        words.append(verdict)
        out.append(" ".join(words))
    return out
