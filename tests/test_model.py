import jax
import jax.numpy as jnp
import numpy as np

from advx.model import flax_forward, forward, forward_with_activations, init_params, summary


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
