"""Clean and robust accuracy: which images a network still classifies correctly under PGD with restarts.

Robust accuracy is the share of images that stay correct under *every* restart of PGD-40 (Madry et al. 2018,
who report PGD-100 with 20 restarts for their MNIST model). The attacks are ``advx.attacks.pgd`` on a model
function, so the same code attacks a standard network, a robust one, or one network with examples made on
another (a transfer attack: ``attacked_fn`` makes the examples, ``judged_fn`` is scored on them).

Shapes: images ``(n, 784)`` float32 in [0, 1]; labels ``(n,)`` int; per-image results ``(n,)`` bool.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from advx.attacks.gradient import _as_pytree, pgd
from advx.attacks.threat import threat

PGD_STEPS = 40
RESTARTS = 3
# Madry et al.'s rule: a path of 2.5 eps, enough to cross the ball from any random start in any direction.
PGD_REL_STEP_SIZE = 2.5 / PGD_STEPS


def _correct(model_fn, images, labels) -> jax.Array:
    return jnp.argmax(model_fn(images), axis=-1) == labels


@jax.jit
def _clean_correct(model_fn, images, labels):
    return _correct(model_fn, images, jnp.asarray(labels, jnp.int32))


def clean_correct(model_fn: Callable, images, labels) -> np.ndarray:
    """``(n,)`` bool: the images ``model_fn`` (``x -> logits``, e.g. ``advx.attacks.as_model_fn(params)``)
    classifies correctly."""
    return np.asarray(_clean_correct(_as_pytree(model_fn), jnp.asarray(images), jnp.asarray(labels)))


@functools.partial(jax.jit, static_argnames=("norm", "steps", "restarts"))
def _pgd_correct(attacked_fn, judged_fns, images, labels, eps, key, rel_step_size, *, norm, steps, restarts):
    labels = jnp.asarray(labels, jnp.int32)

    def restart(still, k):
        adversarial = pgd(attacked_fn, images, labels, eps, k, norm=norm, steps=steps, rel_step_size=rel_step_size)
        return tuple(s & _correct(fn, adversarial, labels) for s, fn in zip(still, judged_fns)), None

    start = tuple(_correct(fn, images, labels) for fn in judged_fns)
    still, _ = jax.lax.scan(restart, start, jax.random.split(key, restarts))
    return still


def pgd_correct(attacked_fn: Callable, images, labels, eps, key: jax.Array, *, norm: str = "linf",
                steps: int = PGD_STEPS, restarts: int = RESTARTS, rel_step_size: float = PGD_REL_STEP_SIZE,
                judged_fns: Optional[tuple] = None) -> tuple[np.ndarray, ...]:
    """Which images stay correct under untargeted PGD with ``restarts`` random starts.

    PGD (``advx.attacks.pgd``: ``steps`` steps of ``rel_step_size * eps`` in the ``norm`` ball) attacks
    ``attacked_fn``; each model of ``judged_fns`` (default: ``attacked_fn`` alone, the white-box attack) is
    scored on the same examples, so one run gives the white-box result and a transfer result at once.
    Returns one ``(n,)`` bool per judged model: correct on the clean image and on the examples of every restart.
    """
    judged = (attacked_fn,) if judged_fns is None else tuple(judged_fns)
    out = _pgd_correct(_as_pytree(attacked_fn), tuple(_as_pytree(f) for f in judged), jnp.asarray(images),
                       jnp.asarray(labels), jnp.float32(eps), key, float(rel_step_size), norm=threat(norm).name,
                       steps=int(steps), restarts=int(restarts))
    return tuple(np.asarray(o) for o in out)


def robust_accuracy(model_fn: Callable, images, labels, eps, key: jax.Array, *, norm: str = "linf",
                    steps: int = PGD_STEPS, restarts: int = RESTARTS) -> float:
    """Share of ``images`` that stay correct under white-box PGD-``steps`` with ``restarts`` random starts."""
    return float(pgd_correct(model_fn, images, labels, eps, key, norm=norm, steps=steps, restarts=restarts)[0].mean())
