"""Frozen configuration objects whose defaults reproduce the post's experiment."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Optional

from advx.vocabulary import NORMS, OPTIMIZERS

SCHEDULES = ("cosine", "constant")

# Bounds that keep a run meaningful and finishable in an interactive app.
MAX_EPOCHS = 200
MAX_HIDDEN = 4096
MAX_LAYERS = 6
MAX_INIT_SCALE = 16.0  # a factor on the default initialisation (advx.population's scale test uses 0.25-2)

# The threat models adversarial training can use (``advx.vocabulary.NORMS``) and the largest eps of
# each: L-inf 1 moves a pixel from black to white, L2 28 is the norm of an all-white image.
ADVERSARIAL_NORMS = NORMS
MAX_ADVERSARIAL_EPS = {"linf": 1.0, "l2": 28.0}
MAX_ADVERSARIAL_STEPS = 100

# The fields of the runs stored before any other existed. A field added later is left out of ``to_dict``
# (and so of the digest) while it has its default value: every run stored before it keeps its id. The
# default of such a field must therefore never change.
ORIGINAL_FIELDS = ("hidden", "epochs", "batch_size", "learning_rate", "schedule", "optimizer", "momentum",
               "weight_decay", "input_noise", "seed")


class ConfigError(ValueError):
    """A configuration value is outside what the library can train."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train the MLP.

    The defaults are the post's network: 784 -> 64 -> 64 -> 10, ReLU, trained with
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
    # Adversarial training (Madry et al. 2018): each batch, or its first ``adversarial_share`` of images, is
    # replaced by PGD's examples against the current weights (``advx.train.adversarial_batch``) in the
    # ``adversarial_norm`` ball of radius ``adversarial_eps``: ``adversarial_steps`` steps of
    # ``adversarial_rel_step_size * eps`` (7 steps of eps/4, Madry et al.'s CIFAR-10 setting), from a random
    # point of the ball when ``adversarial_random_start``. eps rises linearly from 0 over the first
    # ``adversarial_ramp_epochs`` epochs (0: full eps from the first batch). ``adversarial_norm=None`` is
    # standard training, and then the other adversarial fields are reset to their defaults.
    adversarial_norm: Optional[str] = None
    adversarial_eps: float = 0.0
    adversarial_steps: int = 7
    adversarial_rel_step_size: float = 0.25
    adversarial_random_start: bool = True
    adversarial_ramp_epochs: int = 0
    adversarial_share: float = 1.0
    # A factor on every initial weight (Flax's LeCun-normal kernels; the biases start at 0): Melamed et al.
    # (NeurIPS 2023) tie a smaller initialisation to more robustness off the data subspace. Left out of
    # ``to_dict`` at 1.0, so the runs stored before it keep their ids.
    init_scale: float = 1.0

    def __post_init__(self) -> None:
        # Accept lists (from JSON or a CLI) but store a hashable tuple.
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        _settle_adversarial_fields(self)
        if isinstance(self.init_scale, (int, float)) and not isinstance(self.init_scale, bool):
            object.__setattr__(self, "init_scale", float(self.init_scale))  # scale 2 and 2.0: one digest
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
        if not (isinstance(self.init_scale, float) and 0 < self.init_scale <= MAX_INIT_SCALE):
            out.append(f"the initialisation scale must be above 0 and at most {MAX_INIT_SCALE:g}, got {self.init_scale!r}")
        return out + _adversarial_problems(self)

    @property
    def adversarial(self) -> bool:
        """Whether this run trains on adversarial examples (``adversarial_norm`` is set)."""
        return self.adversarial_norm is not None

    def to_dict(self) -> dict:
        """The fields as JSON values; a field added after ``ORIGINAL_FIELDS`` is left out at its default."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        for f in dataclasses.fields(self):
            if f.name not in ORIGINAL_FIELDS and d[f.name] == f.default:
                del d[f.name]
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


_ADVERSARIAL_FIELDS = tuple(f for f in dataclasses.fields(TrainConfig) if f.name.startswith("adversarial_"))


def _settle_adversarial_fields(config: TrainConfig) -> None:
    """Reset the adversarial fields of a standard run to their defaults (they do nothing there, and so must
    not change its digest); store the numbers as floats, so that eps 1 and 1.0 are one configuration."""
    for f in _ADVERSARIAL_FIELDS:
        value = getattr(config, f.name)
        if config.adversarial_norm is None:
            value = f.default
        elif f.type == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        object.__setattr__(config, f.name, value)


def _adversarial_problems(c: TrainConfig) -> list[str]:
    if c.adversarial_norm is None:
        return []
    if c.adversarial_norm not in ADVERSARIAL_NORMS:
        return [f"the adversarial norm must be one of {', '.join(ADVERSARIAL_NORMS)} or None, "
                f"got {c.adversarial_norm!r}"]
    out = []
    top = MAX_ADVERSARIAL_EPS[c.adversarial_norm]
    if not (isinstance(c.adversarial_eps, float) and 0 <= c.adversarial_eps <= top):
        out.append(f"the adversarial eps must be from 0 to {top:g} for {c.adversarial_norm}, got {c.adversarial_eps!r}")
    if not (isinstance(c.adversarial_steps, int) and 0 <= c.adversarial_steps <= MAX_ADVERSARIAL_STEPS):
        out.append(f"adversarial steps must be a whole number from 0 to {MAX_ADVERSARIAL_STEPS}, "
                   f"got {c.adversarial_steps!r}")
    if not (isinstance(c.adversarial_rel_step_size, float) and 0 < c.adversarial_rel_step_size <= 10):
        out.append(f"the adversarial step size (a share of eps) must be above 0 and at most 10, "
                   f"got {c.adversarial_rel_step_size!r}")
    if not isinstance(c.adversarial_random_start, bool):
        out.append(f"adversarial random start must be True or False, got {c.adversarial_random_start!r}")
    if not (isinstance(c.adversarial_ramp_epochs, int) and 0 <= c.adversarial_ramp_epochs <= c.epochs):
        out.append(f"the eps ramp must last a whole number of epochs from 0 to the run's {c.epochs}, "
                   f"got {c.adversarial_ramp_epochs!r}")
    if not (isinstance(c.adversarial_share, float) and 0 < c.adversarial_share <= 1):
        out.append(f"the attacked share of each batch must be above 0 and at most 1, got {c.adversarial_share!r}")
    return out
