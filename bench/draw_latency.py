"""From a finished stroke to the updated page of "Draw a digit": the prediction, the activations and the overlay.

- **Server** (AppTest): what the pad leaves in the session after a stroke (``dr_raw``, a 140 × 140 raster)
  is set and the page is run; the clock covers the whole script run (every section, the PGD search included,
  and AppTest's own bookkeeping). Target: ≤ 150 ms.
- **Browser** (Debian's chromium, Playwright, a real ``streamlit run`` server): a stroke drawn with the
  mouse on the real pad; the clock starts at the mouse-up (``performance.now()`` in the page) and stops when
  the script run it causes has finished (``data-test-script-state`` back to ``notRunning``): every element
  of the page has arrived by then. Target: ≤ 400 ms.

The first stroke of each (compilation, the test set's measures) is reported apart and not in the figures.
The machine is shared: the load average is printed beside the numbers.

Run: ``.venv/bin/python bench/draw_latency.py [--strokes 20] [--skip-browser]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

SERVER_TARGET_MS, BROWSER_TARGET_MS = 150, 400
# A 7 and a few more strokes in pad pixels (280 x 280): each finished stroke is one measurement.
STROKES = [[(65, 58), (210, 58), (150, 150), (112, 235)], [(105, 140), (200, 140)], [(40, 240), (60, 250)],
           [(200, 200), (250, 250)]]
PEN = 20


def raster(strokes, size: int = 140) -> np.ndarray:
    """The pad's raster of ``strokes`` (round pen of width ``PEN`` pad pixels), without a browser."""
    scale = size / 280
    yy, xx = np.mgrid[:size, :size] + 0.5
    ink = np.zeros((size, size), bool)
    for points in strokes:
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            a, b = np.array([x0, y0]) * scale, np.array([x1, y1]) * scale
            d = b - a
            t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(d @ d, 1e-9), 0, 1)
            ink |= np.hypot(xx - a[0] - t * d[0], yy - a[1] - t * d[1]) <= PEN * scale / 2
    return ink.astype(np.float32)


def _summary(name: str, ms: list[float], target: float) -> str:
    p50, p95 = np.percentile(ms, [50, 95])
    verdict = "meets" if p95 <= target else "MISSES"
    return (f"{name}: median {p50:.0f} ms, p95 {p95:.0f} ms, max {max(ms):.0f} ms over {len(ms)} strokes "
            f"(target ≤ {target} ms: p95 {verdict} it)")


def server(strokes: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    from ui import jobs

    jobs.set_synchronous(True)
    at = AppTest.from_file(str(ROOT / "views" / "draw.py"), default_timeout=900)
    at.run()
    rasters = [raster(STROKES[: i % len(STROKES) + 1]) for i in range(strokes + 1)]
    times = []
    for i, r in enumerate(rasters):
        at.session_state["dr_raw"], at.session_state["dr_origin"] = r, "pad"
        start = time.perf_counter()
        at.run()
        times.append(1000 * (time.perf_counter() - start))
        assert not at.exception, [e.value for e in at.exception]
    print(f"server, first stroke (compiles, measures the test set): {times[0]:.0f} ms")
    return times[1:]


_WATCH = """() => { const app = document.querySelector("[data-testid='stApp']"); window.__advxDone = null;
  let ran = false; if (window.__advxWatch) window.__advxWatch.disconnect();
  window.__advxWatch = new MutationObserver(() => { const s = app.getAttribute('data-test-script-state');
    if (s === 'running') ran = true; if (s === 'notRunning' && ran) window.__advxDone = performance.now(); });
  window.__advxWatch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""


def press_stroke(page, box: dict, points) -> None:
    """Press the mouse and draw ``points`` (pad coordinates, 0-280) on the pad whose bounding box is ``box``,
    in 10 moves per segment; the caller releases the mouse (``page.mouse.up()``) when its clock is ready."""
    scale = box["width"] / 280
    page.mouse.move(box["x"] + points[0][0] * scale, box["y"] + points[0][1] * scale)
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for k in range(1, 11):
            page.mouse.move(box["x"] + (x0 + (x1 - x0) * k / 10) * scale,
                            box["y"] + (y0 + (y1 - y0) * k / 10) * scale)


def browser(strokes: int) -> list[float]:
    from browser_support import StreamlitServer, new_page, open_app, wait_until_idle
    from playwright.sync_api import sync_playwright

    server = StreamlitServer(log_name="bench-draw-server.log")
    try:
        server.wait_healthy()
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = new_page(chromium)
            open_app(page, f"{server.url}/draw")
            box = page.locator("canvas[aria-label^='Drawing pad']").bounding_box()
            times = []
            for i in range(strokes + 1):
                if i and i % len(STROKES) == 0:
                    page.locator("button.advx-clear").click()
                    wait_until_idle(page)
                press_stroke(page, box, STROKES[i % len(STROKES)])
                page.evaluate(_WATCH)
                start = page.evaluate("performance.now()")
                page.mouse.up()
                page.wait_for_function("() => window.__advxDone !== null", timeout=600_000, polling=5)
                times.append(page.evaluate("window.__advxDone") - start)
                wait_until_idle(page, settle_s=0.3)
            chromium.close()
        print(f"browser, first stroke (compiles, measures the test set): {times[0]:.0f} ms")
        return times[1:]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    os.chdir(ROOT)
    lines = [_summary("server (AppTest)", server(args.strokes), SERVER_TARGET_MS)]
    if not args.skip_browser:
        lines.append(_summary("browser (chromium, from the mouse-up)", browser(args.strokes), BROWSER_TARGET_MS))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
