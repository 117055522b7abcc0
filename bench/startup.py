"""Cold and warm start of the app, timed in a real headless browser.

- **Cold start**: an empty cache folder (a temporary ``ADVX_CACHE_DIR``) holding only the verified
  ``mnist.npz``. Timed from starting ``streamlit run streamlit_app.py`` until the Train page has trained
  the default network and drawn its learning curves.
- **Warm start**: the same folder, now holding the run. Timed from starting a new server until the
  Effective weights page is fully rendered (its three map grids drawn and its table shown). The app keeps
  XLA's compiled programs in ``<cache folder>/jax``: the cold start fills it, the warm start reads it.

"Rendered" means: the script has finished (``stApp``'s ``data-test-script-state`` is ``notRunning`` and no
status widget shows), the page's charts are drawn (``.js-plotly-plot`` inside each chart element, or ``.advx-chart``)
and its tables are present. The browser is started before the clock; the clock starts at ``Popen``.
Each start is followed by a second visitor on the same server, whose time (everything cached on the server)
is the share of the browser, the page's own script and the drawing.

Then, to say where a cold start's time goes, the same path runs without server or browser in a fresh
interpreter (``anatomy``): imports, data, training split into its parts, storing the run.

Run alone: ``.venv/bin/python bench/startup.py`` (or ``bench/run.py --only startup``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PAGE_TIMEOUT_S = 600
COLD_TARGET_S = 20.0
WARM_TARGET_S = 5.0
# A drawn chart: Plotly's (with "Interactive charts"), one drawn as HTML and SVG (advx.figures.svg) or a picture of maps
# (advx.figures.maps.picture); a table: the
# data grid or one drawn as HTML (ui.charts.table).
CHARTS = ("[data-testid='stMain'] [data-testid='stPlotlyChart'] .js-plotly-plot, "
          "[data-testid='stMain'] .advx-chart, [data-testid='stMain'] .advx-maps")
TABLES = "[data-testid='stMain'] [data-testid='stDataFrame'], [data-testid='stMain'] .advx-table"
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"

# What a fully rendered page shows: (drawn Plotly charts, tables) at least.
RENDERED = {"train": (1, 1), "effective_weights": (1, 1)}  # (charts, tables) of the first view


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run streamlit_app.py`` in its own process group, with the given cache folder."""

    def __init__(self, cache_dir: Path, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")
        env = dict(os.environ, ADVX_CACHE_DIR=str(cache_dir))
        env.pop("ADVX_MNIST_DIR", None)
        env.pop("XLA_FLAGS", None)  # the app as users run it
        env = {k: v for k, v in env.items() if not k.startswith("JAX_")}
        command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
                   "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_healthy(self, timeout_s: float = 120) -> float:
        """Seconds from start until ``/_stcore/health`` answers ``ok``."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"streamlit did not answer within {timeout_s:g} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(15)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()


@contextmanager
def browser():
    """Headless Debian chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    return context.new_page()


def rendered(page, charts: int, tables: int) -> bool:
    """The script has finished and the page shows at least ``charts`` drawn charts and ``tables`` tables."""
    state = page.get_attribute("[data-testid='stApp']", "data-test-script-state")
    return (state == "notRunning" and page.locator("[data-testid='stStatusWidget']").count() == 0
            and page.locator(CHARTS).count() >= charts and page.locator(TABLES).count() >= tables)


# Milestones seen by the browser on the way to a rendered page (first time each selector shows).
MILESTONES = {
    "page_title_shown": "[data-testid='stMain'] h1",
    "progress_bar_shown": "[data-testid='stMain'] [data-testid='stProgress']",
    "first_chart_drawn": CHARTS,
}


def raise_if_error(page) -> None:
    """Raise ``RuntimeError`` with the text of the error the page shows, if it shows one."""
    if page.locator(ERRORS).count():
        raise RuntimeError(f"{page.url} shows an error: {page.locator(ERRORS).first.inner_text()[:500]}")


def wait_rendered(page, charts: int, tables: int, timeout_s: float = PAGE_TIMEOUT_S) -> tuple[float, dict]:
    """Poll every 50 ms until ``rendered``. Returns ``time.perf_counter()`` at that moment and the
    moments each of ``MILESTONES`` was first seen (plus ``progress_bar_last_seen``: the last poll that
    showed a progress bar: data loading, then training)."""
    seen: dict[str, float] = {}
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        raise_if_error(page)
        for name, selector in MILESTONES.items():
            if name not in seen and page.locator(selector).count():
                seen[name] = now
        if "progress_bar_shown" in seen and page.locator(MILESTONES["progress_bar_shown"]).count():
            seen["progress_bar_last_seen"] = now
        if page.locator("[data-testid='stApp']").count() and rendered(page, charts, tables):
            for name, selector in MILESTONES.items():  # what appeared while this poll ran
                if name not in seen and page.locator(selector).count():
                    seen[name] = now
            return now, seen
        page.wait_for_timeout(50)
    raise RuntimeError(f"{page.url} was not rendered within {timeout_s:g} s")


def seed_cache(cache_dir: Path) -> Path:
    """Put the verified ``mnist.npz`` (and nothing else) into ``cache_dir``; return its path."""
    from advx import paths
    from advx.data import CACHE_FILE_NAME, load_mnist

    cache_dir.mkdir(parents=True, exist_ok=True)
    source = paths.cache_dir() / CACHE_FILE_NAME
    if not source.exists():
        load_mnist()  # fetch, verify and cache it in the normal cache first
    shutil.copyfile(source, cache_dir / CACHE_FILE_NAME)
    return cache_dir / CACHE_FILE_NAME


def timed_visit(chromium, cache_dir: Path, page_path: str, log_path: Path) -> dict:
    """Start a server, open ``page_path`` as soon as it answers, and time until it is rendered."""
    charts, tables = RENDERED[page_path]
    page = new_page(chromium)
    server = Server(cache_dir, log_path)
    try:
        healthy = server.wait_healthy()
        page.goto(f"{server.url}/{page_path}", wait_until="commit")
        done, seen = wait_rendered(page, charts, tables)
        out = {"seconds": done - server.started, "server_answering_s": healthy,
               "milestones_s": {name: t - server.started for name, t in sorted(seen.items(), key=lambda kv: kv[1])},
               "charts": page.locator(CHARTS).count(), "url": page.url.replace(server.url, "")}
        # A second visitor, once this server's caches hold everything: the browser's and Streamlit's own share.
        again = new_page(chromium)
        try:
            start = time.perf_counter()
            again.goto(f"{server.url}/{page_path}", wait_until="commit")
            out["second_visitor_s"] = wait_rendered(again, charts, tables)[0] - start
        finally:
            again.context.close()
        return out
    finally:
        page.context.close()
        server.stop()


ANATOMY = r"""
import json, os, sys, time
t0 = time.perf_counter()
import jax, streamlit, plotly, pandas  # what the server imports before any page runs
sys.path.insert(0, sys.argv[1])
from advx import store
from advx.config import TrainConfig
from advx.data import load_mnist
from advx.train import train
t_import = time.perf_counter()
mnist = load_mnist()
t_data = time.perf_counter()
stamps = []
run = train(TrainConfig(), mnist, lambda done, total, metrics: stamps.append(time.perf_counter()))
t_train = time.perf_counter()
store.save(run)
t_save = time.perf_counter()
seconds = run.history["epoch_seconds"]
between = [b - a for a, b in zip(stamps[1:], stamps[2:])]
print(json.dumps({
    "imports_s": t_import - t0, "load_mnist_s": t_data - t_import,
    "before_first_epoch_s": stamps[0] - t_data,
    "first_epoch_s": float(seconds[0]), "other_epochs_s": float(seconds[1:].sum()),
    "evaluation_and_snapshots_s": (stamps[-1] - stamps[0]) - float(seconds.sum()),
    "median_epoch_s": float(sorted(seconds[1:])[len(seconds[1:]) // 2]),
    "median_epoch_with_evaluation_s": sorted(between)[len(between) // 2] if between else None,
    "train_total_s": t_train - t_data, "store_save_s": t_save - t_train, "total_s": t_save - t0,
    "load": os.getloadavg()}))
"""


def anatomy(cache_dir: Path) -> dict:
    """The cold path without server or browser, in a fresh interpreter: imports, data, training (split
    into the set-up before the first epoch, the compiling first epoch, the other epochs, and the per-epoch
    evaluation and snapshots), storing the run."""
    env = dict(os.environ, ADVX_CACHE_DIR=str(cache_dir))
    env.pop("XLA_FLAGS", None)
    done = subprocess.run([sys.executable, "-c", ANATOMY, str(ROOT)], env=env, capture_output=True, text=True,
                          timeout=PAGE_TIMEOUT_S, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the cold-path anatomy failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(work_dir: Path) -> dict:
    """Cold start to a trained, rendered Train page; warm start to a rendered Effective weights page."""
    cache_dir = work_dir / "cache"
    if cache_dir.exists():
        shutil.rmtree(cache_dir)
    seed_cache(cache_dir)
    out = {"cache_dir_at_cold_start": "mnist.npz only", "browser": f"{CHROMIUM} {' '.join(CHROMIUM_FLAGS)}"}
    with browser() as chromium:
        out["cold"] = timed_visit(chromium, cache_dir, "train", work_dir / "server-cold.log")
        out["cold"]["target_s"] = COLD_TARGET_S
        runs = sorted(p.name for p in (cache_dir / "runs").glob("*.npz"))
        out["cold"]["runs_stored"] = runs
        if (ROOT / "views" / "effective_weights.py").exists():
            out["warm"] = timed_visit(chromium, cache_dir, "effective_weights", work_dir / "server-warm.log")
            out["warm"]["target_s"] = WARM_TARGET_S
        else:
            out["warm"] = {"skipped": "views/effective_weights.py is not registered"}
    anatomy_dir = work_dir / "cache-anatomy"
    seed_cache(anatomy_dir)
    out["cold_path_anatomy"] = anatomy(anatomy_dir)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="advx-bench-startup-") as tmp:
        print(json.dumps(measure(Path(tmp)), indent=2))
