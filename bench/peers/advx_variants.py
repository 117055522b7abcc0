"""Variants of advx's jitted epoch, raced against the real one to find what limits it.

``advx.train._epoch_fn`` compiles one epoch as a ``lax.scan`` over 468 batches of 128. Each variant
below changes one thing and is otherwise the same computation (same loss and batch accuracy, optimizer,
permutation and batch order), so its median epoch, measured interleaved with the others, says what that change buys:

- ``unroll=k``: ``lax.scan(..., unroll=k)``, k steps per loop iteration (fewer loop trips, bigger fusions);
- ``flatten``: ``optax.flatten(adam)``: Adam on one 55,050-vector instead of six arrays;
- ``pregather``: the epoch's batches gathered once before the scan (one big gather, then the scan
  streams contiguous batches) instead of one 128-row gather per step;
- ``float32``: the pixels kept as float32 in [0, 1] on device instead of uint8 scaled in the step.

XLA's threading is set per process (``XLA_FLAGS``), so ``bench/run.py`` races the same variants again
in a child process with single-threaded Eigen (``--xla_cpu_multi_thread_eigen=false``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from advx.config import TrainConfig
from advx.train import _loss_and_correct, make_optimizer

VARIANTS = {
    "scan (as advx)": {},
    "unroll=2": {"unroll": 2},
    "unroll=4": {"unroll": 4},
    "unroll=8": {"unroll": 8},
    "optax.flatten": {"flatten": True},
    "pregather": {"pregather": True},
    "float32 pixels": {"float32": True},
    "unroll=4 + pregather + flatten": {"unroll": 4, "pregather": True, "flatten": True},
}


def epoch_variant(config: TrainConfig, n_train: int, *, unroll: int = 1, flatten: bool = False,
                  pregather: bool = False, float32: bool = False):
    """``(optimizer, epoch)`` like ``advx.train._epoch_fn(config, n_train)``, with one thing changed.

    ``epoch(params, opt_state, key, x, y) -> (params, opt_state, mean batch loss, mean batch accuracy)``; ``x`` is
    ``(n_train, 784)`` uint8, or float32 in [0, 1] with ``float32=True``.
    """
    batch = min(config.batch_size, n_train)
    n_batches = n_train // batch
    optimizer = make_optimizer(config, n_batches)
    if flatten:
        optimizer = optax.flatten(optimizer)
    scale = (lambda xb: xb) if float32 else (lambda xb: xb.astype(jnp.float32) / 255.0)

    def update(params, opt_state, xb, yb):
        (loss, correct), grads = jax.value_and_grad(_loss_and_correct, has_aux=True)(params, scale(xb), yb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, (loss, correct)

    def step_gather(carry, idx):
        params, opt_state, x, y = carry
        params, opt_state, metrics = update(params, opt_state, x[idx], y[idx])
        return (params, opt_state, x, y), metrics

    def step_stream(carry, batch_xy):
        params, opt_state = carry
        params, opt_state, metrics = update(params, opt_state, *batch_xy)
        return (params, opt_state), metrics

    @jax.jit
    def epoch(params, opt_state, key, x, y):
        perm_key, _ = jax.random.split(key)
        order = jax.random.permutation(perm_key, n_train)[: n_batches * batch].reshape(n_batches, batch)
        if pregather:
            (params, opt_state), (losses, correct) = jax.lax.scan(step_stream, (params, opt_state),
                                                                  (x[order], y[order]), unroll=unroll)
        else:
            (params, opt_state, _, _), (losses, correct) = jax.lax.scan(step_gather, (params, opt_state, x, y),
                                                                        order, unroll=unroll)
        return params, opt_state, losses.mean(), correct.mean()

    return optimizer, epoch
