"""Compare neurons: two to eight neurons from any layers, side by side."""

import streamlit as st

from advx import neurons
from advx.figures import neurons as figs
from advx.text import neurons as words
from ui import classmode, links, loaders, resources, story
from ui import neuron_widgets as nw
from ui.page_downloads import offer

st.title("Compare neurons")
lead = story.lead("views/compare.py")
notes = st.container()
st.markdown(
    "Each column is one neuron: its effective weights (what it responds to among all pixel grids), its dataset "
    "average (what it responds to among training digits), the nine test images that drive it hardest, and how "
    "its activation is spread over the 10,000 test images."
)

run = resources.current_run()
mnist = resources.data()
widths = neurons.layer_widths(run.final_params)
epoch = nw.epoch_slider(run, "cmp_epoch")
default = [c for c in ("L1:0", "L2:0", "output:0", "output:7") if c in neurons.all_neuron_codes(widths)]
codes = nw.neuron_picker(widths, default or nw.default_neurons(widths, 1), "cmp_neurons", min_len=2, max_len=8)
with notes:
    links.show_notes()

_, test = loaders.pixels()
# Each column is drawn in two passes: first what needs no pass over the 60,000 training images (effective weights,
# the test set's top images and activations), then the firing rate and the dataset average into their slots.
effective, acts = loaders.effective_maps(run, epoch), loaders.test_activations(run, epoch)
slots = {}
for col, code in zip(st.columns(len(codes)), codes):
    layer, neuron = neurons.parse_neuron(code, widths)
    col.markdown(f"#### {neurons.neuron_label(layer, neuron)}")
    rate_slot = col.empty()
    col.plotly_chart(figs.map_grid(effective[layer]["effective"][:, [neuron]], ["effective weights"], ncols=1,
                                   tile_px=classmode.map_px(170), notes=[words.measure_note(effective[layer], neuron, "effective")]),
                     key=f"cmp_ew_{code}")
    slots[code] = (rate_slot, col.empty(), col.container())
stats, now = loaders.stats(run, epoch), loaders.maps(run, epoch)
for code in codes:
    layer, neuron = neurons.parse_neuron(code, widths)
    m, s = now[layer], stats[layer]
    rate_slot, average_slot, rest = slots[code]
    what = "has a positive logit" if layer == "output" else "fires"
    dead = bool(s.dead[neuron]) and layer != "output"  # an output neuron always has a probability
    rate_slot.markdown("**dead**: never fires on a training image" if dead
                       else f"{what} on **{s.firing_rate[neuron]:.1%}** of training images")
    average_slot.plotly_chart(figs.map_grid(m["average"][:, [neuron]], ["dataset average"], signed=False, ncols=1,
                                            tile_px=classmode.map_px(170), dead=m["dead"][[neuron]],
                                            notes=[words.measure_note(m, neuron, "average")]), key=f"cmp_avg_{code}")
    top, _ = loaders.top_images(run, epoch, layer, neuron, count=9)
    rest.plotly_chart(figs.map_grid(test[top].T, [f"#{i} ({mnist.test_labels[i]})" for i in top], signed=False,
                                    ncols=3, tile_px=classmode.map_px(80), title="9 test images closest to firing" if dead
                                    else "top 9 test images"), key=f"cmp_top_{code}")
    rest.plotly_chart(figs.activation_histogram(acts[layer][:, neuron], "activation on test images", dead=dead,
                                                value_name="probability" if layer == "output" else "activation"),
                      key=f"cmp_hist_{code}")
st.caption(f"{words.MEASURES_HELP} Output neurons are weighted by the softmax probability of their class; the top "
           "images of a neuron are ranked by its pre-activation (the logit for output neurons). "
           "Image titles give the test index and the label. The dataset average and the top images can tell different "
           "stories: the average weighs all 60,000 training images by how strongly each drives the neuron, so the many "
           "images that drive it mildly outweigh the nine strongest, which are test images.")

offer("compare", {}, {f"{code}_{what}": now[layer][what][:, neuron] for code in codes
                     for layer, neuron in [neurons.parse_neuron(code, widths)] for what in ("effective", "average")})
links.sync(epoch=epoch, neurons=st.session_state["cmp_neurons"])
