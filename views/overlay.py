"""Adversarial overlay: the seed's 7 → 0 trick on one image, over the test set, against controls and attacks."""

import jax
import numpy as np
import pandas as pd
import streamlit as st

from advx import attacks as A
from advx.model import param_layer_names
from advx.figures import attacks as F
from ui import links, resources
from ui import neuron_widgets as nw
from ui.page_downloads import offer

DEFAULT_STRENGTH = {"linf": 0.8, "l2": 5.12}
COMPARISON_IMAGES = 2000

st.title("Adversarial overlay")
notes = st.container()
st.markdown(
    f"The closing claim of {nw.SEED_CREDIT}: overlay the noise-like effective weights of the output neuron "
    "for 0 on a correctly classified 7, and the network answers 0 with high confidence. Here the overlay is "
    "x′ = clip(x + s · pattern / ‖pattern‖, 0, 1), so the image moves by at most **s** in the chosen norm.")


@st.cache_data(show_spinner=False, max_entries=8)
def clean_probabilities(run_id, _params, _x):
    return np.asarray(A.probabilities(_params, _x))


@st.cache_data(show_spinner="Sweeping the random control over the test set…", max_entries=8)
def control(run_id, kind, norm, _params, _x):
    return A.control_sweep(_params, _x, kind, norm, key=jax.random.key(1))


@st.cache_data(show_spinner="Sweeping 25 strengths × 10 targets over the 10,000 test images…", max_entries=64)
def summary(run_id, source, norm, layer, neuron, _params, _x, _labels, _predicted):
    sweep = A.source_sweep(_params, _x, source, norm, key=jax.random.key(0), layer=layer, neuron=neuron)
    return A.summarise(sweep, control(run_id, A.control_kind(source), norm, _params, _x), _labels, _predicted)


@st.cache_data(show_spinner="Running FGSM and PGD at every budget…", max_entries=16)
def comparison(run_id, target, _params, _x, _labels):
    return A.comparison_table(_params, _x[:COMPARISON_IMAGES], _labels[:COMPARISON_IMAGES], target, jax.random.key(2))


@st.cache_data(show_spinner="Running FGSM and PGD over the test set for the paper table…", max_entries=8)
def paper(run_id, _params, _x, _labels):
    return A.paper_rows(A.paper_table(_params, _x, _labels, key=jax.random.key(3)))


mnist, run = resources.data(), resources.current_run()
params = run.final_params
x_test, labels = nw.pixels()[1], mnist.test_labels.astype(np.int32)
clean = clean_probabilities(run.run_id, params, x_test)
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
source = c3.selectbox("Pattern", A.PATTERN_SOURCES, key="ov_source", format_func=A.SOURCE_LABELS.get)
links.seed("ov_norm", links.url_choice("norm", "linf", A.NORMS))
norm = c4.radio("Norm", A.NORMS, key="ov_norm", format_func=A.NORM_LABELS.get, horizontal=True)
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
strength_key = f"ov_strength_{norm}"
# A strength in the link belongs to the link's norm; after a switch of norm, start from the default.
link_norm = str(st.query_params.get("norm", norm)).strip().lower()
same_norm = link_norm == norm or link_norm not in A.NORMS
wanted = links.url_float("strength", DEFAULT_STRENGTH[norm], grid[0], grid[-1]) if same_norm else DEFAULT_STRENGTH[norm]
if A.snap_eps(wanted, norm) != wanted:
    nw.note(f"`strength={wanted:g}` is not on the {A.NORM_LABELS[norm]} slider; using {A.snap_eps(wanted, norm):g}.")
links.seed(strength_key, A.snap_eps(wanted, norm))
with notes:
    links.show_notes()
links.sync(image=image, target=target, source=source, norm=norm, layer=None if layer == "output" else layer,
           neuron=neuron)

pattern = np.asarray(A.pattern_for(params, x_test[image:image + 1], target, source, layer=layer, neuron=neuron,
                                   key=jax.random.key(0), norm=norm)).reshape(-1)
minimal = float(A.minimal_eps(params, x_test[image:image + 1], pattern, target, grid[-1], norm)[0])
curves = A.image_curves(params, x_test[image], pattern, target, norm, grid, key=jax.random.key(4),
                        control=A.control_kind(source))
overview = summary(run.run_id, source, norm, layer, neuron, params, x_test, labels, predicted)


@st.fragment
def strength_view():
    strength = st.select_slider(f"{A.NORM_LABELS[norm]} strength s", grid, key=strength_key)
    links.sync(strength=strength)
    k = grid.index(strength)
    adversarial = np.asarray(A.overlay(x_test[image:image + 1], pattern, strength, norm))[0]
    after = curves.probabilities[k]
    # ---- 2 · Images and probabilities
    st.plotly_chart(images_fig := F.overlay_triptych(x_test[image], pattern, adversarial, [
        f"original #{image} (label {labels[image]})", A.SOURCE_LABELS[source],
        f"with overlay (predicted {after.argmax()})"]), key="ov_images")
    left, right = st.columns([2, 1])
    left.plotly_chart(F.probability_bars(clean[image], after, target, int(labels[image])), key="ov_bars")
    right.metric("Prediction with the overlay", f"{after.argmax()}", f"{after.max():.1%} confident",
                 delta_color="off")
    right.metric(f"Probability of {target}", f"{after[target]:.1%}", f"{after[target] - clean[image][target]:+.1%}")
    # ---- 3 · Strength curve
    st.header("3 · How strong must the overlay be?")
    st.plotly_chart(curve_fig := F.eps_curve(grid, curves.probabilities[:, target], curves.control_mean, curves.control_max,
                                     target=target, norm_label=A.NORM_LABELS[norm], current=strength,
                                     minimal=minimal), key="ov_curve")
    st.caption("Grey: 16 random patterns of the same norm (random signs for sign patterns). The red line marks the "
               "smallest strength that flips the prediction to the target (grid scan, then bisection).")
    # ---- 4 · Over the test set
    st.header("4 · Over the whole test set")
    rate, random_rate = overview.success[k], overview.control_success[k]
    left, right = st.columns([3, 2])
    left.plotly_chart(F.success_matrix(overview.matrices[k], title=f"Share turned into the target at "
                                       f"{A.NORM_LABELS[norm]} strength {strength:g}"), key="ov_matrix")
    right.plotly_chart(F.confidence_histogram(overview.confidence_counts[k], overview.confidence_edges,
                                              title="Confidence of the successful overlays"), key="ov_confidence")
    right.caption(f"Over the {int((labels == predicted).sum()):,} correctly classified test images and the nine "
                  f"other targets: {rate:.1%} succeed (median confidence {overview.median_confidence[k]:.1%}); "
                  f"random noise of the same norm: {random_rate:.1%}.")
    offer("overlay", {"images": images_fig, "strength_curve": curve_fig},
          {"original": x_test[image], "pattern": pattern, "adversarial": adversarial, "strengths": np.asarray(grid),
           "target_probability": curves.probabilities[:, target], "success_matrix": overview.matrices[k]})
    st.subheader("What you are seeing")
    for sentence in A.story(source_label=A.SOURCE_LABELS[source], target=target, norm=norm, eps=strength,
                            overlay_rate=rate, random_rate=random_rate,
                            random_untargeted=overview.control_untargeted[k],
                            image_flipped=bool(after.argmax() == target), image_confidence=float(after[target]),
                            image_min_eps=minimal):
        st.markdown(f"- {sentence}")


st.header("2 · The overlay on one image")
strength_view()

st.subheader("The overlay beside FGSM and PGD, at equal budgets")
rows = comparison(run.run_id, target, params, x_test, labels)
st.plotly_chart(F.comparison(rows, target=target), key="ov_comparison")
for sentence in A.comparison_sentences(rows, norm, target):
    st.markdown(f"- {sentence}")
st.caption(f"Targeted at {target}, over the correctly classified images among the first {COMPARISON_IMAGES:,} of "
           "the test set whose label is not the target. The overlay uses one pattern for every image; FGSM "
           "(Goodfellow et al. 2015) and PGD (Madry et al. 2018; 40 steps, one random start, Foolbox's step sizes) "
           "compute a perturbation for each image from its gradient.")

# ---- 5 · Paper table
st.header("5 · Beside the papers")
table = pd.DataFrame(paper(run.run_id, params, x_test, labels))
st.dataframe(table.style.format({"error_rate": "{:.1%}", "accuracy": "{:.1%}", "mean_confidence": "{:.1%}",
                                 "eps": "{:g}"}, na_rep="–"), hide_index=True, key="ov_paper")
st.caption("Mean confidence: the average probability of the predicted, wrong label over the misclassified images, "
           "as reported by Goodfellow et al. The published networks differ from ours (a softmax classifier, a "
           "maxout network, convolutional networks), so the rows compare orders of magnitude, not like with like.")

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
