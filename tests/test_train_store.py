"""Training and the run store: losses, determinism, refused settings, round trips and damage; a diverged training
(in the library, the CLI and the app), damage reported through a callback, and temporary files left by
interrupted writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from advx import storage, store
from advx.config import ConfigError, TrainConfig
from advx.data import CACHE_FILE_NAME, MNIST, write_npz
from advx.train import TrainingDivergedError, run_id, train

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(hidden=(16,), epochs=3, batch_size=64, learning_rate=5e-3, seed=3)
STORED = dict(hidden=(16,), epochs=2, batch_size=64, learning_rate=5e-3, seed=21)  # the run the store tests keep
# Plain SGD whose weight decay multiplies every weight by 1 - 10 * 1 = -9 at each step: the weights
# overflow float32 within the first epoch and the loss becomes NaN.
DIVERGING = dict(hidden=(16,), epochs=1, batch_size=256, optimizer="sgd", learning_rate=10.0, schedule="constant",
                 weight_decay=1.0, momentum=0.0, seed=0)
APP_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def small_data(mnist):
    """A shrunken MNIST (2,000 train / 500 test images) for fast runs."""
    return MNIST(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images[:500],
                 mnist.test_labels[:500], source="subset", sha="subset-" + mnist.sha)


def test_loss_decreases_and_is_deterministic(small_data):
    run = train(TrainConfig(**SMALL), small_data)
    loss = run.history["train_loss"]
    assert loss[-1] < loss[0] * 0.7
    assert run.n_epochs == 3 and len(run.params_history) == 4
    again = train(TrainConfig(**SMALL), small_data)
    for a, b in zip(np.asarray(run.final_params["Layer_1"]["kernel"]).ravel()[:100],
                    np.asarray(again.final_params["Layer_1"]["kernel"]).ravel()[:100]):
        assert a == b
    other = train(TrainConfig(**{**SMALL, "seed": 4}), small_data)
    assert not np.array_equal(np.asarray(other.init_params["Layer_1"]["kernel"]),
                              np.asarray(run.init_params["Layer_1"]["kernel"]))


def test_sgd_and_weight_decay_and_noise_train(small_data):
    for cfg in (dict(optimizer="sgd", learning_rate=0.05), dict(weight_decay=1e-3), dict(input_noise=0.3)):
        run = train(TrainConfig(**{**SMALL, **cfg}), small_data)
        assert run.history["test_acc"][-1] > 0.5, cfg


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(epochs=10**6), dict(learning_rate=-1.0), dict(batch_size=0),
                                 dict(hidden=(0,)), dict(hidden=()), dict(optimizer="rmsprop")])
def test_absurd_settings_are_refused_with_a_reason(bad):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**bad)
    assert str(info.value)


def test_store_round_trip_and_recovery_from_corruption(small_data, tmp_path):
    config = TrainConfig(**SMALL)
    run = store.get_or_train(config, small_data, root=tmp_path)
    loaded = store.load(config, small_data.sha, root=tmp_path)
    assert loaded is not None and loaded.config == config and loaded.n_epochs == run.n_epochs
    for e in range(run.n_epochs + 1):
        for layer in run.params_at(e):
            np.testing.assert_array_equal(np.asarray(loaded.params_at(e)[layer]["kernel"]),
                                          np.asarray(run.params_at(e)[layer]["kernel"]))
    np.testing.assert_array_equal(loaded.history["test_acc"], run.history["test_acc"])

    path = store.run_path(config, small_data.sha, root=tmp_path)
    for damage in ("flip", "truncate"):
        blob = bytearray(path.read_bytes())
        if damage == "flip":
            blob[len(blob) // 2] ^= 0xFF
        else:
            blob = blob[: len(blob) // 3]
        path.write_bytes(bytes(blob))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = store.get_or_train(config, small_data, root=tmp_path)
        assert any(issubclass(w.category, storage.StoredFileWarning) for w in caught), damage
        np.testing.assert_array_equal(again.history["test_acc"], run.history["test_acc"])
        assert store.load(config, small_data.sha, root=tmp_path) is not None


def test_default_run_reaches_the_published_accuracy(trained_run):
    """The post's network, default settings, real MNIST: >= 97.5% test accuracy."""
    assert trained_run.config == TrainConfig()
    assert trained_run.test_accuracy >= 0.975, trained_run.test_accuracy
    assert trained_run.n_epochs == TrainConfig().epochs


@pytest.fixture(scope="module")
def small_run(small_data):
    return train(TrainConfig(**STORED), small_data)


def _cache_with_mnist(folder: Path, mnist) -> Path:
    """A cache folder that already holds verified MNIST, so nothing is fetched."""
    write_npz(folder / CACHE_FILE_NAME, {"train_images": mnist.train_images, "train_labels": mnist.train_labels,
                                         "test_images": mnist.test_images, "test_labels": mnist.test_labels})
    return folder


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVX_")}
    env.update(ADVX_CACHE_DIR=str(cache), JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1")
    return env


def _flip_a_byte(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))


# ----------------------------------------------------------------------------------------------
# A diverged training


def test_the_diverging_settings_really_diverge(mnist):
    with pytest.raises(TrainingDivergedError, match="diverged at epoch 1"):
        train(TrainConfig(**DIVERGING), mnist)


def test_cli_reports_a_diverged_training_in_one_line(tmp_path, mnist):
    cache = _cache_with_mnist(tmp_path / "cache", mnist)
    args = ["train", "--hidden", "16", "--epochs", "1", "--batch-size", "256", "--optimizer", "sgd", "--lr", "10",
            "--schedule", "constant", "--weight-decay", "1", "--momentum", "0"]
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "advx", *args], cwd=ROOT, env=_env(cache), capture_output=True,
                          text=True, timeout=300)
    print(f"diverged CLI run took {time.monotonic() - start:.1f} s")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1 and errors[0].startswith("error: training diverged at epoch 1"), done.stderr
    assert "nothing was saved" in errors[0] and "Traceback" not in done.stderr, done.stderr
    assert not list((cache / "runs").glob("*.npz")) and "saved run" not in done.stdout


def test_app_says_a_diverged_training_saved_nothing_and_keeps_the_run(trained_run):
    at = AppTest.from_file(str(ROOT / "views/train.py"), default_timeout=APP_TIMEOUT_S).run()
    assert not at.exception and not at.error
    at.text_input(key="train_hidden").set_value("16")
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_batch").set_value(256)
    at.number_input(key="train_seed").set_value(0)
    at.selectbox(key="train_optimizer").set_value("sgd")
    at.number_input(key="train_lr").set_value(10.0)
    at.selectbox(key="train_schedule").set_value("constant")
    at.number_input(key="train_momentum").set_value(0.0)
    at.number_input(key="train_wd").set_value(1.0)
    at.button(key="train_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Training failed: training diverged"), errors
    assert "Nothing was saved, and the selected run is unchanged." in errors[0], errors
    assert "advx_config" not in at.session_state or at.session_state["advx_config"] == TrainConfig()
    assert not store.run_path(TrainConfig(**DIVERGING), trained_run.data_sha).exists()

    at.run()  # the next rerun shows the run that was selected before
    assert not at.exception and not at.error
    c = trained_run.config  # the page names the run by its settings
    assert (f"{c.optimizer}, learning rate {c.learning_rate:g} ({c.schedule}), batch {c.batch_size}, random seed "
            f"{c.seed}.") in " ".join(cap.value for cap in at.caption)


# ----------------------------------------------------------------------------------------------
# Damage reported through on_damage


def test_load_reports_damage_to_on_damage_instead_of_warning(small_data, tmp_path):
    config = TrainConfig(**STORED)
    run = store.get_or_train(config, small_data, root=tmp_path)
    path = store.run_path(config, small_data.sha, root=tmp_path)
    _flip_a_byte(path)
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")  # the callback path never goes through the warning machinery
        assert store.load(config, small_data.sha, root=tmp_path, on_damage=messages.append) is None
    assert not caught
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"stored run {path.name} is damaged (") and "removed" in messages[0], messages
    assert not path.exists()  # removed before it was reported

    # get_or_train: one report (the second look, under the lock, finds no file), then trained again and stored
    store.save(run, root=tmp_path)
    _flip_a_byte(path)
    messages.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = store.get_or_train(config, small_data, root=tmp_path, on_damage=messages.append)
    assert len(messages) == 1 and "is damaged" in messages[0], messages
    np.testing.assert_array_equal(again.history["test_acc"], run.history["test_acc"])
    assert store.load(config, small_data.sha, root=tmp_path, on_damage=messages.append) is not None
    assert len(messages) == 1

    # without a callback the warning stays
    _flip_a_byte(path)
    with pytest.warns(storage.StoredFileWarning, match="is damaged"):
        assert store.load(config, small_data.sha, root=tmp_path) is None


def test_app_shows_the_damage_message_from_the_store(tmp_path, monkeypatch, mnist):
    cache = _cache_with_mnist(tmp_path / "cache", mnist)
    monkeypatch.setenv("ADVX_CACHE_DIR", str(cache))
    config = TrainConfig(hidden=(16,), epochs=1, batch_size=256, seed=31)
    store.get_or_train(config, mnist)
    path = store.run_path(config, mnist.sha)
    assert path.parent == cache / "runs"
    _flip_a_byte(path)
    at = AppTest.from_file(str(ROOT / "views/train.py"), default_timeout=APP_TIMEOUT_S)
    at.session_state["advx_config"] = config
    with warnings.catch_warnings():
        warnings.simplefilter("error", storage.StoredFileWarning)  # the app must not rely on the warning
        at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    shown = [w.value for w in at.warning]
    expected = f"Stored run {path.name} is damaged ("
    assert any(w.startswith(expected) and w.endswith("it was removed and will be trained again.") for w in shown), shown
    assert at.metric[1].value == "1"
    assert store.decode_run(path.read_bytes()).config == config  # trained again and stored whole


# ----------------------------------------------------------------------------------------------
# Temporary files left by interrupted writes

_KILLED_WRITE = """
import os, sys
from pathlib import Path
from advx import paths
os.replace = lambda *args: os._exit(9)  # the process dies after the write and before the rename
paths.atomic_write_bytes(Path(sys.argv[1]), b"half of a run")
"""


def _interrupted_write(path: Path) -> Path:
    """Leave the temporary file of a write killed before its rename, as a real crash does; return it."""
    before = set(path.parent.glob("*.tmp"))
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITE, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 9, done.stderr
    (left,) = set(path.parent.glob("*.tmp")) - before
    return left


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_listing_the_store_removes_old_temporary_files_and_keeps_fresh_ones(tmp_path, small_run):
    runs = store.runs_dir(tmp_path)
    kept = store.save(small_run, root=tmp_path)
    target = runs / f"{run_id(TrainConfig(**{**STORED, 'seed': 22}), small_run.data_sha)}.npz"
    old, fresh = _interrupted_write(target), _interrupted_write(target)
    assert old.name.startswith(f".{target.name}.") and old.name.endswith(".tmp")
    _age(old, 2 * 3600)
    _age(fresh, 60)  # a minute old: maybe still being written by another process
    other = runs / "notes.tmp"  # not a name the store gives its temporary files
    other.write_text("not ours")
    _age(other, 2 * 3600)
    _age(kept, 2 * 3600)  # an old run file and its lock stay, of course
    lock = runs / (target.name + ".lock")
    lock.touch()
    _age(lock, 2 * 3600)

    listed = store.list_runs(tmp_path)
    assert [entry["run_id"] for entry in listed] == [small_run.run_id]
    assert not old.exists()
    assert fresh.exists() and other.exists() and kept.exists() and lock.exists()
    assert not target.exists()


def test_saving_a_run_removes_old_temporary_files(tmp_path, small_run):
    runs = store.runs_dir(tmp_path)
    target = store.run_path(small_run.config, small_run.data_sha, tmp_path)
    old, fresh = _interrupted_write(target), _interrupted_write(target)
    _age(old, 2 * 3600)
    path = store.save(small_run, root=tmp_path)
    assert not old.exists() and fresh.exists()
    assert store.decode_run(path.read_bytes()).run_id == small_run.run_id
    assert sorted(p.name for p in runs.glob("*.tmp")) == [fresh.name]


def test_stale_temporary_files_age_limit_is_one_hour(tmp_path):
    runs = store.runs_dir(tmp_path)
    names = {"just-over": 3600 + 120, "just-under": 3600 - 120}
    files = {}
    for label, age in names.items():
        files[label] = runs / f".{label}.npz.abc{label[-5:]}.tmp"
        files[label].write_bytes(b"partial")
        _age(files[label], age)
    removed = store.remove_stale_temporary_files(tmp_path)
    assert removed == [files["just-over"]]
    assert not files["just-over"].exists() and files["just-under"].exists()


def test_training_compiled_ahead_is_not_compiled_again_and_trains_the_same(mnist):
    """``compile_training`` compiles ``train``'s epoch and test metrics for a set it has not seen (the non-robust
    training compiles before it holds a 188 MB set); ``train`` then compiles neither, and trains the same bits."""
    import logging
    from dataclasses import replace

    import jax

    from advx.model import to_pixels
    from advx.train import compile_training

    small = replace(mnist, train_images=to_pixels(mnist.train_images[:1000]), train_labels=mnist.train_labels[:1000],
                    test_images=mnist.test_images[:500], test_labels=mnist.test_labels[:500])
    config = TrainConfig(epochs=2, batch_size=100, seed=11)
    compiled: list[str] = []

    class Compiles(logging.Handler):
        def emit(self, record):
            if "XLA compilation of" in record.getMessage():
                compiled.append(record.getMessage().split("XLA compilation of ")[1].split(" in ")[0])

    handler, log = Compiles(), logging.getLogger("jax")
    log.addHandler(handler)
    try:
        with jax.log_compiles(True):
            compile_training(config, 1000, np.float32, small.test_images)
            ahead, compiled[:] = list(compiled), []
            run = train(config, small)
    finally:
        log.removeHandler(handler)
    assert {"jit(epoch)", "jit(_evaluate_pixels)"} <= set(ahead)
    assert not {"jit(epoch)", "jit(_evaluate_pixels)"} & set(compiled), compiled
    jax.clear_caches()
    again = train(config, small)  # compiled by train itself this time
    for name, values in run.history.items():
        if name != "epoch_seconds":
            np.testing.assert_array_equal(values, again.history[name])
    for a, b in zip(jax.tree.leaves(run.final_params), jax.tree.leaves(again.final_params)):
        np.testing.assert_array_equal(a, b)
