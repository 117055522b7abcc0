"""Figures for many networks ("Many networks"): heatmaps between networks, the split's bars, the scale curves.

Every builder takes arrays or rows and returns a ``go.Figure``, written as a plain Plotly spec and wrapped without
validation (``advx.figures.base.figure``: the page redraws them on every widget change). A row of heatmaps meant to be compared shares
one colour axis, and its facets are labelled by name. Rows of a transfer heatmap are the network an attack was
crafted on (the source), columns the network it is shown to (the target).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from advx.figures.base import (INSIDE_COLOUR, OUTSIDE_COLOUR, PHONE_PANEL_PX, SHARE_SCALE, SIGNED_SCALE, facet_title,
                               figure, fit, legend_below, margin)
from advx.vocabulary import OPTIMIZER_LABELS

OPTIMIZER_COLOURS = {"adam": "#1b9e77", "sgd": "#d95f02"}
PART_COLOURS = {"whole": "#555555", "inside": INSIDE_COLOUR, "outside": OUTSIDE_COLOUR}
FACET_GAP = 0.04
_MARGIN = margin(t=60)


def _domains(n: int, gap: float = FACET_GAP, right: float = 1.0) -> list[list[float]]:
    """``n`` equal horizontal domains in ``[0, right]`` separated by ``gap``."""
    width = (right - gap * (n - 1)) / n
    return [[round(i * (width + gap), 6), round(i * (width + gap) + width, 6)] for i in range(n)]


def _suffix(i: int) -> str:
    return "" if i == 0 else str(i + 1)


def _facet_title(text: str, domain: Sequence[float]) -> dict:
    return facet_title(text, (domain[0] + domain[1]) / 2)


def _values(z) -> list:
    """A matrix as nested lists, NaN as ``None`` (plotly leaves the cell blank)."""
    return [[None if not np.isfinite(v) else round(float(v), 4) for v in row] for row in np.asarray(z, np.float64)]


def heatmap_grid(stack, facet_names: Sequence[str], labels: Sequence[str], *, signed: bool, colorbar_title: str,
                 cell_format: str, title: str, row_title: str, column_title: str) -> go.Figure:
    """``stack (n, m, m)``: ``n`` square matrices between ``m`` networks (``labels``), one above the other on one
    colour axis (``signed``: RdBu_r over [-1, 1], centred at 0; else Blues over [0, 1]), each cell's value written in it
    with the d3 format ``cell_format``; facets titled ``facet_names``.

    The facets are stacked, each the figure's full width, so that on a phone every row label and cell stays legible;
    the layout is in pixels: a band for each facet's title, its cells, then its rotated column labels and title."""
    stack = np.asarray(stack, np.float64)
    labels = list(labels)
    n = len(stack)
    cells, band, below = 26 * len(labels), 30, 120
    top = 50 + 60  # the title, then the colour bar, lying across the top
    block = band + cells + below
    plot = n * block
    data, layout = [], dict(title=dict(text=title),
                            height=top + plot, margin=dict(_MARGIN, t=top, b=0, r=10), annotations=[],
                            coloraxis=dict(
                                colorscale=SIGNED_SCALE if signed else SHARE_SCALE, cmin=-1 if signed else 0, cmax=1,
                                colorbar=dict(title=dict(text=colorbar_title, side="top"), orientation="h",
                                              tickformat=".0%" if not signed else "", thickness=10, len=0.6,
                                              x=0.5, xanchor="center", y=1 + 20 / plot, yanchor="bottom")))
    for i, (z, name) in enumerate(zip(stack, facet_names)):
        s = _suffix(i)
        y1 = 1 - (i * block + band) / plot
        y0 = 1 - (i * block + band + cells) / plot
        data.append(dict(type="heatmap", z=_values(z), x=labels, y=labels, coloraxis="coloraxis", xaxis=f"x{s}",
                         yaxis=f"y{s}", texttemplate=f"%{{z:{cell_format}}}", textfont=dict(size=11), name=name,
                         hovertemplate=f"{name}<br>{row_title}: %{{y}}<br>{column_title}: %{{x}}<br>"
                                       f"%{{z:{cell_format}}}<extra></extra>"))
        layout[f"xaxis{s}"] = dict(domain=[0, 1], anchor=f"y{s}", tickangle=-90, title=dict(text=column_title))
        layout[f"yaxis{s}"] = dict(domain=[round(y0, 6), round(y1, 6)], anchor=f"x{s}", autorange="reversed",
                                   title=dict(text=row_title))
        layout["annotations"].append(facet_title(name, 0.5, round(y1, 6)))
    return figure(data, layout)


def transfer_heatmaps(stack, part_names: Sequence[str], labels: Sequence[str], *, title: str) -> go.Figure:
    """Transfer shares ``(parts, m, m)`` in [0, 1], source × target, one facet per part of the perturbation."""
    return heatmap_grid(stack, part_names, labels, signed=False, colorbar_title="share", cell_format=".0%",
                        title=title, row_title="crafted on", column_title="shown to")


def agreement_heatmaps(stack, part_names: Sequence[str], labels: Sequence[str], *, title: str) -> go.Figure:
    """Correlations ``(parts, m, m)`` in [-1, 1] between networks' effective weights, one facet per part."""
    return heatmap_grid(stack, part_names, labels, signed=True, colorbar_title="correlation", cell_format=".2f",
                        title=title, row_title="network", column_title="network")


def split_bars(rows: Sequence[dict], part_labels: dict[str, str], optimizer_labels: dict[str, str] = OPTIMIZER_LABELS,
               *, title: str) -> go.Figure:
    """The share of its own-network success each attack's part keeps on the other networks, one facet per optimizer.

    ``rows``: ``advx.text.population.transfer_table`` rows (``optimizer_name``, ``attack``, ``part_name``, ``ratio``).
    """
    optimizers = list(dict.fromkeys(r["optimizer_name"] for r in rows))
    domains = _domains(max(len(optimizers), 1), gap=0.06)
    top = max([1.05] + [r["ratio"] * 1.05 for r in rows if np.isfinite(r["ratio"])])
    data, layout = [], dict(title=dict(text=title), height=380, margin=_MARGIN, barmode="group", annotations=[],
                            legend=legend_below())
    for i, optimizer in enumerate(optimizers):
        s = _suffix(i)
        chosen = [r for r in rows if r["optimizer_name"] == optimizer]
        for part, label in part_labels.items():
            picked = [r for r in chosen if r["part_name"] == part]
            data.append(dict(type="bar", x=[r["attack"] for r in picked], name=label, legendgroup=part,
                             y=[round(r["ratio"], 4) if np.isfinite(r["ratio"]) else None for r in picked],
                             marker=dict(color=PART_COLOURS.get(part, "#999999")), showlegend=i == 0,
                             xaxis=f"x{s}", yaxis=f"y{s}",
                             hovertemplate=f"{optimizer_labels.get(optimizer, optimizer)}, %{{x}}, {label}: "
                                           "%{y:.2f}<extra></extra>"))
        layout[f"xaxis{s}"] = dict(domain=domains[i], anchor=f"y{s}")
        layout[f"yaxis{s}"] = dict(anchor=f"x{s}", range=[0, top], title=dict(
            text="kept on the other networks" if i == 0 else ""))
        layout["annotations"].append(_facet_title(optimizer_labels.get(optimizer, optimizer), domains[i]))
    return figure(data, layout)


SCALE_PANELS = (("weights_outside", "output weights: norm outside", ""),
                ("gradient_outside", "input gradient: norm outside", ""),
                ("success_outside", "L2 attack kept outside: success", ".0%"),
                ("success_anywhere", "L2 attack anywhere: success", ".0%"))


def scale_figure(curves: Sequence[dict], eps_index: int, optimizer_labels: dict[str, str] = OPTIMIZER_LABELS, *,
                 title: str) -> go.Figure:
    """``advx.population.scale_curves`` rows against the initialisation scale (log axis), one line per optimizer,
    one panel per measure of ``SCALE_PANELS`` (two by two, so that each keeps its width on a phone); the attacks at
    ``eps[eps_index]``."""
    scales = sorted({float(c["init_scale"]) for c in curves})
    columns = _domains(2, gap=0.12)
    band, panel, below, top = 44, 190, 56, 60
    plot = 2 * (band + panel + below)
    data, layout = [], dict(title=dict(text=title), height=top + plot, margin=dict(_MARGIN, t=top, b=0),
                            annotations=[], legend=legend_below())
    for i, (key, name, fmt) in enumerate(SCALE_PANELS):
        s = _suffix(i)
        row, col = divmod(i, 2)
        y1 = 1 - (row * (band + panel + below) + band) / plot
        y0 = y1 - panel / plot
        for optimizer in dict.fromkeys(c["optimizer"] for c in curves):
            rows = sorted((c for c in curves if c["optimizer"] == optimizer), key=lambda c: c["init_scale"])
            label = optimizer_labels.get(optimizer, optimizer)
            values = [r[key][eps_index] if isinstance(r[key], list) else r[key] for r in rows]
            data.append(dict(type="scatter", mode="lines+markers", x=[float(r["init_scale"]) for r in rows],
                             y=[round(float(v), 5) for v in values], name=label, legendgroup=optimizer,
                             showlegend=i == 0, line=dict(color=OPTIMIZER_COLOURS.get(optimizer, "#555555")),
                             xaxis=f"x{s}", yaxis=f"y{s}",
                             hovertemplate=f"{label}, init ×%{{x}}: %{{y:{fmt or '.2f'}}}<extra></extra>"))
        layout[f"xaxis{s}"] = dict(domain=columns[col], anchor=f"y{s}", type="log", tickvals=scales,
                                   ticktext=[f"×{v:g}" for v in scales], title=dict(text="init scale"))
        layout[f"yaxis{s}"] = dict(domain=[round(y0, 6), round(y1, 6)], anchor=f"x{s}", rangemode="tozero",
                                   tickformat=fmt, **({"range": [0, 1]} if fmt else {}))
        layout["annotations"].append(facet_title(fit(name, PHONE_PANEL_PX), (columns[col][0] + columns[col][1]) / 2,
                                                 round(y1, 6)))
    return figure(data, layout)
