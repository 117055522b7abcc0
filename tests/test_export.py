"""advx.export: the run bundle round-trips; figures, arrays and histories become the files they claim to be."""

import csv
import io
import json
import re
import zipfile

import jax
import numpy as np
import plotly.graph_objects as go
import pytest

from advx.config import TrainConfig
from advx.export import (BundleError, arrays_csv, arrays_npz, figure_html, history_csv, read_bundle,
                         run_bundle)
from advx.model import forward, init_params
from advx.train import Run


def _fake_run(epochs: int = 3, hidden=(5, 4), seed: int = 0) -> Run:
    """A small run with distinct parameters at every epoch (no training needed)."""
    keys = jax.random.split(jax.random.PRNGKey(seed), epochs + 1)
    params = tuple(jax.tree.map(np.asarray, init_params(hidden, k)) for k in keys)
    rng = np.random.default_rng(seed)
    history = {name: rng.random(epochs) for name in ("train_loss", "train_acc", "test_loss", "test_acc",
                                                     "epoch_seconds")}
    config = TrainConfig(hidden=hidden, epochs=epochs, seed=seed)
    return Run(config=config, data_sha="ab" * 32, params_history=params, history=history)


def test_run_bundle_round_trips_exactly():
    run = _fake_run()
    back = read_bundle(run_bundle(run))
    assert back.config == run.config and back.data_sha == run.data_sha and back.run_id == run.run_id
    assert back.n_epochs == run.n_epochs
    for name, values in run.history.items():
        np.testing.assert_array_equal(back.history[name], values)  # full precision, not rounded
    for epoch in range(run.n_epochs + 1):
        for layer, leaves in run.params_at(epoch).items():
            for leaf, value in leaves.items():
                got = back.params_at(epoch)[layer][leaf]
                assert got.dtype == np.float32 and got.shape == value.shape
                np.testing.assert_array_equal(got, value)
    x = np.random.default_rng(1).random((7, 784), np.float32)
    np.testing.assert_array_equal(np.asarray(forward(back.final_params, x)), np.asarray(forward(run.final_params, x)))


def test_run_bundle_layout_is_readable_without_advx():
    run = _fake_run(epochs=2)
    blob = run_bundle(run)
    assert blob == run_bundle(run), "one run must always give the same bytes"
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        names = archive.namelist()
        assert names == ["README.txt", "config.json", "history.csv", "params/epoch_000.npz", "params/epoch_001.npz",
                         "params/epoch_002.npz"]
        meta = json.loads(archive.read("config.json"))
        assert meta["config"]["hidden"] == [5, 4] and meta["epochs"] == 2 and meta["run_id"] == run.run_id
        rows = list(csv.DictReader(io.StringIO(archive.read("history.csv").decode())))
        assert [r["epoch"] for r in rows] == ["1", "2"]
        assert float(rows[1]["test_acc"]) == run.history["test_acc"][1]
        with np.load(io.BytesIO(archive.read("params/epoch_002.npz")), allow_pickle=False) as npz:
            assert sorted(npz.files) == ["Layer_1/bias", "Layer_1/kernel", "Layer_2/bias", "Layer_2/kernel",
                                         "output/bias", "output/kernel"]
            np.testing.assert_array_equal(npz["Layer_2/kernel"], run.final_params["Layer_2"]["kernel"])


def test_a_real_trained_run_round_trips(trained_run):
    back = read_bundle(run_bundle(trained_run))
    assert back.run_id == trained_run.run_id and back.test_accuracy == trained_run.test_accuracy
    np.testing.assert_array_equal(back.params_at(7)["Layer_1"]["kernel"],
                                  np.asarray(trained_run.params_at(7)["Layer_1"]["kernel"]))


def _rezip(blob: bytes, drop: str = "", replace: dict | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name == drop:
                continue
            dst.writestr(name, (replace or {}).get(name, src.read(name)))
    return out.getvalue()


def test_damaged_bundles_are_refused_with_the_reason():
    blob = run_bundle(_fake_run(epochs=2))
    with pytest.raises(BundleError, match="not a zip"):
        read_bundle(b"hello")
    with pytest.raises(BundleError, match="epoch_001"):
        read_bundle(_rezip(blob, drop="params/epoch_001.npz"))
    with pytest.raises(BundleError, match="history.csv"):
        read_bundle(_rezip(blob, drop="history.csv"))
    meta = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("config.json"))
    meta["config"]["seed"] = 99  # the id no longer matches the configuration
    with pytest.raises(BundleError, match="run id"):
        read_bundle(_rezip(blob, replace={"config.json": json.dumps(meta)}))
    meta["config"]["epochs"] = 0
    with pytest.raises(BundleError, match="not a valid run"):
        read_bundle(_rezip(blob, replace={"config.json": json.dumps(meta)}))
    with pytest.raises(BundleError, match="epoch_002"):
        read_bundle(_rezip(blob, replace={"params/epoch_002.npz": b"garbage"}))


def test_figure_html_is_standalone_and_holds_the_figure():
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[4, 5, 6], name="trace-xyz"))
    fig.update_layout(title="A title to find")
    html = figure_html(fig)
    assert html.lower().startswith("<!doctype html>") and "A title to find" in html and "trace-xyz" in html
    assert not re.search(r"<script[^>]*\bsrc=", html) and len(html) > 1_000_000  # plotly.js embedded: opens offline
    small = figure_html(fig, include_plotlyjs="cdn")
    assert re.search(r"<script[^>]*\bsrc=", small) and len(small) < 100_000


def test_arrays_npz_and_csv():
    arrays = {"weights": np.arange(12, dtype=np.float32).reshape(3, 4), "labels": np.array([7, 0, 3], np.uint8)}
    with np.load(io.BytesIO(arrays_npz(arrays)), allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["weights"], arrays["weights"])
        assert npz["labels"].dtype == np.uint8
    text = arrays_csv({"epoch": np.array([1, 2, 3]), "loss": np.array([0.5, 1 / 3, 0.25]),
                       "w": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["epoch", "loss", "w[0]", "w[1]"]
    assert rows[2] == ["2", repr(1 / 3), "3.0", "4.0"]
    with pytest.raises(ValueError, match="one length"):
        arrays_csv({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ValueError, match="1-D or 2-D"):
        arrays_csv({"a": np.zeros((2, 2, 2))})
    with pytest.raises(TypeError, match="Python objects"):
        arrays_npz({"a": np.array([{}, 1], dtype=object)})


def test_history_csv_has_one_row_per_epoch():
    run = _fake_run(epochs=4)
    rows = list(csv.DictReader(io.StringIO(history_csv(run.history))))
    assert len(rows) == 4 and list(rows[0]) == ["epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                                                 "epoch_seconds"]
    assert [float(r["train_loss"]) for r in rows] == list(run.history["train_loss"])
