"""First visit of "Why it happens", the real page, timed in the states a server can be in: issue #5's 3 s target.

Each state is made by the app itself, never by copying chosen files: the cache folder starts with the
verified data and the four stored runs the page compares (the default run and its SGD, input-noise and
weight-decay variants; trained first if absent, not timed), and whatever else it holds was written by
earlier visits of the app. A visit is Streamlit's ``AppTest`` in a fresh interpreter: the Home page,
optionally other pages, then a switch to "Why it happens", whose script is timed (everything the page
computes, compiled on the way, without the browser's drawing).

- ``bare``: a shared link to the page is the first thing a server shows, and nothing of the page was
  ever computed on this machine (runs trained with ``python -m advx train``, say).
- ``after_training``: the usual path. The same server first showed the run on the Train page, which
  starts the app's background work for it (the every-epoch neuron results, the PCA, the compiled
  counterfactual attacks); the visitor opens "Why it happens" once that work is done.
- ``restarted``: a new server process on a disk where the usual path ran once before: the files the app
  keeps (neuron results, PCA, XLA's compiled programs in ``<cache>/jax``) are there, memory is empty.

Run: ``.venv/bin/python -m bench.why_first_visit`` from the project root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0

VISIT = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1]); os.chdir(sys.argv[1])
from streamlit.testing.v1 import AppTest
from ui import jobs
jobs.set_synchronous(True)  # the visit is timed until every section is drawn, its jobs included
at = AppTest.from_file(os.path.join(sys.argv[1], "streamlit_app.py"), default_timeout=900).run()
import jax  # the app has imported it by now; the backend is up before the page, as in a running server
jax.numpy.zeros(1).block_until_ready()
background = 0.0
if sys.argv[2] == "train_page_first":
    at.switch_page("views/train.py").run()
    start = time.perf_counter()
    jobs.settle(timeout=600)
    background = time.perf_counter() - start
start = time.perf_counter()
at.switch_page("views/why.py").run()
seconds = time.perf_counter() - start
errors = [str(e.value)[:300] for e in at.exception]
print(json.dumps({"seconds": seconds, "errors": errors, "tables": len(at.dataframe), "load": os.getloadavg()[0],
                  "background_s": background}))
"""


def prepare(folder: Path) -> None:
    """Copy the verified data and the page's four runs into ``folder``, training them first if needed."""
    from advx import store
    from advx import subspace as S
    from advx.config import TrainConfig
    from advx.data import load_mnist
    from advx.paths import cache_dir

    mnist = load_mnist()
    (folder / "runs").mkdir(parents=True)
    shutil.copy2(cache_dir() / "mnist.npz", folder / "mnist.npz")
    for config in S.comparison_configs(TrainConfig()).values():
        store.get_or_train(config, mnist)
        src = store.run_path(config, mnist.sha)
        shutil.copy2(src, folder / "runs" / src.name)


def visit(folder: Path, path: str) -> dict:
    """One visit in a fresh interpreter with ``ADVX_CACHE_DIR=folder``; ``path``: "direct" (Home, then the
    page) or "train_page_first" (Home, Train, the background work done, then the page)."""
    env = dict(os.environ, ADVX_CACHE_DIR=str(folder))
    env.pop("XLA_FLAGS", None)
    done = subprocess.run([sys.executable, "-c", VISIT, str(ROOT), path], env=env, capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


STATES = {"bare": "a link to the page is the server's first visit; only the runs are stored",
          "after_training": "the usual path: the same server showed the run on the Train page first, "
                            "and its background work for the run is done",
          "restarted": "a new server process after the usual path ran once on the same disk"}


def measure() -> dict:
    out = {"target_s": TARGET_S}
    for state, words in STATES.items():
        with tempfile.TemporaryDirectory(prefix="advx-why-") as tmp:
            folder = Path(tmp)
            prepare(folder)
            if state == "restarted":
                visit(folder, "train_page_first")  # the earlier server's life; not timed
            out[state] = r = visit(folder, "train_page_first" if state == "after_training" else "direct")
        extra = f"; background work before it {r['background_s']:.1f} s" if r["background_s"] else ""
        print(f"{state:<15} {r['seconds']:6.2f} s  (load {r['load']:.1f}{extra}; {words})"
              f"{'  ERRORS ' + str(r['errors']) if r['errors'] else ''}")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    measure()
