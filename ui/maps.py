"""Grids of maps on a page: drawn as pictures (PNG tiles, no chart code to load or run), or, with "Values on hover"
on, as the interactive mosaic whose hover names the map, the pixel and its value.

The choice is kept for the whole visit: a page's toggle starts where the last page's was left.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from advx.figures import maps as M

KEPT = "_maps_hover"  # the visit's choice, kept across pages (a widget's own key is dropped with its page)
HELP = ("Draws the maps as interactive charts: hovering a pixel shows its map, its row and column and its value. "
        "They take longer to draw. Off, each map is a picture; hovering it shows the range of its values.")


def hover_toggle(key: str, container=None) -> bool:
    """The page's "Values on hover" toggle (widget ``key``); whether the maps are drawn as interactive charts."""
    if key not in st.session_state:
        st.session_state[key] = bool(st.session_state.get(KEPT, False))
    on = bool((container or st).toggle("Values on hover", key=key, help=HELP))
    st.session_state[KEPT] = on
    return on


def show(container, fig: go.Figure, key: str, hover: bool, config: dict | None = None) -> None:
    """A figure of maps ``fig`` (a mosaic, ``advx.figures.maps.mosaic``, or one image) in ``container``: the chart
    (with plotly's ``config``) if ``hover``, else its picture (``advx.figures.maps.picture``)."""
    if hover:
        container.plotly_chart(fig, key=key, config=config)
    else:
        container.html(M.picture(fig))
