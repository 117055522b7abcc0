"""Already at the start (Bubeck, Cherapanamjeri, Gidel, Tachet des Combes 2021): untrained networks have
adversarial examples too.

For the network after each epoch of ``INITIAL_EPOCHS`` (0 is the random initialisation, ``Run.params_at``), the
smallest ε at which targeted PGD turns each image's answer from the network's own answer ``a`` into
``(a + 1) mod 10`` (``advx.attacks.minimal_pgd_eps``): the untrained network's answers are arbitrary, so each
network is attacked from what it says, not from the label.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from advx import attacks as A

INITIAL_EPOCHS = (0, 1, 2, 3, 5, 15)  # the start, the first epochs, and the end of a default run
BOUNDARY_EPOCHS = (0, 1, 3, 15)  # the start, the first epochs and the end: three PGD searches per epoch cost more
INITIAL_MAX_EPS = {"linf": 0.5, "l2": 10.0}  # where the search gives up: half of full ink; a third of a digit


class InitialEps(NamedTuple):
    """``epochs (E,)``; ``smallest (E, n)``: each image's smallest flipping ε (``inf``: not found); ``accuracy
    (E,)``: test accuracy on these images; ``image_size (n,)``: each image's own size in the norm (for the scale)."""

    epochs: np.ndarray
    smallest: np.ndarray
    accuracy: np.ndarray
    image_size: np.ndarray
    norm: str
    max_eps: float


def initial_eps(run, images, labels, key: jax.Array, *, norm: str,
                epochs: Sequence[int] = INITIAL_EPOCHS) -> InitialEps:
    """``InitialEps`` of ``run`` at each of ``epochs`` that it has (later ones are dropped)."""
    x = jnp.asarray(images, jnp.float32)
    epochs = [int(e) for e in epochs if e <= run.n_epochs]
    smallest, accuracy = [], []
    for epoch in epochs:
        model_fn = A.as_model_fn(run.params_at(epoch))
        answers = jnp.argmax(model_fn(x), -1)
        smallest.append(np.asarray(A.minimal_pgd_eps(model_fn, x, (answers + 1) % 10, INITIAL_MAX_EPS[norm], key,
                                                     norm=norm)))
        accuracy.append(float(np.mean(np.asarray(answers) == np.asarray(labels))))
    return InitialEps(epochs=np.array(epochs), smallest=np.stack(smallest), accuracy=np.array(accuracy),
                      image_size=np.asarray(A.threat(norm).norm(x)), norm=norm,
                      max_eps=float(INITIAL_MAX_EPS[norm]))


class Boundary(NamedTuple):
    """The distance to the decision boundary after each of ``epochs (E,)`` (0: untrained), for the same images, by
    PGD kept in the top-``k`` subspace (``inside (E, n)``), in its complement (``outside (E, n)``) and
    unrestricted (``anywhere (E, n)``): each image's smallest flipping L2 ε (``inf``: not found up to
    ``max_eps``), toward ``(a + 1) mod 10`` from the network's own answer ``a``. ``energy_outside (E,)``: the
    unrestricted attack's mean energy share outside, at each image's smallest ε. No pixel box
    (``advx.explanations.restricted``)."""

    epochs: np.ndarray
    inside: np.ndarray
    outside: np.ndarray
    anywhere: np.ndarray
    energy_outside: np.ndarray
    k: int
    max_eps: float


def boundary_over_training(run, sub, k: int, images, *, epochs: Sequence[int] = BOUNDARY_EPOCHS) -> Boundary:
    """``Boundary`` of ``run``'s network at each of ``epochs`` that it has, split at the top-``k`` subspace of
    ``sub``."""
    from advx.explanations.restricted import RESTRICTED_MAX_EPS, smallest_eps, subspace_pgd

    x = np.asarray(images, np.float32)
    epochs = [int(e) for e in epochs if e <= run.n_epochs]
    top, rest = sub.basis[:, :k], sub.basis[:, k:]
    free = np.eye(x.shape[1], dtype=np.float32)
    rows = {"inside": [], "outside": [], "anywhere": [], "energy": []}
    for epoch in epochs:
        model_fn = A.as_model_fn(run.params_at(epoch))
        targets = (np.asarray(jnp.argmax(model_fn(x), -1)) + 1) % 10
        for name, basis in (("inside", top), ("outside", rest), ("anywhere", free)):
            rows[name].append(smallest_eps(model_fn, x, targets, basis))
        found = np.isfinite(rows["anywhere"][-1])
        delta = np.asarray(subspace_pgd(model_fn, x[found], targets[found], rows["anywhere"][-1][found], free)) - x[found]
        outside = delta @ rest
        rows["energy"].append(float(np.mean(np.square(outside).sum(1) / np.maximum(np.square(delta).sum(1), 1e-20))))
    return Boundary(epochs=np.array(epochs), inside=np.stack(rows["inside"]), outside=np.stack(rows["outside"]),
                    anywhere=np.stack(rows["anywhere"]), energy_outside=np.array(rows["energy"]), k=int(k),
                    max_eps=float(RESTRICTED_MAX_EPS))
