"""The verdicts: each explanation's prediction against the measured numbers, as ``"holds"``, ``"partly"`` or
``"fails"``. Pure functions of numbers, with every threshold a named constant, so a verdict follows the numbers
and a test can move it by feeding other numbers."""

from __future__ import annotations

import math

VERDICTS = ("holds", "partly", "fails")
VERDICT_LABELS = {"holds": "Holds", "partly": "Partly", "fails": "Fails"}

# Post: the off-data part carries the change of the target's logit.
LOGIT_OUTSIDE_HOLDS = 0.7  # at least 70% of the change comes from outside the data subspace
LOGIT_OUTSIDE_PARTLY = 0.5  # most of it does
# The dimpled manifold: attacks go almost straight off the manifold.
OFF_DATA_HOLDS = 0.9  # at least 90% of the perturbation's energy lies outside the data subspace
# The dimpled manifold and the post: kept on the data, an attack needs a much larger ε.
RESTRICTED_HOLDS = 2.0  # at least twice the unrestricted attack's median ε
RESTRICTED_PARTLY = 1.25  # at least a quarter more
# Features, not bugs: a network trained only on the relabelled attacks generalises to the clean test set.
CHANCE = 0.1  # ten classes
FEATURES_HOLDS = 0.5  # both relabelled sets give at least 50% clean test accuracy (Ilyas et al.'s claim is "well")
FEATURES_PARTLY = 0.2  # at least one gives twice chance
NEAR_CHANCE = 0.2  # an accuracy below this generalises nothing worth the name
# Linearity: along the attack the true change is within this factor of the first-order prediction.
LINEAR_HOLDS = 1.25
LINEAR_PARTLY = 2.0
# Already at the start: the untrained network flips at an ε no larger than the trained one's.
FOUND_SHARE = 0.9  # the search must find a flipping ε for at least 90% of the images
INITIAL_PARTLY = 2.0  # within twice the trained network's ε
# The dimpled manifold over training: the boundary clings to the data, so it is nearer off the data than on it.
CLING_RATIO = 0.8  # the median distance off the data at most 80% of the distance along it


def logit_outside_verdict(share_outside: float) -> str:
    """The post: the outside part's share of the change of the target's logit."""
    return "holds" if share_outside >= LOGIT_OUTSIDE_HOLDS else "partly" if share_outside >= LOGIT_OUTSIDE_PARTLY \
        else "fails"


def off_data_verdict(energy_outside: float, random_outside: float) -> str:
    """The dimpled manifold: the attack's energy share outside, against a random direction's share."""
    return "holds" if energy_outside >= OFF_DATA_HOLDS else "partly" if energy_outside >= random_outside else "fails"


def restricted_verdict(ratio: float) -> str:
    """The median ε kept inside the subspace over the unrestricted attack's (``inf``: often not found at all)."""
    return "holds" if ratio >= RESTRICTED_HOLDS else "partly" if ratio >= RESTRICTED_PARTLY else "fails"


def features_verdict(shifted: float, random: float) -> str:
    """Ilyas et al.: the clean test accuracies of the networks trained on the two relabelled sets."""
    return "holds" if min(shifted, random) >= FEATURES_HOLDS else "partly" if max(shifted, random) >= \
        FEATURES_PARTLY else "fails"


def parts_verdict(inside: float, outside: float) -> str:
    """The post: the perturbations' parts outside the data are the initialisation's, so training on them alone
    generalises to nothing; the part inside carries what generalises."""
    if outside < NEAR_CHANCE and inside > outside:
        return "holds"
    return "partly" if inside > outside else "fails"


def linearity_verdict(ratio: float) -> str:
    """Goodfellow et al.: the median true / first-order change of the margin at the attack's ε."""
    spread = abs(math.log(ratio)) if ratio > 0 else math.inf
    return "holds" if spread <= math.log(LINEAR_HOLDS) else "partly" if spread <= math.log(LINEAR_PARTLY) \
        else "fails"


def initial_verdict(initial: float, trained: float, found: float) -> str:
    """Bubeck et al.: the untrained network's median smallest ε against the trained one's, and the share of images
    for which one was found at initialisation."""
    if found < FOUND_SHARE:
        return "fails"
    return "holds" if initial <= trained else "partly" if initial <= INITIAL_PARTLY * trained else "fails"


def cling_verdict(ratios) -> str:
    """Shamir et al.: ``ratios``, the median distance to the boundary off the data over the distance on it, after
    each trained epoch (the untrained network left out): at most ``CLING_RATIO`` at every epoch, at some, or at
    none."""
    clinging = [r <= CLING_RATIO for r in ratios]
    return "holds" if all(clinging) else "partly" if any(clinging) else "fails"
