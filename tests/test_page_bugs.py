"""AppTest for "Bugs or features?" (views/bugs_or_features.py): the default view with every section and verdict, a
shared link, bad links, and the first section drawn while the measures wait.

The page's measures are kept on disk after their first computation (about a minute and a half from nothing), so
after the first test each is one or two script runs.
"""

import json
import threading
import time
from pathlib import Path

import pytest

from apptest_support import answer_with, open_page, tables

from advx import explanations as X
from advx.text import explanations as W

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "bugs_or_features.py")
TIMEOUT = 600
DEFAULT_VIEW = {"norm": "linf", "k": "100"}
CHARTS = ("bf_split_energy", "bf_split_logit", "bf_restricted", "bf_gallery", "bf_ilyas", "bf_linearity_ratio",
          "bf_linearity_flipped", "bf_initial", "bf_boundary")


def _ok(at) -> None:
    problems = [e.value for e in (*at.exception, *at.error)]
    assert not problems, problems


def _charts(at) -> dict[str, dict]:
    """``{widget key: figure spec}`` of every Plotly chart on the page."""
    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def _text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_default_view_shows_every_explanation_with_its_verdicts(explanation_results):
    at = open_page(PAGE, TIMEOUT, hover=True)
    _ok(at)
    numbers = [h.value.split(" · ")[0] for h in at.header]
    assert (at.title[0].value, numbers) == ("Bugs or features?", [str(n) for n in range(1, 8)])
    assert set(CHARTS) <= set(_charts(at)), sorted(_charts(at))
    energy = _charts(at)["bf_split_energy"]
    assert [t["name"] for t in energy["data"]][:4] == [W.ATTACK_LABELS[a] for a in X.ATTACKS]
    drawn = tables(at)  # the tables of sentences are HTML whatever the choice of charts
    predictions = next(t for t in drawn if "claim" in t.columns)
    verdicts = next(t for t in drawn if "verdict" in t.columns).set_index("explanation")
    assert len(predictions) == len(W.EXPLANATIONS)
    assert set(verdicts["verdict"]) <= set(X.VERDICT_LABELS.values()) and len(verdicts) == 9
    assert set(verdicts.index) == {e["name"] for e in W.EXPLANATIONS.values()}
    text = _text(at)
    assert "**Holds**" in text or "**Partly**" in text or "**Fails**" in text
    assert "No published figure is cited" in " ".join(c.value for c in at.caption)
    assert {k: at.query_params[k] for k in DEFAULT_VIEW} == DEFAULT_VIEW


def test_a_link_restores_the_view_and_the_widgets_write_it():
    at = open_page(PAGE, TIMEOUT, hover=True, norm="l2", k="25")
    _ok(at)
    assert not at.warning
    assert (at.radio(key="bf_norm").value, at.select_slider(key="bf_k").value) == ("l2", "25")
    assert "top-25" in _charts(at)["bf_gallery"]["layout"]["title"]["text"]
    assert "L2 ε = 1.5" in _text(at)
    assert {k: at.query_params[k] for k in DEFAULT_VIEW} == {"norm": "l2", "k": "25"}
    at.select_slider(key="bf_k").set_value("200").run()
    _ok(at)
    assert at.query_params["k"] == "200"
    assert "top-200" in _charts(at)["bf_gallery"]["layout"]["title"]["text"]


def test_bad_links_are_corrected_with_a_note():
    at = open_page(PAGE, TIMEOUT, hover=True, norm="l7", k="33")
    _ok(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "`norm=l7`" in warnings and "`k=33`" in warnings
    assert {k: at.query_params[k] for k in DEFAULT_VIEW} == DEFAULT_VIEW


@pytest.fixture
def pending_job():
    """A job kept at 30% ("attacked 20,000 images") until the test ends."""
    from ui import jobs

    release = threading.Event()
    job = jobs.submit(("test_pending_bugs", time.monotonic_ns()),
                      lambda report: (report(0.3, "attacked 20,000 images"), release.wait(60)),
                      progress=True, label="the measure")
    try:
        yield job
    finally:
        release.set()


def test_the_first_section_is_drawn_while_the_measures_wait(monkeypatch, pending_job):
    answer_with(monkeypatch, ("attack splits", "restricted attacks", "non-robust training", "linearity",
                              "initial eps", "boundary"), pending_job)
    at = open_page(PAGE, TIMEOUT, hover=True)
    _ok(at)
    drawn = tables(at)
    assert not at.dataframe and len(drawn) == 1 and len(drawn[0]) == len(W.EXPLANATIONS)
    assert not at.get("plotly_chart")
    bars = [p.proto.text for p in at.get("progress")]
    assert len(bars) == 6 and all("attacked 20,000 images" in t for t in bars), bars
    assert "they follow once all are done" in " ".join(c.value for c in at.caption)
