"""One verified-file format and one load-or-compute for everything advx keeps on disk.

Runs, every epoch's neuron results, the PCA of the training images, the overlay sweep summaries and the
counterfactual columns are all stored the same way: an uncompressed ``.npz`` of arrays plus a ``meta``
JSON record that names the file's ``kind`` and format, says what the file belongs to (its *identity*:
a run id, a data hash, a fingerprint of the weights, the settings) and holds the SHA-256 of every array.

- Files are written atomically (``advx.paths.atomic_write_bytes``): a reader sees the old file or the
  whole new one.
- Every read checks the format, the kind, the identity and every array's digest. A file that fails is
  reported (``on_damage(message)``, else a ``StoredFileWarning``), removed, and computed again.
- ``load_or_compute`` computes a missing file once: a lock per file (threads and processes) makes a
  second caller wait and then read what the first one wrote.

The objects themselves are turned into arrays and back by the caller's ``encode`` / ``decode`` pair, so
this module knows nothing of runs or subspaces.
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
from typing import Any, Callable, Optional

import numpy as np

from advx.paths import atomic_write_bytes

FILE_FORMAT = 2  # the layout of every stored file (1: the first run files, whose meta had no "kind")

# A temporary file of an atomic write older than this was left by a process that died before renaming
# it: writing any of these files takes well under a second.
STALE_TEMPORARY_SECONDS = 3600.0

DamageHandler = Callable[[str], None]


class StoredFileError(ValueError):
    """A stored file cannot be read, belongs to something else, or one of its arrays fails its SHA-256."""


class OutdatedFileError(StoredFileError):
    """A stored file written in an earlier format: replaced without a report (it is not damage)."""


class StoredFileWarning(UserWarning):
    """A stored file was damaged and has been removed (it will be computed again)."""


def array_digest(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes."""
    h = hashlib.sha256(str((a.dtype.str, a.shape)).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def fingerprint(arrays) -> str:
    """A short SHA-256 over a sequence of arrays (e.g. a network's weights): ties a file to them."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(array_digest(np.asarray(a)).encode())
    return h.hexdigest()[:16]


def encode(arrays: dict[str, np.ndarray], kind: str, identity: dict, extra: Optional[dict] = None) -> bytes:
    """The bytes of a verified file of ``kind`` holding ``arrays``; ``identity`` says what it belongs to,
    ``extra`` is any other JSON-able information (read back by ``decode``)."""
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    record = {"format": FILE_FORMAT, "kind": kind, "identity": identity, "extra": extra or {},
              "digests": {name: array_digest(value) for name, value in arrays.items()}}
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(record, sort_keys=True).encode(), np.uint8), **arrays)
    return buf.getvalue()


def decode(blob: bytes, kind: str, identity: Optional[dict]) -> tuple[dict[str, np.ndarray], dict]:
    """``(arrays, extra)`` of ``encode`` bytes, after every check; the arrays are read-only.

    Raises ``StoredFileError`` with the reason when the bytes are not such a file, the format or kind
    differ, the identity differs from ``identity`` (compared as JSON; ``None``: not compared, for a
    listing that learns what a file is from the file), or an array was altered.
    """
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        record = json.loads(arrays.pop("meta").tobytes().decode())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError) as exc:
        raise StoredFileError(f"the file cannot be read: {exc}") from exc
    if isinstance(record, dict) and isinstance(record.get("format"), int) and record["format"] < FILE_FORMAT:
        raise OutdatedFileError(f"the file has the earlier format {record['format']}")
    if not isinstance(record, dict) or record.get("format") != FILE_FORMAT:
        raise StoredFileError(f"unknown file format {record.get('format') if isinstance(record, dict) else None!r}")
    if record.get("kind") != kind:
        raise StoredFileError(f"the file holds {record.get('kind')!r}, not {kind!r}")
    if identity is not None and record.get("identity") != json.loads(json.dumps(identity)):
        raise StoredFileError("the file belongs to other data, weights or settings than its name says")
    digests = record.get("digests", {})
    if set(digests) != set(arrays):
        raise StoredFileError("the file's arrays do not match its manifest")
    for name, value in arrays.items():
        if array_digest(value) != digests[name]:
            raise StoredFileError(f"array {name} fails its SHA-256 check")
        value.setflags(write=False)
    return arrays, record.get("extra", {})


def save(path: Path, arrays: dict[str, np.ndarray], kind: str, identity: dict, extra: Optional[dict] = None) -> Path:
    """Write a verified file atomically (removing stale temporary files of its folder on the way)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporary_files(path.parent)
    atomic_write_bytes(path, encode(arrays, kind, identity, extra))
    return path


def _report(message: str, on_damage: Optional[DamageHandler]) -> None:
    if on_damage is None:
        warnings.warn(StoredFileWarning(message), stacklevel=3)
    else:
        on_damage(message)


def load(path: Path, kind: str, identity: dict, *, on_damage: Optional[DamageHandler] = None,
         what: str = "file", again: str = "computed again") -> Optional[tuple[dict[str, np.ndarray], dict]]:
    """``(arrays, extra)`` of the verified file at ``path``, or ``None`` when there is none or it was damaged.

    A damaged file (or one that belongs to something else) is removed and reported to ``on_damage``
    (a sentence for people, without a final full stop, naming the file as ``what`` and what happens
    next as ``again``), else as a ``StoredFileWarning``.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    try:
        return decode(blob, kind, identity)
    except StoredFileError as exc:
        try:
            path.unlink()
        except OSError:
            pass
        if isinstance(exc, OutdatedFileError):
            return None
        _report(f"stored {what} {path.name} is damaged ({exc}); it was removed and will be {again}", on_damage)
        return None


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def file_lock(path: Path):
    """An exclusive lock for one stored file, across threads and processes (a ``.lock`` file beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_locks_guard:
        thread_lock = _thread_locks.setdefault(str(path), threading.Lock())
    with thread_lock:
        fd = os.open(str(path) + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def load_or_compute(path: Path | Callable[[], Path], kind: str, identity: dict, compute: Optional[Callable[[], Any]],
                    encode_obj: Callable[[Any], tuple[dict, dict]], decode_obj: Callable[[dict, dict], Any], *,
                    on_damage: Optional[DamageHandler] = None, what: str = "file",
                    again: str = "computed again") -> Any:
    """The object stored at ``path``, or ``compute()`` stored there and returned.

    ``path``: the file, or a function returning it (which may raise ``OSError`` when there is no usable
    cache folder). ``encode_obj(obj) -> (arrays, extra)`` and ``decode_obj(arrays, extra) -> obj`` turn the
    object into a file's content and back. Computed once: a second caller (thread or process) waits for
    the lock, then reads the file the first one wrote. A damaged file is reported as ``load`` does and
    computed again. A cache folder that cannot be found, read or written only means the result is not
    kept: ``compute()`` is returned (and run once only). ``compute=None`` only reads: the stored object or ``None``.
    """
    computed: list = []
    try:
        where = path() if callable(path) else Path(path)
        found = load(where, kind, identity, on_damage=on_damage, what=what, again=again)
        if found is not None:
            return decode_obj(*found)
        if compute is None:
            return None
        with file_lock(where):
            found = load(where, kind, identity, on_damage=on_damage, what=what, again=again)
            if found is not None:
                return decode_obj(*found)
            computed.append(compute())
            arrays, extra = encode_obj(computed[0])
            save(where, arrays, kind, identity, extra)
    except OSError:  # no usable cache folder: nothing is kept
        if compute is None:
            return None
        if not computed:
            computed.append(compute())
    return computed[0]


def remove_stale_temporary_files(folder: Path, max_age: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Delete ``folder``'s temporary files of atomic writes last modified more than ``max_age`` seconds ago.

    Only the names ``atomic_write_bytes`` gives its temporary files (``.<name>.<random>.tmp``) are
    considered, and younger ones are kept: another process may be writing them right now.
    """
    now = time.time()
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        try:
            if not path.is_file() or path.is_symlink() or now - path.stat().st_mtime <= max_age:
                continue
            path.unlink()
        except OSError:  # removed or renamed by another process meanwhile, or not ours to remove
            continue
        removed.append(path)
    return removed
