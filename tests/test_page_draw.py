"""AppTest for "Draw a digit": a drawing in the link, an empty pad, a stroke, an example, the overlay's ε, bad links.

AppTest cannot draw on the pad (a Components v2 element), so a finished stroke is what the pad leaves in the
session: its raw drawing under ``dr_raw`` with ``dr_origin = "pad"``. The browser test draws for real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from advx import drawing as D
from apptest_support import assert_ran, drawn_charts, open_page, pictures

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "draw.py")
TIMEOUT = 120


@pytest.fixture(scope="module")
def seven() -> str:
    return D.encode_link(D.load_examples()["7"].image)


@pytest.fixture(scope="module", autouse=True)
def warm(trained_run, seven):
    """A first run with a long timeout: the PCA, the test set's measures and the compiled functions."""
    at = open_page(PAGE, 900, d=seven)
    assert_ran(at)


def _text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def _metric(at: AppTest, label: str) -> str:
    """The value of the metric labelled ``label`` (the street-smart network's, when stored, sit beside)."""
    return next(m.value for m in at.metric if m.label == label)


def _corrections(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "Link corrected" in w.value]


def test_a_drawing_in_the_link_is_read_and_kept_in_the_link(seven):
    at = open_page(PAGE, TIMEOUT, d=seven)
    assert_ran(at)
    assert at.metric[0].label == "The trained network" and at.metric[0].value == "7"
    assert _query(at)["d"] == seven  # the link reproduces its drawing exactly
    assert {"target", "norm", "eps"} <= set(_query(at))
    text = _text(at)
    assert "reads **7**" in text and "Layer_1" in text and "data subspace" in text and "PGD" in text
    # the drawing, its input, and each network's overlay and adversarial image are pictures (no hover asked for)
    assert len(drawn_charts(at)) >= 4 and len(pictures(at)) >= 4 and not _corrections(at)


def test_a_first_visit_starts_from_the_example_seven():
    at = open_page(PAGE, TIMEOUT)
    assert_ran(at)
    assert at.metric[0].value == "7" and _query(at).get("example") == "7" and "d" in _query(at)


def test_an_empty_pad_says_so_and_shows_nothing_to_read():
    at = open_page(PAGE, TIMEOUT, example="")  # a link that asks for no example: an empty pad
    assert_ran(at)
    assert any("The pad is empty" in i.value for i in at.info)
    assert not at.metric and "d" not in _query(at)


def test_a_finished_stroke_far_off_centre_is_centred_and_read():
    at = open_page(PAGE, TIMEOUT, example="7")
    assert _query(at)["example"] == "7" and at.metric[0].value == "7"
    raw = np.zeros((140, 140), np.float32)
    raw[2:8, 2:40] = 1.0  # the 7's bar and stem, drawn in the pad's top-left corner
    for i in range(36):
        raw[8 + 2 * i:10 + 2 * i, 36 - i // 2:40 - i // 2] = 1.0
    at.session_state["dr_raw"], at.session_state["dr_origin"] = raw, "pad"
    at.run()
    assert_ran(at)
    assert any("far from the middle" in i.value for i in at.info)
    assert at.metric[0].value == "7" and "example" not in _query(at)
    image = D.decode_link(_query(at)["d"])
    assert abs(D.centre_of_mass(image)[0] - 14) <= 0.6 and abs(D.centre_of_mass(image)[1] - 14) <= 0.6


def test_an_example_can_be_picked_and_the_overlay_turns_it_into_the_target():
    at = open_page(PAGE, TIMEOUT, target="0")
    at.selectbox(key="dr_example").select("3").run()
    assert_ran(at)
    assert at.metric[0].value == "3" and at.selectbox(key="dr_example").value == "3"
    assert _query(at)["d"] == D.encode_link(D.load_examples()["3"].image) and _query(at)["example"] == "3"
    overlaid = "The trained network with the overlay"
    assert _metric(at, overlaid) == "3"  # at the default ε the overlay does not flip it yet
    at.select_slider(key="dr_eps_linf").set_value(1.0).run()
    assert _metric(at, overlaid) == "0" and _query(at)["eps"] == "1"
    assert "smallest overlay ε" in _text(at)


@pytest.mark.parametrize("value, words", [
    ("%%not-valid%%", "characters a drawing never has"),
    ("A" * 700, "700 characters"),
    ("eJxjYBgFgwAAAAGHAAE", "391 bytes"),
    ("abcd", "damaged"),
])
def test_a_bad_drawing_in_the_link_is_corrected_to_an_empty_pad(value, words):
    at = open_page(PAGE, TIMEOUT, d=value)
    assert_ran(at)
    notes = _corrections(at)
    assert notes and words in notes[0] and "empty pad" in notes[0], notes
    assert any("The pad is empty" in i.value for i in at.info) and "d" not in _query(at)


def test_bad_view_values_are_corrected(seven):
    at = open_page(PAGE, TIMEOUT, d=seven, target="42", norm="l7", eps="lots")
    assert_ran(at)
    notes = " ".join(_corrections(at))
    assert "target=42" in notes and "norm=l7" in notes and "eps=lots" in notes
    assert _query(at)["target"] == "9" and _query(at)["norm"] == "linf"


@pytest.mark.parametrize("name, fill, words", [
    ("solid", lambda im: im.__setitem__((slice(None), slice(None)), 1.0), "filled almost solid"),
    ("dot", lambda im: im.__setitem__((slice(13, 15), slice(13, 15)), 1.0), "single dot"),
    ("corner", lambda im: im.__setitem__((slice(0, 8), slice(0, 5)), 1.0), "preprocessed again"),
])
def test_odd_drawings_in_a_link_get_a_message_and_a_reading(name, fill, words):
    image = np.zeros((28, 28), np.float32)
    fill(image)
    at = open_page(PAGE, TIMEOUT, d=D.encode_link(image))
    assert_ran(at)
    messages = " ".join(m.value for m in list(at.warning) + list(at.info))
    assert words in messages, messages
    assert at.metric, "the network still reads it"
