"""Speed of the attack lab against its targets.

    .venv/bin/python bench/attack_speed.py [--repeats 3]

Prints, for the default trained run and the 10,000 MNIST test images:
- the overlay sweep (25 eps x 10 targets), target <= 2 s, for both routes (fast and dense);
- PGD with 40 steps (L-inf, targeted and untargeted, and L2), target <= 5 s;
- FGSM, the minimal flipping eps and the other page computations, for information;
- a rerun of the "Adversarial overlay" page after moving the ε slider, with AppTest, target <= 200 ms.

Times are the median of the repeats after one warm-up call (compilation excluded, reported separately), in
wall-clock seconds, beside the process CPU time. The machine is shared: the load average is printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from advx import attacks as A  # noqa: E402
from advx import store  # noqa: E402
from advx.config import TrainConfig  # noqa: E402
from advx.data import load_mnist  # noqa: E402
from advx.model import to_pixels  # noqa: E402


def _block(out):
    return jax.tree_util.tree_map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, out)


def clock(fn, repeats: int) -> tuple[float, float, float]:
    """(first call incl. compilation, median wall, median CPU) in seconds."""
    start = time.perf_counter()
    _block(fn())
    first = time.perf_counter() - start
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        _block(fn())
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return first, statistics.median(walls), statistics.median(cpus)


def line(name: str, result, target: float | None = None) -> None:
    first, wall, cpu = result
    verdict = "" if target is None else ("  OK" if wall <= target else "  OVER")
    goal = f"  target <= {target:g} s" if target is not None else ""
    print(f"{name:<58} {wall:7.3f} s  (cpu {cpu:6.2f} s, first call {first:6.2f} s){goal}{verdict}", flush=True)


def page_rerun(repeats: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    os.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "views" / "overlay.py"), default_timeout=900).run()
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    grid = A.EPS_GRID["linf"]
    times = []
    for i in range(repeats + 1):
        value = grid[(3 * i + 5) % len(grid)]
        start = time.perf_counter()
        at.select_slider(key="ov_eps_linf").set_value(value).run()
        times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-page", action="store_true")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    mnist = load_mnist()
    run = store.get_or_train(TrainConfig(), mnist)
    params = run.final_params
    x = jnp.asarray(to_pixels(mnist.test_images))
    y = jnp.asarray(mnist.test_labels.astype(np.int32))
    targets = (y + 1) % 10
    key = jax.random.key(0)
    r = args.repeats
    model_fn = A.as_model_fn(params)
    patterns = A.output_patterns(params)
    for norm in A.NORMS:
        for method in ("auto", "dense"):
            line(f"overlay sweep {norm}, 25 x 10 x 10,000, route {method}",
                 clock(lambda: A.overlay_sweep(params, x, patterns, np.arange(10), A.EPS_GRID[norm], norm,
                                               method=method), r), 2.0)
    line("jacobian sweep linf, 25 x 10 x 10,000 (local Jacobian source)",
         clock(lambda: A.jacobian_sweep(params, x, np.arange(10), A.EPS_GRID["linf"], "linf"), 1))
    line("PGD linf eps 0.3, 40 steps, untargeted, 10,000 images",
         clock(lambda: A.pgd(model_fn, x, y, 0.3, key, steps=40), r), 5.0)
    line("PGD linf eps 0.3, 40 steps, targeted, 10,000 images",
         clock(lambda: A.pgd(model_fn, x, targets, 0.3, key, steps=40, targeted=True), r), 5.0)
    line("PGD l2 eps 2, 40 steps, untargeted, 10,000 images",
         clock(lambda: A.pgd(model_fn, x, y, 2.0, key, norm="l2", steps=40), r), 5.0)
    line("FGSM linf eps 0.25, 10,000 images", clock(lambda: A.fgsm(model_fn, x, y, 0.25), r))
    line("minimal flipping eps, 10,000 images (32 + 24 passes)",
         clock(lambda: A.minimal_eps(params, x, patterns[0], 0, 1.0), r))
    line("paper table (5 FGSM + PGD-40) over 10,000 images",
         clock(lambda: A.paper_table(params, x, y, key=key), 1))
    line("comparison table (8 eps, PGD-40) over 2,000 images",
         clock(lambda: A.comparison_table(params, x[:2000], y[:2000], 0, key), 1))
    if not args.skip_page:
        times = page_rerun(max(r, 5))
        median = statistics.median(times)
        verdict = "OK" if median <= 0.2 else "OVER"
        print(f"{'page rerun after an ε-slider move (AppTest)':<58} {median:7.3f} s  "
              f"(all: {', '.join(f'{t:.3f}' for t in times)})  target <= 0.2 s  {verdict}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
