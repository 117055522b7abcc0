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
