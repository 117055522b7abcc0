"""Figures of the drawing page: the raw drawing beside the network's 28 × 28 input, a network's probabilities,
and one number of the drawing set against its distribution over the test set.

Plain Plotly specs wrapped without validation (``advx.figures.base.figure``: the page redraws them after every
stroke). Images: 0 white, 1 black, as on the other pages.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import plotly.graph_objects as go

from advx.drawing.preprocess import area_resize
from advx.figures.attacks import image_panel
from advx.figures.base import PIXEL_SCALE, class_axis, figure, image_layout, margin

RAW_DISPLAY = 70
_MARGIN = margin()
_INK = "#c0392b"


def raw_panel(raw: np.ndarray, box: Optional[tuple[int, int, int, int]], title: str) -> go.Figure:
    """The drawing as it came from the pad, ``(h, w)`` in [0, 1], with the ink's bounding box outlined.

    Drawn at most ``RAW_DISPLAY`` pixels on a side (area-averaged): the page redraws it after every stroke,
    and a 140 × 140 heatmap costs several times more to send than the rest of the page's figures.
    """
    raw = np.asarray(raw, np.float64)
    scale = min(1.0, RAW_DISPLAY / max(raw.shape))
    if scale < 1.0:
        raw = area_resize(raw, max(1, round(raw.shape[0] * scale)), max(1, round(raw.shape[1] * scale)))
    shapes = []
    if box is not None:
        top, left, bottom, right = (v * scale for v in box)
        shapes.append(dict(type="rect", x0=left - 0.5, x1=right - 0.5, y0=top - 0.5, y1=bottom - 0.5,
                           line=dict(color=_INK, width=1, dash="dot")))
    data = [dict(type="heatmap", z=np.round(raw, 2).tolist(), colorscale=PIXEL_SCALE, zmin=0.0, zmax=1.0,
                 showscale=False, hovertemplate="row %{y}, col %{x}: %{z:.2f}<extra></extra>")]
    return figure(data, image_layout(title, shapes=shapes, height=300, margin=_MARGIN))


def input_panel(image: np.ndarray, title: str) -> go.Figure:
    """The network's input, ``(28, 28)`` or ``(784,)`` in [0, 1] (``advx.figures.attacks.image_panel``)."""
    return image_panel(np.asarray(image).reshape(-1), title)


def probability_bars(probabilities: np.ndarray, title: str) -> go.Figure:
    """A network's ``(10,)`` probabilities, the answer in red."""
    p = np.asarray(probabilities, np.float64)
    colours = [_INK if k == int(p.argmax()) else "#95a5a6" for k in range(10)]
    data = [dict(type="bar", x=[str(k) for k in range(10)], y=p.tolist(), marker=dict(color=colours),
                 hovertemplate="class %{x}: %{y:.3f}<extra></extra>")]
    return figure(data, dict(title=dict(text=title), height=240, margin=_MARGIN, showlegend=False,
                              yaxis=dict(title=dict(text="probability"), range=[0, 1]),
                              xaxis=class_axis("class")))


def against_test(reference: np.ndarray, value: float, *, title: str, x_title: str, discrete: bool = False,
                 marker: str = "this drawing") -> go.Figure:
    """The distribution of ``reference (n,)`` over the test images as a histogram (share of images), with
    ``value`` marked. ``discrete``: one bar per whole number (neuron counts)."""
    reference = np.asarray(reference, np.float64).reshape(-1)
    reference = reference[np.isfinite(reference)]
    if discrete:
        lo, hi = int(min(reference.min(), value if np.isfinite(value) else 0)), int(max(reference.max(), value))
        centres = np.arange(lo, hi + 1)
        shares = np.array([(reference == c).mean() for c in centres])
        bars = dict(type="bar", x=centres.tolist(), y=shares.tolist(), marker=dict(color="#7f8c8d"),
                    name="test digits", hovertemplate="%{x}: %{y:.1%} of test digits<extra></extra>")
    else:
        counts, edges = np.histogram(reference, bins=40)
        bars = dict(type="bar", x=((edges[:-1] + edges[1:]) / 2).tolist(), y=(counts / reference.size).tolist(),
                    width=float(edges[1] - edges[0]), marker=dict(color="#7f8c8d"), name="test digits",
                    hovertemplate="%{x:.3g}: %{y:.1%} of test digits<extra></extra>")
    shapes, notes = [], []
    if np.isfinite(value):
        shapes.append(dict(type="line", x0=value, x1=value, y0=0, y1=1, yref="paper", line=dict(color=_INK, width=3)))
        notes.append(dict(x=value, y=1, yref="paper", text=f" {marker}", showarrow=False, xanchor="left",
                          yanchor="top", font=dict(color=_INK, size=12)))
    return figure([bars], dict(title=dict(text=title), height=240, margin=_MARGIN, showlegend=False, bargap=0.05,
                                shapes=shapes, annotations=notes, xaxis=dict(title=dict(text=x_title)),
                                yaxis=dict(title=dict(text="share of test digits"), tickformat=".0%")))
