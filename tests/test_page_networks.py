"""AppTest for "Many networks" (views/networks.py): the default view, widget changes, a shared link, bad links, and
the sections that wait for their jobs.

The page reads the default population (4 seeds x Adam and SGD) and the initialisation-scale population (4 scales x 2
seeds x Adam and SGD) from the run store, where ``tests/test_transfer.py`` or the page's own job put them; its
measures are kept on disk after their first computation, so each test here is one or two script runs.
"""

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from apptest_support import answer_with, assert_ran, open_page

from advx import experiments as E
from advx import population as P
from advx.text import population as words

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "networks.py")
TIMEOUT = 900  # the first run of a fresh cache computes the transfer matrices and the scale test
DEFAULT_VIEW = {"norm": "linf", "attack": "pgd", "measure": "success", "optimizers": "both", "split": "energy",
                "neuron": "0", "when": "matched", "scale_eps": "3"}


def _ok(at) -> None:
    assert_ran(at)
    assert not at.error, [e.value for e in at.error]


def _chart(at, key: str) -> dict:
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(charts) == 1, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(charts[0].proto.spec)


def _facets(spec: dict) -> list[str]:
    return [a["text"] for a in spec["layout"]["annotations"]]


def _text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_default_view_shows_every_measure_for_both_optimizers():
    at = open_page(PAGE, TIMEOUT, hover=True)
    _ok(at)
    assert at.title[0].value == "Many networks"
    assert [h.value.split(" · ")[0] for h in at.header] == ["1", "2", "3", "4", "5", "6"]
    members = at.dataframe[0].value
    assert len(members) == len({c.digest() for c in P.population_configs() + P.init_scale_configs()}) == 20
    assert (members["test accuracy"] > 0.95).all() and set(members["optimizer"]) == {"Adam", "SGD"}

    transfer = _chart(at, "net_transfer")
    assert _facets(transfer) == list(words.PART_LABELS.values())
    assert transfer["data"][0]["y"][:2] == ["Adam, seed 0", "Adam, seed 1"] and len(transfer["data"][0]["y"]) == 8
    whole = np.array(transfer["data"][0]["z"], float)
    assert whole.shape == (8, 8) and np.diagonal(whole).min() >= 0.95  # PGD on its own network
    agreement = _chart(at, "net_agreement")
    assert _facets(agreement) == list(P.AGREEMENT_PARTS.values())
    assert agreement["layout"]["coloraxis"]["cmin"] == -1 and agreement["layout"]["coloraxis"]["cmax"] == 1
    assert np.allclose(np.diagonal(np.array(agreement["data"][0]["z"], float)), 1.0)
    scale = _chart(at, "net_scale")
    assert {t["name"] for t in scale["data"]} == {"Adam", "SGD"}
    bars = _chart(at, "net_split_bars")
    assert _facets(bars) == ["Adam", "SGD"]

    text = _text(at)
    # The findings follow the measured numbers, including where the post's argument fails.
    assert "**Against the argument.**" in text and "**As the argument predicts.**" in text
    assert "largely learned, not left over from the initialisation" in text
    assert "Adam ignores the initialisation scale" in text
    assert "Melamed" in text and "Szegedy" in text and "Tramèr" in text
    assert {k: at.query_params[k] for k in DEFAULT_VIEW} == DEFAULT_VIEW


def test_widgets_slice_the_stored_results_and_write_the_link(mnist):

    blank_k = E.data_subspace(mnist).n_nonblank
    at = open_page(PAGE, TIMEOUT, hover=True)
    at.slider(key="net_neuron").set_value(7)
    at.radio(key="net_optimizers").set_value("sgd")
    at.selectbox(key="net_attack").set_value("overlay")
    at.radio(key="net_split").set_value("blank").run()
    _ok(at)
    transfer, agreement = _chart(at, "net_transfer"), _chart(at, "net_agreement")
    assert transfer["layout"]["title"]["text"].startswith("Overlay, L∞ ε = 0.3")
    assert transfer["data"][0]["x"] == [f"SGD, seed {s}" for s in P.POPULATION_SEEDS]
    assert "Output 7's" in agreement["layout"]["title"]["text"]
    assert f"split at k = {blank_k}." in " ".join(c.value for c in at.caption)  # the split, under the chart
    assert len(agreement["data"][0]["z"]) == len(P.POPULATION_SEEDS)
    assert "output neuron 7's effective weights" in _text(at)
    assert {k: at.query_params[k] for k in ("neuron", "optimizers", "attack", "split")} == {
        "neuron": "7", "optimizers": "sgd", "attack": "overlay", "split": "blank"}

    at.radio(key="net_norm").set_value("l2").run()
    _ok(at)
    assert _chart(at, "net_transfer")["layout"]["title"]["text"].startswith("Overlay, L2 ε = 3")
    assert at.query_params["norm"] == "l2"


def test_a_link_restores_the_view():
    view = {"norm": "l2", "attack": "fgsm", "measure": "fooled", "optimizers": "adam", "split": "blank",
            "neuron": "4", "when": "final", "scale_eps": "1"}
    at = open_page(PAGE, TIMEOUT, hover=True, **view)
    _ok(at)
    assert not at.warning
    assert (at.radio(key="net_norm").value, at.selectbox(key="net_attack").value, at.radio(key="net_measure").value,
            at.radio(key="net_optimizers").value, at.radio(key="net_split").value, at.slider(key="net_neuron").value,
            at.radio(key="net_when").value, at.radio(key="net_scale_eps").value) == (
        "l2", "fgsm", "fooled", "adam", "blank", 4, "final", "1")
    assert "misclassified" in _chart(at, "net_transfer")["layout"]["title"]["text"]
    assert "L2 size 1" in _chart(at, "net_scale")["layout"]["title"]["text"]
    assert {k: at.query_params[k] for k in view} == view


def test_bad_links_are_corrected_with_a_note():
    at = open_page(PAGE, TIMEOUT, hover=True, norm="l7", attack="nope", measure="x", optimizers="rmsprop", split="?",
                   neuron="42", when="soon", scale_eps="9")
    _ok(at)
    warnings = " ".join(w.value for w in at.warning)
    for note in ("`norm=l7`", "`attack=nope`", "`measure=x`", "`optimizers=rmsprop`", "`split=?`",
                 "`neuron=42` is outside 0–9", "`when=soon`", "`scale_eps=9`"):
        assert note in warnings, (note, warnings)
    assert at.slider(key="net_neuron").value == 9
    assert {k: at.query_params[k] for k in DEFAULT_VIEW} == dict(DEFAULT_VIEW, neuron="9")


@pytest.fixture
def pending_job():
    """A job that reports progress and does not finish until the test ends."""
    from ui import jobs

    gate = threading.Event()

    def work(report):
        report(0.4, "epoch 6/15 of 12 networks")
        gate.wait(60)

    yield jobs.submit(("test_pending_networks", time.monotonic_ns()), work, progress=True, label="the 20 networks")
    gate.set()


def test_sections_wait_for_their_measures_without_blocking(monkeypatch, pending_job):
    answer_with(monkeypatch, ("agreement", "transfer", "scale"), pending_job)
    at = open_page(PAGE, TIMEOUT, hover=True)
    _ok(at)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 20  # section 1 is drawn at once
    assert not at.get("plotly_chart")
    bars = [p.proto.text for p in at.get("progress")]
    assert bars and all("Waiting for the 20 networks" in t and "epoch 6/15" in t for t in bars), bars
    assert "they follow once all are done" in " ".join(c.value for c in at.caption)
    assert at.slider(key="net_neuron").value == 0


def test_everything_waits_for_the_networks_while_they_train(monkeypatch, pending_job):
    answer_with(monkeypatch, ("populations",), pending_job)
    at = open_page(PAGE, TIMEOUT, hover=True)
    _ok(at)
    assert not at.dataframe and not at.get("plotly_chart")
    assert any("epoch 6/15 of 12 networks" in p.proto.text for p in at.get("progress"))
    assert "follows once the networks are there" in " ".join(c.value for c in at.caption)
    assert at.query_params["norm"] == "linf"
