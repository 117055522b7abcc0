"""The traces inside a panel: lines and fills for the SVG drawing; markers, bars and heatmap cells as HTML boxes that
carry their tooltips."""

from __future__ import annotations

import base64
import math
import re

import numpy as np

from advx.figures import maps as M
from advx.figures.svg.axes import bar_widths, orientation, trace_values
from advx.figures.svg.panels import Panel
from advx.figures.svg.style import COLOURS, DASHES, HOVER_POINTS, PNG_CELLS, SMALL, TEXT, Unsupported, V
from advx.figures.svg.text import as_list, as_number, fill_template, format_value, plain, tip_text


def trace_colour(trace: dict, index: int, part: str = "line") -> str:
    own = (trace.get(part) or {}).get("color") if part != "marker" else None
    marker = (trace.get("marker") or {}).get("color")
    for colour in (own, marker if not isinstance(marker, (list, tuple, dict)) else None,
                   (trace.get("line") or {}).get("color")):
        if isinstance(colour, str):
            return colour
    return COLOURS[index % len(COLOURS)]


def _hover(trace: dict, i: int, values: dict, default: str) -> str:
    if trace.get("hoverinfo") in ("skip", "none"):
        return ""
    template = trace.get("hovertemplate")
    if isinstance(template, (list, tuple)):
        template = template[i] if i < len(template) else None
    if template:
        return fill_template(template, values)
    return default


def _point_values(trace: dict, i: int, x, y) -> dict:
    values = {"x": x, "y": y, "fullData.name": trace.get("name")}
    for name in ("text", "customdata", "hovertext"):
        series = trace.get(name)
        if isinstance(series, (list, tuple, dict, np.ndarray)):
            items = as_list(series)
            values[name] = items[i] if i < len(items) else None
        elif series is not None:
            values[name] = series
    return values


def stroke(colour: str, width: float, dash: str | None = None) -> str:
    dashes = DASHES.get(dash or "", dash if dash and re.fullmatch(r"[\d.,\s]+(px)?", str(dash)) else "")
    return (f"stroke='{colour}' stroke-width='{width:g}' fill='none' vector-effect='non-scaling-stroke'"
            + (f" stroke-dasharray='{dashes}'" if dashes else ""))


def _thinned(points: list, step: float = 1.0) -> list:
    """A line's vertices without those closer than ``step`` (a thousandth of the plot's width) along x to the last
    kept one, its first and last kept: the same line to the eye, a fraction of the points where they crowd (the
    top of a log axis)."""
    if len(points) < 3:
        return points
    kept = [points[0]]
    for p in points[1:-1]:
        if abs(p[0] - kept[-1][0]) >= step:
            kept.append(p)
    return kept + [points[-1]]


def _css_percent(v: float) -> str:
    """A coordinate of the plot's SVG space as a percentage of the plot's box."""
    return f"{100 * v / V:.2f}%"


def _title_attr(tip: str) -> str:
    return f" title='{tip_text(tip)}'" if tip else ""


def _box(x: float, y: float, width: float, height: float, fill: str, tip: str) -> str:
    """A bar or a heatmap cell (in the plot's SVG coordinates) as an HTML box that carries its tooltip."""
    return (f"<div{_title_attr(tip)} style='position:absolute;left:{_css_percent(x)};top:{_css_percent(y)};width:{_css_percent(width)};"
            f"height:{_css_percent(height)};background:{fill}'></div>")


def _dot(point: tuple[float, float], size: float, fill: str, tip: str) -> str:
    """A marker (or an invisible target along a line) centred on ``point``, ``size`` pixels across."""
    return (f"<div{_title_attr(tip)} style='position:absolute;left:{_css_percent(point[0])};top:{_css_percent(point[1])};"
            f"width:{size:g}px;height:{size:g}px;margin:{-size / 2:g}px 0 0 {-size / 2:g}px;border-radius:50%;"
            f"background:{fill}'></div>")


def draw_scatter(panel: Panel, trace: dict, index: int, out: list, hits: list) -> None:
    xs, ys = trace_values(trace, "x"), as_list(trace.get("y"))
    colour = trace_colour(trace, index)
    mode = trace.get("mode") or ("lines+markers" if len(ys) < 20 else "lines")
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    fx, fy = panel.x.fracs(xs), panel.y.fracs(ys)
    ok = np.isfinite(fx) & np.isfinite(fy)
    points = [(float(a) * V, (1 - float(b)) * V) if good else None
              for a, b, good in zip(fx.tolist(), fy.tolist(), ok.tolist())]
    name = plain(trace.get("name"))
    if trace.get("fill") in ("toself", "tozeroy"):
        shown = [p for p in points if p is not None]
        if trace["fill"] == "tozeroy" and shown:
            base = (1 - (panel.y.at(0) if panel.y.at(0) is not None else 0.0)) * V
            shown = [(shown[0][0], base)] + shown + [(shown[-1][0], base)]
        fill = trace.get("fillcolor") or colour
        if shown:
            out.append(f"<polygon points='{' '.join(f'{x:.1f},{y:.1f}' for x, y in shown)}' fill='{fill}' "
                       f"stroke='none' opacity='{1 if trace.get('fillcolor') else 0.3}'/>")
    line = trace.get("line") or {}
    if "lines" in mode and (line.get("width") is None or float(line.get("width")) > 0):
        segment: list = []
        for p in points + [None]:
            if p is None:
                segment = _thinned(segment)
                if len(segment) > 1:
                    out.append(f"<polyline points='{' '.join(f'{x:.1f},{y:.1f}' for x, y in segment)}' "
                               f"{stroke(colour, float(line.get('width') or 2), line.get('dash'))}/>")
                segment = []
            else:
                segment.append(p)
    markers = "markers" in mode
    marker = trace.get("marker") or {}
    size = float(marker.get("size") or 6) if not isinstance(marker.get("size"), (list, dict)) else 6.0
    marker_colours = as_list(marker.get("color")) if isinstance(marker.get("color"), (list, tuple, dict)) else None
    step = 1 if markers else max(1, math.ceil(len(points) / HOVER_POINTS))
    for i in range(0, len(points), step):
        p = points[i]
        if p is None:
            continue
        tip = _hover(trace, i, _point_values(trace, i, xs[i], ys[i]),
                     f"{name}: {format_value(xs[i])}, {format_value(ys[i])}" if name else
                     f"{format_value(xs[i])}, {format_value(ys[i])}")
        if markers:
            c = marker_colours[i] if marker_colours and i < len(marker_colours) else trace_colour(trace, index, "marker")
            hits.append(_dot(p, size, c, tip))
        elif tip:  # the line's tooltips: invisible round targets along it
            hits.append(_dot(p, 12, "transparent", tip))


def draw_bars(panel: Panel, bars: list[tuple[int, dict]], layout: dict, hits: list, texts: list) -> None:
    """The panel's bar traces, side by side in each slot (plotly's ``group`` mode) unless a trace sets its widths or
    the layout overlays them."""
    gap = float(layout.get("bargap") if layout.get("bargap") is not None else 0.2)
    grouped = [t for _, t in bars if t.get("width") is None] if layout.get("barmode", "group") == "group" else []
    for index, trace in bars:
        horizontal = orientation(trace) == "h"
        cat_axis, val_axis = (panel.y, panel.x) if horizontal else (panel.x, panel.y)
        cats = trace_values(trace, "y" if horizontal else "x")
        vals = as_list(trace.get("x" if horizontal else "y"))
        positions = [cat_axis.position(c) for c in cats]
        widths = bar_widths(trace, len(positions))
        if any(w is None for w in widths):
            distinct = sorted({p for p in positions if p is not None})
            slot = min((b - a for a, b in zip(distinct, distinct[1:])), default=1.0) if cat_axis.kind != "category" \
                else 1.0
            if len(distinct) == 1 and cat_axis.kind != "category":
                slot = 1.0
        colour = trace_colour(trace, index, "marker")
        marker_colours = as_list((trace.get("marker") or {}).get("color")) \
            if isinstance((trace.get("marker") or {}).get("color"), (list, tuple, dict)) else None
        name = plain(trace.get("name"))
        base = val_axis.at(0.0) if val_axis.kind != "log" else 0.0
        base = 0.0 if base is None else min(max(base, 0.0), 1.0)
        n, k = (len(grouped), grouped.index(trace)) if trace in grouped else (1, 0)
        bar_texts = as_list(trace.get("text")) if trace.get("text") is not None else []
        for i, (p, v) in enumerate(zip(positions, vals)):
            fv = val_axis.at(v)
            if p is None or fv is None:
                continue
            if widths[i] is not None:
                w, offset = float(widths[i]), 0.0
            else:
                w = slot * (1 - gap) / n
                offset = (k - (n - 1) / 2) * w
            c0, c1 = cat_axis.frac(p + offset - w / 2), cat_axis.frac(p + offset + w / 2)
            lo_c, hi_c = sorted((c0, c1))
            lo_v, hi_v = sorted((base, min(max(fv, 0.0), 1.0)))
            if horizontal:
                x, y, width, height = lo_v * V, (1 - hi_c) * V, (hi_v - lo_v) * V, (hi_c - lo_c) * V
            else:
                x, y, width, height = lo_c * V, (1 - hi_v) * V, (hi_c - lo_c) * V, (hi_v - lo_v) * V
            fill = marker_colours[i] if marker_colours and i < len(marker_colours) else colour
            tip = _hover(trace, i, _point_values(trace, i, cats[i] if not horizontal else v,
                                                 v if not horizontal else cats[i]),
                         f"{name}: {format_value(cats[i])}, {format_value(v)}" if name else
                         f"{format_value(cats[i])}: {format_value(v)}")
            hits.append(_box(x, y, max(width, 0.5), max(height, 0.0), fill, tip))
            if i < len(bar_texts) and bar_texts[i] not in (None, "") and trace.get("textposition") in ("outside", "auto", None):
                if horizontal:
                    texts.append((hi_v, (lo_c + hi_c) / 2, plain(bar_texts[i]), "left", "middle"))
                else:
                    texts.append(((lo_c + hi_c) / 2, hi_v, plain(bar_texts[i]), "center", "bottom"))


def _scale(trace: dict, layout: dict, z: np.ndarray) -> tuple[list, float, float, dict, bool]:
    """A heatmap's colour scale, range, colour bar settings and whether its bar is shown."""
    finite = z[np.isfinite(z)]
    if trace.get("coloraxis"):
        axis = layout.get(trace["coloraxis"]) or {}
        scale = axis.get("colorscale")
        lo = as_number(axis.get("cmin"))
        hi = as_number(axis.get("cmax"))
        bar, shown = axis.get("colorbar") or {}, axis.get("showscale", True) is not False
    else:
        scale = trace.get("colorscale")
        lo, hi = as_number(trace.get("zmin")), as_number(trace.get("zmax"))
        bar, shown = trace.get("colorbar") or {}, trace.get("showscale", True) is not False
    if not isinstance(scale, (list, tuple)):
        import plotly.colors

        scale = plotly.colors.get_colorscale(scale or "Plasma")
    if lo is None:
        lo = float(finite.min()) if finite.size else 0.0
    if hi is None:
        hi = float(finite.max()) if finite.size else 1.0
    if (axis_mid := as_number((layout.get(trace.get("coloraxis") or "") or {}).get("cmid"))) is not None:
        bound = max(abs(lo - axis_mid), abs(hi - axis_mid))
        lo, hi = axis_mid - bound, axis_mid + bound
    return [[float(f), c] for f, c in scale], lo, hi, bar, shown


def _luminance(rgb) -> float:
    r, g, b = (float(c) / 255 for c in rgb)
    return 0.299 * r + 0.587 * g + 0.114 * b


def draw_heatmap(panel: Panel, trace: dict, layout: dict, hits: list, texts: list, bars: list) -> None:
    z = M.as_array(trace["z"]).astype(np.float64)
    if z.ndim != 2:
        raise Unsupported("a heatmap whose z is not 2-D")
    ny, nx = z.shape
    xs = trace_values(trace, "x")[:nx]
    ys = trace_values(trace, "y")[:ny]
    scale, lo, hi, bar, shown = _scale(trace, layout, z)
    rgb = M.colours(np.nan_to_num(z, nan=lo), scale, lo, hi)
    name = plain(trace.get("name"))
    if shown:
        bars.append((scale, lo, hi, bar))
    fx = [panel.x.at(v) for v in xs]
    fy = [panel.y.at(v) for v in ys]
    if None in fx or None in fy:
        raise Unsupported("a heatmap cell off its axes")
    if nx * ny > PNG_CELLS:
        left, right = (fx[0] - (fx[1] - fx[0]) / 2 if nx > 1 else 0.0), (fx[-1] + (fx[-1] - fx[-2]) / 2 if nx > 1 else 1.0)
        top, bottom = (fy[0] - (fy[1] - fy[0]) / 2 if ny > 1 else 0.0), (fy[-1] + (fy[-1] - fy[-2]) / 2 if ny > 1 else 1.0)
        image = rgb.copy()
        image[~np.isfinite(z)] = 255
        if right < left:
            image, (left, right) = image[:, ::-1], (right, left)
        if bottom < top:  # row 0 at the top of the picture when the y axis runs downwards
            image, (top, bottom) = image[::-1], (bottom, top)
        image = image[::-1]  # SVG's y runs downwards: the highest fraction first
        data = base64.b64encode(M.png(np.ascontiguousarray(image))).decode()
        finite = z[np.isfinite(z)]
        tip = f"{name + ': ' if name else ''}{format_value(float(finite.min())) if finite.size else ''} to " \
              f"{format_value(float(finite.max())) if finite.size else ''}"
        hits.append(f"<img{_title_attr(tip)} alt='' src='data:image/png;base64,{data}' style='position:absolute;"
                    f"left:{_css_percent(left * V)};top:{_css_percent((1 - bottom) * V)};width:{_css_percent((right - left) * V)};"
                    f"height:{_css_percent((bottom - top) * V)};image-rendering:pixelated'>")
        return
    dx = [abs(b - a) for a, b in zip(fx, fx[1:])] or [1.0]
    dy = [abs(b - a) for a, b in zip(fy, fy[1:])] or [1.0]
    wx, wy = min(dx), min(dy)
    cell_text = as_list(trace.get("text"))
    template = trace.get("texttemplate")
    font = max(SMALL, float((trace.get("textfont") or {}).get("size") or SMALL))
    for r in range(ny):
        for c in range(nx):
            value = z[r, c]
            if not np.isfinite(value):
                continue
            text = cell_text[r][c] if r < len(cell_text) and isinstance(cell_text[r], (list, tuple)) \
                and c < len(cell_text[r]) else None
            values = {"x": xs[c], "y": ys[r], "z": float(value), "text": text}
            tip = _hover(trace, 0, values, f"{format_value(xs[c])}, {format_value(ys[r])}: {format_value(value)}")
            x0, y0 = (fx[c] - wx / 2) * V, (1 - fy[r] - wy / 2) * V
            colour = "#%02x%02x%02x" % tuple(int(v) for v in rgb[r, c])
            hits.append(_box(x0, y0, wx * V + 0.5, wy * V + 0.5, colour, tip))
            shown_text = fill_template(template, values) if template else None
            if shown_text:
                ink = "#ffffff" if _luminance(rgb[r, c]) < 0.5 else TEXT
                texts.append((fx[c], fy[r], shown_text, "center", "middle", ink, font))
