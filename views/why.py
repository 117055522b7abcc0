"""Why it happens: the data subspace, what training changes in it, and a counterfactual."""

import streamlit as st

from advx import neurons
from advx import subspace as S
from advx.figures import subspace as F
from advx import experiments as E
from advx import vocabulary as V
from advx.text import subspace as words
from advx.text import glossary as G
from ui import cache, charts, jobs, links, resources, road, story
from ui import maps as mapview
from ui import neuron_widgets as nw
from ui.page_downloads import offer

st.title("Why it happens")
lead = story.lead("views/why.py")
notes = st.container()
st.markdown(
    f"The argument of {V.POST_CREDIT}: training adjusts each neuron only inside the tiny subspace that the "
    f"training images occupy (the {G.link('data-subspace', 'data subspace')}), so the neuron's opinion about every other direction stays what its random "
    "initialisation gave it. This page measures that sentence, then tests it by deleting the part of each "
    "first-layer neuron that lies outside the data.")



def set_k(value: int) -> None:
    st.session_state["why_k"] = value


mnist, run = resources.data(), resources.current_run()
widths = neurons.layer_widths(run.final_params)
subspace_job = road.ask(E.data_subspace.spec(mnist))  # first in the queue: the first section shows it
# The comparison runs train one after the other in the background; the sections that need them wait for them.
def run_spec(name, config):
    return E.trained_run.spec(config, mnist, label=f"the {words.RUN_LABELS[name]} comparison run")


run_jobs = {name: jobs.done(run_spec(name, config).key, run) if config == run.config else road.ask(run_spec(name, config))
            for name, config in S.comparison_configs(run.config).items()}
maps_job = road.ask(E.neuron_maps.spec(run, mnist))
sub = road.show(subspace_job)
if sub is None:  # the page's first section needs the subspace: its progress shows until it is done
    st.stop()

st.header("1 · The data subspace")
links.seed("why_k", links.url_int("k", sub.k_for(0.95), 1, 784))
for column, level in zip(st.columns(len(S.VARIANCE_LEVELS)), S.VARIANCE_LEVELS):
    column.button(f"k for {level:.0%} of the energy", key=f"why_level_{round(level * 100)}",
                  on_click=set_k, args=(sub.k_for(level),))
k = st.slider("k: how many principal directions make up the data subspace", 1, 784, key="why_k")
# Section 4's attacks start now, in the background, and run while the other sections are drawn.
column_jobs = {"projected": road.ask(E.counterfactual_column.spec(run, mnist, k)),
               "trained": road.ask(E.counterfactual_column.spec(run, mnist, 0))}
mapview.chart(st, variance_fig := F.explained_variance(sub.explained, k, S.VARIANCE_LEVELS), "why_variance")
st.caption(words.subspace_caption(sub))
story.numbers(words.subspace_numbers(sub))

st.header("2 · Effective weights and dataset averages, inside and outside")
codes = nw.neuron_picker(widths, nw.default_neurons(widths), "why_neurons")
chosen = nw.by_layer(codes, widths)
links.seed("why_focus", links.url_choice("focus", codes[0], codes))
maps = road.show(maps_job)
spectra = None if maps is None else cache.neuron_spectra(run.run_id, sub, maps)  # any k's measures are lookups
if spectra is not None:
    measured = {layer: S.measure_neurons(sub, k, spectra, layer) for layer in chosen}
    labels = [neurons.neuron_label(layer, i) for layer, idx in chosen.items() for i in idx]
    mapview.chart(st, F.neuron_energy_scatter(labels, *S.chosen_energies(measured, chosen)), "why_energies")
    st.caption("Each neuron's effective weights at initialisation (open) and trained (filled): energy inside the data "
               "subspace against energy outside it. Above the dotted line, more of the neuron lives outside the data "
               "than inside. The table pools every neuron of a layer.")
    layers = S.layer_summary(sub, k, spectra)
    charts.table(st, layers, "why_layers", charts.pinned("layer", {
        c: st.column_config.NumberColumn(format="percent" if "inside" in c else "%.2f") for c in layers[0] if c != "layer"}))
    focus = st.selectbox("Split one neuron", codes, key="why_focus", format_func=lambda c: neurons.neuron_label(
        *neurons.parse_neuron(c, widths)))
    mapview.show(st, F.signed_parts(S.neuron_parts(sub, k, maps, *neurons.parse_neuron(focus, widths))),
                 "why_parts", mapview.hover_toggle("why_hover"))

st.header("3 · What training changed in W1, and what the optimizer has to do with it")
runs = road.show_all(run_jobs)
studies = None if runs is None else {name: cache.first_layer_study(r.run_id, k, sub, r) for name, r in runs.items()}
if studies is not None:
    left, right = st.columns(2)
    mapview.chart(left, F.share_map(studies["adam"].maps.share_inside, "Share of ΔW1 inside, per pixel (Adam)"),
                  "why_share")
    mapview.chart(right, F.blank_map(sub.blank, "Blank pixels (red: 0 on every training image)"), "why_blank")
    mapview.chart(st, F.energy_curves({"training images": sub.explained, "W1 at initialisation": studies["adam"].init_curve,
                                     **{words.RUN_LABELS[n]: s.change_curve for n, s in studies.items()}}, k),
                  "why_curves")
    st.caption("Share of each matrix's energy inside the top-k subspace, for every k. A change ΔW1 that follows the "
               "images' curve was made of images; one that lags behind it reached directions the images barely "
               "occupy. W1 at initialisation is a random matrix: its share grows about as k / 784.")
    charts.table(st, words.first_layer_rows(studies, {n: r.test_accuracy for n, r in runs.items()}), "why_optimizers")
    column_jobs |= {kind: road.ask(E.counterfactual_column.spec(runs[kind], mnist, 0))
                    for kind in ("noise", "decay")}

st.header("4 · The counterfactual: delete what training never touched")
columns = None if runs is None else road.show_all({kind: column_jobs[kind] for kind in S.COLUMN_KINDS})
if columns is not None:
    titles = words.column_labels(k, {"trained": run.config, "noise": runs["noise"].config, "decay": runs["decay"].config})
    mapview.chart(st, F.counterfactual_bars({titles[kind]: rates for kind, rates in columns.items()}, V.ATTACK_TITLES,
                                          target=S.COUNTERFACTUAL_TARGET), "why_counterfactual_bars")
    st.caption(words.counterfactual_caption(columns["trained"], len(mnist.test_labels)))
    table = words.counterfactual_rows(columns, titles, in_percent=True)
    with story.numbers_box():
        # In percent with one decimal: the attack shares have ±2.4 points of sampling error.
        charts.table(st, table, "why_counterfactual", charts.pinned(
            "measure", {titles[kind]: st.column_config.NumberColumn(format="%.1f%%") for kind in columns}))
elif runs is None:
    st.caption("The chart compares the trained network with the comparison runs: it follows once they are trained.")
if studies is not None:
    story.fill_lead(lead, "views/why.py", words.lead_numbers(k, studies, columns))

st.header("5 · What the numbers say")
if columns is not None and spectra is not None:
    st.markdown("\n".join(f"- {line}" for line in words.conclusions(k, studies, columns)))
    story.numbers(words.explain_page(sub, k, spectra, studies, columns), title="Every step, with its numbers")
else:
    st.caption("This summary reads every number above; it follows once they are all there.")

with notes:
    links.show_notes()
offer("why", {"explained_variance": variance_fig},
      {"explained_variance": sub.explained, "blank_pixels": sub.blank,
       **({} if studies is None else {"dW1_share_inside_adam": studies["adam"].maps.share_inside})})
links.sync(k=k, neurons=st.session_state["why_neurons"], focus=st.session_state.get("why_focus", codes[0]))
