"""One figure engine for grids of 28 × 28 maps: a mosaic drawn as a single heatmap trace.

The maps are laid out on one canvas of cells, tiles separated by NaN gaps (plotly leaves them blank), on one colour
axis for the whole grid. Each tile's title (and its note) is an annotation in the canvas's own coordinates, so it
stays above its tile at any width; the hover of every pixel names its map, its row and column inside the map, and its
value. One trace draws in a fraction of the time of one heatmap (and one pair of axes) per map.

The gaps are sized for a phone: a tile's title is wrapped to the width a tile has on a 390-px screen, and the band
above each row of tiles leaves room for those lines at that width (on a wide screen the band is roomier).

``picture(fig)`` draws the same mosaic without plotly.js: one HTML block of PNG tiles on the same colours, its titles
as text (which a narrow screen wraps), a colour bar under it. A browser draws it in a fraction of a chart's time, but
a pixel's value is not shown on hover; the figure itself (or its HTML download) has that.

``tiles(fig)`` gives back each map as drawn, for tests; ``picture_tiles(html)`` each tile's colours.
"""

from __future__ import annotations

import base64
import html as _html
import math
import re
import struct
import zlib
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from advx.figures.base import SIDE, fit, map_colours, margin, spec_of

TITLE_FONT = 12  # a tile's title
NOTE_FONT = 11  # the measures under it
DEAD_FONT = 12
H_GAP = 2  # cells between two tiles of a row
# The width in pixels the tiles of a figure get on a 390-px phone: the page's padding, the figure's margins and its
# colour bar taken off.
PHONE_PLOT_PX = 240
_LINE_EM = 1.35  # the height of a line of an annotation, in ems


def _wrap(text: str, width_px: float, font: int) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width_px`` (estimated), a word never split."""
    return fit(text, width_px, font).split("<br>")


def _label(title: str, note: str | None, width_px: float) -> tuple[str, float]:
    """A tile's annotation text (title lines, then note lines in the note's size) and its height in pixels."""
    title_lines = _wrap(title, width_px, TITLE_FONT)
    note_lines = _wrap(note, width_px, NOTE_FONT) if note else []
    text = "<br>".join(title_lines + [f"<span style='font-size:{NOTE_FONT}px'>{line}</span>" for line in note_lines])
    height = _LINE_EM * (TITLE_FONT * len(title_lines) + NOTE_FONT * len(note_lines)) + 4
    return text, height


def mosaic(maps: np.ndarray, titles: Sequence[str], *, signed: bool = True, ncols: int = 3,
           notes: Sequence[str] | None = None, dead: Sequence[bool] | None = None, colorbar_title: str = "",
           tile_px: float = 190, title: str | None = None, hover_names: Sequence[str] | None = None,
           showscale: bool = True, decimals: int | None = None) -> go.Figure:
    """A grid of 28 × 28 maps as one heatmap trace on one colour axis.

    ``maps``: ``(784, m)``, one map per column. ``titles``: ``m`` names, one above each tile. ``signed``: ``RdBu_r``
    centred at 0, symmetric about the largest magnitude of the maps that are not dead; otherwise the grey pixel
    scale over [0, 1]. ``notes``: a line under each title (measures). ``dead``: maps drawn blank (zeros) with a
    "dead: never fires" mark; their title says "(dead)". ``tile_px``: a tile's side on a wide screen.
    ``hover_names``: what the hover calls each map (default: its title). ``decimals``: values rounded for drawing.
    """
    maps = np.asarray(maps, np.float64)
    m = maps.shape[1] if maps.ndim == 2 else 0
    if len(titles) != m:
        raise ValueError(f"{m} maps but {len(titles)} titles")
    if m == 0:
        raise ValueError("a mosaic needs at least one map")
    dead = np.zeros(m, bool) if dead is None else np.asarray(dead, bool)
    names = [str(t) for t in (titles if hover_names is None else hover_names)]
    ncols = max(1, min(ncols, m))
    nrows = -(-m // ncols)
    cells_wide = ncols * SIDE + (ncols - 1) * H_GAP  # the canvas's width in pixels of a map
    phone_cell = PHONE_PLOT_PX / cells_wide
    slot_px = phone_cell * (SIDE + H_GAP) - 4
    labels = [_label(f"{titles[i]} (dead)" if dead[i] else str(titles[i]),
                      None if notes is None else (notes[i] or None), slot_px) for i in range(m)]
    band = math.ceil(max(height for _, height in labels) / min(phone_cell, tile_px / SIDE))
    row_cells = band + SIDE
    # One heatmap cell per pixel, and one wide cell for each gap (the heatmap's x and y are the cells' edges): the
    # band above a row of tiles, for their titles, is a single row of cells, and so is each gap between two tiles.
    x_edges = [j * (SIDE + H_GAP) + c for j in range(ncols) for c in range(SIDE + 1)]
    y_edges = [0] + [k * row_cells + band + r for k in range(nrows) for r in range(SIDE + 1)]
    z = np.full((nrows * (SIDE + 1), ncols * (SIDE + 1) - 1), np.nan)
    # Each cell's (row, column) inside its map and the map's name, for the hover. A NumPy array reaches the browser
    # as a typed array (plotly.js reads a 3-D one as rows of cells of pairs), much smaller than nested lists.
    customdata = np.zeros(z.shape + (2,), np.uint8)
    text = np.full(z.shape, "", object)
    local = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij"), axis=-1)  # (28, 28, 2)
    annotations, placed = [], []
    for i in range(m):
        row, col = divmod(i, ncols)
        image = np.zeros((SIDE, SIDE)) if dead[i] else maps[:, i].reshape(SIDE, SIDE)
        top, left = row * (SIDE + 1) + 1, col * (SIDE + 1)
        z[top:top + SIDE, left:left + SIDE] = image if decimals is None else np.round(image, decimals)
        customdata[top:top + SIDE, left:left + SIDE] = local
        text[top:top + SIDE, left:left + SIDE] = names[i]
        placed.append([names[i], top, left])
        x0, y0 = col * (SIDE + H_GAP), row * row_cells + band
        annotations.append(dict(text=labels[i][0], x=x0 + SIDE / 2, y=y0, xref="x", yref="y", xanchor="center",
                                yanchor="bottom", yshift=1, showarrow=False, font=dict(size=TITLE_FONT)))
        if dead[i]:
            annotations.append(dict(text="dead:<br>never fires", x=x0 + SIDE / 2, y=y0 + SIDE / 2, xref="x",
                                    yref="y", showarrow=False, font=dict(size=DEAD_FONT, color="#7f8c8d")))
    alive = maps[:, ~dead]
    bound = float(np.nanmax(np.abs(alive))) if signed and alive.size else 1.0
    coloraxis = map_colours(signed, bound if bound > 0 else 1.0)
    coloraxis["showscale"] = showscale
    coloraxis["colorbar"] = dict(title=dict(text=colorbar_title), thickness=12, len=min(1.0, 0.3 + 0.25 * nrows),
                                 y=1, yanchor="top")
    top_margin = 10 + (34 if title else 0)
    height = round(y_edges[-1] * tile_px / SIDE) + top_margin + 10
    trace = dict(type="heatmap", z=z, x=x_edges, y=y_edges, coloraxis="coloraxis", customdata=customdata,
                 text=text.tolist(),
                 hoverongaps=False, name=title or "maps",
                 meta=dict(tiles=placed, ncols=ncols, tile_px=tile_px, dead=dead.tolist(), colorbar_title=colorbar_title,
                           titles=[str(t) for t in titles], notes=None if notes is None else [n or "" for n in notes]),
                 hovertemplate="%{text}<br>row %{customdata[0]}, col %{customdata[1]}: %{z:.3g}<extra></extra>")
    layout = dict(coloraxis=coloraxis, height=height, margin=margin(t=top_margin), showlegend=False,
                  title=dict(text=title) if title else None, annotations=annotations,
                  xaxis=dict(visible=False, range=[0, x_edges[-1]], constrain="domain", fixedrange=True),
                  yaxis=dict(visible=False, range=[y_edges[-1], 0], scaleanchor="x", constrain="domain",
                             constraintoward="top", fixedrange=True))
    return go.Figure({"data": [trace], "layout": layout}, _validate=False)


def as_array(value) -> np.ndarray:
    """A heatmap's ``z`` as an array, from a figure or from its JSON (a plain list or plotly's base64 typed array)."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.array([[np.nan if v is None else v for v in row] for row in value], np.float64) \
        if isinstance(value, (list, tuple)) else np.asarray(value, np.float64)


def tiles(fig) -> list[tuple[str, np.ndarray]]:
    """``[(map name, (28, 28) values as drawn)]`` of a mosaic in the maps' order, from a ``go.Figure`` or its JSON
    spec (a dict)."""
    spec = spec_of(fig)
    trace = spec["data"][0]
    z = as_array(trace["z"])
    return [(name, z[top:top + SIDE, left:left + SIDE]) for name, top, left in trace["meta"]["tiles"]]


def canvas(fig) -> np.ndarray:
    """The whole canvas of a mosaic (NaN in the gaps), from a ``go.Figure`` or its JSON spec."""
    spec = spec_of(fig)
    return as_array(spec["data"][0]["z"])


def colours(values: np.ndarray, colorscale: Sequence, cmin: float, cmax: float) -> np.ndarray:
    """``values`` as ``uint8`` RGB (a trailing axis of 3) on a plotly colour scale over ``[cmin, cmax]``: linear in
    RGB between the scale's stops, values outside the range clamped, as plotly.js colours a heatmap's cells."""
    stops = np.array([float(f) for f, _ in colorscale])
    rgb = np.array([[float(c) for c in re.findall(r"[\d.]+", str(col))[:3]] if str(col).startswith("rgb")
                    else [int(str(col)[i:i + 2], 16) for i in (1, 3, 5)] for _, col in colorscale], np.float64)
    span = cmax - cmin if cmax > cmin else 1.0
    t = np.clip((np.asarray(values, np.float64) - cmin) / span, 0.0, 1.0)
    channels = [np.interp(t, stops, rgb[:, c]) for c in range(3)]
    return np.clip(np.round(np.stack(channels, axis=-1)), 0, 255).astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    """An ``(h, w, 3)`` ``uint8`` array as PNG bytes (8-bit RGB, no filter)."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def _number(value: float) -> str:
    return f"{value:.3g}"


def colour_bar(colorscale: Sequence, low: str, high: str, title: str = "", *, kind: str | None = None,
               font: int = 12, pad: str = "0") -> str:
    """A horizontal colour bar as HTML: the scale's gradient between its two end values, then its title.
    ``kind`` marks it for the layout check (``data-kind``); ``pad`` is its CSS padding."""
    gradient = ", ".join(f"{col} {100 * float(f):.1f}%" for f, col in colorscale)
    marked = f" data-kind='{kind}'" if kind else ""
    return (f"<div{marked} style='display:flex;align-items:center;gap:6px;font-size:{font}px;margin-top:6px;"
            f"padding:{pad}'><span>{_html.escape(low)}</span><div style='flex:1;max-width:240px;height:10px;"
            f"border:1px solid #ddd;background:linear-gradient(to right, {gradient})'></div>"
            f"<span>{_html.escape(high)}</span><span style='opacity:0.75'>{_html.escape(title)}</span></div>")


def _plain(text) -> str:
    """A plotly title as plain text: its line breaks made spaces, its markup dropped."""
    return " ".join(re.sub(r"<[^>]+>", " ", str(text or "").replace("<br>", " ")).split())


def _panel(spec: dict) -> dict:
    """What a picture draws of a plain heatmap figure (one image, such as ``advx.figures.attacks.image_panel``):
    one tile under the figure's title, its colours, and its rectangles (the shapes the figure outlines)."""
    trace, layout = spec["data"][0], spec["layout"]
    z = as_array(trace["z"])
    if trace.get("coloraxis"):
        axis = dict(layout["coloraxis"])
    else:
        axis = dict(colorscale=trace["colorscale"], cmin=trace["zmin"], cmax=trace["zmax"],
                    showscale=trace.get("showscale", True))
    title = _plain((layout.get("title") or {}).get("text"))
    boxes = [(float(sh["y0"]) + 0.5, float(sh["x0"]) + 0.5, float(sh["y1"]) + 0.5, float(sh["x1"]) + 0.5)
             for sh in layout.get("shapes") or [] if sh.get("type") == "rect"]
    return dict(tiles=[(trace.get("name") or title, z, "", "", False, boxes)], axis=axis, ncols=1, tile_px=260,
                heading=title, colorbar_title=_plain(((axis.get("colorbar") or {}).get("title") or {}).get("text")))


def _grid(spec: dict) -> dict:
    """What a picture draws of a mosaic: its tiles with their titles and notes, its colours, its title."""
    trace, layout = spec["data"][0], spec["layout"]
    meta = trace["meta"]
    notes = meta.get("notes") or [""] * len(meta["tiles"])
    tiles_ = [(name, values, title, note, dead, []) for (name, values), title, note, dead
              in zip(tiles(spec), meta["titles"], notes, meta["dead"])]
    return dict(tiles=tiles_, axis=layout["coloraxis"], ncols=int(meta["ncols"]), tile_px=float(meta["tile_px"]),
                heading=_plain((layout.get("title") or {}).get("text")), colorbar_title=meta.get("colorbar_title"))


def picture(fig) -> str:
    """A figure of maps as one block of HTML, drawn without plotly.js: a tile per map, a PNG of its pixels on the
    figure's colours, under its title and note; the figure's title above and its colour bar under the tiles.
    Hovering a tile names the map and the range of its values.

    ``fig``: a mosaic (``mosaic``) or a figure of one image (a single heatmap, such as
    ``advx.figures.attacks.image_panel``), as a ``go.Figure`` or its JSON spec.
    """
    spec = spec_of(fig)
    drawn = _grid(spec) if "tiles" in (spec["data"][0].get("meta") or {}) else _panel(spec)
    axis = drawn["axis"]
    scale, cmin, cmax = axis["colorscale"], float(axis["cmin"]), float(axis["cmax"])
    cells = []
    for name, values, title, note, dead, boxes in drawn["tiles"]:
        data = base64.b64encode(png(colours(np.nan_to_num(values), scale, cmin, cmax))).decode()
        h, w = np.shape(values)
        shown = f"{title} (dead)" if dead else title
        hover = f"{name}: never fires" if dead else f"{name}: {_number(np.nanmin(values))} to {_number(np.nanmax(values))}"
        marks = ("<div style='position:absolute;inset:0;display:flex;align-items:center;justify-content:center;"
                 "text-align:center;font-size:12px;color:#7f8c8d'>dead:<br>never fires</div>") if dead else ""
        for top, left, bottom, right in boxes:  # in pixels of the image, edges included
            marks += (f"<div style='position:absolute;top:{100 * top / h:.2f}%;left:{100 * left / w:.2f}%;"
                      f"height:{100 * (bottom - top) / h:.2f}%;width:{100 * (right - left) / w:.2f}%;"
                      f"border:1px dotted #c0392b'></div>")
        caption = _html.escape(shown) + (f"<br><span style='font-size:11px;opacity:0.75'>{_html.escape(note)}</span>"
                                         if note else "")
        caption = (f"<figcaption style='font-size:12px;line-height:1.3;text-align:center;overflow-wrap:anywhere;"
                   f"margin-bottom:2px'>{caption}</figcaption>") if shown else ""
        cells.append(
            f"<figure style='margin:0;min-width:0;display:flex;flex-direction:column;justify-content:flex-end' "
            f"title='{_html.escape(hover, quote=True)}'>{caption}<div style='position:relative'>"
            f"<img alt='{_html.escape(name, quote=True)}' src='data:image/png;base64,{data}' style='display:block;"
            f"width:100%;height:auto;image-rendering:pixelated;border:1px solid #ddd'>{marks}</div></figure>")
    heading = (f"<div style='font-size:14px;font-weight:600;margin-bottom:6px;overflow-wrap:anywhere'>"
               f"{_html.escape(drawn['heading'])}</div>") if drawn["heading"] else ""
    bar = "" if axis.get("showscale") is False else colour_bar(scale, _number(cmin), _number(cmax),
                                                               str(drawn["colorbar_title"] or ""))
    ncols = drawn["ncols"]
    width = round(ncols * drawn["tile_px"] + (ncols - 1) * 8)
    return (f"<div class='advx-maps' style='max-width:{width}px'>{heading}"
            f"<div style='display:grid;grid-template-columns:repeat({ncols},minmax(0,1fr));gap:8px'>"
            f"{''.join(cells)}</div>{bar}</div>")


_TILE = re.compile(r"<img alt='([^']*)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'")  # noqa: E501


def picture_tiles(html: str) -> list[tuple[str, bytes]]:
    """``[(map name, PNG bytes)]`` of each tile of a ``picture``, in order."""
    return [(_html.unescape(name), base64.b64decode(data)) for name, data in _TILE.findall(html)]
