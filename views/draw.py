"""Draw a digit: your own handwriting through every stage, and fooled live."""

import numpy as np
import streamlit as st

from advx import attacks as A
from advx import drawing as D
from advx import neurons
from advx import subspace as S
from advx.config import ConfigError, TrainConfig
from advx.figures import drawing as F
from advx import experiments as E
from advx import vocabulary as V
from advx.text import drawing as words
from ui import attack_widgets, cache, draw_pad, links, loaders, maps, resources, road, story
from ui.page_downloads import offer

SUBSPACE_LEVEL = 0.95
DEFAULT_EPS = {"linf": 0.2, "l2": 1.6}
PANEL = {"displayModeBar": False}

st.title("Draw a digit")
lead = story.lead("views/draw.py")
FIRST_EXAMPLE = "7"  # a first visit starts from the post's digit, so the page shows its point at once
notes = st.container()
st.markdown("Draw a digit and follow it through the network: MNIST's own preprocessing, the answer, the few hidden "
            "neurons it lights up, how far it lies from the digits the network was trained on, and then a small "
            "pattern that turns it into another digit. Everything updates when you lift the pen.")

mnist, run = resources.data(), resources.current_run()
try:
    examples = cache.drawing_examples()
except D.DrawingError as exc:
    st.warning(f"The example drawings cannot be read ({exc}); you can still draw.", icon=":material/draw:")
    examples = {}


def _start(image, origin: str) -> None:
    """Put ``image`` (28 × 28, or ``None`` for an empty pad) on the pad, under any new strokes."""
    st.session_state.update(dr_start=image, dr_raw=image, dr_origin=origin,
                            dr_version=st.session_state.get("dr_version", 0) + 1)


if "dr_version" not in st.session_state:  # a new session: the drawing or the example of the link, else a 7
    text, image = links.url_text("d"), None
    asked = links.url_text("example", None)
    default = FIRST_EXAMPLE if asked is None and not text and FIRST_EXAMPLE in examples else ""
    name = links.url_choice("example", default, [""] + list(examples))
    if name:
        image, origin = np.array(examples[name].image), f"example {name}"
        st.session_state.dr_example = name
    elif text:
        try:
            image, origin = D.decode_link(text), "link"
        except D.LinkError as exc:
            links.note(f"{exc}. Starting from an empty pad.")
    _start(image, origin if image is not None else "empty")


def _pick_example() -> None:
    name = st.session_state.get("dr_example")
    if name in examples:
        _start(np.array(examples[name].image), f"example {name}")


# ---- 1 · The drawing
st.header("1 · Your drawing")
pad_column, raw_column, input_column = st.columns([1.1, 1, 1])
with pad_column:
    raw, sent = draw_pad.pad("dr_pad", st.session_state.dr_start, st.session_state.dr_version)
    if raw is not None and sent != st.session_state.get("dr_seen"):  # a stroke, an undo or a clear
        st.session_state.update(dr_seen=sent, dr_raw=raw, dr_origin="pad", dr_example=None)
    st.selectbox("Start from an example", list(examples), index=None, key="dr_example", on_change=_pick_example,
                 placeholder="Start from an example…", format_func=lambda n: f"a {examples[n].digit} ({n})")
    hover = maps.hover_toggle("dr_hover")
raw = st.session_state.dr_raw
pre = D.preprocess(raw) if st.session_state.dr_origin == "pad" else D.as_input(
    raw if raw is not None else np.zeros((D.SIDE, D.SIDE), np.float32))
x = pre.image
drawing_text = None if D.EMPTY in pre.issues else D.encode_link(x)
if drawing_text is not None:  # an empty pad shows no empty plots (the note below says the pad is empty)
    raw_fig = F.raw_panel(raw, pre.box, "as drawn" if st.session_state.dr_origin == "pad"
                          else f"from the {st.session_state.dr_origin}")
    input_fig = F.input_panel(x, "what the network reads (28 × 28)")
    maps.show(raw_column, raw_fig, "dr_raw_fig", hover, config=PANEL)
    maps.show(input_column, input_fig, "dr_input_fig", hover, config=PANEL)
st.caption("MNIST's own preprocessing: the ink's bounding box (dotted) scaled to fit 20 × 20 keeping its shape, "
           "with grey levels where a pixel is partly inked, then moved so that its centre of mass is at the middle "
           "of the 28 × 28 field. The link of this page holds the 28 × 28 input, so sharing it shares the drawing.")
for kind, sentence in words.issue_messages(pre, max(np.shape(raw)) if raw is not None else D.SIDE):
    (st.warning if kind == words.WARNING else st.info)(sentence, icon=":material/draw:")

networks = []
for net in D.NETWORKS:
    if net.find is None:
        networks.append((net, run))
        continue
    entry = net.find(cache.stored_runs(), run.config.to_dict())
    try:
        if entry is not None:
            networks.append((net, resources.run_for(TrainConfig.from_dict(entry["config"]))))
    except ConfigError:
        pass

links.seed("dr_target", links.url_int("target", 0, 0, 9))
links.seed("dr_norm", links.url_choice("norm", "linf", A.NORMS))
attack_widgets.seed_eps("dr", st.session_state.dr_norm, DEFAULT_EPS[st.session_state.dr_norm])
with notes:
    links.show_notes()
origin = st.session_state.dr_origin
example = origin.removeprefix("example ") if origin.startswith("example ") else None
links.sync(d=drawing_text, example=example, target=st.session_state.dr_target, norm=st.session_state.dr_norm,
           eps=st.session_state[f"dr_eps_{st.session_state.dr_norm}"])
if drawing_text is None:
    st.stop()

# ---- 2 · The answer
st.header("2 · What the network reads")
readings, arrays, figures = {}, {"raw": raw, "input": x}, {"drawing": raw_fig, "input": input_fig}
for (net, r), column in zip(networks, st.columns(len(networks))):
    stats = loaders.stats(r, r.n_epochs)
    reading = readings[net.name] = D.read(r.final_params, x, {layer: s.neuron_max for layer, s in stats.items()})
    column.metric(net.title, str(reading.prediction), f"{reading.confidence:.1%} sure", delta_color="off")
    maps.chart(column, fig := F.probability_bars(reading.probabilities, f"{net.title}: probabilities"),
               f"dr_probs_{net.name}", config=PANEL)
    column.markdown(words.reading_sentence(net.title, reading))
    figures[f"probabilities_{net.name}"], arrays[f"probabilities_{net.name}"] = fig, reading.probabilities
if len(networks) == 1:
    st.caption("A street-smart (adversarially trained) network appears beside this one once the Street-smart page "
               "has stored one.")

# ---- 3 · Hidden neurons
st.header("3 · The hidden neurons it lights up")
st.caption(f"High: at least {neurons.DEFAULT_HIGH:.0%} of the neuron's largest activation over the training set; mild: "
           f"at least {neurons.DEFAULT_MILD:.0%} (the Activations page's default). Grey: the 10,000 test digits.")
for (net, r), column in zip(networks, st.columns(len(networks))):
    sparse = loaders.sparsity(r, r.n_epochs, "neuron_max", neurons.DEFAULT_HIGH, neurons.DEFAULT_MILD)
    for layer, s in sparse.items():
        counts = readings[net.name].counts[layer]
        maps.chart(column, F.against_test(s.counts[:, neurons.HIGH], counts[neurons.HIGH], discrete=True,
                                           title=f"{net.title}, {layer}", x_title="high neurons per image"),
                   f"dr_counts_{net.name}_{layer}", config=PANEL)
        column.markdown(words.neuron_sentence(layer, counts, s.counts))
        arrays[f"activations_{net.name}_{layer}"] = readings[net.name].activations[layer]

# ---- 4 · Data subspace
st.header("4 · How much of it lies in the digits' subspace")
sub = road.get(E.data_subspace.spec(mnist))
k = None if sub is None else sub.k_for(SUBSPACE_LEVEL)
test_shares = None if sub is None else road.get(E.digit_energy_shares.spec(mnist, k))
if test_shares is not None:
    share = S.energy_fraction(sub, x.reshape(-1), k)
    left, right = st.columns([3, 2])
    maps.chart(left, F.against_test(test_shares, share, title=f"Energy inside the top-{k} data subspace",
                                     x_title="share of the image's energy"), "dr_subspace", config=PANEL)
    right.markdown(words.subspace_sentence(share, k, SUBSPACE_LEVEL, test_shares))

# ---- 5 · Fool it
st.header("5 · Fool it")
c1, c2 = st.columns(2)
target = c1.selectbox("Target", list(range(10)), key="dr_target")
norm = c2.radio("Norm", A.NORMS, key="dr_norm", format_func=V.NORM_LABELS.get, horizontal=True)
attack_widgets.seed_eps("dr", norm, DEFAULT_EPS[norm])  # after a switch of norm: its default
links.sync(target=target, norm=norm)


@st.fragment
def fool_view():
    eps = attack_widgets.eps_slider("dr", norm, f"{V.NORM_LABELS[norm]} size ε of the overlay")
    for (net, r), column in zip(networks, st.columns(len(networks))):
        fooling = D.fool(r.final_params, x, target, eps, norm, with_pgd=False)
        fooling = fooling._replace(pgd_eps=cache.drawing_pgd_eps(r.run_id, drawing_text, target, norm,
                                                                  example is not None, r, x))
        column.metric(f"{net.title} with the overlay", str(fooling.prediction),
                      f"{fooling.probabilities[target]:.1%} for {target}", delta_color="off")
        pattern, adversarial = column.columns(2)
        maps.show(pattern, F.image_panel(fooling.pattern, f"effective weights of output {target}", signed=True),
                  f"dr_pattern_{net.name}", hover, config=PANEL)
        maps.show(adversarial, fig := F.input_panel(fooling.adversarial, f"ε = {eps:g}: reads {fooling.prediction}"),
                  f"dr_adversarial_{net.name}", hover, config=PANEL)
        for sentence in words.fool_sentences(net.title, fooling, readings[net.name].prediction):
            column.markdown(f"- {sentence}")
        figures[f"overlay_{net.name}"], arrays[f"overlay_{net.name}"] = fig, fooling.adversarial
    offer("draw", figures, arrays)


fool_view()
st.caption("The overlay adds ε times the target's output neuron's effective weights (scaled to size 1 in the chosen "
           "norm) to the input, as on the Adversarial overlay page. PGD (40 steps, one random start) computes its "
           "own perturbation for this drawing; its ε is found by a scan and bisection, an upper bound on the "
           "smallest that exists.")
