"""Figures for the data subspace ("Why it happens"). Each takes numpy arrays and returns a ``go.Figure``."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

INSIDE_COLOUR = "#2166ac"  # the blue end of RdBu: inside the data subspace
OUTSIDE_COLOUR = "#b2182b"  # the red end: outside it
CURVE_COLOURS = ("#222222", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")


def _image(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, np.float64).reshape(28, 28)


def explained_variance(explained: np.ndarray, k: int, levels: Sequence[float] = ()) -> go.Figure:
    """The images' cumulative energy share against ``k`` (``explained``: ``(784,)``, share at ``k-1``).

    Marks the chosen ``k`` and the ``k`` of each variance level.
    """
    ks = np.arange(1, len(explained) + 1)
    fig = go.Figure(go.Scatter(x=ks, y=explained, mode="lines", name="training images",
                               line=dict(color=CURVE_COLOURS[0]),
                               hovertemplate="k = %{x}<br>share kept = %{y:.2%}<extra></extra>"))
    for level in levels:
        k_level = int(np.searchsorted(explained, level - 1e-6) + 1)
        fig.add_hline(y=level, line=dict(dash="dot", color="#999999", width=1),
                      annotation_text=f"{level:.0%} at k = {k_level}", annotation_position="bottom right")
    fig.add_vline(x=k, line=dict(color=INSIDE_COLOUR, width=2),
                  annotation_text=f"k = {k}: {explained[k - 1]:.1%}", annotation_position="top left")
    fig.update_layout(xaxis_title="k (number of principal directions)", yaxis_title="share of image energy kept",
                      yaxis_tickformat=".0%", xaxis_type="log", height=360, margin=dict(t=30, b=40),
                      showlegend=False)
    return fig


def energy_curves(curves: Mapping[str, np.ndarray], k: int) -> go.Figure:
    """Several cumulative energy-share curves (each ``(784,)``) on one chart, with the chosen ``k`` marked.

    Used to set ΔW1 of each optimiser beside the training images: a curve that rises as fast as the
    images' lies in the same few directions.
    """
    fig = go.Figure()
    ks = np.arange(1, 785)
    for (name, curve), colour in zip(curves.items(), CURVE_COLOURS):
        fig.add_trace(go.Scatter(x=ks, y=curve, mode="lines", name=name, line=dict(color=colour),
                                 hovertemplate=f"{name}<br>k = %{{x}}<br>share inside = %{{y:.2%}}<extra></extra>"))
    fig.add_vline(x=k, line=dict(color="#999999", dash="dot"), annotation_text=f"k = {k}")
    fig.update_layout(xaxis_title="k (top-k data subspace)", yaxis_title="share of energy inside",
                      yaxis_tickformat=".0%", xaxis_type="log", height=380, margin=dict(t=30, b=40),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def neuron_energy_bars(labels: Sequence[str], inside_init: np.ndarray, outside_init: np.ndarray,
                       inside_trained: np.ndarray, outside_trained: np.ndarray) -> go.Figure:
    """Per neuron, two stacked bars (init, trained): energy of the effective weights inside and outside.

    All arrays are ``(n,)`` squared norms, ``labels`` the neurons' names.
    """
    labels = list(labels)
    fig = go.Figure()
    for stage, inside, outside in (("init", inside_init, outside_init), ("trained", inside_trained, outside_trained)):
        x = [labels, [stage] * len(labels)]
        fig.add_trace(go.Bar(x=x, y=inside, name=f"inside the data subspace", marker_color=INSIDE_COLOUR,
                             legendgroup="inside", showlegend=stage == "init",
                             hovertemplate="%{x}<br>inside: %{y:.3g}<extra></extra>"))
        fig.add_trace(go.Bar(x=x, y=outside, name=f"outside it", marker_color=OUTSIDE_COLOUR,
                             legendgroup="outside", showlegend=stage == "init",
                             hovertemplate="%{x}<br>outside: %{y:.3g}<extra></extra>"))
    fig.update_layout(barmode="stack", yaxis_title="energy ‖·‖² of the effective weights", height=380,
                      margin=dict(t=30, b=40), legend=dict(orientation="h", y=1.1))
    return fig


def signed_parts(maps: Mapping[str, np.ndarray], columns: int = 4) -> go.Figure:
    """Signed pixel maps (each ``(784,)``) on one shared RdBu_r scale centred at 0, labelled by name."""
    names = list(maps)
    stack = np.stack([_image(maps[n]) for n in names])
    bound = float(np.abs(stack).max()) or 1.0
    fig = px.imshow(stack, facet_col=0, facet_col_wrap=min(columns, len(names)), color_continuous_scale="RdBu_r",
                    color_continuous_midpoint=0, zmin=-bound, zmax=bound, facet_col_spacing=0.02,
                    facet_row_spacing=0.08)
    _label_facets(fig, names)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    rows = -(-len(names) // min(columns, len(names)))
    fig.update_layout(height=230 * rows + 40, margin=dict(t=30, b=10), coloraxis_colorbar=dict(title="weight"))
    return fig


def pixel_energy(maps: Mapping[str, np.ndarray], columns: int = 3) -> go.Figure:
    """Non-negative per-pixel energies (each ``(784,)``) on one shared sequential scale, labelled by name."""
    names = list(maps)
    stack = np.stack([_image(maps[n]) for n in names])
    fig = px.imshow(stack, facet_col=0, facet_col_wrap=min(columns, len(names)), color_continuous_scale="Viridis",
                    zmin=0, zmax=float(np.nanmax(stack)) or 1.0, facet_col_spacing=0.03)
    _label_facets(fig, names)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(height=300, margin=dict(t=30, b=10), coloraxis_colorbar=dict(title="energy"))
    return fig


def share_map(share: np.ndarray, title: str) -> go.Figure:
    """A ``(784,)`` share in [0, 1] per pixel (NaN shown blank), on a 0–100% blue scale."""
    fig = go.Figure(go.Heatmap(z=_image(share)[::-1], zmin=0, zmax=1, colorscale="Blues",
                               colorbar=dict(title="inside", tickformat=".0%"),
                               hovertemplate="share inside = %{z:.1%}<extra></extra>"))
    _square(fig, title)
    return fig


def blank_map(blank: np.ndarray, title: str) -> go.Figure:
    """The ``(784,)`` bool mask of blank pixels: black where the pixel is 0 on every training image."""
    z = _image(np.asarray(blank, np.float64))[::-1]
    fig = go.Figure(go.Heatmap(z=z, zmin=0, zmax=1, colorscale=[[0, "#f2f2f2"], [1, "#000000"]], showscale=False,
                               hovertemplate="%{z:.0f} (1 = blank on every image)<extra></extra>"))
    _square(fig, title)
    return fig


def _square(fig: go.Figure, title: str) -> None:
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=330, margin=dict(t=40, b=10, l=10, r=10))


def _label_facets(fig: go.Figure, names: Sequence[str]) -> None:
    """Replace plotly's ``facet_col=i`` titles by the names; parsed per annotation (order is not facet order)."""
    for annotation in fig.layout.annotations:
        text = annotation.text or ""
        if "=" in text:
            index = int(text.split("=")[-1])
            annotation.text = names[index]
