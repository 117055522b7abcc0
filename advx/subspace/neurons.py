"""Every neuron's effective weights and dataset average, measured against the data subspace.

``neuron_maps`` gives a run's pixel maps (they do not depend on ``k``); ``neuron_spectra`` projects them
once, after which ``measure_neurons`` and ``layer_summary`` at any ``k`` are lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advx.model import N_PIXELS, effective_weights, param_layer_names
from advx.subspace.projections import Energy, Spectrum, energy, pooled_fraction, spectrum, split
from advx.subspace.pca import DataSubspace, SubspaceError


@dataclass(frozen=True, eq=False)
class NeuronSubspace:
    """Inside/outside energies of every neuron of ``layer`` in the top-``k`` subspace.

    Each field is an ``Energy`` over the layer's ``n`` neurons:
    ``effective_init`` / ``effective_trained``: the effective weights (``advx.model.effective_weights``)
    at initialisation and after training; ``average_init`` / ``average_trained``: the dataset averages;
    ``change``: the change of the effective weights, trained − init (for ``Layer_1`` this is ΔW1).
    """

    layer: str
    k: int
    effective_init: Energy
    effective_trained: Energy
    average_init: Energy
    average_trained: Energy
    change: Energy

    def rows(self) -> dict[str, np.ndarray]:
        """Column-wise table: one ``(n,)`` array per measurement, for a data frame."""
        ei, et, c = self.effective_init, self.effective_trained, self.change
        return {
            "neuron": np.arange(ei.inside.shape[0]),
            "effective weights inside, init": ei.fraction_inside,
            "effective weights inside, trained": et.fraction_inside,
            "dataset average inside, trained": self.average_trained.fraction_inside,
            "change inside": c.fraction_inside,
            "norm inside, init": ei.norm_inside,
            "norm inside, trained": et.norm_inside,
            "norm outside, init": ei.norm_outside,
            "norm outside, trained": et.norm_outside,
            "change norm inside": c.norm_inside,
            "change norm outside": c.norm_outside,
        }


@dataclass(frozen=True, eq=False)
class NeuronMaps:
    """Every neuron's pixel maps for one run, at initialisation and trained: ``{layer: (784, n)}`` each.

    ``effective_*``: ``advx.model.effective_weights``; ``average_*``: ``advx.neurons.dataset_average``
    (images weighted by the neuron's activation; the output layer by its softmax probability). They do
    not depend on ``k``: compute them once per run and measure them at any ``k`` with ``measure_neurons``.
    """

    effective_init: dict
    effective_trained: dict
    average_init: dict
    average_trained: dict

    @property
    def layers(self) -> list[str]:
        return list(self.effective_trained)

    @classmethod
    def from_layer_dicts(cls, init: dict, trained: dict) -> "NeuronMaps":
        """From two ``{layer: {"effective": (784, n), "average": (784, n), ...}}`` dicts (init, trained),
        the layout of the neuron pages' cached maps."""
        return cls(effective_init={n: np.asarray(v["effective"]) for n, v in init.items()},
                   effective_trained={n: np.asarray(v["effective"]) for n, v in trained.items()},
                   average_init={n: np.asarray(v["average"]) for n, v in init.items()},
                   average_trained={n: np.asarray(v["average"]) for n, v in trained.items()})


def neuron_maps(params_init: dict, params_trained: dict, images) -> NeuronMaps:
    """The ``NeuronMaps`` of a run; ``images`` are the set averaged over, ``(n, 784)`` uint8 or float.

    uint8 pixels are passed through as they are (``advx.neurons`` scales them inside its jitted code).
    """
    from advx.neurons import all_dataset_averages

    arr = np.asarray(images)
    if arr.ndim != 2 and not (arr.ndim == 3 and arr.shape[1:] == (28, 28)):
        raise SubspaceError(f"images must be (n, 784) or (n, 28, 28), got shape {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.shape[1] != N_PIXELS or arr.shape[0] == 0:
        raise SubspaceError(f"images must be a non-empty (n, 784) stack, got shape {arr.shape}")
    names = param_layer_names(params_trained)
    if param_layer_names(params_init) != names:
        raise SubspaceError(f"the two parameter sets have different layers: {param_layer_names(params_init)} "
                            f"and {names}")

    def numpy(tree: dict, attr: str | None = None) -> dict:
        return {n: np.asarray(getattr(tree[n], attr) if attr else tree[n]) for n in names}

    return NeuronMaps(
        effective_init=numpy(effective_weights(params_init)),
        effective_trained=numpy(effective_weights(params_trained)),
        average_init=numpy(all_dataset_averages(params_init, arr), "images"),
        average_trained=numpy(all_dataset_averages(params_trained, arr), "images"),
    )


_NEURON_PARTS = ("effective_init", "effective_trained", "average_init", "average_trained", "change")


def _neuron_parts(maps: NeuronMaps, layer: str) -> list[np.ndarray]:
    w0, w1 = maps.effective_init[layer], maps.effective_trained[layer]
    return [np.asarray(p, np.float32) for p in (w0, w1, maps.average_init[layer], maps.average_trained[layer], w1 - w0)]


@dataclass(frozen=True, eq=False)
class NeuronSpectra:
    """The ``Spectrum`` of every neuron's maps (``NeuronMaps``) in one data subspace, for every layer: what
    ``measure_neurons`` needs at any ``k``, computed once. ``spectra[layer]`` covers the columns of the
    five parts of ``NeuronSubspace`` side by side, ``width[layer]`` neurons each."""

    spectra: dict[str, Spectrum]
    width: dict[str, int]

    @property
    def layers(self) -> list[str]:
        return list(self.spectra)


def neuron_spectra(sub: DataSubspace, maps: NeuronMaps) -> NeuronSpectra:
    """``NeuronSpectra`` of ``maps`` in ``sub``: one product per layer, then any ``k`` is a lookup."""
    return NeuronSpectra({layer: spectrum(sub, np.concatenate(_neuron_parts(maps, layer), axis=1)) for layer in maps.layers},
                         {layer: int(maps.effective_trained[layer].shape[1]) for layer in maps.layers})


def measure_neurons(sub: DataSubspace, k: int, maps: NeuronMaps | NeuronSpectra, layer: str) -> NeuronSubspace:
    """Every measurement of one layer's neurons in the top-``k`` subspace (see ``NeuronSubspace``).

    ``maps``: the ``NeuronMaps``, or their ``NeuronSpectra`` in ``sub`` (the same numbers, without a product).
    Raises ``SubspaceError`` if ``layer`` is not one of ``maps.layers``.
    """
    if layer not in maps.layers:
        raise SubspaceError(f"unknown layer {layer!r}; layers are {maps.layers}")
    k = sub.check_k(k)
    if isinstance(maps, NeuronSpectra):
        both, n = maps.spectra[layer].energy(k), maps.width[layer]
    else:
        parts = _neuron_parts(maps, layer)
        both, n = energy(sub, np.concatenate(parts, axis=1), k), parts[0].shape[1]  # one product
    cuts = [n * i for i in range(1, len(_NEURON_PARTS))]
    e0, e1, a0, a1, change = (Energy(i, o) for i, o in zip(np.split(both.inside, cuts), np.split(both.outside, cuts)))
    return NeuronSubspace(layer=layer, k=k, effective_init=e0, effective_trained=e1, average_init=a0,
                          average_trained=a1, change=change)


def layer_summary(sub: DataSubspace, k: int, maps: NeuronMaps | NeuronSpectra) -> list[dict]:
    """One row per layer, energies pooled over its neurons: the shares inside the top-``k`` subspace of
    the effective weights (init, trained), of the dataset averages (trained; the smallest single neuron
    too) and of the change, and the outside norm of the effective weights at init and trained."""
    rows = []
    for layer in maps.layers:
        m = measure_neurons(sub, k, maps, layer)
        rows.append({
            "layer": layer,
            "effective weights inside, init": pooled_fraction(m.effective_init),
            "effective weights inside, trained": pooled_fraction(m.effective_trained),
            "dataset averages inside, trained": pooled_fraction(m.average_trained),
            "lowest neuron's dataset average inside": float(np.nanmin(m.average_trained.fraction_inside)),
            "change inside": pooled_fraction(m.change),
            "outside norm, init": float(np.sqrt(m.effective_init.outside.sum())),
            "outside norm, trained": float(np.sqrt(m.effective_trained.outside.sum())),
        })
    return rows


def chosen_energies(measured: dict[str, NeuronSubspace], chosen: dict[str, list[int]]) -> tuple[np.ndarray, ...]:
    """``(inside_init, outside_init, inside_trained, outside_trained)`` of the effective weights of the
    chosen neurons, each ``(m,)``, in the order of ``chosen`` (``{layer: [neuron index, ...]}``)."""
    out = []
    for stage in ("effective_init", "effective_trained"):
        for part in ("inside", "outside"):
            out.append(np.array([getattr(getattr(measured[layer], stage), part)[i]
                                 for layer, idx in chosen.items() for i in idx], np.float64))
    return tuple(out)


def neuron_parts(sub: DataSubspace, k: int, maps: NeuronMaps, layer: str, index: int) -> dict[str, np.ndarray]:
    """One neuron's effective weights split into their inside and outside parts, at init and trained.

    Returns ``{"init, inside": (784,), "init, outside", "trained, inside", "trained, outside"}``.
    """
    if layer not in maps.layers:
        raise SubspaceError(f"unknown layer {layer!r}; layers are {maps.layers}")
    width = maps.effective_trained[layer].shape[1]
    if not 0 <= index < width:
        raise SubspaceError(f"{layer} has neurons 0 to {width - 1}, got {index}")
    out = {}
    for stage, source in (("init", maps.effective_init), ("trained", maps.effective_trained)):
        inside, outside = split(sub, source[layer][:, index], k)
        out[f"{stage}, inside"], out[f"{stage}, outside"] = inside, outside
    return out
