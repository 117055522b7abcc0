"""The one verified-file format and load-or-compute (``advx.storage``), and the results kept per run
(``advx.experiments``): round trips, damage, files of other weights or settings, one computation for
concurrent callers."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest

from experiment_support import kept

from advx import storage
from advx.experiments.spec import ROWS, tuple_codec


def _load_or_compute(path, identity, compute):
    return storage.load_or_compute(path, "demo", identity, compute, lambda a: ({"a": a}, {"n": int(a.size)}),
                                   lambda arrays, extra: arrays["a"])


def test_round_trip_checks_every_array_and_the_identity(tmp_path):
    path = tmp_path / "x.npz"
    storage.save(path, {"a": np.arange(5.0), "b": np.eye(2, dtype=np.float32)}, "demo", {"run": "r1"}, {"note": 1})
    arrays, extra = storage.load(path, "demo", {"run": "r1"})
    np.testing.assert_array_equal(arrays["a"], np.arange(5.0))
    assert extra == {"note": 1} and not arrays["a"].flags.writeable
    messages: list[str] = []
    assert storage.load(path, "demo", {"run": "r2"}, on_damage=messages.append) is None  # another run's file
    assert not path.exists() and "belongs to other" in messages[0]


@pytest.mark.parametrize("where", [0.5, 0.9])
def test_a_flipped_byte_is_reported_and_the_file_computed_again(tmp_path, where):
    path = tmp_path / "x.npz"
    calls = []
    compute = lambda: calls.append(1) or np.arange(1000.0)  # noqa: E731
    _load_or_compute(path, {"run": "r"}, compute)
    blob = bytearray(path.read_bytes())
    blob[int(len(blob) * where)] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.warns(storage.StoredFileWarning, match="is damaged"):
        again = _load_or_compute(path, {"run": "r"}, compute)
    np.testing.assert_array_equal(again, np.arange(1000.0))
    assert len(calls) == 2 and storage.load(path, "demo", {"run": "r"}) is not None


def test_a_file_of_an_earlier_format_is_replaced_without_a_report(tmp_path):
    import io
    import json
    import warnings

    path = tmp_path / "x.npz"
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps({"format": 1}).encode(), np.uint8), a=np.zeros(3))
    path.write_bytes(buf.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert storage.load(path, "demo", {}) is None
    assert not path.exists()


def test_concurrent_callers_compute_once(tmp_path):
    path, calls = tmp_path / "x.npz", []

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return np.ones(4)

    got: list = []
    threads = [threading.Thread(target=lambda: got.append(_load_or_compute(path, {}, compute))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 4 and all(np.array_equal(g, np.ones(4)) for g in got)


class Summary(NamedTuple):
    curve: np.ndarray
    share: float


def _run(run_id: str, weight: float):
    return SimpleNamespace(run_id=run_id, final_params={"Layer_1": {"kernel": np.full((2, 2), weight, np.float32)}})


def test_results_are_kept_per_run_weights_and_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return Summary(np.linspace(0, 1, 5), 0.25)

    run, codec = _run("r1", 1.0), tuple_codec(Summary)
    first = kept("sweeps", run, {"norm": "linf"}, compute, codec).get()
    second = kept("sweeps", run, {"norm": "linf"}, compute, codec).get()
    assert len(calls) == 1 and second.share == 0.25 and isinstance(second.share, float)
    np.testing.assert_array_equal(first.curve, second.curve)
    kept("sweeps", run, {"norm": "l2"}, compute, codec).get()  # other settings
    assert len(calls) == 2
    other = kept("sweeps", _run("r1", 2.0), {"norm": "linf"}, compute, codec)
    other.path().write_bytes(kept("sweeps", run, {"norm": "linf"}, compute, codec).path().read_bytes())
    with pytest.warns(storage.StoredFileWarning):  # same name, other weights: not used
        other.get()
    assert len(calls) == 3
    rows = kept("tables", run, {"t": 0}, lambda: [{"a": np.float32(0.5), "b": None}], ROWS).get()
    again = kept("tables", run, {"t": 0}, lambda: pytest.fail("recomputed"), ROWS).get()
    assert rows == again == [{"a": 0.5, "b": None}]


def test_read_only_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    run = _run("r1", 1.0)
    spec = kept("tables", run, {}, lambda: [{"a": 1}], ROWS)
    assert spec.read() is None  # nothing kept: nothing computed
    spec.get()
    assert spec.read() == [{"a": 1}]
    assert storage.load_or_compute(lambda: (_ for _ in ()).throw(OSError("no folder")), "demo", {}, None,
                                   lambda a: ({}, {}), lambda a, e: a) is None
