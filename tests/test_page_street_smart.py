"""AppTest for "Street-smart" (views/street_smart.py): the default view, the epoch scrubber, choosing and training
a street-smart network, links good and bad, the first sections before the comparison, and the kept comparison.

The comparison of two networks (``advx.robust.compare_runs``, about 30-45 s at the app's sizes) runs here at the
small sizes of ``SMALL`` (patched into ``advx.experiments.robust.SIZES``), once per pair of runs; its result is kept on
disk like the app's. Choosing and training a street-smart network uses a small standard network (``TINY``), whose
street-smart family (784-32-10, 10 adversarial epochs) trains in about 15 s a run.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import answer_with, assert_ran, pictures
from apptest_support import open_page as _open_page

import advx.experiments.robust as ER
from advx import experiments as E
from advx import store
from advx import robust as R
from advx.config import TrainConfig
from advx.figures.maps import tiles
from advx.model import effective_weights
from advx.text import robust as words
from ui.resources import CONFIG_KEY

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "street_smart.py")
TIMEOUT = 600
SMALL = {"n_images": 100, "map_images": 20, "steps": 10, "restarts": 1, "queries": 50}
TINY = TrainConfig(hidden=(32,), epochs=2)


@pytest.fixture(autouse=True)
def small_comparison(monkeypatch):
    monkeypatch.setattr(ER, "SIZES", SMALL)


@pytest.fixture(scope="module")
def comparison(trained_run, robust_run, mnist):
    """The kept comparison the page shows (computed by its job the first time)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ER, "SIZES", SMALL)
        return E.robust_comparison(trained_run, robust_run, mnist)


def open_page(path: str, timeout: float, session_state: dict | None = None, *, hover: bool = True,
              **query) -> AppTest:
    """The page with its maps as the charts the tests read, unless ``hover`` is False."""
    return _open_page(path, timeout, session_state, hover=hover, **query)


def _ok(at: AppTest) -> None:
    assert_ran(at)
    assert not at.error, [e.value for e in at.error]


def _text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _texts(spec: dict) -> list[str]:
    """A chart's title and panel titles."""
    layout = spec["layout"]
    return [(layout.get("title") or {}).get("text") or ""] + [a.get("text", "") for a in layout.get("annotations", [])]


def _titles(at: AppTest) -> list[str]:
    return [(spec["layout"].get("title") or {}).get("text") or "" for spec in _charts(at)]


def _chart(at: AppTest, needle: str) -> dict:
    """The chart whose title or panel titles contain ``needle``."""
    for spec in _charts(at):
        if any(needle in text for text in _texts(spec)):
            return spec
    raise AssertionError(f"no chart mentions {needle!r}")


def _query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def _array(value) -> np.ndarray:
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.asarray(value, dtype=float)


def _notes(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning if "Link corrected" in w.value)


def test_a_visit_starts_with_the_maps_as_pictures(trained_run, robust_run, comparison):
    at = open_page(PAGE, TIMEOUT, hover=False)
    _ok(at)
    drawn = pictures(at)
    titles = _titles(at)
    assert at.toggle(key="ss_hover").value is False and not any("epoch" in t and "smart" in t for t in titles)
    assert sum(f"book-smart, epoch {trained_run.n_epochs}" in html for html in drawn) >= 1
    assert sum(f"street-smart, epoch {robust_run.n_epochs}" in html for html in drawn) >= 1
    assert any("test image #0" in html for html in drawn) and len(drawn) >= 4


def test_default_view(trained_run, robust_run, comparison):
    at = open_page(PAGE, TIMEOUT)
    _ok(at)
    assert at.title[0].value == "Street-smart"
    assert [h.value.split(" · ")[0] for h in at.header] == [str(i) for i in range(1, 11)]
    assert at.selectbox(key="ss_robust").value == "linf:0.1"
    assert at.slider(key="ss_epoch").value == trained_run.n_epochs
    assert _query(at) == {"robust": "linf:0.1", "epoch": str(trained_run.n_epochs), "image": "0"}
    assert not at.warning
    text = _text(at)
    # What the run measured, from its numbers: training time, clean accuracy, robust accuracy at its ε.
    sentence = R.training_sentence(robust_run, comparison)
    assert sentence in text and f"{robust_run.test_accuracy:.2%}" in sentence
    assert f"{robust_run.history['epoch_seconds'].sum():.1f} s" in sentence and "Under attack at its own ε" in sentence
    for line in (words.maps_finding(comparison) + words.accuracy_sentences(comparison)
                 + [words.overlay_sentence(comparison)]):
        assert line in text
    titles = _titles(at)
    for title in (f"book-smart, epoch {trained_run.n_epochs}", f"street-smart, epoch {robust_run.n_epochs}",
                  "L∞: accuracy under attack", "L2: accuracy under attack"):
        assert title in titles, titles
    names = [t["name"] for t in _chart(at, "L∞: accuracy under attack")["data"]]
    assert "street-smart: worst case" in names and not any("Foolbox" in n or "foolbox" in n for n in names)
    captions = " ".join(c.value for c in at.caption)
    assert "Foolbox's PGD" in captions and "the lab's own checks" in captions and "Theirs is a CNN" in captions
    published = [d.value for d in at.dataframe if "source" in d.value.columns][0]
    assert len(published) == len(words.PUBLISHED) + 2 and (published["source"] == "this app").sum() == 2
    assert published["model"].str.contains("CNN").sum() == len(words.PUBLISHED)


def test_the_epoch_scrubber_shows_each_network_at_that_epoch(trained_run, robust_run, comparison):
    at = open_page(PAGE, TIMEOUT)
    at.slider(key="ss_epoch").set_value(3).run()
    _ok(at)
    grid = _chart(at, "book-smart, epoch 3")
    expected = np.asarray(effective_weights(trained_run.params_at(3))["output"])[:, 0].reshape(28, 28)
    np.testing.assert_allclose(tiles(grid)[0][1], expected, rtol=1e-5, atol=1e-6)
    assert "street-smart, epoch 3" in _titles(at) and at.query_params["epoch"] == "3"
    character = [s for s in _chart(at, "digit-like below")["layout"]["shapes"] if s.get("x0") == 3]
    assert character, "the noise-or-digit curves mark the scrubbed epoch"
    at.slider(key="ss_epoch").set_value(12).run()  # past the street-smart run's last epoch
    _ok(at)
    assert {"book-smart, epoch 12", f"street-smart, epoch {robust_run.n_epochs}"} <= set(_titles(at))
    assert at.query_params["epoch"] == "12"


def test_a_link_restores_the_view(comparison):
    at = open_page(PAGE, TIMEOUT, robust="LINF:0.1", epoch="4", image="17")
    _ok(at)
    assert not at.warning
    assert at.selectbox(key="ss_robust").value == "linf:0.1"
    assert at.slider(key="ss_epoch").value == 4 and at.number_input(key="ss_image").value == 17
    _chart(at, "test image #17 (a ")  # the image's own panel
    assert at.query_params["image"] == "17"


@pytest.mark.parametrize("query, note, widget, expected", [
    ({"robust": "nope"}, "`robust=nope` is not one of", "ss_robust", "linf:0.1"),
    ({"epoch": "abc"}, "`epoch=abc` is not a number", "ss_epoch", TrainConfig().epochs),
    ({"epoch": "99"}, f"outside 0–{TrainConfig().epochs}", "ss_epoch", TrainConfig().epochs),
    ({"image": "-5"}, "outside 0–9999", "ss_image", 0),
])
def test_bad_links_are_corrected_with_a_note(comparison, query, note, widget, expected):
    at = open_page(PAGE, TIMEOUT, **query)
    _ok(at)
    assert note in _notes(at), _notes(at)
    accessor = {"ss_robust": at.selectbox, "ss_epoch": at.slider, "ss_image": at.number_input}[widget]
    assert accessor(key=widget).value == expected
    name = next(iter(query))
    assert at.query_params[name] == str(expected)


def test_choosing_and_training_a_street_smart_network(mnist):
    """A small standard network's family: the default ε, then ε = 0.05 trained from the form (read from the store
    when an earlier session stored it), then back to the default by the ε choice."""
    at = open_page(PAGE, TIMEOUT, {CONFIG_KEY: TINY})
    _ok(at)
    assert at.selectbox(key="ss_robust").value == "linf:0.1"
    assert "784-32-10 MLPs" in " ".join(c.value for c in at.caption)
    at.radio(key="ss_new_norm").set_value("linf")
    at.number_input(key="ss_new_eps").set_value(0.05)
    at.button(key="ss_train").click().run()
    _ok(at)
    assert at.selectbox(key="ss_robust").value == "linf:0.05" and at.query_params["robust"] == "linf:0.05"
    trained = store.load(R.robust_config("linf", 0.05, TINY.hidden), mnist.sha)
    assert trained is not None  # stored like every run
    assert R.training_sentence(trained) in _text(at) and "L∞ ball of ε = 0.05," in _text(at)
    at.selectbox(key="ss_robust").set_value("linf:0.1").run()
    _ok(at)
    assert "L∞ ball of ε = 0.1," in _text(at) and at.query_params["robust"] == "linf:0.1"
    at.radio(key="ss_new_norm").set_value("linf")
    at.number_input(key="ss_new_eps").set_value(5.0)
    at.button(key="ss_train").click().run()
    assert "cannot be trained" in " ".join(w.value for w in at.warning)
    assert at.selectbox(key="ss_robust").value == "linf:0.1"


def test_the_first_sections_do_not_wait_for_the_comparison(monkeypatch, trained_run, robust_run):
    """A visit before the comparison is done: the training curves, the weights, the dataset averages and the
    image's maps are drawn; the comparison's sections say what they wait for; nothing blocks or fails."""
    from ui import jobs

    gate = threading.Event()

    def comparing(report):
        report(0.3, "L∞ ε = 0.2")
        gate.wait(60)

    pending = jobs.submit(("test_pending_comparison", time.monotonic_ns()), comparing, progress=True,
                          label="the comparison of the two networks")
    answer_with(monkeypatch, ("robust",), pending)
    try:
        at = open_page(PAGE, TIMEOUT)
        _ok(at)
        assert len(at.header) == 10
        titles = _titles(at)
        grids = {f"book-smart, epoch {trained_run.n_epochs}", f"street-smart, epoch {robust_run.n_epochs}"}
        assert grids <= set(titles)
        assert "L∞: accuracy under attack" not in titles and len(titles) == 7  # curves, 4 grids, image, its maps
        bars = [p.proto.text for p in at.get("progress")]
        assert any("Waiting for the comparison" in b for b in bars), bars
        assert "follow once the comparison is done" in " ".join(c.value for c in at.caption)
    finally:
        gate.set()


def test_the_kept_comparison_is_compare_runs(trained_run, robust_run, mnist, comparison):
    """The job's result, kept on disk under settings that name the standard run, equals a direct computation."""
    spec = E.robust_comparison.spec(trained_run, robust_run, mnist, SMALL)
    assert spec.inputs["standard"] == trained_run.run_id and spec.settings["foolbox"] is False
    assert spec.path().exists()
    kept = spec.read()
    direct = R.compare_runs(trained_run, robust_run, mnist, sub=E.data_subspace(mnist), foolbox=False, seed=0, **SMALL)
    for name, a, b in zip(R.RobustComparison._fields, kept, direct):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6, atol=1e-9, err_msg=name)
    assert np.isnan(kept.linf_accuracy[:, R.ATTACK_ROWS.index("foolbox")]).all()
