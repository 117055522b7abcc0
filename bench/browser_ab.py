"""Two or more checkouts timed in one chromium run, page by page, so that the machine's drift cancels out.

Each checkout gets its own ``streamlit run`` server on the same cache folder (``$ADVX_CACHE_DIR``); for every round
and page the servers take turns: 2 visits from a link and ``--changes`` widget changes each, timed as in
``bench/browser_latency.py`` (from the navigation's start or the input event to the last change of the page).

    .venv/bin/python bench/browser_ab.py --roots /tmp/old,/tmp/new --pages compare,dataset_averages --changes 6 --rounds 2

Each checkout needs its own ``.venv`` (a link to the same one will do). One line per page, round and checkout; the
figures land in ``bench/results/browser_ab.json``.

``--restart`` times first visits after a restart instead, as ``bench/first_visit.py`` does: for every round, page and
checkout in turn, a new server on ``$ADVX_CACHE_DIR`` (which should hold every page's results) and a link straight
to the page, until the page is complete:

    .venv/bin/python bench/browser_ab.py --roots /tmp/old,/tmp/new --pages why,draw --rounds 3 --restart
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def _start(root: str, log_dir: Path):
    from browser_support import free_port

    port = free_port()
    process = subprocess.Popen(
        [f"{root}/.venv/bin/python", "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=root, stdout=open(log_dir / f"browser-ab-{port}.log", "w"),
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                return url, process
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"the server of {root} did not start")


def main() -> None:
    from browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    from bench.browser_latency import from_link, widget_changes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roots", required=True, help="checkouts, comma-separated")
    parser.add_argument("--pages", required=True, help="URL paths, comma-separated ('home' for the main page)")
    parser.add_argument("--changes", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--restart", action="store_true", help="first visits after a restart, a new server each")
    args = parser.parse_args()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if args.restart:
        return restarts(args.roots.split(","), args.pages.split(","), args.rounds)
    servers = [(root, *_start(root, ARTIFACTS)) for root in args.roots.split(",")]
    pages, results = args.pages.split(","), {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            for _, url, _ in servers:  # every page once, to fill the servers' caches; not counted
                for page in pages:
                    from_link(browser, f"{url}/{'' if page == 'home' else page}", 1)
            for round_ in range(args.rounds):
                for page in pages:
                    for root, url, _ in servers:
                        link = f"{url}/{'' if page == 'home' else page}"
                        got = {"link": from_link(browser, link, 2), "change": widget_changes(browser, link, args.changes),
                               "load": os.getloadavg()[0]}
                        results.setdefault(page, {}).setdefault(root, []).append(got)
                        change = got["change"]
                        print(f"round {round_ + 1} {page:18s} {root:24s} link {got['link']['median_s']:5.2f} s  change "
                              f"median {change.get('median_s', float('nan')) * 1000:5.0f} ms, p95 "
                              f"{change.get('p95_s', float('nan')) * 1000:5.0f} ms  load {got['load']:.1f}", flush=True)
            browser.close()
    finally:
        for _, _, process in servers:
            os.killpg(process.pid, 15)
    (ROOT / "bench" / "results" / "browser_ab.json").write_text(json.dumps(results, indent=2, default=str))


def restarts(roots: list[str], pages: list[str], rounds: int) -> None:
    """First visits after a restart, each checkout in turn: ``{page: {root: [seconds until complete]}}``."""
    from browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    from bench.first_visit import watch

    results: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        for round_ in range(rounds):
            for page in pages:
                for root in roots:
                    url, process = _start(root, ARTIFACTS)
                    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                    try:
                        start = time.perf_counter()
                        tab.goto(f"{url}/{'' if page == 'home' else page}", wait_until="commit")
                        seconds = round(watch(tab)["complete"] - start, 3)
                    finally:
                        tab.close()
                        os.killpg(process.pid, 15)
                        process.wait(30)
                    results.setdefault(page, {}).setdefault(root, []).append(seconds)
                    print(f"round {round_ + 1} {page:18s} {root:24s} after a restart: complete in {seconds:5.2f} s  "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
        browser.close()
    (ROOT / "bench" / "results" / "browser_ab.json").write_text(json.dumps({"restart": results}, indent=2))


if __name__ == "__main__":
    main()
