"""Linearity along the attack (Goodfellow, Shlens, Szegedy 2015): is the network close to linear where PGD goes?

Along each image's PGD direction ``u`` (the perturbation ``x' - x`` scaled to size 1 in the threat model's norm),
the true change of the margin ``m = z_t - z_y`` (target logit minus true logit) at ``x + s u`` is set against the
first-order prediction ``s ∇m(x)·u``, for ``s`` up to ``LINEARITY_REACH`` times the attack's ε. The path is not
clipped to [0, 1], so that it is a straight line. A linear softmax model (784 → 10, no hidden layer) trained the
same way (``advx.train``'s optimizer, schedule, batches and epochs) is the linear reference: for it the two agree
exactly, and its own attacks show how far linearity alone takes an attack.

Shapes: images ``(n, 784)`` float32 in [0, 1]; labels ``(n,)`` int.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from advx import attacks as A
from advx.config import TrainConfig
from advx.data import MNIST
from advx.explanations.splits import SMALLEST_MAX_EPS, SPLIT_EPS, targets_for
from advx.model import N_PIXELS, forward, to_pixels
from advx.train import epoch_plan, make_optimizer

LINEARITY_REACH = 2.0  # the path runs to twice the attack's ε
LINEARITY_POINTS = 11  # sizes along it, 0 included


def linear_params(key: jax.Array) -> dict:
    """A softmax model's params in ``advx.model``'s layout: only an ``output`` layer (``forward`` runs it)."""
    kernel = jax.random.normal(key, (N_PIXELS, 10), jnp.float32) / np.sqrt(N_PIXELS)  # LeCun normal, as Flax
    return {"output": {"kernel": kernel, "bias": jnp.zeros(10, jnp.float32)}}


@functools.lru_cache(maxsize=4)
def _linear_epoch(config: TrainConfig, n_train: int):
    batch = min(config.batch_size, n_train)
    optimizer = make_optimizer(config, n_train // batch)

    def step(carry, idx):
        params, opt_state, x, y = carry
        grads = jax.grad(lambda p: optax.softmax_cross_entropy_with_integer_labels(
            forward(p, to_pixels(x[idx])), y[idx]).mean())(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, x, y), None

    @jax.jit
    def epoch(params, opt_state, key, x, y):
        order, _, _ = epoch_plan(key, n_train, batch)
        return jax.lax.scan(step, (params, opt_state, x, y), order)[0][:2]

    return optimizer, epoch


def train_linear(mnist: MNIST, config: TrainConfig = TrainConfig()) -> dict:
    """A linear softmax model trained on MNIST with ``config``'s optimizer, schedule, batch size, epochs and seed
    (its ``hidden`` is ignored): its params."""
    x = jnp.asarray(np.asarray(mnist.train_images).reshape(len(mnist.train_labels), -1))
    y = jnp.asarray(mnist.train_labels, jnp.int32)
    optimizer, epoch = _linear_epoch(config, int(x.shape[0]))
    init_key, key = jax.random.split(jax.random.PRNGKey(config.seed))
    params = linear_params(init_key)
    opt_state = optimizer.init(params)
    for _ in range(config.epochs):
        key, epoch_key = jax.random.split(key)
        params, opt_state = epoch(params, opt_state, epoch_key, x, y)
    return jax.tree.map(np.asarray, params)


@jax.jit
def _margin_curves(model_fn, images, labels, targets, direction, sizes):
    def margin(x):
        logits = model_fn(x)
        pick = lambda c: jnp.take_along_axis(logits, c[:, None], axis=-1)[:, 0]  # noqa: E731
        return pick(targets) - pick(labels)

    slope = jnp.sum(jax.grad(lambda x: margin(x).sum())(images) * direction, axis=-1)  # (n,)
    true = jax.vmap(lambda s: margin(images + s * direction) - margin(images))(sizes)  # (S, n)
    return true, sizes[:, None] * slope[None, :], margin(images)


class Linearity(NamedTuple):
    """``sizes (S,)``: distances along the direction (in the norm's units); for the MLP and the linear model,
    ``*_ratio (S,)``: the median over images of true / first-order change of the margin (1: exactly linear);
    ``*_flipped (S,)``: the share of images whose margin is positive there (the target wins);
    ``*_smallest``: the median smallest flipping ε of PGD on that model (``advx.attacks.minimal_pgd_eps``).
    ``eps``: the attack's ε; ``linear_accuracy``: the linear model's clean test accuracy."""

    sizes: np.ndarray
    mlp_ratio: np.ndarray
    mlp_flipped: np.ndarray
    linear_ratio: np.ndarray
    linear_flipped: np.ndarray
    mlp_smallest: float
    linear_smallest: float
    linear_accuracy: float
    eps: float
    norm: str


def along_attack(params: dict, images, labels, key: jax.Array, norm: str) -> tuple[np.ndarray, np.ndarray]:
    """``(median true / first-order ratio (S,), share flipped (S,))`` along each image's PGD direction."""
    model_fn = A.as_model_fn(params)
    eps = SPLIT_EPS[norm]
    x = jnp.asarray(images, jnp.float32)
    labels, targets = jnp.asarray(labels, jnp.int32), jnp.asarray(targets_for(labels))
    delta = A.pgd(model_fn, x, targets, eps, key, norm=norm, targeted=True) - x
    direction = A.threat(norm).unit(delta)
    sizes = jnp.linspace(0.0, LINEARITY_REACH * eps, LINEARITY_POINTS)
    true, first, start = (np.asarray(a) for a in _margin_curves(model_fn, x, labels, targets, direction, sizes))
    ratio = np.ones(len(sizes))  # at size 0 both changes are 0: linear by definition
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio[1:] = np.nanmedian(np.where(np.abs(first[1:]) > 1e-9, true[1:] / first[1:], np.nan), axis=1)
    return ratio, np.mean(start[None] + true > 0, axis=1)


def linearity(params: dict, linear: dict, images, labels, key: jax.Array, *, norm: str,
              linear_accuracy: float) -> Linearity:
    """The MLP of ``params`` and the linear model of ``linear`` along their own PGD directions: a ``Linearity``."""
    curves = {name: along_attack(p, images, labels, key, norm) for name, p in (("mlp", params), ("linear", linear))}
    smallest = {name: A.minimal_pgd_eps(A.as_model_fn(p), jnp.asarray(images, jnp.float32),
                                        jnp.asarray(targets_for(labels)), SMALLEST_MAX_EPS[norm], key, norm=norm)
                for name, p in (("mlp", params), ("linear", linear))}
    median = {name: float(np.median(np.asarray(e))) for name, e in smallest.items()}
    return Linearity(sizes=np.linspace(0.0, LINEARITY_REACH * SPLIT_EPS[norm], LINEARITY_POINTS),
                     mlp_ratio=curves["mlp"][0], mlp_flipped=curves["mlp"][1], linear_ratio=curves["linear"][0],
                     linear_flipped=curves["linear"][1], mlp_smallest=median["mlp"],
                     linear_smallest=median["linear"], linear_accuracy=float(linear_accuracy),
                     eps=float(SPLIT_EPS[norm]), norm=norm)
