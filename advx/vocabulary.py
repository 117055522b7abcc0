"""The one vocabulary of the pages, figures and sentences: names and labels of the norms, attacks, optimizers and
networks, the blog post the app follows, and how a share, a number and an ε are written.

Every sentence module (``advx.text``) and every figure module (``advx.figures``) takes its labels from here, and the
library's tuples of names (``advx.attacks.NORMS``, ``advx.config.OPTIMIZERS``) are these. A plain module of constants
and small formatting functions; it imports nothing from the rest of ``advx``.
"""

from __future__ import annotations

import math
from typing import Optional

# The post the app follows; "seed" is only ever a random seed.
POST_AUTHOR = "Justin Skycak"
POST_TITLE = "Intuiting Adversarial Examples in Neural Networks via a Simple Computational Experiment"
POST_CREDIT = f"{POST_AUTHOR}, *“{POST_TITLE}”*"

# Threat models: the norm that measures a perturbation's size ε.
NORMS = ("linf", "l2")
NORM_LABELS = {"linf": "L∞", "l2": "L2"}

OPTIMIZERS = ("adam", "sgd")
OPTIMIZER_LABELS = {"adam": "Adam", "sgd": "SGD"}

# The two networks the Street-smart page compares: index 0 the standard network (plain training), 1 the robust one
# (adversarially trained). The pages call them book-smart and street-smart.
NETWORK_NAMES = ("book-smart", "street-smart")

# Every attack by one key, with its label as it reads inside a sentence or a legend ("the overlay", "FGSM").
ATTACKS = ("overlay", "overlay_sign", "random", "fgsm", "pgd", "transfer", "square", "foolbox", "worst")
ATTACK_LABELS = {
    "overlay": "overlay",
    "overlay_sign": "sign of the overlay",
    "random": "random noise",
    "fgsm": "FGSM",
    "pgd": "PGD",
    "transfer": "transfer",
    "square": "random search",
    "foolbox": "Foolbox's PGD",
    "worst": "worst case",
}
# The longer names a comparison's legend or table gives, saying how each attack works.
ATTACK_DETAILS = {
    "overlay": "overlay (effective weights)",
    "overlay_sign": "overlay (sign of effective weights)",
    "random": "random noise",
    "fgsm": "FGSM (per image)",
    "pgd": "PGD (per image)",
    "transfer": "transfer from the other network",
    "square": "gradient-free random search",
    "foolbox": "Foolbox's PGD",
    "worst": "worst case over every attack",
}

# Where the overlay's pattern comes from (``advx.attacks.PATTERN_SOURCES``).
SOURCE_LABELS = {
    "effective_weights": "Effective weights",
    "sign_effective_weights": "Sign of the effective weights",
    "local_jacobian": "Local Jacobian at the image",
    "sign_local_jacobian": "Sign of the local Jacobian",
    "random": "Random noise (control)",
}


def capitalised(label: str) -> str:
    """``label`` with its first letter upper case, for the start of a sentence, a table cell or a picker."""
    return label[:1].upper() + label[1:]


ATTACK_TITLES = {key: capitalised(label) for key, label in ATTACK_LABELS.items()}


def eps_label(norm: str) -> str:
    """``"L∞ ε"`` or ``"L2 ε"``: the size of a perturbation under ``norm``, as an axis title or a slider's label."""
    return f"{NORM_LABELS[norm]} ε"


def pct(share: Optional[float], digits: int = 1, *, missing: str = "n/a") -> str:
    """A share in [0, 1] as a percentage with ``digits`` decimals: ``pct(0.1234) == "12.3%"``.

    ``None``, NaN and infinities read ``missing``. A share short of 1 never reads as 100%: where rounding would
    show ``"100.0%"``, more decimals are given (``pct(0.9996) == "99.96%"``; at most three more, cut rather than
    rounded beyond that: ``pct(1 - 1e-9) == "99.9999%"``). A tiny share
    rounds as any other (``pct(0.0004) == "0.0%"``), and exactly 0 and 1 read ``"0.0%"`` and ``"100.0%"``.
    """
    if share is None or not math.isfinite(float(share)):
        return missing
    value = 100 * float(share)
    for places in range(digits, digits + 4):
        text = f"{value:.{places}f}"
        if value >= 100 or float(text) < 100:
            return f"{text}%"
    return f"{math.floor(value * 10 ** places) / 10 ** places:.{places}f}%"


def format_number(value: Optional[float], digits: int = 2) -> str:
    """A number with ``digits`` decimals, or ``"n/a"`` for ``None`` and NaN (a dead neuron has no dataset average)."""
    return "n/a" if value is None or not math.isfinite(float(value)) else f"{float(value):.{digits}f}"


def member_label(config) -> str:
    """``"Adam, seed 1"`` for a ``TrainConfig``, with ``", init ×0.5"`` when the initialisation scale is not 1."""
    label = f"{OPTIMIZER_LABELS.get(config.optimizer, config.optimizer)}, seed {config.seed}"
    return label if config.init_scale == 1.0 else f"{label}, init ×{config.init_scale:g}"
