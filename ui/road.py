"""The one road from a page to a result: ``ask`` for a named experiment, ``show`` it.

A page builds the spec of what it shows (``advx.experiments``: ``E.overlay_summary.spec(run, mnist, ...)``) and
asks for it. ``ask(spec)`` returns the spec's job (``ui.jobs``): finished at once when the result is in memory
or kept on disk (reading a file costs milliseconds, in the page's thread), else computing in the background.
``show(job)`` returns the result when the job is done; otherwise it draws the job's own label and progress
and a small fragment that looks at the job twice a second and reruns the page when it is done, and returns
``None``: the page goes on drawing what is ready, and the section fills in on that rerun. No page blocks on
a job. Under the runner's synchronous mode (``ui.jobs.set_synchronous``, for tests) ``show`` waits instead.

After the Train page shows a run, ``prepare(run, mnist)`` asks, in the ``later`` lane, for what the other
pages will ask for, in the order a visitor usually goes.
"""

from __future__ import annotations

import time
from typing import Optional

import streamlit as st

from advx import experiments as E
from advx import subspace as S
from advx.experiments import Experiment
from advx.text import subspace as words
from ui import jobs

POLL_SECONDS = 0.5
START_DELAY_S = 2.0  # the page that asked draws its first sections before the preparation takes both cores


def ask(spec: Experiment, lane: str = "now") -> jobs.Job:
    """The job of ``spec``: the running or finished one, else the kept result recorded as done, else the
    computation started in ``lane``."""
    job = jobs.get(spec.key)
    if job is None or job.failed():
        try:
            value = spec.read()
        except OSError:  # no usable cache folder: nothing is kept, so nothing can be read
            value = None
        if value is not None:
            return jobs.done(spec.key, value, spec.label)
        job = jobs.submit(spec.key, spec.get, label=spec.label, lane=lane, progress=True)
    return job


def ready(job: jobs.Job):
    """The job's result if it finished without error, else ``None``; draws nothing (for a section inside a
    fragment whose progress a ``show`` outside it draws)."""
    return jobs.outcome(job)


def _progress_text(job: jobs.Job) -> str:
    detail = "" if job.text in ("queued", "running") else f": {job.text}"
    state = "queued behind other work" if job.started is None else "in progress"
    return f"Waiting for {job.label} ({state}){detail}"


def _poll(key) -> None:
    job = jobs.get(key)
    if job is None or job.done():
        st.rerun()  # the whole page: the section that waited draws its result
    st.progress(job.fraction, text=_progress_text(job))


def show(job: jobs.Job):
    """The job's result if it is done, else ``None`` after drawing its progress (see the module's text).

    A failed job shows its error and what to do; the next rerun of the page starts it again.
    """
    value = jobs.outcome(job)
    if job.failed():
        st.error(f"Computing {job.label} failed: {job.error()}. Reload the page to try again.",
                 icon=":material/error:")
        return None
    if not job.done():
        st.fragment(_poll, run_every=POLL_SECONDS)(job.key)
    return value


def show_all(named: dict[str, jobs.Job]) -> Optional[dict]:
    """``{name: result}`` when every job is done, else ``None`` after drawing the progress of each one that is not."""
    out = {name: show(job) for name, job in named.items()}
    return None if any(value is None for value in out.values()) else out


def get(spec: Experiment, lane: str = "now"):
    """``show(ask(spec, lane))``: the result, or ``None`` after drawing its progress."""
    return show(ask(spec, lane))


def prepare(run, mnist) -> None:
    """Ask, in the ``later`` lane, for what the other pages will ask for about ``run`` (once per run)."""
    if jobs.get(("prepare", run.run_id)) is None:
        jobs.submit(("prepare", run.run_id), _prepare, run, mnist, label="what the pages will ask for")


def _prepare(run, mnist) -> None:
    time.sleep(START_DELAY_S)
    specs = [E.epoch_results.spec(run, mnist), E.data_subspace.spec(mnist), E.overlay_summary.spec(run, mnist),
             E.attack_comparison.spec(run, mnist), E.paper_table.spec(run, mnist),
             E.counterfactual_column.spec(run, mnist, 0)]
    specs += [E.trained_run.spec(config, mnist, label=f"the {words.RUN_LABELS[name]} comparison run")
              for name, config in S.comparison_configs(run.config).items() if config != run.config]
    for spec in specs:
        ask(spec, lane="later")
