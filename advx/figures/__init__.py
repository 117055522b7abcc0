"""Plotly figure builders, one module per page (``attacks``, ``neurons``, ``subspace``, ``population``, ``robust``,
``drawing``, ``train``). They take NumPy arrays and return ``go.Figure``, on the shared layout of ``base`` (fonts,
margins, colour scales) with the labels of ``advx.vocabulary``."""
