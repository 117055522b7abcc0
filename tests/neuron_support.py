"""Small random networks and images for the neuron tests, and a float64 NumPy forward pass to check against."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from advx import model


def random_params(hidden=(64, 64), seed=0):
    """Random parameters in the model's layout (LeCun-normal kernels, non-zero biases so that
    "bias-free" and "ReLU-free" actually matter in the checks). Built with numpy: Flax's eager
    init costs seconds per call on a busy 2-core machine."""
    rng = np.random.default_rng(seed)
    sizes = (784, *hidden, 10)
    return {name: {"kernel": jnp.asarray(rng.standard_normal((a, b)) / np.sqrt(a), jnp.float32),
                   "bias": jnp.asarray(0.1 * rng.standard_normal(b), jnp.float32)}
            for name, a, b in zip(model.layer_names(len(hidden)), sizes[:-1], sizes[1:])}


def random_images(n=50, seed=1):
    """``(n, 784)`` float32 pixels, uniform in [0, 1)."""
    return np.random.default_rng(seed + 1000).uniform(size=(n, 784)).astype(np.float32)


def numpy_layers(params, x, output="softmax"):
    """float64 numpy forward: {layer: (pre, activation)}."""
    h = np.asarray(x, np.float64)
    out = {}
    for name in model.param_layer_names(params):
        pre = h @ np.asarray(params[name]["kernel"], np.float64) + np.asarray(params[name]["bias"], np.float64)
        if name == "output" and output == "softmax":
            e = np.exp(pre - pre.max(axis=1, keepdims=True))
            post = e / e.sum(axis=1, keepdims=True)
        else:
            post = np.maximum(pre, 0.0)
        out[name] = (pre, post)
        h = post
    return out
