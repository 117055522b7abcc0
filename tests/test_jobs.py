"""The app's one job runner (``ui.jobs``): one computation per key, shared; failures retried; two lanes. And the
app's jobs that "Why it happens" needs (``ui.road.ask`` of ``advx.experiments.data_subspace`` and ``counterfactual_column``): one computation
shared by every caller, a failure tried again, the same result as the library call."""

from __future__ import annotations

import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import experiments as E
from advx import subspace as S
from ui import jobs


def _first_images(mnist, n: int):
    """``mnist`` with only its first ``n`` training images, under a data hash of its own (its subspace is another)."""
    import dataclasses

    return dataclasses.replace(mnist, train_images=mnist.train_images[:n], sha=f"{mnist.sha[:16]}-first{n}")


@pytest.fixture(autouse=True, scope="module")
def idle_lanes():
    """These tests give their jobs seconds: what earlier tests queued (a page's preparation) finishes first."""
    jobs.settle()


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


def test_a_job_queued_for_later_and_asked_for_now_runs_at_once_and_only_once():
    gate, calls = threading.Event(), []
    blocker = jobs.submit(_key("busy"), gate.wait, 30, lane="later")  # the later lane is busy
    queued = jobs.submit(_key("prepared"), lambda: calls.append("ran") or 7, lane="later")
    time.sleep(0.2)
    assert queued.started is None  # behind the busy job
    asked = jobs.submit(queued.key, lambda: calls.append("again") or 8, lane="now")  # a page waits for it
    assert asked is queued and asked.result(timeout=10) == 7 and not blocker.done()
    gate.set()
    blocker.result(timeout=10)
    jobs.settle(timeout=10)
    assert calls == ["ran"]  # the later lane, reaching it, found it taken


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

# --------------------------------------------------------------------------------------------
# The app's jobs of "Why it happens" (ui.road)


def _images(n=700, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784)).astype(np.float32) ** 3
    x[:, :40] = 0.0
    return x


def test_the_subspace_is_computed_once_for_every_caller_and_a_failure_is_tried_again(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from advx import experiments as E
    from ui import jobs, road

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "_jobs", type(jobs._jobs)())
    calls, real = [], S.fit_subspace
    fail = [True]

    def counted(images, centred=False):
        calls.append(1)
        time.sleep(0.3)  # long enough for the other callers to arrive while it runs
        if fail[0]:
            fail[0] = False
            raise MemoryError("out of memory")
        return real(images, centred)

    monkeypatch.setattr(S, "fit_subspace", counted)
    x = (_images(200) * 255).astype(np.uint8)
    spec = E.data_subspace.spec(SimpleNamespace(train_images=x, sha="b" * 64))
    with pytest.raises(MemoryError):
        road.ask(spec).result(timeout=60)
    got = []
    threads = [threading.Thread(target=lambda: got.append(road.ask(spec))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(job) for job in got}) == 1
    result = got[0].result(timeout=60)
    assert len(calls) == 2 and result.k_for(0.9) == S.fit_subspace(x).k_for(0.9)


def test_a_counterfactual_column_is_the_library_call_and_is_computed_once(mnist, trained_run, monkeypatch, tmp_path):
    from ui import jobs, road

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "_jobs", type(jobs._jobs)())
    small = _first_images(mnist, 5000)
    sub = S.fit_subspace(small.train_images)
    test = jnp.asarray(mnist.test_images.reshape(10000, -1))
    job = road.ask(E.counterfactual_column.spec(trained_run, small, 40))
    assert road.ask(E.counterfactual_column.spec(trained_run, small, 40)) is job
    projected = S.project_first_layer(trained_run.final_params, sub, 40)
    direct = S.attack_rates(projected, test, mnist.test_labels, jax.random.key(0))
    assert job.result(timeout=300) == direct
    trained = road.ask(E.counterfactual_column.spec(trained_run, small, 0)).result(timeout=300)
    assert trained == S.attack_rates(trained_run.final_params, test, mnist.test_labels, jax.random.key(0))
    assert trained.clean_accuracy == pytest.approx(trained_run.test_accuracy, abs=1e-6)


def test_a_long_job_leaves_no_compiled_program_in_memory_and_the_next_call_gives_the_same_bits(monkeypatch):
    """A job that ran ``FORGET_PROGRAMS_AFTER_S`` makes JAX forget its compiled programs; a program run again
    afterwards compiles anew and returns the same bits. A shorter job forgets nothing."""
    x = jax.random.normal(jax.random.key(3), (64, 784))
    w = jax.random.normal(jax.random.key(4), (784, 10))
    program = jax.jit(lambda x, w: jax.nn.log_softmax(jnp.tanh(x @ w) * 3.0))
    monkeypatch.setattr(jobs, "FORGET_PROGRAMS_AFTER_S", 0.5)

    def run(name: str, seconds: float) -> np.ndarray:
        def work():
            time.sleep(seconds)
            return np.asarray(program(x, w))

        out = jobs.submit(_key(name), work).result(timeout=60)
        jobs.submit(_key(name + " after"), lambda: None).result(timeout=60)  # one worker per lane: the release is done
        return out

    before = np.asarray(program(x, w))
    assert program._cache_size() == 1
    short = run("short", 0.0)
    assert program._cache_size() == 1  # a job shorter than the threshold keeps the programs
    long = run("long", 0.6)
    assert program._cache_size() == 0
    again = np.asarray(program(x, w))
    assert program._cache_size() == 1
    for out in (short, long, again):
        np.testing.assert_array_equal(out, before)
