"""Figures for the adversarial overlay: images, probabilities, eps curves, success matrices, comparisons.

All builders take numpy arrays and return ``go.Figure``. Images are ``(784,)`` pixels in [0, 1], drawn in
grey (0 white, 1 black, as on the other pages); signed patterns use ``RdBu_r`` centred at 0.

The figures are written as plain Plotly specs and wrapped without validation (``advx.figures.base.figure``): the
page redraws them on every move of its eps slider. The size of a perturbation is ε on the figures (``eps`` in the
code); the attacks' names are ``advx.vocabulary``'s.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from advx.figures.base import SHARE_SCALE, class_axis, figure, image_layout, legend_below, map_colours, margin, square
from advx.vocabulary import ATTACK_DETAILS, eps_label

# The methods ``advx.attacks.comparison_table`` compares, in the legend's order, each with one colour.
METHOD_COLOURS = {"overlay": "#c0392b", "overlay_sign": "#e67e22", "random": "#7f8c8d", "fgsm": "#2980b9",
                  "pgd": "#8e44ad"}
_MARGIN = margin()


def image_panel(z, title: str, *, signed: bool = False) -> go.Figure:
    """One ``(784,)`` image as a 28 × 28 heatmap with ``title``: pixels in [0, 1] on one grey scale, or
    (``signed``) a pattern on ``RdBu_r`` symmetric about 0. A page lays several side by side in columns,
    which Streamlit stacks one per row on a narrow (phone) screen."""
    z = np.asarray(z, np.float64)
    bound = float(np.abs(z).max()) or 1.0
    data = [dict(type="heatmap", z=square(z), coloraxis="coloraxis", name=title,
                 hovertemplate=f"{title}<br>row %{{y}}, col %{{x}}: %{{z:.3g}}<extra></extra>")]
    return figure(data, image_layout(title, coloraxis=dict(**map_colours(signed, bound),
                                                           colorbar=dict(thickness=10, len=0.8)),
                                     height=300, margin=_MARGIN))


def overlay_panels(original, pattern, adversarial, titles: Sequence[str]) -> list[go.Figure]:
    """Original, pattern and adversarial image as three panels (``image_panel``), in that order.

    ``original`` and ``adversarial``: ``(784,)`` in [0, 1]. ``pattern``: ``(784,)`` signed. ``titles``: three names.
    """
    if len(titles) != 3:
        raise ValueError(f"need 3 titles, got {len(titles)}")
    return [image_panel(original, titles[0]), image_panel(pattern, titles[1], signed=True),
            image_panel(adversarial, titles[2])]


def probability_bars(before, after, target: int, label: int) -> go.Figure:
    """Class probabilities ``(10,)`` before and after the overlay, grouped by class."""
    classes = [str(k) for k in range(10)]
    data = [dict(type="bar", x=classes, y=np.asarray(before, float).tolist(), name="original",
                 marker=dict(color="#95a5a6"), hovertemplate="class %{x}: %{y:.3f}<extra>original</extra>"),
            dict(type="bar", x=classes, y=np.asarray(after, float).tolist(), name="with overlay",
                 marker=dict(color="#c0392b"), hovertemplate="class %{x}: %{y:.3f}<extra>with overlay</extra>")]
    return figure(data, dict(barmode="group", height=280, margin=_MARGIN,
                              title=dict(text=f"Probabilities (label {label}, target {target})"),
                              yaxis=dict(title=dict(text="probability"), range=[0, 1]),
                              xaxis=class_axis("class"), legend=legend_below()))


def _vline(x: float, colour: str, dash: str, text: str, y: float) -> tuple[dict, dict]:
    shape = dict(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line=dict(color=colour, dash=dash))
    note = dict(text=text, x=x, y=y, xref="x", yref="paper", showarrow=False, xanchor="left",
                font=dict(color=colour, size=11))
    return shape, note


def eps_curve(eps_grid, target_probability, control_mean, control_max, *, target: int,
              norm_label: str, current: float, minimal: Optional[float]) -> go.Figure:
    """Target probability against the overlay's eps for the pattern and the random control (mean and max
    over draws), with the chosen eps ``current`` and the minimal flipping eps marked."""
    s = np.asarray(eps_grid, float).tolist()
    data = [
        dict(type="scatter", x=s, y=np.asarray(target_probability, float).tolist(), name="pattern",
             mode="lines+markers", line=dict(color="#c0392b")),
        dict(type="scatter", x=s, y=np.asarray(control_mean, float).tolist(), name="random noise (mean of draws)",
             mode="lines", line=dict(color="#7f8c8d")),
        dict(type="scatter", x=s, y=np.asarray(control_max, float).tolist(), name="random noise (best draw)",
             mode="lines", line=dict(color="#7f8c8d", dash="dot")),
    ]
    shapes, notes = [], []
    for shape, note in [_vline(current, "#34495e", "dash", f" chosen {current:g}", 0.95)] + (
            [_vline(minimal, "#c0392b", "solid", f" flips at {minimal:.3g}", 0.05)]
            if minimal is not None and np.isfinite(minimal) else []):
        shapes.append(shape)
        notes.append(note)
    return figure(data, dict(height=320, margin=_MARGIN, shapes=shapes, annotations=notes,
                              title=dict(text=f"Probability of {target} against {norm_label} ε"),
                              xaxis=dict(title=dict(text=f"{norm_label} ε")),
                              yaxis=dict(title=dict(text=f"P({target})"), range=[0, 1.02]),
                              legend=legend_below()))


def success_matrix(matrix, *, title: str) -> go.Figure:
    """The ``(10, 10)`` success rates (rows: true class, columns: target), with percentages written in.

    NaN cells (the diagonal) are left blank.
    """
    m = np.asarray(matrix, float)
    text = [["" if np.isnan(v) else f"{100 * v:.0f}" for v in row] for row in m]
    classes = [str(k) for k in range(10)]
    z = [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in m]
    data = [dict(type="heatmap", z=z, x=classes, y=classes, zmin=0, zmax=1, colorscale=SHARE_SCALE, text=text,
                 texttemplate="%{text}", textfont=dict(size=11),
                 colorbar=dict(title=dict(text="success"), tickformat=".0%"),
                 hovertemplate="true %{y} → target %{x}: %{z:.1%}<extra></extra>")]
    # Both axes hold to the ten classes: with square cells, a narrow screen shrinks the plot, not the range.
    return figure(data, dict(height=420, margin=_MARGIN, title=dict(text=title),
                              xaxis=class_axis("target class", constrain="domain", range=[-0.5, 9.5]),
                              yaxis=class_axis("true class", range=[9.5, -0.5], scaleanchor="x", constrain="domain")))


def confidence_histogram(counts, edges, *, title: str) -> go.Figure:
    """Distribution of the target probability over the successful overlays, from histogram ``counts (b,)``
    over bin ``edges (b + 1,)``."""
    counts, edges = np.asarray(counts), np.asarray(edges, float)
    centres = ((edges[:-1] + edges[1:]) / 2).tolist()
    data = [dict(type="bar", x=centres, y=counts.tolist(), width=float(edges[1] - edges[0]),
                 marker=dict(color="#c0392b"), hovertemplate="P(target) ≈ %{x:.2f}: %{y} images<extra></extra>")]
    notes = [] if counts.sum() else [dict(text="no successful overlay at this ε", showarrow=False, x=0.5,
                                          y=0.5, xref="paper", yref="paper")]
    return figure(data, dict(height=300, margin=_MARGIN, title=dict(text=title), annotations=notes, bargap=0.05,
                              xaxis=dict(title=dict(text="probability of the target"), range=[0, 1]),
                              yaxis=dict(title=dict(text="images"))))


def comparison(rows: Sequence[dict], *, target: int, norm: str) -> go.Figure:
    """Success rate against ε for each method, for one norm (a page puts the norms side by side in columns,
    which stack on a narrow screen).

    ``rows``: ``advx.attacks.comparison_table`` rows (``norm``, ``eps`` and one rate per method).
    """
    label = eps_label(norm)
    chosen = sorted((r for r in rows if r["norm"] == norm), key=lambda r: r["eps"])
    eps_values = [r["eps"] for r in chosen]
    data = [dict(type="scatter", x=eps_values, y=[r[method] for r in chosen], name=name, mode="lines+markers",
                 line=dict(color=METHOD_COLOURS[method]),
                 hovertemplate=f"{name}<br>ε %{{x}}: %{{y:.1%}}<extra></extra>")
            for method, name in ((m, ATTACK_DETAILS[m]) for m in METHOD_COLOURS)]
    return figure(data, dict(height=380, margin=_MARGIN, title=dict(text=label), legend=legend_below(),
                              xaxis=dict(title=dict(text=label)),
                              yaxis=dict(range=[0, 1.02], tickformat=".0%",
                                         title=dict(text=f"share turned into {target}"))))
