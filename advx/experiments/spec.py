"""A named experiment: one result a page shows, as a small frozen spec.

An ``Experiment`` says what a result is computed from (``inputs``: run ids, the fingerprint of the weights,
the data's hash), how (``settings``: every random key, image count and grid), the computation itself, and how
the result is kept on disk (its ``codec``). Its ``digest`` is both the job key the app uses and the identity
of the verified file the result is kept in (``<cache>/<name>/<digest>.npz``, through ``advx.storage``), so a
notebook that builds the same spec reads or computes exactly the numbers a page shows.

- ``spec.get(report)`` loads or computes the result (computed once per file, across threads and processes);
- ``spec.read()`` only reads: the kept result, or ``None``. This is the one way to say "read only".

``report(fraction, text)`` is the one progress signature: a share done in [0, 1] (or ``None``) and a short text.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

import jax
import numpy as np

from advx import storage
from advx.paths import cache_dir

Report = Callable[[Optional[float], str], None]


def silent(fraction: Optional[float] = None, text: str = "") -> None:
    """A ``Report`` that says nothing."""


def fingerprint(params) -> str:
    """The one fingerprint of a parameter tree (a network's weights): ties a kept result to them."""
    return storage.fingerprint(np.asarray(leaf, np.float32) for leaf in jax.tree.leaves(params))


def _plain(value):
    """``value`` as JSON would give it back (tuples as lists, NumPy scalars as numbers)."""
    return json.loads(json.dumps(value, sort_keys=True, default=lambda v: v.item() if isinstance(v, np.generic) else
                                 str(v)))


class Codec(NamedTuple):
    """How a result becomes a verified file's content and back: ``encode(value) -> (arrays, extra)`` and
    ``decode(arrays, extra) -> value``."""

    encode: Callable[[Any], tuple[dict, dict]]
    decode: Callable[[dict, dict], Any]


@dataclass(frozen=True, eq=False)
class Experiment:
    """One named result (see the module's text).

    ``compute(report)`` makes the result. ``codec`` keeps it in ``<cache>/<name>/<digest>.npz``; an experiment
    whose result another store keeps (a trained run in the run store) has ``codec=None`` and gives
    ``look(on_damage)`` (read the kept result or ``None``, reporting damage as ``advx.storage.load`` does); its ``compute`` stores what it makes. With neither, nothing is kept.
    """

    name: str
    label: str
    inputs: dict
    settings: dict
    compute: Callable[[Report], Any] = field(repr=False)
    codec: Optional[Codec] = field(default=None, repr=False)
    look: Optional[Callable[[Optional[storage.DamageHandler]], Any]] = field(default=None, repr=False)

    def identity(self) -> dict:
        """What the result belongs to, as JSON values: the name, the inputs and the settings."""
        return _plain({"name": self.name, "inputs": self.inputs, "settings": self.settings})

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:20]

    @property
    def key(self) -> tuple[str, str]:
        """The job key: the same for every caller who asks for the same result."""
        return self.name, self.digest

    def path(self, root: Optional[Path] = None) -> Path:
        """``<cache>/<name>/<digest>.npz`` (``root``: another folder than the cache's)."""
        folder = Path(root) if root is not None else cache_dir() / self.name.replace(" ", "_")
        return folder / f"{self.digest}.npz"

    def _kept(self, compute: Optional[Callable[[], Any]], on_damage=None):
        if self.codec is None:  # kept elsewhere (``look``), or not kept at all
            if compute is None:
                return self.look(on_damage) if self.look is not None else None
            return compute()
        return storage.load_or_compute(self.path, self.name, self.identity(), compute, self.codec.encode,
                                       self.codec.decode, on_damage=on_damage, what=self.name)

    def read(self, on_damage: Optional[storage.DamageHandler] = None) -> Any:
        """The kept result, or ``None`` when there is none (a damaged file is reported and removed)."""
        return self._kept(None, on_damage)

    def get(self, report: Optional[Report] = None, on_damage: Optional[storage.DamageHandler] = None) -> Any:
        """The result: read when kept, else computed (with progress through ``report``) and kept."""
        report = report or silent
        return self._kept(lambda: self.compute(report), on_damage)


def experiment(build: Callable[..., Experiment]):
    """Make ``build(...) -> Experiment`` into the experiment's public name: calling it returns the result
    (``build(...).get()``); ``.spec(...)`` returns the ``Experiment`` itself, for its key, label or progress."""

    @functools.wraps(build)
    def result(*args, **kwargs):
        return build(*args, **kwargs).get()

    result.spec = build
    return result


# ---- Codecs


def tuple_codec(cls) -> Codec:
    """A ``NamedTuple`` of arrays and numbers (e.g. ``advx.attacks.SweepSummary``)."""

    def encode(value) -> tuple[dict, dict]:
        arrays = {name: np.asarray(v) for name, v in value._asdict().items()}
        return arrays, {"scalars": [name for name, v in value._asdict().items() if np.ndim(v) == 0]}

    def decode(arrays: dict, extra: dict):
        scalars = set(extra.get("scalars", ()))
        return cls(**{name: (arrays[name].item() if name in scalars else arrays[name]) for name in cls._fields})

    return Codec(encode, decode)


def _plain_value(value):
    return value.item() if isinstance(value, np.generic) else value


ARRAY = Codec(lambda value: ({"array": np.asarray(value)}, {}), lambda arrays, extra: arrays["array"])
"""One array."""

ROWS = Codec(lambda rows: ({}, {"rows": [{k: _plain_value(v) for k, v in row.items()} for row in rows]}),
             lambda arrays, extra: extra["rows"])
"""A table: a list of dicts of JSON values."""
