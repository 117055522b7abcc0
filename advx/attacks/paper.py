"""The paper table: our network under untargeted L-inf FGSM and PGD, beside the published figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax
import jax.numpy as jnp

from advx.attacks.checks import check_images
from advx.attacks.gradient import as_model_fn, fgsm, pgd
from advx.attacks.overlay import probabilities
from advx.model import to_pixels

PAPER_EPS = (0.05, 0.1, 0.2, 0.25, 0.3)
PAPER_CHUNK = 2000  # images per step: bounds the attacks' working memory (about 30 MB per float copy of 10,000)


@dataclass(frozen=True)
class PublishedResult:
    """A published figure for an attack on MNIST, with where it comes from and its setting."""

    source: str
    model: str
    attack: str
    eps: float
    setting: str
    error_rate: Optional[float] = None
    mean_confidence: Optional[float] = None
    accuracy: Optional[float] = None


PUBLISHED = (
    PublishedResult("Goodfellow, Shlens, Szegedy 2015, “Explaining and Harnessing Adversarial Examples”, §4",
                    "shallow softmax classifier", "FGSM", 0.25,
                    "untargeted FGSM, ε = 0.25, pixels in [0, 1], MNIST test set",
                    error_rate=0.999, mean_confidence=0.793),
    PublishedResult("Goodfellow, Shlens, Szegedy 2015, “Explaining and Harnessing Adversarial Examples”, §4",
                    "maxout network", "FGSM", 0.25,
                    "untargeted FGSM, ε = 0.25, pixels in [0, 1], MNIST test set",
                    error_rate=0.894, mean_confidence=0.976),
    PublishedResult("Madry et al. 2018, “Towards Deep Learning Models Resistant to Adversarial Attacks”, §4",
                    "naturally trained CNN", "FGSM", 0.3,
                    "untargeted FGSM, ε = 0.3, MNIST test set (clean accuracy 99.2%)",
                    accuracy=0.064),
    PublishedResult("Madry et al. 2018, “Towards Deep Learning Models Resistant to Adversarial Attacks”, Table 1",
                    "adversarially trained CNN", "PGD", 0.3,
                    "untargeted PGD, ε = 0.3, 100 steps of 0.01, 20 random restarts, MNIST test set",
                    accuracy=0.893),
)


@jax.jit
def _attack_counts(params, adversarial, labels):
    """``(number misclassified, sum of their top probability)`` over a chunk: summed across chunks."""
    probs = probabilities(params, adversarial)
    wrong = jnp.argmax(probs, axis=-1) != labels
    return jnp.sum(wrong), jnp.sum(jnp.where(wrong, jnp.max(probs, axis=-1), 0.0))


def paper_table(params: dict, images, labels, eps_values=PAPER_EPS, *, key: jax.Array,
                pgd_eps: float = 0.3, pgd_steps: int = 40, chunk: int = PAPER_CHUNK) -> list[dict]:
    """Our network under untargeted L-inf attacks over the given images (the whole test set).

    One row per FGSM eps of ``eps_values``, plus one PGD row at ``pgd_eps`` (``pgd_steps`` steps of 0.01,
    one random start). Each row: ``attack``, ``eps``, ``error_rate``, ``accuracy``, and
    ``mean_confidence``: the mean probability of the predicted (wrong) label over the misclassified
    images, as in Goodfellow et al. 2015. Also a ``clean`` row (eps 0). The images are attacked
    ``chunk`` at a time (PGD's random start for chunk ``i`` from ``fold_in(key, i)``).
    """
    images = to_pixels(images)
    check_images(images)
    images = jnp.asarray(images)
    labels = jnp.asarray(labels, jnp.int32)
    n = images.shape[0]
    model_fn = as_model_fn(params)
    rows = []

    def add(attack, eps, make, setting):
        wrong, confidence = 0, 0.0
        for i, start in enumerate(range(0, n, chunk)):
            x, y = images[start:start + chunk], labels[start:start + chunk]
            w, c = _attack_counts(params, make(x, y, i), y)
            wrong, confidence = wrong + int(w), confidence + float(c)
        error = wrong / n
        rows.append({"attack": attack, "eps": float(eps), "error_rate": float(error),
                     "accuracy": 1.0 - float(error), "mean_confidence": confidence / max(wrong, 1),
                     "setting": setting})

    add("clean", 0.0, lambda x, y, i: x, "no attack")
    for eps in eps_values:
        add("FGSM", eps, lambda x, y, i: fgsm(model_fn, x, y, eps), f"untargeted FGSM, ε = {eps:g}, pixels in [0, 1]")
    add("PGD", pgd_eps, lambda x, y, i: pgd(model_fn, x, y, pgd_eps, jax.random.fold_in(key, i), steps=pgd_steps,
                                            rel_step_size=0.01 / pgd_eps),
        f"untargeted PGD, ε = {pgd_eps:g}, {pgd_steps} steps of 0.01, one random start")
    return rows


def paper_rows(ours: list[dict], published=PUBLISHED) -> list[dict]:
    """Rows for the paper table: our measurements (from ``paper_table``) beside the published ones.

    Each row: ``network``, ``attack``, ``eps``, ``error_rate``, ``accuracy``, ``mean_confidence`` (None
    where not reported), ``setting`` and ``source``.
    """
    rows = []
    for r in ours:
        rows.append({"network": "this MLP (784-64-64-10)", "attack": r["attack"], "eps": r["eps"],
                     "error_rate": r["error_rate"], "accuracy": r["accuracy"],
                     "mean_confidence": r["mean_confidence"] if r["error_rate"] > 0 else None,
                     "setting": r["setting"] + ", MNIST test set", "source": "measured here"})
    for p in published:
        error = p.error_rate if p.error_rate is not None else (1 - p.accuracy if p.accuracy is not None else None)
        accuracy = p.accuracy if p.accuracy is not None else (1 - p.error_rate if p.error_rate is not None else None)
        rows.append({"network": p.model, "attack": p.attack, "eps": p.eps, "error_rate": error,
                     "accuracy": accuracy, "mean_confidence": p.mean_confidence, "setting": p.setting,
                     "source": p.source})
    return rows
