"""Bugs or features? The post's explanation of adversarial examples beside its rivals, tested on one network."""

import streamlit as st

from advx import explanations as X
from advx import vocabulary as V
from advx.experiments import explanations as EX
from advx.text import explanations as W
from advx.figures import explanations as F
from ui import charts, links, maps, resources, road, story
from ui.page_downloads import offer

PERCENT = st.column_config.NumberColumn(format="percent")
K_CHOICES = tuple(str(k) for k in X.SPLIT_KS)

st.title("Bugs or features?")
lead = story.lead("views/bugs_or_features.py")
notes = st.container()
st.markdown(W.INTRO)
mnist, run = resources.data(), resources.current_run()

st.header("1 · The explanations and what each predicts")
charts.text_table(st, W.prediction_rows(), "explanation")
c1, c2 = st.columns(2)
links.seed("bf_norm", links.url_choice("norm", "linf", V.NORMS))
norm = c1.radio("Norm of the attacks", V.NORMS, key="bf_norm", horizontal=True,
                format_func=lambda n: f"{V.NORM_LABELS[n]} ε = {X.SPLIT_EPS[n]:g}")
links.seed("bf_k", links.url_choice("k", "100", K_CHOICES))
k = int(c2.select_slider("k, the dimension of the data subspace shown", K_CHOICES, key="bf_k"))
summary = st.container()
jobs = {name: road.ask(spec) for name, spec in EX.measures(run, mnist, norm).items()}
figures, arrays, findings = {}, {}, {}


def show_findings(group: list[dict]) -> None:
    """A section's findings: the verdicts and their points in words, the numbers folded beneath them."""
    st.markdown(W.finding_lines(group))
    story.numbers(W.finding_numbers(group))


maps.hover_toggle("bf_hover")
st.header("2 · Every attack, split inside and outside the data subspace")
if (splits := road.show(jobs["splits"])) is not None:
    labels = {a: W.ATTACK_LABELS[a] for a in X.ATTACKS}
    for column, (name, field, y_title) in zip(st.columns(2), (
            ("energy", "energy_outside", "share of the energy outside"),
            ("logit", "logit_outside", "share of the target logit's change from outside"))):
        figures[f"split_{name}"] = F.split_curves(splits.ks, getattr(splits, field), splits.random_outside, labels,
                                                  splits.k_level, title=f"{y_title.capitalize()}", y_title=y_title)
        maps.chart(column, figures[f"split_{name}"], f"bf_split_{name}")
    charts.table(st, W.split_rows(splits, k), "bf_split_rows",
                 {c: PERCENT for c in ("reaches the target", "energy outside",
                                                     "logit change from outside", "random direction outside")})
    st.caption(W.NOTES["splits"])
    findings["splits"] = W.split_findings(splits)
    show_findings(findings["splits"])
    arrays |= {f"split_{f}": getattr(splits, f) for f in ("ks", "energy_outside", "logit_outside", "success")}

st.header("3 · Attacks kept inside the data subspace")
if (restricted := road.show(jobs["restricted"])) is not None:
    left, right = st.columns(2)
    figures["restricted"] = F.restricted_eps(restricted.ks, restricted.smallest,
                                             title="The ε PGD needs, kept in the data subspace")
    maps.chart(left, figures["restricted"], "bf_restricted")
    rows, captions, shown = W.gallery_rows(restricted, k)
    figures["gallery"] = F.gallery(rows, captions, title=f"Clean, kept in the top-{shown} subspace, unrestricted")
    maps.show(right, figures["gallery"], "bf_gallery")
    st.caption(W.NOTES["restricted"])
    findings["restricted"] = W.restricted_findings(restricted, splits.k_level if splits is not None else 100)
    show_findings(findings["restricted"][:1])
    arrays |= {"restricted_ks": restricted.ks, "restricted_smallest": restricted.smallest}

st.header("4 · Features, not bugs: training on the attacks alone")
if (ilyas := road.show(jobs["ilyas"])) is not None:
    variants = dict(zip(X.VARIANTS, W.VARIANT_LABELS))
    figures["ilyas"] = F.accuracy_bars(W.ilyas_rows(ilyas, variants), chance=X.verdicts.CHANCE,
                                       title="Trained on attacks, tested on clean digits")
    maps.chart(st, figures["ilyas"], "bf_ilyas")
    st.caption(W.NOTES["ilyas"] + " " + W.ILYAS_PUBLISHED)
    findings["ilyas"] = W.ilyas_findings(ilyas)
    show_findings(findings["ilyas"])
    arrays |= {"ilyas_accuracy": ilyas.accuracy, "ilyas_success": ilyas.success}

st.header("5 · Linearity along the attack")
if (lin := road.show(jobs["linearity"])) is not None:
    models = {"mlp": "this MLP", "linear": "a linear softmax model"}
    axis = f"distance along the attack ({V.NORM_LABELS[lin.norm]})"
    for column, (name, curves, y_title, percent) in zip(st.columns(2), (
            ("ratio", {"mlp": lin.mlp_ratio, "linear": lin.linear_ratio}, "true / first-order change", False),
            ("flipped", {"mlp": lin.mlp_flipped, "linear": lin.linear_flipped}, "share the target wins", True))):
        figures[f"linearity_{name}"] = F.model_curves(lin.sizes, curves, models, lin.eps, title=y_title.capitalize(),
                                                      x_title=axis, y_title=y_title, percent=percent)
        maps.chart(column, figures[f"linearity_{name}"], f"bf_linearity_{name}")
    st.caption(W.NOTES["linearity"])
    findings["linearity"] = W.linearity_findings(lin)
    show_findings(findings["linearity"])

st.header("6 · Already at the start")
if (initial := road.show(jobs["initial"])) is not None:
    figures["initial"] = F.epoch_eps(initial.epochs, initial.smallest, initial.accuracy,
                                     norm_label=V.NORM_LABELS[initial.norm],
                                     title="Smallest ε that flips an image")
    maps.chart(st, figures["initial"], "bf_initial")
    st.caption(W.NOTES["initial"])
    findings["initial"] = W.initial_findings(initial)
    show_findings(findings["initial"])
    arrays |= {"initial_epochs": initial.epochs, "initial_smallest": initial.smallest}

st.header("7 · The boundary during training")
if (boundary := road.show(jobs["boundary"])) is not None:
    parts = {"inside": f"on the data (top-{boundary.k})", "outside": "off the data", "anywhere": "unrestricted"}
    figures["boundary"] = F.boundary_lines(boundary.epochs, W.boundary_medians(boundary), parts,
                                           title="Distance to the boundary, by epoch")
    maps.chart(st, figures["boundary"], "bf_boundary")
    st.caption(W.NOTES["boundary"])
    findings["boundary"] = W.boundary_findings(boundary)
    show_findings(findings["boundary"])
    arrays |= {f"boundary_{name}": getattr(boundary, name) for name in ("epochs", "inside", "outside", "anywhere")}

with summary:
    if len(findings) < len(jobs):
        st.caption("The verdicts read every measure below; they follow once all are done.")
    else:
        charts.text_table(st, W.verdict_rows([f for group in findings.values() for f in group]), "explanation")

with notes:
    links.show_notes()
offer("bugs_or_features", figures, arrays)
links.sync(norm=norm, k=k)
