"""Learning curves."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from advx.figures.base import legend_below, margin


def learning_curves(history: dict) -> go.Figure:
    """Loss and accuracy per epoch, train and test. ``history`` holds ``(epochs,)`` arrays."""
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    for split, dash in (("train", "solid"), ("test", "dash")):
        fig.add_trace(go.Scatter(x=epochs, y=history[f"{split}_loss"], name=f"{split} loss", mode="lines+markers",
                                 line=dict(dash=dash, color="#1f77b4")), row=1, col=1)
        fig.add_trace(go.Scatter(x=epochs, y=history[f"{split}_acc"], name=f"{split} accuracy", mode="lines+markers",
                                 line=dict(dash=dash, color="#d62728")), row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(tickformat=".1%", row=1, col=2)
    fig.update_layout(height=340, margin=margin(), legend=legend_below())
    return fig
