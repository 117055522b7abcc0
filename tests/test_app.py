"""AppTest for the entry script, Home and Train; the CLI's data and train commands."""

import subprocess
import sys

from pathlib import Path

from streamlit.testing.v1 import AppTest

from apptest_support import drawn_charts, tables
from ui import maps

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180
APP = str(ROOT / "streamlit_app.py")
TRAIN = str(ROOT / "views" / "train.py")


def _no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def test_entry_script_opens_home():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_exception(at)
    assert "why adversarial examples exist" in at.title[0].value
    scripts = [e.proto.body for e in at.main if type(e).__name__ == "Html"]
    assert not any("import(" in body for body in scripts), scripts  # no chart is drawn: no chart code is fetched
    # A visit that draws interactive charts starts the browser on their code: the very file Streamlit's own code
    # imports for a chart.
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state[maps.KEPT] = True
    at.run()
    _no_exception(at)
    import streamlit

    from ui.startup import _chart_code

    name = _chart_code()
    assert name and name.startswith("PlotlyChart.")
    loader = next((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("index.*.js")).read_text()
    assert name in loader
    scripts = [e.proto.body for e in at.main if type(e).__name__ == "Html"]
    assert any(name in body and "import(" in body for body in scripts), scripts


def test_train_page_trains_and_shows_curves_and_summary(mnist):
    at = AppTest.from_file(TRAIN, default_timeout=TIMEOUT).run()
    _no_exception(at)
    at.number_input(key="train_epochs").set_value(2)
    at.text_input(key="train_hidden").set_value("32")
    at.button(key="train_submit").click()
    at.run()
    _no_exception(at)
    assert not at.error
    assert at.metric[1].value == "2"
    charts = drawn_charts(at)
    assert len(charts) == 1 and ">Accuracy<" in charts[0] and not at.get("plotly_chart")
    summary = tables(at)[0]  # drawn as HTML, as a visit starts: the texts shown
    assert list(summary["Layer"]) == ["Layer_1", "output", "Total"]
    assert list(summary["Param #"]) == [str(784 * 32 + 32), "330", str(784 * 32 + 32 + 330)]


def test_train_page_refuses_absurd_settings_and_keeps_the_last_run(mnist):
    at = AppTest.from_file(TRAIN, default_timeout=TIMEOUT).run()
    before = at.metric[0].value
    for key, value in (("train_epochs", 0), ("train_epochs", 10**6), ("train_lr", -1.0), ("train_batch", 0)):
        at = AppTest.from_file(TRAIN, default_timeout=TIMEOUT).run()
        widget = at.number_input(key=key)
        widget.set_value(value)
        at.button(key="train_submit").click()
        at.run()
        _no_exception(at)
        assert at.error and "cannot be trained" in at.error[0].value, (key, value)
        assert at.metric[0].value == before
    at = AppTest.from_file(TRAIN, default_timeout=TIMEOUT).run()
    at.text_input(key="train_hidden").set_value("0")
    at.button(key="train_submit").click()
    at.run()
    assert at.error and "hidden layer 1" in at.error[0].value


def test_cli_data_and_bad_train_settings():
    out = subprocess.run([sys.executable, "-m", "advx", "data"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "source:" in out.stdout and "verified" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "advx", "train", "--epochs", "0"], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2
    assert "error: invalid training settings: epochs" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_every_page_offers_its_figures_and_arrays_for_download(mnist, trained_run):
    """Every view offers a download of what it shows (standalone HTML figures, arrays as .npz)."""
    for name in ("train", "activations", "effective_weights", "dataset_averages", "compare", "overlay", "why"):
        at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=TIMEOUT).run()
        _no_exception(at)
        labels = [b.proto.label for b in at.get("download_button")]
        assert labels, name
        if name != "train":
            assert any(label.endswith("(.npz)") for label in labels), (name, labels)
            assert name == "compare" or any(label.endswith("(HTML)") for label in labels), (name, labels)
