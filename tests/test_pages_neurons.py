"""AppTest for the neuron pages: widgets, links that reopen a view, and links with invalid values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import plotly.colors
import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import assert_ran, open_page, picture_pixels, pictures
from advx.figures import maps as M
from advx.text import neurons as words
from ui import maps

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180
ACTIVATIONS = str(ROOT / "views" / "activations.py")
EFFECTIVE = str(ROOT / "views" / "effective_weights.py")
AVERAGES = str(ROOT / "views" / "dataset_averages.py")
COMPARE = str(ROOT / "views" / "compare.py")


@pytest.fixture(scope="module", autouse=True)
def _default_run_is_stored(trained_run):
    """The pages load the default run from the store; make sure it is there before they run."""
    return trained_run


def _open(path: str, hover: bool = True, **query) -> AppTest:
    """The page at ``path`` with the link ``query``, its maps as the charts the tests read unless ``hover`` is
    False."""
    return open_page(path, TIMEOUT, hover=hover, **query)


_ok = assert_ran


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _titles(spec: dict) -> list[str]:
    """Facet titles of a map grid (each tile's title, its lines joined, without the notes under it), in order."""
    return [" ".join(line for line in a["text"].split("<span")[0].split("<br>") if line)
            for a in spec["layout"].get("annotations", []) if "text" in a]


def _plain(text: str) -> str:
    """An annotation's text without its markup (a long title or note is wrapped over several lines)."""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def _grid(at: AppTest, layer: str) -> dict:
    for spec in _specs(at):
        title = spec["layout"].get("title", {}).get("text", "") or ""
        if title.startswith(layer):
            return spec
    raise AssertionError(f"no grid titled {layer}")


def _notes(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "Link corrected" in w.value]


def _query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


# ------------------------------------------------------------------ Activations


def test_activations_default_view_and_widgets():
    at = _open(ACTIVATIONS)
    _ok(at)
    titles = [s["layout"].get("title", {}).get("text", "") for s in _specs(at)]
    # image, one bar chart per hidden layer, the count histograms, the firing rates
    assert len(titles) == 5
    assert titles[1].startswith("Layer_1: ") and titles[2].startswith("Layer_2: ")
    text = " ".join(m.value for m in at.markdown)
    assert "on average" in text and "of 64" in text and "Compared with the post" in text
    assert _query(at)["def"] == "neuron_max" and _query(at)["image"] == "0"
    before = [m.value for m in at.markdown if m.value.startswith("**Layer_1**")]

    at.radio(key="act_thresholds_def").set_value("image_max").run()
    _ok(at)
    after = [m.value for m in at.markdown if m.value.startswith("**Layer_1**")]
    assert after != before and _query(at)["def"] == "image_max"

    at.number_input(key="act_image_index").set_value(5).run()
    _ok(at)
    assert _query(at)["image"] == "5"
    assert any("test image #5" in t for s in _specs(at) for t in _titles(s))

    at.radio(key="act_image_mode").set_value("digit").run()
    at.selectbox(key="act_image_digit").set_value(3).run()
    _ok(at)
    assert any(m.value.startswith("Label **3**") for m in at.markdown)
    first = _query(at)
    at.button(key="act_image_another").click().run()
    _ok(at)
    assert _query(at)["draw"] == str(int(first["draw"]) + 1) and _query(at)["digit"] == "3"
    assert any(m.value.startswith("Label **3**") for m in at.markdown)


def test_activations_link_reopens_view():
    at = _open(ACTIVATIONS, pick="digit", digit="4", draw="2", **{"def": "image_max"}, high="0.6", mild="0.2")
    _ok(at)
    assert not _notes(at)
    assert at.radio(key="act_thresholds_def").value == "image_max"
    assert at.slider(key="act_thresholds_range").value == (0.2, 0.6)
    assert any(m.value.startswith("Label **4**") for m in at.markdown)
    assert "mild from 20%, high from 60%" in " ".join(c.value for c in at.caption)


def test_activations_invalid_link_is_corrected():
    at = _open(ACTIVATIONS, image="99999", **{"def": "bogus"}, high="0.1", mild="0.7", pick="x")
    _ok(at)
    notes = " ".join(_notes(at))
    assert "image=99999" in notes and "def=bogus" in notes and "mild=0.7" in notes
    assert _query(at)["image"] == "9999" and _query(at)["def"] == "neuron_max"
    assert (_query(at)["mild"], _query(at)["high"]) == ("0.1", "0.5")
    assert len(_specs(at)) == 5


# ------------------------------------------------------------------ Maps as pictures




@pytest.mark.parametrize("path, toggle, count", [(EFFECTIVE, "ew_hover", 1), (AVERAGES, "da_hover", 2),
                                                 (COMPARE, "cmp_hover", 8)])
def test_maps_start_as_pictures_of_the_same_figures(path, toggle, count):
    at = _open(path, hover=False)
    _ok(at)
    assert at.toggle(key=toggle).value is False and not at.get("plotly_chart")
    drawn = [picture_pixels(html) for html in pictures(at)]
    assert len(drawn) == count
    at.toggle(key=toggle).set_value(True).run()  # the same maps as interactive charts
    _ok(at)
    specs = _specs(at)
    assert len(specs) == count and not pictures(at) and at.session_state[maps.KEPT] is True
    for picture, spec in zip(drawn, specs):
        trace, axis = spec["data"][0], spec["layout"]["coloraxis"]
        assert [name for name, _ in picture] == [name for name, _ in M.tiles(spec)]
        for (name, rgb), (_, tile) in zip(picture, M.tiles(spec)):
            expected = M.colours(np.nan_to_num(tile), axis["colorscale"], axis["cmin"], axis["cmax"])
            assert np.abs(rgb.astype(np.int16) - expected).max() <= 0, (path, name, trace.get("name"))
    again = _open(path, hover=False)  # a new visit starts with pictures again...
    assert not again.get("plotly_chart")
    kept = _open(path)  # ...and a visit that turned the values on keeps them from page to page
    assert at.toggle(key=toggle).value is True and kept.toggle(key=toggle).value is True and kept.get("plotly_chart")


# ------------------------------------------------------------------ Effective weights


def _layer_tab(at: AppTest, key: str, layer: str) -> AppTest:
    at.session_state[key] = layer
    at.run()
    _ok(at)
    return at


def test_effective_weights_default_is_the_post_view_and_widgets():
    at = _open(EFFECTIVE)
    _ok(at)
    # One tab per layer, the output layer open and only it drawn.
    assert [t.label for t in at.tabs] == ["Layer_1", "Layer_2", "output"] and len(_specs(at)) == 1
    assert _titles(_grid(at, "output")) == ["output #0", "output #1", "output #2"]
    out = _grid(at, "output")["layout"]["coloraxis"]
    assert out["cmid"] == 0 and out["cmin"] == -out["cmax"] > -1e9
    assert [c[1] for c in out["colorscale"]] == [c[1] for c in plotly.colors.get_colorscale("RdBu_r")]
    assert _titles(_grid(_layer_tab(at, "ew_layer", "Layer_1"), "Layer_1")) == ["Layer_1 #0", "Layer_1 #1", "Layer_1 #2"]
    assert len(_specs(at)) == 1 and _query(at)["layer"] == "Layer_1"
    assert _titles(_grid(_layer_tab(at, "ew_layer", "Layer_2"), "Layer_2")) == ["Layer_2 #0", "Layer_2 #1", "Layer_2 #2"]

    at.button(key="ew_neurons_all_output").click().run()  # the open layer has no neuron left: output opens
    _ok(at)
    assert _titles(_grid(at, "output")) == [f"output #{i}" for i in range(10)]
    assert len(_specs(at)) == 1 and _query(at)["neurons"] == ",".join(f"output:{i}" for i in range(10))

    at.radio(key="ew_view").set_value("jacobian").run()
    _ok(at)
    assert _query(at)["view"] == "jacobian" and len(_specs(at)) == 2  # linear beside local Jacobian
    jac = _grid(at, "output: local Jacobian")
    assert _titles(jac) == [f"output #{i}" for i in range(10)]
    assert all(" · r " in _plain(a["text"]) for a in jac["layout"]["annotations"])
    assert jac["layout"]["coloraxis"]["cmid"] == 0

    at.slider(key="ew_epoch").set_value(0).run()
    _ok(at)
    assert _query(at)["epoch"] == "0" and _grid(at, "output")["layout"]["title"]["text"] == "output (epoch 0)"


def test_effective_weights_link_reopens_view():
    at = _open(EFFECTIVE, neurons="L2:5,output:7", view="jacobian", image="12", epoch="3", layer="Layer_2")
    _ok(at)
    assert not _notes(at)
    assert at.multiselect(key="ew_neurons").value == ["L2:5", "output:7"]
    assert at.radio(key="ew_view").value == "jacobian" and at.slider(key="ew_epoch").value == 3
    assert at.number_input(key="ew_image_index").value == 12
    assert [t.label for t in at.tabs] == ["Layer_2", "output"] and _titles(_grid(at, "Layer_2")) == ["Layer_2 #5"]
    assert _grid(at, "Layer_2: local Jacobian")["layout"]["title"]["text"] == "Layer_2: local Jacobian at #12 (epoch 3)"
    assert _query(at)["neurons"] == "L2:5,output:7" and _query(at)["image"] == "12" and _query(at)["layer"] == "Layer_2"
    assert _titles(_grid(_layer_tab(at, "ew_layer", "output"), "output")) == ["output #7"]


def test_effective_weights_invalid_link_is_corrected():
    at = _open(EFFECTIVE, neurons="L2:999,L7:1,output:x,L1:3", view="sideways", epoch="-4")
    _ok(at)
    notes = " ".join(_notes(at))
    assert "999" in notes and "L7" in notes and "sideways" in notes and "epoch=-4" in notes
    assert at.multiselect(key="ew_neurons").value == ["L2:63", "L1:0", "L1:3"]
    assert _titles(_grid(at, "Layer_2")) == ["Layer_2 #63"]
    assert _query(at)["view"] == "linear" and _query(at)["epoch"] == "0"


# ------------------------------------------------------------------ Dataset averages


def test_dataset_averages_side_by_side_and_widgets():
    at = _open(AVERAGES)
    _ok(at)
    specs = _specs(at)
    # One tab per layer, the output layer open: its effective weights and dataset averages, and only those.
    assert [t.label for t in at.tabs] == ["Layer_1", "Layer_2", "output"] and len(specs) == 2
    avg = _grid(at, "output: dataset averages")
    assert _titles(avg) == ["output #0", "output #1", "output #2"]
    assert avg["layout"]["coloraxis"]["cmin"] == 0 and avg["layout"]["coloraxis"]["cmax"] == 1
    assert all(" · r " in _plain(a["text"]) for a in avg["layout"]["annotations"])

    at.radio(key="da_weight").set_value("relu_logit").run()
    at.slider(key="da_epoch").set_value(1).run()
    _ok(at)
    assert _query(at)["weight"] == "relu_logit" and _query(at)["epoch"] == "1"
    assert "(epoch 1)" in _grid(at, "output: dataset averages")["layout"]["title"]["text"]
    assert "ReLU of the class logit" in " ".join(c.value for c in at.caption)
    at.session_state["da_layer"] = "Layer_1"
    at.run()
    _ok(at)
    assert [s["layout"]["title"]["text"] for s in _specs(at)] == ["Layer_1: effective weights (epoch 1)",
                                                                  "Layer_1: dataset averages (epoch 1)"]
    assert _query(at)["layer"] == "Layer_1"
    at.multiselect(key="da_neurons").set_value(["L2:1", "L2:2"]).run()  # the open layer has no neuron left
    _ok(at)
    assert [t.label for t in at.tabs] == ["Layer_2"] and _grid(at, "Layer_2: dataset averages")


def code_layer(code: str) -> str:
    from advx import neurons

    return neurons.parse_neuron(code, {"Layer_1": 64, "Layer_2": 64, "output": 10})[0]


def test_dataset_averages_link_with_dead_neuron_and_invalid_values(trained_run):
    from advx import neurons

    stats = neurons.neuron_stats(trained_run.final_params, _train_pixels())
    dead = [(layer, s.dead_neurons[0]) for layer, s in stats.items() if s.dead_neurons and layer != "output"]
    code = neurons.neuron_code(*dead[0]) if dead else "L1:0"
    at = _open(AVERAGES, neurons=f"{code},output:12", weight="cubic", layer=code_layer(code))
    _ok(at)
    notes = " ".join(_notes(at))
    assert "0 to 9" in notes and "cubic" in notes
    assert at.multiselect(key="da_neurons").value == [code, "output:9"]
    if dead:
        layer, neuron = dead[0]
        grid = _grid(at, f"{layer}: dataset averages")
        texts = [_plain(a["text"]) for a in grid["layout"]["annotations"]]
        assert any("(dead)" in t and "HF n/a" in t for t in texts) and any("never fires" in t for t in texts)


def _train_pixels():
    from advx.data import load_mnist

    return load_mnist().train_images.reshape(-1, 784)


# ------------------------------------------------------------------ Compare


def test_compare_default_and_widgets():
    at = _open(COMPARE)
    _ok(at)
    codes = at.multiselect(key="cmp_neurons").value
    # Only the open tab is drawn: the maps, two charts per neuron.
    assert 2 <= len(codes) <= 8 and len(_specs(at)) == 2 * len(codes)
    assert [t.label for t in at.tabs] == list(words.COMPARE_VIEWS.values())
    headers = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert headers == ["#### Layer_1 #0", "#### Layer_2 #0", "#### output #0", "#### output #7"]
    assert [_titles(s) for s in _specs(at)] == [["effective weights"], ["dataset average"]] * len(codes)

    at.multiselect(key="cmp_neurons").set_value(["L1:5", "L2:6"]).run()
    _ok(at)
    assert _query(at)["neurons"] == "L1:5,L2:6" and len(_specs(at)) == 4
    at.session_state["cmp_view"] = words.COMPARE_VIEWS["top"]
    at.run()
    _ok(at)
    top = [s for s in _specs(at) if s["layout"].get("title", {}).get("text") == "top 9 test images"]
    assert len(_specs(at)) == 2 and len(top) == 2 and all(len(_titles(s)) == 9 for s in top)
    assert _query(at)["view"] == "top"
    at.session_state["cmp_view"] = words.COMPARE_VIEWS["activations"]
    at.run()
    _ok(at)
    assert [s["layout"].get("title", {}).get("text") for s in _specs(at)] == ["activation on test images"] * 2


def test_compare_link_and_invalid_link():
    at = _open(COMPARE, neurons="output:3,L2:10", epoch="2")
    _ok(at)
    assert not _notes(at) and at.multiselect(key="cmp_neurons").value == ["output:3", "L2:10"]
    assert at.slider(key="cmp_epoch").value == 2

    at = _open(COMPARE, neurons="L1:1,L1:2,L1:3,L1:4,L1:5,L1:6,L1:7,L1:8,L1:9,zz", epoch="1e9")
    _ok(at)
    notes = " ".join(_notes(at))
    assert "keeping the first 8" in notes and "zz" in notes and "epoch=1e9" in notes
    assert len(at.multiselect(key="cmp_neurons").value) == 8


def test_pages_follow_a_run_with_one_hidden_layer():
    from advx.config import TrainConfig

    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT)
    at.session_state["advx_config"] = TrainConfig(hidden=(32,), epochs=2)
    at.query_params["neurons"] = "L2:5,L1:40,output:1"
    at.run()
    _ok(at)
    assert at.multiselect(key="cmp_neurons").value == ["L1:0", "L1:31", "output:1"]
    assert "unknown layer" in " ".join(_notes(at))


def test_compare_marks_a_dead_neuron(trained_run):
    from advx import neurons

    stats = neurons.neuron_stats(trained_run.final_params, _train_pixels())
    dead = [neurons.neuron_code(layer, s.dead_neurons[0]) for layer, s in stats.items()
            if s.dead_neurons and layer != "output"]
    if not dead:
        pytest.skip("the default run has no dead hidden neuron")
    at = _open(COMPARE, neurons=f"{dead[0]},output:0")
    _ok(at)
    assert any(m.value.startswith("**dead**") for m in at.markdown)
    at = _open(COMPARE, neurons=f"{dead[0]},output:0", view="top")
    _ok(at)
    titles = [s["layout"].get("title", {}).get("text") for s in _specs(at)]
    assert titles.count("9 test images closest to firing") == 1 and titles.count("top 9 test images") == 1
    at = _open(COMPARE, neurons=f"{dead[0]},output:0", view="activations")
    _ok(at)
    assert any(m.value.startswith("**dead**") for m in at.markdown)
    assert any("dead, activation 0 on every image" in json.dumps(s) for s in _specs(at))
