"""The robustness measures (``advx.robust``): on hand-made models whose answers are known, then on the real
standard and robust networks (the default robust run is trained once, then loaded from the run store)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import attacks, robust
from advx.neurons import high_frequency_share, pixel_correlation, roughness
from advx.subspace import fit_subspace
from advx.text import robust as words

N_PIXELS = 784


# --------------------------------------------------------------------------------------------
# A linear model written as the library's network: Layer_1 is the identity with bias 1 (so every ReLU is on
# for pixels in [0, 1]) and the output layer holds W, so logits = x @ W + b exactly and the effective
# weights, the local Jacobian of logit c at any image and the output kernel are all W[:, c].


def linear_params(w: np.ndarray, b: np.ndarray) -> dict:
    w = jnp.asarray(w, jnp.float32)
    return {"Layer_1": {"kernel": jnp.eye(N_PIXELS, dtype=jnp.float32), "bias": jnp.ones(N_PIXELS, jnp.float32)},
            "output": {"kernel": w, "bias": jnp.asarray(b, jnp.float32) - w.sum(axis=0)}}


@pytest.fixture(scope="module")
def two_class():
    """Only classes 0 and 1 can win (the others have a bias of -100), and logit 0 - logit 1 = (x - 0.5) . d; pixels
    in [0.1, 0.9], so no attack of the sizes used (L-inf about 0.01) reaches the pixel range's edge. The smallest
    eps that flips image i is known exactly: margin_i / ||d||_1 in L-inf, margin_i / ||d||_2 in L2, and the
    margins spread from 0 to about three times their median."""
    rng = np.random.default_rng(0)
    direction = rng.normal(size=N_PIXELS).astype(np.float32)
    w = np.zeros((N_PIXELS, 10), np.float32)
    w[:, 0], w[:, 1] = direction / 2, -direction / 2
    b = np.full(10, -100.0, np.float32)
    b[0], b[1] = -0.25 * direction.sum(), 0.25 * direction.sum()
    x = (0.5 + rng.uniform(-0.4, 0.4, size=(300, N_PIXELS))).astype(np.float32)
    logits = x @ w + b
    labels = np.argmax(logits, axis=1).astype(np.int32)
    margin = np.abs(logits[:, 0] - logits[:, 1])
    need = {"linf": margin / np.abs(direction).sum(), "l2": margin / np.linalg.norm(direction)}
    return linear_params(w, b), x, labels, need


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_with_restarts_finds_exactly_the_images_within_reach(two_class, norm):
    params, x, labels, need = two_class
    eps = float(np.median(need[norm]))
    (correct,) = robust.pgd_correct(attacks.as_model_fn(params), x, labels, eps, jax.random.PRNGKey(0), norm=norm)
    clear = np.abs(need[norm] - eps) > 0.02 * eps  # leave out the images on the boundary itself
    assert clear.sum() > 200
    np.testing.assert_array_equal(correct[clear], need[norm][clear] > eps)
    assert robust.robust_accuracy(attacks.as_model_fn(params), x, labels, eps, jax.random.PRNGKey(0),
                                  norm=norm) == pytest.approx(correct.mean())


def test_a_transfer_attack_is_scored_on_the_judged_model(two_class):
    """Examples made on the linear model, judged on a model that ignores the input: it stays correct."""
    params, x, labels, need = two_class
    constant = linear_params(np.zeros((N_PIXELS, 10), np.float32), np.eye(10, dtype=np.float32)[0] * 5)
    eps = float(np.median(need["linf"]))
    white, transfer = robust.pgd_correct(attacks.as_model_fn(params), x, labels, eps, jax.random.PRNGKey(0),
                                         judged_fns=(attacks.as_model_fn(params), attacks.as_model_fn(constant)))
    assert white.mean() < 0.6
    np.testing.assert_array_equal(transfer, labels == 0)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_the_random_search_stays_in_the_ball_and_fools_what_is_easy(two_class, norm):
    """Never fools an image out of reach (a hard guarantee of the projection); fools what is easy. Measured with
    1000 queries against this noise-like direction (the search's worst case: one sign per window): every image that
    needs up to 0.60 eps in L-inf and 0.32 eps in L2 is fooled (PGD: up to 0.996 eps). Asserted: 0.5 and 0.25."""
    params, x, labels, need = two_class
    eps = float(np.median(need[norm]))
    examples, margins = robust.square_search(attacks.as_model_fn(params), x, labels, eps, jax.random.PRNGKey(1),
                                             norm=norm, queries=1000)
    size = attacks.threat(norm).norm(jnp.asarray(examples - x))
    assert float(size.max()) <= eps * (1 + 1e-5) and examples.min() >= 0 and examples.max() <= 1
    fooled = margins < 0
    assert not fooled[need[norm] > eps * 1.001].any()
    easy = need[norm] <= eps * {"linf": 0.5, "l2": 0.25}[norm]
    assert easy.sum() >= 40 and fooled[easy].all()
    logits = np.asarray(attacks.as_model_fn(params)(jnp.asarray(examples)))
    np.testing.assert_allclose(margins, np.asarray(robust.margin(jnp.asarray(logits), jnp.asarray(labels))),
                               rtol=1e-4, atol=1e-4)


def test_the_margin_and_the_window_schedule():
    logits = jnp.asarray([[3.0, 1.0, 2.0], [0.0, 4.0, 1.0]])
    labels = jnp.asarray([0, 0])
    np.testing.assert_allclose(np.asarray(robust.margin(jnp.pad(logits, ((0, 0), (0, 7)), constant_values=-9),
                                                        labels)), [1.0, -4.0])
    from advx.robust.search import window_share

    assert float(window_share(0, 10000)) == pytest.approx(0.8)
    assert float(window_share(10, 10000)) == pytest.approx(0.4)
    assert float(window_share(100, 1000)) == pytest.approx(0.8 / 2**5)  # 1000 of 10,000: 10, 50, 200, 500, 1000


@pytest.mark.skipif(not robust.foolbox_available(), reason="Foolbox is a test requirement")
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_foolbox_pgd_agrees_with_the_known_answer(two_class, norm):
    """Foolbox's own steps (0.033 eps in L-inf, 0.025 eps in L2, 40 of them from its random start). Measured: every
    image that needs up to 0.89 eps (L-inf) or 0.77 eps (L2) is fooled. Asserted: half of eps; none out of reach."""
    params, x, labels, need = two_class
    eps = float(np.median(need[norm]))
    correct = robust.foolbox_pgd_correct(params, x, labels, eps, norm=norm)
    assert (need[norm] <= eps / 2).sum() >= 40 and not correct[need[norm] <= eps / 2].any()
    assert correct[need[norm] > eps * 1.001].all()


def test_the_worst_case_is_correct_under_every_attack_that_ran():
    t, f = np.array([True, True, False, True]), np.array([True, False, True, True])
    found = robust.AttackResults(clean=np.ones(4, bool), pgd=t, transfer=None, square=f, foolbox=None)
    np.testing.assert_array_equal(found.worst, t & f)
    acc = found.accuracies()
    assert acc["worst"] == 0.5 and np.isnan(acc["transfer"]) and acc["pgd"] == 0.75
    assert acc["worst"] <= min(v for v in acc.values() if np.isfinite(v))


# --------------------------------------------------------------------------------------------
# Maps, subspace and sparsity on hand-made models


def test_maps_of_a_linear_model_are_its_weights(mnist):
    """With W = the class averages (scaled), the effective weights and every local Jacobian are the class average itself
    (correlation 1, its own high-frequency share); the input gradient is W[:, y] - sum_k p_k W[:, k]."""
    averages = robust.class_averages(mnist.train_images[:5000], mnist.train_labels[:5000])
    w = 0.02 * averages.T  # small logits: the softmax is not saturated, so the input gradient is well above rounding
    params = linear_params(w, np.zeros(10, np.float32))
    images = mnist.test_images[:40].reshape(40, -1)
    labels = np.asarray(mnist.test_labels[:40], np.int32)
    scores = robust.map_scores(params, images, labels, averages)
    own_hf = np.asarray(high_frequency_share(jnp.asarray(averages.T)), np.float64)
    np.testing.assert_allclose(scores["effective_weights"][0], own_hf, rtol=1e-5)
    np.testing.assert_allclose(scores["effective_weights"][2], 1.0, atol=1e-5)
    np.testing.assert_allclose(scores["local_jacobian"][0], own_hf[labels], rtol=1e-5)
    np.testing.assert_allclose(scores["local_jacobian"][2], 1.0, atol=1e-5)
    np.testing.assert_allclose(scores["local_jacobian"][3], scores["effective_weights"][3][labels], atol=1e-5)
    x = images.astype(np.float32) / 255
    logits = x @ w
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = w.T[labels] - p @ w.T  # (n, 784)
    centred = averages - averages.mean(0)
    np.testing.assert_allclose(scores["input_gradient"][1], np.asarray(roughness(jnp.asarray(expected.T))), rtol=1e-3)
    np.testing.assert_allclose(scores["input_gradient"][3], np.asarray(pixel_correlation(
        jnp.asarray(expected.T), jnp.asarray(centred[labels].T))), atol=1e-4)
    medians = robust.map_measures(params, images, labels, averages)
    assert medians.correlation[0] == pytest.approx(1.0, abs=1e-5)
    by_epoch = robust.map_measures_by_epoch([params, params, params], images, labels, averages)
    assert by_epoch.high_frequency.shape == (3, 3)
    np.testing.assert_allclose(by_epoch.roughness[2], medians.roughness)


def test_class_averages_are_the_mean_image_of_each_class():
    images = np.zeros((4, 28, 28), np.uint8)
    images[0, 0, 0], images[1, 0, 0], images[2, 5, 5] = 255, 51, 255
    averages = robust.class_averages(images, np.array([3, 3, 7, 7]))
    assert averages.shape == (10, 784) and averages[3, 0] == pytest.approx(0.6) and averages[7, 5 * 28 + 5] == 0.5
    assert not averages[0].any()


def test_subspace_shares_of_weights_inside_and_outside_a_known_subspace():
    """Images that live on the first 100 pixels: weights there are all inside; ΔW1 from weights elsewhere is
    inside in the share of its energy that is new."""
    rng = np.random.default_rng(0)
    images = np.zeros((500, N_PIXELS), np.float32)
    images[:, :100] = rng.uniform(size=(500, 100))
    sub = fit_subspace(images)
    w_in = np.zeros((N_PIXELS, 8), np.float32)
    w_in[:100] = rng.normal(size=(100, 8))
    w_out = np.zeros((N_PIXELS, 8), np.float32)
    w_out[100:200] = rng.normal(size=(100, 8))

    def params(w1):
        return {"Layer_1": {"kernel": jnp.asarray(w1), "bias": jnp.zeros(8)},
                "Layer_2": {"kernel": jnp.asarray(rng.normal(size=(8, 8)), jnp.float32), "bias": jnp.zeros(8)},
                "output": {"kernel": jnp.asarray(rng.normal(size=(8, 10)), jnp.float32), "bias": jnp.zeros(10)}}

    shares = robust.subspace_shares(sub, params(w_in), params(w_out), k=100)
    np.testing.assert_allclose(shares.effective, 1.0, atol=1e-5)
    expected = (w_in**2).sum() / ((w_in**2).sum() + (w_out**2).sum())
    assert shares.delta_w1 == pytest.approx(expected, rel=1e-4)
    assert shares.random == pytest.approx(100 / 784) and shares.k == 100
    assert robust.subspace_shares(sub, params(w_out), k=100).effective[0] == pytest.approx(0.0, abs=1e-6)
    assert np.isnan(robust.subspace_shares(sub, params(w_out), k=100).delta_w1)


def test_sparsity_counts_of_a_network_that_copies_two_pixels():
    """Layer_1 neuron 0 copies pixel 0 and neuron 1 pixel 1; both reach 1 on the reference images. An image with
    pixel 0 at 0.6 (>= half the largest: high) and pixel 1 at 0.2 (>= a tenth: mild) has one of each."""
    kernel = np.zeros((N_PIXELS, 2), np.float32)
    kernel[0, 0] = kernel[1, 1] = 1.0
    params = {"Layer_1": {"kernel": jnp.asarray(kernel), "bias": jnp.zeros(2)},
              "output": {"kernel": jnp.ones((2, 10)), "bias": jnp.zeros(10)}}
    reference = np.zeros((2, N_PIXELS), np.float32)
    reference[0, :2] = 1.0
    images = np.zeros((3, N_PIXELS), np.float32)
    images[:, 0], images[:, 1] = 0.6, 0.2
    counts = robust.sparsity_counts(params, images, reference)
    np.testing.assert_array_equal(counts.high, [1.0])
    np.testing.assert_array_equal(counts.mild, [1.0])


# --------------------------------------------------------------------------------------------
# The words, on comparisons made by hand


def _comparison(effective_hf: float, jacobian_hf: float, square_at_01: float = 0.8) -> robust.RobustComparison:
    hf = np.full((2, 3, 3), np.nan)
    hf[:, 0] = 0.81
    hf[0, 1:] = 0.4
    hf[1, 1:] = [effective_hf, jacobian_hf, jacobian_hf]
    corr = np.where(np.isnan(hf), np.nan, 0.3)
    linf = np.full((2, 5, 2), np.nan)
    linf[:, 0] = [[0.1, 0.0], [0.8, 0.3]]  # PGD
    linf[1, 2] = [square_at_01, 0.3]  # the search
    linf[:, 4] = np.minimum(linf[:, 0], np.nan_to_num(linf[:, 2], nan=1))
    return robust.RobustComparison(
        n_images=100, map_images=50, pgd_steps=40, restarts=3, queries=1000, linf_eps=np.array([0.1, 0.3]),
        l2_eps=np.array([1.0, 2.0]), clean_accuracy=np.array([0.98, 0.97]), linf_accuracy=linf,
        l2_accuracy=np.full((2, 5, 2), 0.5), epochs=np.array([2, 2]), map_high_frequency=hf, map_roughness=hf * 2,
        map_correlation=corr, map_correlation_centred=corr, subspace_k=103, effective_inside=np.full((2, 3), 0.5),
        delta_w1_inside=np.array([0.4, 0.8]), random_inside=103 / 784, overlay_eps=np.array([0.2, 0.32, 1.0]),
        overlay_success=np.array([[0.2, 0.46, 0.97], [0.0, 0.01, 0.22]]), overlay_control=np.zeros((2, 3)),
        high_per_image=np.array([[2.3, 3.4], [4.6, 5.8]]), mild_per_image=np.array([[23.4, 27.9], [27.4, 28.7]]))


def test_the_finding_is_named_only_when_the_numbers_show_it():
    finding = " ".join(words.maps_finding(_comparison(effective_hf=0.6, jacobian_hf=0.05)))
    assert "That is the finding" in finding and "noise-like" in finding and "ReLU" in finding
    both = " ".join(words.maps_finding(_comparison(effective_hf=0.06, jacobian_hf=0.06)))
    assert "That is the finding" not in both and "effective weights themselves" in both
    neither = " ".join(words.maps_finding(_comparison(effective_hf=0.6, jacobian_hf=0.6)))
    assert "did not turn either" in neither
    assert words.character(0.8) == "noise-like" and words.character(0.1) == "digit-like"
    assert "0.40 at initialisation" not in words.epochs_sentence(_comparison(0.06, 0.06))


def test_masking_is_reported_when_another_attack_beats_pgd():
    assert words.masking_sentence(_comparison(0.06, 0.06, square_at_01=0.7)).startswith("Sign of gradient masking")
    sentence = words.masking_sentence(_comparison(0.06, 0.06, square_at_01=0.79))
    # Foolbox's PGD, absent from the app, is said once, in ``foolbox_note``, not in each norm's sentence
    assert sentence.startswith("No sign") and "Foolbox's PGD" not in sentence


def test_every_sentence_carries_the_numbers():
    c = _comparison(0.06, 0.06)
    text = " ".join(words.accuracy_sentences(c)) + words.overlay_sentence(c) + words.subspace_sentence(c) + \
        words.sparsity_sentence(c)
    for figure in ("98.0%", "80.0%", "46.0%", "1.0%", "top-103", "80.0%", "4.6", "28.7"):
        assert figure in text
    rows = words.comparison_rows(c)
    assert {"measure", "setting", "book-smart", "street-smart"} == set(rows[0]) and len(rows) > 30


def test_published_figures_say_which_need_verifying():
    rows = words.published_rows()
    assert all(r["ε (L∞)"] == 0.3 for r in rows)
    marked = {r["accuracy"] for r in rows if r["note"] == words.SECOND_HAND}
    assert marked == {0.9252, 0.8962, 0.88, 0.893}
    assert {r["accuracy"] for r in rows} - marked == {0.9354, 0.9779, 0.9766}


# --------------------------------------------------------------------------------------------
# Integration on real MNIST: the post's network against the default robust run


@pytest.fixture(scope="module")
def test_set(mnist):
    return (np.asarray(mnist.test_images[:500].reshape(500, -1), np.float32) / 255,
            np.asarray(mnist.test_labels[:500], np.int32))


def test_the_default_robust_run_trains_well(robust_run, trained_run):
    """Measured: test accuracy 97.28% (standard 97.79%) after 10 epochs."""
    assert robust_run.config.adversarial and robust_run.n_epochs == robust.DEFAULT_ROBUST.epochs
    assert robust_run.test_accuracy >= 0.96
    assert trained_run.test_accuracy - robust_run.test_accuracy <= 0.02


def test_robust_accuracy_at_the_training_eps_is_far_above_the_standard_networks(robust_run, trained_run, test_set):
    """PGD-40, 3 restarts, L-inf 0.1, 500 test images. Measured: standard 0.8%, robust 81.6%."""
    x, y = test_set
    eps = robust.DEFAULT_ROBUST.adversarial_eps
    standard = robust.robust_accuracy(attacks.as_model_fn(trained_run.final_params), x, y, eps, jax.random.PRNGKey(0))
    robust_acc = robust.robust_accuracy(attacks.as_model_fn(robust_run.final_params), x, y, eps, jax.random.PRNGKey(0))
    assert standard <= 0.05 and robust_acc >= 0.75


def test_no_attack_that_ignores_the_gradients_beats_pgd_on_the_robust_network(robust_run, trained_run, test_set):
    """At L-inf 0.1 on 500 images. Measured: PGD 81.6%, transfer 93.2%, search 82.6%, Foolbox 83.4%, worst 81.6%.
    Asserted: none more than 3 points below PGD (gradient masking would show as one far below)."""
    x, y = test_set
    found = robust.attack_results(robust_run.final_params, x, y, 0.1, jax.random.PRNGKey(0),
                                  source_params=trained_run.final_params).accuracies()
    for name in ("transfer", "square", "foolbox"):
        if np.isfinite(found[name]):
            assert found[name] >= found["pgd"] - 0.03, (name, found)
    assert found["worst"] >= 0.75


def test_the_seeds_overlay_stops_working_on_the_robust_network(robust_run, trained_run, test_set):
    """The overlay page's L-inf grid. Measured at eps 0.32: standard 45.8%, robust 0.6%; at eps 1: 97.1% and 22.0%."""
    x, y = test_set
    standard = robust.overlay_summary(trained_run.final_params, x, y, jax.random.PRNGKey(0))
    robust_summary = robust.overlay_summary(robust_run.final_params, x, y, jax.random.PRNGKey(0))
    at = int(np.argmin(np.abs(standard.eps_grid - 0.32)))
    assert standard.success[at] >= 0.3 and robust_summary.success[at] <= 0.05
    assert (robust_summary.success <= standard.success + 1e-9).all()


def test_the_robust_networks_maps_are_more_digit_like(robust_run, trained_run, mnist, test_set):
    """200 test images, medians at the last epoch. Measured high-frequency share, standard / robust: effective
    weights 0.37 / 0.064, local Jacobians 0.34 / 0.060, input gradients 0.34 / 0.068 (ratios 5-6); correlation with
    the centred class average: 0.29 / 0.68, 0.27 / 0.55, 0.21 / 0.48 (ratios 2.0-2.3). Asserted: ratios >= 3 and
    >= 1.5 for every kind."""
    x, y = test_set
    averages = robust.class_averages(mnist.train_images, mnist.train_labels)
    standard = robust.map_measures(trained_run.final_params, x[:200], y[:200], averages)
    robust_maps = robust.map_measures(robust_run.final_params, x[:200], y[:200], averages)
    assert (standard.high_frequency >= 3 * robust_maps.high_frequency).all()
    assert (robust_maps.correlation_centred >= 1.5 * standard.correlation_centred).all()


def test_the_robust_networks_weights_live_in_the_data_subspace(robust_run, trained_run, mnist):
    """Top-103 subspace (95% of the images' energy). Measured, standard → robust: effective weights 42/35/27% →
    94/96/95%; ΔW1 44% → 78%."""
    from advx import experiments as E

    sub = E.data_subspace(mnist)
    standard = robust.subspace_shares(sub, trained_run.final_params, trained_run.init_params)
    robust_shares = robust.subspace_shares(sub, robust_run.final_params, robust_run.init_params)
    assert (standard.effective <= 0.6).all() and (robust_shares.effective >= 0.85).all()
    assert robust_shares.delta_w1 >= standard.delta_w1 + 0.2


def test_the_whole_comparison_is_kept_and_read_back(robust_run, trained_run, mnist, tmp_path, monkeypatch):
    """A shrunken comparison (100 images, one eps per norm, 1 restart, 100 queries): shapes, the kept copy, words."""
    from experiment_support import kept

    from advx import experiments as E
    from advx.experiments.spec import tuple_codec

    sub = E.data_subspace(mnist)
    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))

    def compute():
        return robust.compare_runs(trained_run, robust_run, mnist, sub=sub, n_images=100, map_images=50, restarts=1,
                                   queries=100, linf_eps=(0.1,), l2_eps=(1.0,))

    settings = {"standard": trained_run.run_id, "n_images": 100}
    codec = tuple_codec(robust.RobustComparison)
    first = kept("robust", robust_run, settings, compute, codec).get()
    again = kept("robust", robust_run, settings, lambda: 1 / 0, codec).get()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert first.linf_accuracy.shape == (2, 5, 1) and first.map_high_frequency.shape == (2, 16, 3)
    assert np.isnan(first.map_high_frequency[1, 11:]).all() and np.isfinite(first.map_high_frequency[0]).all()
    assert np.isnan(first.linf_accuracy[0, 2]).all() and np.isfinite(first.linf_accuracy[1, 2]).all()
    assert first.overlay_success.shape == (2, 25) and first.high_per_image.shape == (2, 2)
    for sentence in words.accuracy_sentences(first) + words.maps_finding(first):
        assert sentence
