"""The words of "Bugs or features?": each explanation, what it predicts, and the findings, every sentence made from
the measured numbers with its verdict from ``advx.explanations.verdicts``; labels from ``advx.vocabulary``."""

from __future__ import annotations

import numpy as np

from advx import vocabulary as V0
from advx.explanations import verdicts as V
from advx.explanations.ilyas import IlyasResult
from advx.explanations.initial import InitialEps
from advx.explanations.linearity import Linearity
from advx.explanations.restricted import RestrictedAttacks
from advx.explanations.splits import ATTACKS, AttackSplits

ATTACK_LABELS = {"overlay": "the post's overlay", "fgsm": V0.ATTACK_LABELS["fgsm"], "pgd": V0.ATTACK_LABELS["pgd"],
                 "smallest_pgd": "PGD at its smallest flipping ε"}
EXPLANATIONS = {
    "post": dict(name="Bugs of the untrained directions", source=f"the post ({V0.POST_AUTHOR})",
                 claim="Off the data subspace a neuron keeps the random opinions of its start; attacks walk there.",
                 predicts="The part of an attack outside the data subspace does most of the work; kept on the data, "
                          "an attack needs a larger ε; the outside parts teach a fresh network nothing."),
    "features": dict(name="Features, not bugs", source="Ilyas et al. 2019",
                     claim="Perturbations carry features of the data that predict the label in general, only not "
                           "robustly.",
                     predicts="A network trained only on adversarial examples labelled with the attack's target does "
                              "well on the clean test set."),
    "dimpled": dict(name="The dimpled manifold", source="Shamir, Melamed, BenShmuel 2021",
                    claim="Training makes the boundary cling to the data's manifold, then dents it around the data.",
                    predicts="Attacks go almost straight off the manifold; kept on it they need a much larger ε "
                             "and look like real changes of digit (Stutz et al. 2019)."),
    "linearity": dict(name="Linearity", source="Goodfellow, Shlens, Szegedy 2015",
                      claim="The network is close to linear along the attack: small per-pixel changes add up.",
                      predicts="Along the attack, the true change of the logits matches the first-order prediction, "
                               "and a linear model is as easy to attack."),
    "start": dict(name="Already at the start", source="Bubeck et al. 2021",
                  claim="Random, untrained networks have adversarial examples too.",
                  predicts="The untrained network (epoch 0) flips at an ε no larger than the trained one's."),
}


def prediction_rows() -> list[dict]:
    """The explanations and their predictions, one row each (the page's first section)."""
    return [{"explanation": e["name"], "source": e["source"], "claim": e["claim"], "predicts": e["predicts"]}
            for e in EXPLANATIONS.values()]


def _finding(explanation: str, verdict: str, text: tuple[str, str]) -> dict:
    """A finding from ``text = (numbers, point)``: its point in plain words (what the verdict means), the numbers it
    rests on, and the two joined (``finding``), as Home quotes it."""
    numbers, point = text
    return {"explanation": explanation, "verdict": verdict, "point": point, "numbers": numbers.strip(),
            "finding": f"{numbers.strip()} {point}"}


def column(splits: AttackSplits, k: int) -> int:
    """The index of ``k`` in ``splits.ks`` (the nearest one)."""
    return int(np.argmin(np.abs(splits.ks - int(k))))


def split_rows(splits: AttackSplits, k: int) -> list[dict]:
    """One row per attack at ``k``: its success, size and the shares outside."""
    j = column(splits, k)
    return [{"attack": ATTACK_LABELS[a], "reaches the target": float(splits.success[i]),
             "L2 size": float(splits.size[i]), "energy outside": float(splits.energy_outside[i, j]),
             "logit change from outside": float(splits.logit_outside[i, j]),
             "random direction outside": float(splits.random_outside[j])} for i, a in enumerate(ATTACKS)]


def split_findings(splits: AttackSplits) -> list[dict]:
    """The post's and the dimpled manifold's predictions about PGD's parts, at the split's k."""
    j, i = column(splits, splits.k_level), ATTACKS.index("pgd")
    logit, energy, rand = (float(a) for a in (splits.logit_outside[i, j], splits.energy_outside[i, j],
                                                splits.random_outside[j]))
    where = (f"PGD at {V0.NORM_LABELS[splits.norm]} ε = {splits.eps:g} on {splits.n_images} test images, split at "
             f"k = {splits.k_level} ({splits.level:.0%} of the images' energy)")
    post = V.logit_outside_verdict(logit)
    dimpled = V.off_data_verdict(energy, rand)
    return [
        _finding("post", post, (f"{where}: the part outside gives {logit:.0%} of the change of the target's logit.", {
            "holds": "The off-data part does most of the work.",
            "partly": "The off-data part does more than half of the work, not most of it.",
            "fails": "Most of the work is done inside the data subspace."}[post])),
        _finding("dimpled", dimpled, (f"{where}: {energy:.0%} of the perturbation's energy lies outside, against "
                 f"{rand:.0%} for a random direction. ", {
                     "holds": "The attack goes almost straight off the data.",
                     "partly": "It leans off the data, though not almost straight.",
                     "fails": "It leans *into* the data subspace more than a random direction does: not straight "
                              "off the manifold."}[dimpled])),
    ]


def restricted_medians(restricted: RestrictedAttacks) -> np.ndarray:
    """``(K,)`` the median smallest ε for each k (``inf`` where fewer than half are found)."""
    return np.median(restricted.smallest, axis=1)


def restricted_findings(restricted: RestrictedAttacks, k: int) -> list[dict]:
    """Kept in the top-``k`` subspace, how much larger an ε the attack needs (the post's and the dimpled manifold's
    prediction)."""
    medians = restricted_medians(restricted)
    j = int(np.argmin(np.abs(restricted.ks[:-1] - int(k))))
    ratio = float(medians[j] / medians[-1])
    verdict = V.restricted_verdict(ratio)
    text = (f"Kept in the top-{restricted.ks[j]} subspace, PGD needs a median L2 ε of {medians[j]:.2f} to reach the "
            f"target, against {medians[-1]:.2f} unrestricted: {ratio:.2f} times as much. ", {
                "holds": "Kept on the data, the attack needs a much larger ε.",
                "partly": "It needs more, but not much more: the data subspace has weak directions of its own.",
                "fails": "It needs about the same: the data subspace is as weak as the rest."}[verdict])
    return [_finding("dimpled", verdict, text), _finding("post", verdict, text)]


def ilyas_rows(ilyas: IlyasResult, variant_labels: dict) -> list[dict]:
    """One row per training set: its clean test accuracy after the last epoch."""
    return [{"trained on": variant_labels[v], "clean test accuracy": float(ilyas.accuracy[i, -1])}
            for i, v in enumerate(variant_labels)] + [
        {"trained on": "the clean training set (the network attacked)", "clean test accuracy": ilyas.standard}]


def ilyas_findings(ilyas: IlyasResult) -> list[dict]:
    """Features, not bugs: the relabelled sets' networks on the clean test set; and which part generalises."""
    shifted, random, inside, outside = (float(a) for a in ilyas.accuracy[:, -1])
    features = V.features_verdict(shifted, random)
    parts = V.parts_verdict(inside, outside)
    return [
        _finding("features", features, (
            f"A fresh network trained only on the training images attacked toward y + 1 (L2 ε = {ilyas.eps:g}) and "
            f"labelled with the target gets {shifted:.1%} on the clean test set; toward a random target, {random:.1%} "
            f"(chance: {V.CHANCE:.0%}). ", {
                "holds": "The perturbations carry features that generalise.",
                "partly": "They carry some features that generalise, far from all.",
                "fails": "What they carry does not generalise."}[features])),
        _finding("post", parts, (
            f"Trained on the images plus only the part of the perturbation inside the top-{ilyas.k} subspace, "
            f"{inside:.1%}; plus only the part outside, {outside:.1%}. ", {
                "holds": "What generalises is inside the data; the outside parts teach nothing.",
                "partly": "The inside part carries more of what generalises, but the outside part teaches something "
                          "too.",
                "fails": "The outside part carries as much or more of what generalises."}[parts])),
    ]


ILYAS_PUBLISHED = ("No published figure is cited beside these: the lab's reference list holds none of Ilyas et al.'s "
                   "numbers, and they could not be checked against the paper here. Their experiment used CIFAR-10 "
                   "and ResNets, not an MLP on MNIST.")


def linearity_findings(lin: Linearity) -> list[dict]:
    """Goodfellow et al.'s linearity, at the attack's own ε."""
    i = int(np.argmin(np.abs(lin.sizes - lin.eps)))
    ratio = float(lin.mlp_ratio[i])
    verdict = V.linearity_verdict(ratio)
    worst = float(lin.mlp_ratio[np.argmax(np.abs(np.log(np.maximum(lin.mlp_ratio, 1e-9))))])
    return [_finding("linearity", verdict, (
        f"Along PGD's direction at {V0.NORM_LABELS[lin.norm]} ε = {lin.eps:g}, the true change of the margin (target "
        f"logit minus true logit) is {ratio:.2f} times the first-order prediction (median over images; the furthest "
        f"from 1 along the path to {lin.sizes[-1]:g}: {worst:.2f}). PGD's median smallest flipping ε is "
        f"{lin.mlp_smallest:.3g} for the MLP and {lin.linear_smallest:.3g} for a linear softmax model trained the same "
        f"way ({lin.linear_accuracy:.1%} clean accuracy). ", {
            "holds": "The network is close to linear along the attack.",
            "partly": "It is roughly linear along the attack, with a clear curvature.",
            "fails": "It is far from linear along the attack."}[verdict]))]


def initial_findings(init: InitialEps) -> list[dict]:
    """Bubeck et al.: the untrained network's smallest ε against the trained one's."""
    medians = np.median(init.smallest, axis=1)
    found = float(np.isfinite(init.smallest[0]).mean())
    verdict = V.initial_verdict(float(medians[0]), float(medians[-1]), found)
    symbol = V0.NORM_LABELS[init.norm]
    return [_finding("start", verdict, (
        f"At initialisation PGD flips {found:.0%} of the images, at a median {symbol} ε of {medians[0]:.3g}; after "
        f"epoch {init.epochs[-1]} at {medians[-1]:.3g} (a median image measures {np.median(init.image_size):.3g} in "
        f"{symbol}). ", {"holds": "The untrained network is at least as easy to fool.",
                          "partly": "The untrained network is fooled too, at a somewhat larger ε.",
                          "fails": "The untrained network is much harder to fool, or often not fooled at all."}[
            verdict]))]


def finding_lines(findings: list[dict]) -> str:
    """The findings as a markdown list: the verdict, whose prediction it is, and its point in plain words (the numbers
    go under "The numbers": ``finding_numbers``)."""
    return "\n".join(f"- **{V.VERDICT_LABELS[f['verdict']]}** ({EXPLANATIONS[f['explanation']]['name']}). "
                     f"{f['point']}" for f in findings)


def finding_numbers(findings: list[dict]) -> list[str]:
    """The measured numbers the findings rest on, each once (two findings may rest on the same measurement)."""
    return list(dict.fromkeys(f["numbers"] for f in findings))


def verdict_rows(findings: list[dict]) -> list[dict]:
    """One row per finding, grouped by explanation in ``EXPLANATIONS`` order (the page's summary table)."""
    order = list(EXPLANATIONS)
    return [{"explanation": EXPLANATIONS[f["explanation"]]["name"], "verdict": V.VERDICT_LABELS[f["verdict"]],
             "finding": f["point"]} for f in sorted(findings, key=lambda f: order.index(f["explanation"]))]


def gallery_rows(restricted: RestrictedAttacks, k: int) -> tuple[dict, dict, int]:
    """``(rows, captions, k shown)`` for ``advx.figures.explanations.gallery``: the clean images, PGD kept in the
    top-k subspace nearest ``k``, and unrestricted PGD, each at the image's own smallest ε."""
    j = int(np.argmin(np.abs(restricted.ks[:-1] - int(k))))

    def caption(eps, target):
        return f"ε {eps:.2f} → {target}" if np.isfinite(eps) else "not reached"

    names = ("clean", f"kept in top-{restricted.ks[j]}", "unrestricted")
    rows = dict(zip(names, (restricted.originals, restricted.gallery[j], restricted.gallery[-1])))
    captions = {names[0]: [f"a {y}" for y in restricted.labels],
                **{name: [caption(e, t) for e, t in zip(restricted.gallery_eps[i], restricted.targets)]
                   for name, i in ((names[1], j), (names[2], -1))}}
    return rows, captions, int(restricted.ks[j])


INTRO = ("The post explains adversarial examples as **bugs of the untrained directions**: off the data subspace a "
         "neuron keeps the random opinions of its start, and an attack walks there. Other explanations make other "
         "predictions about the same network. This page tests each of them on the book-smart network of the Train "
         "page, computes a verdict from the numbers, and says so where a prediction fails, the post's included.")
NOTES = {
    "splits": "Each attack is targeted at y + 1 (mod 10). Energy: the share of ‖δ‖² outside the top-k subspace. "
              "Logit: the outside part's share of the change of the target's logit, split exactly along the straight "
              "path (integrated gradients, 16 points). Dashed: a random direction, 1 − k/784.",
    "restricted": "PGD in L2, 20 steps, every step projected onto the top-k subspace and back into the ε-ball, and "
                  "no pixel box (clipping would leave the subspace); the unrestricted attack is the same code without "
                  "the subspace and without the box. Smallest ε by bisection up to 10. Each example is shown at its "
                  "own smallest ε, clipped to [0, 1] for display. No one was asked which digit they see.",
    "ilyas": "Targeted L2 PGD (10 steps of ε/4, a random start) from each of the 60,000 training images, labelled "
             "with its target; a fresh network of the same shape trained on it with the default settings (Adam, 15 "
             "epochs), tested on the clean test set. Inside/outside: the clean image plus only that part of its "
             "perturbation. In the y + 1 set the digit itself still predicts its label (a y is always labelled "
             "y + 1), so a network can learn that shift instead; the random set has no such shortcut.",
    "linearity": "Along each image's PGD direction (unit size in the norm, no pixel box along the path): the true "
                 "change of the margin, target logit minus true logit, over its first-order prediction (median over "
                 "images; 1 is exactly linear). Right: the share of images the target wins at that distance.",
    "boundary": "For the same 100 test images after each epoch: the smallest L2 ε of PGD kept in the top-k subspace "
                "(on the data), in its complement (off it) and unrestricted, each from the network's own answer a "
                "toward a + 1 (mod 10), without the pixel box. Shamir et al. predict a boundary that first clings to "
                "the data, then dents around it.",
    "initial": "Targeted PGD from each network's own answer a to a + 1 (mod 10), the smallest ε by a grid and "
               "bisection; epoch 0 is the untrained network of the run.",
}
VARIANT_LABELS = ("attacks toward y + 1, labelled y + 1", "attacks toward a random class, labelled so",
                  "y + 1: only the part inside the data subspace", "y + 1: only the part outside")


def boundary_medians(boundary) -> dict[str, np.ndarray]:
    """``{"inside" | "outside" | "anywhere": (E,)}`` the median distance to the boundary after each epoch."""
    return {name: np.median(getattr(boundary, name), axis=1) for name in ("inside", "outside", "anywhere")}


def boundary_findings(boundary) -> list[dict]:
    """The dimpled manifold's picture of training: does the boundary cling to the data (nearer off it than on it)?"""
    medians = boundary_medians(boundary)
    trained = boundary.epochs > 0
    ratios = medians["outside"][trained] / medians["inside"][trained]
    verdict = V.cling_verdict(ratios)
    steps = ", ".join(f"epoch {e}: {i:.2f} on, {o:.2f} off" for e, i, o in zip(
        boundary.epochs, medians["inside"], medians["outside"]))
    return [_finding("dimpled", verdict, (
        f"The median L2 distance to the boundary on the data (top-{boundary.k} subspace) and off it: {steps}. "
        f"The unrestricted attack's energy outside goes from {boundary.energy_outside[0]:.0%} at the start to "
        f"{boundary.energy_outside[-1]:.0%}. ", {
            "holds": "At every epoch the boundary is nearer off the data than on it: it clings to the data.",
            "partly": "The boundary is nearer off the data than on it at some epochs only.",
            "fails": "The boundary is no nearer off the data than on it: it does not cling to the data."}[verdict]))]
