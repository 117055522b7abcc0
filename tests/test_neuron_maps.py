"""Per-neuron pixel maps and the noise-versus-digit measures (advx.neurons.maps, advx.neurons.measures):
cross-checked against jax.jacobian, NumPy loops and hand-made cases, then on the default trained run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import model
from advx import neurons as N
from advx.model import to_pixels
from neuron_support import numpy_layers, random_images, random_params


# ------------------------------------------------------------------ effective weights / Jacobians


@pytest.mark.parametrize("hidden", [(64, 64), (32, 16, 8)])
def test_effective_weights_match_jacobian_of_linearised_network(hidden):
    params = random_params(hidden)

    def linear_pre(x, layer):
        # The network with every ReLU replaced by the identity and every bias set to 0.
        h = x
        for name in model.param_layer_names(params):
            h = h @ params[name]["kernel"]
            if name == layer:
                return h

    x0 = jnp.asarray(random_images(1)[0])
    all_ew = N.all_effective_weights(params)
    jacobian = jax.jit(jax.jacobian(linear_pre), static_argnums=1)
    for layer in model.param_layer_names(params):
        jac = jacobian(x0, layer)  # (n, 784)
        ew = N.effective_weights(params, layer)
        assert ew.shape == (784, params[layer]["kernel"].shape[1])
        np.testing.assert_allclose(np.asarray(ew), np.asarray(jac).T, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(all_ew[layer]), np.asarray(ew), rtol=1e-5, atol=1e-6)


def test_effective_weights_differ_from_real_network_jacobian():
    # With biases and ReLUs in place the gradient at an image is not the effective weights.
    params = random_params()
    x0 = jnp.asarray(random_images(1)[0])
    jac = N.local_jacobian(params, x0, "Layer_2")
    assert not np.allclose(np.asarray(jac), np.asarray(N.effective_weights(params, "Layer_2")), atol=1e-3)


@pytest.mark.parametrize("layer", ["Layer_1", "Layer_2", "output"])
def test_local_jacobian_matches_relu_mask_formula(layer):
    params = random_params()
    x = random_images(3)
    names = model.param_layer_names(params)
    layers = numpy_layers(params, x)
    for i in range(3):
        # d pre_L / d x = W1 diag(m1) W2 diag(m2) ... W_L with m_k = [pre_k(x) > 0].
        m = np.asarray(params["Layer_1"]["kernel"], np.float64)
        for before, name in enumerate(names[1 : names.index(layer) + 1]):
            mask = (layers[names[before]][0][i] > 0).astype(np.float64)
            m = (m * mask[None, :]) @ np.asarray(params[name]["kernel"], np.float64)
        jac = np.asarray(N.local_jacobian(params, jnp.asarray(x[i]), layer))
        assert jac.shape == m.shape
        np.testing.assert_allclose(jac, m, rtol=1e-4, atol=1e-5)


def test_unknown_layer_is_a_typed_error():
    params = random_params()
    with pytest.raises(N.UnknownLayerError, match="Layer_1, Layer_2, output"):
        N.effective_weights(params, "Layer_9")
    with pytest.raises(N.UnknownLayerError):
        N.dataset_average(params, random_images(4), "nope")
    with pytest.raises(N.UnknownNeuronError, match="0 to 63"):
        N.top_activating(params, random_images(20), "Layer_1", 64, count=3)


# ------------------------------------------------------------------ dataset averages


@pytest.mark.parametrize("output", N.OUTPUT_WEIGHTINGS)
def test_dataset_average_matches_numpy_loop(output):
    params = random_params()
    x = random_images(30, seed=4)
    ref = numpy_layers(params, x, output)
    every = N.all_dataset_averages(params, x, output)
    for layer in model.param_layer_names(params):
        a = ref[layer][1]
        expected = np.zeros((784, a.shape[1]))
        for j in range(a.shape[1]):
            num, den = np.zeros(784), 0.0
            for i in range(len(x)):
                num += a[i, j] * x[i]
                den += a[i, j]
            expected[:, j] = num / den if den > 0 else 0.0
        got = N.dataset_average(params, x, layer, output)
        np.testing.assert_allclose(np.asarray(got.images), expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(np.asarray(got.total_weight), a.sum(axis=0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(every[layer].images), np.asarray(got.images), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(np.asarray(every[layer].dead), a.sum(axis=0) <= 0)


def _with_dead_neuron(params, layer="Layer_1", neuron=3):
    params = jax.tree_util.tree_map(lambda v: v, params)
    params[layer] = dict(params[layer], bias=params[layer]["bias"].at[neuron].set(-1e4))
    return params


def test_dead_neuron_is_marked_not_nan():
    params = _with_dead_neuron(random_params())
    x = random_images(40, seed=5)
    avg = N.dataset_average(params, x, "Layer_1")
    dead = np.asarray(avg.dead)
    assert dead[3]
    assert np.all(np.isfinite(np.asarray(avg.images)))
    np.testing.assert_array_equal(np.asarray(avg.images)[:, 3], 0.0)
    stats = N.neuron_stats(params, x)
    assert 3 in stats["Layer_1"].dead_neurons and stats["Layer_1"].firing_rate[3] == 0
    sp = N.sparsity(params, x, stats)
    assert np.all(sp["Layer_1"].levels[:, 3] == N.INACTIVE)
    m = N.noise_digit_measures(N.effective_weights(params, "Layer_1"), avg)
    assert np.isnan(m.average_high_frequency[3]) and np.isnan(m.correlation[3])
    assert np.isfinite(m.effective_high_frequency[3])
    alive = ~dead
    assert np.all(np.isfinite(m.average_high_frequency[alive]))


def test_dead_output_neuron_under_relu_logit_weighting():
    params = random_params()
    params["output"] = dict(params["output"], bias=params["output"]["bias"].at[7].set(-30.0))
    x = random_images(20, seed=6)
    assert bool(N.dataset_average(params, x, "output", "relu_logit").dead[7])
    # A softmax probability is never exactly 0 here, so the same class still has an average.
    assert not bool(N.dataset_average(params, x, "output", "softmax").dead[7])


def test_top_activating_matches_numpy_sort():
    params = random_params()
    x = random_images(100, seed=7)
    ref = numpy_layers(params, x)
    for layer, neuron in [("Layer_1", 5), ("Layer_2", 0), ("output", 9)]:
        idx, values = N.top_activating(params, x, layer, neuron, count=9)
        expected = np.argsort(-ref[layer][0][:, neuron])[:9]
        np.testing.assert_array_equal(idx, expected)
        np.testing.assert_allclose(values, ref[layer][0][expected, neuron], rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ noise versus digit measures


def _cosine(freq):
    j = np.arange(28)
    return np.tile(np.cos(2 * np.pi * freq * j), (28, 1)).reshape(784, 1)


def test_high_frequency_share_on_pure_waves_and_noise():
    # A wave at 9/28 ~ 0.32 cycles/pixel is all high; one at 3/28 ~ 0.11 is all low.
    maps = np.concatenate([_cosine(9 / 28), _cosine(3 / 28)], axis=1)
    np.testing.assert_allclose(np.asarray(N.high_frequency_share(maps)), [1.0, 0.0], atol=1e-5)
    noise = np.random.default_rng(0).standard_normal((784, 400))
    assert float(np.mean(N.high_frequency_share(noise))) == pytest.approx(N.NOISE_HIGH_FREQUENCY_SHARE, abs=0.02)


def test_roughness_on_checkerboard_ramp_and_noise():
    i, j = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    checker = ((-1.0) ** (i + j)).reshape(784, 1)  # every difference is +-2
    ramp = j.astype(float).reshape(784, 1)          # every horizontal difference is 1
    got = np.asarray(N.roughness(np.concatenate([checker, ramp], axis=1)))
    ramp_spread = np.sqrt(28 * ((np.arange(28) - 13.5) ** 2).sum())
    np.testing.assert_allclose(got, [np.sqrt(2 * 756 * 4 / 784), np.sqrt(756) / ramp_spread], rtol=1e-5)
    noise = np.random.default_rng(1).standard_normal((784, 400))
    assert float(np.mean(N.roughness(noise))) == pytest.approx(N.NOISE_ROUGHNESS, abs=0.03)


def test_pixel_correlation_matches_numpy():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((784, 5))
    b = a + rng.standard_normal((784, 5))
    got = np.asarray(N.pixel_correlation(a, b))
    np.testing.assert_allclose(got, [np.corrcoef(a[:, column], b[:, column])[0, 1] for column in range(5)], rtol=1e-4)


# ------------------------------------------------------------------ integration: the default trained run
#
# Measured on the default run (784-64-64-10, 15 epochs, 97.8% test accuracy) when these tests were written:
# - output layer: effective weights high-frequency share 0.32-0.50 (median 0.37; 0.81 at initialisation),
#   dataset averages 0.001-0.005; roughness 1.25-1.49 against 0.40-0.53; softmax-weighted dataset averages
#   correlate with the class-mean image at r > 0.999, the effective weights at r 0.04-0.30.
# The thresholds below leave room for other seeds while still failing if the claims stop holding.


@pytest.fixture(scope="module")
def trained_maps(trained_run, mnist):
    train = to_pixels(mnist.train_images)
    out = {}
    for epoch in (0, trained_run.n_epochs):
        params = trained_run.params_at(epoch)
        effective = N.all_effective_weights(params)
        averages = N.all_dataset_averages(params, train)
        out[epoch] = {layer: N.noise_digit_measures(effective[layer], averages[layer]) for layer in effective}
    return out


def test_output_effective_weights_much_rougher_than_dataset_averages(trained_run, trained_maps):
    m = trained_maps[trained_run.n_epochs]["output"]
    assert np.all(m.effective_high_frequency >= 0.2), m.effective_high_frequency
    assert np.all(m.average_high_frequency <= 0.02), m.average_high_frequency
    assert np.all(m.effective_high_frequency >= 20 * m.average_high_frequency)
    assert np.all(m.effective_roughness >= 1.0) and np.all(m.average_roughness <= 0.7)
    assert np.all(m.effective_roughness >= 2 * m.average_roughness)
    # At initialisation the effective weights are pixel noise; training smooths them only part of the way.
    m0 = trained_maps[0]["output"]
    assert np.median(m0.effective_high_frequency) == pytest.approx(N.NOISE_HIGH_FREQUENCY_SHARE, abs=0.05)
    assert np.median(m.effective_high_frequency) < np.median(m0.effective_high_frequency)


def test_output_dataset_averages_are_the_digits(trained_run, mnist):
    train = to_pixels(mnist.train_images)
    params = trained_run.final_params
    class_means = np.stack([train[mnist.train_labels == d].mean(axis=0) for d in range(10)], axis=1)
    average = N.dataset_average(params, train, "output")
    assert not np.any(np.asarray(average.dead))
    r_average = np.asarray(N.pixel_correlation(np.asarray(average.images), class_means))
    r_effective = np.asarray(N.pixel_correlation(np.asarray(N.effective_weights(params, "output")), class_means))
    assert np.all(r_average >= 0.95), r_average
    assert np.all(r_effective <= 0.6), r_effective
