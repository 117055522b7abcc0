"""Many networks trained together: each epoch of a group of members is one compiled program.

A *population* is a list of ``TrainConfig``s. Members that differ only in ``seed`` and ``init_scale`` form a
group (the same optimizer, schedule, epochs, ...): ``train``'s own jitted epoch (``advx.train.epoch_function``)
is mapped over the group's stacked parameters, optimizer states and keys inside one ``jax.jit``, so a
group's epoch is one dispatch and one compilation, whatever the number of seeds and scales. Every member
starts from ``advx.train.initial_params`` and gets ``train``'s epoch keys, so it is the network ``train``
gives for its configuration; each comes back as an ordinary ``advx.train.Run``, stored under its own id.

``chunk`` says how members share the program: ``jax.lax.map`` takes ``chunk`` members at a time and
``jax.vmap``s over them (``None``: all at once, one ``vmap``). With ``chunk=1`` each member's epoch is the
very computation ``train`` compiles, and the networks are bit-identical to ``train``'s; a ``vmap`` batches
the matrix products, whose sums are then rounded in another order, and training amplifies that rounding
(see ``DEFAULT_CHUNK`` and ``bench/population_speed.py`` for what was measured).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from advx.config import TrainConfig
from advx.data import MNIST
from advx.model import device_rows
from advx.train import (Progress, Run, TrainingDivergedError, epoch_function, evaluate_images,
                        initial_params)

# Members per vmapped batch. On this 2-core CPU a vmapped epoch of 8 networks took as long as 8 epochs one
# after the other (6.6-10 x one network's epoch, against 6.5-8.6 x looped; the products are compute-bound
# either way), and training amplifies the vmapped products' other rounding: after 15 epochs the default
# population's vmapped networks differed from ``train``'s by 5-32% in weights (relative L2) and on 0.15-0.8% of
# the test predictions (accuracy within 0.11 points). So the default keeps each member's epoch exactly
# ``train``'s: the same networks to the bit. ``None`` vmaps the whole group (worth trying on a GPU).
DEFAULT_CHUNK: Optional[int] = 1
HISTORY = ("train_loss", "train_acc", "test_loss", "test_acc", "epoch_seconds")  # as ``advx.train.Run.history``


class PopulationDivergedError(TrainingDivergedError):
    """Some members' loss became NaN or infinite. ``runs`` holds the others (``None`` for a diverged one)."""

    def __init__(self, message: str, runs: list):
        super().__init__(message)
        self.runs = runs


def group_config(config: TrainConfig) -> TrainConfig:
    """What a group shares: ``config`` with the per-member fields (``seed``, ``init_scale``) at their defaults."""
    return dataclasses.replace(config, seed=0, init_scale=1.0)


def groups(configs: Sequence[TrainConfig]) -> dict[TrainConfig, list[int]]:
    """The indices of ``configs`` by ``group_config``, in first-seen order."""
    out: dict[TrainConfig, list[int]] = {}
    for i, config in enumerate(configs):
        out.setdefault(group_config(config), []).append(i)
    return out


@functools.lru_cache(maxsize=16)
def group_epoch(config: TrainConfig, n_train: int, chunk: Optional[int] = DEFAULT_CHUNK):
    """``(optimizer, population_epoch)`` for the group of ``config`` (a ``group_config``).

    ``population_epoch(params, opt_state, keys, x, y, epoch_index)`` takes the members' stacked params and
    optimizer states and their ``(m,)`` epoch keys, and returns them stacked after one epoch of ``train``'s
    step each, with ``(m,)`` mean batch losses and accuracies.
    """
    optimizer, epoch = epoch_function(config, n_train)

    def one(member, x, y, epoch_index):
        params, opt_state, key = member
        return epoch(params, opt_state, key, x, y, epoch_index)

    @jax.jit
    def population_epoch(params, opt_state, keys, x, y, epoch_index):
        members = (params, opt_state, keys)
        if chunk is None:
            return jax.vmap(one, in_axes=(0, None, None, None))(members, x, y, epoch_index)
        return jax.lax.map(lambda m: one(m, x, y, epoch_index), members,
                           batch_size=None if chunk == 1 else chunk)

    return optimizer, population_epoch


def _stack(trees: list):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def _member(stacked_numpy: dict, i: int) -> dict:
    return jax.tree.map(lambda a: a[i], stacked_numpy)


def unique_configs(configs: Sequence[TrainConfig]) -> list[TrainConfig]:
    """``configs`` without repeats (by digest), in order."""
    seen: dict[str, TrainConfig] = {}
    for config in configs:
        seen.setdefault(config.digest(), config)
    return list(seen.values())


def train_population(configs: Sequence[TrainConfig], data: MNIST, progress: Optional[Progress] = None, *,
                     chunk: Optional[int] = DEFAULT_CHUNK) -> list[Run]:
    """Train every configuration of ``configs`` on ``data``, each group of members in one program per epoch.

    Returns one ``Run`` per configuration, in order (a repeated configuration is trained once and its run
    repeated). Each run holds what ``advx.train.train`` would: the params at initialisation and after every
    epoch, and the history, whose ``epoch_seconds`` is the group's epoch time divided by its members (the
    share of one network). ``progress(done, total, metrics)`` is called as ``advx.train.Progress`` is, with
    ``done`` and ``total`` in epochs of the longest group and ``metrics`` the mean, worst and best test
    accuracy over the members so far. Members whose loss diverges are reported together at the end, as a
    ``PopulationDivergedError`` holding the others' runs.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("a population needs at least one configuration")
    unique = unique_configs(configs)
    x_train = device_rows(data.train_images)
    y_train = jnp.asarray(data.train_labels, jnp.int32)
    x_test = device_rows(data.test_images)
    y_test = jnp.asarray(data.test_labels, jnp.int32)
    n_train = int(x_train.shape[0])

    state = []  # per group: [members, fn, params, opt_state, keys, snapshots per member, history per member]
    for shared, members in groups(unique).items():
        optimizer, fn = group_epoch(shared, n_train, chunk)
        starts = [initial_params(unique[i]) for i in members]
        params = _stack([p for p, _ in starts])
        opt_state = _stack([optimizer.init(p) for p, _ in starts])
        snapshots = [[jax.tree.map(np.asarray, p)] for p, _ in starts]
        state.append([members, fn, params, opt_state, [k for _, k in starts], snapshots,
                      [{name: [] for name in HISTORY} for _ in members], shared.epochs])
    total = max(c.epochs for c in unique)
    if progress:
        progress(0, total, {})
    for epoch_index in range(total):
        for group in state:
            members, fn, params, opt_state, keys, snapshots, hist, epochs = group
            if epoch_index >= epochs:
                continue
            split = [jax.random.split(k) for k in keys]
            keys = [s[0] for s in split]
            start = time.perf_counter()
            params, opt_state, losses, accs = fn(params, opt_state, jnp.stack([s[1] for s in split]),
                                                 x_train, y_train, epoch_index)
            jax.block_until_ready(params)
            seconds = (time.perf_counter() - start) / len(members)
            host = jax.tree.map(np.asarray, params)
            losses, accs = np.asarray(losses), np.asarray(accs)
            for j in range(len(members)):
                member = _member(host, j)
                test_loss, test_acc = evaluate_images(member, x_test, y_test)
                for name, value in zip(HISTORY, (losses[j], accs[j], test_loss, test_acc, seconds)):
                    hist[j][name].append(float(value))
                snapshots[j].append(member)
            group[2:5] = [params, opt_state, keys]
        if progress:
            accs = [h["test_acc"][-1] for g in state for h in g[6] if h["test_acc"]]
            finite = [a for a in accs if np.isfinite(a)] or [float("nan")]
            progress(epoch_index + 1, total, {"members": len(accs), "test_acc_mean": float(np.mean(finite)),
                                              "test_acc_min": float(np.min(finite)),
                                              "test_acc_max": float(np.max(finite))})
    runs: dict[str, Optional[Run]] = {}
    diverged = []
    for members, _, _, _, _, snapshots, hist, _ in state:
        for j, i in enumerate(members):
            config = unique[i]
            if not np.all(np.isfinite(hist[j]["train_loss"])):
                runs[config.digest()] = None
                diverged.append(config)
                continue
            runs[config.digest()] = Run(config=config, data_sha=data.sha, params_history=tuple(snapshots[j]),
                                        history={k: np.asarray(v, np.float64) for k, v in hist[j].items()})
    out = [runs[c.digest()] for c in configs]
    if diverged:
        names = "; ".join(f"{c.optimizer} seed {c.seed} init ×{c.init_scale:g} (learning rate {c.learning_rate:g})"
                          for c in diverged)
        raise PopulationDivergedError(f"training diverged for {len(diverged)} of {len(unique)} networks: {names}; "
                                      "lower their learning rate or initialisation scale", out)
    return out
