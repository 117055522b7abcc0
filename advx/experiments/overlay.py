"""The overlay page's results: the overlay swept over the test set, the attacks beside it, the paper table.

Each is computed from a run's final weights and the MNIST test set; the constants below are part of each
spec, so a notebook that calls the same function gets the page's numbers.
"""

from __future__ import annotations

from typing import Optional

import jax
import numpy as np

from advx import attacks as A
from advx.experiments.spec import ROWS, Experiment, experiment, fingerprint, tuple_codec
from advx.model import to_pixels

# The random keys: one per result, so that no two results share their random patterns or starts.
SWEEP_KEY = 0  # the patterns that need randomness (a random neuron's sign pattern)
CONTROL_KEY = 1  # the random control patterns of the same norm
COMPARISON_KEY = 2  # PGD's random start in the FGSM/PGD comparison
PAPER_KEY = 3  # PGD's random start in the paper table
# FGSM and PGD compute a perturbation per image and per ε: the first 2,000 test images give every rate to
# about ±1 point (binomial, n ≈ 1,800 correctly classified) in a tenth of the whole set's time.
COMPARISON_IMAGES = 2000


def _run_inputs(run, mnist) -> dict:
    return {"run": run.run_id, "weights": fingerprint(run.final_params), "data": mnist.sha}


def test_set(mnist) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (10000, 784) float32 in [0, 1], labels (10000,) int32)``: the test set as the attacks take it."""
    return to_pixels(mnist.test_images), np.asarray(mnist.test_labels, np.int32)


def clean_predictions(params, x_test) -> np.ndarray:
    """``(n,)`` the network's own answers on ``x_test``: the one definition the sweep and the page use."""
    return np.asarray(A.predictions(params, x_test))


@experiment
def overlay_summary(run, mnist, *, source: str = "effective_weights", norm: str = "linf", layer: str = "output",
                    neuron: Optional[int] = None) -> Experiment:
    """The overlay of ``source`` patterns swept over the whole test set, every target and ε of
    ``advx.attacks.EPS_GRID[norm]``, beside random patterns of the same norm: an ``advx.attacks.SweepSummary``."""
    settings = {"source": source, "norm": norm, "layer": layer, "neuron": neuron, "key": SWEEP_KEY,
                "control_key": CONTROL_KEY}

    def compute(report):
        x_test, labels = test_set(mnist)
        report(0.0, "the overlay")
        sweep = A.source_sweep(run.final_params, x_test, source, norm, key=jax.random.key(SWEEP_KEY), layer=layer,
                               neuron=neuron)
        report(0.6, "random patterns of the same norm")
        control = A.control_sweep(run.final_params, x_test, A.control_kind(source), norm,
                                  key=jax.random.key(CONTROL_KEY))
        return A.summarise(sweep, control, labels, clean_predictions(run.final_params, x_test))

    return Experiment("overlay", "the overlay swept over the test set (25 ε × 10 targets × 10,000 images)",
                      _run_inputs(run, mnist), settings, compute, tuple_codec(A.SweepSummary))


@experiment
def attack_comparison(run, mnist, target: int = 0) -> Experiment:
    """The overlay beside FGSM and PGD at equal ε, targeted at ``target``, on the first ``COMPARISON_IMAGES``
    test images (``advx.attacks.comparison_table`` rows)."""
    settings = {"target": int(target), "images": COMPARISON_IMAGES, "key": COMPARISON_KEY}

    def compute(report):
        x_test, labels = test_set(mnist)
        n = COMPARISON_IMAGES
        return A.comparison_table(run.final_params, x_test[:n], labels[:n], int(target),
                                  jax.random.key(COMPARISON_KEY))

    return Experiment("comparison", "FGSM and PGD at every ε", _run_inputs(run, mnist), settings, compute, ROWS)


@experiment
def paper_table(run, mnist) -> Experiment:
    """FGSM and PGD over the whole test set at the papers' ε, beside the published figures
    (``advx.attacks.paper_rows``)."""

    def compute(report):
        x_test, labels = test_set(mnist)
        return A.paper_rows(A.paper_table(run.final_params, x_test, labels, key=jax.random.key(PAPER_KEY)))

    return Experiment("paper", "FGSM and PGD over the test set for the paper table", _run_inputs(run, mnist),
                      {"key": PAPER_KEY}, compute, ROWS)
