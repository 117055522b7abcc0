"""First visit of "Why it happens", the real page, in a fresh process: what issue #5's 3 s target is about.

A fresh interpreter imports the app, opens the Home page, then switches to "Why it happens" with
Streamlit's ``AppTest``; the time of that switch is the first visit (everything the page computes,
compiled on the way, without the browser's drawing; no compiled XLA program is stored). Three states of
the cache folder, each with the verified data and the four stored runs the page compares (the default
run and its SGD, input-noise and weight-decay variants; trained first if absent, not timed):

- ``bare``: nothing else. Nothing of the page was ever computed on this machine.
- ``after_training``: plus the default run's every-epoch neuron results, which the app computes in the
  background once a run is trained or a neuron page is opened. No PCA yet: the usual state when a
  visitor reaches this page for the first time on a deployment.
- ``restarted``: plus the PCA file this page keeps: the first visit after a server restart.

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
at = AppTest.from_file(os.path.join(sys.argv[1], "streamlit_app.py"), default_timeout=900).run()
import jax  # the app has imported it by now; the backend is up before the page, as in a running server
jax.numpy.zeros(1).block_until_ready()
start = time.perf_counter()
at.switch_page("views/why.py").run()
seconds = time.perf_counter() - start
errors = [str(e.value)[:300] for e in at.exception]
print(json.dumps({"seconds": seconds, "errors": errors, "tables": len(at.dataframe), "load": os.getloadavg()[0]}))
"""


def prepare(folder: Path, state: str) -> None:
    """Copy the verified data and the page's four runs into ``folder`` (training them first if needed), and
    for ``state`` "after_training" / "restarted" the default run's neuron results (and the PCA)."""
    from advx import derived, store
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
    if state in ("after_training", "restarted"):
        run = store.get_or_train(TrainConfig(), mnist)
        train_u8 = mnist.train_images.reshape(len(mnist.train_images), -1)
        derived.load_or_compute(run, train_u8, root=folder)
    if state == "restarted":
        (folder / "subspace").mkdir()
        S.load_or_fit_subspace(train_u8, mnist.sha, root=folder / "subspace")


def visit(folder: Path) -> dict:
    env = dict(os.environ, ADVX_CACHE_DIR=str(folder))
    env.pop("XLA_FLAGS", None)
    done = subprocess.run([sys.executable, "-c", VISIT, str(ROOT)], env=env, capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


STATES = {"bare": "runs only: nothing of the page computed on this machine before",
          "after_training": "runs and the default run's neuron results (as the app leaves them after training)",
          "restarted": "also the PCA file (a server restarted after a visit)"}


def measure() -> dict:
    out = {"target_s": TARGET_S}
    for state, words in STATES.items():
        with tempfile.TemporaryDirectory(prefix="advx-why-") as tmp:
            folder = Path(tmp)
            prepare(folder, state)
            out[state] = visit(folder)
        r = out[state]
        print(f"{state:<15} {r['seconds']:6.2f} s  (load {r['load']:.1f}; {words})"
              f"{'  ERRORS ' + str(r['errors']) if r['errors'] else ''}")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    measure()
