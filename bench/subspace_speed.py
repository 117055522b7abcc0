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
import subprocess
import sys
import time

import jax
import numpy as np

from advx import store
from advx import subspace as S
from advx.config import TrainConfig
from advx.data import load_mnist
from advx.model import to_pixels
from advx.text import subspace as words

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
    if include_k_free is True:
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
    if include_k_free:  # True, or "attacks": the neuron maps were read from disk
        for name in ("trained", "noise", "decay"):
            run = runs["adam" if name == "trained" else name]
            columns[name] = clock(f"attacks: {name} network",
                                  lambda: S.attack_rates(run.final_params, test, labels, jax.random.key(0)))
    else:
        columns.update(page_measurements.columns)
    columns["projected"] = clock("attacks: projected network", lambda: S.attack_rates(
        S.project_first_layer(trained.final_params, sub, k), test, labels, jax.random.key(0)))
    page_measurements.columns = columns
    clock("sentences", lambda: words.explain_page(sub, k, maps, studies, columns))
    return columns


def stored_visit(xla_cache: bool) -> None:
    """A first visit in a new server process on a machine where the page ran before: the PCA and the run's
    every-epoch neuron results are read from the cache folder; with ``xla_cache``, XLA's compiled programs
    too (the app keeps them in ``<cache folder>/jax``)."""
    from advx import experiments as E
    from advx.paths import cache_dir

    if xla_cache:
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    mnist = load_mnist()
    runs = {name: store.get_or_train(config, mnist) for name, config in S.comparison_configs(TrainConfig()).items()}
    train_u8 = mnist.train_images.reshape(len(mnist.train_images), -1)
    E.epoch_results(runs["adam"], mnist)  # make sure the files exist (not timed)
    E.data_subspace(mnist)
    clock = Clock()
    sub = clock("PCA read back from the cache folder", lambda: E.data_subspace.spec(mnist).read())
    results = clock("every-epoch neuron results read back", lambda: E.epoch_results.spec(runs["adam"], mnist).read())
    k = sub.k_for(0.95)
    page_measurements.maps = S.NeuronMaps.from_layer_dicts(results.maps(0), results.maps(results.n_epochs))
    page_measurements(clock, sub, k, runs, train_u8, mnist.test_images, mnist.test_labels, include_k_free="attacks")
    clock.show(f"First visit in a new process, PCA and neuron results stored"
               f"{', XLA programs stored' if xla_cache else ', compiling'} (k = {k})")


def main() -> None:
    if "--stored" in sys.argv:
        stored_visit("--xla-cache" in sys.argv)
        return
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
    test = to_pixels(mnist.test_images)  # as the app holds them
    train_u8 = mnist.train_images.reshape(len(mnist.train_images), -1)

    first = Clock()
    sub = first("PCA of the 60,000 training images (fit_subspace, uint8 in chunks)", lambda: S.fit_subspace(train_u8))
    k = sub.k_for(0.95)
    page_measurements(first, sub, k, runs, train_u8, test, mnist.test_labels)
    first.show(f"First visit on a new machine (k = {k}, nothing stored, nothing compiled)")

    change = Clock()
    page_measurements(change, sub, sub.k_for(0.99), runs, train_u8, test, mnist.test_labels, include_k_free=False)
    change.show(f"k changed to {sub.k_for(0.99)} (k-free results cached, as on the page)")

    again = Clock()
    again("PCA computed again (warm)", lambda: S.fit_subspace(train_u8))
    page_measurements(again, sub, k, runs, train_u8, test, mnist.test_labels)
    again.show("Every measurement again, compiled (what a first visit costs once the process is warm)")
    for flags in (["--stored"], ["--stored", "--xla-cache"]):
        subprocess.run([sys.executable, "-m", "bench.subspace_speed", *flags], check=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}; matmul {matmul_rate():.0f} GFLOP/s")


if __name__ == "__main__":
    main()
