"""Activations: each test image lights up only a few hidden neurons."""

import streamlit as st

from advx import neurons
from advx.figures import neurons as figs
from advx import vocabulary as V
from advx.text import neurons as words
from ui import charts, links, loaders, maps, resources, story
from ui import neuron_widgets as nw
from ui.page_downloads import offer

st.title("Sparse activations")
lead = story.lead("views/activations.py")
notes = st.container()
st.markdown(
    f"The first observation in {V.POST_CREDIT} is that a trained network answers each digit with only a "
    "handful of strongly active hidden neurons. Here it is measured. Whether a neuron counts as highly active "
    "depends on what its activation is compared with, so two definitions are offered."
)

run = resources.current_run()
mnist = resources.data()
epoch = run.n_epochs
index, image_url = nw.image_picker(mnist.test_labels, "act_image")
definition, high, mild = nw.threshold_picker("act_thresholds")
with notes:
    links.show_notes()

_, test = loaders.pixels()
acts = loaders.test_activations(run, epoch)
sparse = loaders.sparsity(run, epoch, definition, high, mild)
probs = acts["output"][index]
maps.hover_toggle("act_hover")
left, right = st.columns([1, 3])
maps.show(left, figs.image(test[index], f"test image #{index}"), "act_image_fig")
left.markdown(f"Label **{mnist.test_labels[index]}**; the network says **{probs.argmax()}** "
              f"({probs.max():.1%}).")
for layer, s in sparse.items():
    c = neurons.level_counts(s.levels[index : index + 1])[0]
    maps.chart(right, figs.activation_bars(acts[layer][index], s.levels[index], layer,
                       title=f"{layer}: {c[neurons.HIGH]} high, {c[neurons.MILD]} mild, {c[neurons.INACTIVE]} inactive"),
               f"act_bars_{layer}")

story.fill_lead(lead, "views/activations.py", words.sparsity_lead(sparse))
st.subheader("Over all 10,000 test images")
maps.chart(st, hist_fig := figs.count_histograms({layer: s.counts for layer, s in sparse.items()},
                                      {layer: s.width for layer, s in sparse.items()}), "act_hist")
st.markdown("  \n".join(words.sparsity_sentence(s) for s in sparse.values()))
st.markdown(f"Compared with the post: {words.post_verdict(sparse)}")

other = [d for d in neurons.DEFINITIONS if d != definition][0]
both = {definition: sparse, other: loaders.sparsity(run, epoch, other, high, mild)}
charts.table(st, [
    {"“high” relative to": neurons.DEFINITION_TITLES[d], "layer": layer, "mean high": s.mean(neurons.HIGH),
     "mean mild": s.mean(neurons.MILD), "median high": s.median(neurons.HIGH), "median mild": s.median(neurons.MILD)}
    for d, layers in both.items() for layer, s in layers.items()], "act_both", digits=2)
st.caption(f"Both definitions at the same thresholds (mild from {mild:.0%}, high from {high:.0%}); an activation of "
           "exactly 0 is always inactive.")

st.subheader("Firing rates")
stats = loaders.stats(run, epoch)
hidden = {layer: s.firing_rate for layer, s in stats.items() if layer != "output"}
maps.chart(st, rates_fig := figs.firing_rates(hidden), "act_rates")
dead = {layer: stats[layer].dead_neurons for layer in hidden}
st.markdown("Share of the 60,000 training images on which each neuron is active (activation above 0). "
            + (" ".join(f"**Dead in {layer}** (never fire): {', '.join(f'#{i}' for i in v)}."
                        for layer, v in dead.items() if v)
               or "No neuron is dead: every one fires on some training image."))

offer("activations", {"sparsity_histogram": hist_fig, "firing_rates": rates_fig},
      {**{f"{layer}_test_activations": acts[layer] for layer in sparse},
       **{f"{layer}_levels": s.levels for layer, s in sparse.items()},
       **{f"{layer}_firing_rate": v for layer, v in hidden.items()}})
links.sync(**image_url, **{"def": definition, "high": high, "mild": mild})
