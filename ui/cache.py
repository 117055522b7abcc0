"""Every ``st.cache_*`` wrapper of the app, in one place.

Each wraps one library call for every session of the server. Keys are hashable names (data hash, run id,
epoch, settings); arrays and params go in as ``_``-prefixed arguments, which Streamlit does not hash.
Cached values are shared by every session and never mutated (arrays are made read-only). What is
computed in the background goes through ``ui.jobs`` instead; these wrappers are for what a page computes
itself, in its own script run.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from advx import derived, neurons, store
from advx import subspace as S
from advx.data import MNIST
from advx.model import to_pixels
from advx.train import Run


def _read_only(a) -> np.ndarray:
    a = np.asarray(a)
    a.flags.writeable = False
    return a


@st.cache_resource(show_spinner=False)
def test_pixels(sha: str, _mnist: MNIST) -> np.ndarray:
    """``(10000, 784)`` float32 in [0, 1]."""
    return _read_only(to_pixels(_mnist.test_images))


@st.cache_resource(show_spinner=False)
def device_test(sha: str, _mnist: MNIST):
    """The test images as a uint8 JAX array ``(10000, 784)``, made once."""
    import jax.numpy as jnp

    return jnp.asarray(_mnist.test_images.reshape(len(_mnist.test_images), -1))


@st.cache_data(show_spinner="Computing effective weights and dataset averages…", max_entries=16)
def epoch_maps(run_id: str, epoch: int, output: str, _run, _train) -> dict:
    """One epoch's maps in the layout of ``advx.derived.EpochResults.maps``, the same bits as those."""
    return derived.epoch_maps(_run, epoch, _train, output)


@st.cache_data(show_spinner=False, max_entries=32)
def epoch_effective(run_id: str, epoch: int, _params) -> dict:
    """One epoch's effective weights and their measures, ``{layer: {"effective", "effective_high_frequency",
    "effective_roughness"}}``: no pass over the images, so a page can draw them at once."""
    out = {}
    for layer, effective in neurons.all_effective_weights(_params).items():
        out[layer] = {"effective": np.asarray(effective),
                      "effective_high_frequency": np.asarray(neurons.high_frequency_share(effective), np.float64),
                      "effective_roughness": np.asarray(neurons.roughness(effective), np.float64)}
    return out


@st.cache_data(show_spinner="Measuring every neuron over the training set…", max_entries=16)
def epoch_stats(run_id: str, epoch: int, _params, _train) -> dict:
    return neurons.neuron_stats(_params, _train)


@st.cache_resource(show_spinner=False, max_entries=8)
def test_layers(run_id: str, epoch: int, output: str, _params, _x) -> dict:
    """``{layer: (pre-activations, activations)}`` over the test set, read-only."""
    return {layer: (_read_only(pre), _read_only(post))
            for layer, (pre, post) in neurons.all_layer_outputs(_params, _x, output).items()}


@st.cache_data(show_spinner=False, max_entries=64)
def sparsity(run_id: str, epoch: int, definition: str, high: float, mild: float, _params, _test, _stats) -> dict:
    return neurons.sparsity(_params, _test, _stats, definition=definition, high=high, mild=mild)


@st.cache_data(show_spinner=False, max_entries=256)
def jacobians(run_id: str, epoch: int, index: int, _params, _x) -> dict:
    return {layer: np.asarray(neurons.local_jacobian(_params, _x, layer)) for layer in neurons.layer_widths(_params)}


@st.cache_resource(show_spinner=False, max_entries=16)
def neuron_spectra(run_id: str, _sub, _maps) -> S.NeuronSpectra:
    return S.neuron_spectra(_sub, _maps)


@st.cache_resource(show_spinner=False, max_entries=16)
def first_layer_spectrum(run_id: str, _sub, _run: Run) -> S.Spectrum:
    return S.first_layer_spectrum(_sub, _run.params_at(0), _run.final_params)


@st.cache_data(show_spinner=False, max_entries=64)
def first_layer_study(run_id: str, k: int, _sub, _run: Run) -> S.FirstLayerStudy:
    return S.first_layer_study(_sub, k, _run.params_at(0), _run.final_params,
                               spectrum=first_layer_spectrum(run_id, _sub, _run))


@st.cache_data(show_spinner=False, max_entries=8)
def clean_probabilities(run_id: str, _params, _x) -> np.ndarray:
    from advx import attacks

    return np.asarray(attacks.probabilities(_params, _x))


# ---- The drawing page (views/draw.py)


@st.cache_resource(show_spinner=False)
def drawing_examples() -> dict:
    """``{name: advx.drawing.Example}``: the shipped drawings, read once per process (images read-only)."""
    from advx import drawing

    return drawing.load_examples()


@st.cache_data(show_spinner=False, ttl=30)
def stored_runs() -> list[dict]:
    """The run store's listing (``advx.store.list_runs``), read again at most every 30 s: a run stored by
    another page (the street-smart one) shows up without a restart."""
    return store.list_runs()


@st.cache_data(show_spinner=False, max_entries=256)
def drawing_pgd_eps(run_id: str, drawing: str, target: int, norm: str, kept: bool, _run, _image) -> float:
    """The smallest targeted-PGD ε for the drawing whose link text is ``drawing``
    (``advx.experiments.drawing_pgd_eps``). ``kept``: read from and kept on disk (the shipped examples, which a
    first visit shows, so that a restarted server reads them); a drawing of one's own is kept in memory only."""
    from advx import experiments as E
    from advx.experiments.spec import silent

    spec = E.drawing_pgd_eps.spec(_run, _image, target, norm)
    return spec.get() if kept else spec.compute(silent)


# ---- The street-smart page (views/street_smart.py)


@st.cache_data(show_spinner=False, max_entries=256)
def robust_image_maps(run_id: str, epoch: int, index: int, label: int, _params, _image):
    """``advx.robust.ImageMaps`` of test image ``index`` (class ``label``) for a run's network at ``epoch``."""
    from advx import robust

    return robust.image_maps(_params, _image, label)


@st.cache_data(show_spinner=False, ttl=30, max_entries=8)
def findings(run_id: str, _run: Run, _mnist: MNIST) -> list[dict]:
    """Home's findings, from the kept results (``advx.findings.kept_table``); read again after 30 s, so a result
    kept meanwhile shows."""
    from advx import findings as found

    return found.kept_table(_run, _mnist)


@st.cache_data(show_spinner=False, max_entries=8)
def hook(run_id: str, _run: Run, _mnist: MNIST):
    """Home's hook (``advx.experiments.hook``)."""
    from advx import experiments as E

    return E.hook(_run, _mnist)
