"""The run store: trained runs on disk under ``<cache dir>/runs``, one verified file per run.

A run file is an uncompressed ``.npz`` holding every epoch's parameters, the history and a
``meta`` JSON record with the configuration, the data hash and a SHA-256 of every array. Files
are written atomically (``advx.paths.atomic_write_bytes``) and verified on every read; a damaged
file is reported, removed and the run trained again. A lock file per run keeps two processes (or
two threads) from training the same run at once: the second one waits and then loads the file.

A process killed between writing a run's temporary file and renaming it leaves that temporary file
behind; listing the store or saving a run removes such leftovers once they are an hour old (younger
ones may belong to a write in progress in another process).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import threading
import time
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

import jax.numpy as jnp
import numpy as np

from advx.config import TrainConfig
from advx.data import MNIST
from advx.paths import atomic_write_bytes, cache_dir
from advx.train import Progress, Run, run_id, train

FORMAT_VERSION = 1

# A temporary file of an atomic write (see ``advx.paths.atomic_write_bytes``) older than this was left
# by a process that died before renaming it: writing a run file takes well under a second.
STALE_TEMPORARY_SECONDS = 3600.0

DamageHandler = Callable[[str], None]


class RunCorruptError(ValueError):
    """A stored run failed verification."""


class RunCorruptWarning(UserWarning):
    """A stored run was damaged and has been discarded."""


def runs_dir(root: Optional[Path] = None) -> Path:
    path = Path(root) if root is not None else cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_path(config: TrainConfig, data_sha: str, root: Optional[Path] = None) -> Path:
    return runs_dir(root) / f"{run_id(config, data_sha)}.npz"


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256(str((a.dtype.str, a.shape)).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def encode_run(run: Run) -> bytes:
    """The bytes of a run file."""
    arrays: dict[str, np.ndarray] = {}
    for epoch, params in enumerate(run.params_history):
        for layer, leaves in params.items():
            for leaf, value in leaves.items():
                arrays[f"params/{epoch}/{layer}/{leaf}"] = np.asarray(value, np.float32)
    for name, values in run.history.items():
        arrays[f"history/{name}"] = np.asarray(values, np.float64)
    meta = {
        "format": FORMAT_VERSION,
        "config": run.config.to_dict(),
        "data_sha": run.data_sha,
        "run_id": run.run_id,
        "epochs": run.n_epochs,
        "digests": {k: _digest(v) for k, v in arrays.items()},
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def decode_run(blob: bytes) -> Run:
    """Parse and verify run-file bytes; raise ``RunCorruptError`` on any damage."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise RunCorruptError(f"the run file cannot be read: {exc}") from exc
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise RunCorruptError(f"the run file has no readable metadata: {exc}") from exc
    if meta.get("format") != FORMAT_VERSION:
        raise RunCorruptError(f"unknown run file format {meta.get('format')!r}")
    digests = meta.get("digests", {})
    if set(digests) != set(arrays):
        raise RunCorruptError("the run file's arrays do not match its manifest")
    for name, value in arrays.items():
        if _digest(value) != digests[name]:
            raise RunCorruptError(f"array {name} fails its SHA-256 check")
    config = TrainConfig.from_dict(meta["config"])
    epochs = int(meta["epochs"])
    history = [dict() for _ in range(epochs + 1)]
    for name, value in arrays.items():
        if name.startswith("params/"):
            _, epoch, layer, leaf = name.split("/")
            history[int(epoch)].setdefault(layer, {})[leaf] = jnp.asarray(value)
    if any(not p for p in history):
        raise RunCorruptError("the run file is missing some epochs' parameters")
    hist = {name.split("/", 1)[1]: value for name, value in arrays.items() if name.startswith("history/")}
    run = Run(config=config, data_sha=meta["data_sha"], params_history=tuple(history), history=hist)
    if run.run_id != meta.get("run_id"):
        raise RunCorruptError("the run file's id does not match its configuration")
    return run


def remove_stale_temporary_files(root: Optional[Path] = None,
                                  max_age: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Delete the store's temporary run files last modified more than ``max_age`` seconds ago; return them.

    Only names an atomic write of a run file gives its temporary file (``.<run file name>.<random>.tmp``)
    are considered, and younger ones are kept: another process may be writing them right now.
    """
    folder = runs_dir(root)
    now = time.time()
    removed = []
    for path in folder.glob(".*.npz.*.tmp"):
        try:
            if not path.is_file() or path.is_symlink() or now - path.stat().st_mtime <= max_age:
                continue
            path.unlink()
        except OSError:  # removed or renamed by another process meanwhile, or not ours to remove
            continue
        removed.append(path)
    return removed


def save(run: Run, root: Optional[Path] = None) -> Path:
    path = run_path(run.config, run.data_sha, root)
    remove_stale_temporary_files(root)
    atomic_write_bytes(path, encode_run(run))
    return path


def load(config: TrainConfig, data_sha: str, root: Optional[Path] = None, *,
         on_damage: Optional[DamageHandler] = None) -> Optional[Run]:
    """The stored run, or ``None`` when there is none or it was damaged.

    A damaged file is removed and reported: to ``on_damage(message)`` when given, else as a
    ``RunCorruptWarning``. The message is a sentence for people, without a final full stop.
    """
    path = run_path(config, data_sha, root)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        run = decode_run(blob)
        if run.config != config or run.data_sha != data_sha:
            raise RunCorruptError("the file holds a different run than its name says")
        return run
    except RunCorruptError as exc:
        message = f"stored run {path.name} is damaged ({exc}); it was removed and will be trained again"
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        if on_damage is None:
            warnings.warn(RunCorruptWarning(message), stacklevel=2)
        else:
            on_damage(message)
        return None


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def _run_lock(path: Path):
    """Hold an exclusive lock for one run across threads and processes."""
    with _thread_locks_guard:
        tlock = _thread_locks.setdefault(str(path), threading.Lock())
    with tlock:
        fd = os.open(str(path) + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def get_or_train(config: TrainConfig, data: MNIST, progress: Optional[Progress] = None,
                 root: Optional[Path] = None, *, on_damage: Optional[DamageHandler] = None) -> Run:
    """The run for ``config`` on ``data``: loaded from the store, or trained and stored.

    A damaged stored run is reported as ``load`` does (to ``on_damage`` when given) and trained again.
    """
    run = load(config, data.sha, root, on_damage=on_damage)
    if run is not None:
        return run
    path = run_path(config, data.sha, root)
    with _run_lock(path):
        # another process may have finished it while we waited
        run = load(config, data.sha, root, on_damage=on_damage)
        if run is None:
            run = train(config, data, progress)
            save(run, root)
    return run


def list_runs(root: Optional[Path] = None) -> list[dict]:
    """Metadata of every readable stored run (config, accuracy), newest first; damaged files are skipped.

    Stale temporary files of interrupted writes are removed on the way (see ``remove_stale_temporary_files``).
    """
    remove_stale_temporary_files(root)
    out = []
    for path in sorted(runs_dir(root).glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(npz["meta"].tobytes().decode())
                acc = float(npz["history/test_acc"][-1])
            out.append({"run_id": meta["run_id"], "config": meta["config"], "test_acc": acc, "path": str(path)})
        except Exception:  # noqa: BLE001 - a listing never fails on one bad file
            continue
    return out
