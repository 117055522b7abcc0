"""advx.population.selection, advx.text.population and .population_summary (one optimizer's networks, tables per
optimizer, findings with their verdicts) and advx.figures.population, on small hand-made results whose answers are
known."""

from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

from advx import experiments as E
from advx import population as P
from advx.figures import population as F
from advx import vocabulary as V
from advx.text import population as words
from advx.text import population_summary as summary

CONFIGS = P.population_configs(seeds=(0, 1))  # Adam seed 0, Adam seed 1, SGD seed 0, SGD seed 1


def _transfer(own: float, others: float, outside_others: float | None = None) -> P.TransferMatrices:
    """Four networks; every attack and part succeeds ``own`` on its source and ``others`` elsewhere (the part
    outside: ``outside_others`` elsewhere, when given)."""
    table = np.full((4, 3, 4, 4), others)
    if outside_others is not None:
        table[:, 2] = outside_others
    for s in range(4):
        table[:, :, s, s] = own
    sizes = np.arange(4 * 3 * 4, dtype=float).reshape(4, 3, 4)
    return P.TransferMatrices(0.3, "linf", 100, table, table / 2, sizes, np.linspace(0.9, 0.93, 4), np.arange(4) + 400)


def _agreement(outside_other_seed: float, outside_same_seed: float = 0.6) -> P.Agreement:
    """Four networks of ``CONFIGS``: inside 0.8 everywhere; outside ``outside_other_seed`` between seeds and
    ``outside_same_seed`` between the two optimizers of one seed."""
    inside = np.full((4, 4, 10), 0.8)
    outside = np.full((4, 4, 10), outside_other_seed)
    for a, b in ((0, 2), (1, 3)):
        outside[a, b] = outside[b, a] = outside_same_seed
    for m in (inside, outside):
        m[np.arange(4), np.arange(4)] = 1.0
    per_net = np.tile(np.arange(4)[:, None] / 10, (1, 10))
    return P.Agreement(100, (inside + outside) / 2, inside, outside, per_net, per_net + 0.01, per_net + 0.02)


def _curves(adam_rise: float, sgd_rise: float) -> list[dict]:
    rows = []
    for optimizer, rise in (("adam", adam_rise), ("sgd", sgd_rise)):
        for scale, factor in ((0.25, 1.0), (1.0, 1.0), (2.0, rise)):
            rows.append({"optimizer": optimizer, "init_scale": scale, "seeds": 2, "eps": [1.0, 3.0],
                         "test_acc": 0.97, "weights_outside": 30 * factor, "weights_share_outside": 0.3,
                         "gradient": 10.0, "gradient_outside": 5 * factor, "gradient_share_outside": 0.2,
                         "success_outside": [0.1, 0.2 * factor], "success_anywhere": [0.5, 0.6]})
    return rows


def test_members_by_optimizer_and_bad_filters():
    assert P.members_of(CONFIGS) == [0, 1, 2, 3]
    assert P.members_of(CONFIGS, "sgd") == [2, 3]
    assert P.by_optimizer(CONFIGS) == {"adam": [0, 1], "sgd": [2, 3]}
    assert P.by_optimizer(CONFIGS[:2]) == {"adam": [0, 1]}
    with pytest.raises(P.PopulationError, match="optimizer filter"):
        P.members_of(CONFIGS, "rmsprop")


def test_split_k(mnist):

    sub = E.data_subspace(mnist)
    assert P.split_k(sub, "energy") == sub.k_for(P.SPLIT_LEVEL)
    assert P.split_k(sub, "blank") == sub.n_nonblank > P.split_k(sub, "energy")
    with pytest.raises(P.PopulationError, match="split"):
        P.split_k(sub, "middle")


def test_selections_slice_sources_targets_and_networks():
    result = _transfer(0.9, 0.3)
    result = result._replace(success=np.random.default_rng(0).random(result.success.shape))
    picked = P.select_transfer(result, [1, 3])
    np.testing.assert_array_equal(picked.success, result.success[:, :, [1, 3]][:, :, :, [1, 3]])
    np.testing.assert_array_equal(picked.part_l2, result.part_l2[:, :, [1, 3]])
    assert list(picked.n_attacked) == [401, 403] and picked.k == result.k and picked.norm == "linf"
    everything = P.select_transfer(result, range(4))
    np.testing.assert_array_equal(everything.success, result.success)

    agreement = _agreement(0.5)
    chosen = P.select_agreement(agreement, [0, 2])
    assert chosen.outside.shape == (2, 2, 10) and chosen.outside[0, 1, 0] == pytest.approx(0.6)
    np.testing.assert_array_equal(chosen.init_outside, agreement.init_outside[[0, 2]])
    stack = P.agreement_stack(agreement, 3)
    assert stack.shape == (3, 4, 4)
    np.testing.assert_array_equal(stack[1], agreement.outside[..., 3])  # the order of AGREEMENT_PARTS


def test_tables_report_each_optimizer_apart():
    rows = words.transfer_table(_transfer(0.9, 0.3), CONFIGS)
    assert len(rows) == 2 * len(P.TRANSFER_ATTACKS) * len(P.PARTS)
    assert {r["optimizer"] for r in rows} == {"Adam", "SGD"}
    assert all(r["ratio"] == pytest.approx(1 / 3) for r in rows)
    assert [r["part_name"] for r in rows[:3]] == list(P.PARTS)

    table = P.agreement_table(_agreement(0.5, 0.7), CONFIGS)
    assert [(r["optimizer"], r["relation"]) for r in table] == [
        ("Adam", P.RELATIONS[0]), ("SGD", P.RELATIONS[0]), (P.ACROSS, P.RELATIONS[1]), (P.ACROSS, P.RELATIONS[2])]
    assert table[0]["outside"] == pytest.approx(0.5) and table[2]["outside"] == pytest.approx(0.7)
    sentences = words.agreement_words(_agreement(0.5, 0.7), CONFIGS)
    assert sentences[0].startswith("Adam: ") and sentences[1].startswith("SGD: ") and "same seed" in sentences[2]

    init = P.init_rows(_agreement(0.5), CONFIGS, neuron=2)
    assert [r["network"] for r in init] == ["Adam, seed 0", "Adam, seed 1", "SGD, seed 0", "SGD, seed 1"]
    assert init[3]["alike its initialisation, outside"] == pytest.approx(0.32)


def test_member_rows_list_a_shared_network_once():
    def run(config, accuracy):
        return SimpleNamespace(config=config, run_id=f"id-{config.digest()}", n_epochs=15, test_accuracy=accuracy)

    shared, alone = run(CONFIGS[0], 0.97), run(CONFIGS[1], 0.96)
    rows = P.member_rows({"transfer": SimpleNamespace(runs=(shared, alone)), "scale": SimpleNamespace(runs=(shared,))})
    assert [(r["network"], r["used for"]) for r in rows] == [("Adam, seed 0", "transfer, scale"),
                                                             ("Adam, seed 1", "transfer")]
    assert rows[1]["test accuracy"] == 0.96


def test_findings_take_their_verdicts_from_the_numbers():
    far = summary.transfer_findings(_transfer(0.9, 0.2, outside_others=0.05), CONFIGS)
    assert [f["verdict"] for f in far[:2]] == ["holds", "holds"]
    assert "Adam 0.22, SGD 0.22" in far[0]["finding"]
    shared = summary.transfer_findings(_transfer(0.9, 0.85), CONFIGS)
    assert shared[0]["verdict"] == "fails" and "weakness is shared" in shared[0]["finding"]
    assert shared[1]["verdict"] == "fails"  # the outside part transfers as well as the inside one

    learned = summary.agreement_findings(_agreement(0.5), _agreement(0.02, 0.6), CONFIGS)
    assert learned[0]["verdict"] == "fails" and "largely learned" in learned[0]["finding"]
    assert learned[1]["verdict"] == "holds" and "initialisation's" in learned[1]["finding"]
    inherited = summary.agreement_findings(_agreement(0.02), _agreement(0.3, 0.1), CONFIGS)
    assert inherited[0]["verdict"] == "holds" and inherited[1]["verdict"] == "fails"

    scale = summary.scale_findings(_curves(adam_rise=1.0, sgd_rise=2.0))
    assert [(f["verdict"], f["finding"].split(",")[0]) for f in scale] == [("fails", "Adam"), ("holds", "SGD")]
    assert "Adam ignores the initialisation scale" in scale[0]["finding"]
    assert "most of the rise comes above ×1" in scale[1]["finding"]
    assert set(summary.VERDICT_LABELS) == {"holds", "partly", "fails"}


def test_published_rows_set_each_claim_beside_our_numbers():
    rows = summary.published_rows(_transfer(0.9, 0.3), CONFIGS, _curves(1.0, 2.0))
    assert [r["work"] for r in rows] == [claim.source for claim in words.PUBLISHED]
    assert "100%" not in rows[0]["ours"] and "90% of its own correct digits and 30%" in rows[0]["ours"]
    assert "top-100" in rows[1]["ours"] and "×0.25, ×1, ×2, 2 seeds each" in rows[2]["our setting"]


def _validated(fig: go.Figure) -> dict:
    """The figure's spec, checked by Plotly's own validation (the builders skip it for speed)."""
    return go.Figure(fig.to_dict()).to_dict()


def test_heatmaps_share_one_colour_axis_and_name_their_facets():
    labels = ["Adam, seed 0", "Adam, seed 1", "SGD, seed 0"]
    stack = np.random.default_rng(1).random((3, 3, 3))
    stack[1, 0, 0] = np.nan
    spec = _validated(F.transfer_heatmaps(stack, ["whole", "inside", "outside"], labels, title="t"))
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["whole", "inside", "outside"]
    assert {t["coloraxis"] for t in spec["data"]} == {"coloraxis"}
    assert (spec["layout"]["coloraxis"]["cmin"], spec["layout"]["coloraxis"]["cmax"]) == (0, 1)
    assert spec["data"][1]["z"][0][0] is None and spec["data"][2]["xaxis"] == "x3"
    signed = _validated(F.agreement_heatmaps(stack * 2 - 1, ["a", "b", "c"], labels, title="t"))
    axis = signed["layout"]["coloraxis"]
    assert (axis["cmin"], axis["cmax"]) == (-1, 1) and axis["colorscale"][0][1] != axis["colorscale"][-1][1]


def test_split_bars_and_scale_curves_have_one_facet_per_optimizer_and_measure():
    rows = words.transfer_table(_transfer(0.9, 0.3), CONFIGS)
    spec = _validated(F.split_bars(rows, words.PART_LABELS, V.OPTIMIZER_LABELS, title="t"))
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["Adam", "SGD"]
    assert len(spec["data"]) == 2 * len(P.PARTS) and sum(t["showlegend"] for t in spec["data"]) == len(P.PARTS)
    curves = _curves(1.0, 2.0)
    spec = _validated(F.scale_figure(curves, 1, V.OPTIMIZER_LABELS, title="t"))
    assert len(spec["layout"]["annotations"]) == len(F.SCALE_PANELS)
    sgd_success = [t for t in spec["data"] if t["name"] == "SGD" and t["yaxis"] == "y3"][0]
    assert list(sgd_success["y"]) == [0.2, 0.2, 0.4]
    table = P.scale_table(curves, 0)
    assert table[0]["L2 ε"] == 1.0 and table[0]["attack kept outside"] == 0.1
