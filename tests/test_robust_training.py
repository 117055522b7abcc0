"""Adversarial training as a training option: the configuration and its digest, the eps ramp, the per-batch
attack inside and outside the jitted epoch, and eps = 0 against standard training."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from advx import attacks, train
from advx.config import ORIGINAL_FIELDS, ConfigError, TrainConfig
from advx.data import MNIST
from advx.model import init_params, to_pixels
from advx.robust import DEFAULT_ROBUST

# The digest of the default (seed) configuration before any adversarial field existed: the default run and
# every stored standard run keep their ids.
DEFAULT_DIGEST = "d46b3fa2519abfff"


@pytest.fixture(scope="module")
def small(mnist):
    return MNIST(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images[:500],
                 mnist.test_labels[:500], "test subset", mnist.sha)


def _robust(**changes) -> TrainConfig:
    base = dict(epochs=2, hidden=(32, 32), adversarial_norm="linf", adversarial_eps=0.1, adversarial_steps=3)
    return TrainConfig(**{**base, **changes})


# --------------------------------------------------------------------------------------------
# The configuration


def test_the_default_configuration_keeps_its_digest():
    assert TrainConfig().digest() == DEFAULT_DIGEST
    assert list(TrainConfig().to_dict()) == list(ORIGINAL_FIELDS)


def test_adversarial_settings_without_a_threat_model_are_standard_training():
    config = TrainConfig(adversarial_eps=0.3, adversarial_steps=10, adversarial_share=0.5)
    assert config == TrainConfig() and config.digest() == DEFAULT_DIGEST and not config.adversarial


def test_an_adversarial_configuration_has_its_own_digest_and_survives_its_dict():
    config = _robust(adversarial_ramp_epochs=1, adversarial_share=0.5)
    standard = TrainConfig(epochs=2, hidden=(32, 32))
    assert config.adversarial and config.digest() != _robust().digest() != standard.digest()
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict(DEFAULT_ROBUST.to_dict()) == DEFAULT_ROBUST
    # whole numbers are floats: eps 1 and 1.0 are one configuration
    assert _robust(adversarial_norm="l2", adversarial_eps=1).digest() == _robust(adversarial_norm="l2",
                                                                              adversarial_eps=1.0).digest()


@pytest.mark.parametrize("changes, words", [
    (dict(adversarial_norm="l1"), "adversarial norm"),
    (dict(adversarial_eps=1.5), "adversarial eps"),
    (dict(adversarial_norm="l2", adversarial_eps=30.0), "adversarial eps"),
    (dict(adversarial_steps=101), "adversarial steps"),
    (dict(adversarial_rel_step_size=0.0), "step size"),
    (dict(adversarial_ramp_epochs=3), "ramp"),
    (dict(adversarial_share=0.0), "share"),
    (dict(adversarial_random_start="yes"), "random start"),
])
def test_bad_adversarial_settings_are_refused_with_their_reason(changes, words):
    with pytest.raises(ConfigError, match=words):
        _robust(**changes)


# --------------------------------------------------------------------------------------------
# The ramp and the per-batch attack


def test_the_ramp_rises_linearly_per_batch_then_stays():
    config = _robust(epochs=3, adversarial_eps=0.2, adversarial_ramp_epochs=2)
    np.testing.assert_allclose(train.ramp_eps(config, 0, 4), 0.2 * np.arange(1, 5) / 8, rtol=1e-6)
    np.testing.assert_allclose(train.ramp_eps(config, 1, 4), 0.2 * np.arange(5, 9) / 8, rtol=1e-6)
    np.testing.assert_allclose(train.ramp_eps(config, 2, 4), np.full(4, 0.2), rtol=1e-6)
    np.testing.assert_allclose(train.ramp_eps(_robust(adversarial_eps=0.2), 0, 4), np.full(4, 0.2), rtol=1e-6)


@pytest.fixture(scope="module")
def batch(mnist):
    params = init_params((32, 32), jax.random.PRNGKey(3))
    return params, to_pixels(jnp.asarray(mnist.train_images[:64].reshape(64, -1))), jnp.asarray(
        mnist.train_labels[:64], jnp.int32)


@pytest.mark.parametrize("norm, eps", [("linf", 0.1), ("l2", 1.0)])
def test_the_batch_attack_is_the_library_pgd_within_the_ball(batch, norm, eps):
    params, x, y = batch
    config = _robust(adversarial_norm=norm, adversarial_eps=eps, adversarial_steps=5)
    key = jax.random.PRNGKey(7)
    ours = train.adversarial_batch(params, x, y, key, eps, config=config)
    theirs = attacks.pgd(attacks.as_model_fn(params), x, y, eps, key, norm=norm, steps=5,
                         rel_step_size=config.adversarial_rel_step_size)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert float(attacks.threat(norm).norm(ours - x).max()) <= eps * (1 + 1e-5)
    assert float(ours.min()) >= 0 and float(ours.max()) <= 1


def test_only_the_attacked_share_of_the_batch_changes(batch):
    params, x, y = batch
    ours = np.asarray(train.adversarial_batch(params, x, y, jax.random.PRNGKey(0), 0.1,
                                              config=_robust(adversarial_share=0.25)))
    assert np.abs(ours[:16] - np.asarray(x[:16])).max() > 0.05
    np.testing.assert_array_equal(ours[16:], np.asarray(x[16:]))


def test_pgd_inside_the_epoch_equals_the_attack_run_outside_it(mnist):
    """Two batches of 64: the jitted epoch (``lax.scan`` over the batches, PGD as a ``fori_loop`` inside) against
    the same batches, keys and eps (mid-ramp) attacked by ``adversarial_batch`` outside, then one optimizer step
    each."""
    config = _robust(batch_size=64, epochs=2, adversarial_ramp_epochs=1, adversarial_share=0.5)
    n = 128
    x = jnp.asarray(mnist.train_images[:n].reshape(n, -1))
    y = jnp.asarray(mnist.train_labels[:n], jnp.int32)
    optimizer, epoch = train._epoch_fn(config, n)
    params = init_params(config.hidden, jax.random.PRNGKey(1))
    opt_state = optimizer.init(params)
    key = jax.random.PRNGKey(2)
    inside, _, _, _ = epoch(params, opt_state, key, x, y, 0)

    order, _, attack_keys = train.epoch_plan(key, n, 64)
    eps = train.ramp_eps(config, 0, 2)
    assert float(eps[0]) == pytest.approx(0.05)
    outside, state = params, opt_state
    for b in range(2):
        xb = train.adversarial_batch(outside, to_pixels(x[order[b]]), y[order[b]], attack_keys[b], eps[b],
                                     config=config)
        grads = jax.grad(train.cross_entropy)(outside, xb, y[order[b]])
        updates, state = optimizer.update(grads, state, outside)
        outside = optax.apply_updates(outside, updates)
    # Measured: at most 3e-7 apart (XLA fuses the two routes differently); an attack run differently moves the
    # parameters by far more (see below), so 1e-5 still tells the routes apart.
    for a, b in zip(jax.tree.leaves(inside), jax.tree.leaves(outside)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, rtol=0)
    # ...and the attack did something: a clean step lands elsewhere.
    clean_grads = jax.grad(train.cross_entropy)(params, to_pixels(x[order[0]]), y[order[0]])
    attacked_grads = jax.grad(train.cross_entropy)(
        params, train.adversarial_batch(params, to_pixels(x[order[0]]), y[order[0]], attack_keys[0], eps[0],
                                        config=config), y[order[0]])
    assert max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(clean_grads),
                                                            jax.tree.leaves(attacked_grads))) > 1e-3


def test_eps_zero_reduces_to_standard_training(small):
    """The whole adversarial route (PGD with a random start, a ramp and the attacked share) at eps = 0 leaves every
    image unchanged, so the run is the standard one. Measured difference: 0 (bit-identical); tolerance 1e-6."""
    standard = train.train(TrainConfig(epochs=2, hidden=(32, 32)), small)
    zero = train.train(_robust(adversarial_eps=0.0, adversarial_ramp_epochs=1, adversarial_share=0.5), small)
    assert zero.config.adversarial and zero.run_id != standard.run_id
    for epoch in range(3):
        for a, b in zip(jax.tree.leaves(standard.params_at(epoch)), jax.tree.leaves(zero.params_at(epoch))):
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
    np.testing.assert_allclose(zero.history["test_acc"], standard.history["test_acc"], atol=1e-6)


def test_a_standard_run_is_unchanged_by_the_adversarial_code(small):
    """Standard training takes the route it took before adversarial training existed (the same keys, no attack):
    its parameters equal those of a configuration that only differs in unused adversarial settings."""
    a = train.train(TrainConfig(epochs=1, hidden=(32, 32), input_noise=0.1), small)
    b = train.train(dataclasses.replace(TrainConfig(epochs=1, hidden=(32, 32), input_noise=0.1), adversarial_steps=3),
                    small)
    for x, z in zip(jax.tree.leaves(a.final_params), jax.tree.leaves(b.final_params)):
        np.testing.assert_array_equal(x, z)


@pytest.fixture(scope="module")
def small_standard(small):
    return train.train(TrainConfig(epochs=6, hidden=(32, 32), batch_size=32), small)


@pytest.mark.parametrize("norm, eps", [("linf", 0.1), ("l2", 1.5)])
def test_adversarial_training_resists_its_attack_better_than_standard_training(small, small_standard, norm, eps):
    """2,000 training images, 6 epochs of batches of 32, PGD-5 training; PGD-10 accuracy on 500 test images.
    Measured: L-inf 0.1 standard 0.07, adversarial 0.40; L2 1.5 standard 0.11, adversarial 0.41. Asserted: at
    least 0.2 apart."""
    robust = train.train(TrainConfig(epochs=6, hidden=(32, 32), batch_size=32, adversarial_norm=norm,
                                     adversarial_eps=eps, adversarial_steps=5, adversarial_rel_step_size=0.5), small)
    x = to_pixels(jnp.asarray(small.test_images.reshape(500, -1)))
    y = jnp.asarray(small.test_labels, jnp.int32)

    def accuracy(run):
        fn = attacks.as_model_fn(run.final_params)
        adv = attacks.pgd(fn, x, y, eps, jax.random.PRNGKey(0), norm=norm, steps=10, rel_step_size=0.25)
        return float((jnp.argmax(fn(adv), -1) == y).mean())

    assert np.isfinite(robust.history["train_loss"]).all()
    assert accuracy(robust) >= accuracy(small_standard) + 0.2
