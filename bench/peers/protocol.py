"""The child side of a peer trainer: one JSON command per stdin line, one JSON answer per stdout line.

A peer script builds its trainer and calls ``serve(trainer)``. The parent (``bench/peers/__init__.py``)
drives it, so epochs of different frameworks can be interleaved in one run. Commands:

- ``{"cmd": "info"}`` -> framework versions and thread settings;
- ``{"cmd": "epoch", ...}`` -> trains one epoch (further fields are passed to ``trainer.epoch``), answers
  ``{"seconds": wall time of that epoch}``, measured inside the peer so the pipe's latency is not counted;
- ``{"cmd": "eval", ...}`` -> ``{"test_acc": ..., "test_loss": ...}`` on the test set;
- ``{"cmd": "quit"}``.

Answers are prefixed with ``ANSWER_PREFIX`` so that whatever a framework prints on stdout is ignored.
This module is imported by scripts that run in the peer environment (.venv-bench): stdlib and numpy only.
"""

from __future__ import annotations

import json
import sys
import traceback

import numpy as np

ANSWER_PREFIX = "@@advx-peer@@ "
THREADS = 2  # the machine's cores; the same for every contender (see bench/README.md)


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays the parent wrote: ``x_train (60000, 784) uint8``, ``y_train (60000,)``, ``x_test``,
    ``y_test``, and the initial parameters ``w1 (784, 64)``, ``b1 (64,)``, ``w2``, ``b2``, ``w3``, ``b3``
    (kernels laid out ``(in, out)``, as in Flax and Keras)."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def answer(payload: dict) -> None:
    sys.stdout.write(ANSWER_PREFIX + json.dumps(payload) + "\n")
    sys.stdout.flush()


def serve(trainer, until_epoch: bool = False) -> str:
    """Answer the parent's commands. ``trainer`` has ``info()``, ``epoch(**fields) -> seconds`` and
    ``evaluate() -> (loss, accuracy)``.

    Returns ``"quit"`` or ``"eof"`` when the parent is done. With ``until_epoch=True`` it returns
    ``"epoch"`` as soon as an epoch is asked for, without training it: the caller trains it and
    answers with ``answer({"seconds": ...})`` (Keras trains inside ``model.fit``, between callbacks).
    """
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
            cmd = message.pop("cmd")
            if cmd == "quit":
                answer({"ok": True})
                return "quit"
            if cmd == "epoch" and until_epoch:
                return "epoch"
            if cmd == "info":
                answer(trainer.info())
            elif cmd == "epoch":
                answer({"seconds": float(trainer.epoch(**message))})
            elif cmd == "eval":
                loss, acc = trainer.evaluate(**message)
                answer({"test_loss": float(loss), "test_acc": float(acc)})
            else:
                answer({"error": f"unknown command {cmd!r}"})
        except Exception as exc:  # report, keep serving: the parent decides what to do
            answer({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:]})
    return "eof"
