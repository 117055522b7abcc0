import warnings

import numpy as np
import pytest

from advx import storage, store
from advx.config import ConfigError, TrainConfig
from advx.data import MNIST
from advx.train import train

SMALL = dict(hidden=(16,), epochs=3, batch_size=64, learning_rate=5e-3, seed=3)


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
