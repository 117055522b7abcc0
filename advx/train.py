"""Training: Optax under ``jax.jit``, one whole epoch per compiled call (``lax.scan`` over batches).

``train(config, data)`` returns a ``Run`` holding the parameters at initialisation and after every
epoch, so later stages can scrub through training.

Adversarial training (Madry et al. 2018: minimise over the weights the loss maximised over the eps-ball) is the
same epoch with each batch replaced by ``adversarial_batch`` (``advx.attacks.pgd``, a ``fori_loop``) inside the
scan, at the eps of ``ramp_eps``; a configuration without ``adversarial_norm`` trains exactly as before.
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

from advx.attacks.gradient import as_model_fn, pgd
from advx.config import TrainConfig
from advx.data import MNIST
from advx.model import device_rows, forward, init_params, to_pixels

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


@functools.partial(jax.jit, static_argnames="config")
def adversarial_batch(params: dict, images: jax.Array, labels: jax.Array, key: jax.Array, eps, *,
                      config: TrainConfig) -> jax.Array:
    """The images one step of adversarial training learns from (Madry et al. 2018, the inner maximisation).

    The first ``max(1, round(config.adversarial_share * n))`` images are replaced by ``advx.attacks.pgd``'s
    untargeted examples against ``params``, in the ``config.adversarial_norm`` ball of radius ``eps``
    (``config.adversarial_steps`` steps of ``config.adversarial_rel_step_size * eps``, from a random start
    drawn with ``key`` when ``config.adversarial_random_start``); the others are kept (batches are shuffled,
    so which ones are attacked is random). The same function runs inside the jitted epoch and outside it.
    ``images (n, 784)`` float32 in [0, 1]; ``labels (n,)`` int; ``eps`` a number (traced inside the epoch).
    Returns ``(n, 784)`` float32 in [0, 1].
    """
    n = images.shape[0]
    attacked = max(1, round(config.adversarial_share * n))
    model_fn = as_model_fn(jax.lax.stop_gradient(params))
    adversarial = pgd(model_fn, images[:attacked], labels[:attacked], eps, key, norm=config.adversarial_norm,
                      steps=config.adversarial_steps, rel_step_size=config.adversarial_rel_step_size,
                      random_init=config.adversarial_random_start)
    return jnp.concatenate([adversarial, images[attacked:]]) if attacked < n else adversarial


def ramp_eps(config: TrainConfig, epoch_index, n_batches: int) -> jax.Array:
    """The eps of each batch of epoch ``epoch_index`` (0-based): ``(n_batches,)`` float32.

    ``config.adversarial_eps`` throughout, or with ``config.adversarial_ramp_epochs`` > 0 a linear rise per
    batch, reaching the full eps at the last batch of the ramp's last epoch: batch ``b`` of epoch ``e`` gets
    ``eps * min(1, (e * n_batches + b + 1) / (ramp_epochs * n_batches))``. Large eps from the first step
    keep an MLP at chance on MNIST; the ramp is the usual cure.
    """
    full = jnp.full((n_batches,), config.adversarial_eps, jnp.float32)
    if config.adversarial_ramp_epochs == 0:
        return full
    done = epoch_index * n_batches + jnp.arange(1, n_batches + 1)
    return full * jnp.minimum(1.0, done / (config.adversarial_ramp_epochs * n_batches)).astype(jnp.float32)


def epoch_plan(key: jax.Array, n_train: int, batch: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One epoch's batches and keys from its ``key``: ``(order (n_batches, batch) int, noise keys, attack keys)``.

    ``order`` is a fresh permutation of the training set, dropping the last partial batch; the keys are one per
    batch. Public so that a test can rebuild a batch of the epoch and its attack outside it.
    """
    n_batches = n_train // batch
    perm_key, noise_key = jax.random.split(key)
    order = jax.random.permutation(perm_key, n_train)[: n_batches * batch].reshape(n_batches, batch)
    return order, jax.random.split(noise_key, n_batches), jax.random.split(jax.random.fold_in(key, 1), n_batches)


@functools.lru_cache(maxsize=32)
def _epoch_fn(config: TrainConfig, n_train: int):
    """The jitted one-epoch step for a configuration (compiled once per process and config).

    The returned function maps ``(params, opt_state, key, x, y, epoch_index=0)`` to
    ``(params, opt_state, mean_batch_loss, mean_batch_accuracy)``. ``x`` is ``(n_train, 784)`` uint8 on device (a quarter
    of the memory traffic of float32); each batch is gathered and scaled to [0, 1] inside the scan.
    Batches are a fresh permutation each epoch, dropping the last partial batch (``epoch_plan``). An adversarial
    configuration replaces each batch by ``adversarial_batch`` at the eps of ``ramp_eps`` (which needs
    ``epoch_index``) before the input noise; loss and accuracy are then those of the attacked batches.
    """
    batch = min(config.batch_size, n_train)
    n_batches = n_train // batch
    optimizer = make_optimizer(config, n_batches)
    noise = config.input_noise

    def step(carry, inputs):
        params, opt_state, x, y = carry
        idx, key, attack_key, eps = inputs
        xb = to_pixels(x[idx])
        yb = y[idx]
        if config.adversarial:
            xb = adversarial_batch(params, xb, yb, attack_key, eps, config=config)
        if noise > 0:
            xb = xb + noise * jax.random.normal(key, xb.shape, xb.dtype)
        (loss, correct), grads = jax.value_and_grad(_loss_and_correct, has_aux=True)(params, xb, yb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, x, y), (loss, correct)

    @jax.jit
    def epoch(params, opt_state, key, x, y, epoch_index=0):
        order, keys, attack_keys = epoch_plan(key, n_train, batch)
        eps = ramp_eps(config, epoch_index, n_batches)
        (params, opt_state, _, _), (losses, correct) = jax.lax.scan(
            step, (params, opt_state, x, y), (order, keys, attack_keys, eps))
        return params, opt_state, losses.mean(), correct.mean()

    return optimizer, epoch


def _to_numpy(params: dict) -> dict:
    return jax.tree.map(lambda a: np.asarray(a), params)


# What ``train`` is made of, for a caller that runs its epochs itself (``advx.population`` maps one epoch
# over many networks in one compiled program) and must give each network exactly what ``train`` gives it.


def initial_params(config: TrainConfig) -> tuple[dict, jax.Array]:
    """Where ``train`` starts: ``(params, key)``, the initial parameters for ``config.seed`` times
    ``config.init_scale``, and the key each epoch's key is split from (``key, epoch_key = split(key)``)."""
    key = jax.random.PRNGKey(config.seed)
    init_key, key = jax.random.split(key)
    return init_params(config.hidden, init_key, config.init_scale), key


def epoch_function(config: TrainConfig, n_train: int):
    """``(optimizer, epoch)``: ``train``'s jitted one-epoch step for ``config`` (see ``_epoch_fn``)."""
    return _epoch_fn(config, n_train)


def compile_training(config: TrainConfig, n_train: int, train_dtype, test_images) -> None:
    """Compiles ``train``'s programs for ``config`` without running them: its epoch on a training set of ``n_train``
    rows of 784 pixels of ``train_dtype`` (uint8 or float32) and its test metrics on ``test_images``.

    For a caller about to build a large training set: compiled first, the compiler's working memory (50-100 MB
    for the 784-64-64-10 network) does not come on top of the set. ``train`` then finds both programs compiled
    (the same programs, so the same results)."""
    optimizer, epoch = _epoch_fn(config, int(n_train))
    params, key = initial_params(config)
    test = np.asarray(test_images)
    test_rows = jax.ShapeDtypeStruct((test.shape[0], int(np.prod(test.shape[1:]))), test.dtype)
    labels = lambda n: jax.ShapeDtypeStruct((n,), jnp.int32)  # noqa: E731
    epoch.lower(params, optimizer.init(params), key, jax.ShapeDtypeStruct((int(n_train), 784), train_dtype),
                labels(int(n_train)), 0).compile()
    _evaluate_pixels.lower(params, test_rows, labels(test.shape[0])).compile()


def evaluate_images(params: dict, images: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``train``'s test metrics ``(mean loss, accuracy)`` for ``(n, 784)`` uint8 ``images`` and ``(n,)`` labels."""
    return _evaluate_pixels(params, images, y)


def train(config: TrainConfig, data: MNIST, progress: Optional[Progress] = None) -> Run:
    """Train the MLP on MNIST. Deterministic for a given ``config.seed`` on a given machine."""
    x_train = device_rows(data.train_images)
    y_train = jnp.asarray(data.train_labels, jnp.int32)
    x_test = device_rows(data.test_images)
    y_test = jnp.asarray(data.test_labels, jnp.int32)

    optimizer, epoch = _epoch_fn(config, int(x_train.shape[0]))
    params, key = initial_params(config)
    opt_state = optimizer.init(params)
    snapshots = [_to_numpy(params)]
    names = ("train_loss", "train_acc", "test_loss", "test_acc", "epoch_seconds")
    hist = {k: [] for k in names}
    if progress:
        progress(0, config.epochs, {})
    for epoch_index in range(config.epochs):
        key, epoch_key = jax.random.split(key)
        start = time.perf_counter()
        # Train metrics are the averages over the epoch's batches, as the batches were seen (the way
        # Keras reports them); a separate pass over 60,000 images after every epoch cost more than the epoch.
        params, opt_state, train_loss, train_acc = epoch(params, opt_state, epoch_key, x_train, y_train,
                                                        epoch_index)
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
