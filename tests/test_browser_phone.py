"""Every page at a phone's width (390 CSS pixels) in a real browser: no chart's title, axis title, tick label,
annotation or legend overlaps another, no text in a chart is under 11 px, and no table hides its key column.

The check reads the elements' boxes on the screen (``browser_support.layout_problems``); a full-page screenshot of
each page lands in ``tests/artifacts/phone-<page>.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import numpy as np

from browser_support import (CHART_SELECTOR, CHARTS_LATER, PHONE, app_server, assert_no_errors, browser,  # noqa: F401
                             layout_problems, new_page, open_at_phone_width, registered_pages, screenshot)

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
        if page.path not in CHARTS_LATER and ".chart(" in (ROOT / page.path).read_text():
            assert tab.locator("[data-testid='stMain'] .advx-chart").count() >= 1, \
                f"{page.path} draws charts but none is shown"
        problems = layout_problems(tab)
        screenshot(tab, f"phone-{page.name}")
        assert not problems, f"{page.path} at 390 px:\n" + "\n".join(problems)
    finally:
        tab.context.close()


def _drawn(browser, fig, width: int = 390, height: int = 900):  # noqa: F811
    """A tab of ``PHONE`` width showing ``fig`` alone, drawn by the plotly.js that ships with plotly."""
    import plotly.io as pio

    tab = new_page(browser, width=width, height=height)
    tab.set_content(pio.to_html(fig, include_plotlyjs=True, full_html=True, config={"responsive": True}))
    tab.wait_for_selector(".js-plotly-plot .main-svg")
    tab.wait_for_timeout(300)
    return tab


def test_the_check_finds_overlapping_titles_and_small_text(browser):  # noqa: F811
    import plotly.graph_objects as go

    crowded = go.Figure(layout=dict(height=300, annotations=[
        dict(text="shown to the other networks", x=0.45, y=1.0, xref="paper", yref="paper", showarrow=False),
        dict(text="shown to the same network", x=0.55, y=1.0, xref="paper", yref="paper", showarrow=False),
        dict(text="tiny", x=0.5, y=0.2, xref="paper", yref="paper", showarrow=False, font=dict(size=8))]))
    tab = _drawn(browser, crowded)
    try:
        problems = layout_problems(tab)
    finally:
        tab.context.close()
    assert any("overlaps" in p and "shown to the other networks" in p for p in problems), problems
    assert any("“tiny” is 8 px" in p for p in problems), problems

    apart = go.Figure(layout=dict(height=300, annotations=[
        dict(text="left", x=0.1, y=1.0, xref="paper", yref="paper", showarrow=False),
        dict(text="right", x=0.9, y=1.0, xref="paper", yref="paper", showarrow=False)]))
    tab = _drawn(browser, apart)
    try:
        assert layout_problems(tab) == []
    finally:
        tab.context.close()


def test_the_check_reads_the_charts_drawn_as_html_and_svg(browser):  # noqa: F811
    """A chart drawn by ``advx.figures.svg`` at a phone's width: its subplots stack, nothing overlaps; the same chart
    with its tick labels pushed onto its axis title, or its text shrunk, is caught."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    from advx.figures import svg

    fig = make_subplots(rows=1, cols=2, subplot_titles=("highly activated neurons per image", "mildly activated"))
    for col in (1, 2):
        fig.add_trace(go.Bar(x=list(range(12)), y=np.linspace(0.3, 0.0, 12), name=f"layer {col}"), row=1, col=col)
    fig.update_layout(title="Two panels side by side", height=340, yaxis=dict(tickformat=".0%"))
    fig.update_xaxes(title="neurons")
    html = svg.chart(fig)
    pushed = html.replace("line-height:1.25;padding-top:2px", "line-height:1.25;margin-top:-16px")  # title on ticks
    shrunk = html.replace(f"font-size:{svg.FONT}px", "font-size:8px")
    for body, expect in ((html, None), (pushed, "overlaps"), (shrunk, "is 8 px")):
        tab = new_page(browser, **PHONE)
        try:
            tab.set_content(f"<html><body style='margin:8px;font-family:sans-serif'>{body}</body></html>")
            panels = tab.evaluate("Array.from(document.querySelectorAll('.advx-panel')).map(p => "
                                  "p.getBoundingClientRect().top)")
            problems = layout_problems(tab)
        finally:
            tab.context.close()
        if expect is None:
            assert problems == [] and len(panels) == 2 and panels[1] > panels[0] + 100, (problems, panels)  # stacked
        else:
            assert any(expect in p for p in problems), problems


def test_a_mosaic_draws_at_phone_width_and_its_hover_names_the_pixel(browser):  # noqa: F811
    import numpy as np

    from advx.figures import explanations, neurons

    maps = np.random.default_rng(0).standard_normal((784, 5))
    names = ["Layer_2 #5", "Layer_2 #9", "output #0", "output #3", "Layer_1 #1"]
    notes = ["HF 0.123 · rough 0.45 · r 0.67"] * 5
    figures = [neurons.map_grid(maps, names, ncols=3, notes=notes, dead=[False, True, False, False, False],
                                title="Layer_2: local Jacobian at #12 (epoch 3)"),
               explanations.gallery({"clean": np.clip(maps.T, 0, 1)[:4], "kept in top-100": np.clip(maps.T, 0, 1)[1:]},
                                    {"clean": [f"a {i}" for i in range(4)], "kept in top-100": ["ε 1.23 → 4"] * 4},
                                    title="Clean, kept in the top-100 subspace, unrestricted")]
    for fig in figures:
        tab = _drawn(browser, fig)
        try:
            assert tab.locator(".heatmaplayer image, .heatmaplayer .hm").count() >= 1
            # (a chart title longer than a phone's width is cut off at its edge: a separate, known problem)
            assert [p for p in layout_problems(tab) if "runs past the edge" not in p] == []
            fig_data = fig.data[0]
            name, top, left = fig_data.meta["tiles"][2]
            # hover the middle of pixel (row 10, column 20) of the third map
            point = tab.evaluate("""([x, y]) => {
                const plot = document.querySelector('.js-plotly-plot');
                const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
                const box = plot.querySelector('.nsewdrag').getBoundingClientRect();
                return [box.left + xa.l2p(x), box.top + ya.l2p(y)];
            }""", [float(fig_data.x[left + 20]) + 0.5, float(fig_data.y[top + 10]) + 0.5])
            tab.mouse.move(*point)
            tab.wait_for_selector(".hoverlayer .hovertext", timeout=5000)
            hover = " ".join(tab.evaluate("""() => { const t = document.querySelector('.hoverlayer .hovertext text');
                const lines = t.querySelectorAll('tspan.line');
                return lines.length ? Array.from(lines, l => l.textContent).join(' ') : t.textContent; }""").split())
            value = np.asarray(fig_data.z)[top + 10, left + 20]
            where, shown = hover.rsplit(": ", 1)
            assert where.endswith("row 10, col 20") and " ".join(name.split("<br>")) in hover, hover
            assert float(shown) == pytest.approx(float(f"{value:.3g}"), abs=1e-12), hover  # d3's .3g of the value
        finally:
            tab.context.close()
