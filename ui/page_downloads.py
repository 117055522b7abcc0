"""One "Download" panel per page: its figures as standalone HTML and its arrays as ``.npz``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui import downloads


def offer(prefix: str, figures: dict[str, go.Figure], arrays: dict[str, np.ndarray]) -> None:
    """Render download buttons for ``figures`` (one HTML file each) and ``arrays`` (one ``.npz``).

    The buttons read both dictionaries when clicked: a section that reruns alone (``st.fragment``) and updates them
    in place offers what it now shows. A figure it has taken out of ``figures`` (its result not there yet) downloads
    as a page that says so."""
    with st.expander("Download what this page shows", icon=":material/download:"):
        cols = st.columns(3)
        for i, name in enumerate(figures):
            with cols[i % 3]:
                downloads.figure_download(lambda name=name: figures.get(name), f"{prefix}_{name}.html",
                                          key=f"{prefix}_dl_fig_{name}", label=f"{name} (HTML)")
        with cols[len(figures) % 3]:
            downloads.arrays_download(arrays, f"{prefix}.npz", key=f"{prefix}_dl_arrays", label="arrays (.npz)")
