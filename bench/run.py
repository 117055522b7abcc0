"""advx's benchmarks in one run: training against PyTorch and Keras, start-up, latency, computation, memory.

    .venv/bin/python bench/run.py                         # everything (about 7 minutes on 2 idle cores, longer on a busy machine)
    .venv/bin/python bench/run.py --only training,latency # some parts, for quick iteration
    .venv/bin/python bench/run.py --epochs 8 --changes 10

A full run writes ``bench/results/latest.md`` (the table) and ``bench/results/latest.json`` (every
number); a run of some parts writes ``bench/results/partial.md.tmp`` and ``partial.json.tmp`` instead.
The first run creates ``.venv-bench`` with ``bench/requirements.txt`` (PyTorch, TensorFlow, Keras) for
the peer trainers; nothing is installed into the app's environment. See ``bench/README.md``.

The machines are shared and their speed drifts, so results are ratios measured in one run: contenders
alternate epoch by epoch, and the matmul peak is measured between the epochs it is compared with.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARTS = ("training", "tuning", "computation", "why", "latency", "browser", "startup", "first_visit", "memory")
RESULTS = ROOT / "bench" / "results"
PEERS = ("PyTorch", "Keras")
LEARNING_RATE = 1e-3  # the peer comparison's setting, the same for every contender: Adam 1e-3, constant
EPOCH_TARGET_RATIO = 0.5
PEAK_TARGET_SHARE = 0.30
TUNING_VARIANTS = ["scan (as advx)", "unroll=4", "optax.flatten", "pregather", "unroll=4 + pregather + flatten"]
XLA_SETTINGS = {"XLA default (Eigen, 2 threads)": "", "single-threaded Eigen": "--xla_cpu_multi_thread_eigen=false"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def summary(seconds: list[float]) -> dict:
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds),
            "epochs_timed": len(seconds), "seconds": [round(s, 4) for s in seconds]}


def exact_epoch_flops(hidden: tuple[int, ...], batch: int, n_train: int) -> float:
    """Multiply-add FLOPs of one epoch: forward 2mk n per layer; backward the same for every weight
    gradient and for every input gradient except the first layer's (the pixels need none)."""
    sizes = (784, *hidden, 10)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    per_image = 2 * sum(a * b for a, b in pairs) * 2 + 2 * sum(a * b for a, b in pairs[1:])
    return per_image * (n_train // batch) * batch


def peer_data(tmp: Path, mnist, config) -> Path:
    """The verified arrays and advx's initial parameters for this config, for the peers (one .npz)."""
    import jax
    import numpy as np

    from advx.model import init_params

    init_key, _ = jax.random.split(jax.random.PRNGKey(config.seed))  # as advx.train.train does
    params = init_params(config.hidden, init_key)
    path = tmp / "mnist-and-init.npz"
    np.savez(path, x_train=mnist.train_images.reshape(len(mnist.train_images), -1), y_train=mnist.train_labels,
             x_test=mnist.test_images.reshape(len(mnist.test_images), -1), y_test=mnist.test_labels,
             **{f"{k}{i}": np.asarray(params[name][p]) for i, name in enumerate(("Layer_1", "Layer_2", "output"), 1)
                for k, p in (("w", "kernel"), ("b", "bias"))})
    return path


# --------------------------------------------------------------------------------------------
# Training: advx against PyTorch and Keras, epoch by epoch


def part_training(ctx) -> dict:
    import jax
    import numpy as np

    from advx.config import TrainConfig
    from advx.train import train
    from bench import peers as P
    from bench.train_speed import epoch_flops, matmul_peak_gflops

    P.ensure_env(log)
    config = TrainConfig(learning_rate=LEARNING_RATE, schedule="constant", epochs=ctx.epochs)
    npz = peer_data(ctx.tmp, ctx.mnist, config)
    contenders = [P.framework_peer(name, npz, epochs=config.epochs, lr=config.learning_rate,
                                   batch=config.batch_size, seed=config.seed, log_dir=ctx.tmp) for name in PEERS]
    try:
        infos = {p.name: p.ask("info") for p in contenders}
        seconds = {p.name: [] for p in contenders}
        peaks: list[float] = []
        loads: list[list[float]] = []

        def after_advx_epoch(done, total, metrics):
            if done == 0:
                return
            k = done % len(contenders)  # rotate the peers' order round by round
            for peer in contenders[k:] + contenders[:k]:
                seconds[peer.name].append(peer.ask("epoch")["seconds"])
            peaks.append(matmul_peak_gflops(repeats=5))
            loads.append(load())
            log(f"  epoch {done}/{total}: advx {metrics['epoch_seconds']:.3f} s, "
                + ", ".join(f"{n} {s[-1]:.3f} s" for n, s in seconds.items()) + f"; peak {peaks[-1]:.0f} GFLOP/s; "
                f"load {loads[-1][0]}")

        run = train(config, ctx.mnist, after_advx_epoch)
        accuracy = {p.name: p.ask("eval")["test_acc"] for p in contenders}
    finally:
        for peer in contenders:
            peer.close()

    same_init = bool(np.array_equal(np.load(npz)["w1"], np.asarray(run.params_at(0)["Layer_1"]["kernel"])))
    advx_seconds = list(run.history["epoch_seconds"])
    out = {"setting": {"network": "784-64-64-10 ReLU", "optimizer": "Adam 1e-3 (constant), eps 1e-8",
                       "batch": config.batch_size, "epochs": config.epochs, "warm_up_epochs": 1,
                       "data": "the verified MNIST arrays of advx.data.load_mnist(), identical for all",
                       "initial_weights": "advx's initialisation (seed 0), copied into every framework",
                       "same_initial_weights_checked": same_init,
                       "threads": "2 intra-op threads everywhere (the machine's cores): JAX/XLA's default Eigen "
                                  "pool; torch.set_num_threads(2), interop 1; TensorFlow intra-op 2, inter-op 1; "
                                  "OMP_NUM_THREADS=2",
                       "interleaving": "one advx epoch, then one epoch of each peer (order rotating), then a "
                                       "2048^2 matmul peak probe; epoch 1 (compilation, tracing) is not timed"},
           "peers": infos, "contenders": {}}
    out["contenders"]["advx"] = {**summary(advx_seconds[1:]), "test_acc": run.test_accuracy,
                                 "framework": f"JAX {jax.__version__}, jitted Flax/Optax epoch (lax.scan)",
                                 "first_epoch_s": advx_seconds[0]}
    for name in PEERS:
        out["contenders"][name] = {**summary(seconds[name][1:]), "test_acc": accuracy[name],
                                   "first_epoch_s": seconds[name][0]}
    advx_median = out["contenders"]["advx"]["median_s"]
    for name in PEERS:
        per_round = [a / b for a, b in zip(advx_seconds[1:], seconds[name][1:])]
        out["contenders"][name]["ratio_advx_over_peer"] = advx_median / out["contenders"][name]["median_s"]
        out["contenders"][name]["ratio_per_round_median"] = statistics.median(per_round)
    faster = min(PEERS, key=lambda n: out["contenders"][n]["median_s"])
    ratio = out["contenders"][faster]["ratio_advx_over_peer"]
    flops = exact_epoch_flops(config.hidden, config.batch_size, len(ctx.mnist.train_images))
    shares = [flops / a / 1e9 / p for a, p in zip(advx_seconds[1:], peaks[1:])]
    gflops = flops / advx_median / 1e9
    out["targets"] = {
        "epoch_ratio": {"faster_peer": faster, "ratio": ratio, "target": EPOCH_TARGET_RATIO,
                        "met": ratio <= EPOCH_TARGET_RATIO},
        "peak_share": {"epoch_gflop": flops / 1e9, "gflop_train_speed_convention": epoch_flops(
                           config, len(ctx.mnist.train_images)) / 1e9,
                       "advx_gflops": gflops, "peak_gflops_median": statistics.median(peaks[1:]),
                       "best_share": flops / min(advx_seconds[1:]) / 1e9 / max(peaks),
                       "peak_gflops_each": [round(p, 1) for p in peaks], "share": statistics.median(shares),
                       "target": PEAK_TARGET_SHARE, "met": statistics.median(shares) >= PEAK_TARGET_SHARE},
    }
    out["load_each_round"] = loads
    return out


# --------------------------------------------------------------------------------------------
# Tuning: variants of advx's epoch, and XLA's threading, raced the same way


def part_tuning(ctx) -> dict:
    from advx.config import TrainConfig
    from bench import peers as P

    config = TrainConfig(learning_rate=LEARNING_RATE, schedule="constant")
    npz = ctx.tmp / "mnist-and-init.npz"
    if not npz.exists():
        npz = peer_data(ctx.tmp, ctx.mnist, config)
    procs = [P.advx_variant_peer(label, npz, TUNING_VARIANTS, xla_flags=" ".join(
        f for f in (os.environ.get("XLA_FLAGS", ""), flags) if f), lr=LEARNING_RATE, batch=config.batch_size,
        log_dir=ctx.tmp) for label, flags in XLA_SETTINGS.items()]
    pairs = [(proc, v) for v in TUNING_VARIANTS for proc in procs]
    times: dict[tuple[str, str], list[float]] = {(p.name, v): [] for p, v in pairs}
    try:
        infos = {p.name: p.ask("info") for p in procs}
        for r in range(ctx.tuning_epochs):
            k = r % len(pairs)
            for proc, variant in pairs[k:] + pairs[:k]:
                times[(proc.name, variant)].append(proc.ask("epoch", variant=variant)["seconds"])
            log(f"  tuning round {r + 1}/{ctx.tuning_epochs} done; load {load()[0]}")
        accuracy = {(p.name, v): p.ask("eval", variant=v)["test_acc"] for p, v in pairs}
    finally:
        for proc in procs:
            proc.close()
    base = statistics.median(times[(procs[0].name, TUNING_VARIANTS[0])][1:])
    rows = []
    for (setting, variant), seconds in times.items():
        s = summary(seconds[1:])
        rows.append({"xla": setting, "variant": variant, **s, "first_epoch_s": seconds[0],
                     "vs_advx": s["median_s"] / base, "test_acc": accuracy[(setting, variant)]})
    return {"epochs": ctx.tuning_epochs, "processes": infos, "rows": rows, "around_the_scan": around_the_scan(ctx),
            "note": "each variant trains its own copy from the same initial weights with the same batch order; "
                    "'scan (as advx)' is advx.train._epoch_fn itself"}


INIT_PROBE = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
import jax
from advx.model import init_params
key = jax.random.split(jax.random.PRNGKey(0))[0]
start = time.perf_counter()
jax.block_until_ready(init_params((64, 64), key))
print(json.dumps(time.perf_counter() - start))
"""


def around_the_scan(ctx) -> dict:
    """What ``advx.train.train`` spends outside the scan: the first parameter initialisation in a fresh
    process (it compiles), and the test-set evaluation after every epoch."""
    import jax
    import jax.numpy as jnp

    from advx.model import init_params
    from advx.train import _evaluate_pixels

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "JAX_"))}
    init = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", INIT_PROBE, str(ROOT)], capture_output=True, text=True,
                              timeout=600, env=env)
        init.append(json.loads(done.stdout.strip().splitlines()[-1]))
    params = init_params((64, 64), jax.random.PRNGKey(0))
    x = jnp.asarray(ctx.mnist.test_images.reshape(len(ctx.mnist.test_images), -1))
    y = jnp.asarray(ctx.mnist.test_labels, jnp.int32)
    times = []
    for _ in range(ctx.repeats + 1):
        start = time.perf_counter()
        jax.block_until_ready(_evaluate_pixels(params, x, y))
        times.append(time.perf_counter() - start)
    return {"first_init_s": statistics.median(init), "first_init_each_s": init,
            "test_evaluation_s": statistics.median(times[1:]), "load": load()}


# --------------------------------------------------------------------------------------------
# Computation: the library's heavy steps, timed with the other bench scripts' own helpers


def part_computation(ctx) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from advx import attacks as A
    from advx import neurons, store
    from advx import subspace as S
    from advx.config import TrainConfig
    from advx.model import to_pixels
    from bench.attack_speed import clock
    from bench.subspace_speed import Clock, page_measurements

    mnist = ctx.mnist
    runs = {name: store.get_or_train(config, mnist) for name, config in S.comparison_configs(TrainConfig()).items()}
    run = runs["adam"]
    params = run.final_params
    train_f, test_f = to_pixels(mnist.train_images), to_pixels(mnist.test_images)
    train_u8 = mnist.train_images.reshape(len(train_f), -1)
    x, y = jnp.asarray(test_f), jnp.asarray(mnist.test_labels.astype(np.int32))
    r = ctx.repeats
    rows = {}

    def add(name, result, note=""):
        first, wall, cpu = result
        rows[name] = {"first_call_s": first, "median_s": wall, "cpu_s": cpu, "note": note}
        log(f"  {name:<60} {wall:7.3f} s (first call {first:.2f} s)")

    add("neuron statistics, all 138 neurons, 60,000 training images",
        clock(lambda: neurons.neuron_stats(params, train_u8), r), "max activation and firing rate per neuron")
    add("effective weights + dataset averages, all neurons, 60,000 images",
        clock(lambda: (neurons.all_effective_weights(params), neurons.all_dataset_averages(params, train_u8)), r),
        "one epoch, uint8 images, one pass (advx.neurons)")
    from advx import derived
    add("one epoch's maps as a page computes them (advx.derived.epoch_maps)",
        clock(lambda: derived.epoch_maps(run, run.n_epochs, train_u8), r),
        "the every-epoch job's pass for the epoch's group of 4, in chunks: the same bits as that job")
    add(f"every-epoch neuron results ({run.n_epochs + 1} epochs; advx.derived, background job of the app)",
        clock(lambda: derived.epoch_results(run, train_u8), 1),
        "averages, measures, statistics of all 138 neurons at every epoch; read back from disk afterwards")
    patterns = A.output_patterns(params)
    add("overlay sweep, 25 eps x 10 targets x 10,000 test images",
        clock(lambda: A.overlay_sweep(params, x, patterns, np.arange(10), A.EPS_GRID["linf"], "linf"), r),
        "L-inf, effective-weight patterns, route auto")
    add("PGD-40, L-inf eps 0.3, untargeted, 10,000 test images",
        clock(lambda: A.pgd(A.as_model_fn(params), x, y, 0.3, jax.random.key(0), steps=40,
                            rel_step_size=0.01 / 0.3), r))
    add("PCA of the 60,000 training images (fit_subspace)", clock(lambda: S.fit_subspace(train_u8), r),
        "uint8 in chunks, as the app")
    sub = S.fit_subspace(train_u8)
    k = sub.k_for(0.95)
    first = Clock()
    page_measurements(first, sub, k, runs, train_u8, test_f, mnist.test_labels)
    again = Clock()
    page_measurements(again, sub, k, runs, train_u8, test_f, mnist.test_labels)
    rows["subspace measurements of 'Why it happens' (k for 95%)"] = {
        "first_call_s": first.total(), "median_s": again.total(), "cpu_s": None,
        "note": f"k = {k}; bench/subspace_speed.py's page_measurements, second pass",
        "steps_s": {label: t for label, t in again.rows}}
    log(f"  {'subspace measurements (k = %d)' % k:<60} {again.total():7.3f} s (first {first.total():.2f} s)")
    return {"repeats": r, "rows": rows}


# --------------------------------------------------------------------------------------------
# The other parts live in their own modules


def part_latency(ctx) -> dict:
    from bench import latency

    return {"changes": ctx.changes, "pages": latency.measure(ctx.changes, log=log)}


def part_browser(ctx) -> dict:
    from bench import browser_latency
    from browser_support import registered_pages

    return browser_latency.run(registered_pages(), ctx.changes)


def part_startup(ctx) -> dict:
    from bench import startup

    return startup.measure(ctx.tmp)


def part_why(ctx) -> dict:
    from bench import why_first_visit

    return why_first_visit.measure()


def part_first_visit(ctx) -> dict:
    from bench import first_visit

    return first_visit.measure(ctx.tmp / "first_visit")


def part_memory(ctx) -> dict:
    from bench import memory

    out = memory.measure(ctx.tmp, log=lambda m: log(m))
    if ctx.memory_compute:  # the setting: an empty cache but MNIST, one visitor and then two at once
        out["computed_one"] = memory.measure(ctx.tmp / "one", log=lambda m: log(m), compute=True)
        out["computed_two"] = memory.measure(ctx.tmp / "two", log=lambda m: log(m), compute=True, sessions=2)
    return out


FUNCTIONS = {"training": part_training, "tuning": part_tuning, "computation": part_computation, "why": part_why,
             "latency": part_latency, "browser": part_browser, "startup": part_startup, "first_visit": part_first_visit,
             "memory": part_memory}


# --------------------------------------------------------------------------------------------
# Output


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def meta(args) -> dict:
    import jax

    return {"date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "commit": _git_commit(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
            "python": platform.python_version(), "jax": jax.__version__, "parts": args.only,
            "load_at_start": load(), "xla_flags": os.environ.get("XLA_FLAGS", "")}


def _ms(s: float) -> str:
    return f"{s * 1000:.0f} ms"


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def _failed(results: dict, part: str) -> str | None:
    if part not in results:
        return "not run"
    if "error" in results[part]:
        return f"failed: {results[part]['error'].splitlines()[0][:200]}"
    return None


def _target_part(rows: list[str], results: dict, part: str, label: str):
    """A part's results for the targets table, or ``None`` after adding a row saying it failed or did not run."""
    failed = _failed(results, part)
    if failed:
        rows.append(f"| {label} | {failed} | – |")
        return None
    return results[part]


def _browser_targets(rows: list[str], results: dict) -> None:
    from bench import browser_latency as B

    b = _target_part(rows, results, "browser", "browser targets")
    if b is None:
        return
    pages, v = b["pages"], b["verdicts"]
    slowest = max(pages.values(), key=lambda p: p["link"]["median_s"])
    changes = [p for p in pages.values() if p["change"].get("widget")]
    median = max(changes, key=lambda p: p["change"]["median_s"])
    p95 = max(changes, key=lambda p: p["change"]["p95_s"])
    rows += [f"| every page complete from a link ≤ {B.LINK_TARGET_S:g} s (warm server, chromium) | slowest "
             f"{slowest['title']} {slowest['link']['median_s']:.2f} s | {_verdict(v['link'])} |",
             f"| widget change to the last change of the page: median ≤ {_ms(B.CHANGE_MEDIAN_TARGET_S)} on every page "
             f"| slowest {median['title']} {_ms(median['change']['median_s'])} | {_verdict(v['change_median'])} |",
             f"| … p95 ≤ {_ms(B.CHANGE_P95_TARGET_S)} on every page | slowest {p95['title']} "
             f"{_ms(p95['change']['p95_s'])} | {_verdict(v['change_p95'])} |",
             f"| a stroke on Draw a digit: median ≤ {_ms(B.STROKE_MEDIAN_TARGET_S)} | {_ms(b['stroke']['median_s'])} | "
             f"{_verdict(v['stroke'])} |"]


def _target_rows(results: dict) -> list[str]:
    rows = []
    _browser_targets(rows, results)
    t = _target_part(rows, results, "training", "training targets")
    if t is not None:
        e, p = t["targets"]["epoch_ratio"], t["targets"]["peak_share"]
        c = t["contenders"]
        rows.append(f"| advx's median epoch ≤ {EPOCH_TARGET_RATIO} × the faster peer's | {e['ratio']:.2f} × "
                    f"({c['advx']['median_s']:.3f} s against {e['faster_peer']} {c[e['faster_peer']]['median_s']:.3f} s)"
                    f" | {_verdict(e['met'])} |")
        rows.append(f"| advx ≥ {PEAK_TARGET_SHARE:.0%} of the float32 matmul peak at batch 128 | {p['share']:.1%} "
                    f"({p['advx_gflops']:.1f} of {p['peak_gflops_median']:.0f} GFLOP/s) | {_verdict(p['met'])} |")
    s = _target_part(rows, results, "startup", "start-up targets")
    if s is not None:
        rows.append(f"| cold start to a trained, rendered Train page ≤ 20 s | {s['cold']['seconds']:.1f} s | "
                    f"{_verdict(s['cold']['seconds'] <= s['cold']['target_s'])} |")
        if "seconds" in s["warm"]:
            rows.append(f"| warm start to a rendered Effective weights page ≤ 5 s | {s['warm']['seconds']:.1f} s | "
                        f"{_verdict(s['warm']['seconds'] <= s['warm']['target_s'])} |")
        else:
            rows.append(f"| warm start ≤ 5 s | {s['warm'].get('skipped')} | – |")
    lat = _target_part(rows, results, "latency", "latency targets")
    if lat is not None:
        pages = {k: v for k, v in lat["pages"].items() if "p95_s" in v}
        others = {k: v for k, v in pages.items() if k != "views/overlay.py"}
        if others:
            worst = max(others, key=lambda k: others[k]["p95_s"])
            missed = [Path(k).stem for k, v in others.items() if not v["met"]]
            rows.append(f"| every page's widget rerun p95 ≤ 300 ms | worst: {Path(worst).stem} "
                        f"{_ms(others[worst]['p95_s'])}" + (f"; over: {', '.join(missed)}" if missed else "")
                        + f" | {_verdict(not missed)} |")
        ov = lat["pages"].get("views/overlay.py", {})
        if "p95_s" in ov:
            rows.append(f"| overlay ε slider p95 ≤ 200 ms | {_ms(ov['p95_s'])} | {_verdict(ov['met'])} |")
        else:
            rows.append(f"| overlay ε slider p95 ≤ 200 ms | {ov.get('skipped') or ov.get('error', 'n/a')} | – |")
    w = _target_part(rows, results, "why", "“Why it happens” first visit")
    if w is not None:
        usual = max(w["after_training"]["seconds"], w["restarted"]["seconds"])
        rows.append(f"| “Why it happens”: first visit ≤ 3 s (#5) | {w['after_training']['seconds']:.1f} s on the usual "
                    f"path (the run shown on the Train page first); {w['restarted']['seconds']:.1f} s after a server "
                    f"restart; {w['bare']['seconds']:.1f} s as a link to a server that never computed any of it | "
                    f"{_verdict(usual <= w['target_s'])} on the usual path and after a restart; "
                    f"{_verdict(w['bare']['seconds'] <= w['target_s'])} for the bare link |")
    fv = _target_part(rows, results, "first_visit", "first-visit targets")
    if fv is not None:
        r, n = fv["targets"]["restart_complete_s"], fv["targets"]["new_server_first_section_s"]
        rows.append(f"| every page complete ≤ 3 s after a server restart | worst {r['worst']:.2f} s | "
                    f"{_verdict(r['met'])} |")
        rows.append(f"| brand-new server, a link to any page: first section ≤ 2 s after the default run is trained | "
                    f"worst {n['worst']:.2f} s | {_verdict(n['met'])} |")
    m = _target_part(rows, results, "memory", "memory target")
    if m is not None:
        rows.append(f"| peak RSS of the server after visiting every page ≤ 1 GB | {m['peak_mb']:.0f} MB | "
                    f"{_verdict(m['met'])} |")
    return rows


def _part(out: list[str], results: dict, part: str, title: str):
    """Append a part's heading, and its failure if it failed; return its results, or ``None`` if it failed."""
    out += [f"## {title}", ""]
    failed = _failed(results, part)
    if failed:
        out += [failed, ""]
        return None
    return results[part]


def _browser_section(results: dict) -> list[str]:
    """What a person waits for in chromium (``bench/browser_latency.py``), the server-side rerun beside it."""
    from bench import browser_latency as B

    out: list[str] = []
    b = _part(out, results, "browser", "In the browser: from a link, a widget change, a stroke")
    if b is None:
        return out
    server = {} if _failed(results, "latency") else {Path(k).stem: v for k, v in results["latency"]["pages"].items()}
    out += ["Measured in chromium from the navigation's start or the input event to the last change of the page "
            f"(no change for {B.QUIET_S:g} s after it). The last column is the server's rerun alone (AppTest), "
            "which leaves out the browser's drawing.", "",
            f"| page | from a link (≤ {B.LINK_TARGET_S:g} s) | widget | change: median (≤ "
            f"{_ms(B.CHANGE_MEDIAN_TARGET_S)}) | p95 (≤ {_ms(B.CHANGE_P95_TARGET_S)}) | server rerun p95 |",
            "|---|---|---|---|---|---|"]
    for name, page in b["pages"].items():
        change, rerun = page["change"], server.get(name, {})
        cells = ((_ms(change["median_s"]), _ms(change["p95_s"])) if change.get("widget") else ("–", "–"))
        out.append(f"| {page['title']} | {page['link']['median_s']:.2f} s | {change.get('widget') or 'none'} | "
                   f"{cells[0]} | {cells[1]} | {_ms(rerun['p95_s']) if 'p95_s' in rerun else '–'} |")
    s = b["stroke"]
    out += ["", f"A stroke on Draw a digit: median {_ms(s['median_s'])}, p95 {_ms(s['p95_s'])} over {s['n']} strokes "
            f"(target: median ≤ {_ms(B.STROKE_MEDIAN_TARGET_S)}). Load average {b['load_before']:.1f} before, "
            f"{b['load_after']:.1f} after.", ""]
    return out


def markdown(results: dict) -> str:
    """The results as a markdown page: targets first, then every part."""
    m = results["meta"]
    out = ["# advx benchmarks", "",
           f"Run {m['date_utc']} UTC at commit `{m['commit']}` with `bench/run.py` ({', '.join(m['parts'])}); "
           f"{m['machine']}; Python {m['python']}, JAX {m['jax']}. Load average (1, 5, 15 min) "
           f"{m['load_at_start']} at the start, {m.get('load_at_end')} at the end; the whole run took "
           f"{m.get('wall_s', 0) / 60:.1f} min. The machine is shared, so absolute times drift: compare "
           "within this run only.", "", "## Targets", "", "| target | measured | verdict |", "|---|---|---|",
           *_target_rows(results), ""]

    t = _part(out, results, "training", "Training: advx against PyTorch and Keras")
    if t is not None:
        st = t["setting"]
        out += [f"{st['network']}, {st['optimizer']}, batch {st['batch']}, {st['epochs']} epochs each "
                f"(epoch 1 untimed: compilation and tracing); {st['data']}; {st['initial_weights']} "
                f"(checked: {st['same_initial_weights_checked']}). Threads: {st['threads']}. "
                f"Interleaving: {st['interleaving']}.", "",
                "| contender | median epoch | min | max | epoch 1 | test accuracy | advx / peer (medians) "
                "| advx / peer (median of per-round ratios) |", "|---|---|---|---|---|---|---|---|"]
        for name, c in t["contenders"].items():
            if name == "advx":
                label = f"advx ({c['framework']})"
                ratios = "– | –"
            else:
                info = t["peers"][name]
                label = (f"PyTorch {info['version']} eager" if name == "PyTorch" else
                         f"Keras {info['version']} `model.fit` on TensorFlow {info['tensorflow']} "
                         f"(jit_compile {info['jit_compile']})")
                ratios = f"{c['ratio_advx_over_peer']:.2f} | {c['ratio_per_round_median']:.2f}"
            out.append(f"| {label} | {c['median_s']:.3f} s | {c['min_s']:.3f} s | {c['max_s']:.3f} s | "
                       f"{c['first_epoch_s']:.2f} s | {c['test_acc']:.2%} | {ratios} |")
        p = t["targets"]["peak_share"]
        out += ["", f"advx: {p['epoch_gflop']:.1f} GFLOP per epoch (forward, weight gradients, hidden-input "
                f"gradients; `bench/train_speed.py`'s 3 × forward convention gives {p['gflop_train_speed_convention']:.1f}) "
                f"in {t['contenders']['advx']['median_s']:.3f} s = {p['advx_gflops']:.1f} GFLOP/s. Matmul peak "
                f"(float32 2048² `jnp` matmul, best of 5, after every round): median {p['peak_gflops_median']:.0f} "
                f"GFLOP/s (each round: {', '.join(map(str, p['peak_gflops_each']))}). Share of the peak, median over "
                f"rounds of (advx GFLOP/s ÷ that round's peak): **{p['share']:.1%}**; advx's best epoch against the best "
                f"peak: {p['best_share']:.1%}.", ""]

    tu = _part(out, results, "tuning", "What limits advx's epoch: variants raced the same way") if "tuning" in results else None
    if tu is not None:
        out += [f"Each variant of advx's jitted epoch trains its own copy from the same weights with the same "
                f"batches, in two processes that differ only in `XLA_FLAGS`; {tu['epochs']} epochs each (the "
                f"first untimed), interleaved. `vs advx`: median epoch ÷ advx's own epoch under XLA's default.",
                "", "| XLA threading | variant | median epoch | min | max | vs advx | test accuracy |",
                "|---|---|---|---|---|---|---|"]
        for r in tu["rows"]:
            out.append(f"| {r['xla']} | {r['variant']} | {r['median_s']:.3f} s | {r['min_s']:.3f} s | "
                       f"{r['max_s']:.3f} s | {r['vs_advx']:.2f} | {r['test_acc']:.2%} |")
        a = tu.get("around_the_scan")
        if a:
            out += ["", f"Around the scan, in `train`: the first parameter initialisation in a fresh process "
                    f"(`init_params`, which compiles) takes {a['first_init_s']:.1f} s (median of 2); the test-set "
                    f"evaluation after every epoch {a['test_evaluation_s']:.3f} s (load {a['load'][0]:.1f})."]
        out.append("")

    s = _part(out, results, "startup", "Cold and warm start (headless chromium)")
    if s is not None:
        out += ["| start | what is timed | seconds | server answering after |", "|---|---|---|---|",
                f"| cold | empty cache folder but `mnist.npz`: `streamlit run` until the Train page has trained the "
                f"default network and drawn its curves | {s['cold']['seconds']:.1f} s | "
                f"{s['cold']['server_answering_s']:.1f} s |"]
        if "seconds" in s["warm"]:
            out.append(f"| warm | the run and XLA's compiled programs stored: `streamlit run` until Effective weights "
                       f"shows its 3 map grids and its table | {s['warm']['seconds']:.1f} s | {s['warm']['server_answering_s']:.1f} s |")
        out.append("")
        for start, title in (("cold", "Cold start"), ("warm", "Warm start")):
            marks = s.get(start, {}).get("milestones_s")
            if marks:
                out.append(f"{title}, seconds after `Popen` (seen by the browser): server answering "
                           f"{s[start]['server_answering_s']:.1f}, " + ", ".join(
                               f"{name.replace('_', ' ')} {t:.1f}" for name, t in marks.items())
                           + f", rendered {s[start]['seconds']:.1f}. A second visitor on that server (its caches "
                           f"full) waits {s[start].get('second_visitor_s', float('nan')):.1f} s.")
        a = s.get("cold_path_anatomy")
        if a:
            out.append(f"The cold path without server or browser, in a fresh interpreter: imports {a['imports_s']:.1f} s, "
                       f"data {a['load_mnist_s']:.1f} s, set-up before the first epoch (parameter initialisation, "
                       f"data to the device) {a['before_first_epoch_s']:.1f} s, first epoch (compiles) "
                       f"{a['first_epoch_s']:.1f} s, the other 14 epochs {a['other_epochs_s']:.1f} s, the per-epoch "
                       f"evaluation and snapshots {a['evaluation_and_snapshots_s']:.1f} s, storing the run "
                       f"{a['store_save_s']:.1f} s: {a['total_s']:.1f} s in all (load {a['load'][0]:.1f}).")
        out += ["", f"Browser: `{s['browser']}`.", ""]

    lat = _part(out, results, "latency", "Interaction latency (AppTest, server-side rerun)")
    if lat is not None:
        out += [f"{lat['changes']} changes of each page's main widget after a first visit; `st.cache_data` "
                "cleared before each page, so new values cost what they cost a fresh session. AppTest reruns the whole "
                "script, also for a widget inside an `st.fragment` (the overlay's ε slider), so that row is an "
                "upper bound of the fragment's own rerun.", "",
                "| page | widget | median | p95 | max | first visit | target p95 | verdict |",
                "|---|---|---|---|---|---|---|---|"]
        for page, r in lat["pages"].items():
            if "p95_s" in r:
                out.append(f"| {Path(page).stem} | {r['widget']} | {_ms(r['median_s'])} | {_ms(r['p95_s'])} | "
                           f"{_ms(r['max_s'])} | {r['first_visit_s']:.1f} s | {_ms(r['target_p95_s'])} | "
                           f"{_verdict(r['met'])} |")
            else:
                out.append(f"| {Path(page).stem} | {r['widget']} | {r.get('skipped') or r.get('error')} "
                           "| | | | | – |")
        out.append("")

    c = _part(out, results, "computation", "Computation (library calls, in the benchmark's process)")
    if c is not None:
        out += ["| step | median | first call (compiles) | note |", "|---|---|---|---|"]
        for name, r in c["rows"].items():
            out.append(f"| {name} | {r['median_s']:.3f} s | {r['first_call_s']:.2f} s | {r['note']} |")
        out.append("")

    w = _part(out, results, "why", "First visit of “Why it happens” (the real page, AppTest, fresh process)")
    if w is not None:
        from bench.why_first_visit import STATES

        out += ["The page's whole script, in a fresh interpreter, in three states that the app itself leaves "
                "(`bench/why_first_visit.py`): each starts from the verified data and the four stored runs.", "",
                "| state | seconds | background work before the visit | load |", "|---|---|---|---|"]
        for state, words in STATES.items():
            background = w[state].get("background_s") or 0.0
            out.append(f"| {words} | {w[state]['seconds']:.2f} s | {f'{background:.1f} s' if background else '–'} | "
                       f"{w[state]['load']:.1f} |")
        out.append("")

    fv = _part(out, results, "first_visit", "Every page's first visit (headless chromium, `bench/first_visit.py`)")
    if fv is not None:
        from bench.first_visit import table

        out += ["After a restart: a new server on a cache folder that an earlier server filled by showing every page; "
                "timed from opening the link until the page is complete (nothing waited for, every chart drawn). "
                "Brand-new server: a cache folder with only the verified MNIST; timed from the moment the default "
                "run's file is stored (it trains on the way) until the page's first section shows.", "",
                table(fv), ""]

    out += _browser_section(results)
    mem = _part(out, results, "memory", "Memory of the server")
    if mem is not None:
        out += [f"Peak resident set of the Streamlit server and its children while one browser session visits "
                f"every page with the default run: **{mem['peak_mb']:.0f} MB** (sampled every 100 ms: "
                f"{mem['sampled_tree_peak_mb']:.0f} MB; the kernel's high-water mark of the server process: "
                f"{mem['server_vmhwm_mb']:.0f} MB).", "",
                "| visiting | seconds | RSS after | sampled peak during the visit |", "|---|---|---|---|"]
        for page, v in mem["visits"].items():
            during = v.get("sampled_peak_during_mb")
            out.append(f"| {page} | {v['seconds']:.1f} s | {v['tree_rss_after_mb']:.0f} MB | "
                       f"{'' if during is None else f'{during:.0f} MB'} |")
        out.append("")
        for key, who in (("computed_one", "one browser session"), ("computed_two", "two sessions at once")):
            if key in mem:
                c = mem[key]
                out += [f"On a server that computes everything (an empty cache but MNIST), {who} visiting every page "
                        f"until it shows all its results: peak **{c['peak_mb']:.0f} MB** (target "
                        f"{c['target_mb']:.0f} MB: {_verdict(c['met'])}).", ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="advx's benchmarks; writes bench/results/.")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--epochs", type=int, default=6, help="training epochs per contender, the first untimed")
    parser.add_argument("--tuning-epochs", type=int, default=5, help="epochs per advx variant, the first untimed")
    parser.add_argument("--changes", type=int, default=20, help="widget changes per page for the latency")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per computation after the first call")
    parser.add_argument("--memory-compute", action="store_true",
                        help="memory also on a server that computes everything (an empty cache but MNIST; long)")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        parser.error(f"unknown parts {unknown}; choose from {', '.join(PARTS)}")
    if args.epochs < 6 or args.tuning_epochs < 2:
        parser.error("--epochs must be at least 6 (one warm-up and at least five timed epochs); "
                     "--tuning-epochs at least 2")
    args.only = parts
    os.chdir(ROOT)

    from advx.data import load_mnist

    started = time.perf_counter()
    results = {"meta": meta(args)}
    with tempfile.TemporaryDirectory(prefix="advx-bench-") as tmp:
        ctx = argparse.Namespace(mnist=load_mnist(), tmp=Path(tmp), epochs=args.epochs,
                                 tuning_epochs=args.tuning_epochs, changes=args.changes, repeats=args.repeats,
                                 memory_compute=args.memory_compute)
        for part in PARTS:
            if part not in parts:
                continue
            log(f"{part} (load {load()[0]})")
            t0, before = time.perf_counter(), load()
            try:
                results[part] = FUNCTIONS[part](ctx)
            except Exception as exc:  # a failed part is reported; the others still run
                results[part] = {"error": f"{type(exc).__name__}: {exc}"[:2000],
                                 "traceback": traceback.format_exc()[-3000:]}
                log(f"  {part} FAILED: {type(exc).__name__}: {exc}")
            results[part]["wall_s"] = time.perf_counter() - t0
            results[part]["load_before_after"] = [before, load()]
    results["meta"]["load_at_end"] = load()
    results["meta"]["wall_s"] = time.perf_counter() - started

    RESULTS.mkdir(parents=True, exist_ok=True)
    full = set(parts) == set(PARTS)
    stem, suffix = ("latest", "") if full else ("partial", ".tmp")
    table = markdown(results)
    (RESULTS / f"{stem}.md{suffix}").write_text(table)
    (RESULTS / f"{stem}.json{suffix}").write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(table)
    log(f"wrote {RESULTS / f'{stem}.md{suffix}'} and {stem}.json{suffix} in {results['meta']['wall_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
