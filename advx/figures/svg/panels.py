"""A figure's subplots as panels: each pair of axes with its traces, its title (a subplot's annotation), its notes
and shapes."""

from __future__ import annotations

from dataclasses import dataclass, field

from advx.figures.svg.axes import Axis, axis_name, build_axis
from advx.figures.svg.style import Unsupported
from advx.figures.svg.text import as_number


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


def figure_panels(spec: dict) -> list[Panel]:
    layout, traces = spec.get("layout") or {}, spec.get("data") or []
    pairs: dict[tuple[str, str], list] = {}
    for trace in traces:
        kind = trace.get("type", "scatter")
        if kind not in ("scatter", "bar", "heatmap"):
            raise Unsupported(f"a {kind} trace")
        if kind == "scatter" and (trace.get("fill") or "none") not in ("none", "toself", "tozeroy"):
            raise Unsupported(f"a fill {trace.get('fill')}")
        pair = (axis_name(trace.get("xaxis") or "x", "x"), axis_name(trace.get("yaxis") or "y", "y"))
        pairs.setdefault(pair, []).append(trace)
    if layout.get("barmode") in ("stack", "relative"):
        raise Unsupported(f"bars in {layout['barmode']} mode")
    if not pairs:
        pairs[("xaxis", "yaxis")] = []

    def group(name: str) -> str:  # an axis and those that match it share their range
        return axis_name((layout.get(name) or {}).get("matches") or name.replace("axis", ""), name[0])

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
        panels.append(Panel(xn, yn, build_axis(xn, xspec, members[group(xn)], "x", layout),
                            build_axis(yn, yspec, members[group(yn)], "y", layout), ts, _domain(xspec),
                            _domain(yspec)))
    _place_annotations(layout, panels)
    _place_shapes(layout, panels)
    return panels


def _panel_of(panels: list[Panel], xref: str, yref: str) -> Panel | None:
    xn = axis_name(xref.split(" ")[0], "x") if xref.startswith("x") else None
    yn = axis_name(yref.split(" ")[0], "y") if yref.startswith("y") else None
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


def ref_frac(panel: Panel, value, ref: str, letter: str, exponent: bool = False) -> float | None:
    """A shape's or annotation's coordinate as a fraction of the panel's plot area. On a log axis plotly places an
    annotation by the value's exponent (``exponent``), a shape by the value itself."""
    ref = ref or letter
    if ref == "paper":
        lo, hi = panel.domain_x if letter == "x" else panel.domain_y
        number = as_number(value)
        return None if number is None or hi == lo else (number - lo) / (hi - lo)
    if ref.endswith("domain"):
        return as_number(value)
    axis = panel.x if letter == "x" else panel.y
    if axis.kind == "log" and exponent:
        return axis.frac(as_number(value))
    return axis.at(value)
