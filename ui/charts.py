"""How a page places its tables: drawn as one block of HTML (rows of text, its key column first and pinned, so that it
stays in view while the other columns scroll sideways on a phone), or, with "Interactive charts" on, as Streamlit's
sortable data grid. The HTML table has no canvas to draw nor hidden copy of its cells to update after each change.

``pinned`` marks a table's key column, as ``st.column_config`` does for the data grid.
"""

from __future__ import annotations

import html as _html
import math

import pandas as pd
import streamlit as st

from ui import maps


def pinned(key: str, column_config: dict | None = None) -> dict:
    """``column_config`` for ``st.dataframe`` with ``key`` (the column that names each row) pinned at the left."""
    return {**(column_config or {}), key: st.column_config.Column(pinned=True)}


def cell(value, config: dict | str | None) -> str:
    """One value as the data grid shows it for its column's ``config``: a number column's ``format`` (``percent``,
    or printf-style such as ``%.2f``, ``×%g``, ``%.1f%%``), else integers as they are and other numbers to 4
    significant digits; a missing value as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    fmt = ((config or {}).get("type_config") or {}).get("format") if isinstance(config, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if fmt == "percent":
            return f"{100 * value:.2f}%"
        if fmt:
            try:
                return fmt % value
            except (TypeError, ValueError):
                pass
        if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def html_table(frame: pd.DataFrame, column_config: dict | None = None, *, hide_index: bool = True) -> str:
    """``frame`` as an HTML table: its pinned column (else its first) first and sticky, headers renamed and helped as
    ``column_config`` says, each value formatted by ``cell``."""
    config = dict(column_config or {})
    if not hide_index:
        frame = frame.reset_index()
    columns = list(frame.columns)
    first = next((c for c in columns if isinstance(config.get(c), dict) and config[c].get("pinned")), None)
    if first is not None:
        columns = [first] + [c for c in columns if c != first]
    sticky = "position:sticky;left:0;background:#fff;z-index:1;"
    head = []
    for i, name in enumerate(columns):
        c = config.get(name)
        label = c if isinstance(c, str) else ((c or {}).get("label") or name)
        tip = (c or {}).get("help") if isinstance(c, dict) else None
        head.append(f"<th{f' title={chr(39)}{_html.escape(str(tip), quote=True)}{chr(39)}' if tip else ''} "
                    f"style='text-align:left;padding:4px 8px;border-bottom:1px solid #ccc;white-space:nowrap;"
                    f"{sticky if i == 0 else ''}'>{_html.escape(str(label))}</th>")
    rows = []
    values = frame[columns].astype(object).to_numpy().tolist() if len(frame) else []
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in columns]
    for r, row in enumerate(values):
        cells = []
        for i, (name, value) in enumerate(zip(columns, row)):
            align = "right" if numeric[i] else "left"
            cells.append(f"<td style='padding:3px 8px;text-align:{align};white-space:nowrap;"
                         f"border-bottom:1px solid #eee;{sticky if i == 0 else ''}'>"
                         f"{_html.escape(cell(value, config.get(name)))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f"<div class='advx-table' style='overflow-x:auto;max-width:100%;margin-bottom:8px'>"
            f"<table style='border-collapse:collapse;font-size:14px;min-width:50%'>"
            f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def table(container, frame: pd.DataFrame, key: str, column_config: dict | None = None, *, hide_index: bool = True,
          **grid) -> None:
    """A table in ``container``: the data grid (``st.dataframe`` with ``key``, ``column_config`` and ``grid``'s other
    settings) if the visit draws interactive charts, else ``html_table``."""
    if maps.interactive():
        container.dataframe(frame, hide_index=hide_index, key=key, column_config=column_config, **grid)
    else:
        if grid.get("column_order"):
            frame = frame[[c for c in grid["column_order"] if c in frame.columns]]
        container.html(html_table(frame, column_config, hide_index=hide_index))
