"""Populations: the initialisation scale, training many networks together, and the population in the run store.

Unit tests run on a shrunken MNIST and tiny networks; the networks of the population are compared with the
ones ``advx.train.train`` gives alone, to the bit (the default ``chunk=1``) or to a stated tolerance (vmap).
"""

import dataclasses

import jax
import numpy as np
import pytest

from advx import population as P
from advx import store
from advx.config import ConfigError, TrainConfig
from advx.data import MNIST
from advx.model import init_params
from advx.subspace import comparison_configs
from advx.train import Run, initial_params, train

TINY = dict(hidden=(16,), epochs=2, batch_size=64)
DEFAULT_DIGEST = "d46b3fa2519abfff"  # the id of every default run stored before init_scale existed
# vmap batches the matrix products, so their sums are rounded in another order: after 2 epochs on the tiny
# setting the weights stay within this relative L2 distance of train's (measured: 5e-8 for Adam, 0 for SGD).
# Training amplifies such rounding over longer runs: a 1e-7 nudge of the initial weights grew to 1% in 3 full
# epochs, and the default population vmapped for 15 epochs differed from train's networks by 5-32%.
VMAP_REL_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def small_data(mnist):
    """A shrunken MNIST (2,000 train / 500 test images)."""
    return MNIST(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images[:500],
                 mnist.test_labels[:500], source="subset", sha="subset-" + mnist.sha)


def tiny_configs(seeds=(0, 1), scales=(1.0, 0.5)):
    return P.population_configs(TrainConfig(**TINY), seeds=seeds, init_scales=scales)


def leaves(params):
    return [np.asarray(a) for a in jax.tree.leaves(params)]


def relative_distance(a, b):
    num = sum(float(np.sum((x - y) ** 2)) for x, y in zip(leaves(a), leaves(b)))
    return np.sqrt(num / sum(float(np.sum(x ** 2)) for x in leaves(b)))


# --------------------------------------------------------------------------------------------
# The initialisation scale


def test_default_digest_is_unchanged_and_scale_is_left_out_at_one():
    assert TrainConfig().digest() == DEFAULT_DIGEST
    assert "init_scale" not in TrainConfig().to_dict()
    assert TrainConfig(init_scale=1).digest() == DEFAULT_DIGEST
    half = TrainConfig(init_scale=0.5)
    assert half.to_dict()["init_scale"] == 0.5 and half.digest() != DEFAULT_DIGEST
    assert TrainConfig.from_dict(half.to_dict()) == half
    assert TrainConfig(init_scale=2).digest() == TrainConfig(init_scale=2.0).digest()


@pytest.mark.parametrize("bad", [0.0, -1.0, 100.0, "big", True])
def test_bad_scales_are_refused(bad):
    with pytest.raises(ConfigError, match="initialisation scale"):
        TrainConfig(init_scale=bad)


def test_init_params_scale_multiplies_the_default_initialisation():
    key = jax.random.PRNGKey(7)
    base = init_params((16, 8), key)
    for scale in (0.25, 2.0):
        for a, b in zip(leaves(init_params((16, 8), key, scale)), leaves(base)):
            np.testing.assert_array_equal(a, np.float32(scale) * b)
    for a, b in zip(leaves(init_params((16, 8), key, 1.0)), leaves(base)):
        np.testing.assert_array_equal(a, b)


def test_train_starts_from_the_scaled_initialisation(small_data):
    run = train(TrainConfig(**{**TINY, "epochs": 1}, init_scale=0.25), small_data)
    default, _ = initial_params(TrainConfig(**TINY))
    for a, b in zip(leaves(run.init_params), leaves(default)):
        np.testing.assert_array_equal(a, np.float32(0.25) * b)


# --------------------------------------------------------------------------------------------
# Training together


def test_population_configs_are_the_compared_optimizers_over_seeds():
    configs = P.population_configs()
    assert len(configs) == len(P.POPULATION_SEEDS) * 2
    assert configs[0] == TrainConfig()  # seed 0's Adam member is the default run
    compared = comparison_configs(TrainConfig())
    assert configs[len(P.POPULATION_SEEDS)] == compared["sgd"]
    assert {c.seed for c in configs} == set(P.POPULATION_SEEDS)
    scaled = P.init_scale_configs()
    assert sorted({c.init_scale for c in scaled}) == sorted(P.INIT_SCALES)
    assert len(P.groups(scaled)) == 2  # one compiled program per optimizer


def test_population_equals_separate_training_to_the_bit(small_data):
    adam, sgd = TrainConfig(**TINY), comparison_configs(TrainConfig(**TINY))["sgd"]
    configs = [dataclasses.replace(adam, seed=1), dataclasses.replace(adam, seed=1, init_scale=0.5),  # one group
               sgd, dataclasses.replace(sgd, seed=1, init_scale=0.5)]  # and another
    seen = []
    runs = P.train_population(configs, small_data, progress=lambda d, t, m: seen.append((d, t, dict(m))))
    assert [r.config for r in runs] == configs
    for config, run in zip(configs, runs):
        alone = train(config, small_data)
        assert run.run_id == alone.run_id and run.n_epochs == alone.n_epochs
        for epoch in range(run.n_epochs + 1):
            for a, b in zip(leaves(run.params_at(epoch)), leaves(alone.params_at(epoch))):
                np.testing.assert_array_equal(a, b)
        assert set(run.history) == set(alone.history)
        for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
            np.testing.assert_array_equal(run.history[name], alone.history[name])
    assert [s[:2] for s in seen] == [(0, 2), (1, 2), (2, 2)]
    assert seen[-1][2]["members"] == len(configs) and 0 < seen[-1][2]["test_acc_min"] <= 1


def test_vmapped_population_matches_separate_training_within_tolerance(small_data):
    configs = tiny_configs(scales=(1.0,))
    runs = P.train_population(configs, small_data, chunk=None)
    for config, run in zip(configs, runs):
        alone = train(config, small_data)
        assert relative_distance(run.final_params, alone.final_params) < VMAP_REL_TOLERANCE
        np.testing.assert_allclose(run.history["test_acc"], alone.history["test_acc"], atol=0.005)


def test_repeated_configs_are_trained_once(small_data):
    config = TrainConfig(**TINY)
    runs = P.train_population([config, config], small_data)
    assert runs[0] is runs[1]


def test_diverged_members_are_reported_with_the_others(small_data):
    good = TrainConfig(**TINY, optimizer="sgd", learning_rate=0.05)
    bad = dataclasses.replace(good, learning_rate=10.0, schedule="constant", weight_decay=1.0, momentum=0.0, seed=5)
    with pytest.raises(P.PopulationDivergedError, match="seed 5") as info:
        P.train_population([good, bad], small_data)
    assert isinstance(info.value.runs[0], Run) and info.value.runs[1] is None


# --------------------------------------------------------------------------------------------
# The population in the run store


def test_members_are_stored_runs_and_only_missing_ones_are_trained(small_data, tmp_path, monkeypatch):
    configs = tiny_configs(scales=(1.0,))
    alone = store.get_or_train(configs[0], small_data, root=tmp_path)  # one member trained alone first
    calls = []
    real = P.members.train_population

    def spy(missing, *args, **kwargs):
        calls.append(list(missing))
        return real(missing, *args, **kwargs)

    monkeypatch.setattr(P.members, "train_population", spy)
    population = P.get_or_train_population(configs, small_data, root=tmp_path)
    assert calls == [configs[1:]]
    assert population.runs[0].run_id == alone.run_id
    for config, run in zip(configs, population.runs):
        loaded = store.load(config, small_data.sha, tmp_path)
        assert loaded is not None and loaded.run_id == run.run_id
        for a, b in zip(leaves(loaded.final_params), leaves(run.final_params)):
            np.testing.assert_array_equal(a, b)
    seen = []
    again = P.get_or_train_population(configs, small_data, progress=lambda *a: seen.append(a), root=tmp_path)
    assert len(calls) == 1 and seen == [(2, 2, {})]
    assert again.run_id == population.run_id and again.run_id.startswith("population-")


def test_population_results_are_kept_like_a_runs(small_data, tmp_path, monkeypatch):
    from experiment_support import kept

    from advx.experiments.spec import ROWS

    population = P.get_or_train_population(tiny_configs(seeds=(0,), scales=(1.0,)), small_data, root=tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return [{"members": len(population)}]

    for _ in range(2):
        monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path / "kept"))
        assert kept("population", population, {"x": 1}, compute, ROWS).get() == [{"members": 2}]
    assert calls == [1]


def test_without_a_cache_folder_the_population_is_trained_and_not_kept(small_data, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    population = P.get_or_train_population(tiny_configs(seeds=(0,), scales=(1.0,)), small_data, root=blocked / "runs")
    assert len(population) == 2 and all(isinstance(r, Run) for r in population.runs)
