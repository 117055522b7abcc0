"""The drawing's coordinates, sizes and colours, and the error for a figure it does not draw."""

from __future__ import annotations

from advx.figures.base import TITLE_SIZE


V = 1000.0  # the plot area's SVG coordinates run over [0, V] on both axes
FONT = 12  # tick labels, legend
SMALL = 11  # the smallest text drawn (heatmap cells, notes)
TITLE_FONT = 15  # the figure's title
PANEL_FONT = TITLE_SIZE  # a subplot's title, as on the Plotly figures
HOVER_POINTS = 60  # the most points of a line without markers that carry a tooltip
PNG_CELLS = 600  # a heatmap with more cells is drawn as a picture
MIN_PLOT_PX = 150  # the least height of a plot area
PANEL_MIN_PX = 260  # the width under which panels side by side stack
LABEL_PX = 120  # the widest a y axis's tick labels may be (a longer category name wraps)
# Streamlit's own colours for traces that do not set theirs (its theme gives them to Plotly charts too)
COLOURS = ("#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a", "#6d3fc0", "#d5dae5")
GRID = "#e8e8e8"
AXIS = "#b0b0b0"
TEXT = "#31333f"
DASHES = {"dash": "6 4", "dot": "2 3", "dashdot": "6 3 2 3", "longdash": "10 4", "longdashdot": "10 3 2 3"}


class Unsupported(ValueError):
    """A figure this engine does not draw; show the Plotly chart instead."""
