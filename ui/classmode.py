"""Class mode, for a projector: switched on from the link (``?class=1``) and kept for the visit.

Controls are folded away (every widget, the sidebar and the download panels hidden, so each page shows what its
link set), columns stack so that each figure takes the screen's width (a map at least 180 px wide), and the text
is larger. ``?class=0`` switches it off.
"""

from __future__ import annotations

import streamlit as st

from ui import links

_KEY = "advx_class_mode"
WIDGETS = ("stSlider", "stSelectSlider", "stSelectbox", "stMultiSelect", "stRadio", "stNumberInput", "stTextInput",
           "stCheckbox", "stToggle", "stButton", "stFormSubmitButton", "stDownloadButton", "stForm", "stExpander",
           "stColorPicker", "stSegmentedControl", "stPills")
_CSS = """
<style>
section[data-testid="stSidebar"], div[data-testid="stSidebarCollapsedControl"],
button[data-testid="stExpandSidebarButton"], div[data-testid="stToolbar"] {display: none !important;}
%(widgets)s {display: none !important;}
div[data-testid="stHorizontalBlock"] {flex-direction: column !important;}
div[data-testid="stHorizontalBlock"] > div[data-testid="stColumn"] {width: 100%% !important; flex: 1 1 100%% !important;}
div[data-testid="stMainBlockContainer"] {max-width: 1100px; font-size: 1.2rem;}
div[data-testid="stMarkdownContainer"] p, div[data-testid="stMarkdownContainer"] li {font-size: 1.2rem;}
</style>
"""


def active() -> bool:
    """Whether class mode is on for this visit: set by ``?class=`` and kept in the session when the link is gone."""
    if "class" in st.query_params:
        st.session_state[_KEY] = links.url_bool("class", False)
    return bool(st.session_state.get(_KEY, False))


def apply() -> None:
    """Fold the controls away when class mode is on (called once per script run, before the page)."""
    if active():
        widgets = ", ".join(f'div[data-testid="{name}"]' for name in WIDGETS)
        st.html(_CSS % {"widgets": widgets})
        links.sync(**{"class": 1})


CLASS_MAP_PX = 200  # a map on a projector: large enough to read from the back of a room


def map_px(px: int) -> int:
    """The size in pixels a page asks for a map: ``px``, or at least ``CLASS_MAP_PX`` in class mode."""
    return max(px, CLASS_MAP_PX) if active() else px


def offer_link() -> None:
    """Home's line about class mode."""
    st.caption("Showing this to a class? Add `?class=1` to any page's link: the controls fold away, figures take "
               "the whole width and each page shows what its link set. `?class=0` brings the controls back.")
