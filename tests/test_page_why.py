"""AppTest for "Why it happens" (views/why.py): the default view, a changed k, level buttons, bad links.

The page compares four runs. To stay fast it is shown for a 3-epoch configuration (the session's
chosen run), whose comparison runs are the same short runs the subspace tests use, trained once and
then read from the run store.
"""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import answer_with, assert_ran, open_page

from advx import subspace as S
from advx.config import TrainConfig
from advx.text import subspace as words
from ui.resources import CONFIG_KEY

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "why.py")
TIMEOUT = 240
SHORT = TrainConfig(epochs=3)


@pytest.fixture(scope="module")
def short_runs(mnist):
    from advx import store

    return {name: store.get_or_train(config, mnist) for name, config in S.comparison_configs(SHORT).items()}


@pytest.fixture(scope="module")
def levels(mnist):
    sub = S.fit_subspace(mnist.train_images)
    return {level: sub.k_for(level) for level in S.VARIANCE_LEVELS}


def _open(**query) -> AppTest:
    return open_page(PAGE, TIMEOUT, {CONFIG_KEY: SHORT}, hover=True, **query)  # maps as charts, to read


def _ok(at: AppTest) -> None:
    assert_ran(at)
    assert not at.error, [e.value for e in at.error]


def _array(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or plotly's typed-array form ``{"dtype", "bdata"}``."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def _counterfactual(at: AppTest):
    """The counterfactual table (data frames carry no key in AppTest: find it by its projected column)."""
    tables = [d.value for d in at.dataframe if any(str(c).startswith("Projected") for c in d.value.columns)]
    assert len(tables) == 1
    return tables[0].set_index("measure")


def test_default_view(short_runs, levels):
    at = _open()
    _ok(at)
    assert at.title[0].value == "Why it happens"
    assert at.slider(key="why_k").value == levels[0.95]
    keys = {chart.proto.id for chart in at.get("plotly_chart")}
    assert len(at.get("plotly_chart")) == 7, keys
    variance = json.loads(at.get("plotly_chart")[0].proto.spec)
    curve = _array(variance["data"][0]["y"])
    assert variance["data"][0]["name"] == "training images" and curve.shape == (784,)
    assert curve[levels[0.95] - 1] >= 0.95 > curve[levels[0.95] - 2]
    table = _counterfactual(at)
    assert list(table.index) == [row["measure"] for row in words.counterfactual_rows(
        {"x": S.AttackRates(0.0, {(a, float(e)): 0.0 for a, es in S.ATTACK_EPS.items() for e in es}, 1)})]
    assert list(table.columns) == ["Trained (adam)", f"Projected, k = {levels[0.95]}", "Input noise σ = 0.3",
                                   "Weight decay 1"]
    assert ((table.values >= 0) & (table.values <= 100)).all()  # percent
    # the chart draws the table's attack rows: the same share for every network and row
    bars = [json.loads(c.proto.spec) for c in at.get("plotly_chart")
            if "turn a digit into" in json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")]
    assert len(bars) == 1 and [t["name"] for t in bars[0]["data"]] == list(table.columns)
    for trace in bars[0]["data"]:
        np.testing.assert_allclose(100 * _array(trace["x"]), table[trace["name"]].values[1:], atol=1e-9)
    # the summary gives a verdict per step in words, and the opening box the run's own numbers
    text = " ".join(m.value for m in at.markdown)
    assert "**Holds.**" in text or "**Partly.**" in text or "**Fails.**" in text
    assert "of what Adam changed in the first layer lies inside the top" in " ".join(i.value for i in at.info)
    # the clean accuracy of the trained column is the run's own
    assert table.iloc[0, 0] == pytest.approx(100 * short_runs["adam"].test_accuracy, abs=1e-4)
    text = " ".join(m.value for m in at.markdown)
    assert f"The top {levels[0.95]} of 784 directions" in text and "Justin Skycak" in text
    assert at.query_params["k"] == str(levels[0.95])


def test_changed_k_and_level_buttons(short_runs, levels):
    at = _open()
    at.slider(key="why_k").set_value(40).run()
    _ok(at)
    assert "Projected, k = 40" in _counterfactual(at).columns
    assert at.query_params["k"] == "40"
    assert "The top 40 of 784 directions" in " ".join(m.value for m in at.markdown)
    at.button(key="why_level_99").click().run()
    _ok(at)
    assert at.slider(key="why_k").value == levels[0.99]
    assert at.query_params["k"] == str(levels[0.99])


def test_link_restores_the_view(short_runs):
    at = _open(k="200", neurons="L1:4,output:7", focus="output:7")
    _ok(at)
    assert not at.warning
    assert at.slider(key="why_k").value == 200
    assert at.multiselect(key="why_neurons").value == ["L1:4", "output:7"]
    assert at.selectbox(key="why_focus").value == "output:7"
    scatter = json.loads(at.get("plotly_chart")[1].proto.spec)
    names = [trace.get("name") for trace in scatter["data"]]
    assert "Layer_1, trained" in names and "output, init" in names and "Layer_2, init" not in names
    points = [t for t in scatter["data"] if t.get("name") == "output, trained"][0]
    assert points["text"] == ["output #7"]


@pytest.mark.parametrize("query, k_expected, note", [
    ({"k": "abc"}, None, "`k=abc` is not a number"),
    ({"k": "5000"}, 784, "outside 1–784"),
    ({"k": "-3"}, 1, "outside 1–784"),
    ({"neurons": "L9:1,L2:999", "focus": "nope"}, None, "L2:999"),
])
def test_bad_links_are_corrected_with_a_note(short_runs, levels, query, k_expected, note):
    at = _open(**query)
    _ok(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "Link corrected" in warnings and note in warnings, warnings
    assert at.slider(key="why_k").value == (k_expected or levels[0.95])
    if "neurons" in query:
        assert at.multiselect(key="why_neurons").value == ["L1:0", "L2:63"]
        assert at.selectbox(key="why_focus").value == "L1:0"


def test_sections_that_need_the_comparison_runs_wait_without_blocking_the_page(monkeypatch, short_runs):
    """A first visit before the comparison runs are trained: sections 1 and 2 are drawn, sections 3 to 5 say
    what they wait for (with its progress), and nothing blocks or fails."""
    import threading
    import time

    from ui import jobs

    gate = threading.Event()
    jobs.settle(timeout=900)  # what earlier tests left queued (a Train page's preparation) must not hold this job back

    def training(report):
        report(0.4, "epoch 2/5")
        gate.wait(60)

    pending = jobs.submit(("test_pending_run", time.monotonic_ns()), training, progress=True,
                          label="the SGD comparison run")
    answer_with(monkeypatch, ("run",), pending)  # the page as a server runs it: it polls
    try:
        at = _open()
        _ok(at)
        headers = [h.value for h in at.header]
        assert headers[0].startswith("1 ·") and len(headers) == 5
        assert len(at.get("plotly_chart")) >= 2  # section 1's variance curve and section 2's neuron scatter
        bars = [p.proto.text for p in at.get("progress")]
        assert any("Waiting for the SGD comparison run" in t and "epoch 2/5" in t for t in bars), bars
        assert not [d for d in at.dataframe if any(str(c).startswith("Projected") for c in d.value.columns)]
    finally:
        gate.set()
