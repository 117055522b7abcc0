"""Every attack split into its parts inside and outside the top-``k`` data subspace.

An attack's perturbation ``delta = x' - x`` is split by orthogonal projection, ``delta = inside + outside``
(``advx.subspace.split``). Two shares are read off each part:

- its share of the perturbation's energy, ``||part||² / ||delta||²`` (the two shares add up to 1, since the
  parts are orthogonal);
- its share of the change of the target's logit. The change ``z_t(x + delta) - z_t(x)`` is the integral of the
  gradient along the straight path from ``x`` to ``x + delta``, so it splits exactly into the average path
  gradient dotted with each part (integrated gradients, Sundararajan et al. 2017); ``PATH_POINTS`` midpoints
  approximate the integral.

The attacks are targeted at ``t = (y + 1) mod 10``: the overlay of the post (the target's output-neuron effective
weights, scaled to ``eps``), FGSM, PGD at ``eps``, and PGD at the smallest ``eps`` that reaches the target
(``advx.attacks.minimal_pgd_eps``). Shapes: images ``(n, 784)`` float32 in [0, 1], labels ``(n,)`` int.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from advx import attacks as A
from advx import subspace as S
from advx.model import effective_weights, param_layer_names

ATTACKS = ("overlay", "fgsm", "pgd", "smallest_pgd")
SPLIT_EPS = {"linf": 0.1, "l2": 1.5}  # the size of the fixed-ε attacks: a tenth of full ink per pixel, or L2 1.5
SMALLEST_MAX_EPS = {"linf": 0.5, "l2": 8.0}  # where the search for the smallest flipping ε gives up
PATH_POINTS = 16  # midpoints of the path integral: the residual against the true change is reported
SPLIT_KS = (10, 25, 50, 100, 200, 400)  # k from a few strokes to most of pixel space


def targets_for(labels) -> np.ndarray:
    """``(n,)`` the attacks' targets, ``(y + 1) mod 10``: every image has one, never its own label."""
    return (np.asarray(labels, np.int32) + 1) % 10


def split_parts(sub: S.DataSubspace, delta, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(inside, outside)``, each ``(n, 784)`` float32: ``delta (n, 784)`` projected onto the top-``k`` subspace
    and onto its complement; they add up to ``delta`` and are orthogonal row by row."""
    inside, outside = S.split(sub, np.asarray(delta, np.float32).T, k)
    return inside.T, outside.T


def coordinates_of_rows(sub: S.DataSubspace, delta) -> np.ndarray:
    """``(n, 784)`` float32: row ``i`` holds the coordinates of ``delta[i]`` (``delta (n, 784)``) along every
    direction of ``sub``'s basis, the first product of ``split_parts`` (its ``(784, n)`` result transposed).

    On a block of rows it gives the same bits as on the whole array (each image's coordinates are its own dot
    products with the basis; ``tests/test_explanations.py`` checks it), so a caller can go over the training set
    in blocks and write each block's coordinates over its perturbations."""
    return (sub.basis.T @ np.asarray(delta, np.float32).T).T


def part_of_rows(sub: S.DataSubspace, coords: np.ndarray, k: int, part: str) -> np.ndarray:
    """``(n, 784)`` float32: the ``part`` (``"inside"`` or ``"outside"``) of ``split_parts(sub, delta, k)`` made from
    ``coords = coordinates_of_rows(sub, delta)``, bit for bit, for the whole array or any block of its rows: the
    product with the basis's first ``k`` directions (or the others) on the coordinates laid out as
    ``split_parts`` lays them out."""
    k = sub.check_k(k)
    if part not in ("inside", "outside"):
        raise ValueError(f"part must be 'inside' or 'outside', got {part!r}")
    directions = slice(None, k) if part == "inside" else slice(k, None)
    return (sub.basis[:, directions] @ np.ascontiguousarray(np.asarray(coords)[:, directions].T)).T


def perturbations(params: dict, images, labels, eps: float, key: jax.Array, norm: str) -> dict[str, np.ndarray]:
    """``{attack: delta (n, 784)}`` for each of ``ATTACKS``, targeted at ``targets_for(labels)``.

    ``smallest_pgd`` is PGD at each image's smallest flipping ε (rows where none is found up to
    ``SMALLEST_MAX_EPS`` are NaN)."""
    model_fn = A.as_model_fn(params)
    images = jnp.asarray(images, jnp.float32)
    targets = jnp.asarray(targets_for(labels))
    weights = effective_weights(params)[param_layer_names(params)[-1]]  # (784, 10)
    out = {"overlay": A.overlay(images, jnp.asarray(weights).T[targets], eps, norm),
           "fgsm": A.fgsm(model_fn, images, targets, eps, norm=norm, targeted=True),
           "pgd": A.pgd(model_fn, images, targets, eps, key, norm=norm, targeted=True)}
    smallest = A.minimal_pgd_eps(model_fn, images, targets, SMALLEST_MAX_EPS[norm], key, norm=norm)
    found = jnp.isfinite(smallest)
    at = A.pgd(model_fn, images, targets, jnp.where(found, smallest, eps), key, norm=norm, targeted=True)
    out["smallest_pgd"] = jnp.where(found[:, None], at, jnp.nan)
    return {name: np.asarray(x - images) for name, x in out.items()}


@jax.jit
def path_gradients(model_fn, images, delta, targets) -> jax.Array:
    """``(n, 784)``: the gradient of each target logit averaged over ``PATH_POINTS`` midpoints of the segment
    from ``images`` to ``images + delta``; dotted with ``delta`` it gives the logit's change."""

    def gradient_at(a):
        return jax.grad(lambda x: jnp.sum(jnp.take_along_axis(model_fn(x), targets[:, None], axis=-1)))(
            images + a * delta)

    points = (jnp.arange(PATH_POINTS, dtype=jnp.float32) + 0.5) / PATH_POINTS
    return jax.lax.map(gradient_at, points).mean(axis=0)


class AttackSplits(NamedTuple):
    """The attacks' parts over ``ks``. Rows follow ``ATTACKS``; ``(a, K)`` arrays are means over the images where
    the attack exists (for ``smallest_pgd``: where a flipping ε was found).

    ``energy_outside (a, K)``: the mean share of ``||delta||²`` outside the top-k subspace. ``logit_outside (a, K)``:
    the outside part's share of the target logit's change (ratio of the sums over images). ``random_outside (K,)``:
    the share a uniformly random direction has outside, ``1 - k/784``. ``success (a,)``: the share of images the
    attack turns into its target; ``size (a,)``: the mean L2 norm of ``delta``; ``residual (a,)``: the path
    integral's mean absolute error against the true change of the logit, as a share of its mean absolute change.
    ``logit_change (a,)``: the mean change of the target's logit. ``k_level``: the ``k`` of ``level``.
    """

    ks: np.ndarray
    energy_outside: np.ndarray
    logit_outside: np.ndarray
    random_outside: np.ndarray
    success: np.ndarray
    size: np.ndarray
    residual: np.ndarray
    logit_change: np.ndarray
    eps: float
    norm: str
    n_images: int
    k_level: int
    level: float


def attack_splits(params: dict, sub: S.DataSubspace, images, labels, key: jax.Array, *, norm: str,
                  ks: Sequence[int] = SPLIT_KS, level: float = 0.95) -> AttackSplits:
    """Every attack of ``ATTACKS`` on ``images`` split inside/outside the top-k subspace for each ``k`` of ``ks``
    (and the ``k`` holding ``level`` of the images' energy): an ``AttackSplits``."""
    k_level = sub.k_for(level)
    ks = np.array(sorted({*map(int, ks), k_level}))
    eps = SPLIT_EPS[norm]
    model_fn = A.as_model_fn(params)
    x = jnp.asarray(images, jnp.float32)
    targets = jnp.asarray(targets_for(labels))
    rows = {"energy_outside": [], "logit_outside": []}
    success, size, residual, change = [], [], [], []
    for delta in perturbations(params, images, labels, eps, key, norm).values():
        ok = np.isfinite(delta).all(axis=1)
        d = np.where(ok[:, None], delta, 0.0).astype(np.float32)
        grads = np.asarray(path_gradients(model_fn, x, jnp.asarray(d), targets))[ok]
        logits = np.asarray(model_fn(x + d))
        true = (np.take_along_axis(logits, np.asarray(targets)[:, None], 1)[:, 0]
                - np.take_along_axis(np.asarray(model_fn(x)), np.asarray(targets)[:, None], 1)[:, 0])[ok]
        energy, logit = [], []
        for k in ks:
            inside, outside = split_parts(sub, d[ok], int(k))
            total = np.square(d[ok]).sum(1)
            energy.append(float(np.mean(np.square(outside).sum(1) / np.maximum(total, 1e-20))))
            logit_in, logit_out = (grads * inside).sum(1), (grads * outside).sum(1)
            logit.append(float(logit_out.sum() / (logit_in + logit_out).sum()))
        rows["energy_outside"].append(energy)
        rows["logit_outside"].append(logit)
        success.append(float(np.mean(logits.argmax(1)[ok] == np.asarray(targets)[ok])) * ok.mean())
        size.append(float(np.sqrt(np.square(d[ok]).sum(1)).mean()))
        residual.append(float(np.abs((grads * d[ok]).sum(1) - true).mean() / max(np.abs(true).mean(), 1e-12)))
        change.append(float(true.mean()))
    return AttackSplits(ks=ks, energy_outside=np.array(rows["energy_outside"]),
                        logit_outside=np.array(rows["logit_outside"]), random_outside=1 - ks / 784.0,
                        success=np.array(success), size=np.array(size), residual=np.array(residual),
                        logit_change=np.array(change), eps=float(eps), norm=norm, n_images=len(labels),
                        k_level=int(k_level), level=float(level))
