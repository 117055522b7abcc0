"""A whole chart as one block of HTML: its panels with their ticks and axis titles, the legend, the colour bar; and
the readers of a drawn chart, for tests."""

from __future__ import annotations

import html as _html
import re
from urllib.parse import quote, unquote

from advx.figures import maps as M
from advx.figures.base import spec_of
from advx.figures.svg.axes import Axis
from advx.figures.svg.panels import figure_panels, Panel, ref_frac
from advx.figures.svg.style import (AXIS, FONT, GRID, LABEL_PX, MIN_PLOT_PX, PANEL_FONT, PANEL_MIN_PX, SMALL, TEXT,
                                    TITLE_FONT, V)
from advx.figures.svg.text import as_number, format_value, plain, rich, title_text
from advx.figures.svg.traces import draw_bars, draw_heatmap, draw_scatter, stroke, trace_colour


def _ticks_x(axis: Axis) -> str:
    if not axis.visible or not axis.labels or not axis.ticks:
        return ""
    angle = as_number(axis.spec.get("tickangle")) or 0.0
    vertical = abs(abs(angle) - 90) < 1
    if axis.kind == "category":
        slot = 100.0 / abs(axis.hi - axis.lo)
        items = sorted(((axis.frac(p), t) for p, t in axis.ticks), key=lambda item: item[0])
        cells, cursor = [], 0.0
        for f, t in items:
            left = 100 * f - slot / 2
            style = (f"flex:0 0 {slot:.3f}%;margin-left:{max(0.0, left - cursor):.3f}%;text-align:center;"
                     f"overflow-wrap:anywhere;min-width:0;line-height:1.2")
            if vertical:
                style += ";writing-mode:vertical-rl;transform:rotate(180deg);display:flex;align-items:center"
            cells.append(f"<div data-kind='tick label' style='{style}'>{_html.escape(t)}</div>")
            cursor = left + slot if left >= cursor else cursor + slot
        return f"<div style='display:flex;font-size:{FONT}px;padding-top:3px'>{''.join(cells)}</div>"
    labels = "".join(
        f"<span data-kind='tick label' style='position:absolute;left:{100 * axis.frac(p):.2f}%;"
        f"transform:translateX(-50%);white-space:nowrap;line-height:1.2'>{_html.escape(t)}</span>" for p, t in axis.ticks)
    return (f"<div style='position:relative;box-sizing:border-box;height:{FONT + 12}px;font-size:{FONT}px;"
            f"padding-top:7px'>{labels}</div>")


def _ticks_y(axis: Axis, height: str) -> str:
    if not axis.visible or not axis.labels or not axis.ticks:
        return "<div></div>"
    longest = max((t for _, t in axis.ticks), key=len)
    # a long category name wraps within at most LABEL_PX, the column's width set by the longest label (the sizer)
    labels = "".join(
        f"<span data-kind='tick label' style='position:absolute;left:0;right:4px;top:{100 * (1 - axis.frac(p)):.2f}%;"
        f"transform:translateY(-50%);text-align:right;line-height:1.1;overflow-wrap:anywhere'>{_html.escape(t)}</span>"
        for p, t in axis.ticks)
    sizer = (f"<div aria-hidden='true' style='visibility:hidden;height:0;overflow:hidden;padding-right:8px;"
             f"max-width:{LABEL_PX}px'>{_html.escape(longest)}</div>")
    return f"<div style='position:relative;font-size:{FONT}px;{height}'>{sizer}{labels}</div>"


def _grid_lines(panel: Panel) -> list[str]:
    lines = []
    if panel.y.visible:
        for p, _ in panel.y.ticks:
            y = (1 - panel.y.frac(p)) * V
            lines.append(f"<line x1='0' x2='{V:g}' y1='{y:.1f}' y2='{y:.1f}' {stroke(GRID, 1)}/>")
    if panel.x.visible and panel.x.kind != "category":
        for p, _ in panel.x.ticks:
            x = panel.x.frac(p) * V
            lines.append(f"<line y1='0' y2='{V:g}' x1='{x:.1f}' x2='{x:.1f}' {stroke(GRID, 1)}/>")
    return lines


def _shape(panel: Panel, shape: dict) -> str:
    x0 = ref_frac(panel, shape.get("x0"), shape.get("xref") or "x", "x")
    x1 = ref_frac(panel, shape.get("x1"), shape.get("xref") or "x", "x")
    y0 = ref_frac(panel, shape.get("y0"), shape.get("yref") or "y", "y")
    y1 = ref_frac(panel, shape.get("y1"), shape.get("yref") or "y", "y")
    if None in (x0, x1, y0, y1):
        return ""
    line = shape.get("line") or {}
    outline = stroke(line.get("color") or "#444444", float(line.get("width") or 2), line.get("dash"))
    if shape.get("type") == "rect":
        fill = shape.get("fillcolor")
        return (f"<rect x='{min(x0, x1) * V:.1f}' y='{(1 - max(y0, y1)) * V:.1f}' width='{abs(x1 - x0) * V:.1f}' "
                f"height='{abs(y1 - y0) * V:.1f}' {outline}"
                + (f" style='fill:{fill};opacity:{shape.get('opacity', 1)}'" if fill else "") + "/>")
    return f"<line x1='{x0 * V:.1f}' x2='{x1 * V:.1f}' y1='{(1 - y0) * V:.1f}' y2='{(1 - y1) * V:.1f}' {outline}/>"


def _label(x: float, y: float, text: str, xanchor: str, yanchor: str, colour: str = TEXT, size: float = SMALL,
           kind: str = "annotation", markup: bool = False) -> str:
    shift_x = {"left": "0", "right": "-100%"}.get(xanchor, "-50%")
    shift_y = {"bottom": "-100%", "top": "0"}.get(yanchor, "-50%")
    body = rich(text) if markup else _html.escape(text).replace("\n", "<br>")
    return (f"<span data-kind='{kind}' style='position:absolute;left:{100 * x:.2f}%;top:{100 * (1 - y):.2f}%;"
            f"transform:translate({shift_x},{shift_y});font-size:{max(size, SMALL):g}px;color:{colour};"
            f"white-space:nowrap;pointer-events:none;line-height:1.2'>{body}</span>")


def _note(panel: Panel, note: dict) -> str:
    x = ref_frac(panel, note.get("x", 0.5), note.get("xref") or "x", "x", exponent=True)
    y = ref_frac(panel, note.get("y", 0.5), note.get("yref") or "y", "y", exponent=True)
    if x is None or y is None:
        return ""
    font = note.get("font") or {}
    xanchor = note.get("xanchor") if note.get("xanchor") not in (None, "auto") else "center"
    yanchor = note.get("yanchor") if note.get("yanchor") not in (None, "auto") else "middle"
    x = min(max(x, 0.0), 1.0)
    if xanchor == "left" and x > 0.75:  # a note near the right edge turns to the left, to stay inside the chart
        xanchor = "right"
    elif xanchor == "right" and x < 0.25:
        xanchor = "left"
    return _label(x, y, str(note["text"]), xanchor, yanchor, font.get("color") or TEXT,
                  float(font.get("size") or FONT), markup=True)


def _square_cells(panel: Panel) -> float | None:
    """The plot area's width over its height when the panel's cells must stay square (``scaleanchor``)."""
    if (panel.y.spec.get("scaleanchor") or panel.x.spec.get("scaleanchor")) and panel.x.hi != panel.x.lo:
        return abs(panel.x.hi - panel.x.lo) / abs(panel.y.hi - panel.y.lo)
    return None


def _layer(parts: list[str]) -> str:
    """SVG drawing (lines, fills, grid, shapes) as one image over the plot's box, a little beyond its edges so that a
    line along an edge is not cut in half."""
    if not parts:
        return ""
    pad = 6.0
    drawing = (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='{-pad:g} {-pad:g} {V + 2 * pad:g} {V + 2 * pad:g}' "
               f"preserveAspectRatio='none'>{''.join(parts)}</svg>")
    inset = f"{-100 * pad / V:.2f}%"
    size = f"{100 * (V + 2 * pad) / V:.2f}%"
    return (f"<img alt='' src='data:image/svg+xml,{quote(drawing, safe=' =:/,.-')}' style='position:absolute;"
            f"left:{inset};top:{inset};width:{size};height:{size};max-width:none;pointer-events:none'>")


def _panel_html(panel: Panel, layout: dict, height_px: float, bars: list, colour_start: int) -> str:
    out: list[str] = _grid_lines(panel)
    hits: list[str] = []  # what carries a tooltip: markers, bars, cells, targets along lines (HTML, over the drawing)
    texts: list = []
    bar_traces = []
    for offset, trace in enumerate(panel.traces):
        if trace.get("visible", True) in (False, "legendonly"):
            continue
        kind = trace.get("type", "scatter")
        index = colour_start + offset
        if kind == "scatter":
            draw_scatter(panel, trace, index, out, hits)
        elif kind == "bar":
            bar_traces.append((index, trace))
        else:
            draw_heatmap(panel, trace, layout, hits, texts, bars)
    if bar_traces:
        draw_bars(panel, bar_traces, layout, hits, texts)
    shapes = [_shape(panel, s) for s in panel.shapes]
    axes = []
    if panel.x.visible:
        axes.append(f"<line x1='0' x2='{V:g}' y1='{V:g}' y2='{V:g}' {stroke(AXIS, 1)}/>")
    if panel.y.visible:
        axes.append(f"<line x1='0' x2='0' y1='0' y2='{V:g}' {stroke(AXIS, 1)}/>")
    # below: the grid, lines and fills; then the boxes and dots that carry tooltips; above: the axes and shapes
    svg = _layer(out) + "".join(hits) + _layer(axes + [s for s in shapes if s])
    labels = "".join(_label(t[0], t[1], t[2], t[3], t[4], *(t[5:] or (TEXT, SMALL)),
                            kind="cell" if len(t) > 5 else "annotation") for t in texts)
    labels += "".join(_note(panel, n) for n in panel.notes)
    ratio = _square_cells(panel)
    if ratio:  # the plot's width sets its height; the panel is no wider than the height it was given allows
        size, y_height = f"aspect-ratio:{ratio:.4f};width:100%", ""
        limit = f"max-width:{height_px * ratio + 120:.0f}px;"
    else:
        size = y_height = f"height:{height_px:.0f}px"
        limit = ""
    above = any((n.get("yref") or "").startswith("paper") and as_number(n.get("y")) is not None
                and ref_frac(panel, n.get("y"), n.get("yref"), "y") >= 0.98 and n.get("yanchor") == "bottom"
                for n in panel.notes)
    plot = (f"<div style='position:relative;{size}'>{svg}{labels}</div>")
    y_title = (f"<div data-kind='axis title' style='writing-mode:vertical-rl;transform:rotate(180deg);"
               f"text-align:center;font-size:{FONT + 1}px;line-height:1.25;padding-right:2px'>{_html.escape(panel.y.title)}</div>"
               if panel.y.visible and panel.y.title else "<div></div>")
    x_title = (f"<div data-kind='axis title' style='text-align:center;font-size:{FONT + 1}px;line-height:1.25;padding-top:2px'>"
               f"{_html.escape(panel.x.title)}</div>" if panel.x.visible and panel.x.title else "<div></div>")
    title = (f"<div data-kind='title' style='text-align:center;font-size:{PANEL_FONT}px;font-weight:600;"
             f"line-height:1.25;margin-bottom:4px;overflow-wrap:anywhere'>{rich(panel.title)}</div>"
             if panel.title else "")
    grid = (f"<div style='display:grid;grid-template-columns:auto auto minmax(0,1fr);align-items:stretch;"
            f"{'margin-top:16px;' if above else ''}{limit}'>"
            f"{y_title}{_ticks_y(panel.y, y_height)}{plot}"
            f"<div></div><div></div>{_ticks_x(panel.x) or '<div></div>'}"
            f"<div></div><div></div>{x_title}</div>")
    return f"<div class='advx-panel' style='flex:1 1 {PANEL_MIN_PX}px;min-width:0;padding:0 6px'>{title}{grid}</div>"


def _legend(spec: dict) -> str:
    layout, traces = spec.get("layout") or {}, spec.get("data") or []
    if layout.get("showlegend") is False:
        return ""
    entries, seen = [], set()
    for index, trace in enumerate(traces):
        name = trace.get("name")
        if trace.get("showlegend") is False or not name or trace.get("type") == "heatmap":
            continue
        key = (trace.get("legendgroup") or "", name)
        if key in seen:
            continue
        seen.add(key)
        colour = trace_colour(trace, index, "marker" if trace.get("type") == "bar" else "line")
        if trace.get("type") == "bar":
            swatch = f"<span style='width:14px;height:10px;background:{colour}'></span>"
        else:
            line = trace.get("line") or {}
            mode = trace.get("mode") or "lines"
            style = {"dot": "dotted", "dash": "dashed", "dashdot": "dashed", "longdash": "dashed"}.get(
                line.get("dash") or "", "solid")
            swatch = (f"<span style='width:18px;border-top:2px {style} {colour}'></span>"
                      if "lines" in mode or trace.get("fill") else "<span style='width:18px'></span>")
            if "markers" in mode:
                swatch += (f"<span style='position:absolute;left:6px;top:50%;width:6px;height:6px;margin-top:-3px;"
                           f"border-radius:50%;background:{colour}'></span>")
        entries.append(f"<span data-kind='legend' style='display:inline-flex;align-items:center;gap:4px;"
                       f"{'opacity:0.5;' if trace.get('visible') == 'legendonly' else ''}'>"
                       f"<span style='position:relative;display:inline-flex;align-items:center;flex:none;width:18px;"
                       f"height:16px'>{swatch}</span>{rich(name)}</span>")
    shown = layout.get("showlegend") is True or len(traces) > 1
    if not entries or not shown:
        return ""
    return (f"<div style='display:flex;flex-wrap:wrap;gap:2px 14px;font-size:{FONT}px;margin-top:8px;"
            f"padding:0 6px'>{''.join(entries)}</div>")


def _colour_bar(scale: list, lo: float, hi: float, bar: dict) -> str:
    fmt = bar.get("tickformat") or ""
    low, high = (format_value(v, fmt) if fmt else f"{v:.3g}" for v in (lo, hi))
    return M.colour_bar(scale, low, high, plain(title_text(bar.get("title"))), kind="legend", font=FONT, pad="0 6px")


def _heights(panels: list[Panel], layout: dict) -> dict[int, float]:
    """Each panel's plot height in pixels: the figure's height less its margins and the room for labels, shared
    among the rows of panels by their domains."""
    margins = layout.get("margin") or {}
    total = float(layout.get("height") or 450)
    rows = sorted({(round(p.domain_y[0], 3), round(p.domain_y[1], 3)) for p in panels}, reverse=True)
    usable = total - float(margins.get("t", 40) or 0) - float(margins.get("b", 10) or 0) - 70 - 60 * (len(rows) - 1)
    span = sum(hi - lo for lo, hi in rows) or 1.0
    return {id(p): max(MIN_PLOT_PX, usable * (p.domain_y[1] - p.domain_y[0]) / span) for p in panels}


def chart(fig) -> str:
    """A figure (a ``go.Figure`` or its JSON spec) as one block of HTML and SVG that a browser shows without
    plotly.js; ``Unsupported`` if it holds what this engine does not draw."""
    spec = spec_of(fig)
    layout = spec.get("layout") or {}
    panels = figure_panels(spec)
    heights = _heights(panels, layout)
    bars: list = []
    rows: dict[tuple, list] = {}
    colour_of = {}
    for index, trace in enumerate(spec.get("data") or []):
        colour_of[id(trace)] = index
    for panel in panels:
        start = colour_of.get(id(panel.traces[0]), 0) if panel.traces else 0
        html = _panel_html(panel, layout, heights[id(panel)], bars, start)
        rows.setdefault((round(panel.domain_y[0], 3), round(panel.domain_y[1], 3)), []).append(
            (panel.domain_x[0], html))
    body = "".join(
        f"<div style='display:flex;flex-wrap:wrap;gap:10px 0;margin-top:6px'>"
        f"{''.join(h for _, h in sorted(row))}</div>" for _, row in sorted(rows.items(), reverse=True))
    title = title_text(layout.get("title"))
    heading = (f"<div data-kind='title' style='font-size:{TITLE_FONT}px;font-weight:600;line-height:1.3;"
               f"margin-bottom:4px;overflow-wrap:anywhere'>{rich(title)}</div>") if title else ""
    bar = _colour_bar(*bars[0]) if bars else ""
    html = (f"<div class='advx-chart' style='font-family:inherit;color:{TEXT};margin-bottom:8px'>"
            f"{heading}{body}{_legend(spec)}{bar}</div>")
    return html.replace("\n", " ")  # one line of HTML


_TIP = re.compile(r"<(?:div|img) title='([^']*)'")
_LAYER = re.compile(r"src='data:image/svg\+xml,([^']*)'")


def tooltips(html: str) -> list[str]:
    """The hover text of every point, bar and cell of a ``chart``, in order."""
    return [_html.unescape(t) for t in _TIP.findall(html)]  # "&#10;" back to a line break


def drawings(html: str) -> list[str]:
    """The SVG of every drawing layer of a ``chart`` (its lines, fills, grid, axes and shapes), in order."""
    return [unquote(d) for d in _LAYER.findall(html)]
