"""The app's one job runner (``ui.jobs``): one computation per key, shared; failures retried; two lanes."""

from __future__ import annotations

import threading
import time

import pytest

from ui import jobs


def _key(name: str):
    return ("test_jobs", name, time.monotonic_ns())  # a key no other test uses


def test_one_computation_per_key_shared_by_concurrent_callers():
    calls, gate = [], threading.Event()

    def compute(x):
        calls.append(x)
        gate.wait(5)
        return x * 2

    key = _key("shared")
    got: list = []
    threads = [threading.Thread(target=lambda: got.append(jobs.submit(key, compute, 21))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(job) for job in got}) == 1  # every caller holds the same job
    assert not got[0].done()
    gate.set()
    assert got[0].result(timeout=5) == 42 and calls == [21]
    assert jobs.submit(key, compute, 99).result() == 42 and calls == [21]  # finished: not run again
    assert jobs.outcome(jobs.get(key)) == 42


def test_a_failed_job_reports_its_error_and_runs_again_on_the_next_submit():
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("disk full")
        return "ok"

    key = _key("flaky")
    first = jobs.submit(key, flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        first.result(timeout=5)
    assert first.failed() and "disk full" in str(first.error()) and jobs.outcome(jobs.get(key)) is None
    second = jobs.submit(key, flaky)
    assert second is not first and second.result(timeout=5) == "ok" and len(attempts) == 2


def test_the_now_lane_does_not_queue_behind_the_later_lane():
    gate = threading.Event()
    slow = jobs.submit(_key("slow"), gate.wait, 10, lane="later")
    quick = jobs.submit(_key("quick"), lambda: "drawn", lane="now")
    assert quick.result(timeout=5) == "drawn"
    assert not slow.done()
    gate.set()
    assert slow.result(timeout=5) is True


def test_progress_is_reported_to_the_job_and_done_records_a_found_result():
    seen = threading.Event()

    def work(report):
        report(0.5, "half way")
        seen.wait(5)
        return 1

    job = jobs.submit(_key("progress"), work, progress=True)
    for _ in range(100):
        if job.fraction == 0.5:
            break
        time.sleep(0.01)
    assert (job.fraction, job.text) == (0.5, "half way")
    seen.set()
    job.result(timeout=5)
    key = _key("found")
    found = jobs.done(key, {"from": "disk"})
    assert found.done() and jobs.outcome(jobs.get(key)) == {"from": "disk"} and jobs.submit(key, lambda: 1) is found


def test_settle_waits_for_jobs_submitted_by_jobs():
    key_inner = _key("inner")

    def outer():
        jobs.submit(key_inner, lambda: time.sleep(0.2) or "inner done")
        return "outer done"

    jobs.submit(_key("outer"), outer)
    jobs.settle(timeout=10)
    assert jobs.outcome(jobs.get(key_inner)) == "inner done"


def test_an_unknown_lane_is_refused():
    with pytest.raises(ValueError, match="lane"):
        jobs.submit(_key("lane"), lambda: 1, lane="soon")
