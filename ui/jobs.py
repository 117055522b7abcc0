"""The app's one job runner: every computation that runs in the background goes through here.

A job is a computation with a key. ``submit(key, fn)`` starts it once and every later caller with the
same key, from any browser session, gets the same ``Job``; a failed job is dropped, so the next
``submit`` tries again. Jobs run on two worker threads, one per lane:

- ``"now"``: what a user is looking at and waiting for (a counterfactual column at a new k);
- ``"later"``: what the app prepares ahead (every epoch's neuron results, the PCA, comparison runs).

So a page's own work never queues behind preparation. XLA releases the GIL, so a page's script keeps
drawing while a job computes. A job may report its progress (``report(fraction, text)``), which a page
shows while it waits (``ui.road.show``). This is the only module of the app that starts threads.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Hashable, Optional

from ui import startup

LANES = ("now", "later")
KEEP_FINISHED = 64  # finished jobs kept in memory (most are under ~15 MB: a run's every-epoch results); older ones are read from disk again
KEEP_BYTES = 512 * 2**20  # and no more than this in their results' arrays, the newest always kept
COLLECT_AFTER_S = 1.0  # a job that ran this long is followed by a garbage collection
FORGET_PROGRAMS_AFTER_S = 10.0  # and one that ran this long, by forgetting the compiled programs held in memory
TRIM_EVERY_S = 1.0  # while jobs run, their progress reports give the heap's free pages back at most this often
JOB_LOG = "ADVX_JOB_LOG"  # a file named by this variable gets a line per job started and ended (bench/memory.py)


class Job:
    """One computation: its ``label`` (for people), progress and, once done, its result or error."""

    def __init__(self, key: Hashable, label: str):
        self.key, self.label = key, label
        self.fraction: float = 0.0
        self.text: str = "queued"
        self.started: Optional[float] = None
        self._future: Future = Future()
        self.nbytes = 0  # the result's arrays, once done
        self._call: Optional[tuple] = None  # (fn, args, kwargs) until a lane has taken it
        self._claim = threading.Lock()
        self._lanes: set[str] = set()  # the lanes it was queued in

    def report(self, fraction: Optional[float], text: str = "") -> None:
        """What a running computation says of itself: a share done in [0, 1] and a short text.

        A report also gives the heap's free pages back to the system, at most every ``TRIM_EVERY_S`` over all
        jobs: a long job's phases free hundreds of MB of temporaries (a training's compilation, an attack's
        chunks) that would otherwise stay resident under the next phase's peak (the non-robust training's
        peak in one process: 674 MB without, 606 MB with, from a start of 267)."""
        if fraction is not None:
            self.fraction = min(max(float(fraction), 0.0), 1.0)
        if text and text != self.text:
            self.text = text
            _log_job("phase", self.label, text=text)
        _trim_now_and_then()

    def done(self) -> bool:
        return self._future.done()

    def failed(self) -> bool:
        return self._future.done() and self._future.exception() is not None

    def error(self) -> Optional[BaseException]:
        return self._future.exception() if self._future.done() else None

    def result(self, timeout: Optional[float] = None) -> Any:
        """The result, waiting for it if needed; raises the computation's error."""
        return self._future.result(timeout)

    def _run(self, fn: Callable, args: tuple, kwargs: dict) -> None:
        with self._claim:  # a job queued in both lanes runs once, in the first that reaches it
            if self._call is None:
                return
            self._call = None
        if not self._future.set_running_or_notify_cancel():
            return
        self.started, self.text = time.monotonic(), "running"
        _log_job("start", self.label)
        try:
            result = fn(*args, **kwargs)
            self.nbytes = _nbytes(result)
            self._future.set_result(result)
        except BaseException as exc:  # noqa: BLE001 - kept for the caller, who shows or retries it
            self._future.set_exception(exc)
        finally:
            _release_memory(time.monotonic() - self.started)
            _log_job("end", self.label, kept_bytes())


_last_trim = [0.0]


def _trim_now_and_then() -> None:
    now = time.monotonic()
    if now - _last_trim[0] >= TRIM_EVERY_S:
        _last_trim[0] = now
        startup.trim_heap()


def kept_bytes() -> int:
    """The bytes of the results the finished jobs keep in memory (roughly: their arrays)."""
    return sum(job.nbytes for job in list(_jobs.values()) if job.done())


def _log_job(event: str, label: str, kept: Optional[int] = None, text: str = "") -> None:
    """``<wall time>\t<start|phase|end>\t<label>`` appended to the file ``$ADVX_JOB_LOG`` names, if it does; an end
    adds ``\t<bytes>``, the size of the results the finished jobs then keep in memory, and a phase (a new progress
    text) adds ``\t<text>``."""
    path = os.environ.get(JOB_LOG)
    if path:
        extra = f"\t{kept}" if kept is not None else f"\t{' '.join(text.split())}" if text else ""
        try:
            with open(path, "a") as f:
                f.write(f"{time.time():.3f}\t{event}\t{' '.join(label.split())}{extra}\n")
        except OSError:
            pass


def _nbytes(value) -> int:
    """The bytes of the arrays in ``value`` (an array, or tuples, lists, dicts and objects of them), roughly;
    0 for what it cannot look into."""
    try:
        return _array_bytes(value, 0)
    except Exception:  # noqa: BLE001 - only a size for forgetting old results, never a reason to fail a job
        return 0


def _array_bytes(value, depth: int) -> int:
    if depth > 6 or value is None or isinstance(value, (str, bytes, int, float, bool)):
        return 0
    size = getattr(value, "nbytes", None)
    if isinstance(size, int):
        return size
    if isinstance(value, dict):
        return sum(_array_bytes(v, depth + 1) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(_array_bytes(v, depth + 1) for v in value)
    fields = getattr(value, "__dict__", None)
    return sum(_array_bytes(v, depth + 1) for v in fields.values()) if isinstance(fields, dict) else 0


def _release_memory(seconds: float) -> None:
    """After a job of ``seconds``: give the freed heap back to the system (a large computation's temporaries
    otherwise stay in the process's resident memory: 160 MB after the non-robust training), first collecting
    what it left in cycles if it ran ``COLLECT_AFTER_S`` or longer (a collection holds the GIL ~0.1 s).

    A job of ``FORGET_PROGRAMS_AFTER_S`` or longer also makes JAX forget every compiled program it holds. Each
    holds about 2 MB of the heap, and a visit to every page on a server that computes everything compiles
    hundreds, most of them used by one job only (its training loops, its attacks at its batch size): 680 MB of
    heap in use by the end of the visit. A page that then runs a program again traces it anew and reads it back
    from the compilation cache on disk (about 1.5 s once, on the pages measured); the numbers are the same.
    """
    if seconds >= FORGET_PROGRAMS_AFTER_S and "jax" in sys.modules:
        sys.modules["jax"].clear_caches()
    if seconds >= COLLECT_AFTER_S:
        gc.collect()
    startup.trim_heap()


_executors = {lane: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"advx-{lane}") for lane in LANES}
_jobs: OrderedDict[Hashable, Job] = OrderedDict()
_lock = threading.Lock()


def submit(key: Hashable, fn: Callable, *args, label: str = "", lane: str = "later", progress: bool = False,
           **kwargs) -> Job:
    """The job ``key``: the running or finished one, else ``fn(*args, **kwargs)`` started in ``lane``.

    ``progress=True`` passes the job's ``report`` to ``fn`` as its keyword argument ``report``. A job that
    failed is started again. A job still queued in ``"later"`` that is asked for in ``"now"`` (a page waits for what
    the app was preparing) is queued in ``"now"`` as well and runs in whichever lane reaches it first. Results are
    shared by every caller: they must never be mutated.
    """
    if lane not in LANES:
        raise ValueError(f"lane must be one of {LANES}, got {lane!r}")
    with _lock:
        job = _jobs.get(key)
        if job is None or job.failed():
            job = _jobs[key] = Job(key, label or str(key))
            if progress:
                kwargs = dict(kwargs, report=job.report)
            job._call = (fn, args, kwargs)
            job._lanes.add(lane)
            _executors[lane].submit(job._run, fn, args, kwargs)
            _forget_old()
        elif lane not in job._lanes and job._call is not None:  # still queued elsewhere: queue it here too
            job._lanes.add(lane)
            _executors[lane].submit(job._run, *job._call)
        _jobs.move_to_end(key)
    return job


def done(key: Hashable, value: Any, label: str = "") -> Job:
    """Record ``value`` as the finished result of job ``key`` (for a result found on disk or in memory)."""
    with _lock:
        job = _jobs.get(key)
        if job is None or job.failed():
            job = _jobs[key] = Job(key, label or str(key))
            job._future.set_running_or_notify_cancel()
            job.nbytes = _nbytes(value)
            job._future.set_result(value)
            _forget_old()
        _jobs.move_to_end(key)
    return job


def get(key: Hashable) -> Optional[Job]:
    """The job ``key`` if one was submitted and is still kept, else ``None``."""
    with _lock:
        return _jobs.get(key)


_synchronous = False


def set_synchronous(on: bool) -> None:
    """The runner's synchronous mode, for tests that run a page without a browser (Streamlit's AppTest, which
    runs no fragment timers): ``outcome`` then waits for a job instead of returning ``None``, so a page shows
    what a reader who waited would see. Jobs still run in their lanes; the server never sets it."""
    global _synchronous
    _synchronous = bool(on)


def outcome(job: Optional[Job], wait: Optional[bool] = None) -> Any:
    """The result of ``job`` when it finished without error, else ``None``. ``wait``: wait for it first (default:
    only in synchronous mode; ``False`` for a result that is used only when it happens to be ready)."""
    if job is None:
        return None
    if _synchronous if wait is None else wait:
        try:
            job.result()
        except Exception:  # noqa: BLE001 - the caller shows the job's error
            pass
    return job.result() if job.done() and not job.failed() else None


def _forget_old() -> None:
    """Forget the oldest finished jobs beyond ``KEEP_FINISHED`` of them or ``KEEP_BYTES`` of their results."""
    finished = [(key, job.nbytes) for key, job in _jobs.items() if job.done()]
    total = sum(size for _, size in finished)
    for i, (key, size) in enumerate(finished[:-1]):
        if len(finished) - i <= KEEP_FINISHED and total <= KEEP_BYTES:
            break
        del _jobs[key]
        total -= size


def pending() -> list[Job]:
    """The jobs not finished yet, oldest first."""
    with _lock:
        return [job for job in _jobs.values() if not job.done()]


def settle(timeout: Optional[float] = None) -> None:
    """Wait until both lanes have finished everything submitted so far, and what that submitted in turn
    (for tests and benchmarks)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        for executor in _executors.values():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            executor.submit(lambda: None).result(left)
        if not pending():
            return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("jobs still running: " + ", ".join(job.label for job in pending()))
        time.sleep(0.05)
