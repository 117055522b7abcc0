"""Tables drawn as HTML (``ui.charts.html_table``): the key column first, every value as its column's format says,
read back from the HTML and compared with the frame's own numbers formatted by Python."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts


def _cells(body: str) -> tuple[list[str], list[list[str]]]:
    head, _, rows = body.partition("</thead>")
    cell = re.compile(r"<t[hd](?:\s[^>]*)?>(.*?)</t[hd]>")
    return ([html.unescape(c) for c in cell.findall(head)],
            [[html.unescape(c) for c in cell.findall(r)] for r in rows.split("</tr>") if "<td" in r])


def test_the_key_column_comes_first_and_each_format_is_applied():
    frame = pd.DataFrame({"share": [0.12345, np.nan], "network": ["Adam, seed 0", "<SGD>"], "scale": [0.25, 2.0],
                          "ratio": [1.23456, 0.5], "count": [3, 12], "plain": [0.000123456, 7.0]})
    config = charts.pinned("network", {
        "share": st.column_config.NumberColumn(format="percent", help="of the images"),
        "scale": st.column_config.NumberColumn("init scale", format="×%g"),
        "ratio": st.column_config.NumberColumn(format="%.2f"), "count": "images"})
    body = charts.html_table(frame, config)
    columns, rows = _cells(body)
    assert columns == ["network", "share", "init scale", "ratio", "images", "plain"]
    assert rows == [["Adam, seed 0", "12.35%", "×0.25", "1.23", "3", "0.0001235"],
                    ["<SGD>", "–", "×2", "0.50", "12", "7"]]
    assert "&lt;SGD&gt;" in body and "title='of the images'" in body
    assert body.count("position:sticky") == 1 + len(frame)  # the key column's header and cells


def test_an_index_is_shown_when_asked_and_a_percent_format_keeps_its_sign():
    frame = pd.DataFrame({"Adam": [12.34, 5.0]}, index=pd.Index(["overlay", "FGSM"], name="measure"))
    columns, rows = _cells(charts.html_table(frame, {"Adam": st.column_config.NumberColumn(format="%.1f%%")},
                                             hide_index=False))
    assert columns == ["measure", "Adam"] and rows == [["overlay", "12.3%"], ["FGSM", "5.0%"]]
