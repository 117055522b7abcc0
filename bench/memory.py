"""Peak memory of the Streamlit server while one browser visits every page with the default run.

A server is started on a cache folder holding the verified data and the default run (the comparison runs
of "Why it happens" are copied in from the normal cache when they are there, so that page does not train
them). A headless browser opens every registered page in navigation order, in one session, and waits for
each to finish. Meanwhile the resident set size of the server and all its descendants is summed every
100 ms (``/proc/<pid>/status`` ``VmRSS``); the kernel's own high-water mark of the server process
(``VmHWM``) is read at the end. The larger of the two is the peak that is compared with 1 GB.

Run alone: ``.venv/bin/python bench/memory.py`` (or ``bench/run.py --only memory``).
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.startup import ERRORS, Server, browser, new_page, seed_cache  # noqa: E402

TARGET_BYTES = 1 << 30  # one visitor
TWO_SESSIONS_TARGET_BYTES = 3 << 29  # two at once: 1.5 GB
SETTLE_S = 1.0


def registered_pages() -> list[str]:
    """URL paths of the pages in ``ui.story``'s ``PAGES`` table whose files exist, in order."""
    tree = ast.parse((ROOT / "ui" / "story.py").read_text())  # the table streamlit_app.py registers
    table = next(ast.literal_eval(node.value) for node in ast.walk(tree)
                 if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets))
    return [("" if path == "views/home.py" else Path(path).stem)
            for entries in table.values() for path, _title, _icon in entries if (ROOT / path).exists()]


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            ppid = int(text[text.rindex(")") + 2:].split()[1])
            tree.setdefault(ppid, []).append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return tree


def tree_rss_bytes(pid: int) -> int:
    """Summed ``VmRSS`` of ``pid`` and all its descendants."""
    tree, total, todo = _children(), 0, [pid]
    while todo:
        p = todo.pop()
        total += _status_kb(p, "VmRSS") * 1024
        todo += tree.get(p, [])
    return total


class Sampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.peak, self.samples, self.stopped = 0, 0, threading.Event()
        self.label, self.peaks = "start", {}  # the page being visited, and the peak seen during each visit
        self.trace: list[tuple[float, int]] = []  # (wall time, bytes) of every sample

    def run(self) -> None:
        while not self.stopped.is_set():
            rss = tree_rss_bytes(self.pid)
            self.peak = max(self.peak, rss)
            self.peaks[self.label] = max(self.peaks.get(self.label, 0), rss)
            self.trace.append((time.time(), rss))
            self.samples += 1
            self.stopped.wait(self.every_s)


def job_peaks(log_path: Path, trace: list[tuple[float, int]], top: int = 8) -> list[dict]:
    """The background jobs the server logged (``ui.jobs``' ``ADVX_JOB_LOG``) with the server's RSS when each started
    and its peak while it ran (other work may overlap), highest peak first."""
    starts, phases, out = {}, {}, []
    try:
        lines = log_path.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split("\t")
        if len(parts) not in (3, 4):
            continue
        at, event, label = float(parts[0]), parts[1], parts[2]
        if event == "start":
            starts[label], phases[label] = at, []
        elif event == "phase" and len(parts) == 4:
            phases.setdefault(label, []).append((at, parts[3]))
        elif event == "end" and label in starts:
            begin = starts.pop(label)
            during = [rss for t, rss in trace if begin <= t <= at + 0.2]
            before = [rss for t, rss in trace if t <= begin]
            peak_at = max(((rss, t) for t, rss in trace if begin <= t <= at + 0.2), default=(0, begin))[1]
            out.append({"job": label, "seconds": round(at - begin, 1),
                        "rss_at_start_mb": round((before[-1] if before else 0) / 2**20),
                        "peak_mb": round(max(during, default=0) / 2**20),
                        "results_kept_after_mb": round(int(parts[3]) / 2**20) if len(parts) == 4 else None,
                        "phase_at_peak": next((text for t, text in reversed(phases.get(label, [])) if t <= peak_at),
                                              None),
                        "_span": (begin, at), "_peak_at": peak_at})
    for job in out:  # the other jobs running at the moment of this one's peak
        job["alongside_at_peak"] = [other["job"] for other in out if other is not job
                                    and other["_span"][0] <= job["_peak_at"] <= other["_span"][1]]
    for job in out:
        del job["_span"], job["_peak_at"]
    return sorted(out, key=lambda j: -j["peak_mb"])[:top]


def held(report: Path, page: str) -> dict:
    """What the server said it held after its last script run of ``page`` (``ui.startup.report_memory``'s line):
    the live JAX arrays, the Streamlit caches, the finished jobs' results and the allocator's heap."""
    import json

    last = {}
    try:
        for line in report.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("page") == page:
                last = entry
    except (OSError, ValueError):
        pass
    return last


def summary(entry: dict) -> str:
    if not entry:
        return "no report"
    caches = entry.get("caches_mb") or {}
    cached = sum(v for v in caches.values() if isinstance(v, (int, float)))
    return (f"RSS {entry.get('rss_mb', 0):.0f} MB ({entry.get('file_mb') or 0:.0f} of it files: code), "
            f"{entry.get('compiled_programs')} compiled programs, JAX arrays {entry.get('jax_arrays_mb', 0):.0f}, "
            f"Streamlit caches {cached:.0f} (NumPy), job results {entry.get('job_results_mb', 0):.0f}; "
            f"heap {entry.get('heap_mb', 0):.0f} ({entry.get('heap_in_use_mb', 0):.0f} in use, "
            f"{entry.get('heap_free_mb', 0):.0f} free), own mappings {entry.get('mapped_blocks_mb', 0):.0f}")


def wait_idle(page, timeout_s: float = 900) -> None:
    """Until the script has finished and stayed finished for ``SETTLE_S`` with no status widget."""
    deadline, quiet = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        if page.locator(ERRORS).count():
            raise RuntimeError(f"{page.url} shows an error: {page.locator(ERRORS).first.inner_text()[:500]}")
        state = page.get_attribute("[data-testid='stApp']", "data-test-script-state")
        idle = (state == "notRunning" and page.locator("[data-testid='stStatusWidget']").count() == 0
                and page.locator("[data-testid='stMain'] h1").count() > 0)
        if idle:
            quiet = quiet or time.monotonic()
            if time.monotonic() - quiet >= SETTLE_S:
                return
        else:
            quiet = None
        page.wait_for_timeout(100)
    raise RuntimeError(f"{page.url} was still running after {timeout_s:g} s")


def prepare_cache(cache_dir: Path) -> list[str]:
    """Data, the default run and (when stored in the normal cache) the comparison runs; returns run ids."""
    from advx import store
    from advx import subspace as S
    from advx.config import TrainConfig
    from advx.data import load_mnist
    from advx.paths import cache_dir as normal_cache

    seed_cache(cache_dir)
    mnist = load_mnist()
    configs = {"default": TrainConfig(), **S.comparison_configs(TrainConfig())}
    configs = {c.digest(): c for c in configs.values()}  # the default run is among the comparison runs
    copied = []
    for config in configs.values():
        source = normal_cache() / "runs" / f"{store.run_id(config, mnist.sha)}.npz"
        if source.exists():
            (cache_dir / "runs").mkdir(exist_ok=True)
            shutil.copyfile(source, cache_dir / "runs" / source.name)
            copied.append(source.stem)
    if store.run_id(TrainConfig(), mnist.sha) not in copied:
        import os

        os.environ["ADVX_CACHE_DIR"], saved = str(cache_dir), os.environ.get("ADVX_CACHE_DIR")
        try:
            store.get_or_train(TrainConfig(), mnist)
        finally:
            os.environ.pop("ADVX_CACHE_DIR") if saved is None else os.environ.__setitem__("ADVX_CACHE_DIR", saved)
    return copied


def wait_complete(page, timeout_s: float = 1800) -> None:
    """``wait_idle``, then until no section of the page waits for a background job ("Waiting for …" bars)."""
    deadline = time.monotonic() + timeout_s
    wait_idle(page, timeout_s)
    while time.monotonic() < deadline:
        bars = page.locator("[data-testid='stMain'] [data-testid='stProgress']").all_inner_texts()
        if not any("Waiting for" in b for b in bars):
            wait_idle(page, max(1.0, deadline - time.monotonic()))
            return
        page.wait_for_timeout(500)
    raise RuntimeError(f"{page.url} still waits for its jobs after {timeout_s:g} s")


def measure(work_dir: Path, log=print, *, sessions: int = 1, compute: bool = False) -> dict:
    """Peak memory while ``sessions`` browser sessions visit every page at once. ``compute``: the cache holds only
    MNIST, so the server computes everything the pages show (as on Community Cloud after a restart), and each
    visit waits until its page shows every result."""
    work_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = work_dir / "cache-memory"
    if cache_dir.exists():
        shutil.rmtree(cache_dir)
    if compute:
        seed_cache(cache_dir)
        copied = []
    else:
        copied = prepare_cache(cache_dir)
    pages = registered_pages()
    job_log, report = work_dir / "jobs.log", work_dir / "memory-report.jsonl"
    os.environ["ADVX_JOB_LOG"], os.environ["ADVX_MEMORY_REPORT"] = str(job_log), str(report)  # the server inherits
    try:
        server = Server(cache_dir, work_dir / "server-memory.log")
    finally:
        os.environ.pop("ADVX_JOB_LOG")
        os.environ.pop("ADVX_MEMORY_REPORT")
    sampler = Sampler(server.pid)
    visits = {}
    try:
        server.wait_healthy()
        sampler.start()
        with browser() as chromium:
            tabs = [new_page(chromium) for _ in range(sessions)]
            for path in pages:
                sampler.label = path or "home"
                start = time.perf_counter()
                for page in tabs:
                    page.goto(f"{server.url}/{path}", wait_until="commit")
                for page in tabs:
                    (wait_complete if compute else wait_idle)(page)
                visits[path or "home"] = {"seconds": time.perf_counter() - start,
                                          "tree_rss_after_mb": tree_rss_bytes(server.pid) / 2**20,
                                          "sampled_peak_during_mb": sampler.peaks.get(path or "home", 0) / 2**20,
                                          "held_after": held(report, path)}
                log(f"  visited /{path}: {visits[path or 'home']['seconds']:.1f} s, "
                    f"server RSS {visits[path or 'home']['tree_rss_after_mb']:.0f} MB "
                    f"(peak during the visit {visits[path or 'home']['sampled_peak_during_mb']:.0f} MB); "
                    f"held: {summary(visits[path or 'home']['held_after'])}")
            for page in tabs:
                page.context.close()
        hwm = _status_kb(server.pid, "VmHWM") * 1024
        final = tree_rss_bytes(server.pid)
    finally:
        sampler.stopped.set()
        server.stop()
    peak = max(sampler.peak, hwm)
    jobs = job_peaks(job_log, sampler.trace)
    for job in jobs:
        log(f"  job {job['job']!r}: {job['seconds']:.1f} s, from {job['rss_at_start_mb']} MB to a peak of "
            f"{job['peak_mb']} MB; finished jobs then kept {job['results_kept_after_mb']} MB of results"
            + (f"; its peak came at {job['phase_at_peak']!r}" if job["phase_at_peak"] else "")
            + (f"; at its peak also running: {', '.join(job['alongside_at_peak'])}" if job["alongside_at_peak"] else ""))
    return {"pages_visited": list(visits), "visits": visits, "runs_copied_in": copied,
            "sampled_tree_peak_mb": sampler.peak / 2**20, "samples": sampler.samples,
            "server_vmhwm_mb": hwm / 2**20, "final_tree_rss_mb": final / 2**20, "peak_mb": peak / 2**20,
            "sessions": sessions, "computed": compute, "jobs_by_peak": jobs,
            "target_mb": (TARGET_BYTES if sessions == 1 else TWO_SESSIONS_TARGET_BYTES) / 2**20,
            "met": peak <= (TARGET_BYTES if sessions == 1 else TWO_SESSIONS_TARGET_BYTES)}


if __name__ == "__main__":
    import json

    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1, help="browser sessions visiting at once")
    parser.add_argument("--compute", action="store_true", help="an empty cache but MNIST: the server computes all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="advx-bench-memory-") as tmp:
        print(json.dumps(measure(Path(tmp), sessions=args.sessions, compute=args.compute), indent=2))
