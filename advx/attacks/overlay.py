"""The post's overlay, its random control, the patterns it adds, and the network's answers under it.

The overlay is ``x' = clip(x + eps * pattern / ||pattern||, 0, 1)``, with ``||.||`` the norm of the
threat model (``norm="linf"`` or ``"l2"``), so the image never moves by more than ``eps`` in that norm
(clipping to [0, 1] only shrinks the move).

Shapes: images ``(n, 784)`` float32 in [0, 1]; a pattern ``(784,)`` (one image-agnostic direction) or
``(n, 784)`` (one per image); ``eps`` a number or ``(n,)``. Params are the inner Flax dict of ``advx.model``.
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp

from advx.attacks.checks import AttackError, check_class, check_images
from advx.attacks.threat import eps_column, threat
from advx.model import effective_weights, forward, param_layer_names, to_pixels, walk

PATTERN_SOURCES = (
    "effective_weights",
    "sign_effective_weights",
    "local_jacobian",
    "sign_local_jacobian",
    "random",
)


@functools.partial(jax.jit, static_argnames="norm")
def pattern_norm(pattern: jax.Array, norm: str = "linf") -> jax.Array:
    """L-inf or L2 norm of ``pattern`` along its last axis: ``(784,) -> ()``, ``(n, 784) -> (n,)``."""
    return threat(norm).norm(pattern)


@functools.partial(jax.jit, static_argnames="norm")
def unit_pattern(pattern: jax.Array, norm: str = "linf") -> jax.Array:
    """``pattern / ||pattern||`` along the last axis (an all-zero pattern stays zero). Same shape."""
    return threat(norm).unit(pattern)


@functools.partial(jax.jit, static_argnames="norm")
def overlay(images: jax.Array, pattern: jax.Array, eps, norm: str = "linf") -> jax.Array:
    """The post's overlay: ``clip(x + eps * pattern / ||pattern||, 0, 1)``.

    ``images (n, 784)`` float32 in [0, 1]; ``pattern (784,)`` or ``(n, 784)``; ``eps`` a number or
    ``(n,)``. Returns ``(n, 784)`` float32 in [0, 1] whose distance to ``images`` in ``norm`` is at most
    ``eps`` (exactly ``eps`` where no pixel is clipped).
    """
    return jnp.clip(images + eps_column(eps) * threat(norm).unit(pattern), 0.0, 1.0)


@functools.partial(jax.jit, static_argnames=("norm", "kind"))
def random_pattern(key: jax.Array, like: jax.Array, norm: str = "linf", kind: str = "gaussian") -> jax.Array:
    """The control: a random pattern with the shape of ``like`` and, row by row, its norm.

    ``kind="gaussian"`` draws i.i.d. normal pixels (a uniformly random direction); ``kind="sign"``
    draws random ±1 pixels (the control for sign patterns). Each row is then scaled so that its
    ``norm`` equals that of the matching row of ``like``.
    """
    if kind == "gaussian":
        noise = jax.random.normal(key, like.shape, jnp.float32)
    elif kind == "sign":
        noise = jax.random.rademacher(key, like.shape, jnp.float32)
    else:
        raise AttackError(f"kind must be 'gaussian' or 'sign', got {kind!r}")
    ball = threat(norm)
    return ball.unit(noise) * ball.norm(like)[..., None]


def control_kind(source: str) -> str:
    """The random control that matches a pattern source: random signs for sign patterns."""
    return "sign" if source.startswith("sign_") else "gaussian"


# --------------------------------------------------------------------------------------------
# Pattern sources


def check_source(source: str) -> None:
    """Raise unless ``source`` is one of ``PATTERN_SOURCES``."""
    if source not in PATTERN_SOURCES:
        raise AttackError(f"pattern source must be one of {', '.join(PATTERN_SOURCES)}, got {source!r}")


def check_layer(params: dict, layer: str) -> None:
    """Raise unless ``layer`` is a layer of ``params``."""
    names = param_layer_names(params)
    if layer not in names:
        raise AttackError(f"unknown layer {layer!r}; layers are {names}")


@functools.partial(jax.jit, static_argnames="layer")
def neuron_gradients(params: dict, images: jax.Array, layer: str, neuron) -> jax.Array:
    """Gradient of one neuron's pre-activation with respect to the pixels, at each image: ``(n, 784)``.

    Row ``i`` equals column ``neuron`` of ``advx.neurons.local_jacobian(params, images[i], layer)``;
    computed by one backward pass instead of a full Jacobian, so it is cheap for a whole test set.
    """

    def total(x):
        for _, pre, _ in walk(params, x, stop=layer):
            pass
        return pre[:, neuron].sum()

    return jax.grad(total)(images)


def pattern_for(params: dict, images, target: int, source: str = "effective_weights", *,
                layer: str = "output", neuron: Optional[int] = None, key: Optional[jax.Array] = None,
                norm: str = "linf") -> jax.Array:
    """The pattern that pushes towards class ``target``.

    ``source`` is one of ``PATTERN_SOURCES``:

    - ``effective_weights``: the neuron's effective weights (``advx.model.effective_weights``),
      ``(784,)``, the same for every image (the post's pattern);
    - ``local_jacobian``: the neuron's local Jacobian at each of the ``images`` ``(n, 784)``, ``(n, 784)``;
    - ``sign_...``: the sign of either;
    - ``random``: the control, a Gaussian pattern with the ``norm`` of the effective weights (needs ``key``).

    The neuron is ``neuron`` of ``layer``; by default output neuron ``target``.
    """
    check_source(source)
    check_layer(params, layer)
    check_class(target)
    neuron = int(target) if neuron is None else int(neuron)
    width = params[layer]["kernel"].shape[1]
    if not 0 <= neuron < width:
        raise AttackError(f"layer {layer} has neurons 0..{width - 1}, got {neuron}")
    if source.endswith("local_jacobian"):
        images = to_pixels(images)
        check_images(images)
        pattern = neuron_gradients(params, jnp.asarray(images), layer, neuron)
    else:
        pattern = effective_weights(params)[layer][:, neuron]
    if source == "random":
        if key is None:
            raise AttackError("the random pattern needs a PRNG key")
        return random_pattern(key, pattern, threat(norm).name, "gaussian")
    return jnp.sign(pattern) if source.startswith("sign_") else pattern


# --------------------------------------------------------------------------------------------
# The network's answers under the overlay


@jax.jit
def probabilities(params: dict, images: jax.Array) -> jax.Array:
    """Softmax probabilities ``(n, 10)``."""
    return jax.nn.softmax(forward(params, images), axis=-1)


@jax.jit
def predictions(params: dict, images: jax.Array) -> jax.Array:
    """Predicted classes ``(n,)`` int32."""
    return jnp.argmax(forward(params, images), axis=-1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames="norm")
def eps_curve(params: dict, images: jax.Array, pattern: jax.Array, eps_grid: jax.Array,
              norm: str = "linf") -> jax.Array:
    """Probabilities under the overlay at each eps: ``(e, n, 10)`` for ``eps_grid (e,)``."""
    return jax.lax.map(lambda eps: probabilities(params, overlay(images, pattern, eps, norm)), eps_grid)


@functools.partial(jax.jit, static_argnames=("norm", "grid_size", "steps"))
def minimal_eps(params: dict, images: jax.Array, pattern: jax.Array, target, max_eps,
                norm: str = "linf", grid_size: int = 32, steps: int = 24) -> jax.Array:
    """The smallest overlay eps that makes the prediction equal ``target``, per image: ``(n,)``.

    Scans ``grid_size`` equal steps up to ``max_eps``, takes the first grid eps at which the prediction
    is ``target``, then bisects ``steps`` times between it and the grid point below. The result is
    within ``max_eps / grid_size / 2**steps`` above the crossing; it is ``0`` where the image is
    already classified as ``target`` and ``inf`` where no grid eps flips it. (A flip region narrower
    than one grid step and below the first flipping grid point is missed.)
    """
    n = images.shape[0]
    target = jnp.broadcast_to(jnp.asarray(target, jnp.int32), (n,))
    max_eps = jnp.asarray(max_eps, jnp.float32)

    def hits(eps):
        return jnp.argmax(forward(params, overlay(images, pattern, eps, norm)), axis=-1) == target

    grid = jnp.linspace(0.0, 1.0, grid_size + 1) * max_eps
    flipped = jax.lax.map(lambda eps: hits(jnp.full((n,), eps)), grid)  # (grid_size + 1, n)
    first = jnp.argmax(flipped, axis=0)
    found = flipped.any(axis=0)
    hi = grid[first]
    lo = grid[jnp.maximum(first - 1, 0)]

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        ok = hits(mid)
        return jnp.where(ok, lo, mid), jnp.where(ok, mid, hi)

    lo, hi = jax.lax.fori_loop(0, steps, bisect, (lo, hi))
    return jnp.where(found, jnp.where(first == 0, 0.0, hi), jnp.inf)
