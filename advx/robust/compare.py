"""The whole comparison of a standard run and a robust one, as one NamedTuple of arrays and numbers.

``compare_runs`` gathers every measure of this package on the first ``n_images`` test images, for both
networks; ``advx.experiments.robust_comparison`` keeps it on disk, its settings naming both runs. Every array with a leading axis of 2 has the
standard network at 0 and the robust one at 1 (``NETWORKS``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from advx.attacks.gradient import as_model_fn
from advx.data import MNIST
from advx.model import to_pixels
from advx.robust.accuracy import PGD_STEPS, RESTARTS, clean_correct
from advx.robust.defaults import L2_EPS, LINF_EPS
from advx.robust.maps import MAP_IMAGES, MapMeasures, class_averages, map_measures_by_epoch
from advx.robust.masking import attack_pair
from advx.robust.search import QUERIES
from advx.robust.post_measures import overlay_summary, sparsity_counts, subspace_shares
from advx.subspace.pca import DataSubspace

NETWORKS = ("standard", "robust")
ATTACK_ROWS = ("pgd", "transfer", "square", "foolbox", "worst")
COMPARISON_IMAGES = 500  # a share near 0.8 then has a standard error of about 1.8 points
REFERENCE_IMAGES = 10000  # training images over which each neuron's largest activation is taken


class RobustComparison(NamedTuple):
    """Every measure of a standard (index 0) and a robust (index 1) network.

    Accuracy: ``clean_accuracy (2,)``; ``linf_accuracy (2, 5, 4)`` and ``l2_accuracy (2, 5, 4)``: rows
    ``ATTACK_ROWS`` (PGD-``pgd_steps`` with ``restarts``, transfer from the other network, the Square-style
    search with ``queries`` and Foolbox's PGD (NaN where not run: Foolbox missing, or the standard network
    unchecked), and the per-image worst case, the robust accuracy to report), columns ``linf_eps`` / ``l2_eps``.
    Maps (``advx.robust.maps``): ``map_*`` ``(2, epochs + 1, 3)``, epoch 0 the initialisation, columns
    ``MAP_KINDS``; a run shorter than the other is padded with NaN after its ``epochs``.
    Subspace: ``effective_inside (2, layers)`` and ``delta_w1_inside (2,)`` at ``subspace_k``; ``random_inside``
    ``k / 784``. Overlay: ``overlay_success`` and ``overlay_control`` ``(2, e)`` at ``overlay_eps``, L-inf.
    Sparsity: ``high_per_image`` and ``mild_per_image`` ``(2, hidden layers)``.
    """

    n_images: int
    map_images: int
    pgd_steps: int
    restarts: int
    queries: int
    linf_eps: np.ndarray
    l2_eps: np.ndarray
    clean_accuracy: np.ndarray
    linf_accuracy: np.ndarray
    l2_accuracy: np.ndarray
    epochs: np.ndarray
    map_high_frequency: np.ndarray
    map_roughness: np.ndarray
    map_correlation: np.ndarray
    map_correlation_centred: np.ndarray
    subspace_k: int
    effective_inside: np.ndarray
    delta_w1_inside: np.ndarray
    random_inside: float
    overlay_eps: np.ndarray
    overlay_success: np.ndarray
    overlay_control: np.ndarray
    high_per_image: np.ndarray
    mild_per_image: np.ndarray


def accuracy_tables(params: tuple[dict, dict], images, labels, eps_grid, key: jax.Array, *, norm: str = "linf",
                    steps: int = PGD_STEPS, restarts: int = RESTARTS, queries: int = QUERIES,
                    foolbox: bool = True, checked: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """``(2, 5, e)``: the accuracy of each of two networks under each of ``ATTACK_ROWS`` at each eps of
    ``eps_grid`` (``advx.robust.masking.attack_pair``: each network is the other's transfer source; NaN for an
    attack that did not run, as the search and Foolbox's PGD on a network whose ``checked`` is False)."""
    tables = np.empty((2, len(ATTACK_ROWS), len(eps_grid)))
    for j, eps in enumerate(eps_grid):
        pair = attack_pair(params, images, labels, float(eps), jax.random.fold_in(key, j), norm=norm, steps=steps,
                           restarts=restarts, queries=queries, foolbox=foolbox, checked=checked)
        for i, results in enumerate(pair):
            found = results.accuracies()
            tables[i, :, j] = [found[name] for name in ATTACK_ROWS]
    return tables


def _padded(per_run: list[MapMeasures], length: int) -> list[np.ndarray]:
    out = []
    for field in MapMeasures._fields:
        stack = np.full((len(per_run), length, 3), np.nan)
        for i, m in enumerate(per_run):
            values = getattr(m, field)
            stack[i, : len(values)] = values
        out.append(stack)
    return out


def compare_runs(standard, robust, data: MNIST, *, sub: DataSubspace,
                 n_images: int = COMPARISON_IMAGES, map_images: int = MAP_IMAGES, steps: int = PGD_STEPS,
                 restarts: int = RESTARTS, queries: int = QUERIES, foolbox: bool = True, check_standard: bool = False,
                 seed: int = 0, linf_eps=LINF_EPS, l2_eps=L2_EPS) -> RobustComparison:
    """Every measure of ``standard`` and ``robust`` (``advx.train.Run``) on the first ``n_images`` test images
    (``map_images`` of them for the per-image maps), split at the data subspace ``sub`` (the uncentred PCA of
    the training images: ``advx.experiments.data_subspace``). The checks against gradient masking (the search, Foolbox's PGD) run on the robust network,
    and on the standard one too with ``check_standard``. Deterministic for a given ``seed``.
    """
    images = to_pixels(np.asarray(data.test_images[:n_images]).reshape(-1, 784))
    labels = np.asarray(data.test_labels[:n_images], np.int32)
    reference = np.asarray(data.train_images[:REFERENCE_IMAGES]).reshape(-1, 784)
    averages = class_averages(data.train_images, data.train_labels)
    key = jax.random.PRNGKey(seed)
    runs = (standard, robust)
    finals = (standard.final_params, robust.final_params)
    tables = {norm: accuracy_tables(finals, images, labels, grid, jax.random.fold_in(key, j), norm=norm, steps=steps,
                                    restarts=restarts, queries=queries, foolbox=foolbox,
                                    checked=(check_standard, True))
              for j, (norm, grid) in enumerate((("linf", linf_eps), ("l2", l2_eps)))}
    clean, maps, inside, delta, overlay, control, high, mild = ([] for _ in range(8))
    for i, run in enumerate(runs):
        params = run.final_params
        clean.append(float(clean_correct(as_model_fn(params), images, labels).mean()))
        maps.append(map_measures_by_epoch(run.params_history, images[:map_images], labels[:map_images], averages))
        shares = subspace_shares(sub, params, run.init_params)
        inside.append(shares.effective)
        delta.append(shares.delta_w1)
        summary = overlay_summary(params, images, labels, jax.random.fold_in(key, 100 + i))
        overlay.append(summary.success)
        control.append(summary.control_success)
        counts = sparsity_counts(params, images, reference)
        high.append(counts.high)
        mild.append(counts.mild)
    epochs = np.array([run.n_epochs for run in runs])
    return RobustComparison(
        int(n_images), int(min(map_images, n_images)), int(steps), int(restarts), int(queries),
        np.asarray(linf_eps, np.float64), np.asarray(l2_eps, np.float64), np.asarray(clean), tables["linf"],
        tables["l2"], epochs, *_padded(maps, int(epochs.max()) + 1), shares.k, np.stack(inside),
        np.asarray(delta), shares.random, np.asarray(summary.eps_grid, np.float64), np.stack(overlay),
        np.stack(control), np.stack(high), np.stack(mild))
