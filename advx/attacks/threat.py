"""The threat model: the ball of perturbations of size at most ``eps``, one small class per norm.

As the step classes of MadryLab's ``robustness/attack_steps.py`` (``LinfStep``, ``L2Step``), each class
holds everything that depends on its norm: the norm itself, the unit vector of a direction, the normalised
gradient step, the projection onto the ``eps``-ball and a uniform random start inside it. The overlay, the
sweeps, FGSM and PGD take one of them from ``threat(norm)`` and never branch on the name of the norm.

Shapes: vectors run along the last axis, ``(784,)`` or ``(n, 784)``; ``eps`` is a number or one per image,
``(n,)`` or ``(n, 1)``. Nothing here clips to the pixel range [0, 1]: the attacks do that.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from advx.attacks.checks import AttackError
from advx.vocabulary import NORMS

# The eps grids shared by the page, the sweeps and the bench, 25 values each. L-inf eps 1 lets a pixel go
# all the way from black to white; the L2 grid covers the L2 size of the post's overlay at L-inf eps 1
# (about 7.6 on the default run).
EPS_GRID = {
    "linf": tuple(round(0.04 * i, 2) for i in range(1, 26)),
    "l2": tuple(round(0.32 * i, 2) for i in range(1, 26)),
}
# The eps at which the overlay is set beside FGSM and PGD.
COMPARISON_EPS = {"linf": (0.1, 0.2, 0.3, 0.5), "l2": (1.0, 2.0, 3.0, 5.0)}


def eps_column(eps) -> jax.Array:
    """``eps`` as float32 that broadcasts against ``(n, 784)``: a scalar stays one, ``(n,)`` becomes ``(n, 1)``."""
    eps = jnp.asarray(eps, jnp.float32)
    return eps[:, None] if eps.ndim == 1 else eps


class Threat:
    """The ``eps``-ball of one norm. Subclasses define ``norm``, ``direction``, ``project`` and ``_noise``."""

    name: str
    rel_step_size: float  # PGD's default step, as a share of eps (Foolbox 3's default for this norm)

    def norm(self, v: jax.Array) -> jax.Array:
        """The norm of ``v`` along its last axis: ``(784,) -> ()``, ``(n, 784) -> (n,)``."""
        raise NotImplementedError

    def unit(self, v: jax.Array) -> jax.Array:
        """``v / ||v||`` along the last axis; an all-zero ``v`` stays zero. Same shape as ``v``."""
        size = self.norm(v)[..., None]
        return jnp.where(size > 0, v / jnp.where(size > 0, size, 1.0), 0.0)

    def direction(self, grad: jax.Array) -> jax.Array:
        """The steepest-ascent direction of size 1 in this norm, for the gradient ``grad``. Same shape."""
        raise NotImplementedError

    def step(self, x: jax.Array, grad: jax.Array, step_size) -> jax.Array:
        """One normalised gradient step: ``x + step_size * direction(grad)`` (``step_size`` as ``eps``)."""
        return x + eps_column(step_size) * self.direction(grad)

    def project(self, x: jax.Array, x0: jax.Array, eps) -> jax.Array:
        """The point of the ``eps``-ball around ``x0`` nearest to ``x``. Same shape as ``x``."""
        raise NotImplementedError

    def random_start(self, key: jax.Array, x0: jax.Array, eps) -> jax.Array:
        """A point drawn uniformly from the ``eps``-ball around each row of ``x0``. Same shape as ``x0``."""
        return x0 + eps_column(eps) * self._noise(key, x0.shape)

    def _noise(self, key: jax.Array, shape: tuple) -> jax.Array:
        """Uniform points of the unit ball, ``shape``, one per row."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linf(Threat):
    """The L-inf ball: every pixel moves by at most ``eps``. Steps along the sign of the gradient (FGSM's)."""

    name = "linf"
    rel_step_size = 0.01 / 0.3

    def norm(self, v):
        return jnp.max(jnp.abs(v), axis=-1)

    def direction(self, grad):
        return jnp.sign(grad)

    def project(self, x, x0, eps):
        eps = eps_column(eps)
        return x0 + jnp.clip(x - x0, -eps, eps)

    def _noise(self, key, shape):
        return jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0)


class L2(Threat):
    """The L2 ball. Steps along the L2-normalised gradient (the fast gradient method's)."""

    name = "l2"
    rel_step_size = 0.025

    def norm(self, v):
        return jnp.sqrt(jnp.sum(v * v, axis=-1))

    def direction(self, grad):
        return grad / jnp.maximum(self.norm(grad), 1e-12)[..., None]

    def project(self, x, x0, eps):
        delta = x - x0
        size = jnp.maximum(self.norm(delta), 1e-12)[..., None]
        return x0 + delta * jnp.minimum(1.0, eps_column(eps) / size)

    def _noise(self, key, shape):
        # As Foolbox (Voelker et al. 2017): the first d coordinates of a uniformly random point on the
        # sphere in d + 2 dimensions are uniform in the d-ball.
        *batch, d = shape
        sphere = jax.random.normal(key, (*batch, d + 2), jnp.float32)
        return (sphere / self.norm(sphere)[..., None])[..., :d]


_THREATS = {t.name: t for t in (Linf(), L2())}


def threat(norm: str | Threat) -> Threat:
    """The threat model of ``norm`` (``"linf"`` or ``"l2"``; a ``Threat`` is returned as it is).

    Raises ``AttackError`` for any other name.
    """
    if isinstance(norm, Threat):
        return norm
    if not isinstance(norm, str) or norm not in _THREATS:
        raise AttackError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    return _THREATS[norm]
