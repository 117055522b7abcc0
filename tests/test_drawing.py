"""advx.drawing: MNIST's preprocessing on hand-made drawings and on MNIST itself, links and example files, the
shipped examples, the networks list, a network's reading, the PGD-ε search, the sentences and the figures."""

from __future__ import annotations

import base64
import zlib

import jax
import numpy as np
import plotly.graph_objects as go
import pytest

from advx import attacks as A
from advx import drawing as D
from advx.figures import drawing as F
from advx.text import drawing as drawing_words


def _com(image) -> tuple[float, float]:
    return D.centre_of_mass(image)


# ---- Preprocessing on hand-made drawings


def test_area_resize_averages_exactly():
    w = D.area_weights(7, 3)
    assert np.allclose(w.sum(axis=1), 1.0) and np.allclose(w.sum(axis=0), 3 / 7)
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    assert np.allclose(D.area_resize(img, 2, 2), [[2.5, 4.5], [10.5, 12.5]])  # 2 x 2 block means
    assert np.allclose(D.area_resize(np.full((9, 5), 0.3), 20, 11), 0.3)  # enlarging keeps a constant


def test_a_centred_square_fills_the_box_and_is_centred():
    raw = np.zeros((100, 100), np.float32)
    raw[30:70, 30:70] = 1.0
    pre = D.preprocess(raw)
    assert pre.box == (30, 30, 70, 70) and pre.scaled == (20, 20) and pre.issues == ()
    ink = np.argwhere(pre.image > 0)
    assert ink.min(axis=0).tolist() == [5, 5] and ink.max(axis=0).tolist() == [24, 24]  # centre of mass 14.5: halves round up
    assert np.allclose(pre.image[5:25, 5:25], 1.0) and pre.image.sum() == pytest.approx(400)


def test_an_off_centre_bar_is_moved_to_the_middle_and_reported():
    corner, middle = np.zeros((140, 140), np.float32), np.zeros((140, 140), np.float32)
    corner[2:12, 0:60] = 1.0
    middle[65:75, 40:100] = 1.0
    far, near = D.preprocess(corner), D.preprocess(middle)
    assert np.array_equal(far.image, near.image)  # MNIST's preprocessing ignores where on the pad it was drawn
    assert far.scaled == (4, 20)  # 10 x 60 scaled by 1/3: 3.33 rows, in 4 whole pixels
    cy, cx = _com(far.image)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert D.OFF_CENTRE in far.issues and D.AT_EDGE in far.issues and near.issues == ()


def test_a_tall_thin_one_keeps_its_aspect_ratio_with_grey_edges():
    raw = np.zeros((140, 140), np.float32)
    raw[20:120, 64:77] = 1.0  # 100 tall, 13 wide: 20 x 2.6 once scaled
    pre = D.preprocess(raw)
    assert pre.scaled == (20, 3)
    ink = np.argwhere(pre.image > 0)
    assert ink[:, 0].max() - ink[:, 0].min() + 1 == 20 and ink[:, 1].max() - ink[:, 1].min() + 1 == 3
    assert ((pre.image > 0) & (pre.image < 1)).any(), "area averaging gives grey levels at the edges"
    assert pre.image.sum() == pytest.approx(100 * 13 * (20 / 100) ** 2, rel=1e-5)  # ink is conserved up to the scale
    assert abs(_com(pre.image)[1] - 14) <= 0.5


def test_bad_drawings_are_reported_never_raised():
    empty = D.preprocess(np.zeros((140, 140)))
    assert empty.issues == (D.EMPTY,) and not empty.image.any() and empty.box is None
    solid = D.preprocess(np.ones((140, 140)))
    assert D.SOLID in solid.issues and np.allclose(solid.image[5:25, 5:25], 1)
    dot = np.zeros((140, 140))
    dot[70:75, 70:75] = 1
    assert D.DOT in D.preprocess(dot).issues
    lopsided = np.zeros((140, 140))
    lopsided[55:85, 0:30] = 1  # a heavy blob at the end of a long thin line: centring its mass would push
    lopsided[69:71, 30:140] = 1  # the line's end out of the field
    clipped = D.preprocess(lopsided)
    assert D.CLIPPED in clipped.issues and clipped.shift[1] == 8 and clipped.image[:, -1].any()
    for bad, words in ((np.full((4, 4), np.nan), "NaN"), (np.zeros((2, 2, 2)), "2-D"), (np.zeros((0, 5)), "2-D"),
                       (np.zeros((5000, 2)), "at most"), ([["a"]], "numbers")):
        with pytest.raises(D.DrawingError, match=words):
            D.preprocess(bad)


# ---- Preprocessing on MNIST itself


def test_preprocessing_mnist_test_images_changes_them_little(mnist, trained_run):
    """Measured: 9,997 of the 10,000 test images come back unchanged to the last bit; the 3 others touch the
    field's edge (their ink cannot be centred further) and move by at most 0.074 per pixel on average. The
    trained network's answers do not change on any image."""
    x = mnist.test_images.astype(np.float32) / 255
    out = np.stack([D.preprocess(image).image for image in x])
    change = np.abs(out - x).mean(axis=(1, 2))
    unchanged = (np.abs(out - x).max(axis=(1, 2)) == 0).mean()
    assert unchanged >= 0.999, unchanged
    assert change.max() <= 0.08, change.max()
    before = np.asarray(A.predictions(trained_run.final_params, x.reshape(-1, 784)))
    after = np.asarray(A.predictions(trained_run.final_params, out.reshape(-1, 784)))
    assert (before == after).all()
    kept = [D.as_input(D.decode_link(D.encode_link(image))) for image in x[:300]]
    assert all(D.REDONE not in p.issues for p in kept)


# ---- Links and text


def test_links_round_trip_and_stay_short():
    rng = np.random.default_rng(0)
    images = [rng.random((28, 28)) for _ in range(50)] + [np.zeros((28, 28)), np.ones((28, 28))]
    for image in images:
        text = D.encode_link(image)
        assert len(text) < D.MAX_LINK_CHARS and set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                                  "0123456789-_")
        assert np.abs(D.decode_link(text) - image).max() <= 1 / 30 + 1e-6
    assert np.array_equal(D.decode_link(D.encode_link(D.decode_link(text))), D.decode_link(text))


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("abc$def", "characters"), ("A" * 700, "700 characters"), ("abcd", "damaged"),
    (base64.urlsafe_b64encode(zlib.compress(bytes(391))).decode().rstrip("="), "391 bytes"),
    (base64.urlsafe_b64encode(zlib.compress(bytes(100_000))).decode().rstrip("="), "more than 393"),
])
def test_bad_links_raise_a_link_error_saying_what_is_wrong(text, words):
    with pytest.raises(D.LinkError, match=words):
        D.decode_link(text)


def test_text_form_round_trips_and_names_the_bad_line():
    image = np.zeros((28, 28))
    image[5:20, 10:14] = np.linspace(0, 1, 15)[:, None]
    text = D.to_text(image)
    assert len(text.splitlines()) == 28 and all(len(line) == 28 for line in text.splitlines())
    assert np.abs(D.from_text(text) - image).max() <= 1 / 30 + 1e-6
    with pytest.raises(D.DrawingError, match="28 lines"):
        D.from_text("...\n")
    with pytest.raises(D.DrawingError, match="line 3"):
        D.from_text("\n".join(line if i != 2 else "x" * 28 for i, line in enumerate(text.splitlines())))


def test_the_pad_raster_is_checked():
    raw = np.arange(16, dtype=np.uint8).reshape(4, 4) * 17
    assert np.allclose(D.decode_raster(base64.b64encode(raw.tobytes()).decode(), 4), raw / 255)
    for text, size, words in (("AAAA", 4, "16 bytes"), ("***", 2, "base64"), ("", 0, "1 to 1024")):
        with pytest.raises(D.DrawingError, match=words):
            D.decode_raster(text, size)


def test_an_input_from_a_link_is_kept_unless_it_is_not_shaped_as_mnists():
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1.0
    kept = D.as_input(image)
    assert np.array_equal(kept.image, image) and kept.issues == ()
    corner = np.zeros((28, 28), np.float32)
    corner[0:6, 0:6] = 1.0
    redone = D.as_input(corner)
    assert D.REDONE in redone.issues and abs(_com(redone.image)[0] - 14) <= 0.5
    with pytest.raises(D.DrawingError, match="28 × 28"):
        D.as_input(np.zeros((10, 10)))


# ---- Examples and networks


def test_shipped_examples_are_read_correctly(trained_run):
    """Measured: all 12 shipped drawings (0-9, a crossed 7, a plain 1) are read as the digit they show."""
    examples = D.load_examples()
    assert len(examples) >= 10 and {e.digit for e in examples.values()} == set(range(10))
    images = np.stack([e.image.reshape(-1) for e in examples.values()])
    read = np.asarray(A.predictions(trained_run.final_params, images))
    share = float((read == [e.digit for e in examples.values()]).mean())
    assert share >= 0.9, dict(zip(examples, read.tolist()))


def test_a_bad_example_file_is_named(tmp_path):
    (tmp_path / "3-bad.txt").write_text("....\n")
    with pytest.raises(D.DrawingError, match="3-bad.txt"):
        D.load_examples(tmp_path)
    assert D.load_examples(tmp_path / "absent") == {}


def test_the_street_smart_network_is_found_only_when_stored():
    trained = {"hidden": [64, 64], "epochs": 15}
    robust = {"hidden": [64, 64], "adversarial_norm": "linf", "adversarial_eps": 0.1}
    listing = [{"run_id": "a", "config": trained}, {"run_id": "b", "config": {**robust, "hidden": [32]}},
               {"run_id": "c", "config": robust}]
    assert not D.is_street_smart(trained) and D.is_street_smart(robust)
    assert D.street_smart_run(listing, trained)["run_id"] == "c"
    assert D.street_smart_run(listing[:2], trained) is None
    assert [n.name for n in D.NETWORKS] == ["trained", "street_smart"] and D.NETWORKS[0].find is None


# ---- Reading and fooling


def test_a_reading_matches_the_library(trained_run, mnist):
    params = trained_run.final_params
    x = mnist.test_images[0].astype(np.float32) / 255
    width = params["Layer_1"]["kernel"].shape[1]
    reading = D.read(params, x, {"Layer_1": np.ones(width), "Layer_2": np.ones(width)})
    assert np.allclose(reading.probabilities, np.asarray(A.probabilities(params, x.reshape(1, -1)))[0], atol=1e-6)
    assert reading.prediction == mnist.test_labels[0] and set(reading.counts) == {"Layer_1", "Layer_2"}
    assert all(sum(c) == width for c in reading.counts.values())
    assert D.share_below(2, [1, 2, 3, 4]) == pytest.approx(0.375) and np.isnan(D.share_below(np.nan, [1]))


def test_minimal_pgd_eps_flips_where_the_overlay_needs_far_more(trained_run, mnist):
    """One image per call, as the page asks (one compilation for every network of these shapes)."""
    params, model = trained_run.final_params, A.as_model_fn(trained_run.final_params)
    resolution = 1.0 / 8 / 2**8
    for index in range(3):
        x = mnist.test_images[index].reshape(1, -1).astype(np.float32) / 255
        target = 1 if mnist.test_labels[index] == 0 else 0
        eps = float(A.minimal_pgd_eps(model, x, target, 1.0, jax.random.key(0))[0])
        assert 0 < eps <= 1.0
        fooling = D.fool(params, x, target, 0.2)
        assert fooling.pgd_eps == pytest.approx(eps) and fooling.pgd_eps < fooling.overlay_eps
        below = A.pgd(model, x, [target], max(eps - resolution, 0.0), jax.random.key(0), targeted=True)
        assert int(np.asarray(A.predictions(params, below))[0]) != target  # the bisection's lower end failed
    assert float(A.minimal_pgd_eps(model, x, int(mnist.test_labels[2]), 1.0, jax.random.key(0))[0]) == 0.0
    blank = jax.tree_util.tree_map(lambda a: a * 0, params)  # answers 0 to everything, whatever the input
    assert np.isinf(float(A.minimal_pgd_eps(A.as_model_fn(blank), x, 3, 1.0, jax.random.key(0))[0]))
    with pytest.raises(A.AttackError):
        A.minimal_pgd_eps(model, x, 11, 1.0, jax.random.key(0))


# ---- Words and figures


def test_sentences_follow_the_numbers():
    empty = D.preprocess(np.zeros((10, 10)))
    assert "empty" in drawing_words.issue_messages(empty, 10)[0][1]
    solid = D.preprocess(np.ones((140, 140)))
    assert any("solid" in text for _, text in drawing_words.issue_messages(solid, 140))
    test_shares = np.linspace(0.8, 1.0, 1000)
    assert "further outside the subspace than 99%" in drawing_words.subspace_sentence(0.5, 100, 0.95, test_shares)
    assert "looks like a digit" in drawing_words.subspace_sentence(0.9, 100, 0.95, test_shares)
    counts = np.tile([50, 10, 4], (100, 1))
    assert "not treating this like" in drawing_words.neuron_sentence("Layer_1", (30, 10, 24), counts)
    fooling = D.Fooling(0, 0.3, "linf", np.zeros(784), np.zeros(784), np.eye(10)[0], 0.25, 0.05)
    text = " ".join(drawing_words.fool_sentences("The trained network", fooling, 7))
    assert "into **0**" in text and "0.25" in text and "5.0× smaller" in text


def test_figures_are_valid_plotly():
    raw = np.zeros((140, 140))
    raw[20:120, 60:80] = 1
    for fig in (F.raw_panel(raw, (20, 60, 120, 80), "as drawn"), F.input_panel(np.zeros((28, 28)), "input"),
                F.probability_bars(np.full(10, 0.1), "p"),
                F.against_test(np.arange(100) % 7, 3, title="t", x_title="x", discrete=True),
                F.against_test(np.random.default_rng(0).random(100), np.nan, title="t", x_title="x")):
        go.Figure(fig.to_dict())  # validates every property
    assert len(F.raw_panel(raw, None, "r").data[0].z) == F.RAW_DISPLAY


def test_the_kept_pgd_eps_of_a_drawing_is_the_search_s_own_and_read_back(trained_run):
    """``advx.experiments.drawing_pgd_eps`` keeps the smallest PGD ε of a shipped drawing on disk (what a restarted
    server reads for a first visit): the number is the search's own, read back from its file, and another drawing
    or target is another result."""
    from advx import experiments as E

    x = D.as_input(np.array(D.load_examples()["7"].image)).image
    spec = E.drawing_pgd_eps.spec(trained_run, x, 0, "linf")
    value = spec.get()
    assert value == D.smallest_pgd_eps(trained_run.final_params, x, 0, "linf")
    assert 0 < value < A.EPS_GRID["linf"][-1] and spec.path().exists() and spec.read() == value
    others = {E.drawing_pgd_eps.spec(trained_run, x, 3, "linf").digest,
              E.drawing_pgd_eps.spec(trained_run, np.clip(x + 0.01, 0, 1), 0, "linf").digest}
    assert spec.digest not in others and len(others) == 2
