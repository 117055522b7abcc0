"""What a network makes of one drawing: its answer, the hidden neurons it lights up, and how to fool it.

Everything here composes the library's jitted functions (one forward pass through ``advx.model.walk`` via
``advx.neurons.all_layer_outputs``; the overlay, ``minimal_eps`` and ``minimal_pgd_eps`` of ``advx.attacks``),
so a drawing costs a few small compiled calls and nothing compiles per drawing.

Shapes: ``image`` is ``(28, 28)`` or ``(784,)`` float in [0, 1]; params are the inner Flax dict of
``advx.model``; ``neuron_max`` maps each hidden layer to its ``(width,)`` largest training-set activation
(``advx.neurons.NeuronStats.neuron_max``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from advx import attacks as A
from advx import neurons



# The class a network answers, from the ``probabilities (10,)`` of a reading or of a fooled drawing.
_PREDICTION = property(lambda self: int(np.argmax(self.probabilities)), doc="The class the network answers.")

class Reading(NamedTuple):
    """One network's reading of one image.

    ``probabilities``: ``(10,)``. ``activations``, ``levels``: ``{hidden layer: (width,)}`` (levels as in
    ``advx.neurons.activation_levels``). ``counts``: ``{hidden layer: (inactive, mild, high)}`` ints.
    """

    probabilities: np.ndarray
    activations: dict
    levels: dict
    counts: dict

    prediction = _PREDICTION

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))


def _row(image) -> jnp.ndarray:
    return jnp.asarray(np.asarray(image, np.float32).reshape(1, -1))


def read(params: dict, image, neuron_max: dict, *, definition: str = "neuron_max",
         high: float = neurons.DEFAULT_HIGH, mild: float = neurons.DEFAULT_MILD) -> Reading:
    """The network's ``Reading`` of ``image``: one forward pass, levels against ``neuron_max`` (or the
    image's own largest activation, ``definition="image_max"``), thresholds as on the Activations page."""
    layers = neurons.all_layer_outputs(params, _row(image))
    probabilities = np.asarray(layers["output"][1])[0]
    acts, levels, counts = {}, {}, {}
    for layer in neurons.hidden_layer_names(params):
        a = np.asarray(layers[layer][1])
        lv = neurons.activation_levels(a, neuron_max.get(layer), definition=definition, high=high, mild=mild)
        acts[layer], levels[layer] = a[0], lv[0]
        counts[layer] = tuple(int(c) for c in neurons.level_counts(lv)[0])
    return Reading(probabilities, acts, levels, counts)


def share_below(value: float, reference) -> float:
    """Share of ``reference (n,)`` strictly below ``value``, plus half the share equal to it (a mid-rank
    percentile: 0.5 for the median). NaN when ``value`` is NaN or there is no reference."""
    reference = np.asarray(reference, np.float64).reshape(-1)
    reference = reference[np.isfinite(reference)]
    if not np.isfinite(value) or reference.size == 0:
        return float("nan")
    return float(((reference < value).sum() + 0.5 * (reference == value).sum()) / reference.size)


class Fooling(NamedTuple):
    """The overlay and PGD aimed at ``target`` on one image, for one network.

    ``pattern``: ``(784,)`` the target output neuron's effective weights. ``adversarial``: ``(784,)`` the image
    under the overlay at ``eps``; ``probabilities``: ``(10,)`` the network's answer to it. ``overlay_eps``:
    the smallest overlay ε that turns the answer into the target (``inf``: none up to ``max_eps``; 0: it
    already is). ``pgd_eps``: the same for targeted PGD (``advx.attacks.minimal_pgd_eps``).
    """

    target: int
    eps: float
    norm: str
    pattern: np.ndarray
    adversarial: np.ndarray
    probabilities: np.ndarray
    overlay_eps: float
    pgd_eps: float

    prediction = _PREDICTION

    @property
    def flipped(self) -> bool:
        return self.prediction == self.target


def smallest_pgd_eps(params: dict, image, target: int, norm: str = "linf", *, key: jax.Array | None = None) -> float:
    """The smallest ε found at which targeted PGD turns the network's answer to ``image`` into ``target``
    (``advx.attacks.minimal_pgd_eps``, searched up to the largest ε of ``EPS_GRID[norm]``; ``key`` seeds PGD's
    random start, default key 0). 0 if it already answers ``target``; ``inf`` if no ε found does."""
    key = jax.random.key(0) if key is None else key
    return float(A.minimal_pgd_eps(A.as_model_fn(params), _row(image), int(target), A.EPS_GRID[norm][-1], key,
                                   norm=norm)[0])


def fool(params: dict, image, target: int, eps: float, norm: str = "linf", *, key: jax.Array | None = None,
         with_pgd: bool = True) -> Fooling:
    """The overlay of the target's effective weights at ``eps`` on ``image``, the smallest overlay ε that
    flips the answer to ``target``, and (``with_pgd``) the smallest targeted-PGD ε, both searched up to the
    largest ε of ``advx.attacks.EPS_GRID[norm]``. ``key`` seeds PGD's random start (default: key 0)."""
    x = _row(image)
    max_eps = A.EPS_GRID[norm][-1]
    pattern = A.pattern_for(params, x, int(target), "effective_weights", norm=norm)
    adversarial = A.overlay(x, pattern, float(eps), norm)
    probabilities = np.asarray(A.probabilities(params, adversarial))[0]
    overlay_eps = float(A.minimal_eps(params, x, pattern, int(target), max_eps, norm)[0])
    pgd_eps = smallest_pgd_eps(params, image, target, norm, key=key) if with_pgd else float("nan")
    return Fooling(int(target), float(eps), norm, np.asarray(pattern).reshape(-1), np.asarray(adversarial)[0],
                   probabilities, overlay_eps, pgd_eps)
