"""Attacks: overlays against numpy, the minimal eps against a closed form, FGSM/PGD against Foolbox 3,
and, on the default trained run, the post's 7 -> 0 trick and its random control."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import attacks as A
from advx import model
from advx.neurons import effective_weights, local_jacobian
from advx.text import overlay as words


@functools.lru_cache(maxsize=None)
def _params(hidden=(64, 64), seed=0):
    p = model.init_params(hidden, jax.random.key(seed))
    keys = jax.random.split(jax.random.key(seed + 100), len(p))
    return {name: {"kernel": p[name]["kernel"], "bias": 0.1 * jax.random.normal(key, p[name]["bias"].shape)}
            for key, name in zip(keys, p)}


def _mnist_like(n=40, seed=1):
    """Pixels like MNIST's: mostly exactly 0, some exactly 1, the rest grey."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 784)).astype(np.float32)
    kind = rng.uniform(0, 1, (n, 784))
    x[kind < 0.7] = 0.0
    x[(kind >= 0.7) & (kind < 0.78)] = 1.0
    return x


def _linear_params(w, b):
    """A linear classifier as an advx network: Layer_1 is the identity (ReLU is the identity on [0, 1])."""
    return {"Layer_1": {"kernel": jnp.eye(784, dtype=jnp.float32), "bias": jnp.zeros(784, jnp.float32)},
            "output": {"kernel": jnp.asarray(w, jnp.float32), "bias": jnp.asarray(b, jnp.float32)}}


def _numpy_logits(params, x):
    h = np.asarray(x, np.float64)
    names = model.param_layer_names(params)
    for name in names:
        h = h @ np.asarray(params[name]["kernel"], np.float64) + np.asarray(params[name]["bias"], np.float64)
        if name != "output":
            h = np.maximum(h, 0)
    return h


def _lp(v, norm):
    return np.abs(v).max(axis=-1) if norm == "linf" else np.sqrt((v.astype(np.float64) ** 2).sum(axis=-1))


# ------------------------------------------------------------------ overlay and the random control


@pytest.mark.parametrize("norm", A.NORMS)
def test_overlay_matches_numpy_and_stays_within_eps(norm):
    x = _mnist_like()
    rng = np.random.default_rng(2)
    pattern = rng.standard_normal(784).astype(np.float32)
    eps = rng.uniform(0, 3, len(x)).astype(np.float32)
    adv = np.asarray(A.overlay(x, pattern, eps, norm))
    expected = np.clip(x + eps[:, None] * pattern / _lp(pattern, norm), 0, 1)
    np.testing.assert_allclose(adv, expected, atol=1e-6)
    assert adv.min() >= 0 and adv.max() <= 1
    assert (_lp(adv - x, norm) <= eps * (1 + 1e-5) + 1e-7).all()
    # Clipping really happened somewhere, so the eps check was not trivially an equality.
    assert (_lp(adv - x, norm) < eps * 0.99).any()


@pytest.mark.parametrize("norm", A.NORMS)
def test_overlay_moves_by_the_whole_eps_when_nothing_clips(norm):
    rng = np.random.default_rng(3)
    x = rng.uniform(0.3, 0.7, (20, 784)).astype(np.float32)
    patterns = rng.standard_normal((20, 784)).astype(np.float32)  # one pattern per image
    adv = np.asarray(A.overlay(x, patterns, 0.25, norm))
    np.testing.assert_allclose(_lp(adv - x, norm), 0.25, rtol=1e-4)


def test_unit_pattern_and_zero_pattern():
    p = np.zeros((2, 784), np.float32)
    p[1, 5] = -3.0
    for norm in A.NORMS:
        u = np.asarray(A.unit_pattern(p, norm))
        assert not u[0].any()
        assert u[1, 5] == -1.0
    assert np.asarray(A.overlay(np.full((1, 784), 0.5, np.float32), p[0], 0.3)).tolist() == [[0.5] * 784]


@pytest.mark.parametrize("kind", ["gaussian", "sign"])
@pytest.mark.parametrize("norm", A.NORMS)
def test_random_control_has_the_norm_of_the_pattern(norm, kind):
    rng = np.random.default_rng(4)
    like = rng.standard_normal((6, 784)).astype(np.float32) * rng.uniform(0.1, 5, (6, 1)).astype(np.float32)
    r = np.asarray(A.random_pattern(jax.random.key(0), like, norm, kind))
    np.testing.assert_allclose(_lp(r, norm), _lp(like, norm), rtol=1e-5)
    if kind == "sign":
        assert np.allclose(np.abs(r), np.abs(r[:, :1]))  # every pixel the same size
    else:
        assert len(np.unique(np.abs(r[0]))) > 700
    # A direction unrelated to the pattern: |cosine| about 1/sqrt(784).
    cosine = (r * like).sum(1) / np.linalg.norm(r, axis=1) / np.linalg.norm(like, axis=1)
    assert np.abs(cosine).max() < 0.2
    other = np.asarray(A.random_pattern(jax.random.key(1), like, norm, kind))
    assert not np.allclose(r, other)
    # Overlaid at eps, the control moves an interior image by exactly eps.
    x = np.full((6, 784), 0.5, np.float32)
    np.testing.assert_allclose(_lp(np.asarray(A.overlay(x, r, 0.2, norm)) - x, norm), 0.2, rtol=1e-4)


def test_bad_arguments_raise_typed_errors():
    x = _mnist_like(3)
    with pytest.raises(A.AttackError, match="norm"):
        A.overlay(x, x[0], 0.1, "l1")
    with pytest.raises(A.AttackError, match="pattern source"):
        A.pattern_for(_params(), x, 0, "nope")
    with pytest.raises(A.AttackError, match="0..9"):
        A.pattern_for(_params(), x, 10)
    with pytest.raises(A.AttackError, match="neurons 0..63"):
        A.pattern_for(_params(), x, 0, layer="Layer_1", neuron=64)
    with pytest.raises(A.AttackError, match="key"):
        A.pattern_for(_params(), x, 0, "random")
    with pytest.raises(A.AttackError, match="at least 0"):
        A.overlay_sweep(_params(), x, np.ones((1, 784)), [0], [-0.1])
    with pytest.raises(A.AttackError, match=r"\(n, 784\)"):
        A.success_rates(_params(), x[:, :10], [0, 1, 2], 0, 0.1, key=jax.random.key(0))


# ------------------------------------------------------------------ pattern sources


def test_pattern_sources():
    params = _params()
    x = _mnist_like(5)
    ew = np.asarray(effective_weights(params, "output"))[:, 3]
    np.testing.assert_array_equal(np.asarray(A.pattern_for(params, x, 3)), ew)
    np.testing.assert_array_equal(np.asarray(A.pattern_for(params, x, 3, "sign_effective_weights")), np.sign(ew))
    jac = np.asarray(A.pattern_for(params, x, 3, "local_jacobian"))
    assert jac.shape == (5, 784)
    for i in range(5):  # the batched gradient is the local Jacobian's column, image by image
        np.testing.assert_allclose(jac[i], np.asarray(local_jacobian(params, x[i], "output"))[:, 3],
                                   rtol=1e-4, atol=1e-6)
    hidden = np.asarray(A.pattern_for(params, x, 0, "local_jacobian", layer="Layer_2", neuron=7))
    np.testing.assert_allclose(hidden[2], np.asarray(local_jacobian(params, x[2], "Layer_2"))[:, 7],
                               rtol=1e-4, atol=1e-6)
    rnd = np.asarray(A.pattern_for(params, x, 3, "random", key=jax.random.key(0), norm="l2"))
    assert np.isclose(np.linalg.norm(rnd), np.linalg.norm(ew), rtol=1e-5)
    patterns = np.asarray(A.output_patterns(params, "sign_effective_weights"))
    np.testing.assert_array_equal(patterns[3], np.sign(ew))


# ------------------------------------------------------------------ minimal flipping eps


def _closed_form_min_eps(w, b, x, u, t):
    """For logits W^T (x + eps u) + b (no clipping): the interval of eps where class t wins, lowest point."""
    z = x @ w + b
    lo, hi = 0.0, math.inf
    for j in range(10):
        if j == t:
            continue
        margin = z[t] - z[j]  # need margin + eps * slope > 0
        slope = (w[:, t] - w[:, j]) @ u
        if slope > 0:
            lo = max(lo, -margin / slope)
        elif slope < 0:
            hi = min(hi, -margin / slope)
        elif margin <= 0:
            return math.inf
    return lo if lo < hi else math.inf


@pytest.mark.parametrize("norm", A.NORMS)
def test_minimal_eps_on_a_linear_model_matches_the_closed_form(norm):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((784, 10)) * 0.05
    b = rng.standard_normal(10) * 0.3
    x = rng.uniform(0.3, 0.7, (200, 784))
    params = _linear_params(w, b)
    checked = 0
    for t in (0, 4, 9):
        u = w[:, t] / _lp(w[:, t], norm)  # the output neuron's effective weights, normalised
        top = 0.29 / np.abs(u).max()  # no pixel moves by more than 0.29: nothing clips, logits are linear
        np.testing.assert_allclose(np.asarray(effective_weights(params, "output"))[:, t], w[:, t], rtol=1e-6)
        got = np.asarray(A.minimal_eps(params, x.astype(np.float32), w[:, t].astype(np.float32), t, top, norm))
        for i in range(len(x)):
            want = _closed_form_min_eps(w, b, x[i], u, t)
            if want > top:
                assert got[i] == np.inf
            else:
                assert got[i] == pytest.approx(want, abs=2e-5 * top)
                checked += want > 0
    assert checked >= 20  # enough images that needed a real, non-zero eps


def test_minimal_eps_per_image_patterns_and_already_there():
    params = _params()
    x = _mnist_like(8)
    pred = np.asarray(A.predictions(params, x))
    jac = A.pattern_for(params, x, 2, "sign_local_jacobian")
    eps = np.asarray(A.minimal_eps(params, x, jac, 2, 2.0, "linf"))
    assert (eps[pred == 2] == 0).all()
    for i in np.flatnonzero(np.isfinite(eps) & (eps > 0)):
        above = np.asarray(A.predictions(params, A.overlay(x[i:i + 1], jac[i:i + 1], eps[i] + 1e-5, "linf")))
        below = np.asarray(A.predictions(params, A.overlay(x[i:i + 1], jac[i:i + 1], eps[i] - 2e-4, "linf")))
        assert above[0] == 2 and below[0] != 2


# ------------------------------------------------------------------ the sweep


@pytest.mark.parametrize("norm,top", [("linf", 1.0), ("l2", 9.0)])
def test_sweep_fast_and_dense_equal_the_direct_overlay(norm, top):
    params = _params()
    x = _mnist_like(23)
    patterns = np.asarray(A.output_patterns(params))
    eps_grid = np.linspace(0.05, top, 7).astype(np.float32)
    if norm == "l2":  # some pixels at 0 or 1 reach the far end: the fast route must handle them exactly
        units = np.asarray(A.unit_pattern(patterns, norm))
        assert (top * np.abs(units).max(0) > 1).any()
    fast = A.overlay_sweep(params, x, patterns, np.arange(10), eps_grid, norm, method="fast", chunk=8)
    dense = A.overlay_sweep(params, x, patterns, np.arange(10), eps_grid, norm, method="dense", chunk=8)
    for i, eps in enumerate(eps_grid):
        for t in range(10):
            logits = _numpy_logits(params, np.asarray(A.overlay(x, patterns[t], eps, norm)))
            probs = np.exp(logits - logits.max(1, keepdims=True))
            probs /= probs.sum(1, keepdims=True)
            for sweep in (fast, dense):
                np.testing.assert_array_equal(sweep.predictions[i, t], logits.argmax(1))
                np.testing.assert_allclose(sweep.target_probability[i, t], probs[:, t], atol=2e-5)


@pytest.mark.parametrize("sign", [False, True])
def test_jacobian_sweep_equals_the_direct_overlay_with_each_images_jacobian(sign):
    params = _params()
    x = _mnist_like(9)
    eps_grid = np.array([0.1, 0.4], np.float32)
    sweep = A.jacobian_sweep(params, x, [2, 5], eps_grid, "linf", sign=sign, chunk=4)
    source = "sign_local_jacobian" if sign else "local_jacobian"
    for j, t in enumerate([2, 5]):
        pattern = A.pattern_for(params, x, t, source)
        for i, eps in enumerate(eps_grid):
            direct = np.asarray(A.predictions(params, A.overlay(x, pattern, eps, "linf")))
            np.testing.assert_array_equal(sweep.predictions[i, j], direct)
    hidden = A.source_sweep(params, x, source, "l2", eps_grid, layer="Layer_2", neuron=4)
    pattern = A.pattern_for(params, x, 0, source, layer="Layer_2", neuron=4)
    direct = np.asarray(A.predictions(params, A.overlay(x, pattern, 0.4, "l2")))
    for t in range(10):  # one neuron's pattern in every column
        np.testing.assert_array_equal(hidden.predictions[1, t], direct)


def test_success_matrix_curve_and_confidence_by_hand():
    labels = np.array([0, 1, 1, 2])
    clean = np.array([0, 1, 2, 2])  # image 2 is misclassified: never counted
    preds = np.tile(np.arange(4)[None, None, :] * 0, (1, 10, 1))
    preds[0] = labels[None, :]
    preds[0, 0] = [0, 0, 0, 2]  # target 0 reaches image 1 (class 1) but not image 3 (class 2)
    preds[0, 2] = [2, 2, 2, 2]  # target 2 reaches images 0 and 1
    probs = np.full((1, 10, 4), 0.5, np.float32)
    probs[0, 2, 1] = 0.9
    sweep = A.OverlaySweep(np.array([0.3]), np.arange(10), preds, probs)
    m = A.success_matrix(sweep, labels, clean, 0)
    assert m[1, 0] == 1.0 and m[2, 0] == 0.0 and m[0, 2] == 1.0 and m[1, 2] == 1.0 and m[0, 5] == 0.0
    assert np.isnan(np.diag(m)).all()
    assert np.isnan(m[3]).all()  # no correctly classified 3
    # eligible pairs: 3 correct images x 9 other targets = 27; hits: (1->0), (0->2), (1->2)
    assert A.success_curve(sweep, labels, clean).tolist() == [pytest.approx(3 / 27)]
    assert sorted(A.success_confidence(sweep, labels, clean, 0).tolist()) == [0.5, 0.5, pytest.approx(0.9)]


# ------------------------------------------------------------------ FGSM and PGD against Foolbox 3


fb = pytest.importorskip("foolbox")
ep = pytest.importorskip("eagerpy")


def _foolbox_model(params):
    return fb.JAXModel(lambda x: model.forward(params, x), bounds=(0, 1))


def _agree(ours, theirs, tol=1e-5, share=1.0):
    """Equal up to rounding (measured on these random networks: every pixel within 1.2e-7)."""
    close = np.abs(np.asarray(ours) - np.asarray(theirs)) <= tol
    assert close.mean() >= share, f"only {close.mean():.4%} of pixels agree"


@pytest.fixture(scope="module")
def attack_case():
    params = _params()
    x = _mnist_like(48, seed=7)
    labels = np.asarray(A.predictions(params, x))
    targets = (labels + 3) % 10
    return params, jnp.asarray(x), jnp.asarray(labels), jnp.asarray(targets)


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_fgsm_untargeted_matches_foolbox(attack_case, norm, eps):
    params, x, labels, _ = attack_case
    attack = fb.attacks.FGSM() if norm == "linf" else fb.attacks.FGM()
    raw, _, _ = attack(_foolbox_model(params), x, labels, epsilons=eps)
    ours = A.fgsm(A.as_model_fn(params), x, labels, eps, norm=norm)
    _agree(ours, raw)
    assert np.abs(np.asarray(ours) - np.asarray(x)).max() > 0.5 * eps if norm == "linf" else True


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_fgsm_targeted_matches_foolbox_one_step_pgd(attack_case, norm, eps):
    # Foolbox's FGSM classes refuse targets; one full step of its PGD without random start is the same.
    params, x, _, targets = attack_case
    cls = fb.attacks.LinfPGD if norm == "linf" else fb.attacks.L2PGD
    attack = cls(rel_stepsize=1.0, steps=1, random_start=False)
    raw, _, _ = attack(_foolbox_model(params), x, fb.criteria.TargetedMisclassification(targets), epsilons=eps)
    _agree(A.fgsm(A.as_model_fn(params), x, targets, eps, norm=norm, targeted=True), raw)


@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_pgd_matches_foolbox(attack_case, norm, eps, targeted):
    params, x, labels, targets = attack_case
    cls = fb.attacks.LinfPGD if norm == "linf" else fb.attacks.L2PGD
    attack = cls(steps=10, random_start=False)  # Foolbox's default step sizes
    criterion = fb.criteria.TargetedMisclassification(targets) if targeted else fb.criteria.Misclassification(labels)
    raw, _, _ = attack(_foolbox_model(params), x, criterion, epsilons=eps)
    ours = A.pgd(A.as_model_fn(params), x, targets if targeted else labels, eps, norm=norm, targeted=targeted, steps=10,
                 random_init=False)
    _agree(ours, raw)
    np.testing.assert_array_equal(np.asarray(A.predictions(params, ours)), np.asarray(A.predictions(params, raw)))


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_pgd_with_random_start_matches_foolbox_given_the_same_start(attack_case, norm, eps, monkeypatch):
    params, x, labels, _ = attack_case
    key = jax.random.key(11)
    start = A.random_start(key, x, eps, norm)
    attack = (fb.attacks.LinfPGD if norm == "linf" else fb.attacks.L2PGD)(steps=5)
    monkeypatch.setattr(attack, "get_random_start", lambda x0, epsilon: ep.astensor(start))
    raw, _, _ = attack(_foolbox_model(params), x, labels, epsilons=eps)
    _agree(A.pgd(A.as_model_fn(params), x, labels, eps, key, norm=norm, steps=5), raw)


@pytest.mark.parametrize("norm", A.NORMS)
def test_random_start_is_uniform_in_the_ball_like_foolbox(norm):
    eps = 0.3 if norm == "linf" else 2.0
    x = jnp.full((2000, 784), 0.5, jnp.float32)  # interior: clipping does not bend the distribution
    delta = np.asarray(A.random_start(jax.random.key(3), x, eps, norm)) - 0.5
    if norm == "linf":
        assert np.abs(delta).max() <= eps + 1e-6
        assert np.mean(np.abs(delta)) == pytest.approx(eps / 2, rel=0.01)
        return
    radius = np.linalg.norm(delta, axis=1)
    assert radius.max() <= eps * (1 + 1e-5)
    # Uniform in the 784-ball: P(r <= q * eps) = q**784; compare with Foolbox's own sampler.
    theirs = np.linalg.norm(np.asarray(fb.attacks.gradient_descent_base.uniform_l2_n_balls(
        ep.astensor(x), 2000, 784).raw), axis=1) * eps
    assert np.mean(radius) == pytest.approx(eps * 784 / 785, rel=1e-3)
    assert np.mean(radius) == pytest.approx(np.mean(theirs), rel=2e-3)
    assert np.quantile(radius, 0.05) == pytest.approx(np.quantile(theirs, 0.05), rel=5e-3)


def test_pgd_reaches_its_target_more_often_than_fgsm_and_stays_within_eps(attack_case):
    params, x, _, targets = attack_case
    for norm, eps in (("linf", 0.1), ("l2", 1.5)):
        adv_pgd = A.pgd(A.as_model_fn(params), x, targets, eps, jax.random.key(0), norm=norm, targeted=True)
        adv_fgsm = A.fgsm(A.as_model_fn(params), x, targets, eps, norm=norm, targeted=True)
        for adv in (adv_pgd, adv_fgsm):
            assert (_lp(np.asarray(adv) - np.asarray(x), norm) <= eps * (1 + 1e-5)).all()
            assert 0 <= float(adv.min()) and float(adv.max()) <= 1
        hit_pgd = np.mean(np.asarray(A.predictions(params, adv_pgd)) == np.asarray(targets))
        hit_fgsm = np.mean(np.asarray(A.predictions(params, adv_fgsm)) == np.asarray(targets))
        assert hit_pgd >= hit_fgsm


# ------------------------------------------------------------------ the paper table and the words


def test_published_numbers_are_those_of_the_references():
    rows = {(r.model, r.attack): r for r in A.PUBLISHED}
    assert rows[("shallow softmax classifier", "FGSM")].error_rate == 0.999
    assert rows[("shallow softmax classifier", "FGSM")].mean_confidence == 0.793
    assert rows[("maxout network", "FGSM")].error_rate == 0.894
    assert rows[("maxout network", "FGSM")].mean_confidence == 0.976
    assert rows[("naturally trained CNN", "FGSM")].accuracy == 0.064
    assert rows[("adversarially trained CNN", "PGD")].accuracy == 0.893
    assert all(r.source and r.setting and r.eps in (0.25, 0.3) for r in A.PUBLISHED)


def test_paper_table_matches_an_independent_count(attack_case):
    params, x, labels, _ = attack_case
    rows = A.paper_table(params, x, labels, (0.1, 0.25), key=jax.random.key(0), pgd_steps=5)
    assert [r["attack"] for r in rows] == ["clean", "FGSM", "FGSM", "PGD"]
    assert rows[0]["error_rate"] == 0.0  # labels are the clean predictions here
    adv = np.asarray(A.fgsm(A.as_model_fn(params), x, labels, 0.25))
    logits = _numpy_logits(params, adv)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    wrong = probs.argmax(1) != np.asarray(labels)
    assert rows[2]["error_rate"] == pytest.approx(wrong.mean())
    assert rows[2]["mean_confidence"] == pytest.approx(probs.max(1)[wrong].mean(), rel=1e-4)
    assert rows[2]["accuracy"] == pytest.approx(1 - wrong.mean())


def test_story_follows_the_numbers():
    common = dict(source_label="Effective weights", target=0, norm="linf", eps=0.5,
                  random_untargeted=0.06, image_flipped=True, image_confidence=0.97, image_min_eps=0.31)
    good = " ".join(words.story(overlay_rate=0.7, random_rate=0.001, **common))
    assert "direction matters" in good and "70.0%" in good and "0.1%" in good and "97.0%" in good
    bad = " ".join(words.story(overlay_rate=0.01, random_rate=0.02, **common))
    assert "does not fit the story" in bad and "direction matters" not in bad
    lukewarm = " ".join(words.story(overlay_rate=0.05, random_rate=0.02, **common))
    assert "not by the wide margin" in lukewarm
    never = " ".join(words.story(overlay_rate=0.7, random_rate=0.0, **{**common, "image_flipped": False,
                                                                    "image_min_eps": math.inf}))
    assert "does not make the network answer 0" in never and "No ε" in never


def test_comparison_sentences_follow_the_numbers():
    def row(eps, overlay, pgd, random, fgsm=0.1):
        return {"norm": "linf", "eps": eps, "overlay": overlay, "overlay_sign": overlay / 2, "fgsm": fgsm,
                "pgd": pgd, "random": random}

    usual = " ".join(words.comparison_sentences([row(0.1, 0.2, 0.9, 0.0), row(0.3, 0.6, 1.0, 0.01)], "linf", 0))
    assert "tailored to each image do at least as well" in usual and "stays far below" in usual
    assert "20.0%, 60.0%" in usual and "FGSM, a single" not in usual and "barely works" not in usual
    odd = " ".join(words.comparison_sentences([row(0.1, 0.2, 0.9, 0.15), row(0.3, 0.6, 0.5, 0.01)], "linf", 0))
    assert "Unexpectedly" in odd and "ε = 0.3" in odd and "does not fit the story there" in odd
    weak = " ".join(words.comparison_sentences([row(0.1, 0.01, 0.9, 0.0, fgsm=0.15), row(0.3, 0.6, 1.0, 0.0)],
                                           "linf", 0))
    assert "barely works" in weak and "ε = 0.1 the overlay" in weak
    assert "beats both fixed patterns at ε = 0.1." in weak and "stays far below" in weak
    assert words.comparison_sentences([row(0.1, 0.2, 0.9, 0.0)], "l2", 0) == []


# ------------------------------------------------------------------ on the default trained run, real MNIST
# Figures measured on the default run (97.8% test accuracy) when these tests were written; the thresholds
# leave room for retraining with another seed but not for the effect to disappear.


@pytest.fixture(scope="module")
def real(mnist, trained_run):
    params = trained_run.final_params
    x = model.to_pixels(mnist.test_images)
    y = mnist.test_labels.astype(np.int32)
    return params, x, y, np.asarray(A.predictions(params, x))


def test_the_seeds_trick_turns_the_default_7_into_a_0(real):
    params, x, y, clean = real
    i = A.first_correct(y, clean, 7)
    assert i == 0  # test image #0 is a 7, and the network gets it right
    pattern = A.pattern_for(params, x[i:i + 1], 0)  # output neuron 0's effective weights
    probs = np.asarray(A.probabilities(params, A.overlay(x[i:i + 1], pattern, 0.8, "linf")))[0]
    assert probs.argmax() == 0 and probs[0] >= 0.95  # measured: P(0) = 0.9997 at L-inf eps 0.8
    eps = float(A.minimal_eps(params, x[i:i + 1], pattern, 0, 1.0, "linf")[0])
    assert 0.3 < eps < 0.8  # measured: 0.557
    below = np.asarray(A.predictions(params, A.overlay(x[i:i + 1], pattern, eps - 1e-3, "linf")))[0]
    assert below != 0
    # Random patterns of the same L-inf norm at the same eps never make it a 0 (16 draws). They are
    # not harmless: measured, 2 of the 16 draws turn this 7 into a 2 or a 3.
    randoms = A.random_pattern(jax.random.key(0), jnp.broadcast_to(pattern, (16, 784)), "linf")
    control = np.asarray(A.predictions(params, A.overlay(np.repeat(x[i:i + 1], 16, 0), randoms, 0.8, "linf")))
    assert (control != 0).all() and (control == 7).mean() >= 0.75


def test_over_the_test_set_the_overlay_beats_random_noise_of_the_same_norm(real):
    params, x, y, clean = real
    eps_grid = (0.2, 0.5, 0.8)
    sweep = A.source_sweep(params, x, "effective_weights", "linf", eps_grid)
    control = A.control_sweep(params, x, "gaussian", "linf", eps_grid, key=jax.random.key(1))
    summary = A.summarise(sweep, control, y, clean)
    # Measured at 0.2 / 0.5 / 0.8: overlay 14% / 69% / 91%, random 0.1% / 0.7% / 3.0%.
    assert summary.success[2] >= 0.8
    assert summary.control_success[2] <= 0.1
    assert (summary.success >= 10 * summary.control_success).all()
    assert summary.median_confidence[2] >= 0.99  # the flipped images are flipped confidently
    # 7 -> 0 over all correctly classified 7s at 0.8: measured 75%; 6 -> 0 is the hardest pair (7%).
    assert summary.matrices[2][7, 0] >= 0.5
    # The fast route against the overlay built and classified directly, on 300 images.
    direct = np.asarray(A.predictions(params, A.overlay(x[:300], A.pattern_for(params, x, 3), 0.5, "linf")))
    np.testing.assert_array_equal(sweep.predictions[1, 3, :300], direct)


def test_fgsm_on_the_trained_run_matches_foolbox_and_the_paper_table(real):
    params, x, y, _ = real
    xs, ys = jnp.asarray(x[:500]), jnp.asarray(y[:500])
    raw, _, _ = fb.attacks.FGSM()(_foolbox_model(params), xs, ys, epsilons=0.25)
    ours = A.fgsm(A.as_model_fn(params), xs, ys, 0.25)
    # Where the network is sure (P(label) >= 0.9999; 264 of these 500 images) the gradient is ~1e-8 and the
    # label's own term 1 - P(label) is float32 rounding, so the signs of many pixels are decided by rounding
    # in either library (measured: 96.4% of those pixels agree, up to 39% of one image differ). Elsewhere the
    # two must agree; measured 100%.
    sure = np.asarray(A.probabilities(params, xs))[np.arange(500), y[:500]] >= 0.9999
    _agree(np.asarray(ours)[~sure], np.asarray(raw)[~sure], share=0.999)
    same = np.asarray(A.predictions(params, ours)) == np.asarray(A.predictions(params, raw))
    assert same.mean() >= 0.95  # measured 97.2%
    rows = {(r["attack"], r["eps"]): r for r in A.paper_table(params, x, y, (0.1, 0.25), key=jax.random.key(3))}
    # Measured: FGSM 0.25 error 99.0% with mean confidence 93.7% (Goodfellow et al.: 99.9% / 79.3% for a
    # shallow softmax, 89.4% / 97.6% for maxout); PGD-40 at 0.3 error 100%.
    assert rows[("FGSM", 0.25)]["error_rate"] >= 0.9
    assert rows[("FGSM", 0.25)]["mean_confidence"] >= 0.8
    assert rows[("FGSM", 0.1)]["error_rate"] < rows[("FGSM", 0.25)]["error_rate"]
    assert rows[("PGD", 0.3)]["error_rate"] >= 0.99
    assert rows[("clean", 0.0)]["error_rate"] <= 0.03


# ------------------------------------------------------------------ figures


def test_figures_are_valid_plotly_and_use_the_house_colour_scales():
    import plotly.graph_objects as go

    from advx.figures import attacks as F

    rng = np.random.default_rng(0)
    image, pattern = rng.uniform(0, 1, 784), rng.standard_normal(784)
    matrix = rng.uniform(0, 1, (10, 10))
    np.fill_diagonal(matrix, np.nan)
    rows = [{"norm": n, "eps": eps, "overlay": 0.1, "overlay_sign": 0.2, "random": 0.0, "fgsm": 0.3, "pgd": 0.9}
            for n in A.NORMS for eps in A.COMPARISON_EPS[n]]
    figures = [
        *F.overlay_panels(image, pattern, image, ["a", "b", "c"]),
        F.probability_bars(np.full(10, 0.1), np.eye(10)[3], 3, 7),
        F.eps_curve(A.EPS_GRID["linf"], np.linspace(0, 1, 25), np.zeros(25), np.zeros(25), target=3,
                         norm_label="L∞", current=0.4, minimal=0.31),
        F.eps_curve(A.EPS_GRID["l2"], np.zeros(25), np.zeros(25), np.zeros(25), target=3, norm_label="L2",
                         current=0.32, minimal=math.inf),
        F.success_matrix(matrix, title="m"),
        F.confidence_histogram(np.arange(20), np.linspace(0, 1, 21), title="h"),
        F.confidence_histogram(np.zeros(20, int), np.linspace(0, 1, 21), title="h"),
        F.comparison(rows, target=0, norm="linf"),
        F.comparison(rows, target=0, norm="l2"),
    ]
    for fig in figures:
        go.Figure(fig.to_dict())  # full validation raises on any invalid property
    original, signed = figures[0].to_dict(), figures[1].to_dict()  # the image panels: pixels, then the pattern
    assert signed["layout"]["coloraxis"]["cmid"] == 0
    assert signed["layout"]["coloraxis"]["cmin"] == -signed["layout"]["coloraxis"]["cmax"]
    ours = signed["layout"]["coloraxis"]["colorscale"]
    reference = go.Figure(layout=dict(coloraxis=dict(colorscale="RdBu_r"))).to_dict()["layout"]["coloraxis"]["colorscale"]
    assert [c for _, c in ours] == [c for _, c in reference]
    np.testing.assert_allclose([v for v, _ in ours], [v for v, _ in reference])
    assert original["layout"]["coloraxis"]["cmin"] == 0 and original["layout"]["coloraxis"]["cmax"] == 1
    # Explicit scales (a bare name would reach plotly.js unvalidated): pixel 0 is white, 1 black.
    assert original["layout"]["coloraxis"]["colorscale"][0][1] == "rgb(255,255,255)"
    assert original["layout"]["coloraxis"]["colorscale"][-1][1] == "rgb(0,0,0)"
    matrix_fig = figures[6].to_dict()  # after the three panels, the bars and the two ε curves
    assert not isinstance(matrix_fig["data"][0]["colorscale"], str)
    np.testing.assert_allclose(np.asarray(signed["data"][0]["z"]), pattern.reshape(28, 28), atol=1e-4)
    assert [f.to_dict()["layout"]["title"]["text"] for f in figures[:3]] == ["a", "b", "c"]
    assert matrix_fig["data"][0]["z"][4][4] is None
    assert matrix_fig["data"][0]["text"][2][5] == f"{100 * matrix[2, 5]:.0f}"
    assert len(figures[-1].to_dict()["data"]) == 5  # five methods
    assert len(figures[5].to_dict()["layout"]["shapes"]) == 1  # no flip: no minimal-eps marker
