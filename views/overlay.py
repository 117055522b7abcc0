"""Adversarial overlay: the post's 7 → 0 trick on one image, over the test set, against controls and attacks."""

import jax
import numpy as np
import streamlit as st

from advx import attacks as A
from advx.figures import attacks as F
from advx.model import param_layer_names
from advx import experiments as E
from advx import vocabulary as V
from advx.text import overlay as words
from advx.text import glossary as G
from ui import attack_widgets, cache, charts, links, loaders, maps, resources, road, story
from ui.page_downloads import offer

DEFAULT_EPS = {"linf": 0.8, "l2": 5.12}
PANEL_CONFIG = {"displayModeBar": False}  # Plotly's toolbar would cover the small panels' titles

st.title("Adversarial overlay")
lead = story.lead("views/overlay.py")
notes = st.container()
st.markdown(
    f"The closing claim of {V.POST_CREDIT}: overlay the noise-like effective weights of the output neuron "
    "for 0 on a correctly classified 7, and the network answers 0 with high confidence. Here the overlay is "
    "x′ = clip(x + ε · pattern / ‖pattern‖, 0, 1), so the image moves by at most "
    f"**{G.link('eps', 'ε')}** in the chosen norm ({G.link('linf', 'L∞')} or {G.link('l2', 'L2')}).")

mnist, run = resources.data(), resources.current_run()
params = run.final_params
x_test, labels = loaders.pixels()[1], mnist.test_labels.astype(np.int32)
clean = cache.clean_probabilities(run.run_id, params, x_test)
predicted = clean.argmax(axis=1)

# ---- 1 · Source and target
st.header("1 · Source and target")
default_image = A.first_correct(labels, predicted, 7) or 0
c1, c2, c3, c4 = st.columns(4)
links.seed("ov_image", links.url_int("image", default_image, 0, len(labels) - 1))
image = c1.number_input("Test image #", 0, len(labels) - 1, key="ov_image", step=1)
links.seed("ov_target", links.url_int("target", 0, 0, 9))
target = c2.selectbox("Target class", list(range(10)), key="ov_target")
links.seed("ov_source", links.url_choice("source", "effective_weights", A.PATTERN_SOURCES))
source = c3.selectbox("Pattern", A.PATTERN_SOURCES, key="ov_source", format_func=V.SOURCE_LABELS.get)
links.seed("ov_norm", links.url_choice("norm", "linf", A.NORMS))
norm = c4.radio("Norm", A.NORMS, key="ov_norm", format_func=V.NORM_LABELS.get, horizontal=True)
layers = param_layer_names(params)
with st.expander("Which neuron's pattern (default: the output neuron of the target class)"):
    links.seed("ov_layer", links.url_choice("layer", "output", layers))
    layer = st.selectbox("Layer", layers, key="ov_layer")
    width = params[layer]["kernel"].shape[1]
    links.seed("ov_neuron", links.url_int("neuron", 0, 0, width - 1))
    neuron = None if layer == "output" else int(st.number_input("Neuron", 0, width - 1, key="ov_neuron"))
st.caption(f"Image #{image}: label {labels[image]}, predicted {predicted[image]} "
           f"({clean[image].max():.1%}). Default: the first correctly classified 7 of the test set (#{default_image}).")
grid = A.EPS_GRID[norm]
attack_widgets.seed_eps("ov", norm, DEFAULT_EPS[norm])
with notes:
    links.show_notes()
links.sync(image=image, target=target, source=source, norm=norm, layer=None if layer == "output" else layer,
           neuron=neuron)

pattern = np.asarray(A.pattern_for(params, x_test[image:image + 1], target, source, layer=layer, neuron=neuron,
                                   key=jax.random.key(0), norm=norm)).reshape(-1)
minimal = float(A.minimal_eps(params, x_test[image:image + 1], pattern, target, grid[-1], norm)[0])
curves = A.image_curves(params, x_test[image], pattern, target, norm, grid, key=jax.random.key(4),
                        control=A.control_kind(source))
# Section 4 and the tables below are computed in the background; each fills in when it is done.
overview_job = road.ask(E.overlay_summary.spec(run, mnist, source=source, norm=norm, layer=layer, neuron=neuron))


@st.fragment
def eps_view():
    eps = attack_widgets.eps_slider("ov", norm, f"{V.NORM_LABELS[norm]} size ε")
    step = grid.index(eps)
    adversarial = np.asarray(A.overlay(x_test[image:image + 1], pattern, eps, norm))[0]
    after = curves.probabilities[step]
    # ---- 2 · Images and probabilities
    panels = F.overlay_panels(x_test[image], pattern, adversarial, [
        f"original #{image} (label {labels[image]})", V.SOURCE_LABELS[source],
        f"with overlay (predicted {after.argmax()})"])
    for column, panel, name in zip(st.columns(3), panels, ("original", "pattern", "adversarial")):
        maps.show(column, panel, f"ov_image_{name}", hover, config=PANEL_CONFIG)
    left, right = st.columns([2, 1])
    maps.chart(left, F.probability_bars(clean[image], after, target, int(labels[image])), "ov_bars")
    right.metric("Prediction with the overlay", f"{after.argmax()}", f"{after.max():.1%} confident",
                 delta_color="off")
    right.metric(f"Probability of {target}", f"{after[target]:.1%}", f"{after[target] - clean[image][target]:+.1%}")
    # ---- 3 · ε curve
    st.header("3 · How large must ε be?")
    maps.chart(st, curve_fig := F.eps_curve(grid, curves.probabilities[:, target], curves.control_mean,
                                             curves.control_max, target=target, norm_label=V.NORM_LABELS[norm],
                                             current=eps, minimal=minimal), "ov_curve")
    st.caption("Grey: 16 random patterns of the same norm (random signs for sign patterns). The red line marks the "
               "smallest ε that flips the prediction to the target (grid scan, then bisection).")
    # ---- 4 · Over the test set (its poller, after this fragment, reruns the page when the sweep is done)
    st.header("4 · Over the whole test set")
    overview = road.ready(overview_job)
    arrays = {"original": x_test[image], "pattern": pattern, "adversarial": adversarial, "eps_grid": np.asarray(grid),
              "target_probability": curves.probabilities[:, target]}
    if overview is not None:
        rate, random_rate = overview.success[step], overview.control_success[step]
        left, right = st.columns([3, 2])
        maps.chart(left, F.success_matrix(overview.matrices[step], title=f"Share turned into the target at "
                                           f"{V.NORM_LABELS[norm]} ε = {eps:g}"), "ov_matrix")
        maps.chart(right, F.confidence_histogram(overview.confidence_counts[step], overview.confidence_edges,
                                                  title="Confidence of the successful overlays"), "ov_confidence")
        right.caption(f"Over the whole test set: the {int((labels == predicted).sum()):,} correctly classified images "
                      f"and the nine "
                      f"other targets: {rate:.1%} succeed (median confidence {overview.median_confidence[step]:.1%}); "
                      f"random noise of the same norm: {random_rate:.1%}.")
        arrays["success_matrix"] = overview.matrices[step]
    offer("overlay", {"original": panels[0], "pattern": panels[1], "adversarial": panels[2], "eps_curve": curve_fig},
          arrays)
    if overview is not None:
        st.subheader("What you are seeing")
        for sentence in words.story(source_label=V.SOURCE_LABELS[source], target=target, norm=norm, eps=eps,
                                overlay_rate=rate, random_rate=random_rate,
                                random_untargeted=overview.control_untargeted[step],
                                image_flipped=bool(after.argmax() == target), image_confidence=float(after[target]),
                                image_min_eps=minimal):
            st.markdown(f"- {sentence}")


st.header("2 · The overlay on one image")
hover = maps.hover_toggle("ov_hover")
eps_view()
road.show(overview_job)

st.subheader("The overlay beside FGSM and PGD, at equal ε")
rows = road.get(E.attack_comparison.spec(run, mnist, target))
if rows is not None:
    for column, each in zip(st.columns(len(A.NORMS)), A.NORMS):
        maps.chart(column, F.comparison(rows, target=target, norm=each), f"ov_comparison_{each}")
    story.numbers(words.comparison_sentences(rows, norm, target))
st.caption(f"Targeted at {target}, over the correctly classified images among the first {E.COMPARISON_IMAGES:,} "
           f"of the test set whose label is not the target. The overlay uses one pattern for every image; {G.link('fgsm', 'FGSM')} "
           f"(Goodfellow et al. 2015) and {G.link('pgd', 'PGD')} (Madry et al. 2018; 40 steps, one random start, Foolbox's step sizes) "
           "compute a perturbation for each image from its gradient.")

# ---- 5 · Paper table
st.header("5 · Beside the papers")
paper_rows = road.get(E.paper_table.spec(run, mnist))
if paper_rows is not None:
    charts.table(st, paper_rows, "ov_paper", {
                     "network": "network", "attack": "attack", "eps": st.column_config.NumberColumn("ε", format="%g"),
                     **{c: st.column_config.NumberColumn(c.replace("_", " "), format="percent")
                        for c in ("error_rate", "accuracy", "mean_confidence")}})
st.caption("Mean confidence: the average probability of the predicted, wrong label over the misclassified images, "
           "as reported by Goodfellow et al.; an empty cell is a figure the paper does not give. The published "
           "networks differ from ours (a softmax classifier, a maxout network, convolutional networks), so the rows "
           "compare orders of magnitude, not like with like.")

# ---- 6 · Why
st.header("6 · Why this works")
st.markdown(
    "Training only ever shows the network images from the thin slice of pixel space where handwritten digits live, "
    "and it adjusts each neuron just enough to sort those images. The neuron's response to directions outside that "
    "slice is largely what the random initialisation gave it, which is why its effective weights look like noise. "
    "The overlay walks straight along such a direction. With the ReLUs ignored, the effective weights of the "
    "target's output neuron are the direction that raises it the most per unit of L2 length, and their sign the "
    "one that raises it the most per unit of L∞ size; that is why the sign pattern is the stronger one under L∞. "
    "Random noise of the same size spreads its push over every neuron and mostly cancels out. In the words of the "
    "post, the network is book-smart inside its subject area but not street-smart outside it.")
