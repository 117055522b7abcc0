"""Adversarial training's speed, and the default robust run's figures.

Run: ``python bench/robust_speed.py`` (about 2-4 minutes on 2 cores), ``--candidates`` to train the settings the
default was chosen from as well (about 5 more minutes), ``--masking`` to time the whole comparison.

1. **Epoch ratio**: one adversarially trained epoch (``DEFAULT_ROBUST``: PGD-7 inside the jitted epoch) ÷ one
   standard epoch (the post's configuration), in the same process, interleaved so that the machine's drifting
   load hits both alike; both compiled first. Median of the per-round ratios. Target: <= PGD steps + 2 (each
   PGD step is one forward and one backward pass through the network, as is the training step itself).
2. **Default robust run**: ``advx.train.train(DEFAULT_ROBUST)`` from nothing (not from the store), wall time
   including compilation. Target: <= 60 s.
3. **Its figures** on the whole test set: clean accuracy, and accuracy under PGD-40 with 3 restarts at every
   L-inf eps and the training eps's transfer from the standard network (the search and Foolbox's PGD, which cost
   more, run on 500 images in ``--masking``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from advx import robust, store, train  # noqa: E402
from advx.attacks import as_model_fn  # noqa: E402
from advx.config import TrainConfig  # noqa: E402
from advx.data import load_mnist  # noqa: E402
from advx.model import init_params, to_pixels  # noqa: E402
from advx.text import robust as words

TARGET_TOTAL_S = 60.0
ROUNDS = 5

# The settings the default was chosen from: L-inf eps 0.1 / 0.2 / 0.3 with a ramp, PGD-7 or PGD-10, 10-15 epochs.
CANDIDATES = (
    dict(adversarial_eps=0.1, adversarial_steps=7, epochs=10, adversarial_ramp_epochs=2),
    dict(adversarial_eps=0.2, adversarial_steps=7, epochs=10, adversarial_ramp_epochs=3),
    dict(adversarial_eps=0.2, adversarial_steps=10, epochs=10, adversarial_ramp_epochs=3),
    dict(adversarial_eps=0.3, adversarial_steps=7, epochs=10, adversarial_ramp_epochs=5),
    dict(adversarial_eps=0.3, adversarial_steps=10, epochs=15, adversarial_ramp_epochs=5),
)


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def epoch_ratio(data, config: TrainConfig, rounds: int = ROUNDS) -> tuple[float, float, float]:
    """``(median standard epoch s, median adversarial epoch s, median per-round ratio)``."""
    x = jnp.asarray(np.asarray(data.train_images).reshape(len(data.train_images), -1))
    y = jnp.asarray(data.train_labels, jnp.int32)
    runners = []
    for c in (TrainConfig(), config):
        optimizer, epoch = train._epoch_fn(c, int(x.shape[0]))
        params = init_params(c.hidden, jax.random.PRNGKey(0))
        state = [params, optimizer.init(params)]

        def run(i, epoch=epoch, state=state):
            start = time.perf_counter()
            p, s, _, _ = epoch(state[0], state[1], jax.random.PRNGKey(i), x, y, 5)  # past the ramp: full eps
            jax.block_until_ready(p)
            state[:] = [p, s]
            return time.perf_counter() - start

        run(0)  # compile
        runners.append(run)
    standard, adversarial, ratios = [], [], []
    for i in range(1, rounds + 1):
        s, a = runners[0](i), runners[1](i)
        standard.append(s)
        adversarial.append(a)
        ratios.append(a / s)
    return statistics.median(standard), statistics.median(adversarial), statistics.median(ratios)


def figures(data, robust_run, standard_run, n: int = 10000) -> dict:
    x = to_pixels(np.asarray(data.test_images[:n]).reshape(n, -1))
    y = np.asarray(data.test_labels[:n], np.int32)
    out = {"clean": robust_run.test_accuracy, "standard clean": standard_run.test_accuracy}
    key = jax.random.PRNGKey(0)
    for eps in robust.LINF_EPS:
        white, transfer = robust.pgd_correct(as_model_fn(standard_run.final_params), x, y, eps, key,
                                             judged_fns=(as_model_fn(standard_run.final_params),
                                                         as_model_fn(robust_run.final_params)))
        (own,) = robust.pgd_correct(as_model_fn(robust_run.final_params), x, y, eps, key)
        out[f"linf {eps:g}"] = (float(white.mean()), float(own.mean()), float(transfer.mean()),
                                float((own & transfer).mean()))
    return out


def candidates(data) -> None:
    x = to_pixels(np.asarray(data.test_images[:1000]).reshape(1000, -1))
    y = np.asarray(data.test_labels[:1000], np.int32)
    print("\ncandidates (PGD-40, 3 restarts, first 1000 test images):")
    for changes in CANDIDATES:
        config = TrainConfig(adversarial_norm="linf", adversarial_rel_step_size=2.5 / changes["adversarial_steps"],
                             **changes)
        start = time.perf_counter()
        run = train.train(config, data)
        seconds = time.perf_counter() - start
        accs = [robust.robust_accuracy(as_model_fn(run.final_params), x, y, eps, jax.random.PRNGKey(0))
                for eps in robust.LINF_EPS]
        print(f"  eps {config.adversarial_eps:g}, PGD-{config.adversarial_steps}, {config.epochs} epochs, ramp "
              f"{config.adversarial_ramp_epochs}: {seconds:.1f} s, clean {run.test_accuracy:.2%}, robust at "
              + ", ".join(f"{eps:g}: {a:.1%}" for eps, a in zip(robust.LINF_EPS, accs)) + f"  ({load()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", action="store_true", help="also train the candidate settings")
    parser.add_argument("--masking", action="store_true", help="also time the whole comparison of the two runs")
    args = parser.parse_args()
    data = load_mnist()
    config = robust.DEFAULT_ROBUST
    print(f"default robust run: {config}")

    standard_s, adversarial_s, ratio = epoch_ratio(data, config)
    target = config.adversarial_steps + 2
    print(f"\nepoch: standard {standard_s:.2f} s, adversarial (PGD-{config.adversarial_steps}) {adversarial_s:.2f} s; "
          f"median ratio {ratio:.1f} (target <= {target}: {'met' if ratio <= target else 'MISSED'})  ({load()})")

    start = time.perf_counter()
    run = train.train(config, data)
    total = time.perf_counter() - start
    print(f"\ndefault robust run from nothing: {total:.1f} s with compilation (epochs "
          f"{' '.join(f'{s:.1f}' for s in run.history['epoch_seconds'])}); target <= {TARGET_TOTAL_S:.0f} s: "
          f"{'met' if total <= TARGET_TOTAL_S else 'MISSED'}  ({load()})")
    store.get_or_train(config, data)  # keep it (the tests and the app load it)
    standard_run = store.get_or_train(TrainConfig(), data)

    found = figures(data, run, standard_run)
    print(f"\non the 10,000 test images: clean accuracy {found['clean']:.2%} (standard {found['standard clean']:.2%})")
    print("PGD-40, 3 restarts, L-inf: eps | standard | robust, white-box | robust, transfer from standard | "
          "robust, both")
    for eps in robust.LINF_EPS:
        w, own, transfer, both = found[f"linf {eps:g}"]
        print(f"  {eps:<4g} | {w:.2%} | {own:.2%} | {transfer:.2%} | {both:.2%}")

    if args.masking:
        start = time.perf_counter()
        comparison = robust.compare_runs(standard_run, run, data)
        print(f"\nthe whole comparison (500 images, every attack): {time.perf_counter() - start:.1f} s  ({load()})")
        for line in words.accuracy_sentences(comparison) + [words.masking_sentence(comparison),
                                                            words.masking_sentence(comparison, "l2")]:
            print("  " + line)
    if args.candidates:
        candidates(data)


if __name__ == "__main__":
    main()
