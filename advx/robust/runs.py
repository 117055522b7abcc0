"""The robust runs a page offers, what one of them measured, and its maps at one image.

A page compares a standard network with a robust one of *one family*: ``DEFAULT_ROBUST`` with another norm,
eps or layer sizes (``robust_config``), so that a norm and an eps name a run (``run_code``: ``"linf:0.1"``, the
form a link carries). ``stored_robust_runs`` finds that family in the run store's listing
(``advx.store.list_runs()``); ``eps_grids`` adds a run's own training eps to the grids its comparison measures;
``training_sentence`` says what the run measured; ``image_maps`` gives the three kinds of map of
``advx.robust.maps`` for one image.

Shapes: an image ``(784,)`` float32 in [0, 1]; maps ``(784, 3)`` in the order of ``MAP_KINDS``.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from advx.config import ConfigError, TrainConfig
from advx.model import effective_weights, forward
from advx.neurons.measures import high_frequency_share
from advx.robust.compare import ATTACK_ROWS, RobustComparison
from advx.robust.defaults import DEFAULT_ROBUST, EPS
from advx.robust.maps import _logit_gradients, _loss_gradients
from advx.vocabulary import NETWORK_NAMES, NORM_LABELS, pct


def robust_config(norm: str = DEFAULT_ROBUST.adversarial_norm, eps: float = DEFAULT_ROBUST.adversarial_eps,
                  hidden: tuple[int, ...] = DEFAULT_ROBUST.hidden) -> TrainConfig:
    """``DEFAULT_ROBUST`` trained in the ``norm`` ball of radius ``eps`` with layers ``hidden`` (every other
    setting kept). eps is rounded to 6 decimals, so that a widget's float noise (0.15000000000000002) names the
    same run as 0.15. Raises ``advx.config.ConfigError`` for an eps outside the norm's range."""
    return dataclasses.replace(DEFAULT_ROBUST, adversarial_norm=norm, adversarial_eps=round(float(eps), 6),
                               hidden=tuple(hidden))


def run_code(norm: str, eps: float) -> str:
    """The name of a robust run of the family in a link: ``"linf:0.1"``."""
    return f"{norm}:{float(eps):g}"


class RobustChoice(NamedTuple):
    """A robust run a page can show: its ``code``, ``norm``, ``eps``, ``config``, ``run_id`` and clean test
    accuracy ``test_acc`` (``None`` when it is not stored yet)."""

    code: str
    norm: str
    eps: float
    config: TrainConfig
    run_id: Optional[str]
    test_acc: Optional[float]

    def setting(self) -> str:
        """``"L∞ ε = 0.1"``: what names the run on a page. It never changes with what is known of the run (a
        select box whose labels change when a run is stored would lose its choice in the browser)."""
        return f"{NORM_LABELS[self.norm]} ε = {self.eps:g}"


def stored_robust_runs(listing: list[dict], hidden: tuple[int, ...] = DEFAULT_ROBUST.hidden,
                       also: Sequence[tuple[str, float]] = ()) -> list[RobustChoice]:
    """The runs of ``listing`` (``advx.store.list_runs()``) that are ``robust_config(norm, eps, hidden)`` for
    some norm and eps, one per code, ordered by norm then eps. The family's default (``DEFAULT_ROBUST``'s norm
    and eps) and each ``(norm, eps)`` of ``also`` (runs asked for, perhaps still training) are always among them,
    with ``run_id`` and ``test_acc`` None when they are not in ``listing``."""
    found = {}
    for entry in listing:
        raw = entry.get("config") or {}
        if not raw.get("adversarial_norm"):
            continue
        try:
            config = TrainConfig.from_dict(raw)
        except (ConfigError, TypeError):
            continue
        if not config.adversarial or config != robust_config(config.adversarial_norm, config.adversarial_eps, hidden):
            continue
        choice_code = run_code(config.adversarial_norm, config.adversarial_eps)
        found.setdefault(choice_code, RobustChoice(choice_code, config.adversarial_norm, config.adversarial_eps,
                                                   config, entry.get("run_id"), float(entry["test_acc"])))
    for norm, eps in ((DEFAULT_ROBUST.adversarial_norm, DEFAULT_ROBUST.adversarial_eps), *also):
        config = robust_config(norm, eps, hidden)
        choice_code = run_code(config.adversarial_norm, config.adversarial_eps)
        found.setdefault(choice_code, RobustChoice(choice_code, config.adversarial_norm, config.adversarial_eps,
                                                   config, None, None))
    return sorted(found.values(), key=lambda c: (c.norm != "linf", c.eps))


def eps_grids(config: TrainConfig) -> dict[str, tuple[float, ...]]:
    """``{"linf": eps, "l2": eps}``: ``advx.robust.EPS``, with the run's own training eps added to its norm's
    grid when it is not on it (so that its robust accuracy at that eps is measured)."""
    grids = {norm: tuple(float(e) for e in grid) for norm, grid in EPS.items()}
    if config.adversarial and config.adversarial_eps > 0:
        grid = grids[config.adversarial_norm]
        grids[config.adversarial_norm] = tuple(sorted(set(grid) | {float(config.adversarial_eps)}))
    return grids


def training_sentence(run, comparison: Optional[RobustComparison] = None) -> str:
    """What a robust run (``advx.train.Run``) measured: how it was trained and how long it took, its clean test
    accuracy and, given its ``comparison``, its robust accuracy at its own eps (worst case over every attack)."""
    c = run.config
    seconds = float(np.sum(run.history["epoch_seconds"]))
    ramp = f", ε rising over the first {c.adversarial_ramp_epochs} epochs" if c.adversarial_ramp_epochs else ""
    text = (f"This street-smart network was trained for {run.n_epochs} epochs on PGD-{c.adversarial_steps} examples in "
            f"the {NORM_LABELS[c.adversarial_norm]} ball of ε = {c.adversarial_eps:g}{ramp}, in {seconds:.1f} s "
            f"(compilation included). Clean accuracy on the 10,000 test images: {run.test_accuracy:.2%}.")
    if comparison is None:
        return text
    grid = np.asarray(getattr(comparison, f"{c.adversarial_norm}_eps"))
    near = np.flatnonzero(np.isclose(grid, c.adversarial_eps))
    if not len(near):
        return text
    table = getattr(comparison, f"{c.adversarial_norm}_accuracy")[:, ATTACK_ROWS.index("worst"), near[0]]
    return (text + f" Under attack at its own ε (worst case over every attack, first {comparison.n_images} test "
            f"images): {pct(table[1])}, against {pct(table[0])} for the book-smart network.")


@jax.jit
def _image_maps(params: dict, x: jax.Array, label: jax.Array):
    xs, labels = x[None], label[None]
    maps = jnp.stack([effective_weights(params)["output"][:, label], _logit_gradients(params, xs, labels)[0],
                      _loss_gradients(params, xs, labels)[0]], axis=1)
    return maps, high_frequency_share(maps), jax.nn.softmax(forward(params, xs)[0])


class ImageMaps(NamedTuple):
    """One image's maps for its label ``c``: ``maps (784, 3)`` (output ``c``'s effective weights, the local
    Jacobian of logit ``c`` at the image, minus the gradient of the cross-entropy there), each map's
    ``high_frequency (3,)`` share, and the network's ``probabilities (10,)`` for the image."""

    maps: np.ndarray
    high_frequency: np.ndarray
    probabilities: np.ndarray


def image_maps(params: dict, image, label: int) -> ImageMaps:
    """``ImageMaps`` of the network of ``params`` at ``image (784,)`` float32 in [0, 1] with class ``label``."""
    maps, hf, probs = _image_maps(params, jnp.asarray(image, jnp.float32).reshape(784), jnp.int32(label))
    return ImageMaps(np.asarray(maps, np.float64), np.asarray(hf, np.float64), np.asarray(probs, np.float64))


def subspace_rows(c: RobustComparison, layers: tuple[str, ...]) -> list[dict]:
    """The share of energy inside the top-``c.subspace_k`` data subspace, one row per matrix
    ``{"matrix", "book-smart", "street-smart"}`` (``advx.vocabulary.NETWORK_NAMES``): each layer's effective weights (``layers`` in forward order), ΔW1
    (what training did to the first layer), and a random direction."""
    book, street = NETWORK_NAMES
    rows = [{"matrix": f"effective weights, {layer}", book: float(c.effective_inside[0, i]),
             street: float(c.effective_inside[1, i])} for i, layer in enumerate(layers)]
    rows.append({"matrix": "ΔW1 (trained − initial first layer)", book: float(c.delta_w1_inside[0]),
                 street: float(c.delta_w1_inside[1])})
    rows.append({"matrix": "a random direction", book: float(c.random_inside), street: float(c.random_inside)})
    return rows


def our_published_rows(c: RobustComparison, standard: TrainConfig, robust: TrainConfig, eps: float = 0.3) -> list[dict]:
    """Our two networks in the layout of ``advx.text.robust.published_rows`` at L-inf ``eps`` (the published
    figures' 0.3): the worst case over the attacks that ran, on the first ``c.n_images`` test images. Empty
    when ``eps`` is not on the comparison's L-inf grid."""
    near = np.flatnonzero(np.isclose(np.asarray(c.linf_eps), eps))
    if not len(near):
        return []
    worst = c.linf_accuracy[:, ATTACK_ROWS.index("worst"), near[0]]
    attack = (f"worst case over PGD-{c.pgd_steps} with {c.restarts} random restarts, transfer from the other network "
              f"and a gradient-free search ({c.queries} queries)")
    rows = []
    for i, (config, training) in enumerate((
            (standard, f"standard training, {standard.epochs} epochs"),
            (robust, f"PGD-{robust.adversarial_steps} adversarial training, {NORM_LABELS[robust.adversarial_norm]} "
                     f"ε = {robust.adversarial_eps:g}, {robust.epochs} epochs"))):
        layers = "-".join(str(n) for n in (784, *config.hidden, 10))
        rows.append({"source": "this app", "model": f"our {layers} MLP (no convolutions)", "training": training,
                     "attack": attack, "ε (L∞)": float(eps), "accuracy": float(worst[i]),
                     "note": f"first {c.n_images} test images"})
    return rows


def foolbox_note(c: RobustComparison) -> Optional[str]:
    """When Foolbox's PGD did not run on the robust network (it is a test requirement, not an app one): where
    that check runs, and what the worst case shown is made of. ``None`` when it ran."""
    foolbox = ATTACK_ROWS.index("foolbox")
    if np.isfinite(c.linf_accuracy[1, foolbox]).any() or np.isfinite(c.l2_accuracy[1, foolbox]).any():
        return None
    return ("Foolbox's PGD, an independent implementation of the attack, is not part of the app: the lab's own "
            "checks run it on the default street-smart network and find the same accuracy. The worst case shown is "
            "over the other attacks: PGD with random restarts, transfer from the other network and the gradient-free "
            "search.")
