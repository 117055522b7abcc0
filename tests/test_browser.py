"""The app in a real browser: every registered page renders, reacts, shares its view by link, and corrects bad links.

One ``streamlit run`` server and one headless chromium serve the whole module (see ``browser_support``).
Full-page screenshots land in ``tests/artifacts/``.
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from ui import story

from browser_support import (CHARTS_LATER, AppPage, StreamlitServer, app_server, assert_no_errors, browser,  # noqa: F401
                             change_main_widget, nav_titles, new_page, open_app, query, registered_pages, screenshot,
                             settled_value, wait_for_charts)

pytestmark = pytest.mark.browser

PAGES = registered_pages()
# The pages "Beyond the post" are visited by tests/test_browser_beyond.py, a module of its own, so that the suite's
# two workers (pytest.ini) share the browser visits: those pages wait longest for what they show.
BEYOND = {script for script, _title, _icon in story.PAGES["Beyond the post"]}
GARBLED = "%%not-valid%%"
# What a page would otherwise train or compute for minutes before it shows anything (the many networks, the
# street-smart network, the results of Bugs or features?) is made through the library first, in this process
# (session fixtures of tests/conftest.py); the page then reads it from the cache, and the test waits for the rest
# of its work (``wait_for_charts`` follows the page's progress).
PRIMED = {"networks": ("populations",), "street_smart": ("street_smart_results",),
          "bugs_or_features": ("explanation_results",)}


def _page_url(server, page: AppPage, params: dict | None = None) -> str:
    url = f"{server.url}/{page.url_path}"
    return f"{url}?{urlencode(params)}" if params else url


def _draws_charts(page: AppPage) -> bool:
    """Whether the page draws charts (``ui.maps.chart``): its first view shows at least one, drawn as HTML and SVG."""
    return page.path not in CHARTS_LATER and ".chart(" in (Path(__file__).resolve().parents[1] / page.path).read_text()


def _assert_charts_drawn(tab, page: AppPage) -> int:
    """Every Plotly element Streamlit sent is drawn; a page that plots shows at least one chart drawn as HTML and
    SVG; every picture of maps (``ui.maps.show``) has all its tiles loaded. Returns the charts shown."""
    if "maps.show(" in (Path(__file__).resolve().parents[1] / page.path).read_text():
        tab.wait_for_function("() => document.querySelectorAll(\"[data-testid='stMain'] .advx-maps img\").length > 0",
                              timeout=60_000)
        broken = tab.evaluate("() => Array.from(document.querySelectorAll(\"[data-testid='stMain'] .advx-maps img\"))"
                              ".filter(i => !(i.complete && i.naturalWidth === 28)).map(i => i.alt)")
        assert not broken, f"{page.path}: map tiles not drawn: {broken}"
    if _draws_charts(page):
        tab.wait_for_function("() => document.querySelectorAll(\"[data-testid='stMain'] .advx-chart\").length > 0",
                              timeout=60_000)
    elements = tab.locator("[data-testid='stPlotlyChart']").count()
    drawn = wait_for_charts(tab, elements)
    assert drawn >= elements, f"{page.path}: {elements} Plotly elements, only {drawn} drawn"
    return drawn + tab.locator("[data-testid='stMain'] .advx-chart").count()


# What a student must never read: a value shown as None or nan, or text written for the lab's developers.
DEVELOPER_TEXT = ("REFERENCES.md", "tests/", "(None,", "did not run", "the seed's")
MISSING_VALUE = re.compile(r"\b(None|nan|NaN)\b")


def _assert_plain_words(tab, page: AppPage) -> None:
    """The page's rendered text, its tables and the cells its data frames draw hold no missing value and no
    developer text."""
    text = tab.locator("[data-testid='stMain']").inner_text()
    cells = tab.evaluate("""() => Array.from(document.querySelectorAll(
        "[data-testid='stMain'] [data-testid='stDataFrame'] [role='gridcell'], "
        + "[data-testid='stMain'] [data-testid='stDataFrame'] [role='columnheader']")).map(c => c.textContent)""")
    found = [m.group(0) for m in MISSING_VALUE.finditer(text + "\n" + "\n".join(cells))]
    found += [word for word in DEVELOPER_TEXT if word in text]
    assert not found, f"{page.path} shows {sorted(set(found))}"


def test_every_registered_page_is_covered():
    assert [p.title for p in PAGES][:2] == ["Home", "Train"]
    assert PAGES[0].url_path == "" and PAGES[1].url_path == "train"
    root = Path(__file__).resolve().parents[1]
    folders = {Path(p.path).parent for p in PAGES}
    on_disk = {str(f.relative_to(root)) for folder in folders for f in (root / folder).glob("*.py")}
    assert {p.path for p in PAGES} == on_disk, "a page file is not registered in streamlit_app.py, or vice versa"
    assert BEYOND and BEYOND <= {p.path for p in PAGES}, "tests/test_browser_beyond.py visits no registered page"


def test_a_shared_link_as_the_first_visit_of_a_fresh_server(browser, trained_run):  # noqa: F811
    """After a restart, the first visitor may arrive through a shared link: the app must be the same app.

    (Streamlit serves a folder named ``pages/`` as a legacy multipage app until the main script has run
    once in the process; the views live in ``views/`` so that never happens.)"""
    server = StreamlitServer(log_name="streamlit-fresh-server.log")
    try:
        server.wait_healthy()
        tab = new_page(browser)
        try:
            open_app(tab, f"{server.url}/train")
            screenshot(tab, "first-visit-by-link-train")
            nav = nav_titles(tab)
            assert_no_errors(tab)
            assert all(p.title in nav for p in PAGES) and "streamlit app" not in nav, nav
        finally:
            tab.context.close()
    finally:
        server.stop()


@pytest.mark.parametrize("page", [p for p in PAGES if p.path not in BEYOND],
                         ids=[p.name for p in PAGES if p.path not in BEYOND])
def test_page_renders_reacts_and_round_trips_its_link(app_server, browser, page, request):  # noqa: F811
    for name in PRIMED.get(page.name, ()):
        request.getfixturevalue(name)
    timings, clock = {}, time.monotonic()

    def lap(name):
        nonlocal clock
        timings[name] = time.monotonic() - clock
        clock = time.monotonic()

    tab = new_page(browser)
    try:
        open_app(tab, _page_url(app_server, page))
        lap("open")
        assert_no_errors(tab)
        assert tab.locator("[data-testid='stMain'] h1").count() >= 1, f"{page.path} shows no title"
        nav = nav_titles(tab)
        missing = [p.title for p in PAGES if p.title not in nav]
        assert not missing, f"the navigation lacks {missing}: {nav!r}"
        _assert_charts_drawn(tab, page)
        _assert_plain_words(tab, page)
        # Until "Interactive charts" is turned on, no page loads the chart code: its figures are pictures and drawings.
        fetched = tab.evaluate("performance.getEntriesByType('resource').map(r => r.name)"
                               ".filter(n => /\\/static\\/js\\/PlotlyChart\\./.test(n))")
        assert not fetched, fetched

        change = change_main_widget(tab)
        lap("change")
        assert_no_errors(tab)
        charts = _assert_charts_drawn(tab, page)
        shot = screenshot(tab, f"page-{page.name}")
        lap("screenshot")
        print(f"\n{page.path}: {charts} charts; changed "
              f"{f'{change.kind} {change.label!r} {change.before!r} -> {change.after!r}' if change else 'nothing'}; "
              f"screenshot {shot.relative_to(shot.parents[2])}")
        if change is None:
            return
        assert change.after != change.before, f"{page.path}: {change.kind} {change.label!r} did not change"

        view = {k: v for k, v in query(tab).items() if k != "run"}
        if not view:
            return
        # The link restores the view in a new session...
        shared = new_page(browser)
        try:
            open_app(shared, tab.url)
            assert_no_errors(shared)
            assert query(shared) == query(tab), "opening a shared link changed its parameters"
            assert settled_value(shared, change, change.after) == change.after
            _assert_charts_drawn(shared, page)
            lap("shared link")
        finally:
            shared.context.close()
        # ...and a link with every view parameter garbled is corrected, visibly, without an exception.
        broken = new_page(browser)
        try:
            open_app(broken, _page_url(app_server, page, {k: GARBLED for k in view}))
            assert_no_errors(broken)
            notes = broken.locator("[data-testid='stAlertContentWarning']").all_inner_texts()
            assert any("Link corrected" in n for n in notes), f"{page.path}: no correction note, only {notes}"
            assert all(v != GARBLED for v in query(broken).values()), "the corrected view is not written back"
            screenshot(broken, f"link-corrected-{page.name}")
            lap("corrected link")
        finally:
            broken.context.close()
    finally:
        tab.context.close()
        print(f"{page.path} timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))


def _download(tab, name: str) -> tuple[str, bytes]:
    button = tab.locator(f".st-key-{name} button:visible").first
    with tab.expect_download(timeout=120_000) as info:
        button.click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_train_page_downloads_bundle_figure_and_history(app_server, browser, trained_run):  # noqa: F811
    from advx.export import read_bundle

    tab = new_page(browser)
    try:
        open_app(tab, f"{app_server.url}/train")
        name, blob = _download(tab, "train_bundle_download")
        assert name == f"advx-run-{trained_run.run_id}.zip"
        bundle = read_bundle(blob)
        assert bundle.config == trained_run.config and bundle.n_epochs == trained_run.n_epochs
        assert abs(bundle.test_accuracy - trained_run.test_accuracy) < 1e-12

        name, blob = _download(tab, "train_curves_download")
        html = blob.decode()
        assert name.endswith(".html") and "<html>" in html and "Accuracy" in html and "Plotly.newPlot" in html

        name, blob = _download(tab, "train_history_download")
        rows = list(csv.DictReader(io.StringIO(blob.decode())))
        assert len(rows) == trained_run.n_epochs
        assert float(rows[-1]["test_acc"]) == pytest.approx(trained_run.test_accuracy, abs=0)
        assert_no_errors(tab)  # downloading does not disturb the page
    finally:
        tab.context.close()


def test_train_page_link_names_a_stored_run_and_corrects_an_unknown_one(app_server, browser, mnist):  # noqa: F811
    from advx import store
    from advx.config import TrainConfig

    small = TrainConfig(hidden=(32,), epochs=1, batch_size=256, seed=11)
    run = store.get_or_train(small, mnist)
    tab = new_page(browser)
    try:
        open_app(tab, f"{app_server.url}/train?run={run.run_id}")
        assert_no_errors(tab)
        expect(tab.locator(".st-key-train_hidden input")).to_have_value("32")
        # the page names the run by its settings (a run's id is for the link, not for the reader)
        expect(tab.locator("[data-testid='stMain']")).to_contain_text("batch 256, random seed 11")
        assert query(tab).get("run") == run.run_id

        open_app(tab, f"{app_server.url}/train?run=no-such-run")
        assert_no_errors(tab)
        warnings = tab.locator("[data-testid='stAlertContentWarning']").all_inner_texts()
        assert any("not stored on this server" in w for w in warnings), warnings
        assert "run" not in query(tab)  # the default run is shown, and the link says so
        from advx.config import TrainConfig as Default

        d = Default()  # the default run's settings are the ones shown
        assert f"batch {d.batch_size}, random seed {d.seed}" in tab.locator("[data-testid='stMain']").inner_text()
        screenshot(tab, "link-corrected-train")
    finally:
        tab.context.close()
