"""Start-up settings of the server process: XLA's compilation cache, the allocator, BLAS threads; and the browser's
early start on the chart code.

``streamlit_app.py`` calls ``configure()`` and ``preload_chart_code()`` once per script run; each is idempotent.
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


def tune_memory() -> None:
    """Keep the server's resident memory close to what it uses (Community Cloud gives an app about 1 GB).

    glibc's allocator by default keeps freed blocks of up to 32 MB in its heap (its mmap threshold
    grows as big blocks are freed) and opens one heap per thread. The attacks and the passes over the
    images free many 10-100 MB temporaries, so RSS would stay hundreds of MB above the live data.
    Blocks of 1 MB and more are given their own mappings (returned to the system when freed), at most
    two heaps are used, and heap tops above 4 MB are trimmed. No-op where glibc is not the allocator.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    mallopt(m_mmap_threshold, 1 << 20)
    mallopt(m_trim_threshold, 4 << 20)
    mallopt(m_arena_max, 2)


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
