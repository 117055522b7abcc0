"""Charts drawn without plotly.js: a figure of lines, markers, bars or small heatmaps as one block of HTML.

``chart(fig)`` reads the figure's own spec (its traces, axes, subplots' domains, shapes, annotations, legend and
colour axis) and draws the same picture for a browser to show at once: no chart code to download, parse or run.

- **Text is HTML**, in the page's font at 11 px or more: titles, axis titles, tick labels, annotations and the legend
  wrap on a narrow screen instead of colliding. A figure's subplots are panels side by side that stack when the
  screen is too narrow for them.
- **The plot area** is a box whose width follows the page. Its lines, fills, grid, axes and shapes are SVG images
  (``data:`` URLs, so that the block passes ``st.html``'s sanitiser, which strips inline SVG); lines keep their
  thickness as the box stretches (``vector-effect: non-scaling-stroke``). Markers, bars and heatmap cells are HTML
  boxes over it.
- **Hover keeps its values**: every marker, bar and heatmap cell carries its trace's hover text (its
  ``hovertemplate`` filled in with the point's values) as the browser's tooltip. A line without markers carries it
  at up to ``HOVER_POINTS`` of its points. A heatmap of more than ``PNG_CELLS`` cells is drawn as a picture
  (``advx.figures.maps.png``) and its tooltip gives the range of its values.

What it does not draw (another trace type, a fill between traces, stacked bars) raises ``Unsupported``; the caller
shows the Plotly chart instead. The figure itself (and its HTML download) stays the interactive one.
``tooltips(html)`` and ``drawings(html)`` read a chart back, for tests.
"""

from __future__ import annotations

import base64
import html as _html
import math
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

import numpy as np

from advx.figures import maps as M
from advx.figures.base import TITLE_SIZE

V = 1000.0  # the plot area's SVG coordinates run over [0, V] on both axes
FONT = 12  # tick labels, legend
SMALL = 11  # the smallest text drawn (heatmap cells, notes)
TITLE_FONT = 15  # the figure's title
PANEL_FONT = TITLE_SIZE  # a subplot's title, as on the Plotly figures
HOVER_POINTS = 60  # the most points of a line without markers that carry a tooltip
PNG_CELLS = 600  # a heatmap with more cells is drawn as a picture
MIN_PLOT_PX = 150  # the least height of a plot area
PANEL_MIN_PX = 260  # the width under which panels side by side stack
LABEL_PX = 120  # the widest a y axis's tick labels may be (a longer category name wraps)
# Streamlit's own colours for traces that do not set theirs (its theme gives them to Plotly charts too)
COLOURS = ("#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a", "#6d3fc0", "#d5dae5")
GRID = "#e8e8e8"
AXIS = "#b0b0b0"
TEXT = "#31333f"
DASHES = {"dash": "6 4", "dot": "2 3", "dashdot": "6 3 2 3", "longdash": "10 4", "longdashdot": "10 3 2 3"}


class Unsupported(ValueError):
    """A figure this engine does not draw; show the Plotly chart instead."""


# --- values and text ----------------------------------------------------------------------------------------------


def _list(value) -> list:
    """A trace's array (a list, a NumPy array or plotly's base64 typed array) as a plain list."""
    if value is None:
        return []
    if isinstance(value, dict) and "bdata" in value:
        return M._array(value).tolist()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _number(value) -> float | None:
    """``value`` as a finite float, or None (a string that is not a number, None, NaN)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _numeric(values: list) -> bool:
    """Whether plotly would place ``values`` on a numeric axis (every one a number or a numeric string)."""
    present = [v for v in values if v is not None]
    return all(_number(v) is not None or (isinstance(v, float) and math.isnan(v)) for v in present)


def _key(value) -> str:
    """A value as a category's name (``1.0`` and ``"1"`` are the same category)."""
    number = _number(value)
    if number is not None and not isinstance(value, str) and number == int(number):
        return str(int(number))
    return str(value)


def format_value(value, spec: str = "") -> str:
    """``value`` formatted by a d3 format ``spec`` as plotly does for the specs the figures use (``.1%``, ``.3f``,
    ``.3g``, ``,d``, ``~``-trimmed); a value that is not a number is shown as it is."""
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    trim = spec.startswith("~") or "~" in spec
    spec = spec.replace("~", "")
    if not spec:
        text = str(int(number)) if number == int(number) and abs(number) < 1e15 else f"{number:.4g}"
    else:
        try:
            text = format(int(round(number)) if spec.endswith("d") else number, spec)
        except (ValueError, TypeError):
            text = f"{number:.4g}"
    if trim and "." in text and "e" not in text:
        suffix = "%" if text.endswith("%") else ""
        text = (text[:-1] if suffix else text).rstrip("0").rstrip(".") + suffix
    return text.replace("-", "−") if text.startswith("-") else text


_FIELD = re.compile(r"%\{([A-Za-z_.]+)(?:\[(\d+)\])?(?::([^}]*))?\}")
_TAGS_KEPT = ("b", "i", "sup", "sub")


def fill_template(template: str, values: dict) -> str:
    """A plotly ``hovertemplate`` (or ``texttemplate``) with ``%{name}``, ``%{name[i]}`` and ``%{name:format}``
    filled in from ``values``, its ``<extra>`` part dropped, as plain text (``<br>`` a line break)."""
    template = re.sub(r"<extra>.*?</extra>", "", str(template), flags=re.S)

    def one(match):
        name, index, spec = match.group(1), match.group(2), match.group(3) or ""
        value = values.get(name)
        if index is not None:
            value = value[int(index)] if isinstance(value, (list, tuple)) and int(index) < len(value) else None
        return format_value(value, spec)

    return plain(_FIELD.sub(one, template), breaks="\n")


def plain(text, breaks: str = " ") -> str:
    """Plotly's label markup as plain text: ``<br>`` as ``breaks``, other tags dropped."""
    text = re.sub(r"<br\s*/?>", "\x00", str(text or ""), flags=re.I)
    text = _html.unescape(re.sub(r"<[^>]+>", "", text))
    return text.replace("\x00", breaks).strip()


def rich(text) -> str:
    """Plotly's label markup as safe HTML: ``<br>``, ``<b>``, ``<i>``, ``<sup>``, ``<sub>`` kept, the rest escaped or
    dropped."""
    text = re.sub(r"<br\s*/?>", "\x00", str(text or ""), flags=re.I)
    kept = {f"<{t}>": f"\x01{t}\x02" for t in _TAGS_KEPT} | {f"</{t}>": f"\x01/{t}\x02" for t in _TAGS_KEPT}
    for tag, mark in kept.items():
        text = text.replace(tag, mark)
    text = _html.escape(_html.unescape(re.sub(r"<[^>]+>", "", text)), quote=False)
    return text.replace("\x00", "<br>").replace("\x01", "<").replace("\x02", ">")


def _title_text(title) -> str:
    if isinstance(title, dict):
        return str(title.get("text") or "")
    return str(title or "")


def _tip(text: str) -> str:
    """A tooltip's text for a ``title`` attribute: escaped, its line breaks as character references."""
    return _html.escape(text, quote=True).replace("\n", "&#10;")


# --- axes -------------------------------------------------------------------------------------------------------


@dataclass
class Axis:
    """One axis as drawn: its kind, the range shown (``lo`` at the left or bottom; in log10 on a log axis), its
    categories, its ticks ``[(position, label)]`` and its title."""

    kind: str  # "linear", "log" or "category"
    lo: float
    hi: float
    categories: dict = field(default_factory=dict)
    ticks: list = field(default_factory=list)
    title: str = ""
    labels: bool = True  # tick labels shown
    visible: bool = True
    spec: dict = field(default_factory=dict)

    def position(self, value) -> float | None:
        """Where ``value`` falls on the axis (before the range is applied): a category's index, a log's exponent."""
        if self.kind == "category":
            return self.categories.get(_key(value))
        number = _number(value)
        if number is None:
            return None
        if self.kind == "log":
            return math.log10(number) if number > 0 else None
        return number

    def positions(self, values: list) -> np.ndarray:
        """``position`` of every value at once (NaN where there is none)."""
        if self.kind != "category":
            try:
                numbers = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                numbers = None
            if numbers is not None and numbers.ndim == 1:
                if self.kind == "log":
                    with np.errstate(divide="ignore", invalid="ignore"):
                        return np.where(numbers > 0, np.log10(np.where(numbers > 0, numbers, 1.0)), np.nan)
                return np.where(np.isfinite(numbers), numbers, np.nan)
        return np.array([np.nan if (p := self.position(v)) is None else p for v in values], np.float64)

    def fracs(self, values: list) -> np.ndarray:
        """``at`` of every value at once (NaN where there is none)."""
        if self.hi == self.lo:
            return np.full(len(values), np.nan)
        return (self.positions(values) - self.lo) / (self.hi - self.lo)

    def frac(self, position: float | None) -> float | None:
        """A position as a fraction of the axis's length, from ``lo`` (0) to ``hi`` (1)."""
        if position is None or self.hi == self.lo:
            return None
        return (position - self.lo) / (self.hi - self.lo)

    def at(self, value) -> float | None:
        return self.frac(self.position(value))


def _nice_step(span: float, count: int = 5) -> float:
    raw = abs(span) / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * power * 1.0001:
            return mult * power
    return 10 * power


def _decimals(step: float) -> int:
    """The decimals that write ``step`` exactly (2.5 → 1, 0.025 → 3)."""
    for d in range(12):
        if abs(round(step, d) - step) <= abs(step) * 1e-6:
            return d
    return 12


NARROW_PLOT_PX = 230  # the width a plot area may have on a phone: an x axis's tick labels must fit in it


def _fits(ticks: list) -> int:
    """How many of ``ticks``'s labels fit side by side along a plot ``NARROW_PLOT_PX`` wide (estimated)."""
    longest = max((len(t) for _, t in ticks), default=1)
    return max(2, int(NARROW_PLOT_PX // (0.6 * FONT * longest + 14)))


def _linear_ticks(lo: float, hi: float, spec: dict, count: int = 5) -> list:
    a, b = min(lo, hi), max(lo, hi)
    step = _number(spec.get("dtick")) or _nice_step(b - a, count)
    start = (_number(spec.get("tick0")) or 0.0)
    first = start + math.ceil((a - start) / step - 1e-9) * step
    fmt = spec.get("tickformat") or ""
    ticks, k = [], 0
    while first + k * step <= b + 1e-9 * max(1.0, abs(b)) and k < 60:
        value = first + k * step
        value = 0.0 if abs(value) < step * 1e-9 else value
        label = format_value(value, fmt) if fmt else f"{value:.{_decimals(step)}f}"
        if not fmt and "." in label:
            label = label.rstrip("0").rstrip(".")
        ticks.append((value, label.replace("-", "−")))
        k += 1
    return ticks


def _log_label(exponent: float, spec: dict) -> str:
    value = 10 ** exponent
    if spec.get("tickformat"):
        return format_value(value, spec["tickformat"])
    if spec.get("exponentformat") == "e" or not -4 <= exponent <= 5:
        return f"1e{int(round(exponent))}".replace("-", "−")
    return f"{value:g}"


def _log_ticks(lo: float, hi: float, spec: dict) -> list:
    a, b = min(lo, hi), max(lo, hi)
    exponents = list(range(math.ceil(a - 1e-9), math.floor(b + 1e-9) + 1))
    if len(exponents) < 2:  # under a decade: 1, 2, 5 times the powers of ten
        ticks = [math.log10(m) + e for e in range(math.floor(a) - 1, math.ceil(b) + 1) for m in (1, 2, 5)]
        return [(t, format_value(10 ** t, spec.get("tickformat") or "")) for t in ticks if a - 1e-9 <= t <= b + 1e-9]
    labels = [(float(e), _log_label(e, spec)) for e in exponents]
    every = max(1, math.ceil(len(exponents) / min(7, _fits(labels))))
    return [(p, t) for p, t in labels if (int(p) - exponents[0]) % every == 0]


def _category_ticks(axis: Axis, spec: dict) -> list:
    if spec.get("tickvals") is not None:
        texts = _list(spec.get("ticktext")) or _list(spec["tickvals"])
        return [(axis.categories[_key(v)], plain(t)) for v, t in zip(_list(spec["tickvals"]), texts)
                if _key(v) in axis.categories]
    return [(i, plain(name)) for name, i in axis.categories.items()]


# --- the figure's panels ----------------------------------------------------------------------------------------


def _axis_name(ref: str, letter: str) -> str:
    """``"x2"`` → ``"xaxis2"``."""
    return f"{letter}axis{ref[1:]}" if ref and len(ref) > 1 else f"{letter}axis"


def _orientation(trace: dict) -> str:
    return "h" if trace.get("orientation") == "h" else "v"


def _trace_values(trace: dict, letter: str) -> list:
    """The values a trace places along its ``letter`` axis (x or y), before any grouping."""
    kind = trace.get("type", "scatter")
    values = _list(trace.get(letter))
    if kind == "heatmap" and not values:
        z = M._array(trace["z"])
        return list(range(z.shape[1 if letter == "x" else 0]))
    if kind == "bar" and not values:
        other = _list(trace.get("y" if letter == "x" else "x"))
        return list(range(len(other)))
    if kind == "scatter" and not values and letter == "x":
        return list(range(len(_list(trace.get("y")))))
    return values


def _build_axis(name: str, spec: dict, traces: list[dict], letter: str, layout: dict) -> Axis:
    """The axis ``name`` (``xaxis2``) as drawn for ``traces`` (every trace on it, or on an axis that matches it)."""
    values = [v for t in traces for v in _trace_values(t, letter)]
    kind = spec.get("type")
    if kind not in ("linear", "log", "category"):
        kind = "linear" if _numeric(values) else "category"
    if kind == "category" and any(t.get("type") == "heatmap" and not _list(t.get(letter)) for t in traces):
        kind = "linear"
    axis = Axis(kind=kind, lo=0.0, hi=1.0, title=plain(_title_text(spec.get("title"))),
                labels=spec.get("showticklabels", True) is not False, visible=spec.get("visible", True) is not False,
                spec=spec)
    if kind == "category":
        order = _list(spec.get("categoryarray")) if spec.get("categoryorder") == "array" else []
        names = [_key(v) for v in order] + [_key(v) for v in values]
        if spec.get("tickvals") is not None:
            names = [_key(v) for v in _list(spec["tickvals"])] + names
        for n in names:
            axis.categories.setdefault(n, len(axis.categories))
    rng = spec.get("range")
    if rng is not None and len(rng) == 2 and all(_number(r) is not None for r in rng):
        lo, hi = float(rng[0]), float(rng[1])
    else:
        lo, hi = _auto_range(axis, traces, letter, spec)
        if spec.get("autorange") == "reversed":
            lo, hi = hi, lo
    axis.lo, axis.hi = lo, hi
    if kind == "category":
        axis.ticks = _category_ticks(axis, spec)
    elif spec.get("tickvals") is not None:
        texts = _list(spec.get("ticktext")) or [format_value(v, spec.get("tickformat") or "") for v in
                                                _list(spec["tickvals"])]
        axis.ticks = [(axis.position(v), plain(t)) for v, t in zip(_list(spec["tickvals"]), texts)
                      if axis.position(v) is not None]
    elif kind == "log":
        axis.ticks = _log_ticks(lo, hi, spec)
    else:
        axis.ticks = _linear_ticks(lo, hi, spec)
        if letter == "x" and spec.get("dtick") is None and len(axis.ticks) > (room := _fits(axis.ticks)):
            axis.ticks = _linear_ticks(lo, hi, spec, max(1, room - 1))
    axis.ticks = [(p, t) for p, t in axis.ticks if (f := axis.frac(p)) is not None and -1e-6 <= f <= 1 + 1e-6]
    return axis


def _auto_range(axis: Axis, traces: list[dict], letter: str, spec: dict) -> tuple[float, float]:
    """The range plotly's autorange would show for ``traces`` on ``axis`` (approximately: padded for markers and
    lines, from zero for bars, half a cell beyond a heatmap's edge cells)."""
    points: list[float] = []
    pad = 0.0
    for trace in traces:
        kind = trace.get("type", "scatter")
        positions = [None if np.isnan(p) else float(p) for p in axis.positions(_trace_values(trace, letter))] \
            if kind != "scatter" else None
        if kind == "heatmap":
            points += [p - 0.5 for p in positions if p is not None] + [p + 0.5 for p in positions if p is not None]
        elif kind == "bar":
            along = (_orientation(trace) == "v") == (letter == "x")
            if along:
                width = _bar_widths(trace, len(positions))
                slot = 0.5 if axis.kind == "category" else None
                for p, w in zip(positions, width):
                    if p is not None:
                        half = slot if slot is not None else (w / 2 if w else 0.4)
                        points += [p - half, p + half]
            else:
                points += [p for p in positions if p is not None] + [0.0 if axis.kind != "log" else None]
                pad = max(pad, 0.05)
        else:
            found = axis.positions(_trace_values(trace, letter))
            found = found[np.isfinite(found)]
            if found.size:
                points += [float(found.min()), float(found.max())]
            if letter == "y" or "markers" in (trace.get("mode") or "lines+markers"):
                pad = max(pad, 0.05)
    points = [p for p in points if p is not None]
    if not points:
        return (-0.5, 0.5) if axis.kind == "category" else (0.0, 1.0)
    if axis.kind == "category" and not any(t.get("type") == "heatmap" for t in traces):
        return -0.5, len(axis.categories) - 0.5
    lo, hi = min(points), max(points)
    if spec.get("rangemode") == "tozero" and axis.kind != "log":
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    bars_from_zero = any(t.get("type") == "bar" and (_orientation(t) == "v") != (letter == "x") for t in traces)
    lo = lo if (bars_from_zero and lo == 0.0) else lo - pad * span
    hi = hi if (bars_from_zero and hi == 0.0) else hi + pad * span
    return lo, hi


def _bar_widths(trace: dict, n: int) -> list:
    width = trace.get("width")
    if width is None:
        return [None] * n
    values = _list(width)
    return values * n if len(values) == 1 else values


@dataclass
class Panel:
    x_name: str
    y_name: str
    x: Axis
    y: Axis
    traces: list
    domain_x: tuple
    domain_y: tuple
    title: str = ""
    notes: list = field(default_factory=list)  # annotations inside the plot
    shapes: list = field(default_factory=list)


def _domain(spec: dict) -> tuple[float, float]:
    d = spec.get("domain") or [0.0, 1.0]
    return float(d[0]), float(d[1])


def _panels(spec: dict) -> list[Panel]:
    layout, traces = spec.get("layout") or {}, spec.get("data") or []
    pairs: dict[tuple[str, str], list] = {}
    for trace in traces:
        kind = trace.get("type", "scatter")
        if kind not in ("scatter", "bar", "heatmap"):
            raise Unsupported(f"a {kind} trace")
        if kind == "scatter" and (trace.get("fill") or "none") not in ("none", "toself", "tozeroy"):
            raise Unsupported(f"a fill {trace.get('fill')}")
        pair = (_axis_name(trace.get("xaxis") or "x", "x"), _axis_name(trace.get("yaxis") or "y", "y"))
        pairs.setdefault(pair, []).append(trace)
    if layout.get("barmode") in ("stack", "relative"):
        raise Unsupported(f"bars in {layout['barmode']} mode")
    if not pairs:
        pairs[("xaxis", "yaxis")] = []

    def group(name: str) -> str:  # an axis and those that match it share their range
        return _axis_name((layout.get(name) or {}).get("matches") or name.replace("axis", ""), name[0])

    members: dict[str, list] = {}
    for (xn, yn), ts in pairs.items():
        members.setdefault(group(xn), []).extend(ts)
        members.setdefault(group(yn), []).extend(ts)
    panels = []
    for (xn, yn), ts in pairs.items():
        xspec, yspec = dict(layout.get(xn) or {}), dict(layout.get(yn) or {})
        for own, name in ((xspec, xn), (yspec, yn)):
            if group(name) != name:  # a matched axis takes its range settings from the one it matches
                for k in ("range", "autorange", "type", "rangemode"):
                    own.setdefault(k, (layout.get(group(name)) or {}).get(k))
        panels.append(Panel(xn, yn, _build_axis(xn, xspec, members[group(xn)], "x", layout),
                            _build_axis(yn, yspec, members[group(yn)], "y", layout), ts, _domain(xspec),
                            _domain(yspec)))
    _place_annotations(layout, panels)
    _place_shapes(layout, panels)
    return panels


def _panel_of(panels: list[Panel], xref: str, yref: str) -> Panel | None:
    xn = _axis_name(xref.split(" ")[0], "x") if xref.startswith("x") else None
    yn = _axis_name(yref.split(" ")[0], "y") if yref.startswith("y") else None
    for p in panels:
        if (xn is None or p.x_name == xn) and (yn is None or p.y_name == yn):
            return p
    return panels[0] if panels else None


def _place_annotations(layout: dict, panels: list[Panel]) -> None:
    """Each annotation to the panel it belongs to: a subplot's title (at the top of a panel's domain, in paper
    coordinates) becomes the panel's title, any other a note inside its plot area."""
    for note in layout.get("annotations") or []:
        text = note.get("text")
        if not text:
            continue
        xref, yref = note.get("xref") or "x", note.get("yref") or "y"
        if xref == "paper" and yref == "paper":
            x, y = float(note.get("x", 0.5)), float(note.get("y", 1.0))
            hit = [p for p in panels if p.domain_x[0] - 1e-6 <= x <= p.domain_x[1] + 1e-6
                   and abs(y - p.domain_y[1]) < 0.03]
            if hit and not hit[0].title:
                hit[0].title = text
                continue
        panel = _panel_of(panels, xref, yref)
        if panel is not None:
            panel.notes.append(note)


def _place_shapes(layout: dict, panels: list[Panel]) -> None:
    for shape in layout.get("shapes") or []:
        if shape.get("type", "line") not in ("line", "rect"):
            raise Unsupported(f"a {shape.get('type')} shape")
        panel = _panel_of(panels, shape.get("xref") or "x", shape.get("yref") or "y")
        if panel is not None:
            panel.shapes.append(shape)


def _ref_frac(panel: Panel, value, ref: str, letter: str, exponent: bool = False) -> float | None:
    """A shape's or annotation's coordinate as a fraction of the panel's plot area. On a log axis plotly places an
    annotation by the value's exponent (``exponent``), a shape by the value itself."""
    ref = ref or letter
    if ref == "paper":
        lo, hi = panel.domain_x if letter == "x" else panel.domain_y
        number = _number(value)
        return None if number is None or hi == lo else (number - lo) / (hi - lo)
    if ref.endswith("domain"):
        return _number(value)
    axis = panel.x if letter == "x" else panel.y
    if axis.kind == "log" and exponent:
        return axis.frac(_number(value))
    return axis.at(value)


# --- drawing ----------------------------------------------------------------------------------------------------


def _pt(panel: Panel, x, y) -> tuple[float, float] | None:
    fx, fy = panel.x.at(x), panel.y.at(y)
    if fx is None or fy is None:
        return None
    return fx * V, (1 - fy) * V


def _colour(trace: dict, index: int, part: str = "line") -> str:
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
            items = _list(series)
            values[name] = items[i] if i < len(items) else None
        elif series is not None:
            values[name] = series
    return values


def _stroke(colour: str, width: float, dash: str | None = None) -> str:
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
    return f" title='{_tip(tip)}'" if tip else ""


def _box(x: float, y: float, width: float, height: float, fill: str, tip: str) -> str:
    """A bar or a heatmap cell (in the plot's SVG coordinates) as an HTML box that carries its tooltip."""
    return (f"<div{_title_attr(tip)} style='position:absolute;left:{_css_percent(x)};top:{_css_percent(y)};width:{_css_percent(width)};"
            f"height:{_css_percent(height)};background:{fill}'></div>")


def _dot(point: tuple[float, float], size: float, fill: str, tip: str) -> str:
    """A marker (or an invisible target along a line) centred on ``point``, ``size`` pixels across."""
    return (f"<div{_title_attr(tip)} style='position:absolute;left:{_css_percent(point[0])};top:{_css_percent(point[1])};"
            f"width:{size:g}px;height:{size:g}px;margin:{-size / 2:g}px 0 0 {-size / 2:g}px;border-radius:50%;"
            f"background:{fill}'></div>")


def _scatter(panel: Panel, trace: dict, index: int, out: list, hits: list) -> None:
    xs, ys = _trace_values(trace, "x"), _list(trace.get("y"))
    colour = _colour(trace, index)
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
                               f"{_stroke(colour, float(line.get('width') or 2), line.get('dash'))}/>")
                segment = []
            else:
                segment.append(p)
    markers = "markers" in mode
    marker = trace.get("marker") or {}
    size = float(marker.get("size") or 6) if not isinstance(marker.get("size"), (list, dict)) else 6.0
    marker_colours = _list(marker.get("color")) if isinstance(marker.get("color"), (list, tuple, dict)) else None
    step = 1 if markers else max(1, math.ceil(len(points) / HOVER_POINTS))
    for i in range(0, len(points), step):
        p = points[i]
        if p is None:
            continue
        tip = _hover(trace, i, _point_values(trace, i, xs[i], ys[i]),
                     f"{name}: {format_value(xs[i])}, {format_value(ys[i])}" if name else
                     f"{format_value(xs[i])}, {format_value(ys[i])}")
        if markers:
            c = marker_colours[i] if marker_colours and i < len(marker_colours) else _colour(trace, index, "marker")
            hits.append(_dot(p, size, c, tip))
        elif tip:  # the line's tooltips: invisible round targets along it
            hits.append(_dot(p, 12, "transparent", tip))


def _bars(panel: Panel, bars: list[tuple[int, dict]], layout: dict, hits: list, texts: list) -> None:
    """The panel's bar traces, side by side in each slot (plotly's ``group`` mode) unless a trace sets its widths or
    the layout overlays them."""
    gap = float(layout.get("bargap") if layout.get("bargap") is not None else 0.2)
    grouped = [t for _, t in bars if t.get("width") is None] if layout.get("barmode", "group") == "group" else []
    for index, trace in bars:
        horizontal = _orientation(trace) == "h"
        cat_axis, val_axis = (panel.y, panel.x) if horizontal else (panel.x, panel.y)
        cats = _trace_values(trace, "y" if horizontal else "x")
        vals = _list(trace.get("x" if horizontal else "y"))
        positions = [cat_axis.position(c) for c in cats]
        widths = _bar_widths(trace, len(positions))
        if any(w is None for w in widths):
            distinct = sorted({p for p in positions if p is not None})
            slot = min((b - a for a, b in zip(distinct, distinct[1:])), default=1.0) if cat_axis.kind != "category" \
                else 1.0
            if len(distinct) == 1 and cat_axis.kind != "category":
                slot = 1.0
        colour = _colour(trace, index, "marker")
        marker_colours = _list((trace.get("marker") or {}).get("color")) \
            if isinstance((trace.get("marker") or {}).get("color"), (list, tuple, dict)) else None
        name = plain(trace.get("name"))
        base = val_axis.at(0.0) if val_axis.kind != "log" else 0.0
        base = 0.0 if base is None else min(max(base, 0.0), 1.0)
        n, k = (len(grouped), grouped.index(trace)) if trace in grouped else (1, 0)
        bar_texts = _list(trace.get("text")) if trace.get("text") is not None else []
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
        lo = _number(axis.get("cmin"))
        hi = _number(axis.get("cmax"))
        bar, shown = axis.get("colorbar") or {}, axis.get("showscale", True) is not False
    else:
        scale = trace.get("colorscale")
        lo, hi = _number(trace.get("zmin")), _number(trace.get("zmax"))
        bar, shown = trace.get("colorbar") or {}, trace.get("showscale", True) is not False
    if not isinstance(scale, (list, tuple)):
        import plotly.colors

        scale = plotly.colors.get_colorscale(scale or "Plasma")
    if lo is None:
        lo = float(finite.min()) if finite.size else 0.0
    if hi is None:
        hi = float(finite.max()) if finite.size else 1.0
    if (axis_mid := _number((layout.get(trace.get("coloraxis") or "") or {}).get("cmid"))) is not None:
        bound = max(abs(lo - axis_mid), abs(hi - axis_mid))
        lo, hi = axis_mid - bound, axis_mid + bound
    return [[float(f), c] for f, c in scale], lo, hi, bar, shown


def _luminance(rgb) -> float:
    r, g, b = (float(c) / 255 for c in rgb)
    return 0.299 * r + 0.587 * g + 0.114 * b


def _heatmap(panel: Panel, trace: dict, layout: dict, hits: list, texts: list, bars: list) -> None:
    z = M._array(trace["z"]).astype(np.float64)
    if z.ndim != 2:
        raise Unsupported("a heatmap whose z is not 2-D")
    ny, nx = z.shape
    xs = _trace_values(trace, "x")[:nx]
    ys = _trace_values(trace, "y")[:ny]
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
    cell_text = _list(trace.get("text"))
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


def _ticks_x(axis: Axis) -> str:
    if not axis.visible or not axis.labels or not axis.ticks:
        return ""
    angle = _number(axis.spec.get("tickangle")) or 0.0
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
            lines.append(f"<line x1='0' x2='{V:g}' y1='{y:.1f}' y2='{y:.1f}' {_stroke(GRID, 1)}/>")
    if panel.x.visible and panel.x.kind != "category":
        for p, _ in panel.x.ticks:
            x = panel.x.frac(p) * V
            lines.append(f"<line y1='0' y2='{V:g}' x1='{x:.1f}' x2='{x:.1f}' {_stroke(GRID, 1)}/>")
    return lines


def _shape(panel: Panel, shape: dict) -> str:
    x0 = _ref_frac(panel, shape.get("x0"), shape.get("xref") or "x", "x")
    x1 = _ref_frac(panel, shape.get("x1"), shape.get("xref") or "x", "x")
    y0 = _ref_frac(panel, shape.get("y0"), shape.get("yref") or "y", "y")
    y1 = _ref_frac(panel, shape.get("y1"), shape.get("yref") or "y", "y")
    if None in (x0, x1, y0, y1):
        return ""
    line = shape.get("line") or {}
    stroke = _stroke(line.get("color") or "#444444", float(line.get("width") or 2), line.get("dash"))
    if shape.get("type") == "rect":
        fill = shape.get("fillcolor")
        return (f"<rect x='{min(x0, x1) * V:.1f}' y='{(1 - max(y0, y1)) * V:.1f}' width='{abs(x1 - x0) * V:.1f}' "
                f"height='{abs(y1 - y0) * V:.1f}' {stroke}"
                + (f" style='fill:{fill};opacity:{shape.get('opacity', 1)}'" if fill else "") + "/>")
    return f"<line x1='{x0 * V:.1f}' x2='{x1 * V:.1f}' y1='{(1 - y0) * V:.1f}' y2='{(1 - y1) * V:.1f}' {stroke}/>"


def _label(x: float, y: float, text: str, xanchor: str, yanchor: str, colour: str = TEXT, size: float = SMALL,
           kind: str = "annotation", markup: bool = False) -> str:
    shift_x = {"left": "0", "right": "-100%"}.get(xanchor, "-50%")
    shift_y = {"bottom": "-100%", "top": "0"}.get(yanchor, "-50%")
    body = rich(text) if markup else _html.escape(text).replace("\n", "<br>")
    return (f"<span data-kind='{kind}' style='position:absolute;left:{100 * x:.2f}%;top:{100 * (1 - y):.2f}%;"
            f"transform:translate({shift_x},{shift_y});font-size:{max(size, SMALL):g}px;color:{colour};"
            f"white-space:nowrap;pointer-events:none;line-height:1.2'>{body}</span>")


def _note(panel: Panel, note: dict) -> str:
    x = _ref_frac(panel, note.get("x", 0.5), note.get("xref") or "x", "x", exponent=True)
    y = _ref_frac(panel, note.get("y", 0.5), note.get("yref") or "y", "y", exponent=True)
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
            _scatter(panel, trace, index, out, hits)
        elif kind == "bar":
            bar_traces.append((index, trace))
        else:
            _heatmap(panel, trace, layout, hits, texts, bars)
    if bar_traces:
        _bars(panel, bar_traces, layout, hits, texts)
    shapes = [_shape(panel, s) for s in panel.shapes]
    axes = []
    if panel.x.visible:
        axes.append(f"<line x1='0' x2='{V:g}' y1='{V:g}' y2='{V:g}' {_stroke(AXIS, 1)}/>")
    if panel.y.visible:
        axes.append(f"<line x1='0' x2='0' y1='0' y2='{V:g}' {_stroke(AXIS, 1)}/>")
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
    above = any((n.get("yref") or "").startswith("paper") and _number(n.get("y")) is not None
                and _ref_frac(panel, n.get("y"), n.get("yref"), "y") >= 0.98 and n.get("yanchor") == "bottom"
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
        colour = _colour(trace, index, "marker" if trace.get("type") == "bar" else "line")
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


def _gradient(scale: list) -> str:
    return ", ".join(f"{c} {100 * f:.1f}%" for f, c in scale)


def _colour_bar(scale: list, lo: float, hi: float, bar: dict) -> str:
    fmt = bar.get("tickformat") or ""
    title = plain(_title_text(bar.get("title")))
    return (f"<div data-kind='legend' style='display:flex;align-items:center;gap:6px;font-size:{FONT}px;"
            f"margin-top:6px;padding:0 6px'><span>{_html.escape(format_value(lo, fmt) if fmt else f'{lo:.3g}')}</span>"
            f"<div style='flex:1;max-width:240px;height:10px;border:1px solid #ddd;"
            f"background:linear-gradient(to right, {_gradient(scale)})'></div>"
            f"<span>{_html.escape(format_value(hi, fmt) if fmt else f'{hi:.3g}')}</span>"
            f"<span style='opacity:0.75'>{_html.escape(title)}</span></div>")


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
    spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
    layout = spec.get("layout") or {}
    panels = _panels(spec)
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
    title = _title_text(layout.get("title"))
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
