"""advx.explanations: the split of an attack, PGD kept in the data subspace, the non-robust training set, the
verdicts (computed from numbers), the kept results' codec and the figures."""

from __future__ import annotations

import jax
import numpy as np
import plotly.graph_objects as go
import pytest

from advx import explanations as X
from advx.attacks import as_model_fn
from advx import storage
from advx.experiments import data_subspace
from advx.experiments.spec import tuple_codec
from advx.explanations import verdicts as V
from advx.text import explanations as W
from advx.figures import explanations as F
from advx.model import to_pixels


@pytest.fixture(scope="module")
def sub(mnist):
    return data_subspace(mnist)


@pytest.fixture(scope="module")
def few(mnist):
    return to_pixels(mnist.test_images[:40]), np.asarray(mnist.test_labels[:40], np.int32)


def test_inside_and_outside_parts_add_up_and_are_orthogonal(sub, trained_run, few):
    x, y = few
    deltas = X.perturbations(trained_run.final_params, x, y, 0.1, jax.random.key(0), "linf")
    assert set(deltas) == set(X.ATTACKS)
    for name, delta in deltas.items():
        delta = delta[np.isfinite(delta).all(1)]
        for k in (10, 100, 400):
            inside, outside = X.split_parts(sub, delta, k)
            np.testing.assert_allclose(inside + outside, delta, atol=1e-5)
            dots = np.abs((inside * outside).sum(1))
            assert dots.max() <= 1e-5 * max(1.0, np.square(delta).sum(1).max()), (name, k, dots.max())


def test_the_split_of_every_attack(sub, trained_run, few):
    splits = X.attack_splits(trained_run.final_params, sub, *few, jax.random.key(0), norm="l2", ks=(10, 400))
    assert splits.energy_outside.shape == splits.logit_outside.shape == (4, len(splits.ks))
    assert splits.k_level in splits.ks and ((splits.energy_outside >= 0) & (splits.energy_outside <= 1)).all()
    assert (np.diff(splits.energy_outside, axis=1) <= 1e-6).all()  # a larger subspace leaves less outside
    assert splits.residual.max() < 0.05  # the path integral matches the true change of the logit
    assert splits.success[X.ATTACKS.index("smallest_pgd")] > 0.9
    decoded = tuple_codec(X.AttackSplits).decode(*tuple_codec(X.AttackSplits).encode(splits))
    assert decoded.norm == "l2" and np.array_equal(decoded.logit_outside, splits.logit_outside)


def test_pgd_kept_in_the_subspace_stays_there_and_never_beats_the_unrestricted_attack(sub, trained_run, few):
    model_fn = as_model_fn(trained_run.final_params)
    x, y = few
    targets = X.targets_for(y)
    basis, free = sub.top(25), np.eye(784, dtype=np.float32)
    for eps in (0.5, 1.0, 2.0):
        kept = np.asarray(X.subspace_pgd(model_fn, x, targets, eps, basis))
        delta = kept - x
        assert np.abs(delta - (delta @ basis) @ basis.T).max() <= 1e-5
        assert np.sqrt(np.square(delta).sum(1)).max() <= eps * (1 + 1e-5)
        anywhere = np.asarray(X.subspace_pgd(model_fn, x, targets, eps, free))
        hits = [np.mean(np.argmax(model_fn(a), 1) == targets) for a in (kept, anywhere)]
        assert hits[0] <= hits[1], (eps, hits)
    smallest = [X.smallest_eps(model_fn, x, targets, b, bisections=6) for b in (basis, free)]
    assert np.median(smallest[0]) >= np.median(smallest[1])


def test_the_non_robust_set_is_labelled_with_the_target_and_moves_each_image_at_most_eps(sub, trained_run, mnist):
    clean = to_pixels(mnist.train_images[:300])
    labels = np.asarray(mnist.train_labels[:300], np.int32)
    for kind in X.TARGET_KINDS:
        targets = X.relabel_targets(labels, kind, jax.random.key(1))
        assert (targets != labels).all() and targets.min() >= 0 and targets.max() <= 9
        built = X.non_robust_set(trained_run.final_params, clean, targets, jax.random.key(2), eps=X.ILYAS_EPS)
        assert np.array_equal(built.labels, targets)
        assert np.sqrt(np.square(built.images - clean).sum(1)).max() <= X.ILYAS_EPS * (1 + 1e-5)
        assert built.success > 0.5
    for part in ("inside", "outside"):
        alone = X.part_set(sub, clean, built, 100, part)
        assert np.array_equal(alone.labels, built.labels)
        assert np.sqrt(np.square(alone.images - clean).sum(1)).max() <= X.ILYAS_EPS * (1 + 1e-5)
    both = X.part_set(sub, clean, built, 100, "inside").images + X.part_set(sub, clean, built, 100, "outside").images
    np.testing.assert_allclose(both - clean, built.images, atol=1e-5)


@pytest.mark.parametrize("block", [X.ilyas.BLOCK, 10_000, 777])
def test_the_parts_made_block_by_block_are_the_whole_arrays_parts_bit_for_bit(sub, mnist, block):
    """The non-robust experiment writes each block's coordinates, then its part, over its perturbations: every block
    must give what ``split_parts`` gives on the whole array."""
    from advx.explanations.splits import coordinates_of_rows, part_of_rows, split_parts

    x = to_pixels(mnist.train_images[:20_000])
    delta = x[::-1] - x  # real images' differences: every pixel direction, inside and outside
    k = sub.k_for(0.95)
    inside, outside = split_parts(sub, delta, k)
    coords = np.empty_like(delta)
    for start in range(0, len(delta), block):
        coords[start:start + block] = coordinates_of_rows(sub, delta[start:start + block])
    for part, whole in (("inside", inside), ("outside", outside)):
        made = np.concatenate([part_of_rows(sub, coords[start:start + block], k, part)
                               for start in range(0, len(coords), block)])
        assert made.tobytes() == np.ascontiguousarray(whole).tobytes(), part
    with pytest.raises(ValueError, match="inside"):
        part_of_rows(sub, coords[:5], k, "both")


def _plain_ilyas(params, sub, k, mnist, config, key, standard):
    """The experiment composed plainly from its public steps: every set made from the whole float32 clean set and
    held at once, the parts by ``part_set`` (``split_parts``), each network trained by ``train_and_test``."""
    clean = to_pixels(mnist.train_images)
    sets = {kind: X.non_robust_set(params, clean, X.relabel_targets(mnist.train_labels, kind, jax.random.fold_in(key, 1)),
                                   jax.random.fold_in(key, 2 + i)) for i, kind in enumerate(X.TARGET_KINDS)}
    variants = {"shifted": sets["shifted"], "random": sets["random"],
                "shifted inside": X.part_set(sub, clean, sets["shifted"], k, "inside"),
                "shifted outside": X.part_set(sub, clean, sets["shifted"], k, "outside")}
    accuracy = np.stack([X.train_and_test(config, variants[v].images, variants[v].labels, mnist) for v in X.VARIANTS])
    return accuracy, np.array([sets[kind].success for kind in X.TARGET_KINDS])


class _FailingFile:
    """A temporary file whose writes fail after the first two (a disk that fills up)."""

    def __init__(self, real):
        self._real, self._writes = real, 0

    def write(self, data):
        self._writes += 1
        if self._writes > 2:
            raise OSError(28, "No space left on device")
        return self._real.write(data)

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()


@pytest.mark.parametrize("spill", ["to a file", "held (the cache folder cannot be written)",
                                   "to a file until the disk is full"])
def test_the_lean_non_robust_experiment_equals_the_plain_composition_bit_for_bit(sub, trained_run, mnist, monkeypatch,
                                                                              tmp_path, spill):
    """``ilyas_experiment`` holds one copy of the training set at a time (the attacks written to files, one host array
    that training reads in place and that becomes the parts block by block, the coordinates kept in a file): none
    of it may change a number, whether the files can be written, cannot, or fill the disk half-way."""
    from dataclasses import replace

    from advx.config import TrainConfig
    from advx.explanations import ilyas

    small = replace(mnist, train_images=mnist.train_images[:1000], train_labels=mnist.train_labels[:1000],
                    test_images=mnist.test_images[:500], test_labels=mnist.test_labels[:500])
    monkeypatch.setattr(ilyas, "CHUNK", 400)  # attacks in chunks of 400, 400 and 200 rows
    monkeypatch.setattr(ilyas, "BLOCK", 300)  # the work in place in blocks of 300, 300, 300 and 100
    if spill.startswith("held"):
        monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path / "not-a-folder"))
        (tmp_path / "not-a-folder").write_text("a file where the folder would be")
    if spill.endswith("full"):
        import tempfile

        real = tempfile.TemporaryFile
        monkeypatch.setattr(ilyas.tempfile, "TemporaryFile", lambda **kw: _FailingFile(real(**kw)))
    trained_sets = []  # every training set, bit for bit, in the order trained on
    train_and_test = ilyas.train_and_test

    def recorded(config, images, labels, data):
        trained_sets.append((np.array(images).tobytes(), np.asarray(labels).tobytes()))
        return train_and_test(config, images, labels, data)

    monkeypatch.setattr(ilyas, "train_and_test", recorded)
    monkeypatch.setattr(X, "train_and_test", recorded)
    config, key = TrainConfig(epochs=2, batch_size=100), jax.random.key(7)
    lean = X.ilyas_experiment(trained_run.final_params, sub, 50, small, config, key, 0.9)
    lean_sets, trained_sets[:] = list(trained_sets), []
    accuracy, success = _plain_ilyas(trained_run.final_params, sub, 50, small, config, key, 0.9)
    order = [X.VARIANTS.index(v) for v in ("shifted", "shifted inside", "shifted outside", "random")]
    assert lean_sets == [trained_sets[i] for i in order]  # the lean route's order of training
    assert lean.accuracy.shape == (len(X.VARIANTS), 2)
    np.testing.assert_array_equal(lean.accuracy, accuracy)
    np.testing.assert_array_equal(lean.success, success)
    assert 0 < lean.accuracy.min() and lean.accuracy.max() <= 1


def test_a_linear_model_is_exactly_linear_along_its_attack(few):
    linear = X.linear_params(jax.random.key(0))
    ratio, flipped = X.along_attack(linear, *few, jax.random.key(0), "l2")
    np.testing.assert_allclose(ratio, 1.0, atol=1e-3)
    assert (np.diff(flipped) >= -1e-9).all()


def test_the_smallest_eps_at_initialisation(trained_run, few):
    init = X.initial_eps(trained_run, *few, jax.random.key(0), norm="linf", epochs=(0, 15, 99))
    assert list(init.epochs) == [0, 15] and init.smallest.shape == (2, 40)
    assert init.accuracy[1] > 0.9 and np.isfinite(init.smallest).mean() > 0.9


# ---- Verdicts follow the numbers


def test_every_verdict_moves_with_its_numbers():
    assert [V.logit_outside_verdict(s) for s in (0.9, 0.6, 0.3)] == ["holds", "partly", "fails"]
    assert [V.off_data_verdict(e, 0.87) for e in (0.95, 0.88, 0.6)] == ["holds", "partly", "fails"]
    assert [V.restricted_verdict(r) for r in (3.0, 1.5, 1.0, np.inf)] == ["holds", "partly", "fails", "holds"]
    assert [V.features_verdict(*a) for a in ((0.8, 0.6), (0.4, 0.1), (0.1, 0.12))] == ["holds", "partly", "fails"]
    assert [V.parts_verdict(*a) for a in ((0.6, 0.1), (0.6, 0.4), (0.2, 0.5))] == ["holds", "partly", "fails"]
    assert [V.linearity_verdict(r) for r in (1.1, 0.6, 3.0)] == ["holds", "partly", "fails"]
    assert [V.initial_verdict(*a) for a in ((0.04, 0.07, 1.0), (0.1, 0.07, 1.0), (0.5, 0.07, 1.0),
                                            (0.01, 0.07, 0.5))] == ["holds", "partly", "fails", "fails"]


def _splits(logit: float, energy: float) -> X.AttackSplits:
    ks = np.array([10, 103])
    full = lambda v: np.full((4, 2), v)  # noqa: E731
    return X.AttackSplits(ks=ks, energy_outside=full(energy), logit_outside=full(logit), random_outside=1 - ks / 784,
                          success=np.ones(4), size=np.ones(4), residual=np.zeros(4), logit_change=np.ones(4), eps=0.1,
                          norm="linf", n_images=10, k_level=103, level=0.95)


def test_the_findings_take_their_verdicts_from_made_up_numbers():
    assert [f["verdict"] for f in W.split_findings(_splits(0.9, 0.95))] == ["holds", "holds"]
    assert [f["verdict"] for f in W.split_findings(_splits(0.3, 0.5))] == ["fails", "fails"]
    assert "30%" in W.split_findings(_splits(0.3, 0.5))[0]["finding"]
    result = X.IlyasResult(accuracy=np.array([[0.7], [0.6], [0.65], [0.1]]), success=np.ones(2), standard=0.97,
                           k=103, eps=2.0)
    assert [f["verdict"] for f in W.ilyas_findings(result)] == ["holds", "holds"]
    result = result._replace(accuracy=np.array([[0.1], [0.1], [0.1], [0.3]]))
    assert [f["verdict"] for f in W.ilyas_findings(result)] == ["fails", "fails"]
    restricted = X.RestrictedAttacks(ks=np.array([10, 103, 784]), smallest=np.array([[3.0] * 4, [1.0] * 4, [0.9] * 4]),
                                     gallery=np.zeros((3, 1, 784)), gallery_eps=np.ones((3, 1)),
                                     originals=np.zeros((1, 784)), labels=np.array([1]), targets=np.array([2]),
                                     success_at=np.ones(3), eps_check=0.9, max_eps=10.0)
    assert W.restricted_findings(restricted, 10)[0]["verdict"] == "holds"
    assert W.restricted_findings(restricted, 103)[0]["verdict"] == "fails"
    lines = W.finding_lines(W.restricted_findings(restricted, 10))
    assert "**Holds** (The dimpled manifold)" in lines and "**Holds** (Bugs of the untrained directions)" in lines
    # The lines carry the point in words; the numbers go under "The numbers", once for the two findings they share.
    found = W.restricted_findings(restricted, 10)
    assert "3.00" not in lines and "much larger ε" in lines
    numbers = W.finding_numbers(found)
    assert len(numbers) == 1 and "3.00" in numbers[0] and "3.33 times" in numbers[0]
    assert found[0]["finding"] == f"{numbers[0]} {found[0]['point']}"


def test_every_figure_is_valid_plotly(tmp_path):
    splits = _splits(0.6, 0.7)
    figures = [
        F.split_curves(splits.ks, splits.logit_outside, splits.random_outside, W.ATTACK_LABELS, 103, title="t",
                       y_title="y"),
        F.restricted_eps(np.array([10, 50, 784]), np.array([[2, 3, np.inf], [1, 2, 3], [0.5, 1, 1]]), title="t"),
        F.gallery({"a": np.zeros((2, 784)), "b": np.ones((2, 784))}, {"a": ["x", "y"], "b": ["z", "w"]}, title="t"),
        F.accuracy_bars([{"trained on": "a", "clean test accuracy": 0.5}], chance=0.1, title="t"),
        F.model_curves(np.arange(3.0), {"mlp": np.ones(3), "linear": np.ones(3)}, {"mlp": "m", "linear": "l"}, 1.0,
                       title="t", x_title="x", y_title="y"),
        F.epoch_eps(np.array([0, 1]), np.ones((2, 5)), np.array([0.1, 0.9]), norm_label="L2", title="t"),
        F.boundary_lines(np.array([0, 1]), {"inside": np.ones(2), "outside": np.zeros(2)},
                         {"inside": "on", "outside": "off"}, title="t"),
    ]
    for fig in figures:
        go.Figure(fig.to_dict())  # validates every property
    path = storage.save(tmp_path / "s.npz", *tuple_codec(X.AttackSplits).encode(splits)[:1], "s", {"a": 1})
    assert storage.load(path, "s", {"a": 1}) is not None


def test_the_boundary_during_training(sub, trained_run, few):
    found = X.boundary_over_training(trained_run, sub, 50, few[0][:12], epochs=(0, 15))
    assert found.inside.shape == found.outside.shape == found.anywhere.shape == (2, 12)
    assert (np.median(found.anywhere, 1) <= np.median(found.inside, 1)).all()
    assert ((found.energy_outside >= 0) & (found.energy_outside <= 1)).all()
    made_up = found._replace(inside=np.full((2, 12), 2.0), outside=np.full((2, 12), 1.0))
    assert W.boundary_findings(made_up)[0]["verdict"] == "holds"
    assert W.boundary_findings(made_up._replace(outside=np.full((2, 12), 3.0)))[0]["verdict"] == "fails"
    assert [V.cling_verdict(r) for r in ([0.5, 0.6], [0.5, 1.2], [1.0, 1.1])] == ["holds", "partly", "fails"]
