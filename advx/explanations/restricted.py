"""PGD kept inside the data subspace: the ε it needs to reach a target, against the same attack unrestricted.

``subspace_pgd`` is targeted L2 PGD (Madry et al. 2018) whose every step is projected onto the span of ``basis``
(``(784, m)`` orthonormal columns; the top-``k`` data subspace, or the identity for the unrestricted attack),
then onto the L2 ball of radius ``eps``. Both projections keep the perturbation in the span, so the attack
stays in the subspace to float rounding. It has no pixel box: clipping to [0, 1] would push it out of the
subspace, so the unrestricted attack it is compared with is the same code without the box either (with
``basis`` the identity). Starting at the image itself, it needs no random key.

Shapes: images ``(n, 784)`` float32 in [0, 1]; targets ``(n,)`` int.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from advx import subspace as S
from advx.attacks import as_model_fn
from advx.attacks.threat import eps_column, threat
from advx.explanations.splits import targets_for
from advx.model import N_PIXELS

RESTRICTED_KS = (10, 25, 50, 200)  # the subspaces the attack is kept in, with the split's k (784: unrestricted)
RESTRICTED_MAX_EPS = 10.0  # L2: a third of the norm of a typical digit (about 9); where the search gives up
RESTRICTED_STEPS = 20  # PGD steps of 2.5 ε / steps each (Madry et al.'s budget: 2.5 ε of steps in all)
BISECTIONS = 8  # the smallest ε to within RESTRICTED_MAX_EPS / 2**8 ≈ 0.04
GALLERY = 6  # examples shown for each k


@functools.partial(jax.jit, static_argnames="steps")
def _subspace_pgd(model_fn, images, targets, eps, basis, steps):
    eps = eps_column(eps)
    ball = threat("l2")

    def target_loss(x):
        logits = model_fn(x)
        return jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), targets[:, None], axis=-1))

    def one_step(_, delta):
        grad = jax.grad(target_loss)(images + delta) @ basis @ basis.T  # climb the target's log-probability
        delta = ball.step(delta, grad, 2.5 * eps / steps) @ basis @ basis.T
        return ball.project(delta, 0.0, eps)  # scaling back into the ball keeps delta in the span

    return images + jax.lax.fori_loop(0, steps, one_step, jnp.zeros_like(images))


def subspace_pgd(model_fn, images, targets, eps, basis, *, steps: int = RESTRICTED_STEPS) -> jax.Array:
    """Targeted L2 PGD kept in the span of ``basis (784, m)`` (see the module's text): ``(n, 784)``, at most
    ``eps`` (a number or ``(n,)``) from ``images`` in L2, with ``x' - x`` in the span. No pixel box."""
    return _subspace_pgd(model_fn, jnp.asarray(images, jnp.float32), jnp.asarray(targets, jnp.int32),
                         jnp.asarray(eps, jnp.float32), jnp.asarray(basis, jnp.float32), steps)


@functools.partial(jax.jit, static_argnames=("steps", "bisections"))
def _smallest_eps(model_fn, images, targets, basis, max_eps, steps, bisections):
    def reaches(eps):
        return jnp.argmax(model_fn(_subspace_pgd(model_fn, images, targets, eps, basis, steps)), -1) == targets

    found = reaches(jnp.full(images.shape[:1], max_eps))

    def halve(_, bounds):
        below, above = bounds
        middle = (below + above) / 2
        hit = reaches(middle)
        return jnp.where(hit, below, middle), jnp.where(hit, middle, above)

    start = (jnp.zeros(images.shape[:1]), jnp.full(images.shape[:1], max_eps))
    return jnp.where(found, jax.lax.fori_loop(0, bisections, halve, start)[1], jnp.inf)


def smallest_eps(model_fn, images, targets, basis, *, max_eps: float = RESTRICTED_MAX_EPS,
                 steps: int = RESTRICTED_STEPS, bisections: int = BISECTIONS) -> np.ndarray:
    """``(n,)`` the smallest L2 ε found (by bisection from ``[0, max_eps]``) at which ``subspace_pgd`` in the span
    of ``basis`` reaches ``targets``; ``inf`` where even ``max_eps`` does not."""
    return np.asarray(_smallest_eps(model_fn, jnp.asarray(images, jnp.float32), jnp.asarray(targets, jnp.int32),
                                    jnp.asarray(basis, jnp.float32), jnp.float32(max_eps), steps, bisections))


class RestrictedAttacks(NamedTuple):
    """PGD kept in the top-k subspace for each of ``ks`` (the last, 784, is unrestricted).

    ``smallest (K, n)``: each image's smallest flipping L2 ε (``inf``: not found up to ``max_eps``). ``gallery
    (K, GALLERY, 784)``: the first ``GALLERY`` images' adversarial examples at their own smallest ε (the image
    itself where none was found); ``gallery_eps (K, GALLERY)``; ``originals (GALLERY, 784)``; ``labels`` and
    ``targets (GALLERY,)``; ``success_at (K,)``: the share reaching the target at the unrestricted attack's
    median ε (the same ε for every k). ``eps_check``: that median ε.
    """

    ks: np.ndarray
    smallest: np.ndarray
    gallery: np.ndarray
    gallery_eps: np.ndarray
    originals: np.ndarray
    labels: np.ndarray
    targets: np.ndarray
    success_at: np.ndarray
    eps_check: float
    max_eps: float


def restricted_attacks(params: dict, sub: S.DataSubspace, images, labels,
                       ks: Sequence[int] = RESTRICTED_KS, extra_k: int | None = None) -> RestrictedAttacks:
    """``RestrictedAttacks`` of the network ``params`` on ``images`` targeted at ``targets_for(labels)``, for each
    of ``ks`` and ``extra_k`` (the split's k), then unrestricted."""
    model_fn = as_model_fn(params)
    x = np.asarray(images, np.float32)
    targets = targets_for(labels)
    ks = np.array([*sorted({*map(int, ks), *([int(extra_k)] if extra_k else [])}), N_PIXELS])
    bases = [sub.top(int(k)) if k < N_PIXELS else np.eye(N_PIXELS, dtype=np.float32) for k in ks]
    smallest = np.stack([smallest_eps(model_fn, x, targets, basis) for basis in bases])
    eps_check = float(np.median(smallest[-1][np.isfinite(smallest[-1])]))
    success = [np.mean(np.argmax(model_fn(subspace_pgd(model_fn, x, targets, eps_check, b)), -1) == targets)
               for b in bases]
    shown = slice(0, GALLERY)
    gallery, gallery_eps = [], []
    for basis, eps in zip(bases, smallest):
        at = np.where(np.isfinite(eps[shown]), eps[shown], 0.0)
        gallery.append(np.asarray(subspace_pgd(model_fn, x[shown], targets[shown], at, basis)))
        gallery_eps.append(eps[shown])
    return RestrictedAttacks(ks=ks, smallest=smallest, gallery=np.stack(gallery), gallery_eps=np.stack(gallery_eps),
                             originals=x[shown], labels=np.asarray(labels[shown], np.int32), targets=targets[shown],
                             success_at=np.array(success, np.float64), eps_check=eps_check,
                             max_eps=float(RESTRICTED_MAX_EPS))
