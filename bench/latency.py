"""Interaction latency: how long the server takes to rerun a page when its main widget changes.

For each page, Streamlit's ``AppTest`` opens the app at that page (the first run computes and caches
what the initial view needs, and is not counted), then changes the page's main widget ``changes`` times
and times each ``.run()``: the server-side rerun, from the widget change to the finished script, without
the browser's drawing. ``st.cache_data`` is cleared before each page, so the values a user visits for the
first time cost what they cost in a fresh session; the data, the runs and the PCA (``st.cache_resource``)
stay loaded, as in a running server. A sequence that walks a slider visits new values first, then returns
to a few it has seen (cached), as a user scrubbing back and forth would.

Run alone: ``.venv/bin/python bench/latency.py`` (or ``bench/run.py --only latency``).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE_TARGET_P95_S = 0.300
OVERLAY_TARGET_P95_S = 0.200
TIMEOUT_S = 900


def walk(start: int, lo: int, hi: int, n: int) -> list[int]:
    """``n`` slider values from ``start``: down to ``lo`` one by one, then up again (each differs from the last)."""
    values, v, step = [], start, -1
    while len(values) < n:
        if not lo <= v + step <= hi:
            step = -step
        v += step
        values.append(v)
    return values


@dataclass
class Interaction:
    """A page's main widget: ``kind`` is an AppTest accessor (``slider``, ``select_slider``,
    ``number_input``), ``button`` (clicked each time) or ``None`` (a plain rerun)."""

    page: str
    widget: str
    kind: str | None = None
    key: str | None = None
    target_s: float = PAGE_TARGET_P95_S

    def values(self, at, n: int) -> list:
        """``n`` successive values, walking from the widget's current value (after the first visit)."""
        if self.kind in (None, "button"):
            return [None] * n
        w = getattr(at, self.kind)(key=self.key)
        if self.kind == "select_slider":
            from advx.attacks import EPS_GRID

            grid = list(EPS_GRID[self.key.rsplit("_", 1)[-1]])
            return [grid[i] for i in walk(grid.index(w.value), 0, len(grid) - 1, n)]
        lo = w.min if w.min is not None else 0
        hi = w.max if w.max is not None else w.value + n
        return walk(int(w.value), int(lo), int(hi), n)

    def change(self, at, value) -> None:
        if self.kind == "button":
            at.button(key=self.key).click()
        elif self.kind is not None:
            getattr(at, self.kind)(key=self.key).set_value(value)


def interactions() -> list[Interaction]:
    """The main widget of every page."""
    return [
        Interaction("views/home.py", "none (a plain rerun)"),
        Interaction("views/train.py", "Train button (stored configuration)", "button", "train_submit"),
        Interaction("views/activations.py", "test image number", "number_input", "act_image_index"),
        Interaction("views/effective_weights.py", "epoch slider", "slider", "ew_epoch"),
        Interaction("views/dataset_averages.py", "epoch slider", "slider", "da_epoch"),
        Interaction("views/compare.py", "epoch slider", "slider", "cmp_epoch"),
        Interaction("views/overlay.py", "ε slider (L∞)", "select_slider", "ov_eps_linf",
                    OVERLAY_TARGET_P95_S),
        Interaction("views/why.py", "k slider", "slider", "why_k"),
        Interaction("views/street_smart.py", "epoch slider", "slider", "ss_epoch"),
        Interaction("views/networks.py", "output neuron slider", "slider", "net_neuron"),
    ]


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank (of 20 values, the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def registered(page: str) -> bool:
    return (ROOT / page).exists() and page in (ROOT / "streamlit_app.py").read_text()


def measure_page(interaction: Interaction, changes: int) -> dict:
    import tempfile

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from advx.experiments import spec as experiment_spec

    st.cache_data.clear()
    # The counterfactual columns the app keeps on disk (per run and k) go to an empty folder, so a k that an
    # earlier run of this benchmark visited costs what a new k costs.
    empty = Path(tempfile.mkdtemp(prefix="advx-latency-"))
    original = getattr(experiment_spec.Experiment.path, "original", experiment_spec.Experiment.path)

    def path(spec, root=None):
        return original(spec, empty / "counterfactual" if spec.name == "counterfactual" else root)

    path.original = original
    experiment_spec.Experiment.path = path
    from ui import jobs
    jobs._jobs.clear()  # nothing of an earlier page in memory
    jobs.set_synchronous(True)  # a rerun is timed until every section is drawn, jobs included
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT_S).run()
    start = time.perf_counter()
    at.switch_page(interaction.page).run()
    first = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{interaction.page}: {[e.value for e in at.exception][:1]}")
    times, values = [], interaction.values(at, changes)
    for i, value in enumerate(values):
        interaction.change(at, value)
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{interaction.page} after change {i}: {[e.value for e in at.exception][:1]}")
    return {"widget": interaction.widget, "first_visit_s": first, "changes": changes,
            "median_s": statistics.median(times), "p95_s": p95(times), "max_s": max(times),
            "target_p95_s": interaction.target_s, "met": p95(times) <= interaction.target_s,
            "values": [str(v) for v in values] if interaction.kind not in (None, "button") else None,
            "times_s": [round(t, 4) for t in times]}


def measure(changes: int = 20, log=print) -> dict:
    """``{page: result}`` for every registered page (a page not registered is reported as such)."""
    os.chdir(ROOT)
    out = {}
    for interaction in interactions():
        if not registered(interaction.page):
            out[interaction.page] = {"widget": interaction.widget, "skipped": "page not registered"}
            continue
        try:
            out[interaction.page] = measure_page(interaction, changes)
            r = out[interaction.page]
            log(f"  {interaction.page:<28} {interaction.widget:<36} median {r['median_s'] * 1000:7.0f} ms  "
                f"p95 {r['p95_s'] * 1000:7.0f} ms  (first visit {r['first_visit_s']:.1f} s)")
        except Exception as exc:  # one page's failure must not hide the others
            out[interaction.page] = {"widget": interaction.widget, "error": f"{type(exc).__name__}: {exc}"[:800]}
            log(f"  {interaction.page}: {out[interaction.page]['error']}")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    import json

    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=2))
