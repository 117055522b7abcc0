"""Training speed: median seconds per epoch and achieved GFLOP/s against this machine's matmul peak.

Run: ``python bench/train_speed.py``. Targets: <= 0.25 s per epoch on a 2-core CPU (60,000 images,
batch 128, Adam), and the default curve to >= 97.5% test accuracy in <= 5 s of training.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from advx.config import TrainConfig  # noqa: E402
from advx.data import load_mnist  # noqa: E402
from advx.train import train  # noqa: E402

TARGET_EPOCH_S = 0.25
TARGET_TO_975_S = 5.0


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    """Best float32 GFLOP/s of an ``n x n`` matmul with ``jnp`` on this machine, now."""
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y)
    mm(a, b).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        mm(a, b).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def epoch_flops(config: TrainConfig, n_train: int) -> float:
    """Forward + backward FLOPs of one epoch: about 3x the forward matmuls (2*m*k*n each)."""
    sizes = (784, *config.hidden, 10)
    forward = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 3 * forward * (n_train // config.batch_size) * config.batch_size


def main() -> None:
    data = load_mnist()
    config = TrainConfig()
    peak = matmul_peak_gflops()
    run = train(config, data)  # epoch 1 includes compilation
    seconds = list(run.history["epoch_seconds"][1:])
    median = statistics.median(seconds)
    gflops = epoch_flops(config, len(data.train_images)) / median / 1e9
    acc = run.history["test_acc"]
    cumulative = 0.0
    to_target = None
    for s, a in zip(run.history["epoch_seconds"], acc):
        cumulative += s
        if a >= 0.975 and to_target is None:
            to_target = cumulative
    print(f"epochs timed (after the compiling first epoch): {len(seconds)}")
    print(f"median epoch: {median:.3f} s  (min {min(seconds):.3f}, max {max(seconds):.3f}); "
          f"target <= {TARGET_EPOCH_S} s: {'met' if median <= TARGET_EPOCH_S else 'MISSED'}")
    print(f"compile + first epoch: {run.history['epoch_seconds'][0]:.2f} s")
    print(f"achieved: {gflops:.1f} GFLOP/s = {gflops / peak:.1%} of the measured float32 matmul peak "
          f"({peak:.0f} GFLOP/s, 2048^2 jnp matmul)")
    print(f"final test accuracy: {acc[-1]:.2%} after {len(acc)} epochs")
    if to_target is None:
        print("the curve never reached 97.5%: target MISSED")
    else:
        print(f"training time until test accuracy >= 97.5%: {to_target:.2f} s (incl. compile); "
              f"target <= {TARGET_TO_975_S} s: {'met' if to_target <= TARGET_TO_975_S else 'MISSED'}")


if __name__ == "__main__":
    main()
