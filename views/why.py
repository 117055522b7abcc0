"""Why it happens: the data subspace, what training changes in it, and a counterfactual."""

import pandas as pd
import streamlit as st

from advx import neurons
from advx import subspace as S
from advx.figures import subspace as F
from ui import counterfactual, derived_jobs, links, resources
from ui import neuron_widgets as nw
from ui.page_downloads import offer

st.title("Why it happens")
notes = st.container()
st.markdown(
    f"The argument of {neurons.SEED_CREDIT}: training adjusts each neuron only inside the tiny subspace that the "
    "training images occupy, so the neuron's opinion about every other direction stays what its random "
    "initialisation gave it. This page measures that sentence, then tests it by deleting the part of each "
    "first-layer neuron that lies outside the data.")


@st.cache_resource(show_spinner="Finding the data subspace (PCA of the 60,000 training images)…")
def subspace(sha: str, _train) -> S.DataSubspace:
    return derived_jobs.subspace(sha, _train)


@st.cache_resource(show_spinner="Computing effective weights and dataset averages…", max_entries=16)
def neuron_maps(run_id: str, _run, _train) -> S.NeuronMaps:
    ready = derived_jobs.results(_run, _train, start=False)  # the every-epoch results, if the app has them
    if ready is not None:
        return S.NeuronMaps.from_layer_dicts(ready.maps(0), ready.maps(_run.n_epochs))
    return S.neuron_maps(_run.params_at(0), _run.final_params, _train)


@st.cache_resource(show_spinner=False, max_entries=16)
def first_layer_spectrum(run_id: str, _sub, _run) -> S.Spectrum:
    """What the first-layer study needs at every k (read-only arrays, shared by every session)."""
    return S.first_layer_spectrum(_sub, _run.params_at(0), _run.final_params)


@st.cache_data(show_spinner=False, max_entries=64)
def first_layer(run_id: str, k: int, _sub, _run) -> S.FirstLayerStudy:
    return S.first_layer_study(_sub, k, _run.params_at(0), _run.final_params,
                               spectrum=first_layer_spectrum(run_id, _sub, _run))


@st.cache_resource(show_spinner=False, max_entries=16)
def neuron_spectra(run_id: str, _sub, _maps) -> S.NeuronSpectra:
    return S.neuron_spectra(_sub, _maps)


def set_k(value: int) -> None:
    st.session_state["why_k"] = value


mnist, run = resources.data(), resources.current_run()
train, _ = nw.pixels()
sub = subspace(mnist.sha, train)
widths = neurons.layer_widths(run.final_params)
runs = {name: run if config == run.config else resources.run_for(config)
        for name, config in S.comparison_configs(run.config).items()}

st.header("1 · The data subspace")
links.seed("why_k", links.url_int("k", sub.k_for(0.95), 1, 784))
for column, level in zip(st.columns(len(S.VARIANCE_LEVELS)), S.VARIANCE_LEVELS):
    column.button(f"k for {level:.0%} of the energy", key=f"why_level_{round(level * 100)}",
                  on_click=set_k, args=(sub.k_for(level),))
k = st.slider("k: how many principal directions make up the data subspace", 1, 784, key="why_k")
# Section 4's attacks start now, in a worker thread, and run while sections 1 to 3 are drawn.
pending = {kind: counterfactual.column(r, kk, sub, nw.device_test(), mnist.test_labels)
           for kind, r, kk in (("projected", run, k), ("trained", run, 0), ("noise", runs["noise"], 0),
                               ("decay", runs["decay"], 0))}
st.plotly_chart(variance_fig := F.explained_variance(sub.explained, k, S.VARIANCE_LEVELS), key="why_variance")
st.caption(f"Uncentred PCA of the {sub.n_images:,} training images, i.e. of the raw images, whose span is where a "
           f"plain-SGD update of W1 lies. {int(sub.blank.sum())} pixels are 0 on every image; the images have "
           f"numerical rank {sub.rank()} (directions above 10⁻⁶ of the largest energy).")

st.header("2 · Effective weights and dataset averages, inside and outside")
codes = nw.neuron_picker(widths, nw.default_neurons(widths), "why_neurons")
chosen = nw.by_layer(codes, widths)
maps = neuron_maps(run.run_id, run, train)
spectra = neuron_spectra(run.run_id, sub, maps)  # any k's measurements are then lookups
measured = {layer: S.measure_neurons(sub, k, spectra, layer) for layer in chosen}
labels = [neurons.neuron_label(layer, i) for layer, idx in chosen.items() for i in idx]
st.plotly_chart(F.neuron_energy_scatter(labels, *S.chosen_energies(measured, chosen)),
                key="why_energies")
st.caption("Each neuron's effective weights at initialisation (open) and trained (filled): energy inside the data "
           "subspace against energy outside it. Above the dotted line, more of the neuron lives outside the data "
           "than inside. The table pools every neuron of a layer.")
layers = pd.DataFrame(S.layer_summary(sub, k, spectra))
st.dataframe(layers, hide_index=True, key="why_layers", column_config={
    c: st.column_config.NumberColumn(format="percent" if "inside" in c else "%.2f") for c in layers if c != "layer"})
links.seed("why_focus", links.url_choice("focus", codes[0], codes))
focus = st.selectbox("Split one neuron", codes, key="why_focus", format_func=lambda c: neurons.neuron_label(
    *neurons.parse_neuron(c, widths)))
st.plotly_chart(F.signed_parts(S.neuron_parts(sub, k, maps, *neurons.parse_neuron(focus, widths))),
                key="why_parts")

st.header("3 · What training changed in W1, and what the optimiser has to do with it")
studies = {name: first_layer(r.run_id, k, sub, r) for name, r in runs.items()}
left, right = st.columns(2)
left.plotly_chart(F.share_map(studies["adam"].maps.share_inside, "Share of ΔW1 inside, per pixel (Adam)"),
                  key="why_share")
right.plotly_chart(F.blank_map(sub.blank, "Blank pixels (0 on every training image)"), key="why_blank")
st.plotly_chart(F.energy_curves({"training images": sub.explained, "W1 at initialisation": studies["adam"].init_curve,
                                 **{S.RUN_LABELS[n]: s.change_curve for n, s in studies.items()}}, k),
                key="why_curves")
st.caption("Share of each matrix's energy inside the top-k subspace, for every k. A change ΔW1 that follows the "
           "images' curve was made of images; one that lags behind it reached directions the images barely "
           "occupy. W1 at initialisation is a random matrix: its share grows about as k / 784.")
st.dataframe(pd.DataFrame(S.first_layer_rows(studies, {n: r.test_accuracy for n, r in runs.items()})),
             hide_index=True, key="why_optimisers")

st.header("4 · The counterfactual: delete what training never touched")
with st.spinner("Attacking each network…"):
    columns = {kind: pending[kind].result() for kind in S.COLUMN_KINDS}
titles = S.column_labels(k, {"trained": run.config, "noise": runs["noise"].config, "decay": runs["decay"].config})
table = pd.DataFrame(S.counterfactual_rows(columns, titles)).set_index("measure")
# In percent with one decimal (the attack shares have ±2.4 points of sampling error); column_config formats in the
# browser, at no cost to the rerun (a pandas Styler costs about 30 ms).
st.dataframe(table * 100, key="why_counterfactual",
             column_config={c: st.column_config.NumberColumn(format="%.1f%%") for c in table.columns})
st.caption(S.counterfactual_caption(columns["trained"], len(mnist.test_labels)))

st.header("5 · What the numbers say")
st.markdown("\n\n".join(S.explain_page(sub, k, spectra, studies, columns)))

with notes:
    links.show_notes()
offer("why", {"explained_variance": variance_fig},
      {"explained_variance": sub.explained, "blank_pixels": sub.blank,
       "dW1_share_inside_adam": studies["adam"].maps.share_inside})
links.sync(k=k, neurons=st.session_state["why_neurons"], focus=focus)
