"""Where advx keeps its files, and how it writes them without ever leaving half a file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class CacheDirError(OSError):
    """The cache directory cannot be created or written."""


def cache_dir() -> Path:
    """The cache directory: ``$ADVX_CACHE_DIR`` or ``~/.cache/advx``, created if missing.

    Raises ``CacheDirError`` with the path and the reason when it cannot be created or written.
    """
    root = Path(os.environ.get("ADVX_CACHE_DIR") or Path.home() / ".cache" / "advx").expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheDirError(f"cannot create the cache directory {root}: {exc.strerror or exc}. "
                            "Set ADVX_CACHE_DIR to a writable folder.") from exc
    if not os.access(root, os.W_OK):
        raise CacheDirError(f"the cache directory {root} is not writable. Set ADVX_CACHE_DIR to a writable folder.")
    return root


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.

    The bytes go to a unique temporary file in the same folder, are flushed to disk, then renamed
    over ``path`` (``os.replace`` is atomic on POSIX). Concurrent writers each rename a complete file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Verified array files: an .npz of arrays plus a JSON record holding each array's SHA-256


class VerifiedFileError(ValueError):
    """A verified array file cannot be read, or one of its arrays fails its SHA-256 check."""


def array_digest(a) -> str:
    """SHA-256 of an array's dtype, shape and bytes."""
    import numpy as np

    h = hashlib.sha256(str((a.dtype.str, a.shape)).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def encode_verified(arrays: dict, meta: dict) -> bytes:
    """The bytes of an ``.npz`` holding ``arrays`` and ``meta`` (JSON) with a ``digests`` entry added."""
    import io
    import json

    import numpy as np

    record = dict(meta, digests={k: array_digest(v) for k, v in arrays.items()})
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(record, sort_keys=True).encode(), np.uint8), **arrays)
    return buf.getvalue()


def decode_verified(blob: bytes, file_format) -> tuple[dict, dict]:
    """``(arrays, meta)`` of ``encode_verified`` bytes, every array checked against its digest.

    Raises ``VerifiedFileError`` when the bytes are not such a file, its ``meta["format"]`` is not
    ``file_format``, or an array was altered. The arrays are read-only. The caller checks what else
    ``meta`` says (what the file belongs to).
    """
    import io
    import json
    import zipfile

    import numpy as np

    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError) as exc:
        raise VerifiedFileError(f"the file cannot be read: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != file_format:
        raise VerifiedFileError(f"unknown file format {meta.get('format') if isinstance(meta, dict) else None!r}")
    digests = meta.get("digests", {})
    if not digests or set(digests) != set(arrays) or any(array_digest(v) != digests[k] for k, v in arrays.items()):
        raise VerifiedFileError("the file's arrays fail their SHA-256 check")
    for a in arrays.values():
        a.setflags(write=False)
    return arrays, meta
