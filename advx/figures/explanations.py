"""Figures for "Bugs or features?": the attacks' shares outside the data subspace, PGD kept inside it, the
non-robust training sets, linearity along the attack and the smallest ε from the start of training.

Every builder takes arrays and returns a ``go.Figure`` written as a plain Plotly spec and wrapped without
validation (as ``advx.figures.population``; the tests validate each builder's output once). Each figure is one
chart: the page sets related charts side by side in columns rather than in subplots.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from advx.figures.base import INSIDE_COLOUR, LOG_TICKS, OUTSIDE_COLOUR, figure, fit, legend_below, margin
from advx.figures.maps import mosaic

ATTACK_COLOURS = {"overlay": "#c0392b", "fgsm": "#2980b9", "pgd": "#8e44ad", "smallest_pgd": "#16a085"}
MODEL_COLOURS = {"mlp": "#8e44ad", "linear": "#e67e22"}
RANDOM_COLOUR = "#7f8c8d"
_MARGIN = margin(t=50)


def _floats(values) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, np.float64)]


def _k_line(k: int, text: str) -> tuple[list, list]:
    return ([dict(type="line", x0=k, x1=k, y0=0, y1=1, xref="x", yref="paper", line=dict(color="#999", dash="dot"))],
            [dict(text=text, x=np.log10(k), y=1.0, xref="x", yref="paper", showarrow=False, xanchor="left",
                  yanchor="bottom", font=dict(size=11, color="#666"))])


def split_curves(ks, shares, random_share, labels: Mapping[str, str], k_level: int, *, title: str,
                 y_title: str) -> go.Figure:
    """``shares (a, K)``: a share outside the top-k subspace for each attack of ``labels`` (keys: attack names,
    values: legend names) against ``ks (K,)``, beside a random direction's ``random_share (K,)``."""
    x = _floats(ks)
    data = [dict(type="scatter", x=x, y=_floats(row), mode="lines+markers", name=name,
                 line=dict(color=ATTACK_COLOURS.get(attack, "#333")),
                 hovertemplate=f"{name}<br>k = %{{x}}<br>%{{y:.1%}}<extra></extra>")
            for (attack, name), row in zip(labels.items(), np.asarray(shares))]
    data.append(dict(type="scatter", x=x, y=_floats(random_share), mode="lines", name="a random direction",
                     line=dict(color=RANDOM_COLOUR, dash="dash"), hovertemplate="random<br>k = %{x}<br>%{y:.1%}"
                     "<extra></extra>"))
    shapes, notes = _k_line(k_level, f" k = {k_level}")
    return figure(data, dict(title=dict(text=title), height=380, margin=_MARGIN, shapes=shapes, annotations=notes,
                              xaxis=dict(title=dict(text="k (top-k data subspace)"), type="log", **LOG_TICKS),
                              yaxis=dict(title=dict(text=fit(y_title, 230)), tickformat=".0%", range=[0, 1.05]),
                              legend=legend_below()))


def restricted_eps(ks, smallest, *, title: str) -> go.Figure:
    """The median (line) and quartiles (band) over images of the smallest L2 ε of PGD kept in the top-k subspace,
    against ``ks (K,)`` (the last, 784, is the unrestricted attack, drawn as a horizontal line); ``smallest (K, n)``,
    ``inf`` where not found (it counts as larger than any found)."""
    ks, smallest = np.asarray(ks), np.asarray(smallest, np.float64)
    q1, median, q3 = (np.quantile(smallest[:-1], q, axis=1) for q in (0.25, 0.5, 0.75))
    x = _floats(ks[:-1])
    free = float(np.median(smallest[-1]))
    data = [dict(type="scatter", x=x + x[::-1], y=_floats(q3) + _floats(q1)[::-1], fill="toself", mode="lines",
                 line=dict(width=0), fillcolor="rgba(33,102,172,0.15)", name="quartiles", hoverinfo="skip"),
            dict(type="scatter", x=x, y=_floats(median), mode="lines+markers", name="kept in the top-k subspace",
                 line=dict(color=INSIDE_COLOUR), hovertemplate="k = %{x}<br>median ε = %{y:.2f}<extra></extra>"),
            dict(type="scatter", x=[x[0], x[-1]], y=[free, free], mode="lines", name="unrestricted",
                 line=dict(color=OUTSIDE_COLOUR, dash="dash"), hovertemplate=f"unrestricted: median ε = {free:.2f}"
                 "<extra></extra>")]
    return figure(data, dict(title=dict(text=title), height=380, margin=_MARGIN,
                              xaxis=dict(title=dict(text="k (top-k data subspace)"), type="log", **LOG_TICKS),
                              yaxis=dict(title=dict(text="smallest L2 ε reaching the target"), rangemode="tozero"),
                              legend=legend_below()))


def gallery(rows: Mapping[str, np.ndarray], captions: Mapping[str, Sequence[str]], *, title: str) -> go.Figure:
    """Images in a grid: one row per entry of ``rows`` (``(g, 784)`` pixels, clipped to [0, 1] for display), each
    cell captioned by ``captions[row][i]``; the row names are in each cell's hover (the title should name them).
    One mosaic (``advx.figures.maps.mosaic``) on the grey pixel scale."""
    names = list(rows)
    g = len(next(iter(rows.values())))
    images = np.concatenate([np.clip(np.asarray(rows[name], np.float64).reshape(g, -1), 0, 1) for name in names])
    labels = [captions[name][c] for name in names for c in range(g)]
    return mosaic(images.T, labels, signed=False, ncols=g, tile_px=85, title=title, showscale=False, decimals=3,
                  hover_names=[f"{name}<br>{captions[name][c]}" for name in names for c in range(g)])


def accuracy_bars(rows: Sequence[dict], *, chance: float, title: str) -> go.Figure:
    """Horizontal bars of ``rows`` (``{"trained on", "clean test accuracy"}``), with chance marked."""
    names = [r["trained on"] for r in rows][::-1]
    values = [float(r["clean test accuracy"]) for r in rows][::-1]
    data = [dict(type="bar", orientation="h", x=values, y=names, marker=dict(color=INSIDE_COLOUR),
                 text=[f"{v:.1%}" for v in values], textposition="outside",
                 hovertemplate="%{y}: %{x:.1%}<extra></extra>")]
    shapes = [dict(type="line", x0=chance, x1=chance, y0=0, y1=1, xref="x", yref="paper",
                   line=dict(color=RANDOM_COLOUR, dash="dash"))]
    notes = [dict(text=f" chance {chance:.0%}", x=chance, y=1, xref="x", yref="paper", showarrow=False,
                  xanchor="left", yanchor="bottom", font=dict(size=11, color=RANDOM_COLOUR))]
    return figure(data, dict(title=dict(text=title), height=120 + 50 * len(rows), margin=dict(_MARGIN, l=260),
                              shapes=shapes, annotations=notes,
                              xaxis=dict(title=dict(text="clean test accuracy"), tickformat=".0%", range=[0, 1.1])))


def model_curves(sizes, curves: Mapping[str, np.ndarray], labels: Mapping[str, str], eps: float, *, title: str,
                 x_title: str, y_title: str, percent: bool = False) -> go.Figure:
    """One line per model (``curves``: ``{"mlp" | "linear": (S,)}``, named by ``labels``) against ``sizes (S,)``,
    with the attack's ``eps`` marked."""
    data = [dict(type="scatter", x=_floats(sizes), y=_floats(curve), mode="lines+markers", name=labels[name],
                 line=dict(color=MODEL_COLOURS.get(name, "#333")),
                 hovertemplate=f"{labels[name]}<br>%{{x:.3g}}: %{{y:{'.1%' if percent else '.3f'}}}<extra></extra>")
            for name, curve in curves.items()]
    shapes = [dict(type="line", x0=eps, x1=eps, y0=0, y1=1, xref="x", yref="paper",
                   line=dict(color="#999", dash="dot"))]
    return figure(data, dict(title=dict(text=title), height=360, margin=_MARGIN, shapes=shapes,
                              xaxis=dict(title=dict(text=x_title)),
                              yaxis=dict(title=dict(text=y_title), **({"tickformat": ".0%"} if percent else {})),
                              legend=legend_below()))


def epoch_eps(epochs, smallest, accuracy, *, norm_label: str, title: str) -> go.Figure:
    """The median (line) and quartiles (band) of the smallest flipping ε after each of ``epochs (E,)`` (0: the
    untrained network); ``smallest (E, n)``; the accuracy ``(E,)`` in the hover."""
    q1, median, q3 = (np.quantile(np.asarray(smallest, np.float64), q, axis=1) for q in (0.25, 0.5, 0.75))
    x = _floats(epochs)
    data = [dict(type="scatter", x=x + x[::-1], y=_floats(q3) + _floats(q1)[::-1], fill="toself", mode="lines",
                 line=dict(width=0), fillcolor="rgba(142,68,173,0.15)", name="quartiles", hoverinfo="skip"),
            dict(type="scatter", x=x, y=_floats(median), mode="lines+markers", name="median", customdata=_floats(
                accuracy), line=dict(color="#8e44ad"), hovertemplate="epoch %{x}<br>median ε = %{y:.3g}<br>accuracy "
                "%{customdata:.1%}<extra></extra>")]
    return figure(data, dict(title=dict(text=title), height=360, margin=_MARGIN,
                              xaxis=dict(title=dict(text="epoch (0: the random initialisation)")),
                              yaxis=dict(title=dict(text=f"smallest {norm_label} ε that flips"), rangemode="tozero"),
                              legend=legend_below()))


PART_COLOURS = {"inside": INSIDE_COLOUR, "outside": OUTSIDE_COLOUR, "anywhere": "#555555"}


def boundary_lines(epochs, medians: Mapping[str, np.ndarray], labels: Mapping[str, str], *, title: str) -> go.Figure:
    """The median distance to the boundary after each of ``epochs (E,)``, one line per part of ``medians``
    (``{"inside" | "outside" | "anywhere": (E,)}``, named by ``labels``)."""
    data = [dict(type="scatter", x=_floats(epochs), y=_floats(values), mode="lines+markers", name=labels[name],
                 line=dict(color=PART_COLOURS.get(name, "#333")),
                 hovertemplate=f"{labels[name]}<br>epoch %{{x}}: median ε %{{y:.2f}}<extra></extra>")
            for name, values in medians.items()]
    return figure(data, dict(title=dict(text=title), height=360, margin=_MARGIN,
                              xaxis=dict(title=dict(text="epoch (0: the random initialisation)")),
                              yaxis=dict(title=dict(text="median L2 distance to the boundary"), rangemode="tozero"),
                              legend=legend_below()))
