"""The glossary: every term the lab uses, in plain words and with the scale of its numbers.

``TERMS`` maps an anchor to ``(term, explanation)``; ``link(anchor, text)`` is the markdown a page puts at a term's
first use, pointing at the glossary page's entry.
"""

from __future__ import annotations

from typing import Optional

from advx.vocabulary import NORM_LABELS

TERMS = {
    "eps": ("ε (epsilon), the size of a change",
            "How far an attack may move the image. Pixels run from 0 (white paper) to 1 (full ink). Under L∞, "
            "ε = 0.1 means each pixel moves by at most a tenth of full ink; ε = 0.3, the value the papers use on "
            "MNIST, already greys the background visibly; ε = 1 could turn any image into any other. Under L2, ε is "
            "the length of the whole change: ε = 2 spread over all 784 pixels is about 0.07 per pixel."),
    "linf": (f"{NORM_LABELS['linf']} (L-infinity)",
             "A way to measure a change by its largest single pixel change: every pixel may move, none by more "
             "than ε."),
    "l2": (NORM_LABELS["l2"],
           "A way to measure a change by its overall length, the square root of the sum of the squared pixel "
           "changes: a few pixels may move a lot, or many a little."),
    "effective-weights": ("Effective weights",
                          "The weight matrices multiplied from the pixels up to one neuron, ignoring the ReLUs and "
                          "the biases (Layer_1: W1; Layer_2: W1·W2; output: W1·W2·W3). One number per pixel: how much "
                          "that pixel pushes the neuron up (red) or down (blue). Shaped like the picture that drives "
                          "the neuron hardest among all pictures of the same size."),
    "dataset-average": ("Dataset average",
                        "The 60,000 training images averaged, each weighted by how strongly it activates a neuron: "
                        "what the neuron responds to among real digits."),
    "data-subspace": ("Data subspace",
                      "The few directions of the 784-pixel space along which handwritten digits actually vary, found "
                      "by a principal component analysis of the training images. About 100 of the 784 directions "
                      "hold 95% of the images' energy; about 70 pixels are blank in every image. Inside is where "
                      "digits live; outside, the directions no training image ever points along."),
    "noise-measure": ("Fine-detail share (noise or digit?)",
                      "How much of a picture's energy sits in fine, pixel-to-pixel detail (high spatial frequencies, "
                      "the mean removed). Pixel noise gives about 0.8; a written digit, with its smooth strokes, "
                      "about 0.1. The lab calls a map noise-like from 0.5 and digit-like below 0.15. The pages call "
                      "it the high-frequency share (HF)."),
    "roughness": ("Roughness",
                  "The size of the differences between neighbouring pixels, relative to the picture's own spread: "
                  "pixel noise about 2, smooth strokes far less."),
    "jacobian": ("Local Jacobian",
                 "The exact gradient of a neuron with respect to the pixels at one image: the effective weights "
                 "with the ReLUs of that image included (only the neurons that are active on it count)."),
    "overlay": ("The overlay",
                "The post's attack: add ε times one fixed pattern (here the noise-like effective weights of the "
                "target's output neuron) to every image, and clip to [0, 1]. The same pattern for every image."),
    "fgsm": ("FGSM (fast gradient sign method)",
             "An attack in one step: move every pixel by ε in the direction that most raises the target's score at "
             "that image (the sign of the gradient). Goodfellow, Shlens and Szegedy, 2015."),
    "pgd": ("PGD (projected gradient descent)",
            "An attack in many small gradient steps (40 here), each followed by a step back into the allowed size ε. "
            "The strongest of the simple attacks, and the one used to train street-smart networks. Madry et al., "
            "2018."),
    "book-smart": ("Book-smart and street-smart",
                   "The post's words. A book-smart network was trained only on clean digits; a street-smart one "
                   "was trained on digits attacked by PGD (adversarial training), so it has seen the directions "
                   "off the data."),
    "success-rate": ("Success rate",
                     "The share of correctly classified test images (and targets) that an attack turns into its "
                     "target. Each page says which images it counts: the whole test set or its first 200, 500 or "
                     "2,000, so two pages can give different rates for the same ε."),
    "verdict": ("Holds, partly, fails",
                "The lab's verdict on a claim or a prediction, computed from the measured numbers with thresholds "
                "named on the page that shows them."),
}


def link(anchor: str, text: Optional[str] = None) -> str:
    """Markdown for a term's first use on a page: ``text`` (default: the term's name) linked to its entry."""
    if anchor not in TERMS:
        raise KeyError(f"no glossary entry {anchor!r}")
    return f"[{text or TERMS[anchor][0]}](./glossary#{anchor})"
