"""The start-up settings of ``ui.startup``: with ``tune_memory``'s allocator settings freed big temporaries go back
to the system, and ``tune_threads`` leaves NumPy's BLAS one thread.

The allocator is measured in fresh interpreters, because its settings apply to a whole process. The pattern is
the one the attacks and the passes over the images produce: big arrays freed between small ones that live on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import gc, sys
sys.path.insert(0, sys.argv[1])
import numpy as np

def rss_mb():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024

if sys.argv[2] == "tuned":
    from ui.startup import tune_memory
    tune_memory()
big = np.ones((8 << 20) // 8)
del big  # one freed 8 MB block: by default glibc then keeps blocks up to 8 MB in its heap
base = rss_mb()
keep = []
for _ in range(60):  # 60 temporaries of 4 MB, each followed by a 64 kB array that stays
    keep.append(np.ones((4 << 20) // 8))
    keep.append(np.ones(8192))
for i in range(0, len(keep), 2):
    keep[i] = None
gc.collect()
print(rss_mb() - base)
"""


def _retained_mb(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), mode], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator and /proc are Linux's")
def test_freed_temporaries_return_to_the_system():
    plain, tuned = _retained_mb("plain"), _retained_mb("tuned")
    print(f"\nRSS kept after freeing 240 MB of temporaries: {plain:.0f} MB by default, {tuned:.0f} MB tuned")
    assert plain >= 150  # measured 244: the default keeps them (so this probe does test something)
    assert tuned <= 30  # measured 4


JOB_PROBE = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from ui import jobs, startup

def rss_mb():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024

startup.tune_memory()

def work(report):
    keep = []
    for _ in range(400):  # 200 MB of 512 kB temporaries in the job thread's heap, each pinned by a small array
        keep.append(np.ones((512 << 10) // 8))
        keep.append(np.ones(1024))
    for i in range(0, len(keep), 2):
        keep[i] = None
    before = rss_mb()
    time.sleep(jobs.TRIM_EVERY_S)
    if sys.argv[2] == "report":
        report(0.5, "half way")
    return before - rss_mb()

print(jobs.submit("probe", work, progress=True).result(timeout=60))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator and /proc are Linux's")
def test_a_running_jobs_progress_report_gives_its_freed_memory_back():
    """A long job's freed temporaries do not wait for its end to leave the resident set: its next progress report
    hands them back (the non-robust training's phases each stand on what the last one freed)."""
    def released(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", JOB_PROBE, str(ROOT), mode], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        return float(out.stdout.strip().splitlines()[-1])

    silent, reported = released("silent"), released("report")
    print(f"\nMB handed back while the job runs: {silent:.0f} without a report, {reported:.0f} with one")
    assert silent <= 30  # the probe's temporaries do stay without the report
    assert reported >= 150  # of the 200 MB freed


def test_tune_threads_leaves_numpy_one_blas_thread():
    from threadpoolctl import threadpool_info

    from ui import startup

    try:
        startup.tune_threads()
        startup.tune_threads()  # idempotent
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
    finally:
        if startup._blas_limits is not None:
            startup._blas_limits.restore_original_limits()
            startup._blas_limits = None


def test_the_memory_report_names_what_holds_the_memory(tmp_path, monkeypatch):
    """``report_memory`` writes nothing unless asked; asked, its line counts a new JAX array and a cached NumPy array
    at their sizes, and forgets the JAX array once it is deleted."""
    import json

    import jax.numpy as jnp
    import numpy as np
    import streamlit as st

    from ui import jobs, startup

    jobs.settle()  # no background job of an earlier test makes or drops arrays between the reports
    report = tmp_path / "report.jsonl"
    monkeypatch.delenv(startup.MEMORY_REPORT, raising=False)
    startup.report_memory("quiet")
    assert not report.exists()

    @st.cache_resource(show_spinner=False)
    def four_mb_of_pixels() -> np.ndarray:
        return np.ones((1 << 20,), np.float32)

    monkeypatch.setenv(startup.MEMORY_REPORT, str(report))
    startup.report_memory("before")
    held = jnp.ones((2 << 20,), jnp.float32)  # 8 MB
    four_mb_of_pixels()
    startup.report_memory("with")
    del held
    startup.report_memory("after")
    before, with_, after = (json.loads(line) for line in report.read_text().splitlines())
    assert [before["page"], with_["page"], after["page"]] == ["before", "with", "after"]
    assert with_["jax_arrays_mb"] - before["jax_arrays_mb"] == pytest.approx(8, abs=0.01)
    largest = with_["jax_largest"]  # the 8 largest groups of the process: ours is among them unless 8 are larger
    if len(largest) < 8 or largest[-1]["mb"] < 8.0:
        assert {"array": "float32[2097152]", "count": 1, "mb": 8.0} in largest
    assert with_["jax_arrays_mb"] - after["jax_arrays_mb"] == pytest.approx(8, abs=0.01)
    cached = {name: mb for name, mb in with_["caches_mb"].items() if name.endswith("four_mb_of_pixels")}
    assert list(cached.values()) == [pytest.approx(4, abs=0.1)]
    if sys.platform.startswith("linux"):
        assert with_["rss_mb"] > with_["jax_arrays_mb"] > 0 and with_["file_mb"] > 0
        assert with_["heap_in_use_mb"] > 0
    four_mb_of_pixels.clear()
