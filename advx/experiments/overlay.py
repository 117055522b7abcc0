"""The overlay page's results: the overlay swept over the test set, the attacks beside it, the paper table.

Each is computed from a run's final weights and the MNIST test set; the constants below are part of each
spec, so a notebook that calls the same function gets the page's numbers.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import numpy as np

from advx import attacks as A
from advx.experiments.spec import ROWS, Codec, Experiment, experiment, fingerprint, tuple_codec
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


# The hook Home shows: the post's picture on the run's own network.
HOOK_IMAGE = 0  # the test set's first image, a 7 (the post's digit)
HOOK_TARGET = 0  # the post's target: output neuron 0
HOOK_CONFIDENCE = 0.9  # "with high confidence": the smallest ε of the grid at which 0 gets at least 90%


class Hook(NamedTuple):
    """The post's 7 → 0 on one image: ``original``, ``pattern`` (the unit L∞ pattern), ``adversarial`` (784,) in
    [0, 1]; ``eps`` the smallest ε of ``EPS_GRID["linf"]`` at which ``target`` gets ``HOOK_CONFIDENCE`` (``None``:
    none does, and the largest ε is shown); ``probability`` of the target there, ``clean`` its probability before."""

    image: int
    label: int
    target: int
    eps: Optional[float]
    probability: float
    clean: float
    prediction: int
    original: np.ndarray
    pattern: np.ndarray
    adversarial: np.ndarray


def _hook_codec() -> Codec:
    """``Hook`` kept as arrays; an ``eps`` of ``None`` (no ε of the grid reaches the confidence) as NaN."""
    plain = tuple_codec(Hook)

    def encode(value: Hook):
        return plain.encode(value._replace(eps=float("nan") if value.eps is None else value.eps))

    def decode(arrays, extra) -> Hook:
        value = plain.decode(arrays, extra)
        return value._replace(eps=None if np.isnan(value.eps) else value.eps)

    return Codec(encode, decode)


@experiment
def hook(run, mnist) -> Experiment:
    """The post's overlay of output neuron 0's effective weights on test image ``HOOK_IMAGE``, at the smallest ε
    that makes the network say 0 with ``HOOK_CONFIDENCE``: a ``Hook``. Computed in milliseconds (one image, one ε
    grid) but compiled in about a second, so it is kept: Home reads it back after a restart."""
    settings = {"image": HOOK_IMAGE, "target": HOOK_TARGET, "confidence": HOOK_CONFIDENCE, "key": SWEEP_KEY}
    return Experiment("hook", "the post's overlay on one test image", _run_inputs(run, mnist), settings,
                      lambda report: _hook(run, mnist), _hook_codec())


def _hook(run, mnist) -> Hook:
    x_test, labels = test_set(mnist)
    params, x = run.final_params, x_test[HOOK_IMAGE:HOOK_IMAGE + 1]
    grid = A.EPS_GRID["linf"]
    pattern = A.pattern_for(params, x, HOOK_TARGET, "effective_weights", key=jax.random.key(SWEEP_KEY), norm="linf")
    probs = np.asarray(A.eps_curve(params, x, pattern, np.asarray(grid, np.float32), "linf"))[:, 0]  # (e, 10)
    reached = [i for i in range(len(grid)) if probs[i, HOOK_TARGET] >= HOOK_CONFIDENCE]
    i = reached[0] if reached else len(grid) - 1
    adversarial = np.asarray(A.overlay(x, pattern, grid[i], "linf"))[0]
    clean = np.asarray(A.probabilities(params, x))[0]
    return Hook(HOOK_IMAGE, int(labels[HOOK_IMAGE]), HOOK_TARGET, float(grid[i]) if reached else None,
                float(probs[i, HOOK_TARGET]), float(clean[HOOK_TARGET]), int(probs[i].argmax()), x[0],
                np.asarray(A.unit_pattern(pattern, "linf")).reshape(-1), adversarial)
