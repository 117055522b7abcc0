"""How a page places its tables: drawn as one block of HTML (rows of text, its key column first and pinned, so that it
stays in view while the other columns scroll sideways on a phone), or, with "Interactive charts" on, as Streamlit's
sortable data grid. The HTML table has no canvas to draw nor hidden copy of its cells to update after each change.

``pinned`` marks a table's key column, as ``st.column_config`` does for the data grid.

A table is given as rows (a list of dicts, one per row, its columns in the order of their first appearance) or as a
DataFrame. Rows keep pandas out of a page's first visit: importing it takes about half a second, which a page whose
tables are drawn as HTML does not need to wait for (the data grid, with "Interactive charts" on, imports it).
"""

from __future__ import annotations

import html as _html
import math
from numbers import Number

import numpy as np
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


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def rows_of(data, *, hide_index: bool = True, digits: int | None = None) -> list[dict]:
    """``data`` (rows, or a DataFrame: its index a first column unless ``hide_index``) as a list of dicts of plain
    Python values; with ``digits``, every float rounded to that many decimals (as ``DataFrame.round``)."""
    if hasattr(data, "to_dict"):
        data = (data if hide_index else data.reset_index()).to_dict("records")
    rows = [{name: _plain(value) for name, value in row.items()} for row in data]
    if digits is not None:
        rows = [{name: round(v, digits) if isinstance(v, float) and math.isfinite(v) else v
                 for name, v in row.items()} for row in rows]
    return rows


def _numeric(rows: list[dict], name: str) -> bool:
    present = [row.get(name) for row in rows if row.get(name) is not None]
    return bool(present) and all(isinstance(v, Number) and not isinstance(v, bool) for v in present)


def html_table(data, column_config: dict | None = None, *, hide_index: bool = True, wrap: bool = False) -> str:
    """``data`` (rows or a DataFrame, see ``rows_of``) as an HTML table: its pinned column (else its first) first and
    sticky, headers renamed and helped as ``column_config`` says, each value formatted by ``cell``, numbers to the
    right. With ``wrap``, a cell's text wraps (a table of sentences) and the key column is not held in place."""
    config = dict(column_config or {})
    rows = rows_of(data, hide_index=hide_index)
    columns = list(dict.fromkeys(name for row in rows for name in row))
    if not rows and hasattr(data, "columns"):
        columns = list(data.columns)
    first = next((c for c in columns if isinstance(config.get(c), dict) and config[c].get("pinned")), None)
    if first is not None:
        columns = [first] + [c for c in columns if c != first]
    sticky = "" if wrap else "position:sticky;left:0;background:#fff;z-index:1;"
    space = "white-space:normal;min-width:7em;vertical-align:top;" if wrap else "white-space:nowrap;"
    head = []
    for i, name in enumerate(columns):
        c = config.get(name)
        label = c if isinstance(c, str) else ((c or {}).get("label") or name)
        tip = (c or {}).get("help") if isinstance(c, dict) else None
        head.append(f"<th{f' title={chr(39)}{_html.escape(str(tip), quote=True)}{chr(39)}' if tip else ''} "
                    f"style='text-align:left;padding:4px 8px;border-bottom:1px solid #ccc;{space}"
                    f"{sticky if i == 0 else ''}'>{_html.escape(str(label))}</th>")
    numeric = [_numeric(rows, c) for c in columns]
    body = []
    for row in rows:
        cells = []
        for i, name in enumerate(columns):
            align = "right" if numeric[i] else "left"
            cells.append(f"<td style='padding:3px 8px;text-align:{align};{space}"
                         f"border-bottom:1px solid #eee;{sticky if i == 0 else ''}'>"
                         f"{_html.escape(cell(row.get(name), config.get(name)))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f"<div class='advx-table' style='overflow-x:auto;max-width:100%;margin-bottom:8px'>"
            f"<table style='border-collapse:collapse;font-size:14px;min-width:50%'>"
            f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def table(container, data, key: str, column_config: dict | None = None, *, digits: int | None = None,
          drop: tuple = (), rename: dict | None = None, **grid) -> None:
    """A table in ``container``: ``data`` (rows, or a DataFrame) without the columns in ``drop``, with those in
    ``rename`` renamed and its floats rounded to ``digits`` decimals; drawn as the data grid (``st.dataframe`` with
    ``key``, ``column_config`` and ``grid``'s other settings) if the visit draws interactive charts, else as
    ``html_table``."""
    rows = rows_of(data, digits=digits)
    if drop or rename:
        rows = [{(rename or {}).get(name, name): v for name, v in row.items() if name not in drop} for row in rows]
    if grid.get("column_order"):
        rows = [{c: row.get(c) for c in grid["column_order"] if any(c in r for r in rows)} for row in rows]
    if maps.interactive():
        container.dataframe(rows, hide_index=True, key=key, column_config=column_config, **grid)
    else:
        container.html(html_table(rows, column_config))


def text_table(container, rows: list[dict], key_column: str) -> None:
    """A table of sentences in ``container``, ``key_column`` first: drawn as HTML whose cells wrap, whatever the
    visit's choice of charts (a data grid would cut the sentences short)."""
    container.html(html_table(rows, pinned(key_column), wrap=True))
