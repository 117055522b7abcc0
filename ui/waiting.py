"""How a page shows a result that a job has not finished yet: its progress, then the result.

``result_or_wait(job, what)`` returns the job's result when it is done. Otherwise it draws a progress
bar saying what the section waits for, plus a small fragment that looks at the job twice a second and
reruns the page once it is done, and returns ``None``: the page goes on drawing what is ready and skips
the waiting section, which fills in on that rerun. Widgets keep their values across the rerun.
"""

from __future__ import annotations

import streamlit as st

from ui import jobs

POLL_SECONDS = 0.5
# Page tests (AppTest) set this: a page then blocks until each job is done and shows what a reader who
# waited would see, since AppTest does not run a fragment's timer. The server never sets it.
BLOCK = False


def _progress_text(job: jobs.Job, what: str) -> str:
    detail = "" if job.text in ("queued", "running") else f": {job.text}"
    state = "queued behind other work" if job.started is None else "in progress"
    return f"Waiting for {what} ({state}){detail}"


def _poll(key, what: str) -> None:
    job = jobs.get(key)
    if job is None or job.done():
        st.rerun()  # the whole page: the section that waited draws its result
    st.progress(job.fraction, text=_progress_text(job, what))


def ready(job: jobs.Job):
    """The job's result if it finished without error, else ``None``; draws nothing (for a fragment whose
    section's progress is drawn by a ``result_or_wait`` outside it)."""
    if BLOCK:
        try:
            job.result()
        except Exception:  # noqa: BLE001 - the caller's result_or_wait shows it
            pass
    return job.result() if job.done() and not job.failed() else None


def result_or_wait(job: jobs.Job, what: str):
    """The job's result if it is done, else ``None`` after drawing its progress (see the module's text).

    A failed job shows its error and what to do; the next rerun of the page starts it again.
    """
    ready(job)  # waits under BLOCK
    if job.done():
        if job.failed():
            st.error(f"Computing {what} failed: {job.error()}. Reload the page to try again.", icon=":material/error:")
            return None
        return job.result()
    st.fragment(_poll, run_every=POLL_SECONDS)(job.key, what)
    return None


def results_or_wait(named_jobs: dict, what: str):
    """``{name: result}`` when every job is done, else ``None`` after drawing the progress of those that are
    not (each with its own label; ``what`` names the set when one of them failed)."""
    out = {}
    for name, job in named_jobs.items():
        value = result_or_wait(job, job.label if job.label else what)
        if value is None:
            out = None
        elif out is not None:
            out[name] = value
    return out
