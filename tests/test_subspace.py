"""The data subspace: projections, energies, blank pixels, what optimizers change, the counterfactual.

Unit tests run on small hand-made image sets and are cross-checked against numpy.linalg; the
integration tests at the end use real MNIST and the trained runs from the store.
"""

from __future__ import annotations

import functools
import logging

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from advx import attacks as A
from advx import experiments as E
from advx import subspace as S
from advx.config import TrainConfig
from advx.model import forward, init_params
from advx.text import subspace as words

# --------------------------------------------------------------------------------------------
# Hand-made data


def _low_rank_images(n=60, rank=5, seed=0, blank_rows=(0, 1, 26, 27)):
    """``(n, 784)`` float32 images that are non-negative mixes of ``rank`` patterns, with some rows blank."""
    rng = np.random.default_rng(seed)
    patterns = rng.random((rank, 28, 28)).astype(np.float32)
    patterns[:, list(blank_rows), :] = 0.0
    mix = rng.random((n, rank)).astype(np.float32)
    return (mix @ patterns.reshape(rank, -1)) / rank, patterns.reshape(rank, -1)


def _full_images(n=900, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784)).astype(np.float32) ** 3
    x[:, :30] = 0.0  # blank
    return x


@functools.lru_cache(maxsize=2)
def _svd_of_full_images(centred: bool) -> tuple[np.ndarray, np.ndarray]:
    """Singular values and right singular vectors of ``_full_images()`` by numpy: an independent route."""
    x = _full_images().astype(np.float64)
    if centred:
        x = x - x.mean(0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    return s, vt


def _projector_numpy(k: int, centred: bool) -> np.ndarray:
    """The top-k principal projector of ``_full_images()`` by numpy's SVD."""
    vt = _svd_of_full_images(centred)[1]
    return vt[:k].T @ vt[:k]


# --------------------------------------------------------------------------------------------
# Blank pixels


def test_blank_mask_on_hand_made_uint8_images():
    images = np.zeros((3, 28, 28), np.uint8)
    images[0, 5, 5] = 1
    images[1, 5, 6] = 255
    images[2, 27, 27] = 7
    blank = S.blank_pixels(images)
    assert blank.shape == (784,) and blank.dtype == bool
    assert set(np.flatnonzero(~blank)) == {5 * 28 + 5, 5 * 28 + 6, 27 * 28 + 27}
    # the same on float (n, 784) input; a tiny negative value is not blank
    flat = images.reshape(3, -1).astype(np.float32) / 255
    flat[0, 0] = -1e-9
    assert set(np.flatnonzero(~S.blank_pixels(flat))) == {0, 5 * 28 + 5, 5 * 28 + 6, 27 * 28 + 27}


def test_blank_mask_rejects_bad_shapes():
    with pytest.raises(S.SubspaceError, match="784 pixels"):
        S.blank_pixels(np.zeros((2, 10, 10)))
    with pytest.raises(S.SubspaceError, match="non-empty"):
        S.blank_pixels(np.zeros((0, 784)))


# --------------------------------------------------------------------------------------------
# The subspace


@pytest.mark.parametrize("centred", [False, True])
def test_subspace_matches_numpy_svd(centred):
    x = _full_images()
    sub = S.fit_subspace(x, centred=centred)
    basis = sub.basis.astype(np.float64)
    np.testing.assert_allclose(basis.T @ basis, np.eye(784), atol=1e-5)
    # energies are the squared singular values / n, in decreasing order
    s = _svd_of_full_images(centred)[0]
    np.testing.assert_allclose(sub.energies[:20], s[:20] ** 2 / len(x), rtol=1e-4)
    np.testing.assert_allclose(sub.explained[-1], 1.0)
    np.testing.assert_allclose(sub.explained[9], (s[:10] ** 2).sum() / (s**2).sum(), rtol=1e-5)
    for k in (1, 10, 200):
        np.testing.assert_allclose(basis[:, :k] @ basis[:, :k].T, _projector_numpy(k, centred), atol=2e-4)


def test_blank_pixels_sit_at_the_end_of_the_basis():
    x = _full_images()
    sub = S.fit_subspace(x)
    assert sub.blank[:30].all() and not sub.blank[30:].any()
    assert sub.n_nonblank == 754
    assert np.all(sub.basis[:30, :754] == 0.0)  # exactly zero, for every k up to n_nonblank
    np.testing.assert_array_equal(sub.energies[754:], 0.0)
    np.testing.assert_array_equal(np.abs(sub.basis[:30, 754:]), np.eye(30))


def test_k_for_variance_levels():
    x, _ = _low_rank_images(rank=5)
    sub = S.fit_subspace(x)
    assert sub.rank() == 5  # five patterns carry all of the energy
    assert sub.k_for(0.9999) <= 5
    ks = [sub.k_for(level) for level in S.VARIANCE_LEVELS]
    assert ks == sorted(ks)
    for level, k in zip(S.VARIANCE_LEVELS, ks):
        assert sub.explained[k - 1] >= level - 1e-9
        assert k == 1 or sub.explained[k - 2] < level
    with pytest.raises(S.SubspaceError):
        sub.k_for(0.0)
    for bad in (0, 785, 2.5, "3"):
        with pytest.raises(S.SubspaceError, match="k must be"):
            sub.top(bad)


# --------------------------------------------------------------------------------------------
# Projections and energies


@pytest.fixture(scope="module")
def random_sub():
    return S.fit_subspace(_full_images())


@pytest.mark.parametrize("k", [1, 37, 400, 784])
def test_projection_is_idempotent_orthogonal_and_complete(random_sub, k):
    rng = np.random.default_rng(k)
    v = rng.normal(size=(784, 6)).astype(np.float32)
    inside, outside = S.split(random_sub, v, k)
    np.testing.assert_allclose(inside + outside, v, atol=1e-5)
    np.testing.assert_allclose(S.project(random_sub, inside, k), inside, atol=1e-5)  # idempotent
    np.testing.assert_allclose(S.project(random_sub, outside, k), 0, atol=1e-5)
    np.testing.assert_allclose(S.project_out(random_sub, outside, k), outside, atol=1e-5)
    np.testing.assert_allclose((inside * outside).sum(0), 0, atol=1e-4)  # orthogonal
    # independent route: numpy's projector
    proj = _projector_numpy(k, centred=False)
    np.testing.assert_allclose(inside, proj @ v, atol=2e-4)
    # energies: the two shares sum to 1 and match the squared norms of the parts
    e = S.energy(random_sub, v, k)
    np.testing.assert_allclose(e.inside + e.outside, (v**2).sum(0), rtol=1e-5)
    np.testing.assert_allclose(e.inside, (inside**2).sum(0), rtol=1e-4, atol=1e-6)
    frac = S.energy_fraction(random_sub, v, k)
    assert frac.shape == (6,) and np.all((frac >= 0) & (frac <= 1 + 1e-6))
    np.testing.assert_allclose(frac + e.outside / (v**2).sum(0), 1.0, rtol=1e-5)  # float32 sums


def test_single_vectors_and_zero_columns(random_sub):
    v = random_sub.basis[:, 3].copy()  # a principal direction: all inside for k > 3, all outside for k <= 3
    assert S.energy_fraction(random_sub, v, 4) == pytest.approx(1.0, abs=1e-6)
    assert S.energy_fraction(random_sub, v, 3) == pytest.approx(0.0, abs=1e-6)
    assert S.project(random_sub, v, 4).shape == (784,)
    assert np.isnan(S.energy_fraction(random_sub, np.zeros((784, 2)), 10)).all()
    with pytest.raises(S.SubspaceError, match="784 rows"):
        S.energy(random_sub, np.zeros((10, 2)), 3)


def test_pixel_maps_add_up(random_sub):
    rng = np.random.default_rng(3)
    m = rng.normal(size=(784, 8)).astype(np.float32)
    maps = S.pixel_maps(random_sub, m, 50)
    e = S.energy(random_sub, m, 50)
    assert maps.inside.sum() == pytest.approx(e.inside.sum(), rel=1e-4)
    assert maps.outside.sum() == pytest.approx(e.outside.sum(), rel=1e-4)
    np.testing.assert_allclose(maps.total, (m**2).sum(1), rtol=1e-5)
    assert np.all((maps.share_inside >= 0) & (maps.share_inside <= 1))


# --------------------------------------------------------------------------------------------
# What the optimizer does: a small synthetic problem through the project's own optimizers


def _train_small(config: TrainConfig, x: np.ndarray, y: np.ndarray, steps: int = 60) -> tuple[dict, dict]:
    """``steps`` full-batch steps of the configured optimizer on a 784-16-16-10 MLP; returns (init, trained)."""
    from advx.train import cross_entropy, make_optimizer

    params = init_params((16, 16), jax.random.key(config.seed))
    opt = make_optimizer(config, steps)
    state = opt.init(params)

    @jax.jit
    def step(p, s):
        g = jax.grad(cross_entropy)(p, jnp.asarray(x), jnp.asarray(y))
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    trained = params
    for _ in range(steps):
        trained, state = step(trained, state)
    return params, trained


def _span_residual(delta: np.ndarray, images: np.ndarray) -> float:
    """‖ΔW − X⁺-fit‖ / ‖ΔW‖ by least squares on the raw images: an independent route to 'in the span'."""
    coef, *_ = np.linalg.lstsq(images.T.astype(np.float64), delta.astype(np.float64), rcond=None)
    return float(np.linalg.norm(delta - images.T @ coef) / np.linalg.norm(delta))


@pytest.fixture(scope="module")
def synthetic():
    x, _ = _low_rank_images(n=80, rank=6, seed=2)
    y = (np.arange(80) % 10).astype(np.int32)
    return x, y, S.fit_subspace(x)


def test_sgd_change_lies_in_the_span_of_the_images(synthetic):
    x, y, sub = synthetic
    assert sub.rank() == 6  # six patterns
    init, trained = _train_small(TrainConfig(optimizer="sgd", learning_rate=0.05, momentum=0.9, schedule="constant"), x, y)
    change = S.first_layer_change(sub, 6, init, trained)
    delta = np.asarray(trained["Layer_1"]["kernel"]) - np.asarray(init["Layer_1"]["kernel"])
    assert np.abs(delta).max() > 1e-3  # training did move W1
    assert change.fraction_inside > 1 - 1e-6
    assert change.change_norm_outside < 1e-4 * change.change_norm_inside
    assert _span_residual(delta, x) < 1e-4
    assert change.max_abs_on_blank == 0.0
    # the outside part of W1 is exactly where it started, up to float rounding
    assert change.change_norm_outside / change.norm_outside_init < 1e-5


def test_adam_leaves_the_span_but_not_the_blank_pixels(synthetic):
    x, y, sub = synthetic
    init, trained = _train_small(TrainConfig(optimizer="adam", learning_rate=1e-2, schedule="constant"), x, y)
    change = S.first_layer_change(sub, 6, init, trained)
    delta = np.asarray(trained["Layer_1"]["kernel"]) - np.asarray(init["Layer_1"]["kernel"])
    assert change.fraction_inside < 0.95  # (measured 0.86) per-coordinate scaling takes the update out of the span
    assert _span_residual(delta, x) > 0.1
    assert change.max_abs_on_blank == 0.0  # zero gradient there, so Adam's update is exactly zero too


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_weight_decay_reaches_the_blank_pixels(synthetic, optimizer):
    x, y, sub = synthetic
    config = TrainConfig(optimizer=optimizer, learning_rate=1e-2, weight_decay=0.1, schedule="constant")
    init, trained = _train_small(config, x, y)
    change = S.first_layer_change(sub, 6, init, trained)
    assert change.max_abs_on_blank > 1e-5
    w0 = np.asarray(init["Layer_1"]["kernel"])[sub.blank]
    w1 = np.asarray(trained["Layer_1"]["kernel"])[sub.blank]
    assert np.abs(w1).sum() < np.abs(w0).sum()  # decay shrinks them towards 0


# --------------------------------------------------------------------------------------------
# The projected network


def test_projected_network_agrees_inside_the_subspace(synthetic):
    x, _, sub = synthetic
    params = init_params((16, 16), jax.random.key(4))
    projected = S.project_first_layer(params, sub, 6)
    np.testing.assert_allclose(projected["Layer_1"]["kernel"], S.project(sub, np.asarray(params["Layer_1"]["kernel"]), 6))
    assert projected["Layer_2"]["kernel"] is params["Layer_2"]["kernel"]
    np.testing.assert_allclose(forward(projected, x), forward(params, x), atol=1e-4)  # x lies in the span
    rng = np.random.default_rng(0)
    off = S.project_out(sub, rng.normal(size=(784, 5)).astype(np.float32), 6).T
    # the projected first layer is blind to off-subspace inputs: only the biases get through
    h = np.asarray(off @ projected["Layer_1"]["kernel"])
    np.testing.assert_allclose(h, 0, atol=1e-4)
    assert np.asarray(init_params((16, 16), jax.random.key(4))["Layer_1"]["kernel"]).std() > 0


# --------------------------------------------------------------------------------------------
# Integration: real MNIST and real trained runs


@pytest.fixture(scope="module")
def mnist_sub(mnist):
    return S.fit_subspace(mnist.train_images)


@pytest.fixture(scope="module")
def trained_maps(trained_run, mnist):
    return S.neuron_maps(trained_run.params_at(0), trained_run.final_params, mnist.train_images.reshape(60000, -1))


def test_mnist_subspace_by_independent_routes(mnist, mnist_sub):
    sub = mnist_sub
    # blank pixels: straight from the uint8 array
    assert int(sub.blank.sum()) == int((mnist.train_images.max(axis=0) == 0).sum()) == 67
    # the measured ks of the variance levels (the data is pinned by its hash)
    assert [sub.k_for(level) for level in S.VARIANCE_LEVELS] == [53, 103, 281]
    # the kept share by projecting every image: sum ||P x||^2 / sum ||x||^2
    x = mnist.train_images.reshape(60000, -1).astype(np.float32) / 255
    for k in (53, 281):
        coords = x @ sub.top(k)
        assert float((coords.astype(np.float64) ** 2).sum() / (x.astype(np.float64) ** 2).sum()) == pytest.approx(
            sub.explained[k - 1], abs=1e-4)


def test_trained_effective_weights_keep_a_large_off_subspace_share(mnist_sub, trained_maps):
    k = mnist_sub.k_for(0.95)
    rows = {r["layer"]: r for r in S.layer_summary(mnist_sub, k, trained_maps)}
    for layer, row in rows.items():
        # at initialisation a column is a random direction: its expected share inside is k / 784
        # (the blank pixels make the real share k / 784 give or take a few points)
        assert row["effective weights inside, init"] == pytest.approx(k / 784, abs=0.03), layer
        # after training, more is inside, but a large share stays outside (measured 0.59-0.74 outside)
        assert row["effective weights inside, trained"] > row["effective weights inside, init"] + 0.1, layer
        assert 1 - row["effective weights inside, trained"] > 0.45, layer
        # dataset averages: almost all inside (measured >= 99.99% pooled, 99.96% for the lowest neuron)
        assert row["dataset averages inside, trained"] > 0.999, layer
        assert row["lowest neuron's dataset average inside"] > 0.99, layer


def test_projected_network_keeps_its_clean_accuracy(mnist, mnist_sub, trained_run):
    from advx.train import evaluate

    x = jnp.asarray(mnist.test_images.reshape(10000, -1), jnp.float32) / 255
    y = jnp.asarray(mnist.test_labels, jnp.int32)
    base = float(evaluate(trained_run.final_params, x, y)[1])
    for level, tolerance in ((0.95, 0.01), (0.99, 0.003)):
        projected = S.project_first_layer(trained_run.final_params, mnist_sub, mnist_sub.k_for(level))
        accuracy = float(evaluate(projected, x, y)[1])
        assert accuracy > base - tolerance, (level, base, accuracy)
    # ...and attack_rates' clean accuracy agrees with the training code's own evaluation
    rates = S.attack_rates(trained_run.final_params, mnist.test_images, mnist.test_labels, jax.random.key(0),
                           eps={"pgd": (0.3,)}, n_attack=200)
    assert rates.clean_accuracy == pytest.approx(base, abs=1e-6)
    assert rates.success[("pgd", 0.3)] > 0.9  # measured 1.0: PGD at L-inf 0.3 beats the plain network


def test_sgd_keeps_w1_changes_in_the_data_subspace_more_than_adam(mnist, mnist_sub):
    """Short real runs (3 epochs, from the store after the first time) with the same initialisation."""
    from advx import store

    base = TrainConfig(epochs=3)
    configs = S.comparison_configs(base)
    k = mnist_sub.k_for(0.95)
    changes = {}
    for name in ("adam", "sgd", "noise"):
        run = store.get_or_train(configs[name], mnist)
        changes[name] = S.first_layer_change(mnist_sub, k, run.params_at(0), run.final_params)
    assert changes["sgd"].fraction_inside > changes["adam"].fraction_inside + 0.15
    # a blank pixel never sees a gradient: exactly zero change under both optimizers...
    assert changes["adam"].max_abs_on_blank == 0.0 and changes["sgd"].max_abs_on_blank == 0.0
    # ...until noise reaches it
    assert changes["noise"].max_abs_on_blank > 1e-3


def test_sgd_change_is_exactly_in_the_span_of_the_real_images(mnist):
    """The exact span of the 60,000 images misses 67 blank pixels and 5 more directions (measured).
    Along those 5, SGD's ΔW1 is float rounding (measured 4e-8 of its norm); Adam's is not (2e-2)."""
    from advx import store

    null = S.exact_null_directions(mnist.train_images)
    assert null.shape == (784, 72)
    np.testing.assert_allclose(null.T @ null, np.eye(72), atol=1e-10)
    x = mnist.train_images.reshape(60000, -1).astype(np.float64) / 255
    assert np.abs(x[:500] @ null).max() < 1e-6 and np.abs(x[-500:] @ null).max() < 1e-6
    extra = null[:, 67:]  # the five that do not sit on blank pixels
    configs = S.comparison_configs(TrainConfig(epochs=3))
    share = {}
    for name in ("adam", "sgd"):
        run = store.get_or_train(configs[name], mnist)
        delta = np.asarray(run.final_params["Layer_1"]["kernel"], np.float64) - np.asarray(
            run.params_at(0)["Layer_1"]["kernel"], np.float64)
        share[name] = np.linalg.norm(extra.T @ delta) / np.linalg.norm(delta)
    assert share["sgd"] < 1e-6
    assert share["adam"] > 1e-3


# --------------------------------------------------------------------------------------------
# Figures


def test_signed_parts_share_one_scale_centred_at_zero_and_are_labelled_by_name():
    from advx.figures.subspace import signed_parts

    rng = np.random.default_rng(0)
    maps = {"init, inside": rng.normal(size=784) * 0.1, "init, outside": rng.normal(size=784),
            "trained, inside": rng.normal(size=784) * 3, "trained, outside": rng.normal(size=784)}
    fig = signed_parts(maps)
    bound = max(np.abs(v).max() for v in maps.values())
    assert fig.layout.coloraxis.cmin == pytest.approx(-bound) and fig.layout.coloraxis.cmax == pytest.approx(bound)
    assert fig.layout.coloraxis.colorscale[0][1].lower() in ("rgb(5,48,97)", "#053061")  # RdBu_r: blue at -bound
    assert sorted(a.text.replace("<br>", " ") for a in fig.layout.annotations) == sorted(maps)  # wrapped to fit
    # each label sits over the tile that shows its map, and the tile is the map
    from advx.figures.maps import tiles

    trace = fig.data[0]
    for annotation, (name, top, left) in zip(fig.layout.annotations, trace.meta["tiles"]):
        assert annotation.text.replace("<br>", " ") == name and trace.x[left] < annotation.x < trace.x[left + 28]
        assert annotation.y == trace.y[top]
    for name, tile in tiles(fig):
        np.testing.assert_allclose(tile.ravel(), maps[name], atol=1e-9)


def test_energy_scatter_puts_each_neuron_where_its_energies_are():
    from advx.figures.subspace import neuron_energy_scatter

    labels = ["Layer_1 #0", "Layer_1 #3", "output #2"]
    fig = neuron_energy_scatter(labels, np.array([1.0, 2, 3]), np.array([4.0, 5, 6]), np.array([7.0, 8, 9]),
                                np.array([10.0, 11, 12]))
    trained = {t.name: t for t in fig.data}["output, trained"]
    assert list(trained.x) == [9.0] and list(trained.y) == [12.0] and list(trained.text) == ["output #2"]
    init = {t.name: t for t in fig.data}["Layer_1, init"]
    assert list(init.x) == [1.0, 2.0] and list(init.y) == [4.0, 5.0]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


# --------------------------------------------------------------------------------------------
# Sentences follow the numbers


def _change(inside: float, blank: float = 0.0, outside=(7.0, 8.0)) -> S.FirstLayerChange:
    return S.FirstLayerChange(inside, blank, 1.0, outside[0], 2.0, outside[1], 1.0, 0.5)


def _rates(accuracy: float, pgd_small: float, pgd_large: float, overlay: float = 0.2) -> S.AttackRates:
    return S.AttackRates(accuracy, {("overlay", 0.5): overlay, ("pgd", 0.1): pgd_small, ("pgd", 0.3): pgd_large}, 900)


def _explain(adam, sgd, columns):
    return words.explain(k=103, kept=0.95, n_blank=67, layer="output", effective_inside_init=0.13,
                     effective_inside_trained=0.27, average_inside_trained=0.9999, adam=adam, sgd=sgd,
                     columns=columns, trained="trained", projected="projected", street_smart=("noise",))


def test_sentences_follow_the_numbers_either_way():
    helped = _explain(_change(0.43), _change(0.85), {"trained": _rates(0.978, 0.67, 1.0),
                                                     "projected": _rates(0.975, 0.08, 1.0),
                                                     "noise": _rates(0.980, 0.07, 1.0, overlay=0.04)})
    text = " ".join(helped)
    assert "most of it (73.0%) is still outside" in text
    assert "With Adam only 43.0% of ΔW1 is inside" in text and "only partly true for Adam" in text
    assert "exactly 0 under both optimizers" in text
    assert "8.0% of the images" in text and "much of the small-ε weakness" in text
    assert "the argument is not the whole story" in text  # PGD at 0.3 still wins
    assert "-0.30 points" in text
    assert "the overlay at L∞ 0.5 succeeds on 4.0%, down from 20.0%" in text

    other = " ".join(_explain(_change(0.84, blank=0.2), _change(0.85), {
        "trained": _rates(0.978, 0.30, 0.2), "projected": _rates(0.978, 0.29, 0.1),
        "noise": _rates(0.97, 0.5, 0.3, overlay=0.5)}))
    assert "With Adam, 84.0% of ΔW1 is inside: much the same" in other
    assert "at most 0.2" in other and "exactly 0" not in other
    assert "did not help much" in other and "not the whole story" not in other
    assert "succeeds on 50.0%, against 20.0%" in other


# --------------------------------------------------------------------------------------------
# The subspace file


def _decode_subspace(blob: bytes, spec) -> S.DataSubspace:
    """The subspace in a kept file's bytes, read as ``spec``'s file (``storage.StoredFileError`` on a mismatch)."""
    from advx import storage

    return S.subspace_decoder(spec.settings["centred"])(*storage.decode(blob, spec.name, spec.identity()))


def test_subspace_file_round_trip_and_recovery(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from advx import experiments as E
    from advx.storage import StoredFileError, StoredFileWarning

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    x = _full_images(n=200)
    data = SimpleNamespace(train_images=x, sha="a" * 64)
    calls = []
    real_fit = S.fit_subspace
    monkeypatch.setattr(S, "fit_subspace", lambda *a, **kw: calls.append(1) or real_fit(*a, **kw))
    spec = E.data_subspace.spec(data)
    first = spec.get()
    path = spec.path()
    assert path.exists() and len(calls) == 1
    again = E.data_subspace(data)
    assert len(calls) == 1  # read back, not recomputed
    for name in ("basis", "energies", "blank", "mean"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert again.n_images == 200 and not again.centred
    # other data, or a centred PCA, never reads this file
    with pytest.raises(StoredFileError, match="other data"):
        _decode_subspace(path.read_bytes(), E.data_subspace.spec(SimpleNamespace(train_images=x, sha="b" * 64)))
    with pytest.raises(StoredFileError, match="other data"):
        _decode_subspace(path.read_bytes(), E.data_subspace.spec(data, centred=True))
    # a damaged file is detected and replaced by a fresh computation
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(StoredFileError):
        _decode_subspace(path.read_bytes(), spec)
    with pytest.warns(StoredFileWarning, match="damaged"):
        fixed = E.data_subspace(data)
    assert len(calls) == 2
    np.testing.assert_array_equal(fixed.basis, first.basis)
    assert _decode_subspace(path.read_bytes(), spec).n_images == 200


# --------------------------------------------------------------------------------------------
# Every k from one projection: the spectra against the direct routes


def _first_images(mnist, n: int):
    """``mnist`` with only its first ``n`` training images, under a data hash of its own (its subspace is another)."""
    import dataclasses

    return dataclasses.replace(mnist, train_images=mnist.train_images[:n], sha=f"{mnist.sha[:16]}-first{n}")


def _images(n=700, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784)).astype(np.float32) ** 3
    x[:, :40] = 0.0
    return x


@pytest.fixture(scope="module")
def sub():
    return S.fit_subspace(_images())


@pytest.fixture(scope="module")
def numpy_basis():
    """Right singular vectors of the same images by numpy's SVD: the independent route."""
    return np.linalg.svd(_images().astype(np.float64), full_matrices=False)[2]


@pytest.mark.parametrize("k", [1, 20, 333, 744, 784])
def test_spectrum_gives_every_k_the_energy_of_the_projection(sub, numpy_basis, k):
    rng = np.random.default_rng(k)
    v = rng.normal(size=(784, 5)).astype(np.float32)
    spec = S.spectrum(sub, v)
    e = spec.energy(k)
    total = (v.astype(np.float64) ** 2).sum(0)
    np.testing.assert_allclose(e.inside + e.outside, total, rtol=1e-5)
    direct = S.energy(sub, v, k)
    np.testing.assert_allclose(e.inside, direct.inside, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.outside, direct.outside, rtol=1e-5, atol=1e-6)
    if k <= 660:  # numpy's SVD has only as many directions as the 744 non-blank pixels; compare well inside them
        top = numpy_basis[:k].T  # (784, k)
        np.testing.assert_allclose(e.inside, ((top.T @ v) ** 2).sum(0), rtol=2e-4, atol=1e-4)
    assert spec.head.shape == spec.tail.shape == (785, 5)
    assert (spec.head[0] == 0).all() and (spec.tail[784] == 0).all()
    assert not spec.head.flags.writeable  # shared by every session of the app


def test_neuron_spectra_and_first_layer_spectrum_measure_like_the_maps(sub, trained_run, mnist):
    train = mnist.train_images[:3000].reshape(3000, -1)
    maps = S.neuron_maps(trained_run.params_at(0), trained_run.final_params, train)
    spectra = S.neuron_spectra(sub, maps)
    assert spectra.layers == maps.layers
    for k in (7, 150, 600):
        for layer in maps.layers:
            fast, slow = S.measure_neurons(sub, k, spectra, layer), S.measure_neurons(sub, k, maps, layer)
            for part in ("effective_init", "effective_trained", "average_init", "average_trained", "change"):
                a, b = getattr(fast, part), getattr(slow, part)
                np.testing.assert_allclose(a.inside, b.inside, rtol=1e-4, atol=1e-7)
                np.testing.assert_allclose(a.outside, b.outside, rtol=1e-4, atol=1e-7)
        for fast_row, slow_row in zip(S.layer_summary(sub, k, spectra), S.layer_summary(sub, k, maps)):
            assert fast_row["layer"] == slow_row["layer"]
            assert {c: v for c, v in fast_row.items() if c != "layer"} == pytest.approx(
                {c: v for c, v in slow_row.items() if c != "layer"}, rel=1e-4)
        first = S.first_layer_spectrum(sub, trained_run.params_at(0), trained_run.final_params)
        with_spectrum = S.first_layer_change(sub, k, trained_run.params_at(0), trained_run.final_params, first)
        without = S.first_layer_change(sub, k, trained_run.params_at(0), trained_run.final_params)
        assert with_spectrum == pytest.approx(without, rel=1e-4)
        fast = S.first_layer_study(sub, k, trained_run.params_at(0), trained_run.final_params, spectrum=first)
        slow = S.first_layer_study(sub, k, trained_run.params_at(0), trained_run.final_params)
        np.testing.assert_allclose(fast.change_curve, slow.change_curve, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(fast.init_curve, slow.init_curve, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(fast.maps.share_inside, slow.maps.share_inside, equal_nan=True)
    with pytest.raises(S.SubspaceError, match="unknown layer"):
        S.measure_neurons(sub, 5, spectra, "Layer_9")


# --------------------------------------------------------------------------------------------
# The counterfactual attack table


EPS = {"overlay": (0.2, 0.6), "fgsm": (0.1, 0.3), "pgd": (0.1,)}


def _compilations(records) -> int:
    return sum("Compiling jit(_attack_table)" in r.getMessage() for r in records)


def test_the_attack_table_counts_what_the_attacks_do_one_eps_at_a_time(mnist, trained_run, sub, caplog):
    params = trained_run.final_params
    n = 400
    test_u8 = mnist.test_images[:n].reshape(n, -1)
    labels = mnist.test_labels[:n]
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        on_device = S.attack_rates(params, jnp.asarray(test_u8), labels, jax.random.key(3), eps=EPS,
                                   n_attack=120, pgd_steps=10)
        assert _compilations(caplog.records) == 1
        # one compilation per shape: another network of the same shapes (the projected one) reuses it
        S.attack_rates(S.project_first_layer(params, sub, 50), jnp.asarray(test_u8), labels, jax.random.key(3),
                       eps=EPS, n_attack=120, pgd_steps=10)
        assert _compilations(caplog.records) == 1
    from_host = S.attack_rates(params, test_u8.astype(np.float32) / 255, labels, jax.random.key(3), eps=EPS,
                               n_attack=120, pgd_steps=10)
    assert on_device.n_attacked == from_host.n_attacked
    assert on_device.clean_accuracy == pytest.approx(from_host.clean_accuracy, abs=1e-9)
    for eps_key, rate in on_device.success.items():
        assert rate == pytest.approx(from_host.success[eps_key], abs=1 / on_device.n_attacked + 1e-9)
    # the independent route: the library's attacks, one eps at a time
    x = jnp.asarray(test_u8, jnp.float32) / 255
    clean = np.asarray(A.predictions(params, x))
    assert on_device.clean_accuracy == pytest.approx(float((clean == labels).mean()), abs=1e-9)
    eligible = (clean[:120] == labels[:120]) & (labels[:120] != 0)
    assert on_device.n_attacked == int(eligible.sum())
    pattern = A.pattern_for(params, x[:1], 0)
    for eps in EPS["overlay"]:
        hits = np.asarray(A.predictions(params, A.overlay(x[:120], pattern, eps, "linf"))) == 0
        assert on_device.success[("overlay", eps)] == pytest.approx(hits[eligible].mean(), abs=1e-9)
    zeros = jnp.zeros((120,), jnp.int32)
    for eps in EPS["fgsm"]:
        hits = np.asarray(A.predictions(params, A.fgsm(A.as_model_fn(params), x[:120], zeros, eps, targeted=True))) == 0
        # one image may round the other way at the class boundary
        assert on_device.success[("fgsm", eps)] == pytest.approx(hits[eligible].mean(), abs=1 / eligible.sum() + 1e-9)


def test_attack_rates_rejects_an_empty_test_set(trained_run):
    with pytest.raises(S.SubspaceError, match="at least one"):
        S.attack_rates(trained_run.final_params, np.zeros((0, 784), np.uint8), np.zeros(0, np.uint8), jax.random.key(0))


def test_stored_counterfactual_columns_survive_a_restart_and_damage_is_recomputed(mnist, trained_run, tmp_path,
                                                                                  monkeypatch):
    import dataclasses

    from advx.storage import StoredFileWarning

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    small = _first_images(mnist, 5000)
    sub = S.fit_subspace(small.train_images)
    test = jnp.asarray(mnist.test_images.reshape(10000, -1))
    calls, real = [], S.attack_rates
    monkeypatch.setattr(S, "attack_rates", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    column = E.counterfactual_column
    first = column(trained_run, small, 40)
    trained = column(trained_run, small, 0)
    assert len(calls) == 2
    # the independent route: the library call on the projected network
    assert first == real(S.project_first_layer(trained_run.final_params, sub, 40), test, mnist.test_labels,
                         jax.random.key(0))
    # read back (a new process would do the same): no attack runs, the same numbers, one file per k
    assert column(trained_run, small, 40) == first
    assert column(trained_run, small, 0) == trained
    assert len(calls) == 2
    path = column.spec(trained_run, small, 40).path()
    assert sorted(p.name for p in path.parent.glob("*.npz")) == sorted(
        [path.name, column.spec(trained_run, small, 0).path().name])
    # a changed number breaks the file's checks: it is reported, the column computed again and the file rewritten
    blob = path.read_bytes()
    i = blob.index(np.float64(first.clean_accuracy).tobytes())
    path.write_bytes(blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1:])
    reports = []
    assert column.spec(trained_run, small, 40).get(on_damage=reports.append) == first
    assert len(calls) == 3 and len(reports) == 1 and path.name in reports[0]
    assert column(trained_run, small, 40) == first
    assert len(calls) == 3
    # other weights under the same run id (a retrained run) do not use the file
    other = dataclasses.replace(trained_run, params_history=trained_run.params_history[:-1] + (
        trained_run.params_history[0],))
    other_path = column.spec(other, small, 0).path()
    assert other_path != column.spec(trained_run, small, 0).path()
    other_path.write_bytes(column.spec(trained_run, small, 0).path().read_bytes())  # even under its name
    with pytest.warns(StoredFileWarning, match="other data, weights or settings"):
        assert column(other, small, 0).clean_accuracy < 0.5
    assert len(calls) == 4
    assert not list(path.parent.glob("*.tmp"))



def test_the_kept_energy_shares_of_the_test_digits_match_a_plain_sum(mnist):
    """``advx.experiments.digit_energy_shares`` (the digits "Draw a digit" sets a drawing against) against a loop
    over the coordinates written out in float64, for a few test digits."""
    from advx import experiments as E
    from advx.model import to_pixels

    sub = E.data_subspace(mnist)
    k = sub.k_for(0.95)
    shares = E.digit_energy_shares(mnist, k)
    assert shares.shape == (len(mnist.test_labels),) and np.all((shares > 0) & (shares <= 1))
    basis = np.asarray(sub.basis, np.float64)
    for i in (0, 1, 4321, 9999):
        x = np.asarray(to_pixels(mnist.test_images[i]), np.float64).reshape(-1)
        inside = sum(float(basis[:, j] @ x) ** 2 for j in range(k))
        assert abs(shares[i] - inside / float(x @ x)) < 1e-4, i
