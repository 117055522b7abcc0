"""The sentences the drawing page shows, written from the measured numbers so that they cannot contradict them.
The size of a perturbation is ε on the page (``eps`` in the code); ``k`` is the dimension of the data subspace."""

from __future__ import annotations

import math

import numpy as np

from advx.drawing.preprocess import AT_EDGE, BOX, CLIPPED, DOT, EMPTY, OFF_CENTRE, REDONE, SOLID, Preprocessed
from advx.drawing.reading import Fooling, Reading, share_below
from advx.vocabulary import NORM_LABELS, pct

INFO, WARNING = "info", "warning"


def issue_messages(pre: Preprocessed, raw_side: int) -> list[tuple[str, str]]:
    """``[(kind, sentence)]`` for the drawing's issues (``INFO`` or ``WARNING``), in the order they matter."""
    out = []
    if EMPTY in pre.issues:
        return [(INFO, "The pad is empty. Draw one digit in the box with the mouse, a pen or a finger, or start "
                       "from an example; until then there is nothing for the network to read.")]
    if SOLID in pre.issues:
        out.append((WARNING, f"The pad is filled almost solid ({pre.ink_share:.0%} of it is ink). MNIST's preprocessing "
                             f"shrinks the whole block into its {BOX} × {BOX} box, so the network sees a grey square, "
                             "not a digit, and its answer means little. Clear the pad and draw one digit."))
    if DOT in pre.issues:
        top, left, bottom, right = pre.box
        out.append((WARNING, f"That is a single dot ({max(bottom - top, right - left)} of the pad's {raw_side} pixels "
                             f"across). MNIST's preprocessing enlarges any drawing to fill its {BOX} × {BOX} box, "
                             "so the dot becomes a blob, and the network's answer means little. Draw a whole digit."))
    if OFF_CENTRE in pre.issues:
        out.append((INFO, "The drawing sits far from the middle of the pad. That makes no difference: MNIST's "
                          "preprocessing moves every digit so that its centre of mass is in the middle, as the "
                          "28 × 28 input shows."))
    if AT_EDGE in pre.issues:
        out.append((INFO, "The ink touches the edge of the pad, so part of the digit may be cut off."))
    if REDONE in pre.issues:
        out.append((INFO, "The drawing in the link was not shaped as MNIST's preprocessing leaves a digit (inside a "
                          f"{BOX} × {BOX} box, centred by its centre of mass), so it was preprocessed again."))
    if CLIPPED in pre.issues:
        out.append((INFO, "The ink is so lopsided that centring its centre of mass would push some of it out of the "
                          "28 × 28 field; it was moved only as far as fits."))
    return out


def reading_sentence(title: str, reading: Reading) -> str:
    """What a network answers, with its runner-up."""
    order = np.argsort(-reading.probabilities, kind="stable")
    second = int(order[1])
    return (f"{title} reads **{reading.prediction}** with probability {pct(reading.confidence)} "
            f"(runner-up: {second}, {pct(float(reading.probabilities[second]))}).")


def neuron_sentence(layer: str, counts: tuple[int, int, int], test_counts: np.ndarray) -> str:
    """``counts``: the drawing's (inactive, mild, high); ``test_counts``: ``(n, 3)`` the test images' counts."""
    _, mild, high = counts
    width = sum(counts)
    test_high, test_mild = test_counts[:, 2], test_counts[:, 1]
    q1, median, q3 = np.percentile(test_high, [25, 50, 75])
    fewer, more = float((test_high < high).mean()), float((test_high > high).mean())
    verdict = f"{pct(fewer)} of them have fewer high neurons, {pct(more)} more"
    if min(fewer + (1 - fewer - more), more + (1 - fewer - more)) < 0.01:
        verdict += ": the network is not treating this like the digits it knows"
    return (f"**{layer}**: {high} high and {mild} mild of {width} neurons. Test digits: median {median:g} high "
            f"(middle half {q1:g}–{q3:g}) and {np.median(test_mild):g} mild; {verdict}.")


def subspace_sentence(share: float, k: int, level: float, test_shares: np.ndarray) -> str:
    """The drawing's energy share inside the top-``k`` data subspace against the test images' shares."""
    if not math.isfinite(share):
        return "An empty drawing has no energy to split."
    below = share_below(share, test_shares)
    low = float(np.percentile(test_shares, 1))
    text = (f"{pct(share)} of the drawing's energy lies inside the data subspace (the top k = {k} directions, "
            f"which hold {level:.0%} of the training images' energy). Test digits: median "
            f"{pct(float(np.median(test_shares)))}, 1% of them below {pct(low)}; {pct(below)} have less than "
            "this drawing. ")
    if share < low:
        return text + ("This drawing lies further outside the subspace than 99% of the test digits: it is not much "
                       "like any digit the network was trained on, whatever the network answers.")
    return text + "In the subspace's terms this looks like a digit."


def fool_sentences(title: str, fooling: Fooling, before: int) -> list[str]:
    """What the overlay and PGD do to ``title``'s answer (``before``: its answer to the drawing itself)."""
    label = NORM_LABELS[fooling.norm]
    t = fooling.target
    if before == t:
        return [f"{title} already answers {t}; pick another target."]
    out = []
    if fooling.flipped:
        out.append(f"At {label} ε = {fooling.eps:g} the overlay turns {title.lower()}'s {before} into "
                   f"**{t}** ({pct(float(fooling.probabilities[t]))}).")
    else:
        out.append(f"At {label} ε = {fooling.eps:g} {title.lower()} still answers {fooling.prediction} "
                   f"(probability of {t}: {pct(float(fooling.probabilities[t]))}).")
    if math.isfinite(fooling.overlay_eps):
        out.append(f"The smallest overlay ε that makes it answer {t}: **{fooling.overlay_eps:.3g}**.")
    else:
        out.append(f"No overlay ε up to the slider's end makes it answer {t}.")
    if math.isnan(fooling.pgd_eps):
        return out
    if math.isfinite(fooling.pgd_eps):
        ratio = (f", {fooling.overlay_eps / fooling.pgd_eps:.1f}× smaller than the overlay's"
                 if math.isfinite(fooling.overlay_eps) and fooling.pgd_eps > 0 else "")
        out.append(f"PGD, which picks its own direction for this drawing, needs ε = **{fooling.pgd_eps:.3g}**{ratio}.")
    else:
        out.append(f"PGD finds no ε up to the slider's end that makes it answer {t}.")
    return out
