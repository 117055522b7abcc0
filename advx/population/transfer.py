"""Transfer: perturbations crafted on one network and shown to another, whole and split by the data subspace.

For a source network ``s`` and a target network ``t``, the first ``n_attack`` test images are attacked through
``s`` alone and ``t``'s answers counted. The attacks are the post's **overlay** (``s``'s output neuron
``target`` effective weights, scaled to size ``eps``), its **sign**, **FGSM** and **PGD**, all targeted at
class ``target`` (0, as the post's overlay and "Why it happens"), white-box on ``s``. Each perturbation
``delta = x_adv - x`` is also split into its part inside the top-``k`` data subspace and the part outside
(``delta = inside + outside``), and each part is applied alone, rescaled to size ``eps`` in the threat model's
norm: ``clip(x + eps * part / ||part||, 0, 1)``, the overlay of that part.

A share is over the images the *target* network classifies correctly whose label is not ``target``, so the
diagonal (``s == t``) is each network's own white-box success, as ``advx.subspace.attack_rates`` counts it.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from advx import attacks
from advx.model import N_PIXELS, effective_weights, to_pixels
from advx.subspace.counterfactual import COUNTERFACTUAL_TARGET, PGD_STEPS
from advx.subspace.pca import DataSubspace

TRANSFER_ATTACKS = ("overlay", "overlay_sign", "fgsm", "pgd")  # keys of advx.vocabulary.ATTACK_LABELS
PARTS = ("whole", "inside", "outside")
# The size of every perturbation here. L-inf 0.3 is Madry et al.'s MNIST setting and a column of "Why it
# happens"; on the default population the overlay turns 8.6% of a network's own correct digits into a 0
# there (at 0.2, 1.6%: too few to compare) and PGD all of them.
TRANSFER_EPS = {"linf": 0.3, "l2": 3.0}
TRANSFER_IMAGES = 500  # as advx.subspace.ATTACK_IMAGES: a share of ~450 images has a standard error <= 2.4 points


class PopulationError(ValueError):
    """Networks, images or settings that a population's measurements cannot use."""


class TransferMatrices(NamedTuple):
    """Success of every attack and part, crafted on each source network and applied to each target.

    ``success[a, p, s, t]``: share of target ``t``'s attacked images (correct, label not ``target``) that
    attack ``TRANSFER_ATTACKS[a]``, part ``PARTS[p]``, crafted on source ``s``, turns into ``target``;
    ``(4, 3, m, m)`` float64. ``fooled``: the same images' share whose prediction leaves the true label.
    ``norm``: the threat model of ``eps`` (``"linf"`` or ``"l2"``).
    ``part_l2 (4, 3, m)``: mean L2 size of the applied perturbation of each source. ``clean_accuracy (m,)``
    on every test image given; ``n_attacked (m,)``: the images each target's shares are over.
    """

    eps: float
    norm: str
    k: int
    success: np.ndarray
    fooled: np.ndarray
    part_l2: np.ndarray
    clean_accuracy: np.ndarray
    n_attacked: np.ndarray


def split_perturbation(delta: jax.Array, basis: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(inside, outside)`` of perturbations ``delta (n, 784)`` for an orthonormal ``basis (784, k)``.

    ``inside = delta @ basis @ basis.T`` is the projection onto the subspace, ``outside = delta - inside``;
    they add back to ``delta``. (``advx.subspace.split`` is the same for pixel columns, in NumPy.)
    """
    inside = (delta @ basis) @ basis.T
    return inside, delta - inside


@functools.partial(jax.jit, static_argnames=("norm", "target", "pgd_steps"))
def crafted(params: dict, images: jax.Array, key: jax.Array, eps, basis: jax.Array, *, norm: str = "linf",
            target: int = COUNTERFACTUAL_TARGET, pgd_steps: int = PGD_STEPS) -> jax.Array:
    """Every attacked image of one source network: ``(4, 3, n, 784)`` float32 in [0, 1].

    Axis 0 follows ``TRANSFER_ATTACKS``, axis 1 ``PARTS``; ``images (n, 784)`` float32 in [0, 1]; ``basis
    (784, k)``. PGD starts from one random point of ``key`` (the same for every source).
    """
    model_fn = attacks.as_model_fn(params)
    pattern = effective_weights(params)["output"][:, target]
    targets = jnp.full((images.shape[0],), target, jnp.int32)
    whole = jnp.stack([
        attacks.overlay(images, pattern, eps, norm),
        attacks.overlay(images, jnp.sign(pattern), eps, norm),
        attacks.fgsm(model_fn, images, targets, eps, norm=norm, targeted=True),
        attacks.pgd(model_fn, images, targets, eps, key, norm=norm, targeted=True, steps=pgd_steps),
    ])

    def parts(adversarial):
        inside, outside = split_perturbation(adversarial - images, basis)
        return jnp.stack([adversarial, attacks.overlay(images, inside, eps, norm),
                          attacks.overlay(images, outside, eps, norm)])

    return jax.vmap(parts)(whole)


@functools.partial(jax.jit, static_argnames=("norm", "target", "pgd_steps"))
def _transfer_predictions(stacked: dict, images, key, eps, basis, *, norm, target, pgd_steps):
    """``(predictions (m, m, 4, 3, n) int32 [source, target, ...], part_l2 (m, 4, 3))`` for stacked params."""
    n = images.shape[0]

    def one_source(source):
        adversarial = crafted(source, images, key, eps, basis, norm=norm, target=target, pgd_steps=pgd_steps)
        flat = adversarial.reshape(-1, N_PIXELS)
        size = jnp.sqrt(jnp.sum((adversarial - images) ** 2, axis=-1)).mean(axis=-1)
        answers = jax.lax.map(lambda p: attacks.predictions(p, flat).reshape(adversarial.shape[:2] + (n,)), stacked)
        return answers, size

    return jax.lax.map(one_source, stacked)


def stack_params(params: Sequence[dict]) -> dict:
    """The params of networks of one shape stacked along a new first axis; ``PopulationError`` otherwise."""
    shapes = {tuple((name, tuple(np.shape(v["kernel"]))) for name, v in sorted(p.items())) for p in params}
    if len(shapes) != 1:
        raise PopulationError(f"the networks must all have the same layers and widths, got {len(shapes)} shapes")
    return jax.tree.map(lambda *leaves: jnp.stack([jnp.asarray(a) for a in leaves]), *params)


def image_set(images, labels, n: Optional[int] = None) -> tuple[jax.Array, np.ndarray]:
    """``(pixels (n, 784) float32 in [0, 1], labels (n,) int32)`` of the first ``n`` images (default: all).

    ``images``: ``(n, 28, 28)`` or ``(n, 784)``, uint8 or float in [0, 1]; ``PopulationError`` when they do not
    match ``labels`` or are empty.
    """
    arr = np.asarray(images)
    labels = np.asarray(labels).astype(np.int32)
    if arr.ndim < 2 or arr.shape[0] == 0 or arr[0].size != N_PIXELS or labels.shape != (arr.shape[0],):
        raise PopulationError(f"need a non-empty stack of 784-pixel images with one label each, got images "
                              f"{arr.shape} and labels {labels.shape}")
    n = arr.shape[0] if n is None else min(int(n), arr.shape[0])
    return jnp.asarray(to_pixels(arr[:n].reshape(n, N_PIXELS))), labels[:n]


def transfer_matrices(params: Sequence[dict], sub: DataSubspace, k: int, test_images, test_labels, *,
                      eps: Optional[float] = None, norm: str = "linf", seed: int = 0,
                      n_attack: int = TRANSFER_IMAGES, target: int = COUNTERFACTUAL_TARGET,
                      pgd_steps: int = PGD_STEPS) -> TransferMatrices:
    """The ``TransferMatrices`` of networks ``params`` (a list of params of one shape), at ``eps`` in ``norm``.

    ``eps`` defaults to ``TRANSFER_EPS[norm]``; ``k`` is the dimension of the data subspace ``sub``;
    ``test_images``: ``(n, 28, 28)`` / ``(n, 784)`` uint8 or float in [0, 1], with ``test_labels (n,)``. The
    first ``n_attack`` are attacked; PGD starts from ``jax.random.key(seed)``, as the counterfactual columns do.
    """
    ball = attacks.threat(norm)
    eps = float(TRANSFER_EPS[ball.name] if eps is None else eps)
    attacks.check_eps(eps)
    attacks.check_class(target)
    if len(params) < 1:
        raise PopulationError("need at least one network")
    stacked = stack_params(params)
    pixels, labels = image_set(test_images, test_labels)
    clean = np.stack([np.asarray(attacks.predictions(p, pixels)) for p in params])  # (m, n)
    x, y = pixels[:n_attack], labels[:n_attack]
    eligible = (clean[:, : x.shape[0]] == y[None]) & (y[None] != target)  # (m targets, n)
    if not eligible.any(axis=1).all():
        raise PopulationError(f"a network classifies none of the first {x.shape[0]} images with a label other than "
                              f"{target} correctly: nothing to attack")
    answers, sizes = _transfer_predictions(stacked, x, jax.random.key(seed), eps, jnp.asarray(sub.top(k)),
                                           norm=ball.name, target=target, pgd_steps=pgd_steps)
    answers = np.moveaxis(np.asarray(answers), (0, 1), (2, 3))  # (4, 3, sources, targets, n)
    weights = eligible / eligible.sum(axis=1, keepdims=True)  # (targets, n)
    success = ((answers == target) * weights).sum(axis=-1)
    fooled = ((answers != y) * weights).sum(axis=-1)
    return TransferMatrices(eps, ball.name, int(k), success, fooled, np.moveaxis(np.asarray(sizes, np.float64), 0, -1),
                            (clean == labels[None]).mean(axis=1), eligible.sum(axis=1))


def own_and_others(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(own (m,), others (m,))`` of an ``(m, m)`` source x target matrix: each source's diagonal entry and
    its mean over the other targets (NaN for a population of one)."""
    m = matrix.shape[0]
    own = np.diagonal(matrix).copy()
    off = ~np.eye(m, dtype=bool)
    others = np.array([matrix[s][off[s]].mean() if m > 1 else np.nan for s in range(m)])
    return own, others
