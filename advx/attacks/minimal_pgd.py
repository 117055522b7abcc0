"""The smallest ε at which targeted PGD turns an image into the target class: a grid scan, then bisection.

The overlay's ``minimal_eps`` searches along one fixed direction; this searches with PGD (Madry et al. 2018,
``advx.attacks.gradient.pgd``), which picks its own direction at every ε. PGD at a given ε either reaches the
target or not; success is not guaranteed to grow with ε (a finite number of steps, a random start), so the
result is the boundary the search finds: an ε at which PGD succeeds, within the bisection's resolution of one
at which it did not. It is an upper bound on the true smallest adversarial ε of the threat model.

Shapes: images ``(n, 784)`` float32 in [0, 1]; targets an int or ``(n,)`` ints in 0..9.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from advx.attacks.checks import check_class, check_eps, check_images
from advx.attacks.gradient import _as_pytree, pgd
from advx.attacks.threat import threat


@functools.partial(jax.jit, static_argnames=("norm", "grid_size", "bisections", "steps"))
def _minimal_pgd_eps(model_fn: Partial, images, targets, max_eps, key, *, norm, grid_size, bisections, steps):
    n = images.shape[0]

    def hits(x, eps):
        """Whether PGD at ``eps`` (one per row of ``x``) reaches the row's target."""
        t = jnp.tile(targets, x.shape[0] // n)
        adversarial = pgd(model_fn, x, t, eps, key, norm=norm, targeted=True, steps=steps)
        return jnp.argmax(model_fn(adversarial), axis=-1) == t

    grid = jnp.arange(1, grid_size + 1, dtype=jnp.float32) * (max_eps / grid_size)  # (g,)
    # Every grid eps in one batch: row g * n + i is image i at grid[g].
    flipped = hits(jnp.tile(images, (grid_size, 1)), jnp.repeat(grid, n)).reshape(grid_size, n)
    found = flipped.any(axis=0)
    first = jnp.argmax(flipped, axis=0)
    hi = grid[first]
    lo = jnp.where(first == 0, 0.0, grid[jnp.maximum(first - 1, 0)])

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        ok = hits(images, mid)
        return jnp.where(ok, lo, mid), jnp.where(ok, mid, hi)

    lo, hi = jax.lax.fori_loop(0, bisections, bisect, (lo, hi))
    already = jnp.argmax(model_fn(images), axis=-1) == targets
    return jnp.where(already, 0.0, jnp.where(found, hi, jnp.inf))


def minimal_pgd_eps(model_fn: Callable, images, targets, max_eps: float, key: jax.Array, *, norm: str = "linf",
                    grid_size: int = 8, bisections: int = 8, steps: int = 40) -> jax.Array:
    """The smallest ε found at which targeted PGD makes ``model_fn`` answer ``targets``, per image: ``(n,)``.

    ``model_fn``: ``x -> logits`` (``as_model_fn(params)``). PGD (``steps`` steps, one random start from
    ``key``, Foolbox's step size) runs at ``grid_size`` equal steps of ε up to ``max_eps``, all in one batch;
    from the first grid ε that succeeds, ``bisections`` halvings narrow the boundary with the grid point
    below, so the result is within ``max_eps / grid_size / 2**bisections`` above an ε at which PGD failed.
    0 where the image already is the target; ``inf`` where no grid ε succeeds. See the module's text for why
    this is an upper bound on the true smallest ε.
    """
    check_images(images)
    check_class(targets)
    check_eps(max_eps, "max_eps")
    images = jnp.asarray(images, jnp.float32)
    targets = jnp.broadcast_to(jnp.asarray(targets, jnp.int32), (images.shape[0],))
    return _minimal_pgd_eps(_as_pytree(model_fn), images, targets, jnp.float32(max_eps), key,
                            norm=threat(norm).name, grid_size=grid_size, bisections=bisections, steps=steps)
