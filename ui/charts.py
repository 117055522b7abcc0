"""How a page places its tables on a narrow screen: the key column first and pinned, so that it stays in view while
the other columns scroll sideways (a phone shows one or two columns of a wide table)."""

from __future__ import annotations

import streamlit as st


def pinned(key: str, column_config: dict | None = None) -> dict:
    """``column_config`` for ``st.dataframe`` with ``key`` (the column that names each row) pinned at the left."""
    return {**(column_config or {}), key: st.column_config.Column(pinned=True)}
