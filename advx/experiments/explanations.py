"""The results of "Bugs or features?": the post's explanation of adversarial examples and its rivals, measured on
one run's network. Each is computed from the run's weights (the final ones, or every epoch's for the start), the
MNIST test set (its first ``N_IMAGES`` images) or training set, and the data subspace at ``SPLIT_LEVEL``."""

from __future__ import annotations

import jax
import numpy as np

from advx import explanations as X
from advx.config import TrainConfig
from advx.experiments.overlay import test_set
from advx.experiments.spec import Experiment, experiment, fingerprint, tuple_codec
from advx.experiments.subspace import data_subspace
from advx.train import evaluate

# The random keys: one per result, so that no two results share their random starts.
SPLIT_KEY = 0  # PGD's random start in the attack splits
LINEARITY_KEY = 1  # PGD's random start along which linearity is measured
INITIAL_KEY = 2  # PGD's random start in the smallest-ε search over the epochs
ILYAS_KEY = 3  # the random targets and PGD's random starts of the non-robust training sets
# 200 test images give each share to about ±2 points (its spread over images is about 0.15) and keep each
# attack result to seconds; the page's whole background work from nothing stays within 3 minutes on 2 cores.
N_IMAGES = 200
BOUNDARY_IMAGES = 100  # three smallest-ε searches per epoch: half the images keep it to seconds (medians to ±5%)
SPLIT_LEVEL = 0.95  # the data subspace of "Why it happens" and "Many networks": 95% of the images' energy


def _inputs(run, mnist) -> dict:
    return {"run": run.run_id, "weights": fingerprint(run.final_params), "data": mnist.sha}


def _images(mnist) -> tuple[np.ndarray, np.ndarray]:
    x_test, labels = test_set(mnist)
    return x_test[:N_IMAGES], labels[:N_IMAGES]


def _split_k(mnist) -> int:
    return data_subspace(mnist).k_for(SPLIT_LEVEL)


@experiment
def attack_splits(run, mnist, norm: str = "linf") -> Experiment:
    """``advx.explanations.AttackSplits``: the overlay, FGSM, PGD and the smallest flipping PGD at ``norm``, split
    inside/outside the top-k subspace for every k of ``SPLIT_KS``."""
    settings = {"norm": norm, "eps": X.SPLIT_EPS[norm], "ks": list(X.SPLIT_KS), "level": SPLIT_LEVEL,
                "images": N_IMAGES, "key": SPLIT_KEY}

    def compute(report):
        return X.attack_splits(run.final_params, data_subspace(mnist), *_images(mnist), jax.random.key(SPLIT_KEY),
                               norm=norm, level=SPLIT_LEVEL)

    return Experiment("attack splits", f"the four attacks split inside and outside the data subspace "
                      f"({N_IMAGES} images, {len(X.SPLIT_KS) + 1} values of k)", _inputs(run, mnist), settings,
                      compute, tuple_codec(X.AttackSplits))


@experiment
def restricted_attacks(run, mnist) -> Experiment:
    """``advx.explanations.RestrictedAttacks``: L2 PGD kept in the top-k subspace for each k of ``RESTRICTED_KS``
    and the split's k, and unrestricted: the smallest ε each image needs."""
    settings = {"ks": list(X.RESTRICTED_KS), "level": SPLIT_LEVEL, "images": N_IMAGES}

    def compute(report):
        return X.restricted_attacks(run.final_params, data_subspace(mnist), *_images(mnist),
                                    extra_k=_split_k(mnist))

    return Experiment("restricted attacks", f"PGD kept inside the data subspace ({N_IMAGES} images, "
                      f"{len(X.RESTRICTED_KS) + 2} subspaces)", _inputs(run, mnist), settings, compute,
                      tuple_codec(X.RestrictedAttacks))


def ilyas_config(run) -> TrainConfig:
    """The fresh networks of the experiment: the run's shape, every other setting the default."""
    return TrainConfig(hidden=run.config.hidden)


@experiment
def non_robust_training(run, mnist) -> Experiment:
    """``advx.explanations.IlyasResult``: networks trained on the non-robust training sets (60,000 attacked
    images each) and on their parts inside and outside the subspace, tested on the clean test set."""
    config = ilyas_config(run)
    settings = {"eps": X.ILYAS_EPS, "level": SPLIT_LEVEL, "key": ILYAS_KEY, "config": config.digest(),
                "variants": list(X.VARIANTS)}

    def compute(report):
        return X.ilyas_experiment(run.final_params, data_subspace(mnist), _split_k(mnist), mnist, config,
                                  jax.random.key(ILYAS_KEY), run.test_accuracy, report)

    return Experiment("non-robust training", "the non-robust training sets and the networks trained on them "
                      f"({len(X.VARIANTS)} networks of {config.epochs} epochs)", _inputs(run, mnist), settings,
                      compute, tuple_codec(X.IlyasResult))


@experiment
def linearity(run, mnist, norm: str = "linf") -> Experiment:
    """``advx.explanations.Linearity``: the margin along PGD's direction against its first-order prediction, for the
    run's network and a linear softmax model trained the same way."""
    settings = {"norm": norm, "eps": X.SPLIT_EPS[norm], "images": N_IMAGES, "key": LINEARITY_KEY,
                "linear": ilyas_config(run).digest()}

    def compute(report):
        report(0.0, "training the linear softmax model")
        linear = X.train_linear(mnist, ilyas_config(run))
        x_test, labels = test_set(mnist)
        accuracy = float(evaluate(linear, x_test, labels)[1])
        report(0.5, "along the attacks")
        return X.linearity(run.final_params, linear, *_images(mnist), jax.random.key(LINEARITY_KEY), norm=norm,
                           linear_accuracy=accuracy)

    return Experiment("linearity", f"linearity along the attack ({N_IMAGES} images, and a linear model)",
                      _inputs(run, mnist), settings, compute, tuple_codec(X.Linearity))


@experiment
def initial_eps(run, mnist, norm: str = "linf") -> Experiment:
    """``advx.explanations.InitialEps``: the smallest flipping ε at each epoch of ``INITIAL_EPOCHS`` (0: the
    untrained network)."""
    settings = {"norm": norm, "epochs": list(X.INITIAL_EPOCHS), "images": N_IMAGES, "key": INITIAL_KEY}

    def compute(report):
        return X.initial_eps(run, *_images(mnist), jax.random.key(INITIAL_KEY), norm=norm)

    return Experiment("initial eps", f"the smallest flipping ε from the start of training ({N_IMAGES} images, "
                      f"{len(X.INITIAL_EPOCHS)} epochs)", _inputs(run, mnist), settings, compute,
                      tuple_codec(X.InitialEps))


@experiment
def boundary(run, mnist) -> Experiment:
    """``advx.explanations.Boundary``: the distance to the boundary on and off the data subspace after each epoch of
    ``BOUNDARY_EPOCHS``, for the first ``BOUNDARY_IMAGES`` test images."""
    settings = {"epochs": list(X.BOUNDARY_EPOCHS), "level": SPLIT_LEVEL, "images": BOUNDARY_IMAGES}

    def compute(report):
        return X.boundary_over_training(run, data_subspace(mnist), _split_k(mnist),
                                        _images(mnist)[0][:BOUNDARY_IMAGES])

    return Experiment("boundary", f"the boundary during training ({BOUNDARY_IMAGES} images, {len(X.BOUNDARY_EPOCHS)} "
                      "epochs, on and off the data)", _inputs(run, mnist), settings, compute, tuple_codec(X.Boundary))


def measures(run, mnist, norm: str = "linf") -> dict[str, Experiment]:
    """Every result of the page, in the order one worker should take them (the quick ones first)."""
    return {"splits": attack_splits.spec(run, mnist, norm), "initial": initial_eps.spec(run, mnist, norm),
            "linearity": linearity.spec(run, mnist, norm), "restricted": restricted_attacks.spec(run, mnist),
            "ilyas": non_robust_training.spec(run, mnist), "boundary": boundary.spec(run, mnist)}
