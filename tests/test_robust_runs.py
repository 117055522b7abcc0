"""advx.robust.runs: the street-smart family of runs, the ε grids, the sentences and tables from the numbers, and
one image's maps checked against independent computations. Small inputs; no training."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import neurons
from advx import robust as R
from advx.config import ConfigError, TrainConfig
from advx.model import effective_weights, forward, init_params
from advx.text import robust as words


def _entry(config: TrainConfig, acc: float = 0.95, run_id: str = "id") -> dict:
    return {"run_id": run_id, "config": config.to_dict(), "test_acc": acc, "path": "x"}


def test_the_family_is_the_default_with_another_norm_eps_or_layers():
    assert R.robust_config() == R.DEFAULT_ROBUST
    other = R.robust_config("l2", 1.5, (32,))
    assert (other.adversarial_norm, other.adversarial_eps, other.hidden) == ("l2", 1.5, (32,))
    assert other.adversarial_steps == R.DEFAULT_ROBUST.adversarial_steps and other.epochs == R.DEFAULT_ROBUST.epochs
    assert R.robust_config("linf", 0.15000000000000002) == R.robust_config("linf", 0.15)
    with pytest.raises(ConfigError):
        R.robust_config("linf", 5.0)
    assert R.run_code("linf", 0.1) == "linf:0.1" and R.run_code("l2", 2) == "l2:2"


def test_stored_runs_are_the_family_with_these_layers_one_per_code():
    listing = [
        _entry(R.robust_config("linf", 0.2), 0.94, "a"),
        _entry(R.robust_config("l2", 1.0), 0.96, "b"),
        _entry(R.robust_config("linf", 0.2, (32,)), 0.9, "other layers"),
        _entry(TrainConfig(), 0.98, "standard"),
        _entry(TrainConfig(epochs=3, adversarial_norm="linf", adversarial_eps=0.3), 0.9, "not the family"),
        {"run_id": "broken", "config": {"adversarial_norm": "linf", "nonsense": 1}, "test_acc": 0.5},
    ]
    choices = R.stored_robust_runs(listing)
    assert [c.code for c in choices] == ["linf:0.1", "linf:0.2", "l2:1"]  # the default, though not stored
    default, stored = choices[0], choices[1]
    assert default.run_id is None and default.test_acc is None and default.setting() == "L∞ ε = 0.1"
    assert stored.run_id == "a" and stored.test_acc == 0.94 and stored.setting() == "L∞ ε = 0.2"
    asked = R.stored_robust_runs(listing, also=[("linf", 0.05), ("linf", 0.2)])
    assert [c.code for c in asked] == ["linf:0.05", "linf:0.1", "linf:0.2", "l2:1"] and asked[2].run_id == "a"
    assert [c.code for c in R.stored_robust_runs(listing, (32,))] == ["linf:0.1", "linf:0.2"]


def test_the_eps_grids_hold_the_runs_own_eps():
    assert R.eps_grids(R.DEFAULT_ROBUST) == {"linf": R.LINF_EPS, "l2": R.L2_EPS}
    assert R.eps_grids(R.robust_config("linf", 0.15))["linf"] == (0.05, 0.1, 0.15, 0.2, 0.3)
    assert R.eps_grids(R.robust_config("l2", 3.0))["l2"] == (0.5, 1.0, 1.5, 2.0, 3.0)
    assert R.eps_grids(TrainConfig()) == {"linf": R.LINF_EPS, "l2": R.L2_EPS}


def _comparison(foolbox_ran: bool = False) -> R.RobustComparison:
    eps, rows = np.array([0.05, 0.1, 0.2, 0.3]), len(R.ATTACK_ROWS)
    table = np.full((2, rows, 4), 0.5)
    table[:, R.ATTACK_ROWS.index("worst")] = [[0.2, 0.01, 0.0, 0.0], [0.9, 0.8, 0.3, 0.04]]
    table[:, R.ATTACK_ROWS.index("foolbox")] = 0.6 if foolbox_ran else np.nan
    maps = np.zeros((2, 3, 3))
    return R.RobustComparison(
        n_images=500, map_images=200, pgd_steps=40, restarts=3, queries=1000, linf_eps=eps,
        l2_eps=np.array([0.5, 1.0, 1.5, 2.0]), clean_accuracy=np.array([0.98, 0.97]), linf_accuracy=table,
        l2_accuracy=table.copy(), epochs=np.array([2, 2]), map_high_frequency=maps, map_roughness=maps,
        map_correlation=maps, map_correlation_centred=maps, subspace_k=103,
        effective_inside=np.array([[0.42, 0.35, 0.27], [0.94, 0.96, 0.95]]), delta_w1_inside=np.array([0.44, 0.78]),
        random_inside=103 / 784, overlay_eps=np.array([0.32, 1.0]), overlay_success=np.zeros((2, 2)),
        overlay_control=np.zeros((2, 2)), high_per_image=np.ones((2, 2)), mild_per_image=np.ones((2, 2)))


class _Run:
    """What ``training_sentence`` reads of an ``advx.train.Run``."""

    config = R.DEFAULT_ROBUST
    n_epochs = 10
    test_accuracy = 0.9728
    history = {"epoch_seconds": np.full(10, 2.03)}


def test_the_training_sentence_carries_the_numbers():
    alone = R.training_sentence(_Run())
    assert "10 epochs" in alone and "PGD-7" in alone and "ε = 0.1" in alone and "20.3 s" in alone
    assert "97.28%" in alone and "Under attack" not in alone
    measured = R.training_sentence(_Run(), _comparison())
    assert measured.startswith(alone) and "80.0%, against 1.0% for the book-smart network" in measured


def test_tables_from_the_comparison():
    c = _comparison()
    rows = R.subspace_rows(c, ("Layer_1", "Layer_2", "output"))
    assert [r["matrix"] for r in rows][:3] == ["effective weights, Layer_1", "effective weights, Layer_2",
                                               "effective weights, output"]
    assert rows[3]["street-smart"] == 0.78 and rows[-1]["book-smart"] == rows[-1]["street-smart"] == 103 / 784
    ours = R.our_published_rows(c, TrainConfig(), R.DEFAULT_ROBUST)
    assert [r["accuracy"] for r in ours] == [0.0, 0.04] and all(r["ε (L∞)"] == 0.3 for r in ours)
    assert set(ours[0]) == set(words.published_rows()[0]) and "784-64-64-10 MLP" in ours[1]["model"]
    assert R.our_published_rows(c, TrainConfig(), R.DEFAULT_ROBUST, eps=0.25) == []
    assert "not part of the app" in R.foolbox_note(c) and "the lab's own checks" in R.foolbox_note(c)
    assert R.foolbox_note(_comparison(foolbox_ran=True)) is None


def test_one_images_maps_match_independent_computations():
    params = init_params((16, 8), jax.random.PRNGKey(3))
    image = np.asarray(jax.random.uniform(jax.random.PRNGKey(4), (784,)), np.float32)
    label = 4
    found = R.image_maps(params, image, label)
    assert found.maps.shape == (784, 3) and found.high_frequency.shape == (3,) and found.probabilities.shape == (10,)
    np.testing.assert_allclose(found.maps[:, 0], np.asarray(effective_weights(params)["output"])[:, label], rtol=1e-5)
    jacobian = np.asarray(neurons.local_jacobian(params, jnp.asarray(image), "output"))  # (784, 10)
    np.testing.assert_allclose(found.maps[:, 1], jacobian[:, label], rtol=1e-4, atol=1e-6)
    # minus the gradient of the cross-entropy = J (onehot - softmax)
    probs = np.asarray(jax.nn.softmax(forward(params, jnp.asarray(image)[None])[0]))
    np.testing.assert_allclose(found.probabilities, probs, rtol=1e-5)
    np.testing.assert_allclose(found.maps[:, 2], jacobian @ (np.eye(10)[label] - probs), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(found.high_frequency, np.asarray(neurons.high_frequency_share(found.maps)), rtol=1e-5)
