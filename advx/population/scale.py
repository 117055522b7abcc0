"""The initialisation-scale test: does a smaller initialisation leave less of an opinion off the data subspace?

Melamed, Yehudai and Vardi (NeurIPS 2023) prove, for two-layer ReLU networks trained on data in a
low-dimensional linear subspace, that gradient training leaves large gradients orthogonal to the subspace,
and that a smaller initialisation scale (or L2 regularisation) makes the network more robust to perturbations
orthogonal to it. Here the same question is asked of the post's 784-64-64-10 network on MNIST, for networks
trained from ``init_scale`` times the default initialisation (``TrainConfig.init_scale``), compared at
matched clean accuracy:

- the output neurons' effective weights: their norm outside the top-``k`` data subspace and its share;
- the input gradient of the attack's margin (``logit[target] - logit[label]``): its norm outside, its share;
- the success of a targeted L2 PGD restricted to the subspace's orthogonal complement, beside the same attack
  with no restriction. Both leave out the pixel box [0, 1] (as the theory does): a perturbation kept in the
  complement and clipped to the box would leave the complement again.
"""

from __future__ import annotations

import functools
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from advx.model import effective_weights, forward
from advx.population.transfer import image_set
from advx.subspace.counterfactual import COUNTERFACTUAL_TARGET, PGD_STEPS
from advx.subspace.pca import DataSubspace

SCALE_EPS = (1.0, 2.0, 3.0)  # L2 sizes of the restricted attack (an MNIST digit has an L2 norm of about 9)
SCALE_IMAGES = 500
SCALE_REL_STEP = 0.05  # each PGD step moves 0.05 eps, so 40 steps can travel 2 eps


def matched_epochs(runs: Sequence, level: Optional[float] = None) -> tuple[list[int], dict[str, float]]:
    """For each run, the first epoch (1-based, as ``Run.params_at``) whose test accuracy reaches its optimizer's level.

    The level of an optimizer is ``level``, or by default the lowest best test accuracy among that optimizer's
    runs, so every run reaches it. Returns ``(epochs, {optimizer: level})``.
    """
    levels: dict[str, float] = {}
    for run in runs:
        best = float(np.max(run.history["test_acc"]))
        levels[run.config.optimizer] = min(levels.get(run.config.optimizer, best), best)
    if level is not None:
        levels = {name: float(level) for name in levels}
    epochs = []
    for run in runs:
        reached = np.flatnonzero(run.history["test_acc"] >= levels[run.config.optimizer])
        epochs.append(int(reached[0]) + 1 if reached.size else run.n_epochs)
    return epochs, levels


def _outside(v: jax.Array, basis: jax.Array) -> jax.Array:
    """The part of the rows of ``v (n, 784)`` orthogonal to the columns of ``basis (784, k)``."""
    return v - (v @ basis) @ basis.T


def _margin(params: dict, images: jax.Array, labels: jax.Array, target: int) -> jax.Array:
    logits = forward(params, images)
    return jnp.sum(logits[:, target] - jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0])


@functools.partial(jax.jit, static_argnames=("target", "steps", "restrict"))
def l2_pgd(params: dict, images, labels, eps, basis, *, target: int, steps: int, rel_step: float,
           restrict: bool) -> jax.Array:
    """A targeted L2 PGD perturbation of size at most ``eps`` per image: ``(n, 784)``.

    Each of ``steps`` steps moves ``rel_step * eps`` along the L2-normalised gradient that raises the margin
    ``logit[target] - logit[label]``, then scales the perturbation back into the ``eps`` ball. ``restrict``:
    the gradient (so the perturbation, which starts at 0) is kept orthogonal to ``basis (784, k)``. No clipping
    to [0, 1]. ``images (n, 784)`` float32, ``labels (n,)`` int.
    """
    def step(_, delta):
        grad = jax.grad(_margin, argnums=1)(params, images + delta, labels, target)
        grad = _outside(grad, basis) if restrict else grad
        size = jnp.maximum(jnp.linalg.norm(grad, axis=1, keepdims=True), 1e-12)
        delta = delta + rel_step * eps * grad / size
        return delta * jnp.minimum(1.0, eps / jnp.maximum(jnp.linalg.norm(delta, axis=1, keepdims=True), 1e-12))

    return jax.lax.fori_loop(0, steps, step, jnp.zeros_like(images))


@functools.partial(jax.jit, static_argnames=("target", "steps", "restrict"))
def l2_pgd_hits(params: dict, images, labels, eps, basis, *, target: int, steps: int, rel_step: float,
                restrict: bool) -> jax.Array:
    """Whether ``l2_pgd``'s perturbation turns each image into ``target``: ``(n,)`` bool."""
    delta = l2_pgd(params, images, labels, eps, basis, target=target, steps=steps, rel_step=rel_step,
                   restrict=restrict)
    return jnp.argmax(forward(params, images + delta), axis=-1) == target


@functools.partial(jax.jit, static_argnames="target")
def _gradient_parts(params: dict, images, labels, basis, *, target: int):
    """``(norm (n,), norm outside (n,))`` of the margin's input gradient at each image."""
    grad = jax.grad(_margin, argnums=1)(params, images, labels, target)
    return jnp.linalg.norm(grad, axis=1), jnp.linalg.norm(_outside(grad, basis), axis=1)


def scale_measures(params: dict, sub: DataSubspace, k: int, images: jax.Array, labels: np.ndarray, *,
                   eps: Sequence[float] = SCALE_EPS, target: int = COUNTERFACTUAL_TARGET,
                   steps: int = PGD_STEPS, rel_step: float = SCALE_REL_STEP) -> dict:
    """Every measure of the scale test for one network, as a row of JSON values.

    ``images (n, 784)`` float32 in [0, 1] and ``labels (n,)``: only the ones the network classifies correctly
    and whose label is not ``target`` are used. Keys: ``weights_outside`` (Frobenius norm of the output
    effective weights' part outside), ``weights_share_outside`` (its share of their energy),
    ``gradient_outside`` and ``gradient`` (mean L2 norm of the margin's input gradient outside and whole),
    ``gradient_share_outside`` (mean share of its energy outside), ``eps``, ``success_outside`` and
    ``success_anywhere`` (the restricted and unrestricted PGD's success at each eps), ``n_attacked``.
    """
    basis = jnp.asarray(sub.top(k))
    weights = np.asarray(effective_weights(params)["output"], np.float64)
    outside = weights - sub.top(k).astype(np.float64) @ (sub.top(k).T.astype(np.float64) @ weights)
    predicted = np.asarray(jnp.argmax(forward(params, images), axis=-1))
    keep = (predicted == labels) & (labels != target)
    # Every image goes through the compiled programs and the mask is applied after, so that one compilation
    # serves every network (each classifies a different set of images correctly).
    y = jnp.asarray(labels)
    whole, off = (np.asarray(a, np.float64)[keep] for a in _gradient_parts(params, images, y, basis, target=target))
    row = {"weights_outside": float(np.linalg.norm(outside)),
           "weights_share_outside": float(np.square(outside).sum() / np.square(weights).sum()),
           "gradient": float(whole.mean()), "gradient_outside": float(off.mean()),
           "gradient_share_outside": float(np.mean(np.square(off) / np.maximum(np.square(whole), 1e-30))),
           "eps": [float(e) for e in eps], "n_attacked": int(keep.sum())}
    for name, restrict in (("success_outside", True), ("success_anywhere", False)):
        row[name] = [float(np.asarray(l2_pgd_hits(params, images, y, jnp.float32(e), basis, target=target,
                                                  steps=steps, rel_step=rel_step, restrict=restrict))[keep].mean())
                     for e in eps]
    return row


def scale_rows(runs: Sequence, sub: DataSubspace, k: int, test_images, test_labels, *,
               eps: Sequence[float] = SCALE_EPS, n_images: int = SCALE_IMAGES, level: Optional[float] = None,
               target: int = COUNTERFACTUAL_TARGET, steps: int = PGD_STEPS) -> list[dict]:
    """The scale test over ``runs``: one row per run and moment, a table (kept by ``advx.experiments.scale``).

    Each run is measured at its ``matched_epochs`` epoch (``"when": "matched"``) and after its last epoch
    (``"final"``; the same numbers when that is the matched epoch). Rows hold ``optimizer``, ``init_scale``,
    ``seed``, ``when``, ``epoch``, ``test_acc``, ``level`` (the matched accuracy level) and ``scale_measures``'s
    keys, over the first ``n_images`` test images.
    """
    images, labels = image_set(test_images, test_labels, n_images)
    epochs, levels = matched_epochs(runs, level)
    rows = []
    for run, epoch in zip(runs, epochs):
        c = run.config
        for when, e in (("matched", epoch), ("final", run.n_epochs)):
            if when == "final" and e == epoch:  # the same network: the same numbers
                rows.append(dict(rows[-1], when="final"))
                continue
            rows.append({"optimizer": c.optimizer, "init_scale": c.init_scale, "seed": c.seed, "when": when,
                         "epoch": e, "test_acc": float(run.history["test_acc"][e - 1]), "level": levels[c.optimizer],
                         **scale_measures(run.params_at(e), sub, k, images, labels, eps=eps, target=target,
                                          steps=steps)})
    return rows


_CURVE_KEYS = ("test_acc", "weights_outside", "weights_share_outside", "gradient", "gradient_outside",
               "gradient_share_outside")


def scale_curves(rows: Sequence[dict], when: str = "matched") -> list[dict]:
    """The rows of one moment averaged over seeds: one row per (optimizer, init scale), by increasing scale.

    Numbers are means over the seeds (``seeds`` counts them); ``success_outside`` and ``success_anywhere`` are
    lists over ``eps``, averaged elementwise.
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["when"] == when:
            groups.setdefault((row["optimizer"], row["init_scale"]), []).append(row)
    out = []
    for (optimizer, scale), members in sorted(groups.items()):
        curve = {"optimizer": optimizer, "init_scale": scale, "seeds": len(members), "eps": members[0]["eps"],
                 **{key: float(np.mean([m[key] for m in members])) for key in _CURVE_KEYS}}
        for key in ("success_outside", "success_anywhere"):
            curve[key] = [float(v) for v in np.mean([m[key] for m in members], axis=0)]
        out.append(curve)
    return out
