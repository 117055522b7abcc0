"""Figures of the street-smart page: a standard (book-smart) network beside a robust (street-smart) one.

Builders take NumPy arrays (the fields of ``advx.robust.RobustComparison``, a run's ``history``, maps
``(784, m)``) and return ``go.Figure``. The two networks keep one colour each in every figure.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from advx.figures.base import PHONE_PANEL_PX, facet_title, fit, legend_below, margin
from advx.figures.neurons import map_grid
from advx.vocabulary import ATTACK_LABELS, NETWORK_NAMES, eps_label

# One colour per network (``advx.vocabulary.NETWORK_NAMES``: index 0 the standard network, 1 the robust one).
COLOURS = dict(zip(NETWORK_NAMES, ("#1f77b4", "#d62728")))
ATTACK_DASH = {"worst": "solid", "pgd": "dash", "transfer": "dot", "square": "dashdot"}
MAP_TITLES = ("effective weights", "local Jacobian", "input gradient")
_LEGEND = legend_below()


def training_curves(histories: dict[str, dict]) -> go.Figure:
    """Accuracy per epoch of each network (``{name: run.history}``, names from ``COLOURS``): on the clean test
    set (solid), and on its own training batches (dotted; a robust run's batches are its PGD examples)."""
    traces = []
    for name, history in histories.items():
        epochs = np.arange(1, len(history["test_acc"]) + 1)
        for field, label, dash in (("test_acc", "clean test images", "solid"),
                                   ("train_acc", "its training batches", "dot")):
            traces.append(go.Scatter(x=epochs, y=np.asarray(history[field]), mode="lines+markers",
                                     name=f"{name}: {label}", line=dict(color=COLOURS[name], dash=dash),
                                     hovertemplate=f"{name}, {label}<br>epoch %{{x}}: %{{y:.2%}}<extra></extra>"))
    return go.Figure(data=traces, layout=dict(
        xaxis=dict(title=dict(text="epoch"), dtick=1), yaxis=dict(title=dict(text="accuracy"), tickformat=".0%"),
        height=330, margin=margin(t=30), legend=_LEGEND))


def class_grid(maps: np.ndarray, title: str, notes: Sequence[float] | None = None, *, signed: bool = True,
               note_name: str = "HF") -> go.Figure:
    """One network's ten class maps ``(784, 10)`` (output neurons 0-9) in two rows on one colour scale;
    ``notes`` ``(10,)`` a measure printed under each digit (``note_name`` its short name)."""
    notes_text = None if notes is None else [f"{note_name} {v:.2f}" for v in np.asarray(notes, np.float64)]
    return map_grid(np.asarray(maps), [str(c) for c in range(maps.shape[1])], signed=signed, ncols=5, notes=notes_text,
                    tile_px=88, title=title)


def image_maps(rows: dict[str, tuple[np.ndarray, np.ndarray]], label: int) -> go.Figure:
    """For each network (``{name: (maps (784, 3), high_frequency (3,))}``, ``advx.robust.ImageMaps``): class
    ``label``'s effective weights, local Jacobian and input gradient at one image, each scaled to its own largest
    magnitude (their sizes differ by orders of magnitude; their shapes are what is compared)."""
    maps, titles, notes = [], [], []
    for name, (values, high_frequency) in rows.items():
        values = np.asarray(values, np.float64)
        scale = np.nanmax(np.abs(values), axis=0)
        maps.append(values / np.where(scale > 0, scale, 1.0))
        titles += [f"{name}: {t} ({label})" for t in MAP_TITLES]
        notes += [f"HF {v:.2f}" for v in np.asarray(high_frequency, np.float64)]
    return map_grid(np.concatenate(maps, axis=1), titles, ncols=3, notes=notes, tile_px=150,
                    colorbar_title="share of largest")


def accuracy_curves(eps: np.ndarray, table: np.ndarray, clean: np.ndarray, norm_label: str,
                    attacks: Sequence[str] = ("pgd", "transfer", "square", "foolbox", "worst")) -> go.Figure:
    """Accuracy against ε of both networks: ``table (2, len(attacks), e)`` (``RobustComparison.linf_accuracy``),
    ``clean (2,)`` drawn at ε = 0. The worst case over every attack is the solid line; an attack that did not run
    (all NaN) is left out."""
    traces = []
    x = np.concatenate([[0.0], np.asarray(eps, np.float64)])
    for i, name in enumerate(NETWORK_NAMES):
        for a, attack in enumerate(attacks):
            if attack not in ATTACK_DASH or not np.isfinite(table[i, a]).any():
                continue
            y = np.concatenate([[clean[i]], table[i, a]])
            traces.append(go.Scatter(x=x, y=np.where(np.isfinite(y), y, None), mode="lines+markers",
                                     name=f"{name}: {ATTACK_LABELS[attack]}", legendgroup=name,
                                     line=dict(color=COLOURS[name], dash=ATTACK_DASH[attack],
                                               width=3 if attack == "worst" else 1.5),
                                     hovertemplate=f"{name}, {ATTACK_LABELS[attack]}<br>ε %{{x:g}}: %{{y:.1%}}"
                                                   "<extra></extra>"))
    return go.Figure(data=traces, layout=dict(
        title=dict(text=f"{norm_label}: accuracy under attack"), xaxis=dict(title=dict(text=f"{norm_label} ε")),
        yaxis=dict(title=dict(text="accuracy"), tickformat=".0%", range=[0, 1.02]), height=380,
        margin=margin(), legend=_LEGEND))


def map_character(high_frequency: np.ndarray, epochs: np.ndarray, current: int, *, noise: float,
                  digit: float) -> go.Figure:
    """The median high-frequency share of each kind of map (``MAP_TITLES``) at every epoch of both networks:
    ``high_frequency (2, E, 3)`` (``RobustComparison.map_high_frequency``, NaN after a shorter run's end),
    ``epochs (2,)``; the scrubber's ``current`` epoch is marked, and the shares of pixel noise (``noise``) and
    of the digit-like threshold (``digit``) drawn. Three panels side by side share one y axis."""
    gap, panels = 0.04, len(MAP_TITLES)
    width = (1 - gap * (panels - 1)) / panels
    layout = dict(height=300, margin=margin(), legend=_LEGEND,
                  yaxis=dict(title=dict(text="high-frequency share (median)"), range=[0, 0.9], anchor="x"))
    traces, shapes, annotations = [], [], []
    for k, title in enumerate(MAP_TITLES):
        axis = "x" if k == 0 else f"x{k + 1}"
        x0 = k * (width + gap)
        layout[f"xaxis{'' if k == 0 else k + 1}"] = dict(domain=[x0, x0 + width], anchor="y",
                                                        title=dict(text="epoch"))
        annotations.append(facet_title(fit(title, PHONE_PANEL_PX * 2 / 3), x0 + width / 2))
        for y in (noise, digit):
            shapes.append(dict(type="line", xref=f"{axis} domain", x0=0, x1=1, yref="y", y0=y, y1=y,
                               line=dict(color="#7f8c8d", dash="dot", width=1)))
        shapes.append(dict(type="line", xref=axis, x0=current, x1=current, yref="y domain", y0=0, y1=1,
                           line=dict(color="#2c3e50", width=1)))
        for i, name in enumerate(NETWORK_NAMES):
            length = int(epochs[i]) + 1
            traces.append(go.Scatter(x=np.arange(length), y=high_frequency[i, :length, k], mode="lines", name=name,
                                     legendgroup=name, showlegend=k == 0, line=dict(color=COLOURS[name]),
                                     xaxis=axis, yaxis="y",
                                     hovertemplate=f"{name}<br>epoch %{{x}}: %{{y:.3f}}<extra></extra>"))
    for y, text in ((noise, "pixel noise"), (digit, "digit-like below")):
        annotations.append(dict(text=text, x=1, y=y, xref="paper", yref="y", xanchor="right", yanchor="bottom",
                                showarrow=False, font=dict(size=11, color="#7f8c8d")))
    layout.update(shapes=shapes, annotations=annotations)
    return go.Figure(data=traces, layout=layout)


def overlay_success(eps: np.ndarray, success: np.ndarray, control: np.ndarray) -> go.Figure:
    """The post's overlay on both networks: targeted success ``(2, e)`` against L∞ ε, with its random control
    ``(2, e)`` (thin dotted)."""
    traces = []
    for i, name in enumerate(NETWORK_NAMES):
        for values, label, dash, width in ((success[i], "overlay", "solid", 2.5),
                                           (control[i], "random pattern", "dot", 1.2)):
            traces.append(go.Scatter(x=np.asarray(eps), y=np.asarray(values), mode="lines", name=f"{name}: {label}",
                                     line=dict(color=COLOURS[name], dash=dash, width=width),
                                     hovertemplate=f"{name}, {label}<br>ε %{{x:g}}: %{{y:.1%}}<extra></extra>"))
    return go.Figure(data=traces, layout=dict(
        xaxis=dict(title=dict(text=eps_label("linf"))), height=330, margin=margin(t=30), legend=_LEGEND,
        yaxis=dict(title=dict(text="turned into the target"), tickformat=".0%", range=[0, 1.02])))
