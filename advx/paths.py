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
