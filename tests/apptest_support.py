"""Shared AppTest helpers for the page tests: open a page with link parameters, assert it ran cleanly."""

from __future__ import annotations

import io

import numpy as np
from streamlit.testing.v1 import AppTest

from advx.figures import maps as M
from ui import maps


def open_page(path: str, timeout: float, session_state: dict | None = None, *, hover: bool = False,
              **query) -> AppTest:
    """Run the page at ``path`` once, with ``query`` as its link parameters and ``session_state`` preset. Its maps
    are pictures and its charts drawings, as a visit starts, unless ``hover``: then every figure is its interactive
    Plotly chart (whose spec a test can read), as after "Interactive charts"."""
    at = AppTest.from_file(path, default_timeout=timeout)
    for key, value in {maps.KEPT: hover, **(session_state or {})}.items():
        at.session_state[key] = value
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def assert_ran(at: AppTest) -> None:
    """No exception was raised by the page."""
    assert not at.exception, [e.value for e in at.exception]


def answer_with(monkeypatch, names, job) -> None:
    """Make the pages' road answer every experiment named in ``names`` with ``job`` (e.g. one kept pending, to see
    a page before that result is there), and run the page as a server does: polling, not waiting."""
    from ui import jobs, road

    real = road.ask
    monkeypatch.setattr(road, "ask", lambda spec, lane="now": job if spec.name in names else real(spec, lane))
    jobs.set_synchronous(False)


def pictures(at: AppTest) -> list[str]:
    """The HTML of every picture of maps on the page (``advx.figures.maps.picture``), in order."""
    return [h.proto.body for h in at.get("html") if "advx-maps" in h.proto.body]


def drawn_charts(at: AppTest) -> list[str]:
    """The HTML of every chart drawn as HTML and SVG on the page (``advx.figures.svg.chart``), in order."""
    return [h.proto.body for h in at.get("html") if "advx-chart" in h.proto.body]


def tables(at: AppTest) -> list:
    """Every table drawn as HTML on the page (``ui.charts.html_table``), in order, as DataFrames of the texts shown."""
    import html as _html
    import re

    import pandas as pd

    found = []
    for body in (h.proto.body for h in at.get("html") if "advx-table" in h.proto.body):
        cell = re.compile(r"<t[hd](?:\s[^>]*)?>(.*?)</t[hd]>")
        head, _, rows = body.partition("</thead>")
        columns = [_html.unescape(c) for c in cell.findall(head)]
        found.append(pd.DataFrame([[_html.unescape(c) for c in cell.findall(row)] for row in rows.split("</tr>")
                                   if "<td" in row], columns=columns))
    return found


def picture_pixels(html: str) -> list[tuple[str, np.ndarray]]:
    """``[(map name, (h, w, 3) uint8 RGB)]`` of each tile of a picture, its PNG read by Pillow."""
    from PIL import Image

    return [(name, np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))) for name, png in M.picture_tiles(html)]
