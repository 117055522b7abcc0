"""Figures for the data subspace ("Why it happens"). Each takes numpy arrays and returns a ``go.Figure``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from advx.figures.base import INSIDE_COLOUR, LOG_TICKS, OUTSIDE_COLOUR, SHARE_SCALE, SIDE, legend_below, margin

if TYPE_CHECKING:
    from advx.subspace.counterfactual import AttackRates

CURVE_COLOURS = ("#222222", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")


def _image(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, np.float64).reshape(SIDE, SIDE)


def explained_variance(explained: np.ndarray, k: int, levels: Sequence[float] = ()) -> go.Figure:
    """The images' cumulative energy share against ``k`` (``explained``: ``(784,)``, share at ``k-1``).

    Marks the chosen ``k`` and the ``k`` of each variance level.
    """
    ks = np.arange(1, len(explained) + 1, dtype=np.float64)  # plotly.js reads no int64 typed arrays
    shapes, annotations = _k_marker(k, f"k = {k}: {explained[k - 1]:.1%}", INSIDE_COLOUR)
    for level in levels:
        k_level = int(np.searchsorted(explained, level - 1e-6) + 1)
        shapes.append(dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=level, y1=level,
                           line=dict(dash="dot", color="#999999", width=1)))
        annotations.append(dict(xref="x domain", x=1, yref="y", y=level, text=f"{level:.0%} at k = {k_level}",
                                showarrow=False, xanchor="right", yanchor="top"))
    # The layout is given whole: plotly's add_hline / add_vline cost about 20 ms each.
    return go.Figure(
        go.Scatter(x=ks, y=np.asarray(explained, np.float64), mode="lines", name="training images",
                   line=dict(color=CURVE_COLOURS[0]), hovertemplate="k = %{x}<br>share kept = %{y:.2%}<extra></extra>"),
        layout=dict(shapes=shapes, annotations=annotations, height=360, margin=dict(t=30, b=40), showlegend=False,
                    xaxis=dict(title=dict(text="k (number of principal directions)"), type="log", **LOG_TICKS),
                    yaxis=dict(title=dict(text="share of image energy kept"), tickformat=".0%")))


def energy_curves(curves: Mapping[str, np.ndarray], k: int) -> go.Figure:
    """Several cumulative energy-share curves (each ``(784,)``) on one chart, with the chosen ``k`` marked.

    Used to set ΔW1 of each optimizer beside the training images: a curve that rises as fast as the
    images' lies in the same few directions.
    """
    ks = np.arange(1, 785, dtype=np.float64)
    traces = [go.Scatter(x=ks, y=np.asarray(curve, np.float64), mode="lines", name=name, line=dict(color=colour),
                         hovertemplate=f"{name}<br>k = %{{x}}<br>share inside = %{{y:.2%}}<extra></extra>")
              for (name, curve), colour in zip(curves.items(), CURVE_COLOURS)]
    shapes, annotations = _k_marker(k, f"k = {k}", "#999999")
    return go.Figure(traces, layout=dict(
        shapes=shapes, annotations=annotations, height=380, margin=dict(t=30, b=40),
        legend=legend_below(), xaxis=dict(title=dict(text="k (top-k data subspace)"), type="log", **LOG_TICKS),
        yaxis=dict(title=dict(text="share of energy inside"), tickformat=".0%")))


def neuron_energy_scatter(labels: Sequence[str], inside_init: np.ndarray, outside_init: np.ndarray,
                          inside_trained: np.ndarray, outside_trained: np.ndarray) -> go.Figure:
    """Each neuron's effective weights as a point (energy inside, energy outside), at init and trained.

    All arrays are ``(n,)`` squared norms and ``labels`` the neurons' names (``"Layer_2 #5"``); a line
    joins a neuron's two points. Log-log axes, because deeper layers' effective weights are orders of
    magnitude larger; points above the dotted diagonal have more energy outside than inside.
    """
    labels = list(labels)
    layers = list(dict.fromkeys(label.split(" #")[0] for label in labels))
    colours = {layer: c for layer, c in zip(layers, CURVE_COLOURS[1:] + CURVE_COLOURS[:1])}
    fig = go.Figure()
    for layer in layers:
        rows = [i for i, label in enumerate(labels) if label.split(" #")[0] == layer]
        x, y, text = [], [], []
        for i in rows:
            x += [float(inside_init[i]), float(inside_trained[i]), None]
            y += [float(outside_init[i]), float(outside_trained[i]), None]
            text += [f"{labels[i]}, init", f"{labels[i]}, trained", ""]
        fig.add_trace(go.Scatter(x=x, y=y, text=text, mode="lines", line=dict(color=colours[layer], width=1),
                                 hoverinfo="skip", showlegend=False, legendgroup=layer))
        for stage, xs, ys, symbol in (("init", inside_init, outside_init, "circle-open"),
                                      ("trained", inside_trained, outside_trained, "circle")):
            fig.add_trace(go.Scatter(
                x=[float(xs[i]) for i in rows], y=[float(ys[i]) for i in rows], mode="markers",
                name=f"{layer}, {stage}", legendgroup=layer, text=[labels[i] for i in rows],
                marker=dict(color=colours[layer], symbol=symbol, size=10, line=dict(width=2)),
                hovertemplate=f"%{{text}}, {stage}<br>inside: %{{x:.3g}}<br>outside: %{{y:.3g}}<extra></extra>"))
    values = np.concatenate([np.asarray(a, np.float64) for a in (inside_init, outside_init, inside_trained,
                                                                 outside_trained)])
    values = values[values > 0]
    lo, hi = (float(values.min()) / 2, float(values.max()) * 2) if values.size else (1e-3, 1.0)
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(color="#999999", dash="dot"),
                             name="as much outside as inside", hoverinfo="skip"))
    fig.update_xaxes(type="log", title="energy inside the data subspace (‖P w‖²)", dtick=1, exponentformat="e")
    fig.update_yaxes(type="log", title="energy outside it (‖Q w‖²)", dtick=1, exponentformat="e")
    fig.update_layout(height=460, margin=dict(t=30, b=40), legend=legend_below())
    return fig


def signed_parts(maps: Mapping[str, np.ndarray], columns: int = 4) -> go.Figure:
    """Signed pixel maps (each ``(784,)``) on one shared RdBu_r scale centred at 0, labelled by name."""
    from advx.figures.neurons import map_grid

    names = list(maps)
    stack = np.stack([np.asarray(maps[n], np.float64).reshape(-1) for n in names], axis=1)  # (784, m)
    return map_grid(stack, names, ncols=min(columns, len(names)), colorbar_title="weight", tile_px=200)


def share_map(share: np.ndarray, title: str) -> go.Figure:
    """A ``(784,)`` share in [0, 1] per pixel (NaN shown blank), on a 0–100% blue scale."""
    return go.Figure(go.Heatmap(z=_image(share)[::-1], zmin=0, zmax=1, colorscale=SHARE_SCALE,
                                colorbar=dict(title=dict(text="inside"), tickformat=".0%"),
                                hovertemplate="share inside = %{z:.1%}<extra></extra>"), layout=_square(title))


BLANK_COLOUR, USED_COLOUR = OUTSIDE_COLOUR, "#f2f2f2"


def blank_map(blank: np.ndarray, title: str) -> go.Figure:
    """The ``(784,)`` bool mask of blank pixels: red where the pixel is 0 on every training image (directions wholly
    outside the data), pale grey where some image inks it. Not black: in the lab's images black is ink."""
    z = _image(np.asarray(blank, np.float64))[::-1]
    words = np.where(z > 0.5, "blank on every training image", "inked on some training image")
    return go.Figure(go.Heatmap(z=z, zmin=0, zmax=1, colorscale=[[0, USED_COLOUR], [1, BLANK_COLOUR]], showscale=False,
                                customdata=words, hovertemplate="%{customdata}<extra></extra>"),
                     layout=_square(title))


def counterfactual_bars(columns: Mapping[str, AttackRates], attack_titles: Mapping[str, str], *,
                        target: int) -> go.Figure:
    """The counterfactual's attacks as one chart: per attack and ε (rows, in the table's order), the share of the
    attacked images each network (``columns``: ``{title: AttackRates}``, one colour each) lets turn into
    ``target``. Horizontal bars, so the row labels stay readable on a phone."""
    first = next(iter(columns.values()))
    keys = list(first.success)
    labels = [f"{attack_titles[attack]}, ε {eps:g}" for attack, eps in keys]
    traces = [go.Bar(y=labels, x=[float(rates.success[key]) for key in keys], orientation="h", name=name,
                     marker_color=colour,
                     hovertemplate=f"{name}<br>%{{y}}: %{{x:.1%}} turned into a {target}<extra></extra>")
              for (name, rates), colour in zip(columns.items(), CURVE_COLOURS)]
    return go.Figure(traces, layout=dict(
        title=dict(text=f"Attacks that turn a digit into a {target}"), barmode="group", bargap=0.25,
        height=140 + 18 * len(keys) * len(columns), margin=margin(t=40, b=40),
        xaxis=dict(title=dict(text=f"share of attacked images read as {target}"), tickformat=".0%", range=[0, 1]),
        yaxis=dict(autorange="reversed", automargin=True), legend=legend_below()))


def _k_marker(k: int, text: str, colour: str) -> tuple[list[dict], list[dict]]:
    """``([shape], [annotation])``: a vertical line at ``k`` on a log x axis and its label. A shape takes
    the value on a log axis, an annotation its exponent, so the label is placed at log10(k)."""
    return ([dict(type="line", xref="x", x0=k, x1=k, yref="y domain", y0=0, y1=1, line=dict(color=colour, width=2))],
            [dict(x=float(np.log10(k)), y=1.0, yref="paper", text=text, showarrow=False, xanchor="left",
                  yanchor="bottom", font=dict(color=colour))])


def _square(title: str) -> dict:
    """The layout of a square 28 × 28 pixel map without tick labels."""
    return dict(title=dict(text=title, font=dict(size=14)), height=330, margin=margin(),
                xaxis=dict(showticklabels=False, constrain="domain"), yaxis=dict(showticklabels=False, scaleanchor="x"))

