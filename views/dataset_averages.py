"""Dataset averages: what each neuron responds to among real digits, beside its effective weights."""

import streamlit as st

from advx import neurons
from advx.figures import neurons as figs
from advx import vocabulary as V
from advx.text import neurons as words
from advx.text import glossary as G
from ui import charts, links, loaders, maps, resources, story
from ui import neuron_widgets as nw
from ui.page_downloads import offer

st.title("Dataset averages")
lead = story.lead("views/dataset_averages.py")
notes = st.container()
st.markdown(
    f"Effective weights say what a neuron would respond to among *all* pixel grids. To see what it responds to "
    "among the digits it was trained on, average the 60,000 training images, each weighted by how strongly it "
    f"activates the neuron (its {G.link('dataset-average', 'dataset average')}). This is the second look taken in {V.POST_CREDIT}: the same neurons, recreated from "
    "the data. One tab per layer; left: effective weights (red up, blue down), right: dataset averages (dark = ink)."
)

run = resources.current_run()
widths = neurons.layer_widths(run.final_params)
epoch = nw.epoch_slider(run, "da_epoch")
codes = nw.neuron_picker(widths, nw.default_neurons(widths), "da_neurons")
links.seed("da_weight", links.url_choice("weight", neurons.DEFAULT_OUTPUT_WEIGHTING, list(neurons.OUTPUT_WEIGHTINGS)))
weight = st.radio("Output neurons are weighted by", list(neurons.OUTPUT_WEIGHTINGS), key="da_weight",
                  horizontal=True, format_func=words.OUTPUT_WEIGHTING_TITLES.get,
                  help="The output layer has no ReLU. A probability is never 0, so every image counts a little; "
                       "with the ReLU of the logit, only images with a positive logit count.")
with notes:
    links.show_notes()

now = loaders.maps(run, epoch, weight)
story.fill_lead(lead, "views/dataset_averages.py", words.noise_lead(codes, widths, now, "average"))
chosen = nw.by_layer(codes, widths)
# One tab per layer, only the open one drawn (a widget change redraws 2 charts, not 6). Open first: the output layer,
# where the contrast is starkest (each class's average is its digit; its effective weights are noise).
hover = maps.hover_toggle("da_hover")
tabs, open_layer = nw.layer_tabs(chosen, "da_layer")
shown, arrays = {}, {}
for layer, idx in chosen.items():
    m = now[layer]
    arrays.update({f"{layer}_effective_weights": m["effective"][:, idx], f"{layer}_dataset_averages": m["average"][:, idx],
                   f"{layer}_neurons": idx})
    if layer != open_layer:
        continue
    labels = [neurons.neuron_label(layer, neuron) for neuron in idx]
    left, right = tabs[layer].columns(2)
    fig_ew = figs.map_grid(m["effective"][:, idx], labels, ncols=3, colorbar_title="weight",
                           notes=[words.measure_note(m, neuron, "effective") for neuron in idx],
                           title=f"{layer}: effective weights (epoch {epoch})")
    fig_avg = figs.map_grid(m["average"][:, idx], labels, signed=False, ncols=3, dead=m["dead"][idx],
                            notes=[words.measure_note(m, neuron, "average") for neuron in idx],
                            colorbar_title="pixel", title=f"{layer}: dataset averages (epoch {epoch})")
    maps.show(left, fig_ew, f"da_ew_{layer}", hover)
    maps.show(right, fig_avg, f"da_avg_{layer}", hover)
    shown[f"{layer}_effective_weights"], shown[f"{layer}_dataset_averages"] = fig_ew, fig_avg

init = loaders.maps(run, 0, weight)  # after the grids are drawn: the comparison with initialisation needs it
st.markdown(words.noise_summary(codes, widths, now, init, epoch))
st.caption(f"{words.MEASURES_HELP} Hidden neurons are weighted by their ReLU activation; output neurons by the "
           f"{words.OUTPUT_WEIGHTING_TITLES[weight]}. A neuron whose activation is 0 on every training image never "
           "fires: it is marked dead and has no average.")
charts.table(st, nw.measures_table(codes, widths, now, init, epoch), "da_table", charts.pinned("neuron"))

offer("dataset_averages", shown, arrays)
links.sync(epoch=epoch, neurons=st.session_state["da_neurons"], weight=weight, layer=open_layer)
