"""Real-browser test support: the app served by ``streamlit run``, Debian's chromium driven by Playwright.

- ``app_server`` (session fixture): one ``streamlit run streamlit_app.py`` per test process on a free
  localhost port, with the tests' cache folder (tests/conftest.py; the data and the default run are put there
  first, so the server never trains them), stopped with its whole process group at the end.
- ``browser`` (session fixture): headless ``/usr/bin/chromium`` with the flags a sandboxed root needs, one
  per test process; each test opens its own contexts (fresh profile, cookies and Streamlit session).
- ``registered_pages()``: the pages ``streamlit_app.py`` registers (read from ``ui.story``'s ``PAGES`` table, keeping
  the files that exist), with the URL path ``st.Page`` gives each one.
- Helpers to wait until a script run has finished or a page's background jobs are done, change a page's main
  widget, look for errors, and save screenshots under ``tests/artifacts/``.

Import the fixtures into a test module with ``from browser_support import app_server, browser``.
"""

from __future__ import annotations

import ast
import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SERVER_START_TIMEOUT_S = 120
PAGE_TIMEOUT_S = 420  # a page's first visit may compute a lot (2 shared CPU cores); later visits are cached
RERUN_TIMEOUT_S = 240
# A page's background jobs ("Waiting for …" progress bars) on a cold 2-core machine: the many-networks page's
# populations train for minutes. Waits follow that progress; this bounds them.
JOB_TIMEOUT_S = 1800

ERROR_SELECTORS = ("[data-testid='stException']", "[data-testid='stAlertContentError']")
CHART_SELECTOR = "[data-testid='stPlotlyChart']"


# ----------------------------------------------------------------------------------------------
# Pages


@dataclass(frozen=True)
class AppPage:
    """A page registered in ``streamlit_app.py``: its script, title, and URL path (``""`` for the default page)."""

    path: str
    title: str
    url_path: str

    @property
    def name(self) -> str:
        return Path(self.path).stem


def registered_pages() -> list[AppPage]:
    """The pages of ``ui.story``'s ``PAGES`` table (which ``streamlit_app.py`` registers) whose files exist, in
    navigation order.

    ``st.Page("views/x.py")`` takes its URL path from the file name (``/x``); the page marked
    ``default`` (``views/home.py``) is served at ``/``.
    """
    tree = ast.parse((ROOT / "ui" / "story.py").read_text())
    table = next(ast.literal_eval(node.value) for node in ast.walk(tree)
                 if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets))
    pages = []
    for entries in table.values():
        for path, title, _icon in entries:
            if (ROOT / path).exists():
                pages.append(AppPage(path, title, "" if path == "views/home.py" else Path(path).stem))
    return pages


# ----------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """``streamlit run streamlit_app.py`` in its own process group, logging to ``tests/artifacts/``."""

    def __init__(self, env: dict[str, str] | None = None, log_name: str = "streamlit-server.log"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / log_name
        self._log = open(self.log_path, "w")
        command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                   "--server.headless", "true", "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
                   "--server.runOnSave", "false"]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        atexit.register(self.stop)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_healthy(self, timeout_s: float = SERVER_START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with status {self.process.returncode} before answering "
                                   f"/_stcore/health. Its log ({self.log_path}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit did not answer {self.url}/_stcore/health within {timeout_s} s. "
                           f"Its log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server and everything it started (its process group)."""
        if self.process.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if not self._log.closed:
            self._log.close()


_shared_server: StreamlitServer | None = None


def prime(server: StreamlitServer, browser) -> None:
    """Open the main page once, so that ``streamlit_app.py`` has run in the server process.

    Tests that are not about that first visit start from the state every later visitor sees;
    ``test_browser.test_a_shared_link_as_the_first_visit_of_a_fresh_server`` covers the first visit.
    """
    page = new_page(browser)
    try:
        open_app(page, server.url + "/")
    finally:
        page.context.close()


@pytest.fixture(scope="session")
def app_server(trained_run, browser) -> StreamlitServer:
    """The app on a free localhost port, with the tests' cache folder; shared by every test in this process.

    ``trained_run`` (tests/conftest.py) puts the verified data and the default run in the cache first,
    so no page waits for them. The server is primed (see ``prime``) and stopped when the process ends.
    """
    global _shared_server
    if _shared_server is None or _shared_server.process.poll() is not None:
        _shared_server = StreamlitServer()
        _shared_server.wait_healthy()
        prime(_shared_server, browser)
    return _shared_server


# ----------------------------------------------------------------------------------------------
# The browser


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's chromium. Install it with "
                    "`apt-get update && apt-get install -y chromium` (.ci/run does this), then run the tests again.",
                    pytrace=False)


_playwright = None
_shared_browser = None


def _close_browser() -> None:
    global _playwright, _shared_browser
    try:
        if _shared_browser is not None:
            _shared_browser.close()
        if _playwright is not None:
            _playwright.stop()
    finally:
        _playwright = _shared_browser = None


@pytest.fixture(scope="session")
def browser():
    """Headless chromium (Playwright), one per test process; every context it opens starts from a fresh profile.

    Modules that import this fixture each get a fixture of their own, and Playwright's sync API allows one
    driver per thread, so the browser is shared here and closed when the process ends.
    """
    global _playwright, _shared_browser
    require_chromium()
    if _shared_browser is None or not _shared_browser.is_connected():
        from playwright.sync_api import sync_playwright

        if _playwright is None:
            _playwright = sync_playwright().start()
            atexit.register(_close_browser)
        _shared_browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                      args=CHROMIUM_ARGS)
    return _shared_browser


def new_page(browser, width: int = 1400, height: int = 1000):
    """A page in a new browser context (its own cookies, storage and Streamlit session)."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.set_default_timeout(30_000)
    return context.new_page()


# ----------------------------------------------------------------------------------------------
# Waiting for Streamlit

_APP = "[data-testid='stApp']"
_WATCH_RUNS = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  window.__advxRuns = 0;
  if (window.__advxObserver) window.__advxObserver.disconnect();
  window.__advxObserver = new MutationObserver(() => {
    const state = app.getAttribute('data-test-script-state');
    if (state === 'running' || state === 'rerunRequested') window.__advxRuns += 1;
  });
  window.__advxObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def script_state(page) -> str | None:
    return page.get_attribute(_APP, "data-test-script-state")


def wait_until_idle(page, timeout_s: float = PAGE_TIMEOUT_S, settle_s: float = 0.75) -> None:
    """Wait until the script has finished and stayed finished for ``settle_s``, with no status widget shown."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        idle = (script_state(page) == "notRunning"
                and page.locator("[data-testid='stStatusWidget']").count() == 0
                and page.locator("[data-testid='stMain']").count() > 0)
        if idle:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle_s:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(150)
    raise AssertionError(f"{page.url} was still running after {timeout_s:g} s (script state {script_state(page)!r})")


def open_app(page, url: str, timeout_s: float = PAGE_TIMEOUT_S) -> None:
    """Load ``url`` and wait until its first script run has finished."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(_APP, state="attached")
    wait_until_idle(page, timeout_s)


def watch_runs(page) -> None:
    """Start counting the script runs of ``page`` (call before the action that should cause one)."""
    page.evaluate(_WATCH_RUNS)


def rerun_seen(page) -> bool:
    return page.evaluate("window.__advxRuns") > 0 or script_state(page) != "notRunning"


def wait_for_rerun(page, timeout_s: float = RERUN_TIMEOUT_S, start_within_s: float = 5.0) -> bool:
    """After ``watch_runs`` and an action: wait for the rerun it causes to finish. Returns whether one was seen."""
    deadline = time.monotonic() + start_within_s
    while time.monotonic() < deadline and not rerun_seen(page):
        page.wait_for_timeout(100)
    started = rerun_seen(page)
    wait_until_idle(page, timeout_s)
    return started


def act_and_wait(page, action, timeout_s: float = RERUN_TIMEOUT_S, start_within_s: float = 5.0) -> bool:
    """Do ``action()`` (a click, a key press...) and wait for the rerun it causes to finish.

    Returns whether a rerun was seen (an action inside a form, for example, causes none).
    """
    watch_runs(page)
    action()
    return wait_for_rerun(page, timeout_s, start_within_s)


# ----------------------------------------------------------------------------------------------
# Looking at a page


def query(page) -> dict[str, str]:
    """The current URL's query parameters."""
    return dict(parse_qsl(urlsplit(page.url).query, keep_blank_values=True))


def errors_shown(page) -> list[str]:
    """Texts of the exceptions and error boxes on the page (empty when there are none)."""
    found = []
    for selector in ERROR_SELECTORS:
        found += [text.strip()[:600] for text in page.locator(selector).all_inner_texts()]
    return found


def assert_no_errors(page) -> None:
    errors = errors_shown(page)
    assert not errors, f"{page.url} shows errors:\n" + "\n---\n".join(errors)


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def chart_count(page) -> int:
    """Rendered Plotly charts: the Streamlit element with a drawn ``.js-plotly-plot`` inside."""
    return page.locator(f"{CHART_SELECTOR} .js-plotly-plot").count()


def jobs_waited_for(page) -> list[str]:
    """The texts of the "Waiting for …" progress bars the page shows: the background jobs it is waiting for."""
    bars = page.locator("[data-testid='stMain'] [data-testid='stProgress']").all_inner_texts()
    return [text.strip() for text in bars if "Waiting for" in text]


def wait_for_jobs(page, timeout_s: float = JOB_TIMEOUT_S, settle_s: float = 1.5) -> None:
    """Wait while the page shows the progress of background jobs, until it has drawn their results.

    The page polls its jobs and reruns itself when one is done, so this waits until no "Waiting for …" bar is
    shown and no script runs for ``settle_s``, for at most ``timeout_s`` (what the slowest job takes cold).
    """
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        busy = bool(jobs_waited_for(page)) or script_state(page) != "notRunning"
        if not busy:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle_s:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(250)
    raise AssertionError(f"{page.url} was still waiting for its jobs after {timeout_s:g} s: {jobs_waited_for(page)}")


def wait_for_charts(page, expected: int, timeout_s: float = 60) -> int:
    """Wait until the page's background jobs are done (``wait_for_jobs``), then until at least ``expected``
    Plotly charts are drawn, for at most ``timeout_s`` more; return how many are."""
    wait_for_jobs(page)
    deadline = time.monotonic() + timeout_s
    while chart_count(page) < expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return chart_count(page)


def screenshot(page, name: str, max_height: int = 12000) -> Path:
    """A full-page screenshot at ``tests/artifacts/<name>.png``.

    Streamlit scrolls inside its main area, not the document, so the viewport is made as tall as that
    area's content for the shot (up to ``max_height`` pixels), then restored.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    size = page.viewport_size
    content = page.evaluate("() => (document.querySelector(\"[data-testid='stMain']\") || document.body).scrollHeight")
    tall = min(max(size["height"], int(content)), max_height)
    if tall > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": tall})
        page.wait_for_timeout(800)  # let the charts redraw at the new size
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def nav_titles(page) -> str:
    """The text of the sidebar navigation."""
    return page.locator("[data-testid='stSidebarNav']").inner_text()


# ----------------------------------------------------------------------------------------------
# Changing a page's main widget, whatever the page


@dataclass
class WidgetChange:
    kind: str        # "slider", "number_input", "selectbox" or "radio"
    label: str
    before: str
    after: str
    testid: str
    index: int       # position among the main area's widgets of this kind

    def locator(self, page):
        return page.locator(f"[data-testid='stMain'] [data-testid='{self.testid}']").nth(self.index)


def _label(widget) -> str:
    label = widget.locator("[data-testid='stWidgetLabel']")
    return label.first.inner_text().strip() if label.count() else ""


def widget_value(page, change: WidgetChange) -> str:
    """The value a widget shows now, read the same way as when it was changed."""
    widget = change.locator(page)
    widget.wait_for(state="visible")
    if change.kind == "slider":
        thumbs = widget.locator("input[type='range']")
        thumbs.first.wait_for(state="attached")
        return ",".join(thumbs.evaluate_all("els => els.map(e => e.value)"))
    if change.kind in ("number_input", "selectbox"):
        return widget.locator("input").first.input_value()
    return widget.locator("[data-testid='stRadioOption'][data-selected='true']").inner_text().strip()


def settled_value(page, change: WidgetChange, expected: str, timeout_s: float = 15) -> str:
    """The widget's value once it shows ``expected`` (or whatever it shows after ``timeout_s``).

    A widget can be in the page a moment before its value is filled in, so a single read may see "".
    """
    deadline = time.monotonic() + timeout_s
    value = widget_value(page, change)
    while value != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        value = widget_value(page, change)
    return value


def change_main_widget(page) -> WidgetChange | None:
    """Change the first usable slider, number input, selectbox or radio in the main area and wait for the rerun.

    Returns what was changed (``before`` / ``after`` as shown), or ``None`` when the page has no such widget.
    Widgets inside a form are skipped: changing them runs nothing until the form is submitted.
    """
    main = "[data-testid='stMain']"
    for kind, testid in (("slider", "stSlider"), ("number_input", "stNumberInput"),
                         ("selectbox", "stSelectbox"), ("radio", "stRadio")):
        widgets = page.locator(f"{main} [data-testid='{testid}']")
        for i in range(widgets.count()):
            widget = widgets.nth(i)
            if widget.locator("xpath=ancestor::*[@data-testid='stForm']").count() or not widget.is_visible():
                continue
            change = WidgetChange(kind, _label(widget), "", "", testid, i)
            change.before = widget_value(page, change)
            if kind == "slider":
                thumb = widget.locator("input[type='range']").first
                at_max = thumb.evaluate("e => Number(e.value) >= Number(e.max)")
                thumb.focus()
                act_and_wait(page, lambda: thumb.press("ArrowLeft" if at_max else "ArrowRight"))
            elif kind == "number_input":
                up = widget.locator("[data-testid='stNumberInputStepUp']")
                down = widget.locator("[data-testid='stNumberInputStepDown']")
                button = up if up.is_enabled() else down
                act_and_wait(page, lambda: button.click())
            elif kind == "selectbox":
                widget.locator("input").first.click()
                page.locator("[role='option']").first.wait_for()
                choices = page.locator("[role='option'][aria-selected='false']")
                if choices.count() == 0:
                    page.keyboard.press("Escape")
                    continue
                act_and_wait(page, lambda: choices.first.click())
            else:
                options = widget.locator("[data-testid='stRadioOption']:not([data-selected='true'])")
                if options.count() == 0:
                    continue
                act_and_wait(page, lambda: options.first.click())
            change.after = widget_value(page, change)
            return change
    return None


# ----------------------------------------------------------------------------------------------
# Layout at a phone's width

# Pages that draw charts (``ui.maps.chart``) but none in their first view: Compare's histograms are in its third view.
CHARTS_LATER = {"views/compare.py"}
PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone held upright
MIN_FONT_PX = 11

_LAYOUT_PROBLEMS = """([minFont, inset]) => {
  // Each text of a chart as the quadrilateral it covers on the screen (its box, rotation included), shrunk by
  // ``inset`` pixels so that boxes that merely touch do not count.
  const quad = (el) => {
    let b;
    try { b = el.getBBox(); } catch (e) { return null; }
    if (!b || b.width <= 2 * inset || b.height <= 2 * inset) return null;
    const m = el.getScreenCTM();
    if (!m) return null;
    const x0 = b.x + inset, y0 = b.y + inset, x1 = b.x + b.width - inset, y1 = b.y + b.height - inset;
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  const separated = (p, q) => {  // the separating axis theorem for two convex quadrilaterals
    for (const poly of [p, q]) {
      for (let i = 0; i < 4; i++) {
        const [ax, ay] = poly[i], [bx, by] = poly[(i + 1) % 4];
        const nx = by - ay, ny = ax - bx;
        const project = (pts) => pts.map(([x, y]) => x * nx + y * ny);
        const a = project(p), c = project(q);
        if (Math.max(...a) <= Math.min(...c) || Math.max(...c) <= Math.min(...a)) return true;
      }
    }
    return false;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    return style.display !== 'none' && style.visibility !== 'hidden' && Number(style.opacity) > 0
      && el.textContent.trim() !== '';
  };
  const problems = [];
  document.querySelectorAll('.js-plotly-plot').forEach((plot, chart) => {
    const frame = plot.getBoundingClientRect();
    if (frame.width === 0 || frame.height === 0) return;  // in a closed expander or tab
    const title = (plot.querySelector('.gtitle') || {}).textContent || `chart ${chart + 1}`;
    const items = [];
    const add = (kind, el) => {
      if (!visible(el)) return;
      const q = quad(el);
      if (q) items.push({kind, text: el.textContent.trim().slice(0, 60), q, el});
    };
    plot.querySelectorAll('.infolayer text.gtitle').forEach(el => add('title', el));
    plot.querySelectorAll(".infolayer g[class^='g-x'][class$='title'] text, "
                          + ".infolayer g[class^='g-y'][class$='title'] text")
      .forEach(el => add('axis title', el));
    plot.querySelectorAll('g.xtick > text, g.ytick > text').forEach(el => add('tick label', el));
    plot.querySelectorAll('g.annotation text.annotation-text').forEach(el => add('annotation', el));
    plot.querySelectorAll('g.legend rect.bg').forEach(el => add('legend', el));
    for (const item of items) {  // a title, label or legend cut off by the edge of its chart
      if (item.kind === 'tick label') continue;
      const xs = item.q.map(p => p[0]), ys = item.q.map(p => p[1]);
      if (Math.min(...xs) < frame.left - 1 || Math.max(...xs) > frame.right + 1
          || Math.min(...ys) < frame.top - 1 || Math.max(...ys) > frame.bottom + 1) {
        problems.push(`${title}: ${item.kind} “${item.text}” runs past the edge of the chart`);
      }
    }
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        const a = items[i], b = items[j];
        if (a.kind === 'legend' && a.el.closest('g.legend').contains(b.el)) continue;
        if (b.kind === 'legend' && b.el.closest('g.legend').contains(a.el)) continue;
        if (!separated(a.q, b.q)) {
          problems.push(`${title}: ${a.kind} “${a.text}” overlaps ${b.kind} “${b.text}”`);
        }
      }
    }
    plot.querySelectorAll('.main-svg text, .main-svg tspan').forEach(el => {
      if (!visible(el) || el.closest('.hoverlayer')) return;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < minFont - 0.01) {
        problems.push(`${title}: text “${el.textContent.trim().slice(0, 40)}” is ${size} px (under ${minFont} px)`);
      }
    });
  });
  // Charts drawn as HTML and SVG (advx.figures.svg): their texts are HTML elements marked with data-kind.
  const box = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 2 * inset || r.height <= 2 * inset) return null;
    const x0 = r.left + inset, y0 = r.top + inset, x1 = r.right - inset, y1 = r.bottom - inset;
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  };
  document.querySelectorAll('.advx-chart').forEach((chart, n) => {
    const frame = chart.getBoundingClientRect();
    if (frame.width === 0 || frame.height === 0) return;
    const title = (chart.querySelector("[data-kind='title']") || {}).textContent || `drawn chart ${n + 1}`;
    const items = [];
    chart.querySelectorAll('[data-kind]').forEach(el => {
      const kind = el.dataset.kind;
      if (kind === 'cell' || !visible(el)) return;
      const q = box(el);
      if (q) items.push({kind, text: el.textContent.trim().slice(0, 60), q, el});
    });
    for (const item of items) {
      if (item.kind === 'tick label') continue;
      const xs = item.q.map(p => p[0]);
      if (Math.min(...xs) < frame.left - 1 || Math.max(...xs) > frame.right + 1) {
        problems.push(`${title}: ${item.kind} “${item.text}” runs past the edge of the chart`);
      }
    }
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        const a = items[i], b = items[j];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        if (!separated(a.q, b.q)) problems.push(`${title}: ${a.kind} “${a.text}” overlaps ${b.kind} “${b.text}”`);
      }
    }
    chart.querySelectorAll('*').forEach(el => {
      const own = Array.from(el.childNodes).some(c => c.nodeType === 3 && c.textContent.trim() !== '');
      if (!own || el.closest('svg') || !visible(el) || getComputedStyle(el).visibility === 'hidden') return;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < minFont - 0.01) {
        problems.push(`${title}: text “${el.textContent.trim().slice(0, 40)}” is ${size} px (under ${minFont} px)`);
      }
    });
  });
  document.querySelectorAll("[data-testid='stTable'], [data-testid='stDataFrame'], .advx-table").forEach((table, n) => {
    const frame = table.getBoundingClientRect();
    if (frame.width === 0 || frame.height === 0) return;
    const first = table.querySelector("thead tr th, [role='columnheader']");
    if (!first) return;
    // st.dataframe draws on a canvas: its header cells have no box; the grid must not start scrolled past them.
    const scroller = table.querySelector('.dvn-scroller');
    if (scroller && scroller.scrollLeft > 0) {
      problems.push(`table ${n + 1}: scrolled past its first column “${first.textContent.trim().slice(0, 40)}”`);
    }
    const box = first.getBoundingClientRect();
    const shown = Math.min(box.right, frame.right) - Math.max(box.left, frame.left);
    if (box.width > 0 && shown < Math.min(box.width, 40)) {
      problems.push(`table ${n + 1}: its first column “${first.textContent.trim().slice(0, 40)}” is hidden`);
    }
  });
  return [...new Set(problems)];
}"""


def layout_problems(page, min_font_px: float = MIN_FONT_PX, inset_px: float = 1.5) -> list[str]:
    """What is wrong with the layout the page shows now, read from the elements' boxes on the screen.

    Inside each Plotly chart (``.js-plotly-plot``) and each chart drawn as HTML and SVG (``.advx-chart``, whose texts
    carry ``data-kind``): the chart's title, its axis titles, tick labels, annotations
    (facet titles, notes) and legend, each taken as the quadrilateral it covers (a rotated tick label as rotated),
    must not overlap one another (boxes shrunk by ``inset_px`` so that touching is no overlap) nor run past the chart's
    edge (a title too long for a phone is cut off there), and no text may be
    smaller than ``min_font_px``. A table (``st.table``, ``st.dataframe``, ``ui.charts.html_table``) must show its first (key) column.
    Charts and tables of zero size (a closed expander or tab) are not looked at. Returns one sentence per problem.
    """
    return page.evaluate(_LAYOUT_PROBLEMS, [min_font_px, inset_px])


def open_at_phone_width(browser, url: str):
    """A new tab the width of a phone (``PHONE``) showing ``url`` once its script run, its background jobs and its
    charts are done; every Plotly element Streamlit sent is drawn (else ``AssertionError``)."""
    tab = new_page(browser, **PHONE)
    try:
        open_app(tab, url)
        wait_for_jobs(tab)
        elements = tab.locator(CHART_SELECTOR).count()
        drawn = wait_for_charts(tab, elements)
        assert drawn >= elements, f"{url}: {elements} Plotly elements, only {drawn} drawn"
        tab.wait_for_timeout(500)  # the charts' last relayout at this width
    except BaseException:
        tab.context.close()
        raise
    return tab
