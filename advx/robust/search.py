"""A gradient-free attack: Square-style random search (Andriushchenko, Croce, Flammarion, Hein 2020,
"Square Attack: a query-efficient black-box adversarial attack via random search").

It only reads the network's logits, never a gradient, so a network that hides its gradients (gradient
masking: flat or noisy loss surfaces that stall PGD) does not stop it. Written plainly:

1. start from vertical stripes: each image column moved by ``±eps`` (one threat-model step of size ``eps``
   along a random ±1 stripe pattern, projected on the ball);
2. each query, pick per image a random square window, whose side shrinks along Square Attack's schedule
   (a share ``p`` of the 784 pixels, halved at 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of 10,000
   queries), and a random sign, and take a threat-model step of ``window_step * eps`` along it; project on the
   ``eps``-ball and on [0, 1]. In L-inf with the default step of ``2 eps`` this sets the window's pixels to a
   vertex of the ball (``x0 ± eps``), exactly Square Attack's update;
3. keep the proposal where it lowers the margin ``logit[label] − max other logit``: the image is fooled once
   the margin is negative.

Shapes: images ``(n, 784)`` float32 in [0, 1]; labels ``(n,)`` int.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from advx.attacks.gradient import _as_pytree
from advx.attacks.threat import threat
from advx.model import N_CLASSES

SIDE = 28
QUERIES = 1000
P_INIT = 0.8  # the window's first share of the pixels: Square Attack's value for MNIST
# The window's step as a share of eps: 2 for L-inf (every window pixel to a vertex of the ball); in L2 a
# bump of half the ball's radius, after which the projection shrinks the earlier perturbation a little.
WINDOW_STEP = {"linf": 2.0, "l2": 0.5}
_HALVINGS = jnp.asarray([10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000], jnp.float32)


def margin(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """``logit[label] − largest other logit`` per row: ``(n,)``; negative where the label is not the answer."""
    true = jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]
    others = jnp.where(jax.nn.one_hot(labels, N_CLASSES, dtype=bool), -jnp.inf, logits)
    return true - others.max(axis=-1)


def window_share(query, queries: int, p_init: float = P_INIT) -> jax.Array:
    """The share of pixels the window covers at ``query`` (0-based) of ``queries``: Square Attack's schedule."""
    scaled = jnp.asarray(query, jnp.float32) * 10000.0 / queries
    return p_init / 2.0 ** jnp.sum(scaled >= _HALVINGS)


def _windows(key, n: int, side) -> jax.Array:
    """``(n, 784)`` 0/1 masks of one random ``side`` x ``side`` square per image (``side`` may be traced)."""
    rkey, ckey = jax.random.split(key)
    top = jax.random.randint(rkey, (n, 1, 1), 0, SIDE - side + 1)
    left = jax.random.randint(ckey, (n, 1, 1), 0, SIDE - side + 1)
    rows = jnp.arange(SIDE)[None, :, None]
    cols = jnp.arange(SIDE)[None, None, :]
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    return inside.reshape(n, SIDE * SIDE).astype(jnp.float32)


@functools.partial(jax.jit, static_argnames=("norm", "queries"))
def _square(model_fn, images, labels, eps, key, p_init, window_step, *, norm, queries):
    ball = threat(norm)
    labels = jnp.asarray(labels, jnp.int32)
    n = images.shape[0]

    def settle(x):
        return jnp.clip(ball.project(x, images, eps), 0.0, 1.0)

    init_key, loop_key = jax.random.split(key)
    stripes = jax.random.rademacher(init_key, (n, 1, SIDE), jnp.float32)
    start = settle(ball.step(images, jnp.broadcast_to(stripes, (n, SIDE, SIDE)).reshape(n, -1), eps))
    start_margin = margin(model_fn(start), labels)

    def query(i, state):
        best, best_margin = state
        k = jax.random.fold_in(loop_key, i)
        wkey, skey = jax.random.split(k)
        side = jnp.clip(jnp.round(jnp.sqrt(window_share(i, queries, p_init) * SIDE * SIDE)), 1, SIDE).astype(jnp.int32)
        signs = jax.random.rademacher(skey, (n, 1), jnp.float32)
        proposal = settle(ball.step(best, _windows(wkey, n, side) * signs, window_step * eps))
        proposal_margin = margin(model_fn(proposal), labels)
        better = proposal_margin < best_margin
        return jnp.where(better[:, None], proposal, best), jnp.where(better, proposal_margin, best_margin)

    best, best_margin = jax.lax.fori_loop(0, queries, query, (start, start_margin))
    return best, best_margin


def square_search(model_fn: Callable, images, labels, eps, key: jax.Array, *, norm: str = "linf",
                  queries: int = QUERIES, p_init: float = P_INIT,
                  window_step: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
    """The random search above against ``model_fn`` (``x -> logits``), ``queries`` forward passes per image.

    ``eps`` a number; ``window_step`` defaults to ``WINDOW_STEP[norm]``. Returns ``(examples (n, 784)
    float32 in [0, 1] within eps of the images, margins (n,))``; an image is fooled where its margin is < 0.
    """
    name = threat(norm).name
    step = WINDOW_STEP[name] if window_step is None else float(window_step)
    best, best_margin = _square(_as_pytree(model_fn), jnp.asarray(images, jnp.float32), jnp.asarray(labels),
                                jnp.float32(eps), key, jnp.float32(p_init), jnp.float32(step), norm=name,
                                queries=int(queries))
    return np.asarray(best), np.asarray(best_margin)


def square_correct(model_fn: Callable, images, labels, eps, key: jax.Array, *, norm: str = "linf",
                   queries: int = QUERIES) -> np.ndarray:
    """``(n,)`` bool: the images still classified correctly after ``square_search`` (margin >= 0)."""
    return square_search(model_fn, images, labels, eps, key, norm=norm, queries=queries)[1] >= 0
