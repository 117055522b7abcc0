"""What training did to the first layer, W1, measured against the data subspace; and W1 projected onto it.

A plain-SGD update of W1 is ``−η Σᵢ xᵢ δᵢᵀ``, a combination of the images, so ΔW1 lies in their span;
Adam's per-weight scaling, weight decay and input noise take it out. ``project_first_layer`` removes
each first-layer neuron's off-data part, for the counterfactual.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from advx.model import N_PIXELS, param_layer_names
from advx.subspace.projections import (Energy, PixelMaps, Spectrum, energy, energy_curve, pixel_maps,
                                       pooled_fraction, project, spectrum)
from advx.subspace.pca import DataSubspace, SubspaceError


class FirstLayerChange(NamedTuple):
    """What training did to W1 (``(784, h)``), pooled over all first-layer neurons.

    ``fraction_inside``: share of ‖ΔW1‖² inside the top-``k`` subspace.
    ``max_abs_on_blank``: the largest |ΔW1| on a blank pixel (exactly 0 unless something other than the
    data gradient, such as weight decay or input noise, reaches those pixels); 0 if no pixel is blank.
    ``norm_*``: Frobenius norms of the inside / outside parts of W1 at init and trained, and of ΔW1.
    """

    fraction_inside: float
    max_abs_on_blank: float
    norm_inside_init: float
    norm_outside_init: float
    norm_inside_trained: float
    norm_outside_trained: float
    change_norm_inside: float
    change_norm_outside: float

    @property
    def moved_inside(self) -> float:
        """‖P ΔW1‖ / ‖P W1_init‖: how far training moved the inside part, relative to where it started."""
        return self.change_norm_inside / self.norm_inside_init if self.norm_inside_init > 0 else float("nan")

    @property
    def moved_outside(self) -> float:
        """‖Q ΔW1‖ / ‖Q W1_init‖: the same for the outside part (NaN when there is no outside, k = 784)."""
        return self.change_norm_outside / self.norm_outside_init if self.norm_outside_init > 0 else float("nan")


def _first_layer(params_init: dict, params_trained: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W1 at init, W1 trained, ΔW1)``, each ``(784, h)`` float32."""
    first = param_layer_names(params_init)[0]
    w0 = np.asarray(params_init[first]["kernel"], np.float32)
    w1 = np.asarray(params_trained[first]["kernel"], np.float32)
    if w0.shape != w1.shape or w0.shape[0] != N_PIXELS:
        raise SubspaceError(f"first-layer kernels must both be (784, h), got {w0.shape} and {w1.shape}")
    return w0, w1, w1 - w0


def first_layer_spectrum(sub: DataSubspace, params_init: dict, params_trained: dict) -> Spectrum:
    """The ``Spectrum`` of ``[W1 init | W1 trained | ΔW1]`` (columns side by side): ``first_layer_change`` at any k."""
    return spectrum(sub, np.concatenate(_first_layer(params_init, params_trained), axis=1))


def first_layer_change(sub: DataSubspace, k: int, params_init: dict, params_trained: dict,
                       spectrum: Optional[Spectrum] = None) -> FirstLayerChange:
    """Measure ΔW1 = W1_trained − W1_init against the top-``k`` subspace and the blank pixels.

    ``spectrum``: ``first_layer_spectrum(sub, params_init, params_trained)`` if already computed (any k).
    """
    w0, w1, delta = _first_layer(params_init, params_trained)
    k = sub.check_k(k)
    if spectrum is None:
        both = energy(sub, np.concatenate([w0, w1, delta], axis=1), k)
    else:
        both = spectrum.energy(k)
    h = w0.shape[1]
    e0, e1, ed = (Energy(both.inside[i * h:(i + 1) * h], both.outside[i * h:(i + 1) * h]) for i in range(3))
    blank_delta = np.abs(delta[sub.blank])
    return FirstLayerChange(
        fraction_inside=pooled_fraction(ed),
        max_abs_on_blank=float(blank_delta.max()) if blank_delta.size else 0.0,
        norm_inside_init=float(np.sqrt(e0.inside.sum())), norm_outside_init=float(np.sqrt(e0.outside.sum())),
        norm_inside_trained=float(np.sqrt(e1.inside.sum())), norm_outside_trained=float(np.sqrt(e1.outside.sum())),
        change_norm_inside=float(np.sqrt(ed.inside.sum())), change_norm_outside=float(np.sqrt(ed.outside.sum())),
    )


def project_first_layer(params: dict, sub: DataSubspace, k: int) -> dict:
    """A copy of ``params`` whose first-layer kernel columns are projected onto the top-``k`` subspace.

    The off-data part of every first-layer neuron (the part training barely touched) is removed; biases
    and later layers are unchanged. For an input ``x`` inside the subspace the network's output is
    unchanged, since ``(P W1)ᵀ x = W1ᵀ P x``.
    """
    first = param_layer_names(params)[0]
    out = {name: dict(layer) for name, layer in params.items()}
    out[first]["kernel"] = project(sub, np.asarray(params[first]["kernel"]), k)
    return out


class FirstLayerStudy(NamedTuple):
    """Everything the page shows about one run's first layer.

    ``change``: ``first_layer_change``; ``maps``: ``pixel_maps`` of ΔW1; ``change_curve`` and
    ``init_curve``: ``energy_curve`` of ΔW1 and of W1 at initialisation, ``(784,)`` each.
    """

    change: FirstLayerChange
    maps: PixelMaps
    change_curve: np.ndarray
    init_curve: np.ndarray


def first_layer_curves(sub: DataSubspace, params_init: dict, params_trained: dict,
                       spectrum: Optional[Spectrum] = None) -> tuple[np.ndarray, np.ndarray]:
    """``(change curve, init curve)``: ``energy_curve`` of ΔW1 and of W1 at initialisation (they do not depend on k).

    ``spectrum``: ``first_layer_spectrum(sub, params_init, params_trained)``, if computed already: the curves
    are then read off it.
    """
    w0, _, delta = _first_layer(params_init, params_trained)
    if spectrum is None:
        return energy_curve(sub, delta), energy_curve(sub, w0)
    h = w0.shape[1]

    def curve(columns: slice) -> np.ndarray:
        head = spectrum.head[1:, columns].sum(1)
        total = head[-1]
        return head / (total if total > 0 else 1.0)

    return curve(slice(2 * h, 3 * h)), curve(slice(0, h))


def first_layer_study(sub: DataSubspace, k: int, params_init: dict, params_trained: dict,
                      curves: Optional[tuple[np.ndarray, np.ndarray]] = None,
                      spectrum: Optional[Spectrum] = None) -> FirstLayerStudy:
    """``first_layer_change``, the ΔW1 pixel maps and the energy curves of one run, at ``k``.

    ``curves``: ``first_layer_curves(sub, params_init, params_trained)`` and ``spectrum``:
    ``first_layer_spectrum(...)``, if already computed (they do not depend on k).
    """
    delta = _first_layer(params_init, params_trained)[2]
    change_curve, init_curve = (curves if curves is not None
                                else first_layer_curves(sub, params_init, params_trained, spectrum))
    return FirstLayerStudy(first_layer_change(sub, k, params_init, params_trained, spectrum), pixel_maps(sub, delta, k),
                           change_curve, init_curve)
