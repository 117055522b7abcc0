"""The path through the lab in a real browser: "next →" from Home through every page in the story's order, the
same order in the sidebar and on Home; and class mode (``?class=1``) for a projector."""

from __future__ import annotations

import re
import time

import pytest

from ui import classmode, story

from browser_support import (app_server, assert_no_errors, browser, nav_titles, new_page, open_app,  # noqa: F401
                             screenshot, wait_for_jobs, wait_until_idle)

pytestmark = pytest.mark.browser

MAP_TIMEOUT_S = 60
NEXT_TIMEOUT_S = 900  # a page draws its "next →" link when its script ends; cold, a page may compute minutes first


def _next_link(tab):
    return tab.locator("[data-testid='stMain'] [data-testid='stPageLink'] a", has_text="Next:")


def test_next_walks_every_page_in_the_storys_order(app_server, browser, populations, street_smart_results,  # noqa: F811
                                                   explanation_results):
    order = [title for _, title, _ in story.order()]
    tab = new_page(browser)
    try:
        open_app(tab, app_server.url + "/")
        sidebar = [line.strip() for line in nav_titles(tab).splitlines() if line.strip() in order]
        assert sidebar == order, sidebar
        numbered = (re.search(r"(\d+)\. ([^:]+):", text) for text in tab.locator(
            "[data-testid='stMain'] [data-testid='stPageLink']").all_inner_texts())  # after the link's icon
        home = [m.group(2).strip() for m in numbered if m]
        assert home == order[1:], home
        visited = [order[0]]
        while True:
            deadline = time.monotonic() + NEXT_TIMEOUT_S
            while _next_link(tab).count() == 0 and time.monotonic() < deadline:
                if tab.locator("[data-testid='stMain'] [data-testid='stPageLink'] a", has_text="←").count():
                    break  # the last page: a previous link and no next one
                tab.wait_for_timeout(500)
            if _next_link(tab).count() == 0:
                break
            label = _next_link(tab).first.inner_text()
            title = label.removeprefix("Next:").strip().removesuffix("→").strip()
            script = next(path for path, t, _ in story.order() if t == title)
            _next_link(tab).first.click()
            tab.wait_for_url(re.compile(rf"/{script.rsplit('/', 1)[-1].removesuffix('.py')}(\?|$)"), timeout=60_000)
            wait_until_idle(tab)
            assert_no_errors(tab)
            visited.append(title)
        assert visited == order, visited
    finally:
        tab.context.close()


_MAP_WIDTHS = """() => {
  const widths = [];
  for (const gd of document.querySelectorAll("[data-testid='stMain'] .js-plotly-plot")) {
    if (!gd._fullData) continue;
    for (const trace of gd._fullData) {
      if (trace.type !== 'heatmap' || !trace.z || !trace.z.length) continue;
      const axis = gd._fullLayout[trace.xaxis.replace('x', 'xaxis')];
      const columns = trace.z[0].length;
      if (axis && axis._length && columns >= 28) widths.push(axis._length * 28 / columns);
    }
  }
  // maps drawn as pictures (advx.figures.maps.picture): each tile an image, once it has loaded
  for (const img of document.querySelectorAll("[data-testid='stMain'] .advx-maps img"))
    if (img.complete && img.naturalWidth === 28) widths.push(img.getBoundingClientRect().width);
  return widths;
}"""


@pytest.mark.parametrize("script", ["views/effective_weights.py", "views/dataset_averages.py", "views/overlay.py",
                                    "views/compare.py"])
def test_class_mode_folds_the_controls_away_and_draws_large_maps(app_server, browser, script):  # noqa: F811
    tab = new_page(browser, width=1280, height=800)  # a projector
    try:
        path = script.rsplit("/", 1)[-1].removesuffix(".py")
        open_app(tab, f"{app_server.url}/{path}?class=1")
        wait_for_jobs(tab)
        assert_no_errors(tab)
        visible = tab.evaluate("""(ids) => ids.flatMap(id => Array.from(document.querySelectorAll(
            `[data-testid='${id}']`)).filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0)
            .map(() => id))""", list(classmode.WIDGETS))
        assert not visible, f"{script} in class mode shows widgets: {visible}"
        assert tab.locator("section[data-testid='stSidebar']").evaluate_all(
            "els => els.every(e => e.offsetParent === null || e.getBoundingClientRect().width === 0)")
        deadline = time.monotonic() + MAP_TIMEOUT_S  # Plotly draws after the script ends; slower under load
        while not (widths := tab.evaluate(_MAP_WIDTHS)) and time.monotonic() < deadline:
            tab.wait_for_timeout(250)
        assert widths, f"{script} draws no map within {MAP_TIMEOUT_S} s of its jobs' end"
        assert min(widths) >= 180, f"{script}: maps {sorted(round(w) for w in widths)[:5]} px wide"
        screenshot(tab, f"class-mode-{path}")
    finally:
        tab.context.close()
