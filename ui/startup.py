"""Start-up settings of the server process: XLA's compilation cache, the allocator, BLAS threads; and the browser's
early start on the chart code. And the process's memory: the heap's free pages handed back, and a report of what
holds it for the memory benchmark.

``streamlit_app.py`` calls ``configure()`` and ``preload_chart_code()`` once per script run; each is idempotent.
It ends each run with ``trim_heap()`` and ``report_memory()``.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Optional

from advx.paths import CacheDirError, cache_dir


# Every compiled program is kept, however quickly it compiled: a first visit after a restart compiles dozens of small
# programs (Home's hook alone 16, about 70 ms each), and reading one back takes a few milliseconds.
MIN_COMPILE_S = 0.0


def enable_compilation_cache() -> None:
    """Keep XLA's compiled programs in ``<cache dir>/jax`` so a restarted server skips most compilation.

    Before JAX is imported the setting goes through JAX's environment variables, so a page that needs no JAX
    (Home) never pays for importing it.
    """
    try:
        folder = cache_dir() / "jax"
    except CacheDirError:
        return  # the app still works; it compiles on each start
    if "jax" not in sys.modules:
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(folder))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", str(MIN_COMPILE_S))
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)


@functools.cache
def _libc():
    """The C library's functions as the process already has them loaded (no ``ctypes.util.find_library``, which forks
    a child to run ``ldconfig``: in a server of 1 GB a fork is a moment of twice the resident set); ``None`` where
    this cannot be done."""
    import ctypes

    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):
        return None


@functools.cache
def tune_memory() -> None:
    """Keep the server's resident memory close to what it uses (Community Cloud gives an app about 1 GB).

    glibc's allocator by default keeps freed blocks of up to 32 MB in its heap (its mmap threshold
    grows as big blocks are freed) and opens one heap per thread. The attacks and the passes over the
    images free many 10-100 MB temporaries, so RSS would stay hundreds of MB above the live data.
    Blocks of 1 MB and more are given their own mappings (returned to the system when freed), at most
    two heaps are used, and heap tops above 4 MB are trimmed. No-op where glibc is not the allocator.
    """
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    mallopt(m_mmap_threshold, 1 << 20)
    mallopt(m_trim_threshold, 4 << 20)
    mallopt(m_arena_max, 2)


def trim_heap() -> None:
    """Give the free pages inside the allocator's heap back to the system (glibc's ``malloc_trim``; a few ms, more
    after a large computation freed much). Freed blocks in the middle of the heap otherwise stay resident: after
    *Why it happens* on a server that computes everything, 250 MB of the heap was free but still counted."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


_blas_limits = None


def tune_threads() -> None:
    """One BLAS thread for NumPy, so that its small products never fight XLA's threads for the cores.

    The heavy work of the app runs in XLA, on its own thread pool, often in a worker thread while the
    page's script builds figures and multiplies (784, 784) by (784, n) matrices in NumPy. OpenBLAS's
    threads spin after each product and so slow a concurrent XLA computation down (on 2 cores, a k change
    on "Why it happens" took about 0.28 s at the median with two BLAS threads, 0.22 s with one). Only the
    PCA, once per data set, is a large NumPy product; it takes about 0.55 s instead of 0.4 s.
    """
    global _blas_limits
    if _blas_limits is None:
        from threadpoolctl import threadpool_limits

        _blas_limits = threadpool_limits(limits=1, user_api="blas")  # kept: the limit holds until restored


def configure() -> None:
    """Every start-up setting: the compilation cache, the allocator, one BLAS thread."""
    enable_compilation_cache()
    tune_memory()
    tune_threads()


@functools.cache
def _chart_code() -> Optional[str]:
    """The file name of Streamlit's Plotly code (``PlotlyChart.<hash>.js``, 4.7 MB), or ``None``; looked up once per
    process, not on every rerun."""
    import streamlit

    found = sorted((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return found[0].name if len(found) == 1 else None


def preload_chart_code() -> None:
    """Have the browser fetch and run Streamlit's Plotly code as soon as the page's first element arrives.

    The browser otherwise starts on it only when the first chart arrives, and then needs a second or more (in
    chromium on 2 cores) to fetch and evaluate its 4.7 MB before it draws anything. On a first visit after a
    restart the server spends that time importing JAX, so the two now overlap. Loaded as the same URL that
    Streamlit loads itself, the module is fetched and evaluated once. Its element is hidden, so it takes no space
    (in the sidebar it would fold the navigation).
    """
    import streamlit as st

    name = _chart_code()
    if name is None:
        return
    st.html(
        "<style>[data-testid='stElementContainer']:has(script[data-preload-charts]) {display: none}</style>"
        "<script data-preload-charts>"
        "const s = document.querySelector('script[type=module][src*=\"/static/js/index.\"]');"
        f"if (s) import(new URL({name!r}, s.src).href).catch(() => {{}});</script>",
        unsafe_allow_javascript=True)


MEMORY_REPORT = "ADVX_MEMORY_REPORT"  # a file named by this variable gets a line per script run (bench/memory.py)


def _mallinfo() -> dict:
    """glibc's ``mallinfo2``: the heap's size, what of it is in use and free, and the bytes in their own mappings;
    ``{}`` where glibc lacks it."""
    import ctypes

    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    mallinfo2 = getattr(_libc(), "mallinfo2", None)
    if mallinfo2 is None:
        return {}
    mallinfo2.restype = Info
    info = mallinfo2()
    return {"heap_mb": info.arena / 2**20, "heap_in_use_mb": info.uordblks / 2**20,
            "heap_free_mb": info.fordblks / 2**20, "mapped_blocks_mb": info.hblkhd / 2**20}


def _jax_arrays() -> dict:
    """The live JAX arrays' total and the largest groups by shape and type; ``{}`` before JAX is imported."""
    if "jax" not in sys.modules:
        return {}
    import jax

    groups: dict[str, list[int]] = {}
    total = 0
    for a in jax.live_arrays():
        try:
            size = a.nbytes
        except Exception:  # noqa: BLE001 - a deleted or donated buffer
            continue
        total += size
        entry = groups.setdefault(f"{a.dtype}{list(a.shape)}", [0, 0])
        entry[0] += 1
        entry[1] += size
    top = sorted(groups.items(), key=lambda kv: -kv[1][1])[:8]
    try:
        from jax._src.interpreters import pxla  # JAX's own cache of compiled programs; internal, so guarded

        programs = pxla._cached_compilation.cache_info().currsize
    except Exception:  # noqa: BLE001 - moved in another JAX version
        programs = None
    return {"jax_arrays_mb": total / 2**20, "compiled_programs": programs,
            "jax_largest": [{"array": name, "count": n, "mb": round(size / 2**20, 1)} for name, (n, size) in top]}


def _streamlit_caches() -> dict:
    """The bytes each ``st.cache_*`` function holds (Streamlit's own measure: pickled bytes for ``cache_data``, a deep
    ``sizeof`` for ``cache_resource``, which counts NumPy buffers but not JAX ones)."""
    from streamlit.runtime.caching.cache_data_api import _data_caches
    from streamlit.runtime.caching.cache_resource_api import _resource_caches
    from streamlit.runtime.stats import safe_sizeof

    out: dict[str, int] = {}
    for caches, resource in ((_data_caches, False), (_resource_caches, True)):
        for function_caches in list(caches._function_caches.values()):
            for cache in list(function_caches.values()):
                if resource:
                    size = sum(safe_sizeof(entry.value) for entry in list(cache._mem_cache.values()))
                else:
                    size = sum(stat.byte_length for stats in cache.get_stats().values() for stat in stats)
                out[cache.display_name] = out.get(cache.display_name, 0) + size
    return {name: round(size / 2**20, 1) for name, size in sorted(out.items(), key=lambda kv: -kv[1]) if size}


def report_memory(page: str) -> None:
    """With ``$ADVX_MEMORY_REPORT`` naming a file, append one JSON line after a script run of ``page``: the process's
    resident set, the allocator's heap, the live JAX arrays, the Streamlit caches and the finished jobs' results, so
    that a benchmark can say what holds the memory. Costs nothing when the variable is unset."""
    path = os.environ.get(MEMORY_REPORT)
    if not path:
        return
    import json
    import time

    from ui import jobs

    status = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                status[key] = int(value.split()[0]) / 1024
    except (OSError, ValueError):
        pass
    try:
        caches = _streamlit_caches()
    except Exception as exc:  # noqa: BLE001 - Streamlit's internals moved; the rest of the report still holds
        caches = {"unreadable": repr(exc)}
    line = {"time": time.time(), "page": page, "rss_mb": status.get("VmRSS"), "hwm_mb": status.get("VmHWM"),
            "anonymous_mb": status.get("RssAnon"), "file_mb": status.get("RssFile"),
            **_mallinfo(), **_jax_arrays(), "job_results_mb": jobs.kept_bytes() / 2**20, "caches_mb": caches}
    try:
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
    except OSError:
        pass
