"""What a person waits for in the browser: a page from its link, a widget change, a stroke on "Draw a digit".

Every time runs in Debian's chromium (Playwright) against a real ``streamlit run`` server whose cache folder
already holds what the pages show (``--cache``, default ``$ADVX_CACHE_DIR``), so nothing is computed for minutes:

- **From a link** (warm server): a fresh tab opens the page's link; the clock runs from the navigation's start
  (``performance.timeOrigin``) to the *last change of the page*: the last DOM mutation anywhere in the document
  (elements arriving, charts drawing, progress bars going) before 1 s without any, with the script finished.
  Target: ≤ 2.5 s.
- **A widget change**: the page's first slider (else radio or select box) in the main area is moved one step,
  ``--changes`` times back and forth; the clock runs from the input event (the key press or click, its
  ``event.timeStamp``) to the last change of the page, as above. Target: median ≤ 300 ms, p95 ≤ 500 ms.
- **A stroke** on "Draw a digit": from the mouse-up on the pad to the last change. Target: median ≤ 400 ms.

The server-side rerun (``bench/latency.py``, AppTest) is the second column of ``bench/run.py``'s table; it
leaves out the browser's drawing. Run alone: ``.venv/bin/python bench/browser_latency.py [--pages a,b]
[--changes 10]``; it prints one line per page and writes ``bench/results/browser_latency.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

LINK_TARGET_S = 2.5
CHANGE_MEDIAN_TARGET_S, CHANGE_P95_TARGET_S = 0.300, 0.500
STROKE_MEDIAN_TARGET_S = 0.400
QUIET_S = 1.0  # the page has stopped changing once nothing changed for this long
TIMEOUT_S = 300

# Installed in every document before it loads: the time of the last mutation, and of the last input event.
_OBSERVE = """(() => {
  window.__advxLast = performance.now(); window.__advxInput = null;
  const mark = () => { window.__advxLast = performance.now(); };
  new MutationObserver(mark).observe(document, {subtree: true, childList: true, attributes: true,
                                                 characterData: true});
  for (const type of ['keydown', 'pointerdown', 'pointerup'])
    window.addEventListener(type, e => { window.__advxInput = e.timeStamp; mark(); }, true);
})();"""
_QUIET = f"""() => {{
  const app = document.querySelector("[data-testid='stApp']");
  const busy = !app || app.getAttribute('data-test-script-state') !== 'notRunning'
    || document.querySelector("[data-testid='stStatusWidget'], [data-testid='stMain'] [data-testid='stProgress']");
  return !busy && performance.now() - window.__advxLast > {QUIET_S * 1000};
}}"""


def _settle(tab) -> float:
    """Wait until the page stopped changing; return the time of its last change (ms since the time origin)."""
    tab.wait_for_function(_QUIET, timeout=TIMEOUT_S * 1000, polling=100)
    return tab.evaluate("window.__advxLast")


def _stats(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")
    return {"median_s": statistics.median(ordered) if ordered else float("nan"), "p95_s": p95,
            "max_s": max(ordered, default=float("nan")), "n": len(ordered), "seconds": [round(s, 3) for s in seconds]}


def from_link(browser, url: str, repeats: int) -> dict:
    """A fresh tab per visit: from the navigation's start to the last change of the page."""
    times = []
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(_OBSERVE)
        try:
            tab = context.new_page()
            tab.goto(url, wait_until="commit")
            times.append(_settle(tab) / 1000)
        finally:
            context.close()
    return _stats(times)


def _main_widget(tab):
    """``(kind, locator)`` of the first usable slider, radio or select box in the main area, or ``None``."""
    for kind, testid in (("slider", "stSlider"), ("radio", "stRadio"), ("selectbox", "stSelectbox")):
        widgets = tab.locator(f"[data-testid='stMain'] [data-testid='{testid}']")
        for i in range(widgets.count()):
            widget = widgets.nth(i)
            if widget.is_visible() and not widget.locator("xpath=ancestor::*[@data-testid='stForm']").count():
                return kind, widget
    return None


def _change(tab, kind: str, widget, step: int) -> None:
    if kind == "slider":
        thumb = widget.locator("input[type='range']").first
        thumb.focus()
        at_max = thumb.evaluate("e => Number(e.value) >= Number(e.max)")
        at_min = thumb.evaluate("e => Number(e.value) <= Number(e.min)")
        right = (step % 2 == 0 and not at_max) or at_min
        thumb.press("ArrowRight" if right else "ArrowLeft")
    elif kind == "radio":
        widget.locator("[data-testid='stRadioOption']:not([data-selected='true'])").first.click()
    else:
        widget.locator("input").first.click()
        tab.locator("[role='option'][aria-selected='false']").first.click()


def widget_changes(browser, url: str, changes: int) -> dict:
    """The page's main widget changed ``changes`` times: from each input event to the last change of the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(_OBSERVE)
    try:
        tab = context.new_page()
        tab.goto(url, wait_until="commit")
        _settle(tab)
        found = _main_widget(tab)
        if found is None:
            return {"widget": None}
        kind, widget = found
        label = widget.locator("[data-testid='stWidgetLabel']").first.inner_text().strip()
        times = []
        for step in range(changes + 1):  # the first change (compilation, a new cache entry) is reported apart
            tab.evaluate("window.__advxInput = null")
            _change(tab, kind, widget, step)
            last = _settle(tab)
            times.append((last - tab.evaluate("window.__advxInput")) / 1000)
        return {"widget": f"{kind} {label!r}", "first_s": round(times[0], 3), **_stats(times[1:])}
    finally:
        context.close()


STROKES = [[(140, 40), (140, 240)], [(80, 60), (200, 60)], [(90, 150), (190, 150)]]


def strokes(browser, url: str, count: int) -> dict:
    """Strokes on the pad of "Draw a digit": from each mouse-up to the last change of the page."""
    from bench.draw_latency import press_stroke

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(_OBSERVE)
    try:
        tab = context.new_page()
        tab.goto(url + "?example=", wait_until="commit")
        _settle(tab)
        box = tab.locator("canvas[aria-label^='Drawing pad']").bounding_box()
        times = []
        for i in range(count + 1):
            press_stroke(tab, box, STROKES[i % len(STROKES)])
            tab.evaluate("window.__advxInput = null")
            tab.mouse.up()
            last = _settle(tab)
            times.append((last - tab.evaluate("window.__advxInput")) / 1000)
        return {"first_s": round(times[0], 3), **_stats(times[1:])}
    finally:
        context.close()


def verdicts(results: dict) -> dict:
    """Each target met or missed, from the figures."""
    pages = results["pages"]
    link_worst = max(p["link"]["median_s"] for p in pages.values())
    changes = {name: p["change"] for name, p in pages.items() if p["change"].get("widget")}
    return {"link": link_worst <= LINK_TARGET_S,
            "change_median": all(c["median_s"] <= CHANGE_MEDIAN_TARGET_S for c in changes.values()),
            "change_p95": all(c["p95_s"] <= CHANGE_P95_TARGET_S for c in changes.values()),
            "stroke": results["stroke"]["median_s"] <= STROKE_MEDIAN_TARGET_S}


def run(pages: list, changes: int = 10, repeats: int = 3, stroke_count: int = 10) -> dict:
    from browser_support import CHROMIUM, CHROMIUM_ARGS, StreamlitServer, prime
    from playwright.sync_api import sync_playwright

    server = StreamlitServer(log_name="bench-browser-latency.log")
    out = {"pages": {}, "load_before": os.getloadavg()[0]}
    try:
        server.wait_healthy()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            prime(server, browser)
            for page in pages:
                url = f"{server.url}/{page.url_path}"
                from_link(browser, url, 1)  # the first visit fills the server's caches; not counted
                out["pages"][page.name] = {"title": page.title, "link": from_link(browser, url, repeats),
                                           "change": widget_changes(browser, url, changes)}
                print(f"{page.title}: {json.dumps(out['pages'][page.name], default=str)[:300]}", flush=True)
            out["stroke"] = strokes(browser, f"{server.url}/draw", stroke_count)
            browser.close()
    finally:
        server.stop()
    out["load_after"] = os.getloadavg()[0]
    out["verdicts"] = verdicts(out)
    return out


def main() -> None:
    from browser_support import registered_pages

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="", help="URL paths, comma-separated (default: every page)")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.chdir(ROOT)
    pages = [p for p in registered_pages() if not args.pages or p.name in args.pages.split(",")]
    results = run(pages, args.changes, args.repeats)
    path = ROOT / "bench" / "results" / "browser_latency.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results["verdicts"]), f"load {results['load_before']:.1f} → {results['load_after']:.1f}")


if __name__ == "__main__":
    main()
