"""Neuron maths: effective weights, local Jacobians, activations, dataset averages, sparsity."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from advx.model import param_layer_names


@functools.partial(jax.jit, static_argnames="layer")
def effective_weights(params: dict, layer: str) -> jax.Array:
    """The linear "maximally activating image" of every neuron in ``layer``: ``(784, n)``.

    Layer_1 is W1; Layer_2 is W1 @ W2 (the weighted sum of the previous layer's images);
    output is W1 @ W2 @ W3. ReLU-free and bias-free, as in the seed.
    """
    names = param_layer_names(params)
    if layer not in names:
        raise ValueError(f"unknown layer {layer!r}; layers are {names}")
    out = params[names[0]]["kernel"]
    for name in names[1 : names.index(layer) + 1]:
        out = out @ params[name]["kernel"]
    return out


def _pre_activation(params: dict, x: jax.Array, layer: str) -> jax.Array:
    """Pre-activations ``(n,)`` of ``layer`` for one image ``x (784,)``, with the real ReLUs."""
    h = x
    for name in param_layer_names(params):
        pre = h @ params[name]["kernel"] + params[name]["bias"]
        if name == layer:
            return pre
        h = jax.nn.relu(pre)
    raise ValueError(f"unknown layer {layer!r}")


@functools.partial(jax.jit, static_argnames="layer")
def local_jacobian(params: dict, x: jax.Array, layer: str) -> jax.Array:
    """Exact gradient of each neuron's pre-activation with respect to the pixels at image ``x``.

    ``x``: ``(784,)`` float32 in [0, 1]. Returns ``(784, n)``, the same layout as
    ``effective_weights``; here the ReLU masks at ``x`` matter.
    """
    return jax.jacfwd(_pre_activation, argnums=1)(params, x, layer).T
