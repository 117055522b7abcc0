"""Charts drawn without plotly.js: a figure of lines, markers, bars or small heatmaps as one block of HTML.

``chart(fig)`` reads the figure's own spec (its traces, axes, subplots' domains, shapes, annotations, legend and
colour axis) and draws the same picture for a browser to show at once: no chart code to download, parse or run.

- **Text is HTML**, in the page's font at 11 px or more: titles, axis titles, tick labels, annotations and the legend
  wrap on a narrow screen instead of colliding. A figure's subplots are panels side by side that stack when the
  screen is too narrow for them.
- **The plot area** is a box whose width follows the page. Its lines, fills, grid, axes and shapes are SVG images
  (``data:`` URLs, so that the block passes ``st.html``'s sanitiser, which strips inline SVG); lines keep their
  thickness as the box stretches (``vector-effect: non-scaling-stroke``). Markers, bars and heatmap cells are HTML
  boxes over it.
- **Hover keeps its values**: every marker, bar and heatmap cell carries its trace's hover text (its
  ``hovertemplate`` filled in with the point's values) as the browser's tooltip. A line without markers carries it
  at up to ``HOVER_POINTS`` of its points. A heatmap of more than ``PNG_CELLS`` cells is drawn as a picture
  (``advx.figures.maps.png``) and its tooltip gives the range of its values.

What it does not draw (another trace type, a fill between traces, stacked bars) raises ``Unsupported``; the caller
shows the Plotly chart instead. The figure itself (and its HTML download) stays the interactive one.
``tooltips(html)`` and ``drawings(html)`` read a chart back, for tests.
"""

from advx.figures.svg.chart import chart, drawings, tooltips
from advx.figures.svg.style import FONT, V, Unsupported
from advx.figures.svg.text import fill_template, format_value

__all__ = ["FONT", "V", "Unsupported", "chart", "drawings", "fill_template", "format_value", "tooltips"]
