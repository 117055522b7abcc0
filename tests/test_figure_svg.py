"""Charts drawn as HTML and SVG (``advx.figures.svg``): where each point, bar and cell lands, its colour and its
hover text, checked against the figure's own numbers by an independent route (the axis mapping written out here,
plotly's own colour sampling, Python's formatting)."""

from __future__ import annotations

import re

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import pytest

from advx.figures import svg
from advx.figures.base import SHARE_SCALE

V = svg.V


def _points(html: str) -> list[list[tuple[float, float]]]:
    """Every line's vertices, in the plot's SVG coordinates, from the chart's drawing layers."""
    return [[tuple(map(float, p.split(","))) for p in line.split()]
            for line in re.findall(r"<polyline points='([^']*)'", "".join(svg.drawings(html)))]


def _boxes(html: str) -> list[tuple[float, float, float, float, str, str]]:
    """Every bar or cell: its box in the plot's SVG coordinates (from the percentages of its HTML box), colour, tip."""
    return [(float(x) * V / 100, float(y) * V / 100, float(w) * V / 100, float(h) * V / 100, colour, tip)
            for tip, x, y, w, h, colour in re.findall(
                r"<div title='([^']*)' style='position:absolute;left:([\d.-]+)%;top:([\d.-]+)%;width:([\d.]+)%;"
                r"height:([\d.]+)%;background:([^']*)'>", html)]


def _markers(html: str) -> list[tuple[float, float, str]]:
    return [(float(x) * V / 100, float(y) * V / 100, tip) for tip, x, y in re.findall(
        r"<div title='([^']*)' style='position:absolute;left:([\d.-]+)%;top:([\d.-]+)%;width:[\d.]+px;[^']*"
        r"background:(?!transparent)[^']*'>", html)]


def test_a_line_lands_where_its_axes_put_it_and_its_markers_carry_their_values():
    x, y = [0.0, 1.0, 2.5, 4.0], [0.1, 0.4, 0.35, 0.9]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", name="curve",
                               hovertemplate="ε %{x}: %{y:.1%}<extra></extra>"),
                    layout=dict(xaxis=dict(range=[0, 5]), yaxis=dict(range=[0, 1]), title="A line"))
    html = svg.chart(fig)
    (line,) = _points(html)
    expected = [(xi / 5 * V, (1 - yi) * V) for xi, yi in zip(x, y)]
    np.testing.assert_allclose(line, expected, atol=0.06)
    markers = _markers(html)
    assert [m[2] for m in markers] == [f"ε {svg.format_value(xi)}: {yi:.1%}" for xi, yi in zip(x, y)]
    np.testing.assert_allclose([m[:2] for m in markers], expected, atol=0.06)
    assert svg.tooltips(html) == ["ε 0: 10.0%", "ε 1: 40.0%", "ε 2.5: 35.0%", "ε 4: 90.0%"]
    assert "A line" in html and "<script" not in html


def test_a_log_axis_places_by_the_exponent_and_labels_the_powers_of_ten():
    fig = go.Figure(go.Scatter(x=[1, 10 ** 1.5, 1000], y=[0, 0.5, 1], mode="lines"),
                    layout=dict(xaxis=dict(type="log", range=[0, 3], dtick=1), yaxis=dict(range=[0, 1])))
    html = svg.chart(fig)
    (line,) = _points(html)
    np.testing.assert_allclose([p[0] for p in line], [0, 500, 1000], atol=0.06)
    labels = re.findall(r"data-kind='tick label'[^>]*>([^<]*)<", html)
    assert {"1", "10", "100", "1000"} <= set(labels)


def test_grouped_bars_share_each_slot_and_rise_to_their_values():
    cats = ["a", "b", "c"]
    fig = go.Figure([go.Bar(x=cats, y=[1, 2, 3], name="one"), go.Bar(x=cats, y=[3, 2, 1], name="two")],
                    layout=dict(barmode="group", bargap=0.2, yaxis=dict(range=[0, 4])))
    html = svg.chart(fig)
    rects = [b[:4] for b in _boxes(html)]
    assert len(rects) == 6
    # the category axis runs over [-0.5, 2.5]: a slot of 1 is V / 3 wide, each bar 0.4 of a slot
    width = 0.4 * V / 3
    for i, (trace, values) in enumerate((("one", [1, 2, 3]), ("two", [3, 2, 1]))):
        for k, value in enumerate(values):
            x, y, w, h = rects[3 * i + k]
            centre = (k + 0.5) / 3 * V + (i - 0.5) * width
            assert x == pytest.approx(centre - width / 2, abs=0.15) and w == pytest.approx(width, abs=0.15)
            assert h == pytest.approx(value / 4 * V, abs=0.15) and y + h == pytest.approx(V, abs=0.15)
    assert svg.tooltips(html)[:2] == ["one: a, 1", "one: b, 2"]
    assert html.count("data-kind='legend'") == 2


def test_a_heatmap_cell_has_plotly_s_colour_its_value_and_its_text():
    z = np.array([[0.0, 0.25], [0.5, np.nan], [1.0, 0.8]])
    fig = go.Figure(go.Heatmap(z=z, x=["p", "q"], y=["r", "s", "t"], zmin=0, zmax=1, colorscale=SHARE_SCALE,
                               texttemplate="%{z:.0%}", hovertemplate="%{y} → %{x}: %{z:.1%}<extra></extra>"))
    html = svg.chart(fig)
    cells = [(colour, tip) for *_, colour, tip in _boxes(html)]
    finite = [(r, c) for r in range(3) for c in range(2) if np.isfinite(z[r, c])]
    assert [tip for _, tip in cells] == [f"{'rst'[r]} → {'pq'[c]}: {z[r, c]:.1%}" for r, c in finite]
    for (colour, _), (r, c) in zip(cells, finite):
        expected = plotly.colors.unlabel_rgb(plotly.colors.sample_colorscale(SHARE_SCALE, [z[r, c]])[0])
        got = plotly.colors.hex_to_rgb(colour)
        assert max(abs(a - b) for a, b in zip(got, expected)) <= 1, (r, c, got, expected)
    texts = re.findall(r"data-kind='cell'[^>]*>([^<]*)<", html)
    assert texts == [f"{z[r, c]:.0%}" for r, c in finite]


def test_subplots_become_panels_titled_by_their_annotations():
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    fig.add_trace(go.Scatter(x=[1, 2, 3], y=[0.5, 0.3, 0.2], name="loss"), row=1, col=1)
    fig.add_trace(go.Scatter(x=[1, 2, 3], y=[0.9, 0.95, 0.97], name="accuracy"), row=1, col=2)
    html = svg.chart(fig)
    assert html.count("class='advx-panel'") == 2
    titles = re.findall(r"data-kind='title'[^>]*>([^<]*)<", html)
    assert titles == ["Loss", "Accuracy"]


def test_markup_is_kept_safe_and_what_is_not_drawn_is_refused():
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="<script>alert(1)</script>"),
                    layout=dict(title=dict(text="a <b>bold</b> title<br>on two lines <img src=x onerror=alert(1)>")))
    html = svg.chart(fig)
    assert "<script" not in html and "onerror" not in html and "<b>bold</b>" in html and "<br>" in html
    assert "\n" not in html and "<svg" not in html  # SVG only inside images: st.html would strip it
    with pytest.raises(svg.Unsupported):
        svg.chart(go.Figure(go.Pie(values=[1, 2])))
    with pytest.raises(svg.Unsupported):
        svg.chart(go.Figure([go.Bar(y=[1]), go.Bar(y=[2])], layout=dict(barmode="stack")))


@pytest.mark.parametrize("value, spec, text", [(0.1234, ".1%", "12.3%"), (0.5, ".0%", "50%"), (1234.5678, ".3g", "1.23e+03"),
                                              (2.0, "", "2"), (0.0012345, "", "0.001234"), (-0.25, ".2f", "−0.25"),
                                              (3.0, "~.2f", "3"), ("Adam", ".2f", "Adam"), (None, "", "")])
def test_values_are_formatted_as_the_hover_templates_ask(value, spec, text):
    assert svg.format_value(value, spec) == text


def test_a_template_fills_in_named_and_indexed_values_and_drops_its_extra_part():
    text = svg.fill_template("%{fullData.name}<br>k = %{x}: %{customdata[1]:.2f}<extra>hidden</extra>",
                             {"fullData.name": "PGD", "x": 103, "customdata": [0.5, 0.125]})
    assert text == "PGD\nk = 103: 0.12"


def test_a_figure_is_drawn_the_same_from_its_own_dictionaries_as_from_its_json():
    """``chart`` reads a figure's dictionaries in place (``advx.figures.base.spec_of``): the drawing is the one its
    JSON (plotly's deep copy, arrays as base64) gives, for validated traces, a plain spec and subplots alike, and
    the figure is left as it was."""
    from plotly.subplots import make_subplots

    from advx.figures import maps as M
    from advx.figures.base import figure
    from advx.figures.robust import class_grid

    rng = np.random.default_rng(0)
    grid = make_subplots(rows=1, cols=2, subplot_titles=("bars", "cells"))
    grid.add_trace(go.Bar(x=np.arange(4), y=rng.random(4), hovertemplate="%{x}: %{y:.2f}<extra></extra>"), 1, 1)
    grid.add_trace(go.Heatmap(z=rng.random((3, 4)), texttemplate="%{z:.1f}", colorscale=SHARE_SCALE), 1, 2)
    plain = figure([dict(type="scatter", x=np.linspace(0, 1, 50), y=rng.random(50), mode="lines+markers",
                         hovertemplate="%{x:.2f}, %{y:.3f}<extra></extra>")],
                   dict(xaxis=dict(type="log", title=dict(text="ε")), shapes=[dict(type="line", x0=0.2, x1=0.2,
                                                                                    y0=0, y1=1)]))
    for fig in (grid, plain):
        before = fig.to_plotly_json()
        assert svg.chart(fig) == svg.chart(before)
        assert fig.to_plotly_json() == before
    maps = class_grid(rng.standard_normal((784, 10)), "maps", rng.random(10))
    assert M.picture(maps) == M.picture(maps.to_plotly_json())
