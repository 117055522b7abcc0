"""Plotly figure builders, one module per stage. They take numpy arrays and return ``go.Figure``."""
