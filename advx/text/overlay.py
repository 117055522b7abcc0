"""The sentences the overlay page shows, written from the measured numbers so that they cannot contradict them.
The size of a perturbation is ε everywhere (``eps`` in the code); labels come from ``advx.vocabulary``."""

from __future__ import annotations

import math

from advx.vocabulary import ATTACK_LABELS, NORM_LABELS, pct


def story(*, source_label: str, target: int, norm: str, eps: float, overlay_rate: float,
          random_rate: float, random_untargeted: float, image_flipped: bool, image_confidence: float,
          image_min_eps: float) -> list[str]:
    """Sentences for the page, written from the measured numbers so they cannot contradict them.

    Rates are shares in [0, 1]; ``eps`` is the overlay's size, ``image_min_eps`` the smallest that
    flips the image (may be ``inf``).
    """
    norm_label = NORM_LABELS[norm]
    pattern = source_label[0].lower() + source_label[1:]
    out = []
    if image_flipped:
        out.append(f"On this image the {pattern} pattern at {norm_label} ε = {eps:g} makes the network "
                   f"answer {target} with probability {pct(image_confidence)}.")
    else:
        out.append(f"On this image the {pattern} pattern at {norm_label} ε = {eps:g} does not make the "
                   f"network answer {target}.")
    if math.isfinite(image_min_eps):
        out.append(f"The smallest ε that flips it to {target} is {image_min_eps:.3g}.")
    else:
        out.append(f"No ε in the range shown flips it to {target}.")
    ratio = overlay_rate / random_rate if random_rate > 0 else math.inf
    compare = (f"Across the correctly classified test images, the pattern for each target turns {pct(overlay_rate)} "
               f"of the (image, other target) pairs into the target, against {pct(random_rate)} for random noise "
               f"of the same {norm_label} norm (which moves {pct(random_untargeted)} to some other class). ")
    if overlay_rate >= 0.1 and ratio >= 5:
        compare += ("The direction matters, not the size: a pattern of the same size pointing nowhere in "
                    "particular barely changes the network's mind.")
    elif overlay_rate > random_rate:
        compare += ("The pattern beats the control, but at this ε not by the wide margin the argument "
                    "predicts; raise ε to see whether the gap opens.")
    else:
        compare += ("Here the pattern does no better than the control, which does not fit the story: at this "
                    "setting the direction does not matter.")
    out.append(compare)
    return out


def comparison_sentences(rows: list[dict], norm: str, target: int) -> list[str]:
    """What ``comparison_table`` rows of one norm say, in sentences that follow the numbers."""
    rows = sorted((r for r in rows if r["norm"] == norm), key=lambda r: r["eps"])
    if not rows:
        return []
    label = NORM_LABELS[norm]

    def series(method):
        return ", ".join(f"{pct(r[method])}" for r in rows)

    eps_values = ", ".join(f"{r['eps']:g}" for r in rows)
    out = [f"At {label} ε = {eps_values}, aimed at {target}: the {ATTACK_LABELS['overlay']} succeeds on "
           f"{series('overlay')}, its sign on {series('overlay_sign')}, {ATTACK_LABELS['fgsm']} on {series('fgsm')}, "
           f"{ATTACK_LABELS['pgd']} on {series('pgd')}, and {ATTACK_LABELS['random']} on {series('random')}."]
    beaten = [r["eps"] for r in rows if r["pgd"] < max(r["overlay"], r["overlay_sign"])]
    if beaten:
        out.append("Unexpectedly, one fixed pattern beats the tailored PGD at ε = "
                   f"{', '.join(f'{eps:g}' for eps in beaten)}: PGD's 40 small steps may be too few for that ε.")
    else:
        out.append("Attacks tailored to each image do at least as well as the single fixed pattern at every ε, "
                   "as expected: the overlay shows that one direction suffices, not that it is the best one.")
    fgsm_wins = [r["eps"] for r in rows if r["fgsm"] > max(r["overlay"], r["overlay_sign"])]
    if fgsm_wins:
        out.append("FGSM, a single gradient step per image, beats both fixed patterns at ε = "
                   f"{', '.join(f'{eps:g}' for eps in fgsm_wins)}.")
    weak = [r["eps"] for r in rows if r["overlay"] < 0.05]
    working = [r for r in rows if r["overlay"] >= 0.05]
    noisy = [r["eps"] for r in working if r["random"] >= 0.5 * r["overlay"]]
    if weak:
        out.append(f"At ε = {', '.join(f'{eps:g}' for eps in weak)} the overlay itself barely works (under 5%), "
                   "so there the random control has little to fall short of.")
    if noisy:
        out.append(f"Random noise comes within a factor of two of the overlay at ε = "
                   f"{', '.join(f'{eps:g}' for eps in noisy)}, which does not fit the story there.")
    elif working:
        out.append("Where the overlay works, random noise of the same size stays far below it.")
    return out
