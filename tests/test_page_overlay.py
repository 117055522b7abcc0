"""AppTest for the "Adversarial overlay" page: the defaults, the ε slider, links, and bad links."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from advx.figures import maps as M
from advx.figures import svg
from apptest_support import assert_ran, drawn_charts, open_page, picture_pixels, pictures

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "views" / "overlay.py")
TIMEOUT = 120


@pytest.fixture(scope="module", autouse=True)
def warm(trained_run):
    """One first run with a long timeout: it computes and caches the sweeps, the comparison and the paper
    table for the default view (minutes on a busy 2-core machine). Later runs reuse the process's caches."""
    at = AppTest.from_file(PAGE, default_timeout=900).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _open(hover: bool = True, **query) -> AppTest:
    """The page with the link ``query``; its image panels as interactive charts (whose figures the tests read)
    unless ``hover`` is False, when they are pictures, as a visit starts."""
    return open_page(PAGE, TIMEOUT, hover=hover, **query)


_ok = assert_ran


def _spec(at: AppTest, needle: str) -> dict:
    """The chart whose title or panel titles contain ``needle``."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec["layout"]
        texts = [(layout.get("title") or {}).get("text") or ""]
        texts += [a.get("text", "") for a in layout.get("annotations", [])]
        if any(needle in t for t in texts):
            return spec
    raise AssertionError(f"no chart mentions {needle!r}")


def _text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def _notes(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "Link corrected" in w.value]


def test_defaults_show_the_seeds_7_turned_into_a_0():
    at = _open()
    _ok(at)
    assert at.number_input(key="ov_image").value == 0  # the first correctly classified 7
    assert at.selectbox(key="ov_target").value == 0
    assert at.selectbox(key="ov_source").value == "effective_weights"
    assert at.radio(key="ov_norm").value == "linf"
    assert at.select_slider(key="ov_eps_linf").value == 0.8
    assert len(at.get("plotly_chart")) == 9  # three image panels, bars, ε curve, matrix, histogram, two comparisons
    assert _spec(at, "original #0 (label 7)") and _spec(at, "with overlay (predicted 0)")
    pattern = _spec(at, "Effective weights")
    assert pattern["layout"]["coloraxis"]["colorscale"][0][1] == "rgb(5,48,97)"  # RdBu_r, centred at 0
    assert pattern["layout"]["coloraxis"]["cmid"] == 0
    assert at.metric[0].value == "0"
    text = _text(at)
    assert "answer 0 with probability" in text and "The direction matters" in text
    assert "Skycak" in text
    curve = _spec(at, "Probability of 0 against")
    assert [d["name"] for d in curve["data"]][:2] == ["pattern", "random noise (mean of draws)"]
    assert any(a["text"].startswith(" flips at") for a in curve["layout"]["annotations"])
    matrix = _spec(at, "Share turned into the target")
    assert len(matrix["data"][0]["z"]) == 10 and matrix["data"][0]["z"][7][7] is None
    paper = at.dataframe[0].value
    assert "measured here" in set(paper["source"]) and (paper["error_rate"] == 0.999).any()
    assert _query(at) == {"image": "0", "target": "0", "source": "effective_weights", "norm": "linf", "eps": "0.8"}


def test_a_visit_starts_with_the_image_panels_as_pictures_of_the_same_images():
    charts = _open()
    at = _open(hover=False)
    _ok(at)
    assert at.toggle(key="ov_hover").value is False and not at.get("plotly_chart") and len(drawn_charts(at)) == 6
    drawn = pictures(at)
    assert len(drawn) == 3
    for html, title in zip(drawn, ("original #0 (label 7)", "Effective weights", "with overlay (predicted 0)")):
        assert title in html
        spec = _spec(charts, title)
        (name, rgb), = picture_pixels(html)
        axis = spec["layout"]["coloraxis"]
        expected = M.colours(np.asarray(spec["data"][0]["z"], float), axis["colorscale"], axis["cmin"], axis["cmax"])
        np.testing.assert_array_equal(rgb, expected)
        assert name == spec["data"][0]["name"]


def test_the_drawn_charts_carry_the_values_of_the_interactive_ones():
    """A visit's charts are drawn without plotly.js; hovering still gives each bar's and cell's value, read here
    from the drawing's tooltips and checked against the numbers of the interactive charts' own figures."""
    charts = _open()
    at = _open(hover=False)
    _ok(at)
    drawn = drawn_charts(at)
    matrix = _spec(charts, "Share turned into the target")
    z = np.array([[np.nan if v is None else v for v in row] for row in matrix["data"][0]["z"]], float)
    (html,) = [h for h in drawn if "Share turned into the target" in h]
    expected = [f"true {r} → target {c}: {z[r, c]:.1%}" for r in range(10) for c in range(10) if np.isfinite(z[r, c])]
    assert svg.tooltips(html) == expected and len(expected) == 90  # the diagonal is blank
    bars = _spec(charts, "Probabilities")
    (html,) = [h for h in drawn if "Probabilities" in h]
    expected = [f"class {k}: {p:.3f}" for trace in bars["data"] for k, p in zip(range(10), trace["y"])]
    assert svg.tooltips(html) == expected
    # each bar's height in the plot (0 to svg.V on the axis's range [0, 1]) is its probability, to the drawing's 0.1
    heights = [float(h) * svg.V / 100 for h in re.findall(r"<div title='[^']*' style='[^']*;height:([\d.]+)%;", html)]
    probabilities = [p for trace in bars["data"] for p in trace["y"]]
    np.testing.assert_allclose(heights, np.asarray(probabilities) * svg.V, atol=0.06)
    assert at.toggle(key="ov_hover").value is False and not at.get("plotly_chart")


def test_moving_the_eps_slider_updates_the_view_and_the_link():
    at = _open()
    at.select_slider(key="ov_eps_linf").set_value(0.4).run()
    _ok(at)
    assert at.query_params["eps"] == "0.4"
    # Below the 7's minimal flipping ε (about 0.56) it stays a 7.
    assert _spec(at, "with overlay (predicted 7)")
    assert "does not make the network answer 0" in _text(at)
    assert "Share turned into the target at L∞ ε = 0.4" in _spec(at, "Share turned")["layout"]["title"]["text"]
    assert any(a["text"] == " chosen 0.4" for a in _spec(at, "against")["layout"]["annotations"])


def test_switching_the_norm_starts_from_that_norms_default_eps():
    at = _open(eps="0.4")
    at.radio(key="ov_norm").set_value("l2").run()
    _ok(at)
    assert at.select_slider(key="ov_eps_l2").value == 5.12
    assert not _notes(at)
    assert _query(at)["norm"] == "l2" and _query(at)["eps"] == "5.12"


def test_a_link_reopens_its_view_including_a_link_that_says_strength_for_eps():
    at = _open(image="1", target="3", source="sign_effective_weights", norm="l2", strength="2.56")
    _ok(at)
    assert not _notes(at)
    assert at.number_input(key="ov_image").value == 1
    assert at.selectbox(key="ov_target").value == 3
    assert at.selectbox(key="ov_source").value == "sign_effective_weights"
    assert at.radio(key="ov_norm").value == "l2"
    assert at.select_slider(key="ov_eps_l2").value == 2.56
    assert _spec(at, "Probability of 3 against L2 ε")
    assert _query(at)["eps"] == "2.56" and _query(at)["norm"] == "l2" and "strength" not in _query(at)


def test_bad_link_values_are_corrected_with_notes():
    at = _open(image="abc", target="12", source="bogus", norm="l7", eps="0.83")
    _ok(at)
    notes = " ".join(_notes(at))
    for name in ("image=abc", "target=12", "source=bogus", "norm=l7", "eps=0.83"):
        assert name in notes, (name, notes)
    assert at.number_input(key="ov_image").value == 0
    assert at.selectbox(key="ov_target").value == 9
    assert at.selectbox(key="ov_source").value == "effective_weights"
    assert at.radio(key="ov_norm").value == "linf"
    assert at.select_slider(key="ov_eps_linf").value == 0.84
    assert _query(at) == {"image": "0", "target": "9", "source": "effective_weights", "norm": "linf", "eps": "0.84"}


def test_a_hidden_neurons_pattern_from_the_link():
    at = _open(layer="Layer_1", neuron="5", eps="0.4")
    _ok(at)
    assert at.selectbox(key="ov_layer").value == "Layer_1"
    assert at.number_input(key="ov_neuron").value == 5
    assert _query(at)["layer"] == "Layer_1" and _query(at)["neuron"] == "5"
