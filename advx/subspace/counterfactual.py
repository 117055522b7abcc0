"""The counterfactual: clean accuracy and attack success of a network, of it with its first layer projected
onto the data subspace, and of the "street-smart" runs; one column of the table per network.

``attack_rates`` runs one module-level ``jax.jit`` program (``_attack_table``): JAX's own cache reuses the
compiled program for every network of the same shapes. ``advx.experiments.counterfactual_column`` keeps
each column in a verified file, so a restarted process reads it instead of attacking again.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from advx.model import N_PIXELS, effective_weights, to_pixels
from advx.subspace.pca import SubspaceError, as_pixels

COUNTERFACTUAL_TARGET = 0  # the post's overlay turns a correctly classified digit into a 0
ATTACKS = ("overlay", "fgsm", "pgd")
# L-inf eps per attack, from advx.attacks.COMPARISON_EPS. PGD is the costly one and succeeds on every
# network at 0.3 already, so it is not run at 0.5.
ATTACK_EPS = {"overlay": (0.1, 0.3, 0.5), "fgsm": (0.1, 0.3, 0.5), "pgd": (0.1, 0.3)}
ATTACK_IMAGES = 500  # the first this many test images are attacked (a share of ~450 has a standard error <= 2.4 points)
PGD_STEPS = 40

# The comparison runs: plain SGD (its change of W1 lies in the span of the images) and two
# "street-smart" variants that also train directions the data does not occupy.
SGD_LEARNING_RATE = 0.05
STREET_SMART_NOISE = 0.3
STREET_SMART_DECAY = 1.0
COLUMN_KINDS = ("trained", "projected", "noise", "decay")


class AttackRates(NamedTuple):
    """One network's column of the counterfactual table.

    ``clean_accuracy``: on every test image given. ``success[(attack, eps)]``: the share of the attacked
    images (correctly classified, label other than ``target``) that the attack turns into ``target`` at
    that L-inf ``eps``. Attacks: ``overlay`` (the network's own output-neuron effective weights, as in the
    seed), ``fgsm`` and ``pgd`` (targeted; PGD from one random start). ``n_attacked``: how many images the
    shares are over.
    """

    clean_accuracy: float
    success: dict
    n_attacked: int


@functools.partial(jax.jit, static_argnames=("n_attack", "target", "pgd_steps"))
def _attack_table(params: dict, pixels: jax.Array, key: jax.Array, overlay_eps: jax.Array, fgsm_eps: jax.Array,
                  pgd_eps: jax.Array, *, n_attack: int, target: int, pgd_steps: int):
    """Every prediction ``attack_rates`` counts, in one compiled program (one compilation serves every
    network of the same shape, and every eps, as the eps are arrays).

    Each attack runs once on the attacked images stacked for all its eps, each copy with its own eps (a
    column of per-image eps), which compiles faster than mapping over the eps. ``pixels (n, 784)``: uint8
    or float32 in [0, 1]. Returns ``(clean (n,), overlay (e1, n_attack), fgsm (e2, n_attack), pgd (e3,
    n_attack))`` predicted classes.
    """
    from advx import attacks

    pixels = to_pixels(pixels)
    clean = attacks.predictions(params, pixels)
    x = pixels[:n_attack]
    pattern = effective_weights(params)["output"][:, target]  # output neuron ``target``'s effective weights

    def stacked(eps):  # the images once per eps, and each copy's eps as a column
        return jnp.tile(x, (eps.shape[0], 1)), jnp.repeat(eps, x.shape[0])[:, None]

    def predict(adversarial):
        return attacks.predictions(params, adversarial).reshape(-1, x.shape[0])

    xo, eo = stacked(overlay_eps)
    overlaid = predict(attacks.overlay(xo, pattern, eo[:, 0]))
    model_fn = attacks.as_model_fn(params)
    xf, ef = stacked(fgsm_eps)
    fgsm = predict(attacks.fgsm(model_fn, xf, jnp.full((xf.shape[0],), target, jnp.int32), ef, targeted=True))
    xp, ep = stacked(pgd_eps)
    pgd = predict(attacks.pgd(model_fn, xp, jnp.full((xp.shape[0],), target, jnp.int32), ep, key, targeted=True,
                              steps=pgd_steps))
    return clean, overlaid, fgsm, pgd


def _pixels(test_images):
    """``(n, 784)`` uint8 (as they are; on the device if they were) or float32 in [0, 1]."""
    if (isinstance(test_images, jax.Array) and test_images.dtype == jnp.uint8 and test_images.ndim == 2
            and test_images.shape[1] == N_PIXELS):
        return test_images  # already on the device: no copy
    arr = np.asarray(test_images)
    if arr.dtype == np.uint8 and arr.ndim >= 2 and arr[0].size == N_PIXELS:
        return arr.reshape(arr.shape[0], N_PIXELS)
    return as_pixels(arr)


def attack_rates(params: dict, test_images, test_labels, key: jax.Array, *, target: int = COUNTERFACTUAL_TARGET,
                 eps: Optional[dict] = None, n_attack: int = ATTACK_IMAGES, pgd_steps: int = PGD_STEPS) -> AttackRates:
    """Clean accuracy on all of ``test_images`` and targeted attack success on the first ``n_attack``.

    ``test_images``: ``(n, 784)`` float32 in [0, 1] or ``(n, 28, 28)`` / ``(n, 784)`` uint8 (a uint8 JAX array
    of shape ``(n, 784)`` is used where it is, without a copy); ``test_labels``: ``(n,)``. ``eps``:
    ``{attack: (L-inf eps, ...)}``, default ``ATTACK_EPS``. The attacks run on the whole fixed-size sample
    in one compiled program, so every network of the same shape reuses it, and the success rate is
    counted over the eligible images only, as ``advx.attacks.success_rates`` does. PGD starts from one
    random draw of ``key`` over all its eps.
    """
    from advx import attacks

    eps = ATTACK_EPS if eps is None else eps
    unknown = set(eps) - set(ATTACKS)
    if unknown:
        raise SubspaceError(f"unknown attacks {sorted(unknown)}; the attacks are {list(ATTACKS)}")
    if not np.shape(test_images) or np.shape(test_images)[0] == 0:
        raise SubspaceError(f"need at least one test image, got shape {np.shape(test_images)}")
    pixels = _pixels(test_images)
    labels = np.asarray(test_labels).astype(np.int32)
    if labels.shape != (pixels.shape[0],):
        raise SubspaceError(f"need one label per image: {pixels.shape[0]} images, labels of shape {labels.shape}")
    attacks.check_class(target)
    n_attack = min(int(n_attack), pixels.shape[0])
    clean, *attacked = _attack_table(
        params, jnp.asarray(pixels), key, *(jnp.asarray(eps.get(a, ()), jnp.float32).reshape(-1) for a in ATTACKS),
        n_attack=n_attack, target=int(target), pgd_steps=int(pgd_steps))
    clean = np.asarray(clean)
    y = labels[:n_attack]
    eligible = (clean[:n_attack] == y) & (y != target)
    n = int(eligible.sum())
    if n == 0:
        raise SubspaceError(f"no correctly classified image with a label other than {target} to attack")
    success = {}
    for attack, predicted in zip(ATTACKS, attacked):
        hits = (np.asarray(predicted) == target)[:, eligible].mean(axis=1)
        for value, rate in zip(eps.get(attack, ()), hits):
            success[(attack, float(value))] = float(rate)
    return AttackRates(float((clean == labels).mean()), success, n)


# --------------------------------------------------------------------------------------------
# A column as a verified file's content (kept by ``advx.experiments.counterfactual_column``)


def attack_settings(n_test: int) -> dict:
    """The settings every column is computed with, for the identity of a kept column."""
    return {"eps": {a: [float(e) for e in es] for a, es in ATTACK_EPS.items()}, "n_attack": ATTACK_IMAGES,
            "pgd_steps": PGD_STEPS, "target": COUNTERFACTUAL_TARGET, "n_test": int(n_test)}


def encode_attack_rates(rates: AttackRates) -> tuple[dict, dict]:
    keys = list(rates.success)  # in order: the table's rows follow it
    return {"clean_accuracy": np.float64(rates.clean_accuracy), "n_attacked": np.int64(rates.n_attacked),
            "attack": np.array([a for a, _ in keys], dtype=str), "eps": np.array([e for _, e in keys], np.float64),
            "success": np.array([rates.success[key] for key in keys], np.float64)}, {}


def decode_attack_rates(arrays: dict, extra: dict) -> AttackRates:
    success = {(str(a), float(e)): float(r) for a, e, r in zip(arrays["attack"], arrays["eps"], arrays["success"])}
    return AttackRates(float(arrays["clean_accuracy"]), success, int(arrays["n_attacked"]))


def comparison_configs(base):
    """The runs "Why it happens" compares, all with ``base``'s network, epochs, batch size and seed.

    Returns ``{"adam", "sgd", "noise", "decay"}`` -> ``TrainConfig``: plain Adam and plain SGD
    (momentum as in ``base``; each keeps ``base``'s learning rate if ``base`` already uses that
    optimizer, else takes the default Adam rate or ``SGD_LEARNING_RATE``), and the two street-smart variants
    of the Adam run: Gaussian input noise of standard deviation ``STREET_SMART_NOISE``, and decoupled
    weight decay ``STREET_SMART_DECAY``.
    """
    import dataclasses

    from advx.config import TrainConfig

    plain = dict(weight_decay=0.0, input_noise=0.0)
    adam_rate = base.learning_rate if base.optimizer == "adam" else TrainConfig().learning_rate
    adam = dataclasses.replace(base, optimizer="adam", learning_rate=adam_rate, **plain)
    sgd = dataclasses.replace(base, optimizer="sgd", **plain,
                              learning_rate=base.learning_rate if base.optimizer == "sgd" else SGD_LEARNING_RATE)
    return {"adam": adam, "sgd": sgd,
            "noise": dataclasses.replace(adam, input_noise=STREET_SMART_NOISE),
            "decay": dataclasses.replace(adam, weight_decay=STREET_SMART_DECAY)}
