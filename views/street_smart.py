"""Street-smart: a network trained on adversarial examples beside the book-smart one, measured the post's way."""

import streamlit as st

from advx import neurons
from advx import robust as R
from advx.config import ConfigError
from advx.figures import robust as F
from advx.figures.neurons import image as image_figure
from advx.model import param_layer_names
from advx import experiments as E
from advx import vocabulary as V
from advx.text import robust as words
from advx.text import glossary as G
from ui import cache, charts, links, loaders, resources, road, story
from ui import maps as mapview
from ui.page_downloads import offer

BOOK, STREET = V.NETWORK_NAMES

st.title("Street-smart")
lead = story.lead("views/street_smart.py")
notes = st.container()
st.markdown(
    f"In the words of {V.POST_CREDIT}, the trained network is {G.link('book-smart', 'book-smart')}: it knows the directions the training "
    f"images occupy and little else. A street-smart network is trained on the attacks themselves: each batch is "
    f"replaced by {G.link('pgd', 'PGD')}'s adversarial examples against the current weights (Madry et al. 2018). Both networks have the "
    "same layers; this page puts them side by side and takes the post's measures again. Street-smart, here and on "
    "every page, means adversarially trained; book-smart, trained the ordinary way.")

mnist, standard = resources.data(), resources.current_run()
hidden = standard.config.hidden


def request_training() -> None:
    """The form's submit: remember the run asked for and show it (its training starts with the rerun)."""
    norm, eps = st.session_state["ss_new_norm"], float(st.session_state["ss_new_eps"])
    try:
        config = R.robust_config(norm, eps, hidden)
    except ConfigError as exc:
        st.session_state["ss_problem"] = f"That network cannot be trained: {exc}."
        return
    st.session_state.setdefault("ss_requested", []).append((norm, config.adversarial_eps))
    st.session_state["ss_robust"] = R.run_code(norm, config.adversarial_eps)


st.header("1 · The two networks")
requested = st.session_state.get("ss_requested", ())  # asked for in the form, perhaps still training
choices = {c.code: c for c in R.stored_robust_runs(cache.stored_runs(), hidden, requested)}
default = R.run_code(R.DEFAULT_ROBUST.adversarial_norm, R.DEFAULT_ROBUST.adversarial_eps)
links.seed("ss_robust", links.url_choice("robust", default, list(choices)))
code = st.selectbox("Street-smart network: the ε it was trained at", list(choices), key="ss_robust",
                    format_func=lambda c: choices[c].setting(),
                    help="The stored adversarially trained networks with the book-smart network's layers.")
chosen = choices[code]
with st.expander("Train another street-smart network", icon=":material/shield:"):
    with st.form("ss_train_form", border=False):
        left, right = st.columns(2)
        left.radio("Norm", V.NORMS, key="ss_new_norm", format_func=V.NORM_LABELS.get, horizontal=True)
        right.number_input("ε (L∞ up to 1, L2 up to 28)", 0.01, 28.0, 0.2, 0.05, key="ss_new_eps", format="%.2f")
        st.form_submit_button("Train", on_click=request_training, key="ss_train")
    if problem := st.session_state.pop("ss_problem", None):
        st.warning(problem, icon=":material/warning:")
    d = R.DEFAULT_ROBUST
    st.caption(f"Every other setting is the default street-smart network's: {d.epochs} epochs, "
               f"PGD-{d.adversarial_steps} with steps of ε/{1 / d.adversarial_rel_step_size:.1f} from a random start, "
               f"ε rising over the first {d.adversarial_ramp_epochs} epochs. It trains in the background and is "
               "stored like every run.")
what = f"the street-smart network ({chosen.setting()})"
robust = road.get(E.trained_run.spec(chosen.config, mnist, label=what))
runs = {BOOK: standard, **({} if robust is None else {STREET: robust})}
# Queued in this order in the page's lane: every epoch's results of each run (sections 3-4; seconds), then the
# comparison (sections 6-10; about half a minute).
epoch_jobs = {name: road.ask(E.epoch_results.spec(r, mnist)) for name, r in runs.items()}
comparison = None if robust is None else road.get(E.robust_comparison.spec(standard, robust, mnist))
if robust is not None:
    st.markdown(R.training_sentence(robust, comparison))

st.header("2 · Training curves")
mapview.chart(st, curves_fig := F.training_curves({name: r.history for name, r in runs.items()}), "ss_curves")
st.caption("Solid: accuracy on the 10,000 clean test images after each epoch. Dotted: accuracy on the network's own "
           "training batches during the epoch; the street-smart network's batches are PGD's examples, so its dotted "
           "line is its robust accuracy while training (at the ramped ε).")

st.header("3 · Effective weights, epoch by epoch")
hover = mapview.hover_toggle("ss_hover")
figures, arrays = {"training_curves": curves_fig}, {}


@st.fragment
def epoch_sections(figures: dict, arrays: dict) -> None:
    """Sections 3 to 6, which follow the epoch slider and the test image: they rerun alone when either moves, and
    update the page's downloads in place."""
    longest = max(standard.n_epochs, chosen.config.epochs)
    links.seed("ss_epoch", links.url_int("epoch", longest, 0, longest))
    epoch = st.slider("Training epoch (0 = random initialisation)", 0, longest, key="ss_epoch")
    at = {name: min(epoch, r.n_epochs) for name, r in runs.items()}
    for (name, r), column in zip(runs.items(), st.columns(2)):
        maps = loaders.effective_maps(r, at[name])["output"]
        mapview.show(column, fig := F.class_grid(maps["effective"], f"{name}, epoch {at[name]}",
                                                 maps["effective_high_frequency"]), f"ss_weights_{name}", hover)
        figures[f"effective_weights_{name}"], arrays[f"effective_weights_{name}"] = fig, maps["effective"]
    st.caption("Output neuron c's effective weights W1·W2·W3 (no ReLUs, no biases): the post's picture of what makes the "
               f"network answer c. HF: the share of the map's energy at high spatial frequency (pixel noise "
               f"{neurons.NOISE_HIGH_FREQUENCY_SHARE:.2f}, a test digit about 0.11). A run shorter than the slider shows "
               "its last epoch. " + words.scales_note({name: arrays[f"effective_weights_{name}"] for name in runs}))

    st.header("4 · Dataset averages")
    results = road.show_all(epoch_jobs)
    if results is not None:
        for (name, ready), column in zip(results.items(), st.columns(2)):
            maps = ready.maps(at[name])["output"]
            mapview.show(column, F.class_grid(maps["average"], f"{name}, epoch {at[name]}", signed=False),
                         f"ss_averages_{name}", hover)
        st.caption("Each output neuron's dataset average: the training images averaged with the neuron's softmax "
                   "probability as weight, what the neuron responds to in the data.")

    st.header("5 · Local Jacobians and input gradients at one image")
    links.seed("ss_image", links.url_int("image", 0, 0, len(mnist.test_labels) - 1))
    index = int(st.number_input("Test image #", 0, len(mnist.test_labels) - 1, key="ss_image", step=1))
    label, pixels = int(mnist.test_labels[index]), loaders.pixels()[1][index]
    found = {name: cache.robust_image_maps(r.run_id, at[name], index, label, r.params_at(at[name]), pixels)
             for name, r in runs.items()}
    left, right = st.columns([1, 3])
    mapview.show(left, image_figure(pixels, f"test image #{index} (a {label})"), "ss_image_figure", hover)
    left.markdown("\n\n".join(f"{name}, epoch {at[name]}: reads **{m.probabilities.argmax()}** "
                              f"({m.probabilities.max():.1%})" for name, m in found.items()))
    mapview.show(right, fig := F.image_maps({n: (m.maps, m.high_frequency) for n, m in found.items()}, label),
                 "ss_image_maps", hover)
    figures["image_maps"] = fig
    arrays |= {f"image_maps_{name}": m.maps for name, m in found.items()}
    st.caption(f"For class {label}: the effective weights (the same for every image), the local Jacobian (the gradient "
               f"of logit {label} at this image, with the ReLUs this image switches on) and the input gradient (minus the "
               "gradient of the loss: the direction that makes the image more a "
               f"{label}). Each map is scaled to its own largest value.")

    st.header("6 · Noise or digit: what the numbers say")
    if comparison is not None:
        mapview.chart(st, fig := F.map_character(comparison.map_high_frequency, comparison.epochs, epoch,
                                               noise=neurons.NOISE_HIGH_FREQUENCY_SHARE, digit=words.DIGIT_LIKE_HF),
                      "ss_character")
        figures["map_character"] = fig
        st.markdown("\n".join(f"- {s}" for s in [*words.maps_finding(comparison), words.epochs_sentence(comparison)]))
    links.sync(epoch=epoch, image=index)


epoch_sections(figures, arrays)

st.header("7 · Accuracy under attack, against ε")
if comparison is not None:
    for norm, column in zip(V.NORMS, st.columns(2)):
        mapview.chart(column, fig := F.accuracy_curves(getattr(comparison, f"{norm}_eps"),
                                                     getattr(comparison, f"{norm}_accuracy"), comparison.clean_accuracy,
                                                     V.NORM_LABELS[norm]), f"ss_accuracy_{norm}")
        figures[f"accuracy_{norm}"] = fig
    story.numbers([*words.accuracy_sentences(comparison), words.masking_sentence(comparison),
                   words.masking_sentence(comparison, "l2")])
    if note := R.foolbox_note(comparison):
        st.caption(note)

st.header("8 · The post's overlay")
if comparison is not None:
    mapview.chart(st, fig := F.overlay_success(comparison.overlay_eps, comparison.overlay_success,
                                             comparison.overlay_control), "ss_overlay")
    figures["overlay"] = fig
    st.markdown(words.overlay_sentence(comparison))

st.header("9 · The data subspace")
if comparison is not None:
    charts.table(st, R.subspace_rows(comparison, tuple(param_layer_names(standard.final_params))), "ss_subspace",
                 {BOOK: st.column_config.NumberColumn(
                     BOOK, format="percent"), STREET: st.column_config.NumberColumn(STREET, format="percent")})
    st.markdown(f"{words.subspace_sentence(comparison)} {words.sparsity_sentence(comparison)}")

st.header("10 · Beside the published numbers")
published = words.published_rows() + ([] if comparison is None else R.our_published_rows(comparison, standard.config,
                                                                                     robust.config))
charts.table(st, published, "ss_published",
             charts.pinned("model", {"accuracy": st.column_config.NumberColumn(format="percent")}), column_order=("model", "attack", "ε (L∞)", "accuracy", "note", "training", "source"))
st.caption(f"Theirs is a CNN: MadryLab's MNIST challenge model has two convolution and max-pooling layers and one "
           f"dense layer, trained at L∞ ε = 0.3 with PGD-40. Ours are {'-'.join(map(str, (784, *hidden, 10)))} MLPs "
           f"without convolutions, the street-smart one trained at {chosen.setting()} with PGD-"
           f"{chosen.config.adversarial_steps}. The rows marked “{words.SECOND_HAND}” were read in a "
           "secondary source and could not be checked against the paper here.")
if comparison is not None:
    with st.expander("Every number of the comparison"):
        charts.table(st, words.comparison_rows(comparison), "ss_every_number")
else:
    st.caption("Sections 6 to 9 and our rows of this table follow once the comparison is done.")

with notes:
    links.show_notes()
if comparison is not None:
    arrays.update(comparison._asdict())
offer("street_smart", figures, arrays)
links.sync(robust=code)
