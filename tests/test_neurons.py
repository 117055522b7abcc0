"""Neuron names, activations, statistics and sparsity, the pages' sentences and the neuron figures
(advx.neurons.naming, .activity; advx.text.neurons; advx.figures.neurons): against NumPy loops and hand-made cases."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from advx import neurons as N
from advx.neurons import activity
from advx import vocabulary as V
from advx.text import neurons as words
from neuron_support import numpy_layers, random_images, random_params


# ------------------------------------------------------------------ activations and sparsity


def test_activations_match_numpy_forward_and_accept_uint8():
    params = random_params()
    x8 = (np.arange(6 * 784) * 37 % 256).astype(np.uint8).reshape(6, 784)
    ref = numpy_layers(params, x8 / 255.0)
    acts = N.activations(params, x8)
    assert set(acts) == {"Layer_1", "Layer_2"}
    for name, a in acts.items():
        np.testing.assert_allclose(np.asarray(a), ref[name][1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(N.layer_activation(params, x8, "output")), ref["output"][1],
                               rtol=1e-4, atol=1e-6)


def test_sparsity_levels_on_hand_made_case():
    acts = np.array([
        [10.0, 4.0, 0.5, 0.0],   # shares of neuron max: 1.0, 0.5 (a boundary: high), 0.05, 0
        [5.0, 0.8, 1.0, 0.0],    # 0.5, 0.1 (a boundary: mild), 0.1, 0
        [4.9, 0.79, 0.0, 0.0],   # 0.49, 0.09875, 0, 0
        [0.0, 0.0, 0.0, 0.0],    # nothing fires
    ])
    neuron_max = np.array([10.0, 8.0, 10.0, 0.0])  # neuron 3 is dead
    lv = N.activation_levels(acts, neuron_max, definition="neuron_max")
    H, M, I = N.HIGH, N.MILD, N.INACTIVE
    np.testing.assert_array_equal(lv, [[H, H, I, I], [H, M, M, I], [M, I, I, I], [I, I, I, I]])
    np.testing.assert_array_equal(N.level_counts(lv), [[2, 0, 2], [1, 2, 1], [3, 1, 0], [4, 0, 0]])

    # Relative to each image's own largest activation in the layer.
    lv = N.activation_levels(acts, definition="image_max")
    # row 0 shares 1, .4, .05, 0; row 1: 1, .16, .2, 0; row 2: 1, .161, 0, 0; row 3: all zero.
    np.testing.assert_array_equal(lv, [[H, M, I, I], [H, M, M, I], [H, M, I, I], [I, I, I, I]])

    # Thresholds are adjustable.
    lv = N.activation_levels(acts, neuron_max, definition="neuron_max", high=0.9, mild=0.45)
    np.testing.assert_array_equal(lv, [[H, M, I, I], [M, I, I, I], [M, I, I, I], [I, I, I, I]])
    # mild=0 still calls an exact 0 inactive.
    lv = N.activation_levels(acts, neuron_max, definition="neuron_max", high=0.5, mild=0.0)
    np.testing.assert_array_equal(lv[0], [H, H, M, I])


@pytest.mark.parametrize("high,mild", [(0.5, 0.5), (0.3, 0.4), (1.2, 0.1), (0.5, -0.1)])
def test_bad_thresholds_are_rejected(high, mild):
    with pytest.raises(N.ThresholdError, match="0 <= mild < high <= 1"):
        N.activation_levels(np.ones((2, 3)), np.ones(3), high=high, mild=mild)


def test_sparsity_and_neuron_stats_match_numpy():
    params = random_params()
    train, test = random_images(200, seed=2), random_images(40, seed=3)
    stats = N.neuron_stats(params, train)
    ref_train = numpy_layers(params, train)
    ref_test = numpy_layers(params, test)
    sp = N.sparsity(params, test, stats, definition="neuron_max", high=0.5, mild=0.1)
    assert set(sp) == {"Layer_1", "Layer_2"}
    logits = ref_train["output"][0]
    np.testing.assert_allclose(stats["output"].firing_rate, (logits > 0).mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(stats["output"].neuron_max, np.maximum(logits, 0).max(axis=0), rtol=1e-4, atol=1e-6)
    for name in ("Layer_1", "Layer_2"):
        a_train = ref_train[name][1]
        np.testing.assert_allclose(stats[name].neuron_max, a_train.max(axis=0), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(stats[name].firing_rate, (a_train > 0).mean(axis=0), atol=1e-6)
        a = ref_test[name][1]
        expected = np.zeros((len(test), 3), int)
        for i in range(len(test)):  # plain loop over images and neurons
            for j in range(a.shape[1]):
                mx = a_train[:, j].max()
                share = a[i, j] / mx if mx > 0 else 0.0
                level = 2 if (a[i, j] > 0 and share >= 0.5) else 1 if (a[i, j] > 0 and share >= 0.1) else 0
                expected[i, level] += 1
        np.testing.assert_array_equal(sp[name].counts, expected)
        assert sp[name].width == 64
        assert sp[name].mean(N.HIGH) == pytest.approx(expected[:, 2].mean())


@pytest.mark.parametrize("chunk", [200, 7])
def test_neuron_stats_are_the_same_in_chunks_of_any_size(monkeypatch, chunk):
    """``neuron_stats`` in chunks (the last one shorter) equals the stats of one pass over all images, computed here
    from ``all_layer_outputs`` with NumPy: the maxima bit for bit, the rates to the last bit of a float32 count over n."""
    params = random_params()
    train = random_images(200, seed=4)
    monkeypatch.setattr(activity, "STATS_CHUNK", chunk)
    stats = N.neuron_stats(params, train)
    for name, (_, post) in N.all_layer_outputs(params, jnp.asarray(train), "relu_logit").items():
        post = np.asarray(post)
        np.testing.assert_array_equal(stats[name].neuron_max, post.max(axis=0))
        np.testing.assert_allclose(stats[name].firing_rate, (post > 0).sum(axis=0) / 200, rtol=1e-7, atol=0)
        assert stats[name].n_images == 200


# ------------------------------------------------------------------ neuron references


def test_neuron_codes_parse_and_correct():
    widths = {"Layer_1": 64, "Layer_2": 64, "output": 10}
    assert N.parse_neuron("L2:5", widths) == ("Layer_2", 5)
    assert N.parse_neuron("output:0", widths) == ("output", 0)
    assert N.parse_neuron("Layer_1:63", widths) == ("Layer_1", 63)
    assert N.parse_neuron("out:9", widths) == ("output", 9)
    assert N.neuron_code("Layer_2", 5) == "L2:5" and N.neuron_code("output", 3) == "output:3"
    assert N.neuron_label("Layer_2", 5) == "Layer_2 #5"
    with pytest.raises(N.UnknownNeuronError, match="0 to 9"):
        N.parse_neuron("output:10", widths)
    with pytest.raises(N.UnknownLayerError):
        N.parse_neuron("L7:1", widths)
    assert N.nearest_neuron("L2:999", widths, "L1:0")[0] == "L2:63"
    assert N.nearest_neuron("output:-4", widths, "L1:0")[0] == "output:0"
    code, note = N.nearest_neuron("L9:3", widths, "L1:0")
    assert code == "L1:0" and "unknown layer" in note
    assert N.nearest_neuron("garbage", widths, "L1:1")[0] == "L1:1"
    assert N.nearest_neuron("L1:2", widths, "L1:0") == ("L1:2", None)
    assert N.nearest_neuron("Layer_2:7", widths, "L1:0") == ("L2:7", None)
    codes = N.all_neuron_codes(widths)
    assert len(codes) == 138 and codes[64] == "L2:0" and codes[-1] == "output:9"


# ------------------------------------------------------------------ the pages' sentences


def _layer_sparsity(layer, counts, width=64):
    counts = np.asarray(counts)
    return N.LayerSparsity(layer, "neuron_max", 0.5, 0.1, np.zeros((len(counts), width), np.int8), counts)


def test_post_verdict_counts_within_half_of_the_post_as_reproduced():
    # columns inactive, mild, high; the post says about 3 high and about 10 mild
    near = _layer_sparsity("Layer_1", [[50, 10, 4], [54, 5, 5], [51, 11, 2], [44, 14, 6]])  # 4.25 high, 10 mild
    edge = _layer_sparsity("Layer_2", [[48, 15, 1], [47, 15, 2]])  # exactly 1.5 high and 15 mild
    far = _layer_sparsity("Layer_3", [[54, 4, 6], [54, 4, 6]])  # 6 high, 4 mild
    verdict = words.post_verdict({"Layer_1": near, "Layer_2": edge, "Layer_3": far})
    assert "Layer_1 reproduces the ~3 highly activated neurons (4.2) and reproduces the ~10 mildly" in verdict
    assert "Layer_2 reproduces the ~3 highly activated neurons (1.5) and reproduces the ~10" in verdict
    assert "Layer_3 does not reproduce the ~3 highly activated neurons (6.0) and does not reproduce the ~10" in verdict
    assert words.sparsity_sentence(far) == ("**Layer_3**: on average 6.0 high and 4.0 mild of 64 (medians 6 and 4); "
                                        "54.0 inactive.")


def test_measure_notes_and_summary_say_n_a_for_a_dead_neuron():
    nan = float("nan")
    layer = {"effective_high_frequency": np.array([0.81234, 0.5]), "effective_roughness": np.array([1.9, 1.0]),
             "average_high_frequency": np.array([nan, 0.01]), "average_roughness": np.array([nan, 0.4]),
             "correlation": np.array([nan, 0.25])}
    assert words.measure_note(layer, 0, "effective") == "HF 0.812 · rough 1.90"
    assert words.measure_note(layer, 0, "average") == "HF n/a · rough n/a · r n/a"
    assert words.measure_note(layer, 1, "average") == "HF 0.010 · rough 0.40 · r 0.25"
    assert V.format_number(None) == V.format_number(nan) == "n/a" and V.format_number(2) == "2.00"
    widths = {"Layer_1": 2, "output": 10}
    summary = words.noise_summary(["L1:0", "L1:1"], widths, {"Layer_1": layer}, {"Layer_1": layer}, 3)
    # medians over the two neurons; the dead neuron's missing average is left out, not counted as 0
    assert "at epoch 3: the effective weights put **0.656**" in summary and "the dataset averages **0.010**" in summary
    assert "median r = 0.25" in summary
    rows = words.measures_rows(["L1:1"], widths, {"Layer_1": layer}, {"Layer_1": layer}, 3)
    assert rows[0]["neuron"] == "Layer_1 #1" and rows[0]["r(effective, average) (epoch 3)"] == 0.25


# ------------------------------------------------------------------ integration: the default trained run
#
# Measured on the default run (784-64-64-10, 15 epochs, 97.8% test accuracy) when these tests were written:
# per test image, relative to each neuron's training-set maximum (high >= 50%, mild 10-50%):
# Layer_1 mean 2.1 high (median 2) and 23.4 mild; Layer_2 3.1 high (median 2) and 27.8 mild.
# Relative to the image's own maximum: 10.3 and 12.0 high.
# The thresholds below leave room for other seeds while still failing if the claims stop holding.


def test_median_test_image_has_few_highly_active_neurons(trained_run, mnist):
    params = trained_run.final_params
    stats = N.neuron_stats(params, mnist.train_images.reshape(-1, 784))
    test = mnist.test_images.reshape(-1, 784)
    by_neuron = N.sparsity(params, test, stats, definition="neuron_max")
    by_image = N.sparsity(params, test, stats, definition="image_max")
    for layer, s in by_neuron.items():
        assert s.median(N.HIGH) <= 5 and s.mean(N.HIGH) <= 6, (layer, s.mean(N.HIGH))
        # The post's "about 10 mildly activated" is not what this network does: far more are mild.
        assert s.mean(N.MILD) >= 15, (layer, s.mean(N.MILD))
        # Relative to the image's own maximum many more neurons count as high.
        assert by_image[layer].mean(N.HIGH) > 2 * s.mean(N.HIGH)
        # Dead neurons are few, and they are inactive on every test image.
        assert len(stats[layer].dead_neurons) <= 0.1 * s.width
        assert np.all(s.levels[:, stats[layer].dead] == N.INACTIVE)


# ------------------------------------------------------------------ figures


def test_map_grid_shares_one_centred_scale_and_names_facets():
    from plotly.colors import get_colorscale

    from advx.figures import maps as M
    from advx.figures import neurons as F

    maps = np.random.default_rng(0).standard_normal((784, 5))
    maps[:, 2] *= 7  # the largest magnitude sets the shared bound
    names = ["Layer_2 #5", "Layer_2 #9", "output #0", "output #3", "Layer_1 #1"]
    fig = F.map_grid(maps, names, notes=[f"HF {facet}" for facet in range(5)], dead=[False, True, False, False, False], ncols=2)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 1 and heatmaps[0].coloraxis == "coloraxis"  # one mosaic for the grid
    axis = fig.layout.coloraxis
    bound = np.abs(maps[:, [0, 2, 3, 4]]).max()  # the dead map does not set the scale
    assert axis.cmid == 0 and axis.cmin == pytest.approx(-bound) and axis.cmax == pytest.approx(bound)
    assert [c[1] for c in axis.colorscale] == [c[1] for c in get_colorscale("RdBu_r")]
    titles = [a.text.split("<br>")[0] for a in fig.layout.annotations if "never fires" not in a.text]
    assert titles == ["Layer_2 #5", "Layer_2 #9 (dead)", "output #0", "output #3", "Layer_1 #1"]
    assert sum("never fires" in a.text for a in fig.layout.annotations) == 1
    tiles = M.tiles(fig)
    np.testing.assert_array_equal(tiles[1][1], 0.0)
    np.testing.assert_allclose(tiles[0][1], maps[:, 0].reshape(28, 28))
    grey = F.map_grid(np.clip(maps, 0, 1), names, signed=False)
    assert (grey.layout.coloraxis.cmin, grey.layout.coloraxis.cmax) == (0, 1)
    with pytest.raises(ValueError, match="5 maps but 2 titles"):
        F.map_grid(maps, names[:2])


def test_activation_bars_are_sorted_and_coloured_by_level():
    from advx.figures import neurons as F

    acts = np.array([0.0, 3.0, 0.5, 1.0, 0.2])
    levels = np.array([N.INACTIVE, N.HIGH, N.MILD, N.HIGH, N.INACTIVE])
    fig = F.activation_bars(acts, levels, "Layer_1")
    assert list(fig.layout.xaxis.categoryarray) == ["#1", "#3", "#2", "#4", "#0"]
    by_name = {t.name.split(" ")[0]: t for t in fig.data}
    assert list(by_name["high"].x) == ["#1", "#3"] and list(by_name["high"].y) == [3.0, 1.0]
    assert list(by_name["mild"].x) == ["#2"] and list(by_name["inactive"].x) == ["#4", "#0"]
    assert by_name["high"].name == "high (2)"
    # the neurons at 0 draw no bar at the right end: the axis says so, and how many
    assert fig.layout.xaxis.title.text == "Layer_1 neurons, largest first; the 1 at 0 have no bar"
    assert "at 0" not in F.activation_bars(acts + 0.1, levels, "Layer_1").layout.xaxis.title.text


def test_firing_rates_mark_the_dead_neurons():
    from advx.figures import neurons as F

    fig = F.firing_rates({"Layer_1": np.array([0.5, 0.0, 0.9, 0.0]), "Layer_2": np.array([0.2, 0.4])})
    crosses = [t for t in fig.data if t.type == "scatter"]
    assert len(crosses) == 1 and list(crosses[0].x) == ["#1", "#3"] and list(crosses[0].y) == [0, 0]
    assert list(fig.data[0].x) == ["#2", "#0", "#1", "#3"]
    assert fig.layout.xaxis.title.text.endswith("× 2 dead") and "dead" not in fig.layout.xaxis2.title.text


def test_count_histograms_are_shares_of_images():
    from advx.figures import neurons as F

    counts = {"Layer_1": np.array([[60, 1, 3], [61, 0, 3], [58, 4, 2]])}
    fig = F.count_histograms(counts, {"Layer_1": 64})
    high, mild = fig.data
    assert list(high.x) == [0, 1, 2, 3] and np.allclose(high.y, [0, 0, 1 / 3, 2 / 3])
    assert np.isclose(sum(mild.y), 1.0) and np.isclose(mild.y[4], 1 / 3)
