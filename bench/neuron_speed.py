"""Speed of the neuron maps: effective weights and dataset averages of all 138 neurons over the
60,000 training images, against the target of 1 s on a 2-core CPU: the library's one pass (uint8 and float32
pixels) and the route the app takes for one epoch (``advx.derived.epoch_maps``).

Run: ``python -m bench.neuron_speed`` from the project root (uses the stored default run, training it
if absent). Prints first-call time (with compilation) and the median of repeated calls.
"""

from __future__ import annotations

import statistics
import time

import jax

from advx import derived, neurons, store
from advx.config import TrainConfig
from advx.data import load_mnist
from advx.model import to_pixels

TARGET_SECONDS = 1.0
REPEATS = 7


def _timed(fn) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def _cpu_timed(fn) -> float:
    """Processor time of this process for one call: the work done, whatever else the machine runs."""
    start = time.process_time()
    jax.block_until_ready(fn())
    return time.process_time() - start


def matmul_rate() -> float:
    """GFLOP/s of a float32 2048 x 2048 matmul right now: how busy the machine is (about 200 idle)."""
    a = jax.numpy.ones((2048, 2048), jax.numpy.float32)
    square = jax.jit(lambda m: m @ m)
    jax.block_until_ready(square(a))
    return 2 * 2048**3 / min(_timed(lambda: square(a)) for _ in range(5)) / 1e9


def main() -> None:
    mnist = load_mnist()
    run = store.get_or_train(TrainConfig(), mnist)
    params = run.final_params
    raw = mnist.train_images.reshape(len(mnist.train_images), -1)  # (60000, 784) uint8
    pixels = to_pixels(mnist.train_images)                         # (60000, 784) float32
    n_neurons = sum(neurons.layer_widths(params).values())

    def both_from(images):
        return lambda: (neurons.all_effective_weights(params), neurons.all_dataset_averages(params, images))

    print(f"machine matmul rate now: {matmul_rate():.0f} GFLOP/s (an idle machine of this kind: about 200)")
    print(f"{n_neurons} neurons, {raw.shape[0]} images, {jax.device_count()} {jax.default_backend()} device(s)")
    rows = []
    app_route = lambda images: lambda: derived.epoch_maps(run, run.n_epochs, images)  # noqa: E731
    for name, images, route in (("uint8 pixels", raw, both_from), ("float32 pixels", pixels, both_from),
                                ("the app's route", raw, app_route)):
        first = _timed(route(images))
        times = [_timed(route(images)) for _ in range(REPEATS)]
        cpu = statistics.median(_cpu_timed(route(images)) for _ in range(REPEATS))
        rows.append((name, first, statistics.median(times), min(times), cpu))
    stats_first = _timed(lambda: neurons.neuron_stats(params, raw))
    stats_times = [_timed(lambda: neurons.neuron_stats(params, raw)) for _ in range(REPEATS)]

    print(f"{'input':<16}{'first call (s)':>16}{'median (s)':>12}{'best (s)':>10}{'CPU (s)':>9}"
          f"{'target (s)':>12}  verdict")
    for name, first, median, best, cpu in rows:
        verdict = "meets target" if median <= TARGET_SECONDS else "MISSES target"
        print(f"{name:<16}{first:>16.3f}{median:>12.3f}{best:>10.3f}{cpu:>9.3f}{TARGET_SECONDS:>12.1f}  {verdict}")
    print("The app's route (advx.derived.epoch_maps) is what a page computes before the every-epoch results are "
          "ready: the pass of the every-epoch job for the epoch's group of 4 parameter sets, in chunks of 4,000 "
          "images, so that its numbers are those results' bits and it holds about 70 MB instead of 335.")
    print("CPU is the median processor time per call over all threads; on an otherwise idle 2-core machine the "
          "wall time is at least CPU / 2.")
    print(f"neuron stats (max, firing rate) over the training set: first {stats_first:.3f} s, "
          f"median {statistics.median(stats_times):.3f} s")
    widths = list(neurons.layer_widths(params).values())
    forward = sum(a * b for a, b in zip([784, *widths[:-1]], widths))
    flops = 2 * raw.shape[0] * (forward + 784 * n_neurons)
    print(f"arithmetic: {flops / 1e9:.1f} GFLOP per call, "
          f"{flops / 1e9 / rows[1][2]:.0f} GFLOP/s at the float32 median")


if __name__ == "__main__":
    main()
