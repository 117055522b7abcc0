"""Figures on a page: maps drawn as pictures (PNG tiles) and charts drawn as HTML and SVG, with no chart code to load
or run; or, with "Interactive charts" on, every figure as its interactive Plotly chart (zoom, pan, and a map's hover
naming the map, the pixel and its value).

The choice is kept for the whole visit: a page's toggle starts where the last page's was left, and a page's charts
above its toggle follow it too.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from advx.figures import maps as M
from advx.figures import svg

KEPT = "_maps_hover"  # the visit's choice, kept across pages (a widget's own key is dropped with its page)
LABEL = "Interactive charts"
HELP = ("Draws every figure as an interactive chart: zoom and pan, and hovering a pixel of a map shows its map, its "
        "row and column and its value. They take longer to draw. Off, maps are pictures and charts are drawn at "
        "once; hovering a point, a bar or a cell still shows its values, hovering a map the range of its values.")


def interactive() -> bool:
    """Whether this visit draws its figures as interactive Plotly charts."""
    return bool(st.session_state.get(KEPT, False))


def _keep(key: str) -> None:
    st.session_state[KEPT] = bool(st.session_state[key])


def hover_toggle(key: str, container=None) -> bool:
    """The page's "Interactive charts" toggle (widget ``key``); whether the figures are drawn as Plotly charts."""
    if key not in st.session_state:
        st.session_state[key] = interactive()
    return bool((container or st).toggle(LABEL, key=key, help=HELP, on_change=_keep, args=(key,)))


def show(container, fig: go.Figure, key: str, hover: bool | None = None, config: dict | None = None) -> None:
    """A figure of maps ``fig`` (a mosaic, ``advx.figures.maps.mosaic``, or one image) in ``container``: the chart
    (with plotly's ``config``) if ``hover`` (by default, the visit's choice), else its picture
    (``advx.figures.maps.picture``)."""
    if interactive() if hover is None else hover:
        container.plotly_chart(fig, key=key, config=config)
    else:
        container.html(M.picture(fig))


def chart(container, fig: go.Figure, key: str, hover: bool | None = None, config: dict | None = None) -> None:
    """A chart ``fig`` (lines, markers, bars, small heatmaps) in ``container``: the Plotly chart if ``hover`` (by
    default, the visit's choice) or if ``advx.figures.svg`` cannot draw it, else its HTML and SVG drawing."""
    if not (interactive() if hover is None else hover):
        try:
            container.html(svg.chart(fig))
            return
        except svg.Unsupported:
            pass
    container.plotly_chart(fig, key=key, config=config)
