"""FGSM and PGD, built from one step and one projection of the threat model (Foolbox 3's definitions).

- FGSM: Goodfellow, Shlens, Szegedy 2015, "Explaining and Harnessing Adversarial Examples";
  ``x' = clip(x + eps * sign(grad), 0, 1)``, and its L2 form (the fast gradient method) ``grad / ||grad||_2``.
- PGD: Madry, Makelov, Schmidt, Tsipras, Vladu 2018, "Towards Deep Learning Models Resistant to
  Adversarial Attacks"; repeated normalised gradient steps projected back onto the eps-ball and [0, 1],
  from a random start inside the ball.

Both maximise the summed cross-entropy of the true labels (untargeted) or minimise that of the target
classes (targeted). As cleverhans' JAX ``fast_gradient_method(model_fn, x, eps, norm, ...)``, they take a
**model function** ``model_fn(x) -> logits`` rather than params, so the same attack serves any network:
``as_model_fn(params)`` turns the params of ``advx.model`` into one. Both are jitted, and run as well inside
another jitted function or a ``lax.scan`` (with traced params inside ``as_model_fn``).

Shapes: images ``(n, 784)`` float32 in [0, 1]; labels ``(n,)`` int; ``eps`` a number, ``(n,)`` or ``(n, 1)``.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from advx.attacks.checks import AttackError
from advx.attacks.threat import eps_column, threat
from advx.model import forward


def as_model_fn(params: dict) -> Partial:
    """The network of ``params`` as a model function ``x (n, 784) -> logits (n, 10)``.

    A ``jax.tree_util.Partial`` of ``advx.model.forward``: a pytree whose leaves are the params, so a jitted
    attack takes them as arrays (one compilation per shape, not per network) and they may be traced.
    """
    return Partial(forward, params)


def _as_pytree(model_fn: Callable) -> Partial:
    """``model_fn`` as an argument jit accepts: a ``Partial`` as it is, any other callable wrapped (which
    compiles once per function object: build it once, or use ``as_model_fn``)."""
    if isinstance(model_fn, Partial):
        return model_fn
    if isinstance(model_fn, dict) or not callable(model_fn):
        raise AttackError(f"the attacks take a model function x -> logits, got {type(model_fn).__name__}; "
                          "for the params of advx.model pass as_model_fn(params)")
    return Partial(model_fn)


def _summed_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return -jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), labels[:, None], axis=-1))


def random_start(key: jax.Array, images: jax.Array, eps, norm: str = "linf") -> jax.Array:
    """PGD's random start, clipped to [0, 1]: uniform in the L-inf cube, or uniform in the L2 ball.

    The L2 ball is sampled as in Foolbox (Voelker et al. 2017). Returns ``(n, 784)``.
    """
    return jnp.clip(threat(norm).random_start(key, images, eps), 0.0, 1.0)


@functools.partial(jax.jit, static_argnames=("norm", "targeted", "steps", "random_init"))
def _pgd(model_fn: Partial, images, labels, eps, key, rel_step_size, *, norm, targeted, steps, random_init):
    ball = threat(norm)
    eps = eps_column(eps)
    step_size = (ball.rel_step_size if rel_step_size is None else rel_step_size) * eps
    labels = jnp.asarray(labels, jnp.int32)
    sign = -1.0 if targeted else 1.0  # targeted: climb the negated loss of the target classes

    def objective(x):
        return sign * _summed_cross_entropy(model_fn(x), labels)

    def one_step(_, x):
        x = ball.step(x, jax.grad(objective)(x), step_size)
        return jnp.clip(ball.project(x, images, eps), 0.0, 1.0)

    x = random_start(key, images, eps, norm) if random_init else images
    return jax.lax.fori_loop(0, steps, one_step, x)


def pgd(model_fn: Callable, images: jax.Array, labels: jax.Array, eps, key: Optional[jax.Array] = None, *,
        norm: str = "linf", targeted: bool = False, steps: int = 40, rel_step_size=None,
        random_init: bool = True) -> jax.Array:
    """Projected gradient descent (Madry et al. 2018), as Foolbox 3's ``LinfPGD`` / ``L2PGD``.

    ``model_fn``: ``x -> logits`` (``as_model_fn(params)`` for a network of ``advx.model``). ``images (n, 784)``
    float32 in [0, 1]; ``labels (n,)`` int: the true labels (untargeted: raise their loss) or the target
    classes (``targeted=True``: lower theirs). Each of ``steps`` steps moves ``rel_step_size * eps`` along
    the threat model's normalised gradient (its sign for L-inf, the L2-normalised gradient for L2), then
    projects onto the ``eps``-ball around the image and onto [0, 1]. ``rel_step_size`` defaults to
    Foolbox's 0.01/0.3 (L-inf) and 0.025 (L2). ``random_init`` starts from a uniform point of the ball
    (needs ``key``). Returns ``(n, 784)`` float32.
    """
    return _pgd(_as_pytree(model_fn), images, labels, eps, key, rel_step_size, norm=threat(norm).name,
                targeted=targeted, steps=steps, random_init=random_init)


def fgsm(model_fn: Callable, images: jax.Array, labels: jax.Array, eps, *, norm: str = "linf",
         targeted: bool = False) -> jax.Array:
    """The fast gradient sign method (Goodfellow et al. 2015): one full step of size ``eps``.

    L-inf: ``clip(x ± eps * sign(grad), 0, 1)``; L2 (the fast gradient method):
    ``clip(x ± eps * grad / ||grad||_2, 0, 1)``. ``model_fn`` and ``labels`` as in ``pgd``. Returns
    ``(n, 784)``.
    """
    return _pgd(_as_pytree(model_fn), images, labels, eps, None, 1.0, norm=threat(norm).name,
                targeted=targeted, steps=1, random_init=False)
