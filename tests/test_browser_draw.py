""""Draw a digit" in Debian's chromium: a 7 drawn with the mouse on the real pad is read as 7, and the overlay's
ε slider, moved step by step, turns it into the target. Undo and Clear work on the pad itself."""

from __future__ import annotations

import re

import pytest

from browser_support import (act_and_wait, app_server, assert_no_errors, browser, main_text,  # noqa: F401
                             new_page, open_app, query, screenshot)

pytestmark = pytest.mark.browser

SEVEN = [(65, 58), (210, 58), (150, 150), (112, 235)]  # pad pixels (the pad is 280 px wide)
PAD = "canvas[aria-label^='Drawing pad']"


def stroke(page, points, steps: int = 10) -> None:
    """Press, move through ``points`` (pad pixels) and release the mouse on the pad."""
    box = page.locator(PAD).bounding_box()
    scale = box["width"] / 280

    def at(x, y):
        return box["x"] + x * scale, box["y"] + y * scale

    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for i in range(1, steps + 1):
            page.mouse.move(*at(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps))
    act_and_wait(page, page.mouse.up)


def metric(page, label: str) -> str:
    """The value of the metric whose label is ``label``."""
    box = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=re.compile(f"^{re.escape(label)}$")))
    return box.first.locator("[data-testid='stMetricValue']").inner_text().strip()


def test_a_seven_drawn_with_the_mouse_is_read_then_fooled(app_server, browser):  # noqa: F811
    page = new_page(browser)
    try:
        open_app(page, f"{app_server.url}/draw?example=&target=0&eps=0.04")  # a link to an empty pad
        assert "The pad is empty" in main_text(page)
        stroke(page, SEVEN)
        assert_no_errors(page)
        assert metric(page, "The trained network") == "7"
        assert "d" in query(page) and query(page)["target"] == "0"
        overlaid = "The trained network with the overlay"
        assert metric(page, overlaid) == "7"
        thumb = page.locator("[data-testid='stSlider'] input[type='range']").first
        steps = 0
        while metric(page, overlaid) != "0" and steps < 25:
            thumb.focus()
            act_and_wait(page, lambda: thumb.press("ArrowRight"))
            steps += 1
        assert metric(page, overlaid) == "0", f"still {metric(page, overlaid)} after {steps} steps of ε"
        eps = float(query(page)["eps"])
        assert 0.04 < eps <= 1.0 and f"ε = {eps:g}: reads 0" in main_text(page)
        screenshot(page, "draw-a-seven-fooled")
        act_and_wait(page, lambda: page.locator("button.advx-undo").click())
        assert "The pad is empty" in main_text(page) and "d" not in query(page)
    finally:
        page.context.close()


def test_clear_empties_the_pad_and_an_example_can_be_drawn_on(app_server, browser):  # noqa: F811
    page = new_page(browser)
    try:
        open_app(page, f"{app_server.url}/draw")
        select = page.locator("[data-testid='stSelectbox']").filter(has_text="Start from an example").first
        select.locator("input").click()
        act_and_wait(page, lambda: page.locator("[role='option']", has_text="a 1 (1)").first.click())
        assert metric(page, "The trained network") == "1"
        link = query(page)["d"]
        stroke(page, [(60, 130), (220, 130)])  # a bar across the 1: the drawing changes, the pad keeps the 1
        assert query(page)["d"] != link
        ink = page.locator(PAD).evaluate("""c => { const d = c.getContext('2d').getImageData(138, 40, 4, 200).data;
            let s = 0; for (let i = 3; i < d.length; i += 4) s += d[i]; return s; }""")
        assert ink > 0, "the example stays painted under the new stroke"
        act_and_wait(page, lambda: page.locator("button.advx-clear").click())
        assert "The pad is empty" in main_text(page) and "d" not in query(page)
        assert_no_errors(page)
    finally:
        page.context.close()
