"""Which networks a population holds, and the population loaded from the run store or trained and stored.

Every member is an ordinary run of ``advx.store`` (``<cache>/runs/<run id>.npz``): ``store.load`` or
``store.get_or_train`` finds it alone, and a run trained alone is a member here. ``get_or_train_population``
loads the stored members and trains the missing ones together (``train_population``) while it holds the
store's lock of each of their files, so that two processes never train the same member at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from advx import storage, store
from advx.config import TrainConfig
from advx.data import MNIST
from advx.storage import DamageHandler
from advx.train import Progress, Run

from advx.population.training import (DEFAULT_CHUNK, PopulationDivergedError, train_population,
                                      unique_configs)

POPULATION_SEEDS = (0, 1, 2, 3)
POPULATION_OPTIMIZERS = ("adam", "sgd")  # the two plain runs "Why it happens" compares
INIT_SCALES = (0.25, 0.5, 1.0, 2.0)
INIT_SCALE_SEEDS = (0, 1)


def population_configs(base: Optional[TrainConfig] = None, *, seeds: Sequence[int] = POPULATION_SEEDS,
                       optimizers: Sequence[str] = POPULATION_OPTIMIZERS,
                       init_scales: Sequence[float] = (1.0,)) -> list[TrainConfig]:
    """Every (optimizer, init scale, seed) of ``base`` (default: the post's network), in that nesting order.

    The optimizers take their settings from ``advx.subspace.comparison_configs(base)`` (Adam at ``base``'s or
    the default rate, plain SGD at ``SGD_LEARNING_RATE``), so the Adam and SGD members of ``base``'s seed
    are the runs "Why it happens" compares, and seed 0's Adam member is the default run.
    """
    from advx.subspace import comparison_configs

    compared = comparison_configs(base if base is not None else TrainConfig())
    unknown = set(optimizers) - {"adam", "sgd"}
    if unknown:
        raise ValueError(f"a population's optimizers are 'adam' and 'sgd', got {sorted(unknown)}")
    return [dataclasses.replace(compared[o], seed=int(s), init_scale=float(scale))
            for o in optimizers for scale in init_scales for s in seeds]


def init_scale_configs(base: Optional[TrainConfig] = None, *, scales: Sequence[float] = INIT_SCALES,
                       seeds: Sequence[int] = INIT_SCALE_SEEDS,
                       optimizers: Sequence[str] = POPULATION_OPTIMIZERS) -> list[TrainConfig]:
    """The population of the initialisation-scale test: ``population_configs`` over ``scales``."""
    return population_configs(base, seeds=seeds, optimizers=optimizers, init_scales=scales)


@dataclass(frozen=True, eq=False)
class Population:
    """Trained members, in order. ``run_id`` and ``final_params`` let ``advx.experiments`` keep a
    population's results as they keep a run's (tied to every member's weights)."""

    runs: tuple

    @property
    def configs(self) -> list[TrainConfig]:
        return [r.config for r in self.runs]

    @property
    def run_id(self) -> str:
        """``population-<16 hex>``: a hash of the members' run ids, in order."""
        blob = ",".join(r.run_id for r in self.runs).encode()
        return f"population-{hashlib.sha256(blob).hexdigest()[:16]}"

    @property
    def final_params(self) -> tuple:
        return tuple(r.final_params for r in self.runs)

    def params(self, epoch: Optional[int] = None) -> list[dict]:
        """Every member's params after ``epoch`` (default: the last)."""
        return [r.final_params if epoch is None else r.params_at(epoch) for r in self.runs]

    def __len__(self) -> int:
        return len(self.runs)


def _load(config: TrainConfig, sha: str, root, on_damage) -> Optional[Run]:
    return store.load(config, sha, root, on_damage=on_damage)


def get_or_train_population(configs: Sequence[TrainConfig], data: MNIST, progress: Optional[Progress] = None,
                            root: Optional[Path] = None, *, on_damage: Optional[DamageHandler] = None,
                            chunk: Optional[int] = DEFAULT_CHUNK) -> Population:
    """The ``Population`` of ``configs`` on ``data``: stored members loaded, the others trained together and stored.

    The missing members' files are locked (``advx.storage.file_lock``, in a fixed order) for the whole
    training, so a second caller waits and then loads them. A damaged stored member is reported as
    ``advx.store.load`` does and trained again. Without a usable cache folder the members are trained and
    nothing is kept. When some members diverge, the others are stored and ``PopulationDivergedError`` raised.
    ``progress`` is ``train_population``'s; when every member is stored it is called once, ``(epochs, epochs, {})``.
    """
    configs = list(configs)
    unique = unique_configs(configs)
    found: dict[str, Optional[Run]] = {}

    def train_missing(missing: list[TrainConfig], keep: bool) -> None:
        try:
            runs = train_population(missing, data, progress, chunk=chunk)
        except PopulationDivergedError as exc:
            runs = exc.runs
            if keep:
                for run in runs:
                    if run is not None:
                        store.save(run, root)
            raise
        for config, run in zip(missing, runs):
            found[config.digest()] = run
        if keep:
            for run in runs:
                store.save(run, root)

    try:
        for config in unique:
            found[config.digest()] = _load(config, data.sha, root, on_damage)
        missing = [c for c in unique if found[c.digest()] is None]
        if missing:
            paths = sorted(store.run_path(c, data.sha, root) for c in missing)
            with ExitStack() as locks:
                for path in paths:
                    locks.enter_context(storage.file_lock(path))
                for config in missing:  # another process may have trained them meanwhile
                    found[config.digest()] = _load(config, data.sha, root, on_damage)
                missing = [c for c in missing if found[c.digest()] is None]
                if missing:
                    train_missing(missing, keep=True)
    except OSError:  # no usable cache folder: train what is not loaded, keep nothing
        missing = [c for c in unique if found.get(c.digest()) is None]
        if missing:
            train_missing(missing, keep=False)
    if progress and not missing:
        epochs = max(c.epochs for c in unique)
        progress(epochs, epochs, {})
    return Population(tuple(found[c.digest()] for c in configs))
