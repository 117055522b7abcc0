"""The threat model (``advx.attacks.threat``) against NumPy and hand computations, and FGSM/PGD taking a model
function: the same numbers as the params-based attacks they replace, any network, inside jit and lax.scan."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import attacks as A
from advx import model


def _lp(v, norm):
    v = np.asarray(v, np.float64)
    return np.abs(v).max(axis=-1) if norm == "linf" else np.sqrt((v ** 2).sum(axis=-1))


def _points(n=30, d=784, seed=0):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(0, 1, (n, d)).astype(np.float32)
    x = (x0 + rng.normal(0, 0.3, (n, d)) * rng.uniform(0, 2, (n, 1))).astype(np.float32)
    return x, x0


# ------------------------------------------------------------------ the threat model


def test_threat_looks_norms_up_by_name_and_rejects_others():
    assert [A.threat(n).name for n in A.NORMS] == ["linf", "l2"]
    assert isinstance(A.threat("linf"), A.Linf) and isinstance(A.threat("l2"), A.L2)
    assert A.threat(A.threat("l2")) is A.threat("l2")
    for bad in ("l1", "Linf", None, 2):
        with pytest.raises(A.AttackError, match="norm must be one of linf, l2"):
            A.threat(bad)


@pytest.mark.parametrize("norm", A.NORMS)
def test_norm_and_unit_match_numpy(norm):
    x, _ = _points()
    ball = A.threat(norm)
    np.testing.assert_allclose(np.asarray(ball.norm(x)), _lp(x, norm), rtol=1e-6)
    unit = np.asarray(ball.unit(x))
    np.testing.assert_allclose(unit, x / _lp(x, norm)[:, None], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(_lp(unit, norm), 1.0, rtol=1e-6)
    assert not np.asarray(ball.unit(np.zeros((2, 784), np.float32))).any()  # zero stays zero, no NaN


@pytest.mark.parametrize("shape", ["scalar", "row", "column"])
@pytest.mark.parametrize("norm", A.NORMS)
def test_project_matches_a_plain_numpy_clip_or_rescale(norm, shape):
    x, x0 = _points()
    eps = np.linspace(0.05, 0.5, len(x)) if norm == "linf" else np.linspace(0.5, 8.0, len(x))
    eps = eps.astype(np.float32)
    given = {"scalar": eps[7], "row": eps, "column": eps[:, None]}[shape]
    col = np.broadcast_to(np.asarray(given, np.float64).reshape(-1, 1), (len(x), 1))
    delta = x.astype(np.float64) - x0
    if norm == "linf":
        expected = x0 + np.clip(delta, -col, col)
    else:
        size = np.linalg.norm(delta, axis=1, keepdims=True)
        expected = x0 + delta * np.minimum(1.0, col / size)
    got = np.asarray(A.threat(norm).project(x, x0, given))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert (_lp(got - x0, norm) <= col[:, 0] * (1 + 1e-5)).all()
    # Some points were outside and some inside: inside ones are left where they are.
    inside = _lp(delta, norm) <= col[:, 0]
    assert inside.any() and (~inside).any()
    np.testing.assert_allclose(got[inside], x[inside], atol=1e-6)


@pytest.mark.parametrize("norm", A.NORMS)
def test_random_start_stays_in_the_ball_and_fills_it(norm):
    _, x0 = _points(n=400)
    eps = (np.linspace(0.1, 0.4, 400) if norm == "linf" else np.linspace(1.0, 4.0, 400)).astype(np.float32)
    start = np.asarray(A.threat(norm).random_start(jax.random.key(2), x0, eps))
    radius = _lp(start - x0, norm)
    assert (radius <= eps * (1 + 1e-5)).all()
    # Uniform in a 784-dimensional ball: nearly all the mass lies close to the boundary (L-inf: some pixel
    # is near +-eps), yet the directions differ from row to row.
    assert (radius >= 0.95 * eps).mean() > 0.95
    assert np.abs(np.corrcoef(start[:50] - x0[:50])[np.triu_indices(50, 1)]).max() < 0.2
    other = np.asarray(A.threat(norm).random_start(jax.random.key(3), x0, eps))
    assert not np.allclose(start, other)
    # The public random start is the same point, clipped to the pixel range.
    public = np.asarray(A.random_start(jax.random.key(2), x0, eps, norm))
    np.testing.assert_array_equal(public, np.clip(start, 0, 1))


def test_step_matches_a_hand_computation():
    x = np.full((2, 3), 0.5, np.float32)
    grad = np.array([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    linf = np.asarray(A.threat("linf").step(x, grad, 0.1))
    np.testing.assert_allclose(linf, [[0.6, 0.4, 0.5], [0.5, 0.5, 0.5]], atol=1e-7)  # 0.5 + 0.1 * sign
    l2 = np.asarray(A.threat("l2").step(x, grad, 0.1))
    np.testing.assert_allclose(l2, [[0.56, 0.42, 0.5], [0.5, 0.5, 0.5]], atol=1e-7)  # 0.5 + 0.1 * (3, -4, 0) / 5
    per_image = np.asarray(A.threat("l2").step(x, grad, np.array([1.0, 2.0], np.float32)))
    np.testing.assert_allclose(per_image[0], [1.1, -0.3, 0.5], atol=1e-6)


# ------------------------------------------------------------------ FGSM and PGD with a model function


@functools.lru_cache(maxsize=None)
def _params():
    p = model.init_params((32, 16), jax.random.key(0))
    keys = jax.random.split(jax.random.key(1), len(p))
    return {name: {"kernel": p[name]["kernel"], "bias": 0.1 * jax.random.normal(key, p[name]["bias"].shape)}
            for key, name in zip(keys, p)}


def _case(n=40):
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (n, 784)).astype(np.float32)
    x[rng.uniform(0, 1, x.shape) < 0.7] = 0.0
    labels = np.asarray(A.predictions(_params(), x))
    return jnp.asarray(x), jnp.asarray(labels), jnp.asarray((labels + 3) % 10)


@functools.partial(jax.jit, static_argnames=("norm", "targeted", "steps", "random_init"))
def _params_pgd(params, images, labels, eps, key, *, norm, targeted, steps, rel_step_size, random_init):
    """The attacks as they were before the threat model: params in, the norm's branches written out."""

    def loss(x):
        logits = model.forward(params, x)
        return -jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), labels[:, None], axis=-1))

    def l2(v):
        return jnp.sqrt(jnp.sum(v * v, axis=-1))

    step = rel_step_size * eps
    direction = -1.0 if targeted else 1.0
    x = images
    if random_init:
        n, d = images.shape
        if norm == "linf":
            noise = jax.random.uniform(key, (n, d), jnp.float32, -1.0, 1.0)
        else:
            sphere = jax.random.normal(key, (n, d + 2), jnp.float32)
            noise = (sphere / l2(sphere)[:, None])[:, :d]
        x = jnp.clip(images + eps * noise, 0.0, 1.0)

    def one_step(_, x):
        g = jax.grad(loss)(x)
        g = jnp.sign(g) if norm == "linf" else g / jnp.maximum(l2(g), 1e-12)[:, None]
        x = x + direction * step * g
        delta = x - images
        if norm == "linf":
            x = images + jnp.clip(delta, -eps, eps)
        else:
            x = images + delta * jnp.minimum(1.0, eps / jnp.maximum(l2(delta), 1e-12))[:, None]
        return jnp.clip(x, 0.0, 1.0)

    return jax.lax.fori_loop(0, steps, one_step, x)


@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_a_model_function_gives_the_numbers_of_the_params_attacks(norm, eps, targeted):
    params = _params()
    x, labels, targets = _case()
    y = targets if targeted else labels
    model_fn = A.as_model_fn(params)
    rel = A.threat(norm).rel_step_size
    ours = A.pgd(model_fn, x, y, eps, jax.random.key(5), norm=norm, targeted=targeted, steps=10)
    before = _params_pgd(params, x, y, eps, jax.random.key(5), norm=norm, targeted=targeted, steps=10,
                         rel_step_size=rel, random_init=True)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(before))
    one_step = _params_pgd(params, x, y, eps, None, norm=norm, targeted=targeted, steps=1, rel_step_size=1.0,
                           random_init=False)
    np.testing.assert_array_equal(np.asarray(A.fgsm(model_fn, x, y, eps, norm=norm, targeted=targeted)),
                                  np.asarray(one_step))
    # A plain function of the same network is the same attack.
    plain = A.fgsm(lambda images: model.forward(params, images), x, y, eps, norm=norm, targeted=targeted)
    np.testing.assert_array_equal(np.asarray(plain), np.asarray(one_step))


def test_fgsm_serves_any_network_a_linear_one_in_closed_form():
    rng = np.random.default_rng(6)
    w = jnp.asarray(rng.normal(0, 0.1, (784, 10)), jnp.float32)
    b = jnp.asarray(rng.normal(0, 0.1, 10), jnp.float32)
    x, labels, _ = _case()
    adv = np.asarray(A.fgsm(jax.tree_util.Partial(lambda w, b, x: x @ w + b, w, b), x, labels, 0.2))
    # d/dx of the cross-entropy of x @ W + b is (softmax - onehot) @ W^T.
    probs = np.asarray(jax.nn.softmax(x @ w + b))
    grad = (probs - np.eye(10)[np.asarray(labels)]) @ np.asarray(w).T
    np.testing.assert_allclose(adv, np.clip(np.asarray(x) + 0.2 * np.sign(grad), 0, 1), atol=1e-6)


def test_the_attacks_run_inside_jit_and_lax_scan_with_traced_params():
    params = _params()
    x, labels, _ = _case(48)
    batches = (x.reshape(3, 16, 784), labels.reshape(3, 16))

    @jax.jit
    def epoch(params, key):  # as an adversarial-training epoch would: PGD on each batch, params traced
        def body(carry, batch):
            images, y = batch
            adv = A.pgd(A.as_model_fn(params), images, y, 0.1, jax.random.fold_in(key, carry), steps=5)
            return carry + 1, (adv, A.fgsm(A.as_model_fn(params), images, y, 0.1))

        return jax.lax.scan(body, 0, batches)[1]

    pgd_in, fgsm_in = epoch(params, jax.random.key(7))
    model_fn = A.as_model_fn(params)
    for i in range(3):
        images, y = batches[0][i], batches[1][i]
        pgd_out = A.pgd(model_fn, images, y, 0.1, jax.random.fold_in(jax.random.key(7), i), steps=5)
        fgsm_out = A.fgsm(model_fn, images, y, 0.1)
        for inside, outside in ((pgd_in[i], pgd_out), (fgsm_in[i], fgsm_out)):
            close = np.abs(np.asarray(inside) - np.asarray(outside)) <= 1e-5
            assert close.mean() >= 0.999, close.mean()  # the same attack up to rounding in another program


def test_a_params_dict_is_refused_with_the_way_out():
    x, labels, _ = _case(4)
    with pytest.raises(A.AttackError, match=r"as_model_fn\(params\)"):
        A.fgsm(_params(), x, labels, 0.1)
    with pytest.raises(A.AttackError, match="norm"):
        A.pgd(A.as_model_fn(_params()), x, labels, 0.1, jax.random.key(0), norm="l3")
