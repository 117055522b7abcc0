"""Every epoch's neuron results of a run, and the data subspace, computed once in a background thread.

The neuron pages ask ``results(run)`` on every rerun. It returns the ``advx.derived.EpochResults``
when they are in memory or on disk, and otherwise starts one background computation for the run
(all epochs, about a second of CPU per four epochs, written to ``<cache>/derived``) and returns
``None``, so the page computes just the epoch it shows meanwhile. Once the results are there, the
epoch scrubber only slices arrays. One worker thread serves every session of the server, so two
sessions never compute the same run twice, and a few recent runs are kept in memory.

After a run's results, the same worker prepares what "Why it happens" needs before any k is chosen:
the PCA of the training images (``subspace``, once per data set, kept in ``<cache>/subspace``) and
the compiled counterfactual attacks. A page that asks for the PCA first computes it itself; one that
asks while the worker computes it waits for that computation.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from advx import derived, neurons
from advx import subspace as S

KEEP_IN_MEMORY = 4  # runs (about 14 MB each for the default network)

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="advx-derived")
_jobs: OrderedDict[tuple[str, str], Future] = OrderedDict()
_lock = threading.Lock()


def _compute(run, images, output: str, delay_s: float = 0.0) -> derived.EpochResults:
    if delay_s:
        time.sleep(delay_s)
    return derived.load_or_compute(run, images, output)


def results(run, images, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING, *, wait: bool = False,
            start: bool = True, delay_s: float = 0.0):
    """The run's ``EpochResults`` if ready (``wait``: block until they are), else ``None`` after starting them.

    ``start=False``: only report what is ready (in memory or on disk); start nothing. For a page that
    needs one or two epochs and has heavier work of its own to do first.

    ``images``: the training images, ``(n, 784)`` or ``(n, 28, 28)`` uint8. A failed computation is dropped, so the
    next call tries again; the pages fall back to computing one epoch at a time.
    """
    key = (run.run_id, output)
    with _lock:
        job = _jobs.get(key)
        if job is None or (job.done() and job.exception() is not None):
            found = derived.load(run, output)
            if found is not None:
                job = Future()
                job.set_result(found)
            elif not start:
                return None
            else:
                job = _executor.submit(_compute, run, images, output, delay_s)
                _executor.submit(_prepare_why, run, images)
            _jobs[key] = job
            while len(_jobs) > KEEP_IN_MEMORY:
                _jobs.popitem(last=False)
        _jobs.move_to_end(key)
    if wait:
        try:
            return job.result()
        except Exception:  # noqa: BLE001 - the caller falls back to one epoch at a time
            return None
    if job.done() and job.exception() is None:
        return job.result()
    return None


START_DELAY_S = 2.0


def start(run, images, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING) -> None:
    """Make sure the run's results are on their way (e.g. right after it was trained).

    The computation waits ``START_DELAY_S`` first, so the browser can draw the page that asked for it
    on a small machine before the pass over the images takes both cores.
    """
    results(run, images, output, delay_s=START_DELAY_S)


N_TEST_IMAGES = 10_000  # MNIST's test set, which the counterfactual attacks are compiled for

_subspaces: dict[str, Future] = {}  # data hash -> the DataSubspace of its training images
_subspace_lock = threading.Lock()


def subspace(data_sha: str, images) -> S.DataSubspace:
    """The data subspace of the training images ``images`` (``(n, 784)`` uint8), whose content hash is
    ``data_sha``: ``advx.subspace.load_or_fit_subspace``, computed once per data set by whoever asks first
    (a page or the worker); a later caller waits for that computation. A failed one is tried again."""
    with _subspace_lock:
        job = _subspaces.get(data_sha)
        mine = job is None or (job.done() and job.exception() is not None)
        if mine:
            job = _subspaces[data_sha] = Future()
    if mine:
        try:
            job.set_result(S.load_or_fit_subspace(images, data_sha))
        except BaseException as exc:
            job.set_exception(exc)
            raise
    return job.result()


def _prepare_why(run, images) -> None:
    """The PCA and the compiled attacks of "Why it happens", for ``run``'s network; both kept for later."""
    subspace(run.data_sha, images)
    S.prepare_attack_rates(run.final_params, N_TEST_IMAGES, np.uint8).result()


def settle(timeout: float | None = None) -> None:
    """Wait until the worker has finished everything submitted so far (for benchmarks and tests)."""
    _executor.submit(lambda: None).result(timeout)
