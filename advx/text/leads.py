"""The two plain sentences at the top of every page: what to look at, and what it means.

``LEADS`` maps a page's script to ``(look, means)``; ``lead(script, numbers)`` joins them, with the run's own
numbers (a short phrase the page measured) when the page has them.
"""

from __future__ import annotations

from typing import Optional

from advx.vocabulary import NETWORK_NAMES

BOOK, STREET = NETWORK_NAMES

LEADS = {
    "views/train.py": (
        "Look at the two curves: the network learns to read handwritten digits in a few passes over the 60,000 "
        "training images.",
        "Every later page studies this trained network; a shared link says which one."),
    "views/activations.py": (
        "Look at the bars: one test image, and which hidden neurons it switches on strongly, mildly or not at all.",
        "Each digit is handled by a small team of neurons: the post's first observation."),
    "views/effective_weights.py": (
        "Look at the maps: each is the picture a neuron responds to most, read off its weights alone.",
        "They look like static, not like digits: the puzzle the post starts from."),
    "views/dataset_averages.py": (
        "Look at the right-hand maps: the training images averaged, each weighted by how strongly it drives the "
        "neuron.",
        "They look like strokes of digits while the same neuron's weights look like noise: the neuron answers to "
        "digits, yet its weights hold much else."),
    "views/compare.py": (
        "Pick any neurons and see their weights, their dataset averages and the test images that drive them "
        "hardest, side by side.",
        "The gap between the first two is what the rest of the lab explains."),
    "views/why.py": (
        "Look at how much of each neuron lies inside the few directions that real digits span, and how much "
        "outside.",
        "The post says training shapes only the inside; the outside keeps its random start, and the noise comes "
        "from there."),
    "views/overlay.py": (
        "Look at the three images: a 7, the noise-like pattern of output neuron 0, and their sum, which the "
        "network reads as 0.",
        "ε sets how far each pixel may move (0.1 = a tenth of full ink); the page measures how small it can be."),
    "views/draw.py": (
        "Draw a digit and watch each stage run on your own handwriting, then a small pattern flip the answer.",
        "The effect is not a quirk of the test set: it works on any digit."),
    "views/street_smart.py": (
        f"Look at the two networks side by side: one trained normally ({BOOK}), one trained on attacked "
        f"images ({STREET}).",
        "If the post is right, the street-smart network's maps look like digits and it resists the overlay."),
    "views/networks.py": (
        "The post's network is trained many times, from different random starts and with two optimizers.",
        "If the noise is each network's random leftover, attacks transfer poorly between them and the networks "
        "disagree off the data."),
    "views/bugs_or_features.py": (
        "Five explanations of adversarial examples, each with a prediction, tested on this network.",
        "Read the verdict table: where the post's explanation holds, and where a rival explains more."),
    "views/glossary.py": (
        "Every term the lab uses, in plain words, with the scale of its numbers.",
        "Each page links here at a term's first use."),
}


def lead(script: str, numbers: Optional[str] = None) -> Optional[str]:
    """The page's two sentences as markdown (``None`` for a page without them); ``numbers`` follows the second."""
    if script not in LEADS:
        return None
    look, means = LEADS[script]
    if numbers:
        means = f"{means} On this run: {numbers}."
    return f"**{look}** {means}"
