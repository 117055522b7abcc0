"""Transfer, agreement and the initialisation-scale test: unit tests on small inputs, and the integration test
on real MNIST with the default population (trained once, then loaded from the run store).

Integration thresholds, measured on the default population (4 seeds x Adam and SGD, 15 epochs, k = 103 for
95% of the energy, the first 500 test images, L-inf eps 0.3, targeted at class 0):

- the overlay turns 8.6% of a network's own correct digits into a 0 and 2.4% of the other networks' (0.28 of
  it); PGD 100% and 68%. Asserted: own overlay success >= 4% and others <= 0.5 x own; PGD own >= 95% and
  others <= 0.9 x own.
- PGD's part inside the subspace keeps 0.47 of its own-network success on the other networks, the part
  outside 0.11. Asserted: inside share > outside share + 0.15.
- output neuron 0, different seeds and the same optimizer: correlation 0.81 inside, 0.52 outside the top-103
  subspace; on the blank pixels alone -0.02 (different seeds) and 0.59 (the same seed, the other optimizer).
  Asserted: inside > outside + 0.15; blank pixels |different seeds| < 0.15 and same seed > 0.3.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import attacks
from advx import experiments as E
from advx import population as P
from advx import subspace as S
from advx.config import TrainConfig
from advx.data import MNIST
from advx.model import init_params, to_pixels
from advx.text import population as words

TINY = dict(hidden=(32,), epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def small_data(mnist):
    return MNIST(mnist.train_images[:3000], mnist.train_labels[:3000], mnist.test_images[:300],
                 mnist.test_labels[:300], source="subset", sha="subset-" + mnist.sha)


@pytest.fixture(scope="module")
def small_sub(small_data):
    return S.fit_subspace(small_data.train_images)


@pytest.fixture(scope="module")
def tiny_population(small_data):
    return P.train_population(P.population_configs(TrainConfig(**TINY), seeds=(0, 1), optimizers=("adam",)),
                              small_data)


# --------------------------------------------------------------------------------------------
# Unit tests


def test_split_of_a_perturbation_adds_back_to_it(small_sub):
    delta = jax.random.uniform(jax.random.PRNGKey(0), (5, 784), minval=-0.3, maxval=0.3)
    basis = jnp.asarray(small_sub.top(40))
    inside, outside = P.split_perturbation(delta, basis)
    np.testing.assert_allclose(np.asarray(inside + outside), np.asarray(delta), atol=1e-6)
    np.testing.assert_allclose(np.asarray(outside @ basis), 0.0, atol=1e-5)
    ref_inside, ref_outside = S.split(small_sub, np.asarray(delta).T, 40)  # the library's NumPy split, columns
    np.testing.assert_allclose(np.asarray(inside), ref_inside.T, atol=1e-5)
    np.testing.assert_allclose(np.asarray(outside), ref_outside.T, atol=1e-5)


def test_transfer_diagonal_equals_each_networks_own_success(tiny_population, small_sub, small_data):
    params = [r.final_params for r in tiny_population]
    eps, n = 0.3, 200
    result = P.transfer_matrices(params, small_sub, 40, small_data.test_images, small_data.test_labels, eps=eps,
                                 n_attack=n, seed=3)
    m = len(params)
    assert result.success.shape == (4, 3, m, m) and result.fooled.shape == (4, 3, m, m)
    x = to_pixels(np.asarray(small_data.test_images[:n]))
    y = np.asarray(small_data.test_labels[:n]).astype(np.int32)
    for s, p in enumerate(params):
        own = S.attack_rates(p, small_data.test_images, small_data.test_labels, jax.random.key(3), n_attack=n,
                             eps={"overlay": (eps,), "fgsm": (eps,), "pgd": (eps,)})
        assert result.n_attacked[s] == own.n_attacked
        for attack in ("overlay", "fgsm", "pgd"):
            a = P.TRANSFER_ATTACKS.index(attack)
            assert result.success[a, 0, s, s] == pytest.approx(own.success[(attack, eps)], abs=1e-9)
        sign = np.sign(np.asarray(attacks.pattern_for(p, x, 0)))
        answers = np.asarray(attacks.predictions(p, attacks.overlay(jnp.asarray(x), jnp.asarray(sign), eps)))
        eligible = (np.asarray(attacks.predictions(p, jnp.asarray(x))) == y) & (y != 0)
        assert result.success[1, 0, s, s] == pytest.approx((answers[eligible] == 0).mean(), abs=1e-9)


def test_parts_are_applied_at_the_size_eps(tiny_population, small_sub, small_data):
    p = tiny_population[0].final_params
    x = to_pixels(np.asarray(small_data.test_images[:20]))
    applied = P.crafted(p, jnp.asarray(x), jax.random.key(0), 0.2, jnp.asarray(small_sub.top(40)))
    assert applied.shape == (4, 3, 20, 784)
    sizes = np.abs(np.asarray(applied) - x).max(axis=-1)
    assert sizes.max() <= 0.2 + 1e-6 and np.median(sizes) > 0.19  # clipping to [0, 1] only shrinks a move
    assert float(applied.min()) >= 0.0 and float(applied.max()) <= 1.0


def test_own_and_others():
    matrix = np.array([[0.9, 0.1, 0.3], [0.2, 0.8, 0.4], [0.0, 0.6, 0.7]])
    own, others = P.own_and_others(matrix)
    np.testing.assert_allclose(own, [0.9, 0.8, 0.7])
    np.testing.assert_allclose(others, [0.2, 0.3, 0.3])


def test_networks_of_other_shapes_are_refused():
    def zeros(width):
        return {"Layer_1": {"kernel": np.zeros((784, width)), "bias": np.zeros(width)},
                "output": {"kernel": np.zeros((width, 10)), "bias": np.zeros(10)}}

    a, b = zeros(16), zeros(8)
    with pytest.raises(P.PopulationError, match="same layers"):
        P.stack_params([a, b])


def test_agreement_is_a_symmetric_correlation_that_ignores_scale(small_sub):
    a = init_params((16,), jax.random.PRNGKey(0))
    b = init_params((16,), jax.random.PRNGKey(1))
    doubled = jax.tree.map(lambda v: 2 * v, a)
    result = P.agreement([a, b, doubled], small_sub, 40, init=[a, b, a])
    for part in (result.whole, result.inside, result.outside):
        assert part.shape == (3, 3, 10)
        np.testing.assert_allclose(part, np.swapaxes(part, 0, 1))
        np.testing.assert_allclose(part[0, 2], 1.0, atol=1e-6)  # the same map, twice as large
        assert np.abs(part[0, 1]).max() < 0.5  # two random draws
    np.testing.assert_allclose(result.init_outside[2], 1.0, atol=1e-6)
    assert np.isnan(P.agreement([a, b], small_sub, 40).init_inside).all()


def test_agreement_rows_group_pairs_by_relation(small_sub):
    configs = P.population_configs(seeds=(0, 1))
    params = [init_params((8,), jax.random.PRNGKey(c.seed)) for c in configs]
    rows = P.agreement_rows(P.agreement(params, small_sub, 40), configs)
    assert [r["relation"] for r in rows] == list(P.RELATIONS)
    same_seed = rows[1]
    assert same_seed["pairs"] == 2 and same_seed["outside"] == pytest.approx(1.0)  # same init, untrained


def test_restricted_l2_pgd_stays_outside_the_subspace(tiny_population, small_sub, small_data):
    p = tiny_population[0].final_params
    x = jnp.asarray(to_pixels(np.asarray(small_data.test_images[:30])))
    y = jnp.asarray(small_data.test_labels[:30], jnp.int32)
    basis = jnp.asarray(small_sub.top(40))
    for restrict in (True, False):
        delta = np.asarray(P.l2_pgd(p, x, y, 1.5, basis, target=0, steps=10, rel_step=0.2, restrict=restrict))
        assert np.linalg.norm(delta, axis=1).max() <= 1.5 + 1e-4
        inside = np.abs(delta @ np.asarray(basis)).max()
        assert (inside < 1e-4) if restrict else (inside > 1e-2)


def test_matched_epochs_take_the_first_epoch_at_the_common_level(tiny_population):
    runs = list(tiny_population)
    epochs, levels = P.matched_epochs(runs)
    assert levels["adam"] == pytest.approx(min(max(r.history["test_acc"]) for r in runs))
    for run, epoch in zip(runs, epochs):
        assert run.history["test_acc"][epoch - 1] >= levels["adam"]
        assert (run.history["test_acc"][: epoch - 1] < levels["adam"]).all()


def test_scale_curves_average_over_seeds():
    rows = [{"optimizer": "sgd", "init_scale": s, "seed": seed, "when": "matched", "eps": [1.0],
             "success_outside": [0.1 * s + seed], "success_anywhere": [1.0],
             **{key: s + seed for key in ("test_acc", "weights_outside", "weights_share_outside", "gradient",
                                          "gradient_outside", "gradient_share_outside")}}
            for s in (2.0, 0.5) for seed in (0, 1)]
    curves = P.scale_curves(rows)
    assert [c["init_scale"] for c in curves] == [0.5, 2.0] and curves[0]["seeds"] == 2
    assert curves[1]["weights_outside"] == pytest.approx(2.5)
    assert curves[0]["success_outside"] == pytest.approx([0.55])
    sentence = " ".join(words.scale_sentences(curves))
    assert "as Melamed et al. predict" in sentence


def _matrices(own: float, others: float) -> P.TransferMatrices:
    table = np.full((4, 3, 3, 3), others)
    for s in range(3):
        table[:, :, s, s] = own
    return P.TransferMatrices(0.3, "linf", 50, table, table, np.ones((4, 3, 3)), np.ones(3), np.full(3, 100))


def test_transfer_matrices_are_kept_by_the_results_store(tiny_population, tmp_path, monkeypatch):
    from experiment_support import kept as kept_result

    from advx.experiments.spec import tuple_codec

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    population = P.Population(tuple(tiny_population))
    kept = _matrices(0.8, 0.2)
    for _ in range(2):
        back = kept_result("transfer", population, {"eps": 0.3}, lambda: kept, tuple_codec(P.TransferMatrices)).get()
        assert back.norm == "linf" and back.k == 50 and back.eps == 0.3
        np.testing.assert_array_equal(back.success, kept.success)


def test_transfer_sentences_follow_the_numbers():
    assert "as the argument predicts" in words.transfer_sentences(_matrices(0.8, 0.1))[0]
    assert "prediction fails" in words.transfer_sentences(_matrices(0.8, 0.78))[0]
    assert "barely works" in words.transfer_sentences(_matrices(0.01, 0.01))[0]
    rows = words.transfer_rows(_matrices(0.8, 0.2))
    assert len(rows) == 12 and rows[0]["ratio"] == pytest.approx(0.25)


# --------------------------------------------------------------------------------------------
# Integration on real MNIST: the default population, trained once and then loaded from the run store


@pytest.fixture(scope="session")
def default_population(populations):
    """The default population, trained with the initialisation-scale one (tests/conftest.py)."""
    return populations["transfer and agreement"]


@pytest.fixture(scope="session")
def mnist_sub(mnist):
    return E.data_subspace(mnist)


@pytest.fixture(scope="session")
def default_transfer(default_population, mnist_sub, mnist):
    """The transfer matrices the many-networks page shows first (L-inf 0.3, split at 95% of the energy): the page's
    own experiment, so whichever of the page and this fixture comes first computes them, and the other reads them."""
    return E.transfer(default_population, mnist, "linf")


def test_overlay_fools_its_own_network_more_than_the_others(default_transfer):
    own, others = P.own_and_others(default_transfer.success[0, 0])
    assert own.mean() >= 0.04
    assert others.mean() <= 0.5 * own.mean()
    pgd_own, pgd_others = P.own_and_others(default_transfer.success[3, 0])
    assert pgd_own.mean() >= 0.95 and pgd_others.mean() <= 0.9 * pgd_own.mean()


def test_the_part_inside_the_subspace_transfers_better(default_transfer):
    a = P.TRANSFER_ATTACKS.index("pgd")
    shares = {}
    for p, part in enumerate(P.PARTS[1:], start=1):
        own, others = P.own_and_others(default_transfer.success[a, p])
        shares[part] = others.mean() / own.mean()
    assert shares["inside"] > shares["outside"] + 0.15, shares
    assert len(words.transfer_sentences(default_transfer)) >= 5


def test_networks_agree_inside_the_subspace_and_inherit_the_blank_pixels(default_population, mnist_sub):
    configs, params = default_population.configs, default_population.params()
    rows = {r["relation"]: r for r in P.agreement_rows(P.agreement(params, mnist_sub, mnist_sub.k_for(0.95)),
                                                        configs)}
    other = rows["other seed, same optimizer"]
    assert other["inside"] > other["outside"] + 0.15
    blank = {r["relation"]: r for r in P.agreement_rows(P.agreement(params, mnist_sub, mnist_sub.n_nonblank),
                                                        configs)}
    assert abs(blank["other seed, same optimizer"]["outside"]) < 0.15
    assert blank["same seed, other optimizer"]["outside"] > 0.3


def test_a_larger_initialisation_leaves_more_off_the_data_with_sgd(mnist, mnist_sub, populations):
    """SGD, seed 0, init x0.25 against x2 at matched accuracy. Measured: the output effective weights' norm
    outside the top-103 subspace 32.4 against 55.8, the margin gradient's outside norm 5.9 against 11.4, and an
    L2 attack of size 3 kept outside the subspace 19% against 57%. (With Adam none of them moves with the
    scale: 77-87, 15-19 and 50-63% from x0.25 to x2, averaged over two seeds; that is not asserted here.)"""
    configs = P.init_scale_configs(scales=(0.25, 2.0), seeds=(0,), optimizers=("sgd",))
    population = P.get_or_train_population(configs, mnist)  # members of the scale population: loaded
    rows = P.scale_rows(population.runs, mnist_sub, mnist_sub.k_for(0.95), mnist.test_images, mnist.test_labels,
                        eps=(3.0,))
    small, large = (r for r in rows if r["when"] == "matched")
    assert abs(small["test_acc"] - large["test_acc"]) < 0.005
    assert large["weights_outside"] > 1.3 * small["weights_outside"]
    assert large["gradient_outside"] > 1.3 * small["gradient_outside"]
    assert large["success_outside"][0] > small["success_outside"][0] + 0.15
    assert "Melamed" in " ".join(words.scale_sentences(P.scale_curves(rows)))
