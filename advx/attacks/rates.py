"""Success rates of the overlay beside FGSM and PGD, for this page and for any other (e.g. on modified
networks), and the measurements of a view of one image.

Images are ``(n, 784)`` float32 in [0, 1] (uint8 pixels are converted by ``advx.model.to_pixels``);
labels ``(n,)`` int; params the inner Flax dict of ``advx.model``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from advx.attacks.checks import AttackError, check_class, check_eps, check_images
from advx.attacks.gradient import as_model_fn, fgsm, pgd
from advx.attacks.overlay import eps_curve, overlay, predictions, random_pattern
from advx.attacks.threat import COMPARISON_EPS, EPS_GRID, NORMS, threat
from advx.model import N_PIXELS, effective_weights, to_pixels


def success_rates(params: dict, images, labels, target: int, eps: float, norm: str = "linf", *,
                  key: jax.Array, pgd_steps: int = 40) -> dict:
    """Targeted success rates of every method at one ``eps``, over the correctly classified images
    whose label is not ``target``.

    Methods: ``overlay`` (output neuron ``target``'s effective weights), ``overlay_sign`` (their
    sign), ``random`` (Gaussian noise of the same norm), ``fgsm`` and ``pgd`` (targeted, tailored to
    each image). A success is a prediction equal to ``target``. Also ``random_untargeted``: the share
    of those images that random noise moves to any other class. Returns a dict of floats and ``n``,
    the number of images attacked.
    """
    images = to_pixels(images)
    check_images(images)
    norm = threat(norm).name
    check_class(target)
    check_eps(eps)
    images = jnp.asarray(images)
    labels = np.asarray(labels)
    keep = (np.asarray(predictions(params, images)) == labels) & (labels != target)
    x, y = images[keep], labels[keep]
    n = int(keep.sum())
    if n == 0:
        raise AttackError(f"no correctly classified image with a label other than {target} to attack")
    targets = jnp.full((n,), target, jnp.int32)
    key_random, key_pgd = jax.random.split(key)
    weights = effective_weights(params)["output"][:, target]
    model_fn = as_model_fn(params)
    candidates = {
        "overlay": overlay(x, weights, eps, norm),
        "overlay_sign": overlay(x, jnp.sign(weights), eps, norm),
        "random": overlay(x, random_pattern(key_random, jnp.broadcast_to(weights, x.shape), norm), eps, norm),
        "fgsm": fgsm(model_fn, x, targets, eps, norm=norm, targeted=True),
        "pgd": pgd(model_fn, x, targets, eps, key_pgd, norm=norm, targeted=True, steps=pgd_steps),
    }
    out = {name: float(jnp.mean(predictions(params, adv) == target)) for name, adv in candidates.items()}
    out["random_untargeted"] = float(jnp.mean(predictions(params, candidates["random"]) != jnp.asarray(y)))
    out["n"] = n
    return out


def comparison_table(params: dict, images, labels, target: int, key: jax.Array,
                     eps_by_norm: Optional[dict] = None, pgd_steps: int = 40) -> list[dict]:
    """``success_rates`` at every eps of both norms: rows ``{"norm", "eps", <method>: rate, "n"}``.

    ``eps_by_norm``: ``{norm: (eps, ...)}``, default ``COMPARISON_EPS``.
    """
    eps_by_norm = COMPARISON_EPS if eps_by_norm is None else eps_by_norm
    rows = []
    for norm, values in eps_by_norm.items():
        for i, eps in enumerate(values):
            rates = success_rates(params, images, labels, target, eps, norm,
                                  key=jax.random.fold_in(key, 1000 * NORMS.index(norm) + i), pgd_steps=pgd_steps)
            rows.append({"norm": norm, "eps": float(eps), **rates})
    return rows


# --------------------------------------------------------------------------------------------
# A view of one image


def first_correct(labels, clean_predictions, digit: int) -> Optional[int]:
    """Index of the first image of class ``digit`` that the network classifies correctly, or None."""
    labels, clean_predictions = np.asarray(labels), np.asarray(clean_predictions)
    hits = np.flatnonzero((labels == digit) & (clean_predictions == digit))
    return int(hits[0]) if hits.size else None


def snap_eps(value: float, norm: str) -> float:
    """The eps of ``EPS_GRID[norm]`` nearest to ``value``."""
    grid = np.asarray(EPS_GRID[threat(norm).name])
    return float(grid[np.argmin(np.abs(grid - value))])


class ImageCurves(NamedTuple):
    """One image under the overlay at each eps of ``eps_grid (e,)``.

    ``probabilities (e, 10)`` with the pattern; ``control_mean`` and ``control_max`` ``(e,)``: the
    target probability under random patterns of the same norm (mean and maximum over the draws).
    """

    eps_grid: np.ndarray
    probabilities: np.ndarray
    control_mean: np.ndarray
    control_max: np.ndarray


def image_curves(params: dict, image, pattern, target: int, norm: str, eps_grid, *, key: jax.Array,
                 control: str = "gaussian", draws: int = 16) -> ImageCurves:
    """Probabilities of one ``image (784,)`` under ``pattern (784,)`` and under ``draws`` random
    patterns of kind ``control`` at each eps of ``eps_grid``."""
    check_class(target)
    eps_grid = jnp.asarray(eps_grid, jnp.float32)
    x = jnp.asarray(to_pixels(image)).reshape(1, N_PIXELS)
    pattern = jnp.asarray(pattern, jnp.float32).reshape(1, N_PIXELS)
    probs = eps_curve(params, x, pattern, eps_grid, norm)[:, 0]
    randoms = random_pattern(key, jnp.broadcast_to(pattern, (draws, N_PIXELS)), norm, control)
    control_probs = eps_curve(params, jnp.broadcast_to(x, (draws, N_PIXELS)), randoms, eps_grid, norm)
    control_target = np.asarray(control_probs[:, :, target])
    return ImageCurves(np.asarray(eps_grid), np.asarray(probs), control_target.mean(axis=1),
                       control_target.max(axis=1))
