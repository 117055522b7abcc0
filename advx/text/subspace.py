"""Every label, row and sentence "Why it happens" shows, built from the measured numbers (no maths here).

The sentences choose their words from the numbers (``_amount``, the comparisons in ``explain``), so that
they cannot claim more than the numbers say. The size of a perturbation is ε everywhere (``eps`` in the code).
"""

from __future__ import annotations

from typing import Optional

from advx.subspace.counterfactual import ATTACK_IMAGES, COUNTERFACTUAL_TARGET, PGD_STEPS, AttackRates
from advx.subspace.projections import pooled_fraction
from advx.subspace.first_layer import FirstLayerChange, FirstLayerStudy
from advx.subspace.neurons import NeuronMaps, NeuronSpectra, measure_neurons
from advx.subspace.pca import DataSubspace
from advx.text import glossary
from advx.vocabulary import ATTACK_LABELS, ATTACK_TITLES, NORM_LABELS, OPTIMIZER_LABELS, pct

# The runs "Why it happens" compares: the two optimizers, and Adam with input noise or with weight decay.
RUN_LABELS = {**OPTIMIZER_LABELS, "noise": "Adam + input noise", "decay": "AdamW (weight decay)"}
_LINF = NORM_LABELS["linf"]
_PHRASES = {"noise": "noise-trained", "decay": "weight-decayed"}


def subspace_caption(sub: DataSubspace) -> str:
    """What the explained-energy curve shows, in plain words, with the run's own k for 95%."""
    return (f"How much of the training images' energy (their ink, squared) the top k directions of pixel space hold. "
            f"The top {sub.k_for(0.95)} of the 784 directions hold 95% of it: the digits live in a thin slice of the "
            "space, the data subspace. The slider sets its k.")


def subspace_numbers(sub: DataSubspace) -> list[str]:
    """How the data subspace is measured, for the folded part of its section."""
    return [f"The directions are those of an uncentred PCA of the {sub.n_images:,} training images, i.e. of the raw "
            "images, whose span is where a plain-SGD update of W1 lies.",
            f"{int(sub.blank.sum())} pixels are 0 on every training image.",
            f"The images have numerical rank {sub.rank()}: directions above 10⁻⁶ of the largest energy."]


def first_layer_rows(studies: dict[str, FirstLayerStudy], accuracies: dict[str, float]) -> list[dict]:
    """The optimizer comparison as rows, one per run (``studies`` keyed as ``RUN_LABELS``)."""
    rows = []
    for name, st in studies.items():
        c = st.change
        rows.append({"run": RUN_LABELS.get(name, name), "test accuracy": f"{accuracies[name]:.2%}",
                     "ΔW1 energy inside": f"{c.fraction_inside:.1%}",
                     "largest |ΔW1| on a blank pixel": f"{c.max_abs_on_blank:.3g}",
                     "W1 outside norm, init → trained": f"{c.norm_outside_init:.2f} → {c.norm_outside_trained:.2f}",
                     "W1 inside norm, init → trained": f"{c.norm_inside_init:.2f} → {c.norm_inside_trained:.2f}",
                     "outside moved (‖QΔW1‖ / ‖QW1 init‖)": f"{c.moved_outside:.2f}"})
    return rows


def column_labels(k: int, configs: dict) -> dict[str, str]:
    """Column titles of the counterfactual table: ``{kind: title}`` for ``COLUMN_KINDS``.

    ``configs``: ``{"trained", "noise", "decay"} -> TrainConfig``.
    """
    return {"trained": f"Trained ({configs['trained'].optimizer})",
            "projected": f"Projected, k = {k}",
            "noise": f"Input noise σ = {configs['noise'].input_noise:g}",
            "decay": f"Weight decay {configs['decay'].weight_decay:g}"}


def counterfactual_rows(columns: dict[str, AttackRates], labels: Optional[dict[str, str]] = None,
                        target: int = COUNTERFACTUAL_TARGET, *, in_percent: bool = False) -> list[dict]:
    """The counterfactual table as rows ``{"measure": str, <column title>: float}``, ready for a table.

    ``columns``: ``{kind: AttackRates}``, all with the same attacks and eps; ``labels`` titles the
    columns (default: the kinds themselves). The shares are fractions, or percentages with ``in_percent``.
    """
    labels = labels or {}
    title = {kind: labels.get(kind, kind) for kind in columns}
    scale = 100.0 if in_percent else 1.0
    first = next(iter(columns.values()))
    rows = [{"measure": "Clean test accuracy", **{title[c]: scale * r.clean_accuracy for c, r in columns.items()}}]
    for attack, eps in first.success:
        rows.append({"measure": f"{ATTACK_TITLES[attack]} → {target} success, {_LINF} {eps:g}",
                     **{title[c]: scale * r.success[(attack, eps)] for c, r in columns.items()}})
    return rows


def counterfactual_caption(rates: AttackRates, n_test: int = 10_000, target: int = COUNTERFACTUAL_TARGET) -> str:
    """How the counterfactual table was measured, in one paragraph."""
    return (f"Clean accuracy on all {n_test:,} test images. Attacks on the first {ATTACK_IMAGES:,} test images, "
            f"counting only those the network classifies correctly and whose label is not {target} "
            f"({rates.n_attacked} for the first column, so a share has a sampling error of at most "
            f"±{100 / (2 * rates.n_attacked ** 0.5):.1f} points); {glossary.link('success-rate', 'success')} means "
            f"the network then answers {target}. "
            f"Overlay: the network's own output-neuron-{target} effective weights, scaled to L∞ size ε and added "
            f"to the digit (the post's trick). {glossary.link('fgsm', 'FGSM')}: one signed-gradient step. "
            f"{glossary.link('pgd', 'PGD')}: {PGD_STEPS} steps of ε/30 "
            "from one random start (Madry et al. 2018). All attacks are targeted and white-box: each network is "
            "attacked through its own gradients.")


def _amount(share: float) -> str:
    """A word for a share, so that the sentence cannot claim more than the number says."""
    if share >= 0.9:
        return "almost all"
    if share >= 0.6:
        return "most"
    if share >= 0.4:
        return "about half"
    if share >= 0.1:
        return "a minority"
    return "almost none"


def explain(*, k: int, kept: float, n_blank: int, layer: str, effective_inside_init: float,
            effective_inside_trained: float, average_inside_trained: float, adam: FirstLayerChange,
            sgd: FirstLayerChange, columns: Optional[dict[str, AttackRates]] = None,
            trained: str = "", projected: str = "", street_smart: tuple[str, ...] = ()) -> list[str]:
    """Sentences that follow the post's argument with the measured numbers, so they cannot contradict them.

    Shares are in [0, 1] and pooled over the neurons of ``layer``. ``adam`` and ``sgd`` are the
    ``FirstLayerChange`` of the two plain runs. ``columns`` is the counterfactual table by column name;
    ``trained``, ``projected`` and ``street_smart`` name its columns.
    """
    out = [
        f"The top {k} of 784 directions hold {pct(kept)} of the training images' energy, and {n_blank} pixels "
        "are blank in every training image: this is the data subspace.",
        f"At initialisation the {layer} effective weights put {pct(effective_inside_init)} of their energy inside "
        f"it, close to the {pct(k / 784)} a random direction would (k / 784). After training, "
        f"{_amount(1 - effective_inside_trained)} of it ({pct(1 - effective_inside_trained)}) is still outside: "
        "the noise-like look of the effective weights comes from there.",
        f"The dataset averages put {pct(average_inside_trained)} of their energy inside. An average of images can "
        "only point where the images point, which is why it looks like a digit.",
    ]
    sgd_sentence = (f"With plain SGD, {pct(sgd.fraction_inside)} of the change ΔW1 lies inside the subspace "
                    f"(the images themselves: {pct(kept)}), and the outside part of W1 went from "
                    f"{sgd.norm_outside_init:.1f} to {sgd.norm_outside_trained:.1f} in norm.")
    if adam.fraction_inside < sgd.fraction_inside - 0.05:
        sgd_sentence += (f" With Adam only {pct(adam.fraction_inside)} of ΔW1 is inside, and the outside part went "
                         f"from {adam.norm_outside_init:.1f} to {adam.norm_outside_trained:.1f}: Adam divides each "
                         "weight's step by that weight's own gradient size, so directions the images barely touch "
                         "get full-size steps. The post's \"training refines only inside the subspace\" is nearly "
                         "exact for SGD and only partly true for Adam.")
    else:
        sgd_sentence += f" With Adam, {pct(adam.fraction_inside)} of ΔW1 is inside: much the same."
    out.append(sgd_sentence)
    blank_words = ("exactly 0 under both optimizers: no image ever sends a gradient there"
                   if adam.max_abs_on_blank == 0 and sgd.max_abs_on_blank == 0
                   else f"at most {max(adam.max_abs_on_blank, sgd.max_abs_on_blank):.3g}")
    out.append(f"On the blank pixels ΔW1 is {blank_words}; a weight there keeps its random initial value for good.")
    if columns and trained in columns and projected in columns:
        t, p = columns[trained], columns[projected]
        out.append(_counterfactual_sentence(t, p, projected))
        for name in street_smart:
            if name in columns:
                out.append(_street_smart_sentence(t, columns[name], _PHRASES.get(name, name)))
    return out


def _pgd_eps(rates: AttackRates) -> list[float]:
    return sorted(e for a, e in rates.success if a == "pgd")


def _counterfactual_sentence(t: AttackRates, p: AttackRates, name: str) -> str:
    change = 100 * (p.clean_accuracy - t.clean_accuracy)
    words = [f"The {name} network (W1 with its off-data part removed) keeps {pct(p.clean_accuracy)} clean accuracy "
             f"({change:+.2f} points)."]
    pgd_eps = _pgd_eps(t)
    if pgd_eps:
        small, large = pgd_eps[0], pgd_eps[-1]
        ts, ps = t.success[("pgd", small)], p.success[("pgd", small)]
        tl, pl = t.success[("pgd", large)], p.success[("pgd", large)]
        if ps < ts - 0.1:
            words.append(f"At {_LINF} {small:g}, PGD turns {pct(ps)} of the images into a {COUNTERFACTUAL_TARGET} "
                         f"against it, against {pct(ts)} for the trained network: much of the small-ε weakness "
                         "lived in the directions training never visited.")
        else:
            words.append(f"At {_LINF} {small:g}, PGD still succeeds on {pct(ps)} of the images (trained: {pct(ts)}): "
                         "removing the off-data part did not help much at this ε.")
        if pl >= 0.5:
            words.append(f"At {_LINF} {large:g}, PGD succeeds on {pct(pl)} (trained: {pct(tl)}). So the argument is "
                         "not the whole story: the projected network sees only the in-subspace part of a perturbation, "
                         "and an ε this large is enough to move an image inside the data subspace across the "
                         "network's boundary. The untouched directions make adversarial examples cheap; they are not "
                         "the only way to make one.")
        else:
            words.append(f"At {_LINF} {large:g}, PGD succeeds on {pct(pl)} (trained: {pct(tl)}).")
    return " ".join(words)


def _street_smart_sentence(t: AttackRates, s: AttackRates, name: str) -> str:
    parts = [f"The {name} network: clean accuracy {pct(s.clean_accuracy)}"]
    for attack, eps in (("overlay", max(e for a, e in t.success if a == "overlay")),
                        ("pgd", min(_pgd_eps(t), default=None))):
        if eps is None:
            continue
        before, after = t.success[(attack, eps)], s.success[(attack, eps)]
        verb = "down from" if after < before else "against"
        label = f"the {ATTACK_LABELS[attack]}" if attack == "overlay" else ATTACK_LABELS[attack]
        parts.append(f"{label} at {_LINF} {eps:g} succeeds on {pct(after)}, {verb} {pct(before)}")
    return "; ".join(parts) + "."


def explain_page(sub: DataSubspace, k: int, maps: NeuronMaps | NeuronSpectra, studies: dict[str, FirstLayerStudy],
                 columns: Optional[dict[str, AttackRates]], layer: str = "output") -> list[str]:
    """``explain`` with every number taken from the page's measurements.

    ``studies`` needs ``"adam"`` and ``"sgd"``; ``columns`` is keyed by ``COLUMN_KINDS``.
    """
    m = measure_neurons(sub, k, maps, layer)
    return explain(k=k, kept=float(sub.explained[k - 1]), n_blank=int(sub.blank.sum()), layer=layer,
                   effective_inside_init=pooled_fraction(m.effective_init),
                   effective_inside_trained=pooled_fraction(m.effective_trained),
                   average_inside_trained=pooled_fraction(m.average_trained),
                   adam=studies["adam"].change, sgd=studies["sgd"].change, columns=columns,
                   trained="trained", projected="projected", street_smart=("noise", "decay"))


# "Training changes a neuron only inside the data subspace": holds when this share of the change's energy lies
# inside, partly from the second (Home's findings grade the run's own Layer_1 the same way).
INSIDE_HOLDS, INSIDE_PARTLY = 0.9, 0.5
# The counterfactual "helps" at small ε when deleting the off-data part lowers PGD's success by this much.
HELPS_BY = 0.1


def inside_verdict(share: float) -> str:
    """``"holds"``, ``"partly"`` or ``"fails"`` for the share of a change of W1 that lies inside the subspace."""
    return "holds" if share >= INSIDE_HOLDS else "partly" if share >= INSIDE_PARTLY else "fails"


_INSIDE_WORDS = {"holds": "the post's sentence holds", "partly": "the post's sentence holds only in part",
                 "fails": "the post's sentence does not hold"}


def conclusions(k: int, studies: dict[str, FirstLayerStudy], columns: Optional[dict[str, AttackRates]] = None,
                trained: str = "trained", projected: str = "projected") -> list[str]:
    """What the page's numbers say, in three plain sentences, each with its verdict in bold (the detail is in
    ``explain_page``): training under plain SGD and under Adam, then the counterfactual."""
    out = []
    for name, who in (("sgd", "Under plain SGD"), ("adam", "Under Adam")):
        share = studies[name].change.fraction_inside
        verdict = inside_verdict(share)
        out.append(f"**{verdict.capitalize()}.** {who}, {pct(share)} of what training changed in the first layer lies "
                   f"inside the top {k} directions of the data: {_INSIDE_WORDS[verdict]}.")
    if columns and trained in columns and projected in columns and _pgd_eps(columns[trained]):
        t, p, eps = columns[trained], columns[projected], _pgd_eps(columns[trained])
        small, large = eps[0], eps[-1]
        helps = p.success[("pgd", small)] < t.success[("pgd", small)] - HELPS_BY
        still = p.success[("pgd", large)] >= 0.5
        verdict = "partly" if helps and still else "holds" if helps else "fails"
        first = (f"Deleting the part of the first layer that lies off the data makes small attacks much harder (PGD "
                 f"at {_LINF} {small:g}: {pct(t.success[('pgd', small)])} → {pct(p.success[('pgd', small)])})"
                 if helps else
                 f"Deleting the part of the first layer that lies off the data does not make small attacks much "
                 f"harder (PGD at {_LINF} {small:g}: {pct(t.success[('pgd', small)])} → "
                 f"{pct(p.success[('pgd', small)])})")
        second = (f"; but at {_LINF} {large:g} PGD still succeeds on {pct(p.success[('pgd', large)])}. The untouched "
                  "directions make adversarial examples cheap; they are not the only way to make one, so the "
                  "argument is not the whole story." if still else
                  f", and at {_LINF} {large:g} too ({pct(p.success[('pgd', large)])}).")
        out.append(f"**{verdict.capitalize()}.** {first}{second}")
    return out


def lead_numbers(k: int, studies: dict[str, FirstLayerStudy], columns: Optional[dict[str, AttackRates]] = None,
                 projected: str = "projected") -> str:
    """The page's opening numbers: how much of Adam's and SGD's change lies inside, and, once the counterfactual
    is measured, what PGD does to the network with its off-data part deleted."""
    text = (f"{pct(studies['adam'].change.fraction_inside)} of what Adam changed in the first layer lies inside the top "
            f"{k} directions of the data (plain SGD: {pct(studies['sgd'].change.fraction_inside)})")
    if columns and projected in columns and _pgd_eps(columns[projected]):
        large = _pgd_eps(columns[projected])[-1]
        text += (f"; with the off-data part deleted, PGD at {_LINF} {large:g} still succeeds on "
                 f"{pct(columns[projected].success[('pgd', large)])}")
    return text
