"""The post's fully-connected network as a Flax module, plus pure forward functions.

Params are the inner Flax dict ``{"Layer_1": {"kernel": (784, h1), "bias": (h1,)}, ...,
"output": {"kernel": (h_last, 10), "bias": (10,)}}``. Inputs are ``(n, 784)`` float32
pixels in [0, 1]; no normalisation happens inside, so effective weights live in pixel space.
"""

from __future__ import annotations

import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

N_PIXELS = 784
N_CLASSES = 10


def layer_names(n_hidden: int) -> list[str]:
    """The post's layer names: Layer_1 ... Layer_n, then output."""
    return [f"Layer_{i}" for i in range(1, n_hidden + 1)] + ["output"]


class MLP(nn.Module):
    """784 -> hidden... -> 10 with ReLU between layers; logits out."""

    hidden: Sequence[int] = (64, 64)

    @nn.compact
    def __call__(self, x):
        for name, width in zip(layer_names(len(self.hidden)), self.hidden):
            x = nn.relu(nn.Dense(width, name=name)(x))
        return nn.Dense(N_CLASSES, name="output")(x)


@functools.partial(jax.jit, static_argnums=0)
def _init(hidden: tuple[int, ...], key: jax.Array) -> dict:
    return MLP(hidden).init(key, jnp.zeros((1, N_PIXELS), jnp.float32))["params"]


@functools.partial(jax.jit, static_argnums=0)
def _scaled_init(hidden: tuple[int, ...], key: jax.Array, scale) -> dict:
    return jax.tree.map(lambda a: a * jnp.asarray(scale, a.dtype), _init(hidden, key))


def init_params(hidden: Sequence[int], key: jax.Array, scale: float = 1.0) -> dict:
    """Fresh parameters (Flax's default LeCun-normal kernels, zero biases), every one times ``scale``.

    ``scale`` (``TrainConfig.init_scale``) multiplies the default initialisation; at 1.0 the parameters are
    exactly the default ones, and for one ``key`` every scale gives the same directions. Jitted: run eagerly,
    Flax's ``init`` dispatches dozens of small operations, which took seconds on a cold, busy 2-core machine.
    """
    hidden = tuple(int(h) for h in hidden)
    if isinstance(scale, (int, float)) and scale == 1.0:
        return _init(hidden, key)
    return _scaled_init(hidden, key, scale)


def param_layer_names(params: dict) -> list[str]:
    """Layer names of ``params`` in forward order."""
    hidden = sorted((k for k in params if k.startswith("Layer_")), key=lambda k: int(k.split("_")[1]))
    return hidden + ["output"]


def to_pixels(images):
    """Pixels as the network takes them: ``(n, 784)`` (or ``(784,)``) float32 in [0, 1].

    ``images``: uint8 pixels (divided by 255) or float pixels already in [0, 1] (cast to float32), shaped
    ``(n, 28, 28)``, ``(n, 784)``, ``(28, 28)`` or ``(784,)``. A NumPy array stays NumPy and a JAX array
    (traced or not) stays JAX, so the one conversion serves the host and the compiled programs.
    """
    xp = np if isinstance(images, np.ndarray) else jnp
    x = images if hasattr(images, "dtype") else np.asarray(images)
    if x.ndim >= 2 and x.shape[-2:] == (28, 28):
        x = x.reshape(*x.shape[:-2], N_PIXELS)
    if xp.issubdtype(x.dtype, xp.integer):
        return x.astype(xp.float32) / xp.float32(255.0)
    return x.astype(xp.float32)


ALIGN = 64  # bytes: a host array aligned to this is used in place by XLA's CPU client (``device_rows``)


def aligned_rows(n: int, features: int = N_PIXELS, dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous ``(n, features)`` host array whose data starts on an ``ALIGN``-byte
    boundary, so that ``device_rows`` on the CPU uses it in place instead of copying it. (NumPy's own large
    arrays start 16 bytes into a page, and XLA copies those.)"""
    size = int(n) * int(features) * np.dtype(dtype).itemsize
    raw = np.empty(size + ALIGN, np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + size].view(dtype).reshape(int(n), int(features))


def device_rows(images) -> jax.Array:
    """``images`` (a host array of ``(n, ...)`` pixels, kept in its dtype) as one ``(n, features)`` array on the
    device, for a computation that reads all of it (training, a pass over the set).

    ``jax.device_put`` makes one copy, also of a strided view such as a transpose; ``jnp.asarray`` of the same
    host array held two while its result lived (for the 60,000 float32 training images, 188 MB more). A
    C-contiguous host array from ``aligned_rows`` is not copied at all on the CPU: the device array reads the
    host's memory, so the caller must not write to the host array while the device array lives. (The copy of
    any other array may run after this returns: the host array is not written either until the device array
    is ready.) A JAX array is reshaped where it is.
    """
    if isinstance(images, jax.Array):
        return images.reshape(images.shape[0], -1)
    host = np.asarray(images)
    return jax.device_put(host.reshape(host.shape[0], -1), may_alias=True)  # a strided view is copied once


OUTPUT_ACTIVATIONS = ("logits", "softmax", "relu_logit")


def walk(params: dict, h: jax.Array, *, start: int = 0, stop: str | None = None, linear: bool = False,
         output: str = "logits"):
    """The one walk over the layers: yields ``(name, pre, post)`` for each layer in forward order.

    ``h``: the input of layer number ``start`` (``(..., 784)`` pixels for ``start=0``). ``stop``: the last
    layer to visit (default: the output). Hidden layers apply ``pre = h @ kernel + bias`` and
    ``post = relu(pre)``; the output layer's ``post`` is per ``output`` (its logits, their softmax, or
    their ReLU). ``linear=True`` drops the biases and the ReLUs, which turns the walk over a weight
    matrix into the effective weights (see ``effective_weights``).
    """
    names = param_layer_names(params)
    for name in names[start:]:
        pre = h @ params[name]["kernel"]
        if not linear:
            pre = pre + params[name]["bias"]
        if linear or (name == "output" and output == "logits"):
            post = pre
        elif name == "output" and output == "softmax":
            post = jax.nn.softmax(pre, axis=-1)
        else:
            post = jax.nn.relu(pre)
        yield name, pre, post
        if name == stop:
            return
        h = post


def effective_weights(params: dict) -> dict:
    """``{layer: (784, width)}``: W1, W1·W2, W1·W2·W3, ... (ReLU- and bias-free), from ``walk``."""
    names = param_layer_names(params)
    first = params[names[0]]["kernel"]
    return {names[0]: first, **{name: pre for name, pre, _ in walk(params, first, start=1, linear=True)}}


@jax.jit
def forward(params: dict, x: jax.Array) -> jax.Array:
    """Logits ``(n, 10)`` for pixels ``(n, 784)`` in [0, 1]."""
    for _, pre, _ in walk(params, x):
        pass
    return pre


@jax.jit
def forward_with_activations(params: dict, x: jax.Array) -> tuple[jax.Array, dict]:
    """Logits and every layer's activations.

    Returns ``(logits, acts)`` where ``acts[name] = {"pre": (n, width), "post": (n, width)}``
    for every layer; for ``output`` ``post`` is the softmax probabilities.
    """
    acts = {name: {"pre": pre, "post": post} for name, pre, post in walk(params, x, output="softmax")}
    return acts["output"]["pre"], acts


def summary(params: dict) -> list[dict]:
    """The Keras-style model summary as rows.

    Each row: ``{"layer": name, "type": "Dense", "output_shape": "(None, 64)", "outputs": "64", "params": 50240}``
    (``outputs``: the layer's width, for readers who do not know Keras's notation),
    then a final ``{"layer": "Total", ... "params": total}`` row.
    """
    rows = []
    total = 0
    for name in param_layer_names(params):
        kernel, bias = params[name]["kernel"], params[name]["bias"]
        count = int(kernel.size + bias.size)
        total += count
        rows.append({"layer": name, "type": "Dense", "output_shape": f"(None, {kernel.shape[1]})",
                     "outputs": str(kernel.shape[1]), "params": count})
    rows.append({"layer": "Total", "type": "", "output_shape": "", "outputs": "", "params": total})
    return rows


def flax_forward(params: dict, x: jax.Array) -> jax.Array:
    """Logits from Flax's own ``MLP.apply``: an independent route for tests."""
    hidden = tuple(params[n]["kernel"].shape[1] for n in param_layer_names(params)[:-1])
    return MLP(hidden).apply({"params": params}, x)
