"""The sentences a page shows about adversarial training, written from the measured numbers (a
``RobustComparison``) so that they cannot contradict them; and the published figures with their settings.

Pure functions, markdown strings, no Streamlit. ε is the size of a perturbation (``eps`` in the code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from advx.neurons.measures import NOISE_HIGH_FREQUENCY_SHARE
from advx.robust.accuracy import PGD_STEPS
from advx.robust.compare import ATTACK_ROWS, RobustComparison
from advx.robust.maps import MAP_KINDS
from advx.vocabulary import ATTACK_DETAILS, NETWORK_NAMES, NORM_LABELS, NORMS, capitalised, format_number, pct

BOOK, STREET = NETWORK_NAMES  # the standard network and the robust one

MAP_LABELS = {"effective_weights": "effective weights", "local_jacobian": "local Jacobians",
              "input_gradient": "input gradients"}
# The comparison's PGD runs from several random starts (``advx.robust.accuracy``).
ATTACK_LABELS = {name: ATTACK_DETAILS[name] for name in ATTACK_ROWS} | {"pgd": f"PGD-{PGD_STEPS} with random restarts"}
# Where a map's share of energy at high spatial frequency puts it: pixel noise gives 0.80, one MNIST test
# digit a median of 0.11, a class's dataset average about 0.003.
DIGIT_LIKE_HF = 0.15
NOISE_LIKE_HF = 0.5
# An attack that leaves an accuracy lower than PGD's by more than this (about one standard error of a share
# near 0.8 on 500 images) is a sign that PGD's gradients mislead it.
MASKING_MARGIN = 0.02


@dataclass(frozen=True)
class PublishedRobustness:
    """A published robustness figure on MNIST, with its model and setting. ``verify``: the figure was read
    second-hand (REFERENCES.md section 5 says "verify before display"); a page shows it only with that mark."""

    source: str
    model: str
    training: str
    attack: str
    eps: float
    accuracy: float
    verify: bool = False


_MADRY_MODEL = "MadryLab mnist_challenge CNN (two conv + max-pool layers, one dense layer)"
_MADRY_TRAINING = ("PGD adversarial training, L∞ ε = 0.3, 40 steps of 0.01, random start, batch 50, "
                   "100,000 steps, cross-entropy")
PUBLISHED = (
    PublishedRobustness("MadryLab mnist_challenge README, early black-box leaderboard", _MADRY_MODEL, _MADRY_TRAINING,
                        "best transfer attack (PGD against 3 independently trained copies)", 0.3, 0.9354),
    PublishedRobustness("MadryLab mnist_challenge README, early black-box leaderboard", _MADRY_MODEL, _MADRY_TRAINING,
                        "PGD on the adversarially trained public copy (transfer)", 0.3, 0.9779),
    PublishedRobustness("MadryLab mnist_challenge README, early black-box leaderboard", _MADRY_MODEL, _MADRY_TRAINING,
                        "FGSM on the adversarially trained public copy (transfer)", 0.3, 0.9766),
    PublishedRobustness("MadryLab mnist_challenge README, later white-box leaderboard", _MADRY_MODEL, _MADRY_TRAINING,
                        "PGD-100", 0.3, 0.9252, verify=True),
    PublishedRobustness("MadryLab mnist_challenge README, later white-box leaderboard", _MADRY_MODEL, _MADRY_TRAINING,
                        "PGD-100 with 50 random restarts", 0.3, 0.8962, verify=True),
    PublishedRobustness("MadryLab mnist_challenge README, later white-box leaderboard", _MADRY_MODEL, _MADRY_TRAINING,
                        "best white-box attack", 0.3, 0.8800, verify=True),
    PublishedRobustness("Madry et al. 2018, “Towards Deep Learning Models Resistant to Adversarial Attacks”, "
                        "Table 1", "adversarially trained CNN", _MADRY_TRAINING,
                        "PGD-100 with 20 random restarts", 0.3, 0.893, verify=True),
)


SECOND_HAND = "second-hand: not checked against the paper"


def published_rows() -> list[dict]:
    """The published figures as table rows; a second-hand figure says so in its ``note``."""
    return [{"source": p.source, "model": p.model, "training": p.training, "attack": p.attack, "ε (L∞)": p.eps,
             "accuracy": p.accuracy, "note": SECOND_HAND if p.verify else ""} for p in PUBLISHED]


def character(high_frequency: float) -> str:
    """``"noise-like"``, ``"digit-like"`` or ``"between noise and a digit"`` for a high-frequency share."""
    if not math.isfinite(float(high_frequency)):
        return "not measured"
    if high_frequency >= NOISE_LIKE_HF:
        return "noise-like"
    return "digit-like" if high_frequency <= DIGIT_LIKE_HF else "between noise and a digit"


def final_maps(c: RobustComparison, field: str) -> np.ndarray:
    """``(2, 3)``: a map measure at each network's last epoch."""
    values = getattr(c, field)
    return np.stack([values[i, int(c.epochs[i])] for i in range(2)])


def maps_finding(c: RobustComparison) -> list[str]:
    """What adversarial training did to the three kinds of map, and what it means for the post's argument."""
    hf, corr = final_maps(c, "map_high_frequency"), final_maps(c, "map_correlation_centred")
    eff, jac = MAP_KINDS.index("effective_weights"), MAP_KINDS.index("local_jacobian")
    lines = []
    for k, kind in enumerate(MAP_KINDS):
        label = MAP_LABELS[kind]
        lines.append(f"**{capitalised(label)}**: high-frequency share {format_number(hf[0, k])} ({BOOK}, "
                     f"{character(hf[0, k])}) → {format_number(hf[1, k])} ({STREET}, {character(hf[1, k])}); "
                     f"correlation with the class's centred dataset average {format_number(corr[0, k])} → "
                     f"{format_number(corr[1, k])}.")
    eff_robust, jac_robust = character(hf[1, eff]), character(hf[1, jac])
    if jac_robust == "digit-like" and eff_robust != "digit-like":
        lines.append(
            f"That is the finding: the {STREET} network's local Jacobians turn into digits while its effective weights "
            f"stay {eff_robust}. What makes it robust lives in its ReLU patterns, which the effective weights "
            "leave out. The post's argument reads the ReLU-free effective weights, so on this network it would "
            "still see noise and predict an attack that the network in fact resists.")
    elif jac_robust == "digit-like":
        lines.append(
            "Adversarial training smooths the effective weights themselves, not only the local Jacobians: the "
            "post's ReLU-free pictures show the change too. So the post's picture, although it ignores the ReLUs, "
            "tracks robustness on these networks: rougher effective weights went with the fragile network, "
            f"digit-like ones with the {STREET} one.")
    else:
        lines.append(
            f"The {STREET} network's local Jacobians are {jac_robust} and its effective weights {eff_robust}: "
            "adversarial training at this ε did not turn either into a digit.")
    if hf[0, eff] < NOISE_LIKE_HF:
        lines.append(
            f"Note that the {BOOK} network's effective weights are not pure noise either (pixel noise gives "
            f"{NOISE_HIGH_FREQUENCY_SHARE:.2f}, a single test digit about 0.11).")
    return lines


def epochs_sentence(c: RobustComparison, kind: str = "effective_weights") -> str:
    """How one kind of map's high-frequency share moved during each run's training."""
    k = MAP_KINDS.index(kind)
    parts = []
    for i, name in enumerate(NETWORK_NAMES):
        curve = c.map_high_frequency[i, : int(c.epochs[i]) + 1, k]
        low = int(np.nanargmin(curve))
        parts.append(f"the {name} network's went from {format_number(curve[0])} at initialisation to "
                     f"{format_number(curve[low])} after epoch {low} and ended at {format_number(curve[-1])}")
    return f"High-frequency share of the {MAP_LABELS[kind]}: " + "; ".join(parts) + "."


def accuracy_sentences(c: RobustComparison) -> list[str]:
    """Clean accuracy, and the robust accuracy (worst case over every attack) at each ε of each norm."""
    lines = [f"Clean accuracy on {c.n_images} test images: {BOOK} {pct(c.clean_accuracy[0])}, {STREET} "
             f"{pct(c.clean_accuracy[1])}."]
    worst = ATTACK_ROWS.index("worst")
    for norm in NORMS:
        grid, table = getattr(c, f"{norm}_eps"), getattr(c, f"{norm}_accuracy")
        cells = ", ".join(f"ε = {eps:g}: {pct(table[0, worst, j])} → {pct(table[1, worst, j])}"
                          for j, eps in enumerate(grid))
        lines.append(f"Robust accuracy, {NORM_LABELS[norm]} (worst case over every attack, {BOOK} → {STREET}): "
                     f"{cells}.")
    return lines


def masking_sentence(c: RobustComparison, norm: str = "linf", network: int = 1) -> str:
    """Whether any attack that does not trust the network's gradients beat PGD (a sign of gradient masking)."""
    grid, table = getattr(c, f"{norm}_eps"), getattr(c, f"{norm}_accuracy")[network]
    pgd = table[ATTACK_ROWS.index("pgd")]
    beaten = []
    for name in ("transfer", "square", "foolbox"):
        row = table[ATTACK_ROWS.index(name)]
        for j, eps in enumerate(grid):
            if math.isfinite(row[j]) and pgd[j] - row[j] > MASKING_MARGIN:
                beaten.append(f"{ATTACK_LABELS[name]} at ε = {eps:g} ({pct(row[j])} against PGD's {pct(pgd[j])})")
    who = NETWORK_NAMES[network]
    missing = [ATTACK_LABELS[n] for n in ("square",) if not np.isfinite(table[ATTACK_ROWS.index(n)]).any()]
    not_run = f" ({', '.join(missing)} was not part of this comparison.)" if missing else ""
    if beaten:
        return (f"Sign of gradient masking on the {who} network, {NORM_LABELS[norm]}: "
                + "; ".join(beaten) + ". PGD's figure overstates its robustness; the worst case is reported."
                + not_run)
    return (f"No sign of gradient masking on the {who} network, {NORM_LABELS[norm]}: no transfer, gradient-free or "
            f"Foolbox attack beat PGD by more than {100 * MASKING_MARGIN:.0f} points at any ε. The robust accuracy "
            f"reported is still the worst case per image over every attack." + not_run)


def overlay_sentence(c: RobustComparison, eps: Optional[float] = None) -> str:
    """The post's overlay on both networks at one ε of its grid (default: the grid point nearest 0.3)."""
    grid = np.asarray(c.overlay_eps)
    j = int(np.argmin(np.abs(grid - (0.3 if eps is None else eps))))
    top = len(grid) - 1
    return (f"The post's overlay (output-neuron effective weights added at {NORM_LABELS['linf']} ε = {grid[j]:g}) "
            f"turns {pct(c.overlay_success[0, j])} of correctly classified (image, target) pairs into the target on the "
            f"{BOOK} network and {pct(c.overlay_success[1, j])} on the {STREET} one (random patterns of the same "
            f"size: {pct(c.overlay_control[0, j])} and {pct(c.overlay_control[1, j])}). At ε = {grid[top]:g}: "
            f"{pct(c.overlay_success[0, top])} and {pct(c.overlay_success[1, top])}. Measured on the first "
            f"{c.n_images} test images, as every attack of this page; the Adversarial overlay page counts the whole "
            "test set, so its rates differ by a few points.")


def subspace_sentence(c: RobustComparison) -> str:
    """The share of the effective weights' and of ΔW1's energy inside the top-k data subspace."""
    eff = ", ".join(f"{pct(a)} → {pct(b)}" for a, b in zip(c.effective_inside[0], c.effective_inside[1]))
    return (f"Inside the top-{c.subspace_k} data subspace (a random direction puts {pct(c.random_inside)} there): "
            f"the effective weights of each layer, {BOOK} → {STREET}, {eff}; ΔW1, what training did to the first "
            f"layer, {pct(c.delta_w1_inside[0])} → {pct(c.delta_w1_inside[1])}.")


def sparsity_sentence(c: RobustComparison) -> str:
    """Highly and mildly activated neurons per image, per hidden layer, for both networks."""
    parts = [f"Layer_{i + 1}: {c.high_per_image[0, i]:.1f} high and {c.mild_per_image[0, i]:.1f} mild ({BOOK}) "
             f"against {c.high_per_image[1, i]:.1f} and {c.mild_per_image[1, i]:.1f} ({STREET})"
             for i in range(c.high_per_image.shape[1])]
    return "Active neurons per image: " + "; ".join(parts) + "."


def comparison_rows(c: RobustComparison) -> list[dict]:
    """The comparison's headline numbers as table rows ``{"measure", "setting", "book-smart", "street-smart"}``."""
    rows = [{"measure": "clean accuracy", "setting": f"{c.n_images} test images",
             BOOK: float(c.clean_accuracy[0]), STREET: float(c.clean_accuracy[1])}]
    for norm in NORMS:
        grid, table = getattr(c, f"{norm}_eps"), getattr(c, f"{norm}_accuracy")
        for a, name in enumerate(ATTACK_ROWS):
            for j, eps in enumerate(grid):
                rows.append({"measure": f"accuracy, {ATTACK_LABELS[name]}",
                             "setting": f"{NORM_LABELS[norm]} ε = {eps:g}",
                             BOOK: float(table[0, a, j]), STREET: float(table[1, a, j])})
    for field, label in (("map_high_frequency", "high-frequency share"), ("map_roughness", "roughness"),
                         ("map_correlation", "r with class average"),
                         ("map_correlation_centred", "r with centred class average")):
        final = final_maps(c, field)
        for k, kind in enumerate(MAP_KINDS):
            rows.append({"measure": f"{MAP_LABELS[kind]}: {label}", "setting": "last epoch, median",
                         BOOK: float(final[0, k]), STREET: float(final[1, k])})
    for i in range(c.effective_inside.shape[1]):
        rows.append({"measure": f"effective weights inside the data subspace, layer {i + 1}",
                     "setting": f"k = {c.subspace_k}", BOOK: float(c.effective_inside[0, i]),
                     STREET: float(c.effective_inside[1, i])})
    rows.append({"measure": "ΔW1 inside the data subspace", "setting": f"k = {c.subspace_k}",
                 BOOK: float(c.delta_w1_inside[0]), STREET: float(c.delta_w1_inside[1])})
    for j, eps in enumerate(c.overlay_eps):
        rows.append({"measure": "overlay success", "setting": f"{NORM_LABELS['linf']} ε = {eps:g}",
                     BOOK: float(c.overlay_success[0, j]), STREET: float(c.overlay_success[1, j])})
    for i in range(c.high_per_image.shape[1]):
        for field, label in (("high_per_image", "high"), ("mild_per_image", "mild")):
            values = getattr(c, field)
            rows.append({"measure": f"{label} neurons per image, Layer_{i + 1}", "setting": "mean",
                         BOOK: float(values[0, i]), STREET: float(values[1, i])})
    return rows


def scales_note(maps: dict) -> str:
    """Which colour scale each network's grid uses (``{name: (784, 10)}``): each its own, symmetric about 0."""
    bounds = ", ".join(f"±{float(np.nanmax(np.abs(np.asarray(m)))):.2g} for the {name} network" for name, m in
                       maps.items())
    return (f"Each network's grid has its own colour scale ({bounds}), so compare the shapes, not the strength of "
            "the colours.")
