"""Data and trained runs, shared by every browser session of this server process.

The first fetch of MNIST and the first training of a run show a progress bar. MNIST is decoded once per
process; a run is read or trained once and then kept by the job runner under its
experiment's key (``advx.experiments.trained_run``), like every other result, for every session.
"""

from __future__ import annotations

import threading

import streamlit as st

from advx import experiments as E
from advx import store
from advx.config import ConfigError, TrainConfig
from advx.data import MNIST, DataUnavailableError, load_mnist
from advx.paths import CacheDirError, cache_dir
from advx.train import Run, TrainingDivergedError
from ui import jobs, links

CONFIG_KEY = "advx_config"


_mnist: list[MNIST] = []  # the verified data, decoded once per process and shared by every session
_mnist_lock = threading.Lock()


def data(required: bool = True) -> MNIST | None:
    """The verified MNIST arrays; the first call in a process may fetch them with a progress bar. When they cannot
    be loaded, a page that needs them (``required``) shows why and stops; another gets ``None`` and a short note."""
    if _mnist:
        return _mnist[0]
    with _mnist_lock:  # one session loads; another that asks meanwhile waits for it
        if not _mnist:
            bar = st.progress(0.0, text="Loading MNIST…")

            def report(fraction, message):
                bar.progress(min(max(fraction or 0.0, 0.0), 1.0), text=message)

            try:
                _mnist.append(load_mnist(progress=report))
            except DataUnavailableError as exc:
                if not required:
                    st.info("MNIST could not be loaded, so this page leaves out what it measures on it. The Train "
                            "page says why and what you can do.", icon=":material/cloud_off:")
                    return None
                st.error(f"MNIST could not be loaded.\n\n{exc}")
                st.stop()
            finally:
                bar.empty()
    return _mnist[0]


def _show_damage(messages: list[str]) -> None:
    """Tell the user about stored runs found damaged (reported by ``store`` through ``on_damage``)."""
    for message in messages:
        st.warning(f"{message[:1].upper()}{message[1:]}.", icon=":material/build:")


def _train_with_bar(spec) -> Run:
    bar = st.progress(0.0, text=f"Training {spec.settings['config']['epochs']} epochs…")
    try:
        return spec.get(lambda fraction, text: bar.progress(fraction or 0.0, text=text[:1].upper() + text[1:]))
    finally:
        bar.empty()


def run_for(config: TrainConfig) -> Run:
    """The run for ``config`` (``advx.experiments.trained_run``): from memory (the job runner keeps it for every
    session), from the store (read once), or trained now with a progress bar, in the page that asked for it."""
    mnist = data()
    spec = E.trained_run.spec(config, mnist)
    run = jobs.outcome(jobs.get(spec.key), wait=False)
    if run is not None:
        return run
    try:
        cache_dir()
        keeps = True
    except CacheDirError as exc:
        st.warning(f"Runs cannot be saved ({exc}). This run is kept in memory until the server restarts.")
        keeps = False
    # Damage is reported through a callback, not caught as a warning: warning filters are process-wide and
    # sessions run in threads.
    damage: list[str] = []
    try:
        run = spec.read(on_damage=damage.append) if keeps else None
        _show_damage(damage)
        if run is None:
            run = _train_with_bar(spec)
    except TrainingDivergedError as exc:
        # Every caller uses the returned run at once, so there is nothing to return: the script stops here.
        # Nothing was stored or selected, so the next rerun shows the last good run.
        st.error(f"Training failed: {exc}. Nothing was saved, and the selected run is unchanged.",
                 icon=":material/error:")
        st.stop()
    return jobs.done(spec.key, run, spec.label).result()


def current_config() -> TrainConfig:
    """The configuration chosen on the Train page in this session, else one named by ``?run=``, else the default."""
    config = st.session_state.get(CONFIG_KEY)
    if isinstance(config, TrainConfig):
        return config
    wanted = links.url_text("run")
    if wanted:
        try:
            for entry in store.list_runs():
                if entry["run_id"] == wanted:
                    config = TrainConfig.from_dict(entry["config"])
                    st.session_state[CONFIG_KEY] = config
                    return config
        except (CacheDirError, ConfigError):
            pass
        st.warning(f"The run {wanted!r} named in the link is not stored on this server; showing the default run.")
    return TrainConfig()


def set_current_config(config: TrainConfig) -> None:
    st.session_state[CONFIG_KEY] = config


def current_run() -> Run:
    """The run every page shows: the session's chosen configuration, trained if needed."""
    config = current_config()
    run = run_for(config)
    links.sync(run=run.run_id if config != TrainConfig() else None)
    return run
