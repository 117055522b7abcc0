"""The layout every figure shares: fonts, margins, the colour scales of pixel maps and shares, and the helpers that
wrap a plain Plotly spec, title a facet and draw a 28 × 28 image.

Images are drawn in grey (0 white, 1 black: strokes read as ink on paper); signed maps use ``RdBu_r`` centred at 0,
symmetric about the largest magnitude shown. The scales are spelled out as lists: a figure wrapped without
validation (``figure``) reaches plotly.js with its names as they are, and plotly.js's own "Greys" runs from black
to white, the reverse of Plotly's Python scale of that name.
"""

from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go

SIDE = 28
SIGNED_SCALE = plotly.colors.get_colorscale("RdBu_r")  # signed maps and correlations, centred at 0
PIXEL_SCALE = plotly.colors.get_colorscale("Greys")  # 0 white, 1 black
SHARE_SCALE = plotly.colors.get_colorscale("Blues")  # a share in [0, 1]
TITLE_SIZE = 13  # a panel's or a facet's title
INSIDE_COLOUR = "#2166ac"  # the blue end of RdBu: inside the data subspace
OUTSIDE_COLOUR = "#b2182b"  # the red end: outside it


PHONE_PANEL_PX = 150  # about the width of one of two panels side by side in a chart on a 390-px phone
PHONE_TITLE_PX = 270  # the width a chart's title has on a 390-px phone (bold glyphs are wider)
CHART_TITLE_SIZE = 16  # the size Streamlit's theme gives a chart's title


def fit(text: str, width_px: float, font: float = TITLE_SIZE) -> str:
    """``text`` broken at spaces (``<br>``) into lines of at most ``width_px`` (estimated from ``font``), so that a
    panel's title stays within its panel on a narrow screen; a word is never split."""
    per_line = max(1, int(width_px / (0.52 * font)))  # glyphs average about 0.46 em in the app's font
    lines: list[str] = []
    for word in str(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def margin(*, t: int = 40, b: int = 10, l: int = 10, r: int = 10) -> dict:  # noqa: E741 - Plotly's own names
    """A figure's margins in pixels: narrow at the sides and the bottom, room for a title at the top."""
    return dict(l=l, r=r, t=t, b=b)


def figure(data: list, layout: dict) -> go.Figure:
    """A figure from a plain Plotly spec, without Plotly's per-property validation.

    Pages redraw these figures on every move of a slider, and validation costs several times more than the rest of
    the rerun; the tests validate each builder's output once.
    """
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def spec_of(fig) -> dict:
    """A figure's ``{"data": [...], "layout": {...}}`` to read (never to change): the figure's own dictionaries, its
    arrays as they were given, without the deep copy and base64 encoding of ``fig.to_plotly_json()``. A spec that is
    already a dictionary is returned as it is."""
    if isinstance(fig, dict):
        return fig
    data, layout = getattr(fig, "_data", None), getattr(fig, "_layout", None)
    if isinstance(data, (list, tuple)) and isinstance(layout, dict):
        return {"data": list(data), "layout": layout}
    return fig.to_plotly_json()


def facet_title(text: str, x: float, y: float = 1.0) -> dict:
    """An annotation that titles a facet centred at paper coordinate ``x``, just above ``y``."""
    return dict(text=text, x=x, y=y, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                showarrow=False, font=dict(size=TITLE_SIZE))


def map_colours(signed: bool, bound: float = 1.0) -> dict:
    """A colour axis for pixel maps: ``signed``, ``RdBu_r`` over ``[-bound, bound]`` centred at 0; else the grey
    pixel scale over [0, 1]."""
    if signed:
        return dict(colorscale=SIGNED_SCALE, cmin=-bound, cmax=bound, cmid=0.0)
    return dict(colorscale=PIXEL_SCALE, cmin=0.0, cmax=1.0)


def image_layout(title: str, **layout) -> dict:
    """The layout of one image: its title centred above it, square pixels, no axes (row 0 at the top)."""
    return dict(title=dict(text=title, x=0.5, xanchor="center", font=dict(size=TITLE_SIZE)),
                xaxis=dict(visible=False, constrain="domain"),
                yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"), **layout)


def square(z) -> list:
    """A ``(784,)`` image as 28 rows of 28 values rounded to 4 decimals (a compact spec)."""
    return np.round(np.asarray(z, np.float64).reshape(SIDE, SIDE), 4).tolist()


def legend_below(**legend) -> dict:
    """A horizontal legend under the plot area, below the x axis's labels and title (placed in the figure's
    container, whose bottom margin plotly grows to hold it), so that it never covers an axis title."""
    return dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left", **legend)


LOG_TICKS = dict(dtick=1)  # a log axis labelled only at the powers of ten
CLASSES = [str(k) for k in range(10)]


def class_axis(title: str, **axis) -> dict:
    """An axis of the ten classes 0–9, every one labelled."""
    return dict(title=dict(text=title), type="category", tickmode="array", tickvals=CLASSES, ticktext=CLASSES,
                **axis)
