"""The peer trainers (PyTorch eager, Keras ``model.fit``) and the parent side that drives them.

The peers run in their own virtualenv, ``.venv-bench`` (``bench/requirements.txt``), so that neither
PyTorch nor TensorFlow enters the app's environment. ``ensure_env()`` creates it the first time;
``Peer`` starts one trainer as a subprocess and asks it for one epoch at a time (``protocol.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ENV_DIR = ROOT / ".venv-bench"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"
_MARKER = ENV_DIR / ".advx-bench-requirements.sha256"
ANSWER_PREFIX = "@@advx-peer@@ "  # as in protocol.py (which runs in the peer environment)
THREADS = 2

SCRIPTS = {"PyTorch": HERE / "torch_mlp.py", "Keras": HERE / "keras_mlp.py"}


class PeerError(RuntimeError):
    """A peer trainer failed, stopped answering, or answered with an error."""


def env_python() -> Path:
    return ENV_DIR / "bin" / "python"


def ensure_env(log=print) -> Path:
    """Create ``.venv-bench`` with ``bench/requirements.txt`` unless it already holds exactly those
    requirements; return its interpreter. Nothing is installed anywhere else."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    python = env_python()
    if python.exists() and _MARKER.exists() and _MARKER.read_text().strip() == wanted:
        return python
    if not python.exists():
        base = getattr(sys, "_base_executable", None) or sys.executable
        log(f"creating the peer environment {ENV_DIR} with {base}")
        subprocess.run([base, "-m", "venv", str(ENV_DIR)], check=True)
    log(f"installing {REQUIREMENTS.relative_to(ROOT)} into {ENV_DIR.name} (the first time takes a few minutes)")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
    _MARKER.write_text(wanted + "\n")
    return python


def peer_env() -> dict[str, str]:
    """The environment of a peer process: the same thread count for every framework."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS), TF_CPP_MIN_LOG_LEVEL="2",
               KERAS_BACKEND="tensorflow", PYTHONUNBUFFERED="1")
    return env


class Peer:
    """One trainer process, asked for one epoch at a time (``argv`` starts a script that calls
    ``protocol.serve``)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"peer-{''.join(c if c.isalnum() else '-' for c in name.lower())}.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                        text=True, bufsize=1, env=env, cwd=ROOT)
        self._answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, name=f"peer-{name}", daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith(ANSWER_PREFIX):
                self._answers.put(json.loads(line[len(ANSWER_PREFIX):]))
        self._answers.put(None)  # end of output: the process has exited

    def _log_tail(self) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-25:])
        except OSError:
            return ""

    def ask(self, cmd: str, timeout_s: float = 900, **fields) -> dict:
        try:
            self.process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise PeerError(f"{self.name} exited (status {self.process.poll()}). Its log:\n{self._log_tail()}") from None
        try:
            reply = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            raise PeerError(f"{self.name} did not answer {cmd!r} within {timeout_s:g} s") from None
        if reply is None:
            raise PeerError(f"{self.name} exited (status {self.process.wait()}) while asked {cmd!r}. "
                            f"Its log:\n{self._log_tail()}")
        if "error" in reply:
            raise PeerError(f"{self.name} failed on {cmd!r}: {reply['error']}\n{reply.get('traceback', '')}")
        return reply

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.ask("quit", timeout_s=30)
            except PeerError:
                pass
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def framework_peer(name: str, data_npz: Path, *, epochs: int, lr: float, batch: int, seed: int,
                   log_dir: Path) -> Peer:
    """The PyTorch or Keras trainer (``name``), in the peer environment."""
    argv = [str(env_python()), str(SCRIPTS[name]), str(data_npz),
            "--lr", repr(lr), "--batch", str(batch), "--seed", str(seed), "--epochs", str(epochs)]
    return Peer(name, argv, peer_env(), log_dir)


def advx_variant_peer(name: str, data_npz: Path, variants: list[str], *, xla_flags: str, lr: float, batch: int,
                      log_dir: Path) -> Peer:
    """advx's epoch and its variants (``advx_variants.VARIANTS``) in a child of the app's interpreter
    with the given ``XLA_FLAGS`` (a process-wide setting)."""
    env = dict(os.environ, XLA_FLAGS=xla_flags, PYTHONUNBUFFERED="1")
    argv = [sys.executable, str(HERE / "advx_mlp.py"), str(data_npz), "--lr", repr(lr), "--batch", str(batch),
            "--variants", json.dumps(variants)]
    return Peer(name, argv, env, log_dir)
