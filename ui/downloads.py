"""Download buttons any page can add, one line each.

    from ui import downloads

    downloads.figure_download(fig, "effective_weights.html", key="ew_figure_download")
    downloads.arrays_download({"weights": w}, "effective_weights.npz", key="ew_arrays_download")
    downloads.arrays_download({"epoch": e, "loss": l}, "loss.csv", key="loss_csv_download")
    downloads.run_bundle_download(run, key="train_bundle_download")

- ``figure_download(fig, filename, key, label=None)``: the Plotly figure as a standalone HTML page
  (plotly.js embedded, opens offline, stays interactive).
- ``arrays_download(arrays, filename, key, label=None)``: ``dict[str, np.ndarray]`` as ``.npz``
  (any shapes) or, when ``filename`` ends in ``.csv``, as CSV columns (1-D arrays of one length, or
  2-D arrays whose columns become ``name[j]``).
- ``run_bundle_download(run, key, label=None)``: the run as a zip (configuration JSON, history CSV,
  parameters at every epoch as ``.npz``; see ``advx.export``).

The file is built only when the button is clicked (Streamlit's deferred download), so a page pays
nothing for offering it, and clicking does not rerun the page. Every button needs its own ``key``.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import streamlit as st

from advx import export
from advx.train import Run

_MIME = {".html": "text/html", ".npz": "application/octet-stream", ".csv": "text/csv", ".zip": "application/zip"}


def _button(label: str, build: Callable[[], bytes | str], filename: str, key: str, help: Optional[str]) -> None:
    suffix = filename[filename.rfind("."):].lower() if "." in filename else ""
    st.download_button(label, data=build, file_name=filename, mime=_MIME.get(suffix), key=key,
                       on_click="ignore", icon=":material/download:", help=help)


def figure_download(fig, filename: str, key: str, label: Optional[str] = None) -> None:
    """A button that downloads ``fig`` as a standalone, interactive HTML page named ``filename``. ``fig`` may be a
    function that returns the figure when the button is clicked (``None``: the page does not show it now)."""
    def build() -> str:
        shown = fig() if callable(fig) else fig
        if shown is None:
            return ("<!DOCTYPE html><html><body><p>This figure is not on the page right now: its result was still "
                    "being computed. Download it again once the page shows it.</p></body></html>")
        return export.figure_html(shown)

    _button(label or "Download the figure (HTML)", build, filename, key,
            "An interactive copy of this figure that opens in any browser, offline.")


def arrays_download(arrays: dict[str, np.ndarray], filename: str, key: str, label: Optional[str] = None) -> None:
    """A button that downloads ``arrays`` as ``.npz``, or as CSV when ``filename`` ends in ``.csv``."""
    as_csv = filename.lower().endswith(".csv")
    build = (lambda: export.arrays_csv(arrays)) if as_csv else (lambda: export.arrays_npz(arrays))
    kind = "CSV" if as_csv else ".npz"
    _button(label or f"Download the data ({kind})", build, filename, key,
            "Read it with pandas.read_csv." if as_csv else "Read it with numpy.load(path, allow_pickle=False).")


def run_bundle_download(run: Run, key: str, label: Optional[str] = None) -> None:
    """A button that downloads the run bundle ``advx-run-<run id>.zip``."""
    _button(label or "Download the run (zip)", lambda: export.run_bundle(run), f"advx-run-{run.run_id}.zip", key,
            "Configuration (JSON), history (CSV) and the parameters after every epoch (.npz).")
