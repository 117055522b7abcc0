"""Many networks: does an attack carry over to other networks, and is what lies off the data the initialisation's?"""

import streamlit as st

from advx import attacks as A
from advx import population as P
from advx.config import TrainConfig
from advx.figures import population as F
from advx import experiments as E
from advx import vocabulary as V
from advx.text import population as words
from advx.text import population_summary as summary
from ui import charts, links, maps, resources, road, story
from ui.page_downloads import offer

NumberColumn = st.column_config.NumberColumn
PERCENT = {c: NumberColumn(format="percent") for c in ("test accuracy", "own", "others", "energy outside",
                                                        "attack kept outside", "attack anywhere")}
PARTS = {p: words.PART_LABELS[p] for p in P.PARTS}

st.title("Many networks")
lead = story.lead("views/networks.py")
notes = st.container()
st.markdown(
    f"The argument of {V.POST_CREDIT} makes predictions that one network cannot test. If a neuron's opinion "
    "about the directions outside the data subspace is what its random initialisation gave it, then **(1)** a "
    "perturbation crafted on one network should fool a network trained from another seed far less, its part outside "
    "the data least of all; **(2)** networks from different seeds should disagree outside the data subspace, where "
    "each should stay alike its own initialisation; **(3)** a smaller initialisation should leave less off the data. "
    "Here the post's network is trained many times, with Adam and with plain SGD (the two optimizers of *Why it "
    "happens*), from several seeds and initialisation scales. Where a prediction fails, the page says so.")

st.header("1 · The networks")
mnist = resources.data()
if resources.current_config() != TrainConfig():  # also checks a ``run=`` in the link, with a note if it is unknown
    st.info("These networks are the post's default configuration, whichever run the Train page shows: a population of "
            "another configuration would take minutes to train.", icon=":material/info:")
networks = road.get(E.populations.spec(mnist), lane="later")
if networks is not None:
    charts.table(st, P.member_rows(networks), "net_members",
                 charts.pinned("network", {"init scale": NumberColumn(format="×%g"), **PERCENT}))
    st.caption("Each is the post's 784-64-64-10 network trained on MNIST for 15 epochs, whichever run the Train page "
               "shows (Adam, seed 0 is the default run). They are trained together, one compiled program per "
               "optimizer, and kept in the run store.")

st.header("2 · In short: where the argument holds, and where it fails")
verdicts = st.container()

st.header("3 · Transfer: crafted on one network, shown to another")
c1, c2, c3, c4 = st.columns(4)
links.seed("net_norm", links.url_choice("norm", "linf", A.NORMS))
norm = c1.radio("Norm and size", A.NORMS, key="net_norm", horizontal=True,
                format_func=lambda n: f"{V.NORM_LABELS[n]} ε = {P.TRANSFER_EPS[n]:g}")
links.seed("net_attack", links.url_choice("attack", "pgd", P.TRANSFER_ATTACKS))
attack = c2.selectbox("Attack", P.TRANSFER_ATTACKS, key="net_attack", format_func=V.ATTACK_TITLES.get)
links.seed("net_measure", links.url_choice("measure", "success", tuple(words.MEASURE_LABELS)))
measure = c3.radio("Count a digit when it is", tuple(words.MEASURE_LABELS), key="net_measure",
                   format_func=words.MEASURE_LABELS.get)
links.seed("net_optimizers", links.url_choice("optimizers", "both", P.OPTIMIZER_FILTERS))
optimizers = c4.radio("Networks in the heatmaps", P.OPTIMIZER_FILTERS, key="net_optimizers",
                      format_func=P.OPTIMIZER_FILTER_LABELS.get)
measures = {} if networks is None else {name: road.ask(spec) for name, spec in
                                        E.population_measures(networks, mnist, norm).items()}
configs = [] if networks is None else networks["transfer and agreement"].configs
shown = P.members_of(configs, optimizers)
labels = [V.member_label(configs[i]) for i in shown]
figures, arrays = {}, {}


def result(name: str):
    """The measure's result, or ``None`` after saying what it waits for."""
    if name not in measures:
        st.caption("This section follows once the networks are there.")
        return None
    return road.show(measures[name])


maps.hover_toggle("net_hover")
transfer = result("transfer")
if transfer is not None:
    table = words.transfer_table(transfer, configs, measure)
    arrays |= {f"transfer_{name}": getattr(transfer, name) for name in ("success", "fooled", "part_l2")}
    figures["transfer"] = F.transfer_heatmaps(
        getattr(P.select_transfer(transfer, shown), measure)[P.TRANSFER_ATTACKS.index(attack)], list(PARTS.values()),
        labels, title=f"{V.ATTACK_TITLES[attack]}, {V.NORM_LABELS[norm]} ε = {transfer.eps:g}: share "
                      f"{words.MEASURE_LABELS[measure].split(' ')[0]}")
    maps.chart(st, figures["transfer"], "net_transfer")
    st.caption(f"Each cell: the share of the correctly classified digits of the network shown to that are "
               f"{words.MEASURE_LABELS[measure]}. Rows: the network the attack was crafted on; columns: the network it is shown to; the diagonal is "
               f"each network's own white-box result. Targeted at 0, over the correctly classified digits among the "
               f"first {P.TRANSFER_IMAGES} test images whose label is not 0. Each part of a perturbation (inside or "
               f"outside the top-{transfer.k} data subspace) is applied alone, rescaled to the same ε.")
    figures["split"] = F.split_bars(table, PARTS, V.OPTIMIZER_LABELS,
                                    title="Own-network result kept on the others")
    maps.chart(st, figures["split"], "net_split_bars")
    charts.table(st, table, "net_transfer_rows", {**PERCENT, "ratio": NumberColumn("others / own", format="%.2f"),
                                                  "mean L2 size": NumberColumn(format="%.2f")},
                 drop=("optimizer_name", "part_name"))
    for column, (optimizer, idx) in zip(st.columns(2), P.by_optimizer(configs).items()):
        column.markdown(f"**{V.OPTIMIZER_LABELS[optimizer]}**\n\n" + "\n".join(
            f"- {s}" for s in words.transfer_sentences(P.select_transfer(transfer, idx))))

st.header("4 · Agreement: the same output neuron in different networks")


@st.fragment
def agreement_section() -> None:
    """Section 4: its split and its neuron rerun it alone; it updates the page's downloads in place."""
    figures.pop("agreement", None)
    for part in P.AGREEMENT_PARTS:
        arrays.pop(f"agreement_{part}", None)
    c1, c2 = st.columns(2)
    links.seed("net_split", links.url_choice("split", "energy", P.SPLITS))
    split = c1.radio("Split pixel space at", P.SPLITS, key="net_split", format_func=P.SPLIT_LABELS.get)
    links.seed("net_neuron", links.url_int("neuron", 0, 0, 9))
    neuron = c2.slider("Output neuron (0 is the overlay's target)", 0, 9, key="net_neuron")
    agreement = result(split)
    if agreement is not None:
        arrays.update({f"agreement_{name}": getattr(agreement, name) for name in P.AGREEMENT_PARTS})
        figures["agreement"] = F.agreement_heatmaps(
            P.agreement_stack(P.select_agreement(agreement, shown), neuron), list(P.AGREEMENT_PARTS.values()), labels,
            title=f"Output {neuron}'s effective weights: correlation")
        maps.chart(st, figures["agreement"], "net_agreement")
        st.caption(f"Uncentred correlation (the cosine) of two networks' effective weights of the same output neuron, "
                   f"split at k = {agreement.k}. Two independent random draws correlate about 0; the same map, 1.")
        charts.table(st, P.agreement_table(agreement, configs, neuron), "net_relations",
                     {**{c: NumberColumn(format="%.2f") for c in ("inside", "outside", "whole")},
                                    "inside_all": NumberColumn("inside, every neuron", format="%.2f"),
                                    "outside_all": NumberColumn("outside, every neuron", format="%.2f")})
        charts.table(st, P.init_rows(agreement, configs, neuron), "net_init",
                     {**PERCENT, **{c: NumberColumn(format="%.2f") for c in (
                         "alike its initialisation, inside", "alike its initialisation, outside")}})
        st.caption(f"Each network against itself: the share of output neuron {neuron}'s energy outside, and how alike each "
                   "part of its trained map is to the same part at initialisation (the cosine; 1 would be untouched).")
        story.numbers(words.agreement_words(agreement, configs, neuron))
    links.sync(split=split, neuron=neuron)


agreement_section()

st.header("5 · The initialisation scale")


@st.fragment
def scale_section() -> None:
    """Section 5: when the networks are compared and the attacks' size rerun it alone."""
    figures.pop("scale", None)
    c1, c2 = st.columns(2)
    links.seed("net_when", links.url_choice("when", "matched", ("matched", "final")))
    when = c1.radio("Compare the networks", ("matched", "final"), key="net_when", horizontal=True,
                    format_func={"matched": "at matched accuracy", "final": "after the last epoch"}.get)
    sizes = [f"{e:g}" for e in P.SCALE_EPS]
    links.seed("net_scale_eps", links.url_choice("scale_eps", sizes[-1], sizes))
    scale_eps = c2.radio("L2 size of the attacks", sizes, key="net_scale_eps", horizontal=True)
    rows = result("scale")
    if rows is not None:
        curves = P.scale_curves(rows, when)
        figures["scale"] = F.scale_figure(curves, sizes.index(scale_eps), V.OPTIMIZER_LABELS,
                                          title=f"Against the initialisation scale (attacks of L2 size {scale_eps})")
        maps.chart(st, figures["scale"], "net_scale")
        charts.table(st, P.scale_table(curves, sizes.index(scale_eps)), "net_scale_rows",
                     {"init scale": NumberColumn(format="×%g"), **PERCENT,
                                    "gradient outside": NumberColumn(format="%.2f"),
                                    "weights outside": NumberColumn(format="%.1f")})
        story.numbers(words.scale_sentences(curves))
        st.caption("Melamed, Yehudai and Vardi (NeurIPS 2023) prove that a smaller initialisation makes a two-layer ReLU "
                   "network on data in a linear subspace more robust off it. The attack here is a targeted L2 PGD kept in "
                   "the complement of the data subspace, without the pixel box, as in the theory.")
    links.sync(when=when, scale_eps=scale_eps)


scale_section()

st.header("6 · Beside the published work")
energy, blank, matched = (road.ready(measures[n]) if n in measures else None for n in ("energy", "blank", "scale"))
if transfer is not None and matched is not None:
    for row in summary.published_rows(transfer, configs, P.scale_curves(matched)):
        theirs, ours = st.columns(2)
        theirs.markdown(f"**{row['work']}**\n\n{row['their claim']}\n\n*Their setting:* {row['their setting']}")
        ours.markdown(f"**Ours**\n\n{row['ours']}\n\n*Our setting:* {row['our setting']}")
    st.caption("The published figures are not quoted: they could not be checked against the papers here "
               "from here. Their claims and settings are set beside our numbers and settings.")
with verdicts:
    if None in (transfer, energy, blank, matched):
        st.caption("These findings read every measure below; they follow once all are done.")
    else:
        findings = (summary.transfer_findings(transfer, configs) + summary.agreement_findings(energy, blank, configs)
                    + summary.scale_findings(P.scale_curves(matched)))
        st.markdown("\n".join(f"- **{summary.VERDICT_LABELS[f['verdict']]}.** {f['finding']}" for f in findings))

with notes:
    links.show_notes()
offer("networks", figures, arrays)
links.sync(norm=norm, attack=attack, measure=measure, optimizers=optimizers)
