"""Shared fixtures: the real, verified MNIST and one trained default run (trained once, then stored)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # AppTest and page scripts resolve paths from the project root


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
    from advx.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def trained_run(mnist):
    """The default configuration (the post's network), from the run store or trained now."""
    from advx import store
    from advx.config import TrainConfig

    return store.get_or_train(TrainConfig(), mnist)
