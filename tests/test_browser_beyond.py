"""The pages "Beyond the post" in a real browser, each checked as ``tests/test_browser.py`` checks every page:
it renders, reacts, shares its view by link, and corrects bad links.

They are a module of their own so that the suite's two workers (``pytest.ini``) split the browser visits:
these pages show the most (the many networks, the street-smart network, the rivals of the post's explanation).
"""

from __future__ import annotations

import pytest

import test_browser
from browser_support import app_server, browser  # noqa: F401

pytestmark = pytest.mark.browser

PAGES = [p for p in test_browser.PAGES if p.path in test_browser.BEYOND]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_renders_reacts_and_round_trips_its_link(app_server, browser, page, request):  # noqa: F811
    test_browser.test_page_renders_reacts_and_round_trips_its_link(app_server, browser, page, request)
