"""Figures for the neuron stages: activations, effective weights, dataset averages, comparisons.

All builders take numpy arrays and return ``go.Figure``. Pixel maps come as ``(784, m)`` columns
(the layout of ``advx.neurons``); facets are titled by neuron name, never by position.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from advx.figures.base import PHONE_PANEL_PX, TITLE_SIZE, fit, legend_below, margin
from advx.figures.maps import mosaic

LEVEL_COLOURS = {"high": "#c0392b", "mild": "#f39c12", "inactive": "#bdc3c7"}
LEVEL_ORDER = ("high", "mild", "inactive")
_LEVEL_CODES = {"inactive": 0, "mild": 1, "high": 2}  # as in advx.neurons


def _empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=120, margin=margin(t=10))
    return fig


def map_grid(maps: np.ndarray, titles: Sequence[str], *, signed: bool = True, ncols: int = 3,
             notes: Sequence[str] | None = None, dead: Sequence[bool] | None = None,
             colorbar_title: str = "", tile_px: int = 190, title: str | None = None) -> go.Figure:
    """A grid of 28 x 28 maps with one shared colour scale, drawn as one mosaic (``advx.figures.maps.mosaic``).

    ``maps``: ``(784, m)``, one map per column. ``titles``: ``m`` facet names (e.g. ``"Layer_2 #5"``).
    ``signed``: a diverging scale centred at 0, symmetric about the largest magnitude in the grid;
    otherwise a grey pixel scale from 0 to 1. ``notes``: an extra line under each title (measures).
    ``dead``: maps to draw blank with a "dead: never fires" marker instead of an image.
    """
    maps = np.asarray(maps, np.float64)
    if (maps.shape[1] if maps.ndim == 2 else 0) == 0:
        return _empty("No neurons selected.")
    return mosaic(maps, titles, signed=signed, ncols=ncols, notes=notes, dead=dead, colorbar_title=colorbar_title,
                  tile_px=tile_px, title=title)


def image(pixels: np.ndarray, title: str) -> go.Figure:
    """One input image: ``pixels`` ``(784,)`` in [0, 1]."""
    return map_grid(np.asarray(pixels).reshape(784, 1), [title], signed=False, ncols=1, tile_px=230)


def activation_bars(acts: np.ndarray, levels: np.ndarray, layer: str, *, title: str | None = None) -> go.Figure:
    """One image's activations in ``layer``, sorted largest first, coloured high / mild / inactive.

    ``acts``: ``(width,)`` >= 0; ``levels``: ``(width,)`` codes 0 inactive, 1 mild, 2 high.
    """
    acts = np.asarray(acts, np.float64)
    levels = np.asarray(levels)
    order = np.argsort(-acts, kind="stable")
    names = [f"#{i}" for i in order]
    fig = go.Figure()
    for level in LEVEL_ORDER:
        code = _LEVEL_CODES[level]
        pick = [rank for rank, i in enumerate(order) if levels[i] == code]
        count = len(pick)
        fig.add_trace(go.Bar(x=[names[rank] for rank in pick], y=acts[order][pick], name=f"{level} ({count})",
                             marker_color=LEVEL_COLOURS[level],
                             hovertemplate=f"{layer} %{{x}}: %{{y:.3g}} ({level})<extra></extra>"))
    zero = int(np.sum(acts <= 0))
    fig.update_xaxes(categoryorder="array", categoryarray=names, showticklabels=len(names) <= 32,
                     title_text=f"{layer} neurons, largest first" + (
                         f"; the {zero} at 0 have no bar" if zero else ""))
    fig.update_yaxes(title_text="activation")
    fig.update_layout(title=dict(text=title or layer), height=300, bargap=0.1,
                      margin=margin(t=50), legend=legend_below())
    return fig


def count_histograms(counts: dict[str, np.ndarray], width: dict[str, int]) -> go.Figure:
    """How many neurons are high (left) and mild (right) per image, one bar series per layer.

    ``counts``: ``{layer: (n, 3)}`` columns inactive, mild, high (``advx.neurons.level_counts``);
    ``width``: ``{layer: neurons in the layer}``. Bars are the share of images.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=[fit(t, PHONE_PANEL_PX) for t in (
        "highly activated neurons per image", "mildly activated neurons per image")])
    fig.update_annotations(font=dict(size=TITLE_SIZE))
    palette = ["#1f77b4", "#9467bd", "#2ca02c", "#8c564b", "#e377c2", "#17becf"]
    for li, (layer, c) in enumerate(counts.items()):
        for col, column in ((1, 2), (2, 1)):
            share = np.bincount(c[:, column], minlength=width[layer] + 1) / len(c)
            last = int(np.flatnonzero(share).max()) + 1 if share.any() else 1
            fig.add_trace(go.Bar(x=np.arange(last), y=share[:last], name=layer, legendgroup=layer,
                                 showlegend=col == 1, marker_color=palette[li % len(palette)],
                                 hovertemplate=f"{layer}: %{{x}} neurons in %{{y:.1%}} of images<extra></extra>"),
                          row=1, col=col)
    fig.update_xaxes(title_text="neurons")
    fig.update_yaxes(tickformat=".0%", title_text="share of images", col=1)
    fig.update_layout(barmode="group", height=340, margin=margin(t=50), legend=legend_below())
    return fig


def firing_rates(rates: dict[str, np.ndarray]) -> go.Figure:
    """Each neuron's firing rate (share of training images with activation > 0), sorted, per layer.

    ``rates``: ``{layer: (width,)}``. Dead neurons (rate 0) are marked in red.
    """
    fig = make_subplots(rows=1, cols=len(rates), subplot_titles=list(rates), shared_yaxes=True)
    for col, (layer, r) in enumerate(rates.items(), start=1):
        r = np.asarray(r, np.float64)
        order = np.argsort(-r, kind="stable")
        fig.add_trace(go.Bar(x=[f"#{i}" for i in order], y=r[order], showlegend=False,
                             marker_color=["#c0392b" if r[i] == 0 else "#1f77b4" for i in order],
                             hovertemplate=f"{layer} %{{x}}: fires on %{{y:.1%}}<extra></extra>"), row=1, col=col)
        dead = [f"#{i}" for i in order if r[i] == 0]
        if dead:  # a rate of 0 draws no bar: a red cross marks each dead neuron at the right end
            fig.add_trace(go.Scatter(x=dead, y=[0.0] * len(dead), mode="markers", showlegend=False,
                                     marker=dict(symbol="x", color="#c0392b", size=8),
                                     hovertemplate=f"{layer} %{{x}}: dead, never fires<extra></extra>"), row=1, col=col)
        fig.update_xaxes(showticklabels=False, row=1, col=col, title_text="most active first" + (
            f"<br>× {len(dead)} dead" if dead else ""))
    fig.update_yaxes(tickformat=".0%", range=[0, 1], title_text="firing rate", col=1)
    fig.update_layout(height=260, margin=margin())
    return fig


def activation_histogram(values: np.ndarray, title: str, *, bins: int = 30, dead: bool = False,
                         value_name: str = "activation") -> go.Figure:
    """Histogram of one neuron's activations ``(n,)`` over a set of images; zeros get their own bar."""
    values = np.asarray(values, np.float64)
    if dead or not np.any(values > 0):
        return _empty(f"{title}: dead, activation 0 on every image")
    zero_share = float(np.mean(values <= 0))
    positive = values[values > 0]
    counts, edges = np.histogram(positive, bins=bins)
    bars = [go.Bar(x=[0.0], y=[zero_share], width=[(edges[1] - edges[0])], name="exactly 0",
                   marker_color=LEVEL_COLOURS["inactive"], hovertemplate="exactly 0 on %{y:.1%} of images<extra></extra>"),
            go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts / len(values), width=np.diff(edges), name="> 0",
                   marker_color="#1f77b4", hovertemplate="%{x:.3g}: %{y:.1%} of images<extra></extra>")]
    return go.Figure(data=bars, layout=dict(  # one layout, built at once (faster than update calls)
        xaxis=dict(title=dict(text=value_name)), yaxis=dict(tickformat=".0%"),
        title=dict(text=title, font=dict(size=TITLE_SIZE)), height=220, showlegend=False,
        margin=margin(), bargap=0))

