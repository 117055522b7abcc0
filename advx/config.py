"""Frozen configuration objects whose defaults reproduce the seed experiment."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant")

# Bounds that keep a run meaningful and finishable in an interactive app.
MAX_EPOCHS = 200
MAX_HIDDEN = 4096
MAX_LAYERS = 6


class ConfigError(ValueError):
    """A configuration value is outside what the library can train."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train the MLP.

    The defaults are the seed's network: 784 -> 64 -> 64 -> 10, ReLU, trained with
    Adam (learning rate 2e-3, decayed to 0 along a cosine over the run) in batches of 128.

    ``weight_decay`` is decoupled (AdamW, or SGD with decay added to the gradient) and
    ``input_noise`` is the standard deviation of Gaussian pixel noise added to each training batch:
    both are the "street-smart" variants that also train directions the data does not occupy.
    """

    hidden: tuple[int, ...] = (64, 64)
    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 2e-3
    schedule: str = "cosine"
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    input_noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        # Accept lists (from JSON or a CLI) but store a hashable tuple.
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        problems = self.problems()
        if problems:
            raise ConfigError("; ".join(problems))

    def problems(self) -> list[str]:
        """Every reason this configuration cannot be trained, as sentences."""
        out = []
        if not 1 <= len(self.hidden) <= MAX_LAYERS:
            out.append(f"the network needs 1 to {MAX_LAYERS} hidden layers, got {len(self.hidden)}")
        for i, h in enumerate(self.hidden, start=1):
            if not 1 <= h <= MAX_HIDDEN:
                out.append(f"hidden layer {i} needs 1 to {MAX_HIDDEN} neurons, got {h}")
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= MAX_EPOCHS):
            out.append(f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {self.epochs!r}")
        if not (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 60000):
            out.append(f"batch size must be from 1 to 60000, got {self.batch_size!r}")
        if not (self.learning_rate > 0 and self.learning_rate <= 10):
            out.append(f"learning rate must be above 0 and at most 10, got {self.learning_rate!r}")
        if self.optimizer not in OPTIMIZERS:
            out.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            out.append(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0 <= self.momentum < 1:
            out.append(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not 0 <= self.weight_decay <= 1:
            out.append(f"weight decay must be in [0, 1], got {self.weight_decay!r}")
        if not 0 <= self.input_noise <= 2:
            out.append(f"input noise must be in [0, 2], got {self.input_noise!r}")
        if not (isinstance(self.seed, int) and 0 <= self.seed < 2**31):
            out.append(f"seed must be a whole number from 0 to 2**31-1, got {self.seed!r}")
        return out

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown configuration fields: {', '.join(sorted(unknown))}")
        return cls(**d)

    def digest(self) -> str:
        """A short stable hash of the configuration (hex)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
