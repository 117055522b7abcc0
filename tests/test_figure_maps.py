"""The mosaic of maps (``advx.figures.maps``): one heatmap trace per grid whose tiles are the maps exactly, NaN in the
gaps, one colour axis, and a hover that names each pixel's map, row, column and value."""

from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from advx.figures import explanations as X
from advx.figures import maps as M
from advx.figures import neurons as N
from advx.figures import robust as R
from advx.figures import subspace as S

NAMES = ["Layer_2 #5", "Layer_2 #9", "output #0", "output #3", "Layer_1 #1"]


def _maps(m: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((784, m))


def _hover(fig: go.Figure, row: int, col: int) -> str:
    """What the hover of canvas cell ``(row, col)`` says, filled in as plotly.js fills the template."""
    trace = fig.data[0]
    r, c = (int(v) for v in np.asarray(trace.customdata)[row, col])
    value = np.asarray(trace.z)[row, col]
    return (trace.hovertemplate.replace("%{text}", trace.text[row][col]).replace("%{customdata[0]}", str(r))
            .replace("%{customdata[1]}", str(c)).replace("%{z:.3g}", f"{value:.3g}").replace("<extra></extra>", ""))


def test_the_tiles_are_the_maps_exactly_and_the_gaps_are_nan():
    maps = _maps()
    fig = M.mosaic(maps, NAMES, ncols=2, notes=[f"HF {i}" for i in range(5)])
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    tiles = M.tiles(fig)
    assert [name for name, _ in tiles] == NAMES
    for i, (_, tile) in enumerate(tiles):
        np.testing.assert_array_equal(tile, maps[:, i].reshape(28, 28))
    canvas = M.canvas(fig)
    drawn = np.zeros(canvas.shape, bool)
    for name, top, left in fig.data[0].meta["tiles"]:
        drawn[top:top + 28, left:left + 28] = True
    assert drawn.sum() == 5 * 784 and np.isnan(canvas[~drawn]).all() and np.isfinite(canvas[drawn]).all()
    # the figure's JSON (what the browser gets) gives the same tiles
    spec = json.loads(pio.to_json(fig, validate=False))
    for (_, a), (_, b) in zip(M.tiles(spec), tiles):
        np.testing.assert_array_equal(a, b)
    go.Figure(fig.to_dict())  # every property is valid plotly


def test_the_hover_names_the_map_the_pixel_and_the_value():
    maps = _maps()
    fig = M.mosaic(maps, NAMES, ncols=3)
    assert fig.data[0].hoverongaps is False
    for i, (name, top, left) in enumerate(fig.data[0].meta["tiles"]):
        for r, c in ((0, 0), (5, 17), (27, 3)):
            assert _hover(fig, top + r, left + c) == f"{NAMES[i]}<br>row {r}, col {c}: {maps[r * 28 + c, i]:.3g}"


def test_one_colour_scale_per_grid_centred_or_grey():
    maps = _maps()
    maps[:, 2] *= 7
    fig = M.mosaic(maps, NAMES, dead=[False, True, False, False, False])
    assert fig.data[0].coloraxis == "coloraxis"
    axis = fig.layout.coloraxis
    bound = np.abs(maps[:, [0, 2, 3, 4]]).max()  # a dead map does not set the scale
    assert axis.cmid == 0 and axis.cmin == pytest.approx(-bound) and axis.cmax == pytest.approx(bound)
    grey = M.mosaic(np.clip(maps, 0, 1), NAMES, signed=False)
    assert (grey.layout.coloraxis.cmin, grey.layout.coloraxis.cmax) == (0, 1)
    np.testing.assert_array_equal(M.tiles(fig)[1][1], 0.0)  # the dead map is drawn blank...
    texts = [a.text.replace("<br>", " ") for a in fig.layout.annotations]  # a long title is wrapped
    assert texts[1].startswith("Layer_2 #9 (dead)") and sum("never fires" in t for t in texts) == 1  # ...and marked


def test_titles_stay_above_their_tiles_and_text_is_at_least_11_px():
    fig = M.mosaic(_maps(), NAMES, ncols=2, notes=["HF 0.123 · rough 0.45 · r 0.67"] * 5)
    titles = [a for a in fig.layout.annotations if "never fires" not in a.text]
    assert [a.text.split("<br>")[0] for a in titles] == NAMES
    for annotation, (_, top, left) in zip(titles, fig.data[0].meta["tiles"]):
        x_edges, y_edges = fig.data[0].x, fig.data[0].y
        assert x_edges[left] < annotation.x < x_edges[left + 28] and annotation.y == y_edges[top]
    sizes = [a.font.size for a in fig.layout.annotations]
    sizes += [int(s) for a in fig.layout.annotations for s in re.findall(r"font-size:(\d+)px", a.text)]
    assert min(sizes) >= 11


def test_every_grid_of_maps_is_one_mosaic():
    maps = _maps(10)
    figures = [N.map_grid(maps[:, :3], NAMES[:3]), N.image(np.clip(maps[:, 0], 0, 1), "test image #0"),
               R.class_grid(maps, "book-smart, epoch 3", np.arange(10) / 10),
               R.image_maps({"book-smart": (maps[:, :3], np.ones(3)), "street-smart": (maps[:, 3:6], np.ones(3))}, 7),
               S.signed_parts({"a": maps[:, 0], "b": maps[:, 1]}),
               X.gallery({"clean": np.clip(maps[:, :4].T, 0, 1), "kept": np.clip(maps[:, 4:8].T, 0, 1)},
                         {"clean": ["a 1"] * 4, "kept": ["ε 1.00 → 2"] * 4}, title="t")]
    for fig in figures:
        assert len(fig.data) == 1 and fig.data[0].type == "heatmap", fig.layout.title
        go.Figure(fig.to_dict())
    np.testing.assert_array_equal(M.tiles(figures[2])[7][1], maps[:, 7].reshape(28, 28))
    gallery = M.tiles(figures[5])
    assert gallery[4][0] == "kept<br>ε 1.00 → 2"
    np.testing.assert_array_equal(gallery[4][1], np.round(np.clip(maps[:, 4], 0, 1), 3).reshape(28, 28))
    assert figures[5].layout.coloraxis.showscale is False


def test_a_mosaic_refuses_mismatched_titles():
    with pytest.raises(ValueError, match="5 maps but 2 titles"):
        M.mosaic(_maps(), NAMES[:2])


def _rgb(png: bytes) -> np.ndarray:
    """A PNG's pixels, read by Pillow (not by the code that wrote them)."""
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), np.float64)


def _plotly_rgb(values: np.ndarray, colorscale, cmin: float, cmax: float) -> np.ndarray:
    """The colours plotly's own colour sampling gives ``values`` on ``colorscale`` over ``[cmin, cmax]``."""
    import plotly.colors

    fractions = np.clip((np.ravel(values) - cmin) / (cmax - cmin), 0, 1)
    rgb = [[float(v) for v in c[c.index("(") + 1:-1].split(",")]
           for c in plotly.colors.sample_colorscale(colorscale, list(fractions))]
    return np.array(rgb).reshape(np.shape(values) + (3,))


@pytest.mark.parametrize("signed", [True, False])
def test_a_picture_draws_every_tile_on_the_figures_colours(signed):
    maps = _maps(7, seed=3) if signed else np.random.default_rng(3).uniform(0, 1, (784, 7))
    maps[:5, 0] = [-50, 50, np.nan, 0, 1e-9] if signed else [-1, 2, 0, 1, 0.5]  # clamped ends; a NaN drawn as 0
    names = [f"output #{i}" for i in range(7)]
    dead = [False, False, True, False, False, False, False]
    fig = M.mosaic(maps, names, signed=signed, ncols=3, dead=dead, notes=[f"HF {i}" for i in range(7)],
                   title="output (epoch 3)", colorbar_title="weight")
    axis = fig.layout.coloraxis
    html = M.picture(json.loads(pio.to_json(fig, validate=False)))  # from the JSON spec, as a page has it
    assert html == M.picture(fig)
    found = M.picture_tiles(html)
    assert [name for name, _ in found] == names
    for (name, png), (_, tile) in zip(found, M.tiles(fig)):
        expected = _plotly_rgb(np.nan_to_num(tile), [[float(f), c] for f, c in axis.colorscale], axis.cmin, axis.cmax)
        np.testing.assert_allclose(_rgb(png), expected, atol=1.0, err_msg=name)
    assert html.count("never fires") == 2  # the dead map: its hover and its mark
    assert "output (epoch 3)" in html and "weight" in html and "HF 6" in html
    assert f">{axis.cmin:.3g}<" in html and f">{axis.cmax:.3g}<" in html  # the colour bar's ends
    assert "grid-template-columns:repeat(3," in html


def test_a_picture_escapes_its_text():
    fig = M.mosaic(_maps(2), ["<b>x</b>", "it's"], ncols=2, title="a < b", notes=["&", ""])
    html = M.picture(fig)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "a &lt; b" in html
    assert [name for name, _ in M.picture_tiles(html)] == ["<b>x</b>", "it's"]


def test_png_round_trips_through_pillow():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 9, 3), dtype=np.uint8)
    np.testing.assert_array_equal(_rgb(M.png(rgb)), rgb)
