"""The many-networks page's measures of a population: transfer between networks, agreement of their weights,
and the initialisation-scale test, each split at the data subspace of ``advx.population.SPLIT_LEVEL``."""

from __future__ import annotations

from advx import population as P
from advx.experiments.spec import ROWS, Experiment, experiment, fingerprint, tuple_codec
from advx.experiments.subspace import data_subspace
from advx.vocabulary import NORM_LABELS, NORMS
from advx.experiments.runs import POPULATIONS

TRANSFER_SEED = 0  # PGD's random start in the transfer matrices


def _inputs(population, mnist) -> dict:
    return {"population": population.run_id, "weights": fingerprint(population.final_params), "data": mnist.sha}


@experiment
def transfer(population, mnist, norm: str = "linf") -> Experiment:
    """``advx.population.TransferMatrices``: the overlay, its sign, FGSM and PGD crafted on each network of
    ``population`` at ``TRANSFER_EPS[norm]`` and shown to every other, whole and split inside/outside."""
    eps = P.TRANSFER_EPS[norm]
    settings = {"level": P.SPLIT_LEVEL, "norm": norm, "eps": eps, "images": P.TRANSFER_IMAGES, "seed": TRANSFER_SEED}

    def compute(report):
        sub = data_subspace(mnist)
        return P.transfer_matrices(population.params(), sub, P.split_k(sub, "energy"), mnist.test_images,
                                   mnist.test_labels, eps=eps, norm=norm, n_attack=P.TRANSFER_IMAGES,
                                   seed=TRANSFER_SEED)

    label = (f"the transfer matrices at {NORM_LABELS[norm]} ε = {eps:g} (four attacks crafted on each of the "
             f"{len(population)} networks, shown to every other)")
    return Experiment("transfer", label, _inputs(population, mnist), settings, compute,
                      tuple_codec(P.TransferMatrices))


@experiment
def agreement(population, mnist, split: str = "energy") -> Experiment:
    """``advx.population.Agreement`` of the output neurons' effective weights between the networks, inside and
    outside the subspace of ``split`` (one of ``SPLITS``), and with their initialisations."""

    def compute(report):
        sub = data_subspace(mnist)
        return P.agreement(population.params(), sub, P.split_k(sub, split), init=population.params(0))

    return Experiment("agreement", "the correlations between the networks' weights", _inputs(population, mnist),
                      {"level": P.SPLIT_LEVEL, "split": split, "layer": "output", "init": True}, compute,
                      tuple_codec(P.Agreement))


@experiment
def scale(population, mnist) -> Experiment:
    """``advx.population.scale_rows``: the initialisation-scale test, each network at matched accuracy and at the
    end."""

    def compute(report):
        sub = data_subspace(mnist)
        return P.scale_rows(population.runs, sub, P.split_k(sub, "energy"), mnist.test_images, mnist.test_labels)

    return Experiment("scale", f"the initialisation-scale test ({len(population)} networks, each at matched "
                      "accuracy and at the end)", _inputs(population, mnist),
                      {"level": P.SPLIT_LEVEL, "eps": list(P.SCALE_EPS), "images": P.SCALE_IMAGES}, compute, ROWS)


def measures(networks: dict, mnist, norm: str = "linf") -> dict[str, Experiment]:
    """Every measure of the many-networks page, in the order one worker should take them: the quick agreements
    (``{split: ...}``), the transfer at ``norm`` (``"transfer"``), the scale test (``"scale"``), then the other
    norms' transfer (``"transfer <norm>"``), so that a change of norm finds it ready. ``networks``: the
    ``populations`` experiment's result."""
    shared, scaled = (networks[use] for use in POPULATIONS)
    out = {split: agreement.spec(shared, mnist, split) for split in P.SPLITS}
    out |= {"transfer": transfer.spec(shared, mnist, norm), "scale": scale.spec(scaled, mnist)}
    return out | {f"transfer {other}": transfer.spec(shared, mnist, other) for other in NORMS if other != norm}
