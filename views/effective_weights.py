"""Effective weights: the pixel pattern each neuron responds to most, read off the weights."""

import streamlit as st

from advx import neurons
from advx.figures import neurons as figs
from advx import vocabulary as V
from advx.text import neurons as words
from advx.text import glossary as G
from ui import charts, links, loaders, maps, resources, story
from ui import neuron_widgets as nw
from ui.page_downloads import offer

st.title("Effective weights")
lead = story.lead("views/effective_weights.py")
notes = st.container()
st.markdown(
    "Chain the weight matrices from the pixels up to a neuron, ignoring the ReLUs and biases, and you get one "
    f"number per pixel: the neuron's **{G.link('effective-weights', 'effective weights')}** (Layer_1: W1; Layer_2: W1·W2; output: W1·W2·W3). "
    "Without the ReLUs, the pixel grid that drives a neuron hardest, among all grids of the same Euclidean size, "
    f"is shaped like its effective weights: the neuron's “maximally activating image” in {V.POST_CREDIT}. "
    "Red pixels push the neuron up, blue pixels push it down. One tab per layer."
)

run = resources.current_run()
mnist = resources.data()
widths = neurons.layer_widths(run.final_params)
epoch = nw.epoch_slider(run, "ew_epoch")
codes = nw.neuron_picker(widths, nw.default_neurons(widths), "ew_neurons")
links.seed("ew_view", links.url_choice("view", "linear", ["linear", "jacobian"]))
view = st.radio("View", ["linear", "jacobian"], key="ew_view", horizontal=True,
                format_func={"linear": "effective weights (linear, ReLU-free)",
                             "jacobian": "beside the local Jacobian at one image (ReLU masks included)"}.get)
image_url = dict(pick=None, image=None, digit=None, draw=None)
if view == "jacobian":
    index, image_url = nw.image_picker(mnist.test_labels, "ew_image")
    jac = loaders.jacobians(run, epoch, index)
    st.caption(f"The {G.link('jacobian', 'local Jacobian')}: the exact gradient of each neuron's pre-activation with respect to the pixels at test image "
               f"#{index} (label {mnist.test_labels[index]}): only the paths through neurons that are active on "
               "this image count. **r** is its correlation with the linear effective weights.")
with notes:
    links.show_notes()

effective = loaders.effective_maps(run, epoch)  # drawn at once; the measures below need a pass over the images
chosen = nw.by_layer(codes, widths)
# One tab per layer, only the open one drawn (a widget change redraws one chart, or two beside the Jacobian); the
# output layer first, as on Dataset averages.
hover = maps.hover_toggle("ew_hover")
tabs, open_layer = nw.layer_tabs(chosen, "ew_layer")
shown, arrays = {}, {}
for layer, idx in chosen.items():
    arrays[f"{layer}_effective_weights"] = effective[layer]["effective"][:, idx]
    arrays[f"{layer}_neurons"] = idx
    if layer != open_layer:
        continue
    labels = [neurons.neuron_label(layer, neuron) for neuron in idx]
    linear = figs.map_grid(effective[layer]["effective"][:, idx], labels,
                           ncols=min(len(idx), 5 if view == "linear" else 3),
                           notes=[words.measure_note(effective[layer], neuron, "effective") for neuron in idx],
                           title=f"{layer} (epoch {epoch})", colorbar_title="weight")
    shown[layer] = linear
    if view == "linear":
        maps.show(tabs[layer], linear, f"ew_grid_{layer}", hover)
        continue
    grid = jac[layer][:, idx]
    hf, r = neurons.high_frequency_share(grid), neurons.pixel_correlation(grid, effective[layer]["effective"][:, idx])
    left, right = tabs[layer].columns(2)
    maps.show(left, linear, f"ew_grid_{layer}", hover)
    maps.show(right, figs.map_grid(grid, labels, ncols=min(len(idx), 3), colorbar_title="gradient",
                                     notes=[f"HF {V.format_number(h, 3)} · r {V.format_number(c)}"
                                            for h, c in zip(hf, r)],
                                     title=f"{layer}: local Jacobian at #{index} (epoch {epoch})"),
              f"ew_jac_{layer}", hover)

now, init = loaders.maps(run, epoch), loaders.maps(run, 0)
story.fill_lead(lead, "views/effective_weights.py", words.noise_lead(codes, widths, now))
st.markdown(words.noise_summary(codes, widths, now, init, epoch))
st.caption(words.MEASURES_HELP)
charts.table(st, nw.measures_table(codes, widths, now, init, epoch), "ew_table", charts.pinned("neuron"))

offer("effective_weights", shown, arrays)
links.sync(epoch=epoch, neurons=st.session_state["ew_neurons"], view=view, layer=open_layer, **image_url)
