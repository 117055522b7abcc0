"""An axis as drawn: its kind, the range shown, its categories and its ticks, as plotly's autorange gives them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from advx.figures import maps as M
from advx.figures.svg.style import FONT
from advx.figures.svg.text import as_list, as_number, category_key, format_value, numeric, plain, title_text


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
            return self.categories.get(category_key(value))
        number = as_number(value)
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
    step = as_number(spec.get("dtick")) or _nice_step(b - a, count)
    start = (as_number(spec.get("tick0")) or 0.0)
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
        texts = as_list(spec.get("ticktext")) or as_list(spec["tickvals"])
        return [(axis.categories[category_key(v)], plain(t)) for v, t in zip(as_list(spec["tickvals"]), texts)
                if category_key(v) in axis.categories]
    return [(i, plain(name)) for name, i in axis.categories.items()]


def axis_name(ref: str, letter: str) -> str:
    """``"x2"`` → ``"xaxis2"``."""
    return f"{letter}axis{ref[1:]}" if ref and len(ref) > 1 else f"{letter}axis"


def orientation(trace: dict) -> str:
    return "h" if trace.get("orientation") == "h" else "v"


def trace_values(trace: dict, letter: str) -> list:
    """The values a trace places along its ``letter`` axis (x or y), before any grouping."""
    kind = trace.get("type", "scatter")
    values = as_list(trace.get(letter))
    if kind == "heatmap" and not values:
        z = M.as_array(trace["z"])
        return list(range(z.shape[1 if letter == "x" else 0]))
    if kind == "bar" and not values:
        other = as_list(trace.get("y" if letter == "x" else "x"))
        return list(range(len(other)))
    if kind == "scatter" and not values and letter == "x":
        return list(range(len(as_list(trace.get("y")))))
    return values


def build_axis(name: str, spec: dict, traces: list[dict], letter: str, layout: dict) -> Axis:
    """The axis ``name`` (``xaxis2``) as drawn for ``traces`` (every trace on it, or on an axis that matches it)."""
    values = [v for t in traces for v in trace_values(t, letter)]
    kind = spec.get("type")
    if kind not in ("linear", "log", "category"):
        kind = "linear" if numeric(values) else "category"
    if kind == "category" and any(t.get("type") == "heatmap" and not as_list(t.get(letter)) for t in traces):
        kind = "linear"
    axis = Axis(kind=kind, lo=0.0, hi=1.0, title=plain(title_text(spec.get("title"))),
                labels=spec.get("showticklabels", True) is not False, visible=spec.get("visible", True) is not False,
                spec=spec)
    if kind == "category":
        order = as_list(spec.get("categoryarray")) if spec.get("categoryorder") == "array" else []
        names = [category_key(v) for v in order] + [category_key(v) for v in values]
        if spec.get("tickvals") is not None:
            names = [category_key(v) for v in as_list(spec["tickvals"])] + names
        for n in names:
            axis.categories.setdefault(n, len(axis.categories))
    rng = spec.get("range")
    if rng is not None and len(rng) == 2 and all(as_number(r) is not None for r in rng):
        lo, hi = float(rng[0]), float(rng[1])
    else:
        lo, hi = _auto_range(axis, traces, letter, spec)
        if spec.get("autorange") == "reversed":
            lo, hi = hi, lo
    axis.lo, axis.hi = lo, hi
    if kind == "category":
        axis.ticks = _category_ticks(axis, spec)
    elif spec.get("tickvals") is not None:
        texts = as_list(spec.get("ticktext")) or [format_value(v, spec.get("tickformat") or "") for v in
                                                as_list(spec["tickvals"])]
        axis.ticks = [(axis.position(v), plain(t)) for v, t in zip(as_list(spec["tickvals"]), texts)
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
        positions = [None if np.isnan(p) else float(p) for p in axis.positions(trace_values(trace, letter))] \
            if kind != "scatter" else None
        if kind == "heatmap":
            points += [p - 0.5 for p in positions if p is not None] + [p + 0.5 for p in positions if p is not None]
        elif kind == "bar":
            along = (orientation(trace) == "v") == (letter == "x")
            if along:
                width = bar_widths(trace, len(positions))
                slot = 0.5 if axis.kind == "category" else None
                for p, w in zip(positions, width):
                    if p is not None:
                        half = slot if slot is not None else (w / 2 if w else 0.4)
                        points += [p - half, p + half]
            else:
                points += [p for p in positions if p is not None] + [0.0 if axis.kind != "log" else None]
                pad = max(pad, 0.05)
        else:
            found = axis.positions(trace_values(trace, letter))
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
    bars_from_zero = any(t.get("type") == "bar" and (orientation(t) == "v") != (letter == "x") for t in traces)
    lo = lo if (bars_from_zero and lo == 0.0) else lo - pad * span
    hi = hi if (bars_from_zero and hi == 0.0) else hi + pad * span
    return lo, hi


def bar_widths(trace: dict, n: int) -> list:
    width = trace.get("width")
    if width is None:
        return [None] * n
    values = as_list(width)
    return values * n if len(values) == 1 else values
