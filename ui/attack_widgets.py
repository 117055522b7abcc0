"""The ε slider of "Adversarial overlay" and "Draw a digit": one per norm, on that norm's grid, in the link."""

from __future__ import annotations

import streamlit as st

from advx import attacks as A
from advx import vocabulary as V
from ui import links


def seed_eps(prefix: str, norm: str, default: float) -> str:
    """Give the ε slider of ``norm`` its first value (the link's ε when the link is of this norm, snapped to the
    grid with a note, else ``default``) and return its widget key."""
    grid = A.EPS_GRID[norm]
    name, wanted = links.url_eps(norm, A.NORMS, default, grid[0], grid[-1])
    snapped = A.snap_eps(wanted, norm)
    if snapped != wanted:
        links.note(f"`{name}={wanted:g}` is not on the {V.NORM_LABELS[norm]} slider; using {snapped:g}.")
    key = f"{prefix}_eps_{norm}"
    links.seed(key, snapped)
    return key


def eps_slider(prefix: str, norm: str, label: str) -> float:
    """The slider (seeded by ``seed_eps``); its value goes into the link as ``eps``."""
    eps = st.select_slider(label, A.EPS_GRID[norm], key=f"{prefix}_eps_{norm}")
    links.sync(eps=eps, strength=None)
    return eps
