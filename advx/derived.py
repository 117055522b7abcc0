"""Per-epoch neuron results of a stored run, computed once and kept beside the run.

Every neuron page shows, for the epoch on its scrubber, each neuron's effective weights, its dataset
average over the 60,000 training images, the noise-versus-digit measures of both, and the neuron's
largest activation and firing rate. The dataset averages and the statistics need a pass over the
whole training set, so scrubbing would cost that pass at every new epoch. ``epoch_results`` does it
for all epochs of a run at once (one compiled program, one fused pass per epoch that yields both the
averages and the statistics, through ``advx.model.walk``); ``advx.experiments.epoch_results`` keeps the
result as one ``advx.storage`` verified file per run and output weighting.

A file is about 0.9 MB per epoch for the 784-64-64-10 network.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from advx import neurons
from advx.model import param_layer_names, to_pixels, walk

CHUNK = 4_000  # images per step of the pass: bounds the float32 copy of the pixels to 12.5 MB
EPOCH_GROUP = 4  # parameter sets per pass over the images (wider matmuls, the images read once per group)
FIELDS = ("effective", "average", "dead", "total_weight", "neuron_max", "firing_rate",
          "effective_high_frequency", "average_high_frequency", "effective_roughness", "average_roughness",
          "correlation")


@dataclass(frozen=True, eq=False)
class EpochResults:
    """Per-epoch neuron results of one run: ``arrays[layer][field]`` has the epoch as first axis.

    Fields (``w`` the layer's width, ``E = n_epochs + 1``): ``effective``, ``average`` ``(E, 784, w)``;
    ``dead`` ``(E, w)`` bool (no activation on any training image); ``total_weight``, ``neuron_max``,
    ``firing_rate`` and the five ``advx.neurons.NoiseDigitMeasures`` fields ``(E, w)``. For the output
    layer ``neuron_max`` / ``firing_rate`` count positive logits, as ``advx.neurons.neuron_stats`` does,
    and the averages are weighted per ``output``.
    """

    run_id: str
    output: str
    n_images: int
    arrays: dict

    @property
    def n_epochs(self) -> int:
        return next(iter(self.arrays.values()))["effective"].shape[0] - 1

    def maps(self, epoch: int) -> dict:
        """``{layer: {field: array}}`` at ``epoch``: the layout of the neuron pages' maps."""
        if not 0 <= epoch <= self.n_epochs:
            raise IndexError(f"epoch {epoch} is outside 0..{self.n_epochs}")
        return {layer: {f: a[epoch] for f, a in fields.items() if f not in ("neuron_max", "firing_rate")}
                for layer, fields in self.arrays.items()}

    def stats(self, epoch: int) -> dict[str, neurons.NeuronStats]:
        """``{layer: NeuronStats}`` at ``epoch``, as ``advx.neurons.neuron_stats`` over the training set."""
        if not 0 <= epoch <= self.n_epochs:
            raise IndexError(f"epoch {epoch} is outside 0..{self.n_epochs}")
        return {layer: neurons.NeuronStats(layer, f["neuron_max"][epoch], f["firing_rate"][epoch], self.n_images)
                for layer, f in self.arrays.items()}


def _chunks(images) -> list[np.ndarray]:
    """``images`` as ``(CHUNK, 784)`` uint8 views, the last one possibly shorter. Each is copied to the
    device only while it is processed, so a pass never holds a second copy of the whole set."""
    arr = np.asarray(images)
    arr = arr.reshape(arr.shape[0], -1) if arr.ndim >= 2 else arr
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != 784 or arr.shape[0] == 0:
        raise ValueError(f"need a non-empty (n, 784) uint8 image stack, got {arr.dtype} {arr.shape}")
    return [arr[start:start + CHUNK] for start in range(0, arr.shape[0], CHUNK)]


def _group_rows(run, group: list[int], parts: list[np.ndarray], n: int, output: str) -> list[dict]:
    """``[{layer: {field: array}}]`` for each epoch of ``group`` (at most ``EPOCH_GROUP`` epochs): one pass over
    ``parts`` for all of them, padded to ``EPOCH_GROUP`` parameter sets so that every group runs one compiled
    shape (a column's sums depend on the width of the product it is part of, so this is also what makes an
    epoch's numbers the same whichever route computes them)."""
    names = param_layer_names(run.final_params)
    widths = [int(run.final_params[name]["kernel"].shape[1]) for name in names]
    total_width = sum(widths)
    padded = group + [group[-1]] * (EPOCH_GROUP - len(group))
    stack = jax.tree.map(lambda *leaves: jnp.stack(leaves), *[run.params_at(e) for e in padded])
    acc = _stacked_pass(stack, jnp.asarray(parts[0]), output)
    for part in parts[1:]:
        more = _stacked_pass(stack, jnp.asarray(part), output)
        acc = (acc[0] + more[0], acc[1] + more[1], jnp.maximum(acc[2], more[2]), acc[3] + more[3])
    sums, total, top, count = (np.asarray(a) for a in acc)
    rows = []
    for i, e in enumerate(group):
        effective = neurons.all_effective_weights(run.params_at(e))
        start, layers = i * total_width, {}
        for name, w in zip(names, widths):
            cols = slice(start, start + w)
            start += w
            dead = total[cols] <= 0
            average = np.where(dead[None, :], 0.0, sums[:, cols] / np.where(dead, 1.0, total[cols])[None, :])
            average = average.astype(np.float32)
            eff = np.asarray(effective[name])
            measures = neurons.noise_digit_measures(eff, neurons.DatasetAverage(
                jnp.asarray(average), jnp.asarray(total[cols]), jnp.asarray(dead)))
            layers[name] = dict(effective=eff, average=average, dead=dead, total_weight=total[cols],
                                neuron_max=top[cols], firing_rate=count[cols] / n, **measures._asdict())
        rows.append(layers)
    return rows


def _check_output(output: str) -> None:
    if output not in neurons.OUTPUT_WEIGHTINGS:
        raise ValueError(f"output weighting must be one of {', '.join(neurons.OUTPUT_WEIGHTINGS)}, got {output!r}")


def epoch_results(run, images, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING) -> EpochResults:
    """Compute ``EpochResults`` for every epoch of ``run`` over ``images (n, 784)`` or ``(n, 28, 28)`` uint8."""
    _check_output(output)
    parts = _chunks(images)
    n = int(np.asarray(images).shape[0])
    epochs = list(range(run.n_epochs + 1))
    names = param_layer_names(run.final_params)
    arrays = {name: {f: [] for f in FIELDS} for name in names}
    for first in range(0, len(epochs), EPOCH_GROUP):
        for layers in _group_rows(run, epochs[first:first + EPOCH_GROUP], parts, n, output):
            for name in names:
                for f in FIELDS:
                    arrays[name][f].append(np.asarray(layers[name][f]))
    stacked = {name: {f: np.stack(v) for f, v in fields.items()} for name, fields in arrays.items()}
    for fields in stacked.values():
        for a in fields.values():
            a.setflags(write=False)
    return EpochResults(run.run_id, output, n, stacked)


def epoch_maps(run, epoch: int, images, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING) -> dict:
    """``epoch_results(run, images, output).maps(epoch)``, bit for bit, from the one pass over the images for
    ``epoch``'s group of ``EPOCH_GROUP`` epochs: what a page shows before the every-epoch results are ready, so
    that its numbers do not change when they are. In chunks of ``CHUNK`` images: about 70 MB above the start for
    MNIST's training set, where one pass over the whole float32 set (``advx.neurons.all_dataset_averages``) took
    335 MB; it reads the images once for the group's 4 parameter sets, about 0.9 s on 2 cores instead of 0.3."""
    _check_output(output)
    epoch = int(epoch)
    if not 0 <= epoch <= run.n_epochs:
        raise IndexError(f"epoch {epoch} is outside 0..{run.n_epochs}")
    epochs = list(range(run.n_epochs + 1))
    first = epoch // EPOCH_GROUP * EPOCH_GROUP
    layers = _group_rows(run, epochs[first:first + EPOCH_GROUP], _chunks(images), int(np.asarray(images).shape[0]),
                         output)[epoch - first]
    return {name: {f: a for f, a in fields.items() if f not in ("neuron_max", "firing_rate")}
            for name, fields in layers.items()}


# --------------------------------------------------------------------------------------------
# As a verified file's content (kept by ``advx.experiments.epoch_results``)


def encode(results: EpochResults) -> tuple[dict, dict]:
    flat = {f"{layer}/{f}": a for layer, fields in results.arrays.items() for f, a in fields.items()}
    return flat, {"n_images": results.n_images, "layers": list(results.arrays)}


def decoder(run_id: str, output: str):
    def decode(flat: dict, extra: dict) -> EpochResults:
        arrays = {layer: {} for layer in extra["layers"]}
        for key, value in flat.items():
            layer, _, f = key.partition("/")
            arrays[layer][f] = value
        return EpochResults(run_id, output, int(extra["n_images"]), arrays)
    return decode


@functools.partial(jax.jit, static_argnames="output")
def _stacked_pass(stack: dict, x: jax.Array, output: str):
    """One chunk ``x (C, 784)`` uint8 through ``E`` parameter sets at once (``stack``: every leaf with a
    leading epoch axis): the weighted pixel sums ``(784, E*W)``, the total weights, the largest post-ReLU
    activation (output: largest positive logit) and the count of active images, each ``(E*W,)``, in
    epoch-major column order (``W`` the total width of one set). Summed over chunks by the caller.

    ``advx.model.walk`` mapped over the sets: the first layer of all sets becomes one wide matmul (the
    pixels are shared) and the pixel sums another, so each image is read once for all ``E`` sets.
    """
    pixels = to_pixels(x)

    def one_set(params):
        layers = list(walk(params, pixels, output=output))
        return [pre for _, pre, _ in layers], [post for _, _, post in layers]

    pres, posts = jax.vmap(one_set, out_axes=1)(stack)  # each (C, E, width)
    weights = jnp.concatenate(posts, axis=2).reshape(x.shape[0], -1)  # (C, E*W), epoch-major
    positive = jax.nn.relu(jnp.concatenate(pres, axis=2)).reshape(x.shape[0], -1)
    return pixels.T @ weights, weights.sum(axis=0), positive.max(axis=0), (positive > 0).sum(axis=0)
