"""The run store: trained runs on disk under ``<cache dir>/runs``, one verified file per run.

A run file is an ``advx.storage`` file of kind ``run``: every epoch's parameters and the history as
arrays, the configuration and the data hash as its identity. It is written atomically and verified on
every read; a damaged file is reported, removed and the run trained again. ``storage.load_or_compute``
keeps two processes (or two threads) from training the same run at once: the second one waits and then
loads the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import jax.numpy as jnp
import numpy as np

from advx import storage
from advx.config import TrainConfig
from advx.data import MNIST
from advx.paths import cache_dir
from advx.storage import DamageHandler, StoredFileError, remove_stale_temporary_files as _remove_stale
from advx.train import Progress, Run, run_id, train

KIND = "run"


class RunCorruptError(StoredFileError):
    """A stored run failed verification."""


def runs_dir(root: Optional[Path] = None) -> Path:
    path = Path(root) if root is not None else cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_path(config: TrainConfig, data_sha: str, root: Optional[Path] = None) -> Path:
    return runs_dir(root) / f"{run_id(config, data_sha)}.npz"


def _identity(config: TrainConfig, data_sha: str) -> dict:
    return {"config": config.to_dict(), "data_sha": data_sha, "run_id": run_id(config, data_sha)}


def _run_arrays(run: Run) -> tuple[dict, dict]:
    arrays: dict[str, np.ndarray] = {}
    for epoch, params in enumerate(run.params_history):
        for layer, leaves in params.items():
            for leaf, value in leaves.items():
                arrays[f"params/{epoch}/{layer}/{leaf}"] = np.asarray(value, np.float32)
    for name, values in run.history.items():
        arrays[f"history/{name}"] = np.asarray(values, np.float64)
    return arrays, {"epochs": run.n_epochs}


def _run_from_arrays(arrays: dict, extra: dict, identity: dict) -> Run:
    try:
        config = TrainConfig.from_dict(identity["config"])
        epochs = int(extra["epochs"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunCorruptError(f"the run file's metadata cannot be read: {exc}") from exc
    history = [dict() for _ in range(epochs + 1)]
    for name, value in arrays.items():
        if name.startswith("params/"):
            _, epoch, layer, leaf = name.split("/")
            history[int(epoch)].setdefault(layer, {})[leaf] = jnp.asarray(value)
    if any(not p for p in history):
        raise RunCorruptError("the run file is missing some epochs' parameters")
    hist = {name.split("/", 1)[1]: value for name, value in arrays.items() if name.startswith("history/")}
    run = Run(config=config, data_sha=identity["data_sha"], params_history=tuple(history), history=hist)
    if run.run_id != identity.get("run_id"):
        raise RunCorruptError("the run file's id does not match its configuration")
    return run


def decode_run(blob: bytes) -> Run:
    """Parse and verify run-file bytes; raise ``RunCorruptError`` (a ``StoredFileError``) on any damage."""
    try:
        arrays, extra = storage.decode(blob, KIND, None)
    except StoredFileError as exc:
        raise RunCorruptError(str(exc)) from exc
    return _run_from_arrays(arrays, extra, extra.get("identity", {}))


def remove_stale_temporary_files(root: Optional[Path] = None,
                                 max_age: float = storage.STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Delete the store's temporary files of interrupted writes older than ``max_age`` seconds; return them."""
    return _remove_stale(runs_dir(root), max_age)


def save(run: Run, root: Optional[Path] = None) -> Path:
    arrays, extra = _run_arrays(run)
    identity = _identity(run.config, run.data_sha)
    return storage.save(run_path(run.config, run.data_sha, root), arrays, KIND, identity, dict(extra, identity=identity))


def load(config: TrainConfig, data_sha: str, root: Optional[Path] = None, *,
         on_damage: Optional[DamageHandler] = None) -> Optional[Run]:
    """The stored run, or ``None`` when there is none or it was damaged.

    A damaged file is removed and reported: to ``on_damage(message)`` when given, else as a
    ``storage.StoredFileWarning``. The message is a sentence for people, without a final full stop.
    """
    identity = _identity(config, data_sha)
    found = storage.load(run_path(config, data_sha, root), KIND, identity, on_damage=on_damage, what="run",
                         again="trained again")
    return None if found is None else _run_from_arrays(*found, identity)


def get_or_train(config: TrainConfig, data: MNIST, progress: Optional[Progress] = None,
                 root: Optional[Path] = None, *, on_damage: Optional[DamageHandler] = None) -> Run:
    """The run for ``config`` on ``data``: loaded from the store, or trained and stored.

    A damaged stored run is reported as ``load`` does (to ``on_damage`` when given) and trained again.
    """
    identity = _identity(config, data.sha)

    def encode_obj(run: Run) -> tuple[dict, dict]:
        arrays, extra = _run_arrays(run)
        return arrays, dict(extra, identity=identity)

    return storage.load_or_compute(lambda: run_path(config, data.sha, root), KIND, identity,
                                   lambda: train(config, data, progress), encode_obj,
                                   lambda arrays, extra: _run_from_arrays(arrays, extra, identity),
                                   on_damage=on_damage, what="run", again="trained again")


def list_runs(root: Optional[Path] = None) -> list[dict]:
    """Metadata of every readable stored run (config, accuracy), newest first; damaged files are skipped.

    Stale temporary files of interrupted writes are removed on the way (see ``remove_stale_temporary_files``).
    """
    remove_stale_temporary_files(root)
    out = []
    for path in sorted(runs_dir(root).glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            with np.load(path, allow_pickle=False) as npz:
                identity = json.loads(npz["meta"].tobytes().decode())["identity"]
                acc = float(npz["history/test_acc"][-1])
            out.append({"run_id": identity["run_id"], "config": identity["config"], "test_acc": acc, "path": str(path)})
        except Exception:  # noqa: BLE001 - a listing never fails on one bad file
            continue
    return out
