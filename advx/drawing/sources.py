"""Where a drawing page's inputs come from besides the pad: the shipped example drawings, and the networks
that read a drawing (the trained one, and a street-smart one where the run store holds it).

**Examples** live in ``examples/drawings/`` at the top of the repository, one text file each (28 lines of
28 characters, ``advx.drawing.codec.to_text``). A file's name starts with the digit it shows (``7-hook.txt``).
They were drawn with the mouse on the app's own pad and preprocessed, so they are drawings, not MNIST images.

**Networks** are a list: the page reads a drawing with each entry it can load. The street-smart network is an
adversarially trained run (issue #13): the newest stored run whose configuration sets ``adversarial_norm`` and
an ``adversarial_eps`` above 0, with the same layer sizes as the trained network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from advx.drawing.codec import from_text
from advx.drawing.preprocess import DrawingError

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "drawings"
MAX_EXAMPLE_BYTES = 4096


@dataclass(frozen=True)
class Example:
    """A shipped drawing: ``name`` (the file's stem), the ``digit`` it shows, and its ``(28, 28)`` image."""

    name: str
    digit: int
    image: np.ndarray


def load_examples(folder: Optional[Path] = None) -> dict[str, Example]:
    """``{name: Example}`` for every ``*.txt`` in ``folder`` (default ``EXAMPLES_DIR``), sorted by name.

    Raises ``DrawingError`` naming the file that cannot be read; an absent folder gives ``{}``.
    """
    folder = Path(folder) if folder is not None else EXAMPLES_DIR
    out = {}
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        if not path.stem[:1].isdigit():
            raise DrawingError(f"{path.name}: an example's name starts with the digit it shows")
        if path.stat().st_size > MAX_EXAMPLE_BYTES:
            raise DrawingError(f"{path.name}: an example is 28 lines of 28 characters, this file is larger")
        try:
            image = from_text(path.read_text(encoding="ascii"))
        except (DrawingError, UnicodeDecodeError) as exc:
            raise DrawingError(f"{path.name}: {exc}") from exc
        image.setflags(write=False)
        out[path.stem] = Example(path.stem, int(path.stem[0]), image)
    return out


@dataclass(frozen=True)
class Network:
    """One entry of the networks a drawing is read by.

    ``name``: a short id for widget keys and downloads; ``title``: what the page calls it; ``about``: one
    sentence; ``find``: given the run store's listing (``advx.store.list_runs``) and the trained network's
    configuration as a dict, the listing entry of this network's run, or ``None`` (``None`` for ``find``
    itself means the session's own trained network).
    """

    name: str
    title: str
    about: str
    find: Optional[Callable[[list[dict], dict], Optional[dict]]] = None


def is_street_smart(config: dict) -> bool:
    """Whether a stored run's configuration (``TrainConfig.to_dict()``) trains adversarially: an
    ``adversarial_norm`` and an ``adversarial_eps`` above 0 (``advx.config``, issue #13)."""
    eps = config.get("adversarial_eps", 0)
    return config.get("adversarial_norm") is not None and isinstance(eps, (int, float)) and eps > 0


def street_smart_run(listing: list[dict], trained: dict) -> Optional[dict]:
    """The newest entry of ``listing`` that trains adversarially with the layer sizes of ``trained``."""
    for entry in listing:
        config = entry.get("config") or {}
        if is_street_smart(config) and list(config.get("hidden", [])) == list(trained.get("hidden", [])):
            return entry
    return None


NETWORKS = (
    Network("trained", "The trained network", "The network of the current run (the Train page's), as on the other "
            "pages: book-smart, trained on MNIST alone."),
    Network("street_smart", "The street-smart network", "The same layers trained adversarially (PGD on every "
            "batch, Madry et al. 2018), stored by the Street-smart page.", street_smart_run),
)
