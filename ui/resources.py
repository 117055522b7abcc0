"""Data and trained runs, shared by every browser session of this server process.

The first fetch or training of a run shows a progress bar; it happens outside the cache, writes
the verified file to disk, and the ``ui.cache`` loaders then read that file. So the
progress is visible and every session asking for the same configuration shares one object.
"""

from __future__ import annotations

import threading

import streamlit as st

from advx import store
from advx.config import ConfigError, TrainConfig
from advx.data import MNIST, DataUnavailableError, load_mnist
from advx.paths import CacheDirError
from advx.train import Run, TrainingDivergedError, train
from ui import cache, links

CONFIG_KEY = "advx_config"


_ready_runs: set[str] = set()
_memory_runs: dict[str, Run] = {}  # runs trained while the cache folder is unusable
_lock = threading.Lock()
_data_ready = False


def data() -> MNIST:
    """The verified MNIST arrays; the first call in a process may fetch them with a progress bar."""
    global _data_ready
    if not _data_ready:
        bar = st.progress(0.0, text="Loading MNIST…")

        def report(fraction, message):
            bar.progress(min(max(fraction or 0.0, 0.0), 1.0), text=message)

        try:
            load_mnist(progress=report)
        except DataUnavailableError as exc:
            bar.empty()
            st.error(f"MNIST could not be loaded.\n\n{exc}")
            st.stop()
        bar.empty()
        _data_ready = True
    return cache.mnist()


def _show_damage(messages: list[str]) -> None:
    """Tell the user about stored runs found damaged (reported by ``store`` through ``on_damage``)."""
    for message in messages:
        st.warning(f"{message[:1].upper()}{message[1:]}.", icon=":material/build:")


def _train_with_bar(config: TrainConfig, mnist: MNIST, save: bool) -> Run:
    bar = st.progress(0.0, text=f"Training {config.epochs} epochs…")

    def report(done, total, metrics):
        text = f"Epoch {done}/{total}"
        if metrics:
            text += f" · test accuracy {metrics['test_acc']:.2%}"
        bar.progress(done / total, text=text)

    damage: list[str] = []
    try:
        if not save:
            return train(config, mnist, report)
        return store.get_or_train(config, mnist, progress=report, on_damage=damage.append)
    finally:
        bar.empty()
        _show_damage(damage)


def run_for(config: TrainConfig) -> Run:
    """The run for ``config``: from memory, from the store, or trained now with a progress bar."""
    mnist = data()
    key = store.run_id(config, mnist.sha)
    if key in _memory_runs:
        return _memory_runs[key]
    try:
        if key not in _ready_runs:
            # Damage is reported through a callback, not caught as a warning: warning filters are
            # process-wide and sessions run in threads.
            damage: list[str] = []
            stored = store.load(config, mnist.sha, on_damage=damage.append)
            _show_damage(damage)
            if stored is None:
                _train_with_bar(config, mnist, save=True)
            with _lock:
                _ready_runs.add(key)
        return cache.run(config, mnist.sha, mnist)
    except CacheDirError as exc:
        st.warning(f"Runs cannot be saved ({exc}). This run is kept in memory until the server restarts.")
        run = _train_with_bar(config, mnist, save=False)
        _memory_runs[key] = run
        return run
    except TrainingDivergedError as exc:
        # Every caller uses the returned run at once, so there is nothing to return: the script
        # stops here. Nothing was stored or selected, so the next rerun shows the last good run.
        st.error(f"Training failed: {exc}. Nothing was saved, and the selected run is unchanged.",
                 icon=":material/error:")
        st.stop()


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
