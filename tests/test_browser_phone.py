"""Every page at a phone's width (390 CSS pixels) in a real browser: no chart's title, axis title, tick label,
annotation or legend overlaps another, no text in a chart is under 11 px, and no table hides its key column.

The check reads the elements' boxes on the screen (``browser_support.layout_problems``); a full-page screenshot of
each page lands in ``tests/artifacts/phone-<page>.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import (CHART_SELECTOR, app_server, assert_no_errors, browser, layout_problems,  # noqa: F401
                             open_at_phone_width, registered_pages, screenshot)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
PAGES = registered_pages()
# What a page would otherwise compute for minutes before it shows anything is made through the library first, in
# this process (session fixtures of tests/conftest.py); the page then reads it from the cache.
PRIMED = {"networks": ("populations",), "street_smart": ("street_smart_results",),
          "bugs_or_features": ("explanation_results",)}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_fits_a_phone(app_server, browser, page, request):  # noqa: F811
    for name in PRIMED.get(page.name, ()):
        request.getfixturevalue(name)
    tab = open_at_phone_width(browser, f"{app_server.url}/{page.url_path}")
    try:
        assert_no_errors(tab)
        if "plotly_chart" in (ROOT / page.path).read_text():
            assert tab.locator(f"{CHART_SELECTOR} .js-plotly-plot").count() >= 1, \
                f"{page.path} calls st.plotly_chart but no chart is drawn"
        problems = layout_problems(tab)
        screenshot(tab, f"phone-{page.name}")
        assert not problems, f"{page.path} at 390 px:\n" + "\n".join(problems)
    finally:
        tab.context.close()
