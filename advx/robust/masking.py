"""The check against gradient masking: a robust network attacked four ways, and the worst case per image.

A network can look robust to PGD only because its gradients mislead PGD (Athalye, Carlini, Wagner 2018,
"Obfuscated Gradients Give a False Sense of Security"). Three attacks that do not trust its gradients are
run beside white-box PGD with restarts:

- **transfer**: PGD's examples made on *another* network (the standard one), scored on this one;
- **square**: a gradient-free random search (``advx.robust.search``);
- **foolbox**: Foolbox 3's own ``LinfPGD`` / ``L2PGD`` (40 steps, its default step and random start), an
  independent implementation of the attack.

An image counts as robust only if it survives all of them (``AttackResults.worst``), which is at most the
minimum of the attacks' accuracies. If a gradient-free or a transfer attack beats white-box PGD, the
gradients are masked and PGD's figure is not to be believed.

Shapes: images ``(n, 784)`` float32 in [0, 1]; labels ``(n,)`` int; per-image results ``(n,)`` bool.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import numpy as np

from advx.attacks.gradient import as_model_fn
from advx.attacks.threat import threat
from advx.model import forward
from advx.robust.accuracy import PGD_STEPS, RESTARTS, clean_correct, pgd_correct
from advx.robust.search import QUERIES, square_correct

ATTACKS = ("pgd", "transfer", "square", "foolbox")


class RobustError(RuntimeError):
    """A robustness measure cannot run (a missing optional library, or inputs it cannot use)."""


def foolbox_available() -> bool:
    """Whether Foolbox (a test requirement, not an app requirement) can be imported."""
    try:
        import foolbox  # noqa: F401
    except ImportError:
        return False
    return True


def foolbox_pgd_correct(params: dict, images, labels, eps, *, norm: str = "linf", steps: int = PGD_STEPS,
                        seed: int = 0) -> np.ndarray:
    """``(n,)`` bool: correct under Foolbox 3's ``LinfPGD`` / ``L2PGD`` with ``steps`` steps (its defaults
    otherwise: random start, step 0.01/0.3 eps in L-inf, 0.025 eps in L2). ``params``: ``advx.model`` params.

    Raises ``RobustError`` when Foolbox is not installed (``pip install foolbox==3.3.4``).
    """
    try:
        import foolbox as fb
    except ImportError as exc:
        raise RobustError("Foolbox is not installed, so its PGD cannot be run; install foolbox==3.3.4") from exc
    import jax.numpy as jnp

    name = threat(norm).name
    attack = (fb.attacks.LinfPGD if name == "linf" else fb.attacks.L2PGD)(steps=int(steps))
    model = fb.JAXModel(lambda x: forward(params, x), bounds=(0, 1))
    # Foolbox draws its random start from NumPy's global generator: seed it, and give it back.
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        _, _, fooled = attack(model, jnp.asarray(images, jnp.float32), jnp.asarray(labels, jnp.int32),
                              epsilons=float(eps))
    finally:
        np.random.set_state(state)
    return ~np.asarray(fooled)


class AttackResults(NamedTuple):
    """Per-image results of one network at one eps and norm: ``(n,)`` bool each (True: still correct).

    ``foolbox`` is None when Foolbox is not installed; ``transfer`` is None when there is no other network.
    """

    clean: np.ndarray
    pgd: np.ndarray
    transfer: Optional[np.ndarray]
    square: Optional[np.ndarray]
    foolbox: Optional[np.ndarray]

    @property
    def worst(self) -> np.ndarray:
        """``(n,)`` bool: correct under every attack that ran (the robust accuracy to report is its mean)."""
        out = self.clean.copy()
        for name in ATTACKS:
            part = getattr(self, name)
            if part is not None:
                out &= part
        return out

    def accuracies(self) -> dict:
        """``{attack: accuracy}`` for ``clean``, each attack (NaN for one that did not run) and ``worst``."""
        out = {"clean": float(self.clean.mean())}
        for name in ATTACKS:
            part = getattr(self, name)
            out[name] = float("nan") if part is None else float(part.mean())
        out["worst"] = float(self.worst.mean())
        return out


def _clean(params: dict, images, labels) -> np.ndarray:
    return clean_correct(as_model_fn(params), images, labels)


def _others(params: dict, images, labels, eps, key: jax.Array, norm: str, queries: int, steps: int,
            foolbox: bool) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """``(clean, square, foolbox or None)`` for one network."""
    clean = _clean(params, images, labels)
    square = square_correct(as_model_fn(params), images, labels, eps, key, norm=norm, queries=queries)
    fool = (foolbox_pgd_correct(params, images, labels, eps, norm=norm, steps=steps)
            if foolbox and foolbox_available() else None)
    return clean, square, fool


def attack_results(params: dict, images, labels, eps, key: jax.Array, *, norm: str = "linf",
                   source_params: Optional[dict] = None, steps: int = PGD_STEPS, restarts: int = RESTARTS,
                   queries: int = QUERIES, foolbox: bool = True) -> AttackResults:
    """Attack the network of ``params`` every way at ``eps`` in ``norm``; see the module's docstring.

    ``source_params``: the network the transfer attack's examples are made on (PGD with the same settings);
    none, no transfer attack. ``foolbox=False`` (or Foolbox missing) leaves Foolbox's PGD out.
    """
    model_fn = as_model_fn(params)
    pgd_key, transfer_key, square_key = jax.random.split(key, 3)
    (white,) = pgd_correct(model_fn, images, labels, eps, pgd_key, norm=norm, steps=steps, restarts=restarts)
    transfer = None
    if source_params is not None:
        (transfer,) = pgd_correct(as_model_fn(source_params), images, labels, eps, transfer_key, norm=norm,
                                  steps=steps, restarts=restarts, judged_fns=(model_fn,))
    clean, square, fool = _others(params, images, labels, eps, square_key, norm, queries, steps, foolbox)
    return AttackResults(clean, white, transfer, square, fool)


def attack_pair(params: tuple[dict, dict], images, labels, eps, key: jax.Array, *, norm: str = "linf",
                steps: int = PGD_STEPS, restarts: int = RESTARTS, queries: int = QUERIES, foolbox: bool = True,
                checked: tuple[bool, bool] = (True, True)) -> tuple[AttackResults, AttackResults]:
    """``attack_results`` of two networks, each the other's transfer source, at half the PGD cost: the
    examples of each network's white-box PGD are scored on both networks at once.

    ``checked[i]``: whether network ``i`` also gets the search and Foolbox's PGD (the costly checks against
    gradient masking; off, its ``square`` is None and its ``foolbox`` None).
    """
    fns = tuple(as_model_fn(p) for p in params)
    out = []
    pgd_keys = jax.random.split(key, 2)
    white = [pgd_correct(fns[i], images, labels, eps, pgd_keys[i], norm=norm, steps=steps, restarts=restarts,
                         judged_fns=(fns[i], fns[1 - i])) for i in range(2)]
    for i in range(2):
        if checked[i]:
            clean, square, fool = _others(params[i], images, labels, eps, jax.random.fold_in(key, 2 + i), norm,
                                          queries, steps, foolbox)
        else:
            clean, square, fool = _clean(params[i], images, labels), None, None
        out.append(AttackResults(clean, white[i][0], white[1 - i][1], square, fool))
    return out[0], out[1]
