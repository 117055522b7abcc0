"""Compare neurons: two to eight neurons from any layers, side by side."""

import streamlit as st

from advx import neurons
from advx.figures import neurons as figs
from advx.text import neurons as words
from ui import classmode, links, loaders, maps, resources, story
from ui import neuron_widgets as nw
from ui.page_downloads import offer

st.title("Compare neurons")
lead = story.lead("views/compare.py")
notes = st.container()
st.markdown(
    "Each column is one neuron, in three tabs: its effective weights (what it responds to among all pixel grids) "
    "beside its dataset average (what it responds to among training digits); the nine test images that drive it "
    "hardest; and how its activation is spread over the 10,000 test images."
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
# Three views of the same columns, in tabs; only the open one is computed and drawn (a widget change redraws 8 charts
# rather than 16). The maps are drawn in two passes: first what needs no pass over the 60,000 training images (the
# effective weights), then the firing rates and the dataset averages into their slots.
links.seed("cmp_view", words.COMPARE_VIEWS[links.url_choice("view", "maps", list(words.COMPARE_VIEWS))])
hover = maps.hover_toggle("cmp_hover")
tabs = dict(zip(words.COMPARE_VIEWS, st.tabs(list(words.COMPARE_VIEWS.values()), key="cmp_view", on_change="rerun")))
view = next((code for code, tab in tabs.items() if tab.open), "maps")
parsed = {code: neurons.parse_neuron(code, widths) for code in codes}


def heading(column, code: str) -> None:
    column.markdown(f"#### {neurons.neuron_label(*parsed[code])}")


with tabs[view]:
    columns = dict(zip(codes, st.columns(len(codes))))
    if view == "maps":
        effective, slots = loaders.effective_maps(run, epoch), {}
        for code, col in columns.items():
            layer, neuron = parsed[code]
            heading(col, code)
            rate_slot = col.empty()
            maps.show(col, figs.map_grid(effective[layer]["effective"][:, [neuron]], ["effective weights"], ncols=1,
                                         tile_px=classmode.map_px(170),
                                         notes=[words.measure_note(effective[layer], neuron, "effective")]),
                      f"cmp_ew_{code}", hover)
            slots[code] = (rate_slot, col.empty())
        stats, now = loaders.stats(run, epoch), loaders.maps(run, epoch)
        for code, (rate_slot, average_slot) in slots.items():
            layer, neuron = parsed[code]
            rate_slot.markdown(words.firing_sentence(layer, stats[layer], neuron))
            maps.show(average_slot, figs.map_grid(now[layer]["average"][:, [neuron]], ["dataset average"],
                                                  signed=False, ncols=1, tile_px=classmode.map_px(170),
                                                  dead=now[layer]["dead"][[neuron]],
                                                  notes=[words.measure_note(now[layer], neuron, "average")]),
                      f"cmp_avg_{code}", hover)
    else:
        stats = loaders.stats(run, epoch)
        acts = loaders.test_activations(run, epoch) if view == "activations" else None
        for code, col in columns.items():
            layer, neuron = parsed[code]
            dead = words.counts_as_dead(layer, stats[layer], neuron)
            heading(col, code)
            if acts is None:
                top, _ = loaders.top_images(run, epoch, layer, neuron, count=9)
                maps.show(col, figs.map_grid(test[top].T, [f"#{i} ({mnist.test_labels[i]})" for i in top],
                                             signed=False, ncols=3, tile_px=classmode.map_px(80),
                                             title="9 test images closest to firing" if dead else "top 9 test images"),
                          f"cmp_top_{code}", hover)
            else:
                col.markdown(words.firing_sentence(layer, stats[layer], neuron))
                maps.chart(col, figs.activation_histogram(acts[layer][:, neuron], "activation on test images",
                                                           dead=dead, value_name="probability" if layer == "output"
                                                           else "activation"), f"cmp_hist_{code}")
st.caption(f"{words.MEASURES_HELP} Output neurons are weighted by the softmax probability of their class; the top "
           "images of a neuron are ranked by its pre-activation (the logit for output neurons). "
           "Image titles give the test index and the label. The dataset average and the top images can tell different "
           "stories: the average weighs all 60,000 training images by how strongly each drives the neuron, so the many "
           "images that drive it mildly outweigh the nine strongest, which are test images.")

maps_now = loaders.maps(run, epoch)
offer("compare", {}, {f"{code}_{what}": maps_now[layer][what][:, neuron] for code, (layer, neuron) in parsed.items()
                     for what in ("effective", "average")})
links.sync(epoch=epoch, neurons=st.session_state["cmp_neurons"], view=view)
