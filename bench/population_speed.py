"""Population training speed: 8 networks trained together against one trained alone, in one run.

Run: ``.venv/bin/python bench/population_speed.py [--rounds 5] [--members 8] [--epochs 15]``. Target (issue #15): a
population of 8 networks trains in <= 3 x the time of one.

Contenders: one network alone (``advx.train``), the population with ``chunk=1`` (the default: each member's epoch is
``train``'s own computation, looped inside one compiled program) and the population fully vmapped
(``chunk=None``). The members are the post's network with Adam for seeds 0..members-1: one group, one program.
First ``train`` and ``train_population`` run end to end for ``--epochs`` epochs, compilation included (drift
not cancelled). Then the contenders' jitted epochs run one epoch each per round, interleaved, so the machine's
drift hits all alike; the verdict is the median over rounds of (population epoch / single epoch of the same
round). Nothing is stored.

Why <= 3 x is out of reach on a 2-core CPU: one epoch of one network is 13.7 GFLOP of float32 matrix
products, which ``train`` runs at about a third of this machine's matmul peak (``bench/results/latest.md``).
Eight networks are eight times the arithmetic; doing it in 3 x the time would need ~85% of the peak from
products of 128 x 784 by 784 x 64. What one program buys here is one compilation and one dispatch per epoch
for the whole population, and (with ``chunk=1``) networks identical to the bit to those trained alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from advx.config import TrainConfig  # noqa: E402
from advx.data import load_mnist  # noqa: E402
from advx.population import group_epoch, train_population  # noqa: E402
from advx.train import epoch_function, evaluate_images, initial_params, train  # noqa: E402

TARGET_RATIO = 3.0


def timed(fn) -> tuple[object, list[float], float]:
    """``(result, seconds of each epoch, total seconds)`` of ``fn(progress)``, from its progress calls."""
    stamps = []
    start = time.perf_counter()
    result = fn(lambda done, total, metrics: stamps.append(time.perf_counter()))
    total = time.perf_counter() - start
    return result, list(np.diff(stamps)), total


def max_difference(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _stack(trees):
    return jax.tree.map(lambda *leaves: jax.numpy.stack(leaves), *trees)


def interleaved(configs, data, rounds: int) -> dict[str, list[float]]:
    """Seconds of each contender's epochs: ``{name: [warm-up epoch, round 1, ...]}``."""
    x = jax.numpy.asarray(np.asarray(data.train_images).reshape(len(data.train_images), -1))
    y = jax.numpy.asarray(data.train_labels, jax.numpy.int32)
    optimizer, epoch = epoch_function(configs[0], len(x))
    starts = [initial_params(c) for c in configs]
    single = [starts[0][0], optimizer.init(starts[0][0]), starts[0][1]]
    contenders = {"one network alone": lambda state, i: epoch(state[0], state[1], state[2], x, y, i)}
    states = {"one network alone": single}
    for name, chunk in (("population, chunk=1 (default)", 1), ("population, vmap (chunk=None)", None)):
        _, fn = group_epoch(configs[0], len(x), chunk)
        contenders[name] = (lambda fn: lambda state, i: fn(state[0], state[1], state[2], x, y, i))(fn)
        states[name] = [_stack([p for p, _ in starts]), _stack([optimizer.init(p) for p, _ in starts]),
                        jax.numpy.stack([k for _, k in starts])]
    seconds = {name: [] for name in contenders}
    for i in range(rounds + 1):
        for name, run_epoch in contenders.items():
            start = time.perf_counter()
            out = run_epoch(states[name], i)
            jax.block_until_ready(out)
            seconds[name].append(time.perf_counter() - start)
            states[name][:2] = out[:2]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved epochs per contender after compiling")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of the end-to-end runs (the first compiles)")
    parser.add_argument("--members", type=int, default=8)
    args = parser.parse_args()
    data = load_mnist()
    configs = [dataclasses.replace(TrainConfig(epochs=args.epochs), seed=s) for s in range(args.members)]
    print(f"load average at the start: {os.getloadavg()}; {os.cpu_count()} CPUs; JAX {jax.__version__}")
    print(f"{args.members} networks 784-64-64-10, Adam, batch 128; {args.rounds} interleaved rounds")

    print(f"\nend to end, {args.epochs} epochs each, compilation included (drift not cancelled):")
    # What both share is warmed first (the initialisation's and the test pass's compilations), so that neither
    # pays for the other.
    warm, _ = initial_params(configs[0])
    test_images = np.asarray(data.test_images).reshape(len(data.test_images), -1)
    jax.block_until_ready(evaluate_images(warm, test_images, np.asarray(data.test_labels, np.int32)))
    alone, alone_epochs, alone_total = timed(lambda p: train(configs[0], data, p))
    print(f"  train, one network: {alone_total:.1f} s (first epoch, compiling: {alone_epochs[0]:.2f} s)")
    for name, chunk in (("chunk=1", 1), ("vmap", None)):
        runs, epochs, total = timed(lambda p: train_population(configs, data, p, chunk=chunk))
        print(f"  train_population, {args.members} networks, {name}: {total:.1f} s = {total / alone_total:.2f} x "
              f"(first epoch {epochs[0]:.2f} s); seed 0 against train alone: largest weight difference "
              f"{max_difference(runs[0].final_params, alone.final_params):.3g}, test accuracy "
              f"{runs[0].test_accuracy:.4f} against {alone.test_accuracy:.4f}")

    seconds = interleaved(configs, data, args.rounds)
    one = seconds["one network alone"]
    print(f"\n{args.rounds} interleaved rounds of one epoch each (after a warm-up epoch):")
    print(f"  {'contender':34s} {'median epoch':>13s} {'median ratio to one':>20s}")
    for name, s in seconds.items():
        ratios = [a / b for a, b in zip(s[1:], one[1:])]
        print(f"  {name:34s} {statistics.median(s[1:]):12.2f}s {statistics.median(ratios):19.2f}x")
    for name in list(seconds)[1:]:
        ratio = statistics.median(a / b for a, b in zip(seconds[name][1:], one[1:]))
        print(f"{name}: {args.members} networks in {ratio:.2f} x the time of one (target <= {TARGET_RATIO:g}: "
              f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}); {ratio / args.members:.2f} x their time one by one")
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
