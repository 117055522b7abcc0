"""The data subspace and the counterfactual columns of "Why it happens", kept on disk."""

from __future__ import annotations

import jax
import numpy as np

from advx import subspace as S
from advx.experiments.neurons import train_pixels
from advx.experiments.overlay import test_set
from advx.experiments.spec import ARRAY, Codec, Experiment, experiment, fingerprint

COUNTERFACTUAL_KEY = 0  # PGD's random start in every counterfactual column


@experiment
def data_subspace(mnist, centred: bool = False) -> Experiment:
    """``advx.subspace.DataSubspace``: the PCA of the 60,000 training images (uncentred by default)."""
    return Experiment("subspace", "the data subspace (PCA of the training images)", {"data": mnist.sha},
                      {"centred": bool(centred)}, lambda report: S.fit_subspace(train_pixels(mnist), centred),
                      Codec(S.encode_subspace, S.subspace_decoder(centred)))


@experiment
def digit_energy_shares(mnist, k: int) -> Experiment:
    """``(10000,)`` float32: the share of each test image's energy inside the top-``k`` data subspace (the digits
    "Draw a digit" sets a drawing against)."""
    k = int(k)

    def compute(report):
        sub = data_subspace(mnist)
        return np.asarray(S.energy_fraction(sub, test_set(mnist)[0].T, sub.check_k(k)), np.float32)

    return Experiment("digit energy shares", f"the test digits' energy inside the top-{k} data subspace",
                      {"data": mnist.sha}, {"k": k}, compute, ARRAY)


@experiment
def counterfactual_column(run, mnist, k: int = 0) -> Experiment:
    """``advx.subspace.AttackRates`` of ``run``'s final network (``k`` = 0) or of it with its first layer
    projected onto the top-``k`` data subspace: one column of the counterfactual table."""
    k = int(k)
    settings = dict(S.attack_settings(len(mnist.test_labels)), seed=COUNTERFACTUAL_KEY, k=k)

    def compute(report):
        params = run.final_params
        if k:
            sub = data_subspace(mnist)
            params = S.project_first_layer(params, sub, sub.check_k(k))
        return S.attack_rates(params, mnist.test_images, mnist.test_labels, jax.random.key(COUNTERFACTUAL_KEY))

    inputs = {"run": run.run_id, "weights": fingerprint(run.final_params), "data": mnist.sha}
    return Experiment("counterfactual", f"the attacks on the network at k = {k}", inputs, settings, compute,
                      Codec(S.encode_attack_rates, S.decode_attack_rates))
