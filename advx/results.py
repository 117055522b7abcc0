"""A run's results that the pages show, computed once and kept on disk beside the run.

A sweep of the overlay over the test set or a table of attacks takes seconds; a restarted server should
read it, not compute it again. ``keep_tuple`` keeps a ``NamedTuple`` of arrays and numbers (for example
``advx.attacks.SweepSummary``), ``keep_rows`` a table as a list of dicts. Both go through
``advx.storage.load_or_compute``: one file per run and settings under ``<cache>/<folder>``, tied to the
run's final weights by a fingerprint and to the settings that made it, verified on every read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Optional, TypeVar

import jax
import numpy as np

from advx import storage
from advx.paths import cache_dir

T = TypeVar("T")


def identity(run, settings: dict) -> dict:
    """What a kept result belongs to: the run, its final weights and the settings that made it."""
    return {"run_id": run.run_id, "weights": storage.fingerprint(jax.tree.leaves(run.final_params)),
            "settings": json.loads(json.dumps(settings, sort_keys=True))}


def result_path(folder: str, run, settings: dict, root: Optional[Path] = None) -> Path:
    """``<cache>/<folder>/<run id>-<digest of the settings>.npz``."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return (Path(root) if root is not None else cache_dir() / folder) / f"{run.run_id}-{digest}.npz"


def keep_tuple(folder: str, run, settings: dict, compute: Optional[Callable[[], T]], cls: type[T], *,
               root: Optional[Path] = None) -> Optional[T]:
    """``compute()`` (a ``cls`` NamedTuple of arrays and numbers), or the copy kept from an earlier call.
    ``compute=None``: only the kept copy, or ``None``."""

    def encode(value) -> tuple[dict, dict]:
        arrays = {name: np.asarray(v) for name, v in value._asdict().items()}
        return arrays, {"scalars": [name for name, v in value._asdict().items() if np.ndim(v) == 0]}

    def decode(arrays: dict, extra: dict):
        scalars = set(extra.get("scalars", ()))
        return cls(**{name: (arrays[name].item() if name in scalars else arrays[name]) for name in cls._fields})

    return storage.load_or_compute(result_path(folder, run, settings, root), folder, identity(run, settings),
                                   compute, encode, decode)


def keep_rows(folder: str, run, settings: dict, compute: Optional[Callable[[], list[dict]]], *,
              root: Optional[Path] = None) -> Optional[list[dict]]:
    """``compute()`` (a table: a list of dicts of JSON values), or the copy kept from an earlier call.
    ``compute=None``: only the kept copy, or ``None``."""

    def plain(value):
        return value.item() if isinstance(value, np.generic) else value

    return storage.load_or_compute(
        result_path(folder, run, settings, root), folder, identity(run, settings), compute,
        lambda rows: ({}, {"rows": [{key: plain(v) for key, v in row.items()} for row in rows]}),
        lambda arrays, extra: extra["rows"])
