"""Every page's first visit in a real headless browser: after a server restart, and on a brand-new server.

- **After a restart**: a cache folder that a first server filled by showing every page until all their
  background work was done (runs, every-epoch results, PCA, sweeps, counterfactual columns, compiled
  programs). For each page, a new server is started on that folder; once it answers, the browser opens a
  link straight to the page and the clock runs until the page is *complete*. Target: ≤ 3 s.
- **Brand-new server**: a cache folder holding only the verified ``mnist.npz``. A link straight to the
  page is the server's first visit; the default network is trained on the way (with a progress bar). The
  clock for the target starts when the trained run's file appears in the cache folder (or at the link, for a
  page that needs no run) and stops when the page's first section shows: its first heading, drawn chart,
  table or picture of maps beyond the title, introduction and widgets.
  Target: ≤ 2 s. The time from the link (training included) is reported beside it.

*Complete*: the script has finished (``data-test-script-state`` is ``notRunning``, no status widget),
no progress bar or spinner shows (nothing is waited for), every Plotly chart is drawn, for 0.5 s in a row.

Run alone: ``.venv/bin/python bench/first_visit.py [--pages overlay,why] [--filled-from ~/.cache/advx]`` (or
``bench/run.py --only first_visit``). ``--filled-from`` copies a cache folder where the pages' work is done
already (then shows each page once to complete anything missing) instead of filling one from nothing, which
takes many minutes (the populations and the robust comparison).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.startup import Server, browser, new_page, raise_if_error, seed_cache  # noqa: E402

RESTART_TARGET_S = 3.0
NEW_SERVER_TARGET_S = 2.0
PAGE_TIMEOUT_S = 900
MAIN = "[data-testid='stMain']"
BUSY = (f"{MAIN} [data-testid='stProgress'], {MAIN} [data-testid='stSpinner'], "
        "[data-testid='stStatusWidget']")
# The first thing a page shows beyond its title, introduction and widgets: a section heading, a drawn chart (Plotly's
# or advx.figures.svg's), a table or a picture of maps (advx.figures.maps.picture).
FIRST_SECTION = (f"{MAIN} h2, {MAIN} h3, {MAIN} [data-testid='stPlotlyChart'] .js-plotly-plot, "
                 f"{MAIN} [data-testid='stDataFrame'], {MAIN} .advx-maps img, {MAIN} .advx-chart")


def pages() -> list[tuple[str, str]]:
    """``(name, url path)`` of every page of the app, in navigation order."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import registered_pages

    return [(p.name, p.url_path) for p in registered_pages()]


def complete(page) -> bool:
    state = page.get_attribute("[data-testid='stApp']", "data-test-script-state")
    if state != "notRunning" or page.locator(BUSY).count():
        return False
    charts = page.locator(f"{MAIN} [data-testid='stPlotlyChart']").count()
    return page.locator(f"{MAIN} [data-testid='stPlotlyChart'] .js-plotly-plot").count() >= charts


def watch(page, run_file: Path | None = None, timeout_s: float = PAGE_TIMEOUT_S, until: str = "complete") -> dict:
    """Poll every 50 ms until the page is complete for 0.5 s (or, with ``until="first_section"``, until its
    first section shows); return the moments (``perf_counter``) of the run file appearing, the first section
    shown, and completeness."""
    seen: dict[str, float] = {}
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        raise_if_error(page)
        if run_file is not None and "run_stored" not in seen and run_file.exists():
            seen["run_stored"] = now
        if "first_section" not in seen and page.locator(FIRST_SECTION).count():
            seen["first_section"] = now
            if until == "first_section":
                return seen
        if page.locator("[data-testid='stApp']").count() and complete(page):
            seen.setdefault("complete_since", now)
            if now - seen["complete_since"] >= 0.5:
                seen["complete"] = seen.pop("complete_since")
                seen.setdefault("first_section", seen["complete"])
                return seen
        else:
            seen.pop("complete_since", None)
        page.wait_for_timeout(50)
    raise RuntimeError(f"{page.url} was not complete within {timeout_s:g} s")


def visit(chromium, cache_dir: Path, url_path: str, log_path: Path, run_file: Path | None = None,
          until: str = "complete") -> dict:
    """A new server on ``cache_dir``; once it answers, the link to the page; the moments of ``watch``."""
    page = new_page(chromium)
    server = Server(cache_dir, log_path)
    try:
        server.wait_healthy()
        start = time.perf_counter()
        page.goto(f"{server.url}/{url_path}", wait_until="commit")
        seen = watch(page, run_file, until=until)
        return {name: round(t - start, 3) for name, t in seen.items()}
    finally:
        page.context.close()
        server.stop()


def fill_cache(chromium, cache_dir: Path, all_pages: list[tuple[str, str]], log_dir: Path, rounds: int = 2) -> None:
    """Show every page on one server until each is complete, ``rounds`` times, so all the background work is done."""
    page = new_page(chromium)
    server = Server(cache_dir, log_dir / "fill.log")
    try:
        server.wait_healthy()
        for _ in range(rounds):
            for _name, url_path in all_pages:
                page.goto(f"{server.url}/{url_path}", wait_until="commit")
                watch(page)
    finally:
        page.context.close()
        server.stop()


def measure(work_dir: Path, only: set[str] | None = None, filled_from: Path | None = None) -> dict:
    """Both measurements. ``filled_from``: a cache folder where every page's work is done already (copied,
    then each page visited once to complete anything missing) instead of filling a new one from scratch."""
    from advx import store
    from advx.config import TrainConfig
    from advx.data import load_mnist

    all_pages = pages()
    chosen = [(n, u) for n, u in all_pages if only is None or n in only]
    log_dir = work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    mnist = load_mnist()
    out: dict = {"restart": {}, "new_server": {}}
    with browser() as chromium:
        for name, url_path in chosen:
            fresh = work_dir / f"new-{name}"
            seed_cache(fresh)
            run_file = store.run_path(TrainConfig(), mnist.sha, fresh / "runs")
            seen = visit(chromium, fresh, url_path, log_dir / f"new-{name}.log", run_file, until="first_section")
            after = seen["first_section"] - seen.get("run_stored", 0.0)
            seen["first_section_after_run_s"] = round(max(after, 0.0), 3)
            out["new_server"][name] = seen
            print(f"brand-new server, {name}: first section {seen['first_section_after_run_s']:.2f} s after the "
                  f"run was stored ({seen['first_section']:.1f} s after the link)", flush=True)
            shutil.rmtree(fresh, ignore_errors=True)
        filled = work_dir / "filled"
        if filled_from is not None:
            shutil.copytree(filled_from, filled, ignore=shutil.ignore_patterns("*.lock", ".*.tmp"))
            fill_cache(chromium, filled, chosen, log_dir, rounds=1)
        else:
            seed_cache(filled)
            fill_cache(chromium, filled, all_pages, log_dir)
        for name, url_path in chosen:
            seen = visit(chromium, filled, url_path, log_dir / f"restart-{name}.log")
            out["restart"][name] = seen
            print(f"after a restart, {name}: complete in {seen['complete']:.2f} s", flush=True)
    worst_restart = max(v["complete"] for v in out["restart"].values())
    worst_new = max(v["first_section_after_run_s"] for v in out["new_server"].values())
    out["targets"] = {
        "restart_complete_s": {"worst": worst_restart, "target": RESTART_TARGET_S, "met": worst_restart <= RESTART_TARGET_S},
        "new_server_first_section_s": {"worst": worst_new, "target": NEW_SERVER_TARGET_S,
                                       "met": worst_new <= NEW_SERVER_TARGET_S},
    }
    return out


def table(result: dict) -> str:
    """The markdown rows of every page's first visit."""
    lines = ["| page | after a restart: complete | brand-new server: first section after the run is stored | "
             "brand-new server: first section after the link (training included) |", "|---|---|---|---|"]
    for name in dict.fromkeys([*result["new_server"], *result["restart"]]):  # navigation order
        r, n = result["restart"].get(name, {}), result["new_server"].get(name, {})
        lines.append(f"| {name} | {r.get('complete', float('nan')):.2f} s | "
                     f"{n.get('first_section_after_run_s', float('nan')):.2f} s | {n.get('first_section', float('nan')):.1f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", help="comma-separated page names (default: every page)")
    parser.add_argument("--filled-from", type=Path, help="a cache folder where the pages' work is done already")
    args = parser.parse_args()
    only = set(args.pages.split(",")) if args.pages else None
    with tempfile.TemporaryDirectory(prefix="advx-first-visit-") as tmp:
        result = measure(Path(tmp), only, args.filled_from)
    print(table(result))
    print(json.dumps(result["targets"], indent=1))


if __name__ == "__main__":
    main()
