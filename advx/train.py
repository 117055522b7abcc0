"""Training: Optax under ``jax.jit``, one whole epoch per compiled call (``lax.scan`` over batches).

``train(config, data)`` returns a ``Run`` holding the parameters at initialisation and after every
epoch, so later stages can scrub through training.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from advx.config import TrainConfig
from advx.data import MNIST
from advx.model import forward, init_params, to_pixels

# progress(epochs_done, total_epochs, metrics_of_last_epoch_or_empty)
Progress = Callable[[int, int, dict], None]


@dataclass(frozen=True, eq=False)
class Run:
    """A trained network and how it got there.

    ``params_history[e]`` is the params after ``e`` epochs (``0`` is the initialisation);
    ``history`` maps ``train_loss``, ``train_acc`` (averaged over the epoch's batches), ``test_loss``,
    ``test_acc`` (after the epoch), ``epoch_seconds`` to ``(epochs,)`` float64 arrays.
    """

    config: TrainConfig
    data_sha: str
    params_history: tuple = field(repr=False)
    history: dict = field(repr=False)

    @property
    def run_id(self) -> str:
        return run_id(self.config, self.data_sha)

    @property
    def n_epochs(self) -> int:
        return len(self.params_history) - 1

    def params_at(self, epoch: int) -> dict:
        if not 0 <= epoch <= self.n_epochs:
            raise IndexError(f"epoch {epoch} is outside 0..{self.n_epochs}")
        return self.params_history[epoch]

    @property
    def init_params(self) -> dict:
        return self.params_history[0]

    @property
    def final_params(self) -> dict:
        return self.params_history[-1]

    @property
    def test_accuracy(self) -> float:
        return float(self.history["test_acc"][-1])


def run_id(config: TrainConfig, data_sha: str) -> str:
    """The store key: the configuration's digest and the data's content hash."""
    return f"{config.digest()}-{data_sha[:12]}"


def learning_rate_schedule(config: TrainConfig, steps_per_epoch: int):
    """A constant rate, or cosine decay from ``learning_rate`` to 0 over the whole run."""
    if config.schedule == "cosine":
        return optax.cosine_decay_schedule(config.learning_rate, config.epochs * steps_per_epoch)
    return config.learning_rate


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> optax.GradientTransformation:
    """Adam (AdamW when ``weight_decay`` > 0) or SGD with momentum (plus decay on the gradient)."""
    lr = learning_rate_schedule(config, steps_per_epoch)
    if config.optimizer == "adam":
        if config.weight_decay > 0:
            return optax.adamw(lr, weight_decay=config.weight_decay)
        return optax.adam(lr)
    sgd = optax.sgd(lr, momentum=config.momentum or None)
    if config.weight_decay > 0:
        return optax.chain(optax.add_decayed_weights(config.weight_decay), sgd)
    return sgd


def cross_entropy(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy; ``x (n, 784)`` float32, ``y (n,)`` int labels."""
    return optax.softmax_cross_entropy_with_integer_labels(forward(params, x), y).mean()


@jax.jit
def evaluate(params: dict, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(mean loss, accuracy)`` over ``x (n, 784)``, ``y (n,)``."""
    logits = forward(params, x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, (logits.argmax(-1) == y).mean()


def _loss_and_correct(params: dict, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    logits = forward(params, x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, (logits.argmax(-1) == y).mean()


@jax.jit
def _evaluate_pixels(params: dict, images: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``evaluate`` for ``(n, 784)`` uint8 pixels."""
    return evaluate(params, to_pixels(images), y)


@functools.lru_cache(maxsize=32)
def _epoch_fn(config: TrainConfig, n_train: int):
    """The jitted one-epoch step for a configuration (compiled once per process and config).

    The returned function maps ``(params, opt_state, key, x, y)`` to
    ``(params, opt_state, mean_batch_loss, mean_batch_accuracy)``. ``x`` is ``(n_train, 784)`` uint8 on device (a quarter
    of the memory traffic of float32); each batch is gathered and scaled to [0, 1] inside the scan.
    Batches are a fresh permutation each epoch, dropping the last partial batch.
    """
    batch = min(config.batch_size, n_train)
    n_batches = n_train // batch
    optimizer = make_optimizer(config, n_batches)
    noise = config.input_noise

    def step(carry, inputs):
        params, opt_state, x, y = carry
        idx, key = inputs
        xb = to_pixels(x[idx])
        yb = y[idx]
        if noise > 0:
            xb = xb + noise * jax.random.normal(key, xb.shape, xb.dtype)
        (loss, correct), grads = jax.value_and_grad(_loss_and_correct, has_aux=True)(params, xb, yb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, x, y), (loss, correct)

    @jax.jit
    def epoch(params, opt_state, key, x, y):
        perm_key, noise_key = jax.random.split(key)
        order = jax.random.permutation(perm_key, n_train)[: n_batches * batch].reshape(n_batches, batch)
        keys = jax.random.split(noise_key, n_batches)
        (params, opt_state, _, _), (losses, correct) = jax.lax.scan(step, (params, opt_state, x, y), (order, keys))
        return params, opt_state, losses.mean(), correct.mean()

    return optimizer, epoch


def _to_numpy(params: dict) -> dict:
    return jax.tree.map(lambda a: np.asarray(a), params)


def train(config: TrainConfig, data: MNIST, progress: Optional[Progress] = None) -> Run:
    """Train the MLP on MNIST. Deterministic for a given ``config.seed`` on a given machine."""
    x_train = jnp.asarray(np.asarray(data.train_images).reshape(len(data.train_images), -1))
    y_train = jnp.asarray(data.train_labels, jnp.int32)
    x_test = jnp.asarray(np.asarray(data.test_images).reshape(len(data.test_images), -1))
    y_test = jnp.asarray(data.test_labels, jnp.int32)

    key = jax.random.PRNGKey(config.seed)
    init_key, key = jax.random.split(key)
    optimizer, epoch = _epoch_fn(config, int(x_train.shape[0]))
    params = init_params(config.hidden, init_key)
    opt_state = optimizer.init(params)
    snapshots = [_to_numpy(params)]
    names = ("train_loss", "train_acc", "test_loss", "test_acc", "epoch_seconds")
    hist = {k: [] for k in names}
    if progress:
        progress(0, config.epochs, {})
    for _ in range(config.epochs):
        key, epoch_key = jax.random.split(key)
        start = time.perf_counter()
        # Train metrics are the averages over the epoch's batches, as the batches were seen (the way
        # Keras reports them); a separate pass over 60,000 images after every epoch cost more than the epoch.
        params, opt_state, train_loss, train_acc = epoch(params, opt_state, epoch_key, x_train, y_train)
        jax.block_until_ready(params)
        seconds = time.perf_counter() - start
        test_loss, test_acc = _evaluate_pixels(params, x_test, y_test)
        for k, v in zip(names, (train_loss, train_acc, test_loss, test_acc, seconds)):
            hist[k].append(float(v))
        if not np.isfinite(hist["train_loss"][-1]):
            raise TrainingDivergedError(
                f"training diverged at epoch {len(hist['train_loss'])} (loss is {hist['train_loss'][-1]}); "
                f"lower the learning rate (now {config.learning_rate})")
        snapshots.append(_to_numpy(params))
        if progress:
            progress(len(hist["train_loss"]), config.epochs, {k: v[-1] for k, v in hist.items()})
    return Run(config=config, data_sha=data.sha, params_history=tuple(snapshots),
               history={k: np.asarray(v, np.float64) for k, v in hist.items()})


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the run is not kept."""
