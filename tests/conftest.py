"""Shared fixtures: the real, verified MNIST, one trained default run, and the big runs several tests share.

The tests keep every file in a cache folder of their own (``ADVX_CACHE_DIR``), empty at the start of each test
session and removed at its end, so a test never relies on what an earlier session, or the user's app, left in
``~/.cache/advx``. Only the verified MNIST file is copied in from the caller's cache when it is there (it is
proven by its hash). Every process the tests start inherits the folder; tests that need a cache of their own
still set one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest


SHARED_CACHE = "ADVX_TESTS_CACHE_DIR"  # the session's folder, handed by pytest's main process to its workers


def _own_cache_folder() -> Path:
    """A fresh ``ADVX_CACHE_DIR`` for this session, set before anything reads it, removed when the session ends.

    The suite runs in two worker processes (pytest-xdist; ``pytest.ini``). The main process loads this file
    first and makes the folder; its workers inherit it (``ADVX_TESTS_CACHE_DIR``) and share it, so a run, a result
    or a compiled program made by one is read by the other (``advx.storage`` locks each file across processes:
    the second asker waits for the first instead of computing it again). Only the main process removes it.

    XLA's compilation cache is ``<folder>/jax`` for every process of the session (``JAX_COMPILATION_CACHE_DIR``,
    which JAX reads at start, is set here, replacing a caller's setting): the workers, the servers and the child
    processes of the CLI tests, whose own cache folders would each compile again from nothing. The caller's verified
    ``mnist.npz`` is copied in when it verifies (``advx.data.read_npz``); otherwise the ``mnist`` fixture fetches it.
    """
    shared = os.environ.get(SHARED_CACHE)
    if os.environ.get("PYTEST_XDIST_WORKER") and shared and Path(shared).is_dir():
        os.environ["ADVX_CACHE_DIR"] = shared
        return Path(shared)
    callers = Path(os.environ.get("ADVX_CACHE_DIR") or Path.home() / ".cache" / "advx").expanduser()
    folder = Path(tempfile.mkdtemp(prefix="advx-tests-cache-"))
    os.environ["ADVX_CACHE_DIR"] = os.environ[SHARED_CACHE] = str(folder)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder / "jax")
    from ui.startup import MIN_COMPILE_S

    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(MIN_COMPILE_S)  # as the app's start-up sets it
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # registered first: runs after the servers stop

    from advx.data import CACHE_FILE_NAME, DataIntegrityError, read_npz

    source = callers / CACHE_FILE_NAME
    if source.is_file():
        try:
            read_npz(source)
        except DataIntegrityError:
            pass  # the user's damaged file stays where it is; the tests fetch their own
        else:
            shutil.copyfile(source, folder / CACHE_FILE_NAME)
    return folder


ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # AppTest and page scripts resolve paths from the project root
CACHE = _own_cache_folder()


@pytest.fixture(autouse=True)
def pages_wait_for_their_jobs():
    """AppTest runs no fragment timers: a page under test waits for its background jobs instead of polling, in
    the job runner's synchronous mode (``ui.jobs.set_synchronous``). The browser tests run a real server, where
    pages poll as they do for users."""
    from ui import jobs

    jobs.set_synchronous(True)
    yield
    jobs.set_synchronous(False)


@pytest.fixture(scope="session")
def mnist():
    """The verified MNIST; a worker that finds it missing fetches it while the other waits, then reads it."""
    from advx.data import CACHE_FILE_NAME, load_mnist
    from advx.storage import file_lock

    with file_lock(CACHE / CACHE_FILE_NAME):
        return load_mnist()


@pytest.fixture(scope="session")
def trained_run(mnist):
    """The default configuration (the post's network), from the run store or trained now."""
    from advx import store
    from advx.config import TrainConfig

    return store.get_or_train(TrainConfig(), mnist)


@pytest.fixture(scope="session")
def populations(mnist):
    """``{use: advx.population.Population}`` of the many-networks page (``advx.experiments.populations``): the
    default population (4 seeds x Adam and SGD) and the initialisation-scale one (4 scales x 2 seeds x Adam and SGD),
    their 20 distinct networks trained together once (minutes, cold) or loaded from the run store."""
    from advx import experiments as E

    return E.populations(mnist)


@pytest.fixture(scope="session")
def robust_run(mnist):
    """``advx.robust.DEFAULT_ROBUST``, the street-smart network the pages show first: trained once, then stored."""
    from advx import robust, store

    return store.get_or_train(robust.DEFAULT_ROBUST, mnist)


@pytest.fixture(scope="session")
def explanation_results(trained_run, mnist):
    """``{name: result}`` of every measure "Bugs or features?" shows first (``advx.experiments.explanations``,
    L∞), computed once in this process (about a minute and a half cold) and kept, so that the page, in AppTest or
    in the browser's server, reads them instead of computing them again beside other work."""
    from advx.experiments import explanations as EX

    return {name: spec.get() for name, spec in EX.measures(trained_run, mnist, "linf").items()}


@pytest.fixture(scope="session")
def street_smart_results(trained_run, robust_run, mnist):
    """What Street-smart shows first, at the page's own sizes: both networks' every-epoch neuron results and the
    book-smart/street-smart comparison (about a minute and a half cold), computed once in this process and kept."""
    from advx import experiments as E

    return {"epochs": [E.epoch_results(run, mnist) for run in (trained_run, robust_run)],
            "comparison": E.robust_comparison(trained_run, robust_run, mnist)}
