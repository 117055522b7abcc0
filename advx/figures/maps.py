"""One figure engine for grids of 28 × 28 maps: a mosaic drawn as a single heatmap trace.

The maps are laid out on one canvas of cells, tiles separated by NaN gaps (plotly leaves them blank), on one colour
axis for the whole grid. Each tile's title (and its note) is an annotation in the canvas's own coordinates, so it
stays above its tile at any width; the hover of every pixel names its map, its row and column inside the map, and its
value. One trace draws in a fraction of the time of one heatmap (and one pair of axes) per map.

The gaps are sized for a phone: a tile's title is wrapped to the width a tile has on a 390-px screen, and the band
above each row of tiles leaves room for those lines at that width (on a wide screen the band is roomier).

``tiles(fig)`` gives back each map as drawn, for tests.
"""

from __future__ import annotations

import base64
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from advx.figures.base import SIDE, fit, map_colours, margin

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
                 hoverongaps=False, name=title or "maps", meta=dict(tiles=placed),
                 hovertemplate="%{text}<br>row %{customdata[0]}, col %{customdata[1]}: %{z:.3g}<extra></extra>")
    layout = dict(coloraxis=coloraxis, height=height, margin=margin(t=top_margin), showlegend=False,
                  title=dict(text=title) if title else None, annotations=annotations,
                  xaxis=dict(visible=False, range=[0, x_edges[-1]], constrain="domain", fixedrange=True),
                  yaxis=dict(visible=False, range=[y_edges[-1], 0], scaleanchor="x", constrain="domain",
                             constraintoward="top", fixedrange=True))
    return go.Figure({"data": [trace], "layout": layout}, _validate=False)


def _array(value) -> np.ndarray:
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
    spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
    trace = spec["data"][0]
    z = _array(trace["z"])
    return [(name, z[top:top + SIDE, left:left + SIDE]) for name, top, left in trace["meta"]["tiles"]]


def canvas(fig) -> np.ndarray:
    """The whole canvas of a mosaic (NaN in the gaps), from a ``go.Figure`` or its JSON spec."""
    spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
    return _array(spec["data"][0]["z"])
