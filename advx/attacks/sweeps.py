"""The overlay sweep: the network's answers for every eps x every target over a whole image set.

A sweep holds predictions and target probabilities; ``advx.attacks.success`` reads success rates off it.
Shapes: ``eps_grid (e,)``, ``targets (t,)``, images ``(n, 784)`` float32 in [0, 1].
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from advx.attacks.checks import AttackError, check_class, check_eps, check_images
from advx.attacks.overlay import check_layer, check_source, neuron_gradients, random_pattern, unit_pattern
from advx.attacks.threat import EPS_GRID, threat
from advx.model import N_CLASSES, N_PIXELS, effective_weights, param_layer_names, to_pixels, walk


class OverlaySweep(NamedTuple):
    """Predictions and target probabilities for ``eps_grid (e,)`` x ``targets (t,)`` x ``images (n,)``.

    ``predictions (e, t, n)`` int8; ``target_probability (e, t, n)`` float32.
    """

    eps_grid: np.ndarray
    targets: np.ndarray
    predictions: np.ndarray
    target_probability: np.ndarray


def _first_layer(params: dict, x: jax.Array) -> jax.Array:
    """Layer_1's pre-activations of the pixels ``x (..., 784)``."""
    _, pre, _ = next(walk(params, x))
    return pre


def _rest_of_network(params: dict, h1: jax.Array, targets: jax.Array):
    """From first-layer pre-activations ``(..., t, c, h)`` to (predictions, probability of target)."""
    for _, logits, probs in walk(params, jax.nn.relu(h1), start=1, output="softmax"):
        pass
    target_prob = jnp.sum(probs * jax.nn.one_hot(targets, N_CLASSES)[:, None, :], axis=-1)
    return jnp.argmax(logits, axis=-1).astype(jnp.int32), target_prob


@jax.jit
def _sweep_chunk_dense(params, x, units, eps_grid, targets):
    """Reference route: build every overlaid image of the chunk ``x (c, 784)``; ``(e, t, c)`` out."""

    def one_eps(eps):
        adv = jnp.clip(x[None] + eps * units[:, None, :], 0.0, 1.0)  # (t, c, 784)
        return _rest_of_network(params, _first_layer(params, adv), targets)

    return jax.lax.map(one_eps, eps_grid)


@jax.jit
def _sweep_chunk_fast(params, x, idx, valid, units, rising, eps_grid, targets):
    """Exact route that builds no overlaid image, for the chunk ``x (c, 784)``; ``(e, t, c)`` out.

    The first layer is linear, so only clipping needs care. A black pixel (exactly 0) whose pattern
    value ``u`` satisfies ``eps * u <= 1`` over the whole range moves by ``eps * relu(u)``: linear in
    ``eps``, and summed over *all* pixels once per target (``rising``: ``relu(u)`` on such pixels,
    ``(t, 784)``). Every other pixel of an image, the few non-black ones listed in ``idx (c, m)``
    (``valid`` marks real entries), is handled exactly for every (eps, target) at once, after taking
    back the linear term that the sum over all pixels gave it.
    """
    w1 = params["Layer_1"]["kernel"]
    n_targets, hidden = units.shape[0], w1.shape[1]
    c, n_eps, m = x.shape[0], eps_grid.shape[0], idx.shape[1]
    s = eps_grid[None, :, None, None]
    base = _first_layer(params, x)  # (c, h)
    rising_w = rising @ w1  # (t, h)
    gathered_w = w1[idx] * valid[..., None]  # (c, m, h)
    gx = jnp.take_along_axis(x, idx, axis=1)[:, None, None, :]  # (c, 1, 1, m)
    gu = jnp.moveaxis(units[:, idx], 0, 1)[:, None]  # (c, 1, t, m)
    gr = jnp.moveaxis(rising[:, idx], 0, 1)[:, None]
    coef = jnp.clip(gx + s * gu, 0.0, 1.0) - gx - s * gr  # (c, e, t, m)
    curved = jnp.einsum("cxm,cmh->cxh", coef.reshape(c, n_eps * n_targets, m), gathered_w)
    h1 = (base[:, None, None] + s * rising_w[None, None] + curved.reshape(c, n_eps, n_targets, hidden))
    return _rest_of_network(params, jnp.moveaxis(h1, 0, 2), targets)  # (e, t, c)


def _gather_lists(listed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of the boolean ``listed (n, 784)``, its True columns first: ``idx, valid (n, max count)``."""
    counts = listed.sum(axis=1)
    rows, cols = np.nonzero(listed)
    pos = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = max(int(counts.max()) if len(counts) else 0, 1)
    idx = np.zeros((listed.shape[0], width), np.int32)
    valid = np.zeros((listed.shape[0], width), bool)
    idx[rows, pos] = cols
    valid[rows, pos] = True
    return idx, valid


def overlay_sweep(params: dict, images, patterns, targets, eps_grid, norm: str = "linf",
                  method: str = "auto", chunk: int = 50) -> OverlaySweep:
    """Predictions and target probabilities under the overlay, for every eps and target.

    ``images (n, 784)`` float32 in [0, 1]; ``patterns (t, 784)`` image-agnostic patterns, row ``j``
    pushing towards ``targets[j]``; ``eps_grid (e,)``. The result equals applying ``overlay`` to every
    image for every (eps, pattern) pair. ``method="fast"`` avoids building the overlaid images (exact,
    and cheap when most pixels are black, as in MNIST); ``"dense"`` builds them; ``"auto"`` picks the
    fast route unless most pixels would need exact handling.
    """
    pixels = to_pixels(np.asarray(images))
    check_images(pixels)
    norm = threat(norm).name
    patterns = jnp.atleast_2d(jnp.asarray(patterns, jnp.float32))
    targets = np.atleast_1d(np.asarray(targets, np.int32))
    eps_grid = np.atleast_1d(np.asarray(eps_grid, np.float32))
    check_class(targets)
    check_eps(eps_grid)
    if patterns.shape != (len(targets), N_PIXELS):
        raise AttackError(f"patterns must be (t, {N_PIXELS}) with one row per target, got {patterns.shape}"
                          f" for {len(targets)} targets")
    if method not in ("auto", "fast", "dense"):
        raise AttackError(f"method must be 'auto', 'fast' or 'dense', got {method!r}")
    if param_layer_names(params)[0] != "Layer_1":
        raise AttackError("the sweep needs a network with at least one hidden layer (Layer_1)")
    n = pixels.shape[0]
    units = unit_pattern(patterns, norm)
    # Black pixels that could reach white within the range are not linear: list them with the rest.
    free = np.asarray(float(eps_grid.max()) * jnp.max(jnp.abs(units), axis=0) > 1.0)
    listed = (pixels > 0) | free[None]
    counts = listed.sum(axis=1)
    if method == "auto":
        method = "fast" if np.median(counts) < 0.5 * N_PIXELS else "dense"
    args = (jnp.asarray(eps_grid), jnp.asarray(targets))
    # Group images with similar counts so that little of the listing is padding.
    order = np.argsort(counts, kind="stable") if method == "fast" else np.arange(n)
    order = np.concatenate([order, np.full((-n) % chunk, -1)])
    if method == "fast":
        idx_all, valid_all = _gather_lists(listed)
        rising = jax.nn.relu(units) * jnp.asarray(~free)[None]
    preds, probs = [], []
    for start in range(0, len(order), chunk):
        rows = order[start:start + chunk]
        real = rows >= 0
        x = np.where(real[:, None], pixels[rows], 0.0).astype(np.float32)
        if method == "fast":
            width = max(64, int(math.ceil(counts[rows[real]].max() / 64.0)) * 64)
            idx = np.zeros((len(rows), width), np.int32)
            valid = np.zeros((len(rows), width), bool)
            take = min(width, idx_all.shape[1])
            idx[real, :take] = idx_all[rows[real], :take]
            valid[real, :take] = valid_all[rows[real], :take]
            out = _sweep_chunk_fast(params, jnp.asarray(x), jnp.asarray(idx), jnp.asarray(valid), units, rising,
                                    *args)
        else:
            out = _sweep_chunk_dense(params, jnp.asarray(x), units, *args)
        preds.append(out[0])
        probs.append(out[1])
    inverse = np.empty(n, np.int64)
    inverse[order[order >= 0]] = np.arange(n)
    preds = np.concatenate([np.asarray(p) for p in preds], axis=-1)[..., inverse]
    probs = np.concatenate([np.asarray(p) for p in probs], axis=-1)[..., inverse]
    return OverlaySweep(eps_grid, targets, preds.astype(np.int8), probs)


@functools.partial(jax.jit, static_argnames=("norm", "sign", "layer"))
def _jacobian_sweep_chunk(params, x, eps_grid, targets, neurons, norm, sign, layer):
    patterns = jax.vmap(lambda neuron: neuron_gradients(params, x, layer, neuron))(neurons)  # (t, c, 784)
    units = threat(norm).unit(jnp.sign(patterns) if sign else patterns)

    def one_eps(eps):
        return _rest_of_network(params, _first_layer(params, jnp.clip(x[None] + eps * units, 0.0, 1.0)), targets)

    return jax.lax.map(one_eps, eps_grid)


def jacobian_sweep(params: dict, images, targets, eps_grid, norm: str = "linf", *, sign: bool = False,
                   layer: str = "output", neurons=None, chunk: int = 100) -> OverlaySweep:
    """``overlay_sweep`` with each image's own pattern: the local Jacobian of a neuron at that image.

    Column ``j`` uses neuron ``neurons[j]`` of ``layer`` (default: output neuron ``targets[j]``), or
    the sign of its Jacobian with ``sign=True``. Same output as ``overlay_sweep``.
    """
    pixels = to_pixels(np.asarray(images))
    check_images(pixels)
    norm = threat(norm).name
    targets = np.atleast_1d(np.asarray(targets, np.int32))
    eps_grid = np.atleast_1d(np.asarray(eps_grid, np.float32))
    check_class(targets)
    check_eps(eps_grid)
    neurons = targets if neurons is None else np.broadcast_to(np.asarray(neurons, np.int32), targets.shape)
    check_layer(params, layer)
    n = pixels.shape[0]
    padded = np.concatenate([pixels, np.zeros(((-n) % chunk, N_PIXELS), np.float32)])
    preds, probs = [], []
    for start in range(0, len(padded), chunk):
        out = _jacobian_sweep_chunk(params, jnp.asarray(padded[start:start + chunk]), jnp.asarray(eps_grid),
                                    jnp.asarray(targets), jnp.asarray(neurons), norm, sign, layer)
        preds.append(out[0])
        probs.append(out[1])
    preds = np.concatenate([np.asarray(p) for p in preds], axis=-1)[..., :n]
    probs = np.concatenate([np.asarray(p) for p in probs], axis=-1)[..., :n]
    return OverlaySweep(eps_grid, targets, preds.astype(np.int8), probs)


def source_sweep(params: dict, images, source: str, norm: str = "linf", eps_grid=None, *,
                 key: Optional[jax.Array] = None, layer: str = "output",
                 neuron: Optional[int] = None) -> OverlaySweep:
    """The overlay sweep for every target 0..9 with patterns from ``source`` (see ``pattern_for``).

    With the default ``layer="output"`` and ``neuron=None``, the column of target ``c`` uses output
    neuron ``c``; with another neuron, every column uses that one neuron's pattern (and the matrix shows
    where it sends each class). ``eps_grid`` defaults to ``EPS_GRID[norm]``.
    """
    norm = threat(norm).name
    eps_grid = EPS_GRID[norm] if eps_grid is None else eps_grid
    targets = np.arange(N_CLASSES)
    neurons = targets if neuron is None else np.full(N_CLASSES, int(neuron))
    check_source(source)
    if source.endswith("local_jacobian"):
        return jacobian_sweep(params, images, targets, eps_grid, norm, sign=source.startswith("sign_"),
                              layer=layer, neurons=neurons)
    check_layer(params, layer)
    weights = effective_weights(params)[layer].T[jnp.asarray(neurons)]  # (10, 784)
    if source == "random":
        if key is None:
            raise AttackError("the random patterns need a PRNG key")
        weights = random_pattern(key, weights, norm, "gaussian")
    elif source == "sign_effective_weights":
        weights = jnp.sign(weights)
    return overlay_sweep(params, images, weights, targets, eps_grid, norm)


def control_sweep(params: dict, images, kind: str = "gaussian", norm: str = "linf", eps_grid=None, *,
                  key: jax.Array) -> OverlaySweep:
    """The random control for ``source_sweep``: for each target 0..9 an independent random pattern of
    ``kind`` (``"gaussian"``, or ``"sign"`` for sign sources: see ``control_kind``). The overlay
    normalises every pattern, so at each eps the control moves each image exactly as far as the pattern
    does (before clipping)."""
    norm = threat(norm).name
    eps_grid = EPS_GRID[norm] if eps_grid is None else eps_grid
    patterns = random_pattern(key, jnp.ones((N_CLASSES, N_PIXELS), jnp.float32), norm, kind)
    return overlay_sweep(params, images, patterns, np.arange(N_CLASSES), eps_grid, norm)


def output_patterns(params: dict, source: str = "effective_weights", key: Optional[jax.Array] = None,
                    norm: str = "linf") -> jax.Array:
    """Image-agnostic patterns for the ten targets, ``(10, 784)``: row ``c`` pushes towards class ``c``.

    ``source``: ``effective_weights``, ``sign_effective_weights`` (output neuron ``c``'s effective
    weights or their sign) or ``random`` (Gaussian, each row with the norm of the effective weights;
    needs ``key``). Local Jacobians depend on the image and have no place in a sweep.
    """
    weights = effective_weights(params)["output"].T
    if source == "effective_weights":
        return weights
    if source == "sign_effective_weights":
        return jnp.sign(weights)
    if source == "random":
        if key is None:
            raise AttackError("the random patterns need a PRNG key")
        return random_pattern(key, weights, threat(norm).name, "gaussian")
    raise AttackError(f"sweeps take image-agnostic patterns (effective_weights, sign_effective_weights,"
                      f" random), got {source!r}")
