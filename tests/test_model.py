import jax
import jax.numpy as jnp
import numpy as np

from neuron_support import numpy_layers

from advx.model import (ALIGN, aligned_rows, device_rows, effective_weights, flax_forward, forward,
                        forward_with_activations, init_params, summary, to_pixels)


def test_summary_matches_the_seed():
    params = init_params((64, 64), jax.random.PRNGKey(0))
    rows = {r["layer"]: r for r in summary(params)}
    assert [r["layer"] for r in summary(params)] == ["Layer_1", "Layer_2", "output", "Total"]
    assert (rows["Layer_1"]["output_shape"], rows["Layer_1"]["params"]) == ("(None, 64)", 50_240)
    assert (rows["Layer_2"]["output_shape"], rows["Layer_2"]["params"]) == ("(None, 64)", 4_160)
    assert (rows["output"]["output_shape"], rows["output"]["params"]) == ("(None, 10)", 650)
    assert rows["Total"]["params"] == 55_050
    # independent count straight from the parameter tree
    assert sum(x.size for x in jax.tree.leaves(params)) == 55_050


def test_configurable_hidden_sizes():
    params = init_params((32, 16, 8), jax.random.PRNGKey(1))
    assert list(params) == ["Layer_1", "Layer_2", "Layer_3", "output"]
    assert summary(params)[-1]["params"] == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10


def test_forward_agrees_with_flax_apply_and_reports_activations():
    params = init_params((64, 64), jax.random.PRNGKey(2))
    x = jax.random.uniform(jax.random.PRNGKey(3), (5, 784))
    np.testing.assert_allclose(forward(params, x), flax_forward(params, x), rtol=1e-5, atol=1e-5)
    logits, acts = forward_with_activations(params, x)
    np.testing.assert_allclose(logits, forward(params, x), rtol=1e-6)
    assert set(acts) == {"Layer_1", "Layer_2", "output"}
    np.testing.assert_allclose(acts["Layer_1"]["post"], jnp.maximum(acts["Layer_1"]["pre"], 0))
    np.testing.assert_allclose(acts["output"]["post"].sum(-1), 1, rtol=1e-5)
    # Layer_2's pre-activation recomputed by hand from Layer_1's post-activation
    by_hand = acts["Layer_1"]["post"] @ params["Layer_2"]["kernel"] + params["Layer_2"]["bias"]
    np.testing.assert_allclose(acts["Layer_2"]["pre"], by_hand, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ the one walk and the one pixel conversion


def test_walk_based_forward_equals_flax_apply_and_a_numpy_loop_for_uint8_and_float_pixels():
    params = init_params((64, 64), jax.random.PRNGKey(4))
    params = jax.tree.map(lambda a: a + 0.05, params)  # non-zero biases, so that they are checked too
    raw = (np.arange(6 * 784) * 37 % 256).astype(np.uint8).reshape(6, 28, 28)
    as_float = raw.reshape(6, 784) / 255.0  # float64, the independent conversion
    for images in (raw, raw.reshape(6, 784), jnp.asarray(raw), as_float.astype(np.float32)):
        x = to_pixels(images)
        assert x.shape == (6, 784) and x.dtype == np.float32
        np.testing.assert_allclose(np.asarray(x), as_float, rtol=1e-6, atol=1e-7)
        ref_layers = numpy_layers(params, as_float)  # softmax on the output
        ref_logits = ref_layers["output"][0]
        np.testing.assert_allclose(forward(params, x), flax_forward(params, x), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(forward(params, x), ref_logits, rtol=1e-4, atol=1e-4)
        logits, acts = forward_with_activations(params, x)
        np.testing.assert_allclose(logits, flax_forward(params, x), rtol=1e-5, atol=1e-5)
        for name, (pre, post) in ref_layers.items():
            np.testing.assert_allclose(acts[name]["pre"], pre, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(acts[name]["post"], post, rtol=1e-4, atol=1e-5)


def test_to_pixels_keeps_numpy_numpy_and_jax_jax():
    raw = np.full((2, 28, 28), 255, np.uint8)
    assert isinstance(to_pixels(raw), np.ndarray) and to_pixels(raw).shape == (2, 784)
    assert isinstance(to_pixels(jnp.asarray(raw)), jax.Array)
    assert to_pixels(raw[0]).shape == (784,) and float(to_pixels(raw).max()) == 1.0
    traced = jax.jit(lambda a: to_pixels(a).sum())(raw)  # inside a compiled program
    assert float(traced) == 2 * 784
    half = np.full((784,), 0.5, np.float64)
    assert to_pixels(half).dtype == np.float32 and float(to_pixels(half)[0]) == 0.5


def test_an_aligned_host_array_goes_to_the_device_without_a_copy(mnist):
    """The non-robust training holds one copy of each 188 MB training set: the device array must read the aligned
    host array in place (on the CPU), and an ordinary NumPy array must still be copied, never aliased."""
    host = aligned_rows(3000)
    assert host.shape == (3000, 784) and host.dtype == np.float32 and host.ctypes.data % ALIGN == 0
    assert host.flags.c_contiguous and host.flags.writeable
    host[...] = to_pixels(mnist.train_images[:3000])
    device = device_rows(host)
    np.testing.assert_array_equal(np.asarray(device), host)
    if jax.default_backend() == "cpu":
        assert np.shares_memory(np.asarray(device), host)
    flat = to_pixels(mnist.train_images[:3001]).reshape(-1)
    start = 1 if flat.ctypes.data % ALIGN == 0 else 0  # an ordinary array, sure to be off the alignment
    plain = flat[start:start + 3000 * 784].reshape(3000, 784)
    copied = device_rows(plain).block_until_ready()  # the copy may run after the call returns
    plain[...] = 0
    assert float(jnp.abs(copied).sum()) > 0  # the device kept its own copy


def test_to_pixels_divides_by_255(mnist):
    x = to_pixels(mnist.train_images)
    assert x.shape == (60000, 784) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert abs(float(x.mean()) - 0.1307) < 5e-4 and abs(float(x.std()) - 0.3081) < 5e-4
    np.testing.assert_array_equal(to_pixels(mnist.test_images[:3].reshape(3, 784)) * 255,
                                  mnist.test_images[:3].reshape(3, 784).astype(np.float32))


def test_effective_weights_are_the_explicit_products():
    params = init_params((32, 16, 8), jax.random.PRNGKey(5))
    w = [np.asarray(params[name]["kernel"], np.float64) for name in ("Layer_1", "Layer_2", "Layer_3", "output")]
    expected = {"Layer_1": w[0], "Layer_2": w[0] @ w[1], "Layer_3": w[0] @ w[1] @ w[2],
                "output": w[0] @ w[1] @ w[2] @ w[3]}
    got = effective_weights(params)
    assert list(got) == list(expected)
    for name, product in expected.items():
        assert got[name].shape == product.shape
        np.testing.assert_allclose(np.asarray(got[name]), product, rtol=1e-4, atol=1e-6)
