"""Speed of "Why it happens": the PCA and every measurement the page makes, against 3 s on a 2-core CPU.

Run: ``python -m bench.subspace_speed`` from the project root, in a fresh process (so the first visit
includes JIT compilation). Uses the stored runs of the default configuration and its comparison runs,
training any that are absent (that training is timed separately and not counted).

Prints, per step, the time of a first visit (nothing cached, compilation included, the PCA computed),
the time of reading the PCA back from the cache folder (what the page does once it was computed on
this machine), the time of a k change (everything that depends on k, compiled), the time of every
measurement in a warm process, and the machine's matmul rate as a load gauge.
"""

from __future__ import annotations

import os
import time

import jax
import numpy as np

from advx import store
from advx import subspace as S
from advx.config import TrainConfig
from advx.data import load_mnist, to_float

TARGET_SECONDS = 3.0


def matmul_rate() -> float:
    """GFLOP/s of a float32 2048 x 2048 matmul right now: how busy the machine is (about 200 idle)."""
    a = jax.numpy.ones((2048, 2048), jax.numpy.float32)
    square = jax.jit(lambda m: m @ m)
    jax.block_until_ready(square(a))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        jax.block_until_ready(square(a))
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


class Clock:
    def __init__(self):
        self.rows: list[tuple[str, float]] = []

    def __call__(self, label, fn):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        self.rows.append((label, time.perf_counter() - start))
        return out

    def total(self) -> float:
        return sum(t for _, t in self.rows)

    def show(self, title: str) -> None:
        print(f"\n{title}")
        for label, t in self.rows:
            print(f"  {label:<58s} {t:7.2f} s")
        verdict = "meets" if self.total() <= TARGET_SECONDS else "misses"
        print(f"  {'total':<58s} {self.total():7.2f} s  ({verdict} the {TARGET_SECONDS:g} s target)")


def page_measurements(clock: Clock, sub, k, runs, train_u8, test, labels, include_k_free: bool = True):
    """Everything views/why.py computes, in its order. ``include_k_free=False``: only what k changes."""
    trained = runs["adam"]
    if include_k_free:
        maps = clock("neuron maps of the current run (init + trained, 60,000 images)",
                     lambda: S.neuron_maps(trained.params_at(0), trained.final_params, train_u8))
    else:
        maps = page_measurements.maps
    page_measurements.maps = maps
    clock("layer summary + chosen neurons + one neuron split", lambda: (
        S.layer_summary(sub, k, maps), [S.measure_neurons(sub, k, maps, layer) for layer in maps.layers],
        S.neuron_parts(sub, k, maps, "output", 0)))
    studies = clock("first-layer study of 4 runs", lambda: {
        n: S.first_layer_study(sub, k, r.params_at(0), r.final_params) for n, r in runs.items()})
    columns = {}
    if include_k_free:
        for name in ("trained", "noise", "decay"):
            run = runs["adam" if name == "trained" else name]
            columns[name] = clock(f"attacks: {name} network",
                                  lambda: S.attack_rates(run.final_params, test, labels, jax.random.key(0)))
    else:
        columns.update(page_measurements.columns)
    columns["projected"] = clock("attacks: projected network", lambda: S.attack_rates(
        S.project_first_layer(trained.final_params, sub, k), test, labels, jax.random.key(0)))
    page_measurements.columns = columns
    clock("sentences", lambda: S.explain_page(sub, k, maps, studies, columns))
    return columns


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f}; matmul {matmul_rate():.0f} GFLOP/s (about 200 when idle)")
    mnist = load_mnist()
    configs = S.comparison_configs(TrainConfig())
    runs = {}
    for name, config in configs.items():
        start = time.perf_counter()
        runs[name] = store.get_or_train(config, mnist)
        took = time.perf_counter() - start
        history = runs[name].history["epoch_seconds"]
        print(f"run {name:<6s} {runs[name].run_id}  test accuracy {runs[name].test_accuracy:.2%}  "
              f"{'loaded' if took < 5 else 'trained'} in {took:.1f} s; median epoch {np.median(history):.2f} s "
              f"over {len(history)} epochs")
    train, test = to_float(mnist.train_images), to_float(mnist.test_images)
    train_u8 = mnist.train_images.reshape(len(train), -1)

    first = Clock()
    sub = first("PCA of the 60,000 training images (fit_subspace)", lambda: S.fit_subspace(train))
    k = sub.k_for(0.95)
    page_measurements(first, sub, k, runs, train_u8, test, mnist.test_labels)
    first.show(f"First visit (k = {k}, nothing cached, JIT compilation included)")

    change = Clock()
    page_measurements(change, sub, sub.k_for(0.99), runs, train_u8, test, mnist.test_labels, include_k_free=False)
    change.show(f"k changed to {sub.k_for(0.99)} (k-free results cached, as on the page)")

    S.load_or_fit_subspace(train, mnist.sha)  # make sure the file exists
    stored = Clock()
    stored("PCA read back from the cache folder (load_or_fit_subspace)", lambda: S.load_or_fit_subspace(train, mnist.sha))
    stored.show("The page's PCA on a later first visit (any new server process once the file exists)")

    again = Clock()
    again("PCA computed again (warm)", lambda: S.fit_subspace(train))
    page_measurements(again, sub, k, runs, train_u8, test, mnist.test_labels)
    again.show("Every measurement again, compiled (what a first visit costs once the process is warm)")
    print(f"\nload average {os.getloadavg()[0]:.1f}; matmul {matmul_rate():.0f} GFLOP/s")


if __name__ == "__main__":
    main()
