"""The street-smart page's result: a book-smart (standard) run and a street-smart (adversarially trained) one,
compared by every measure of ``advx.robust.compare_runs``."""

from __future__ import annotations

from advx import robust as R
from advx.experiments.spec import Experiment, experiment, fingerprint, tuple_codec
from advx.experiments.subspace import data_subspace

# The comparison's sizes: ``advx.robust``'s defaults, each chosen there (500 images give a share near 0.8 to
# about ±1.8 points; PGD-40 with 3 restarts; the random search's query budget).
SIZES = {"n_images": R.COMPARISON_IMAGES, "map_images": R.MAP_IMAGES, "steps": R.PGD_STEPS,
         "restarts": R.RESTARTS, "queries": R.QUERIES}
SEED = 0  # the random starts and the search's draws
# Foolbox is a test requirement, not an app one, so the app never runs it: a kept result does not depend on what
# is installed (its check runs in the tests).
FOOLBOX = False


@experiment
def robust_comparison(standard, robust, mnist, sizes: dict | None = None) -> Experiment:
    """``advx.robust.RobustComparison`` of ``standard`` and ``robust`` (``advx.train.Run``): every attack at every ε
    of ``advx.robust.eps_grids(robust.config)``, the maps at every epoch, the post's measures."""
    sizes = dict(SIZES if sizes is None else sizes)
    grids = R.eps_grids(robust.config)
    settings = {**sizes, "foolbox": FOOLBOX, "seed": SEED, "linf_eps": list(grids["linf"]),
                "l2_eps": list(grids["l2"])}
    inputs = {"standard": standard.run_id, "robust": robust.run_id, "data": mnist.sha,
              "weights": fingerprint((standard.final_params, robust.final_params))}

    def compute(report):
        return R.compare_runs(standard, robust, mnist, sub=data_subspace(mnist), foolbox=FOOLBOX, seed=SEED,
                              linf_eps=grids["linf"], l2_eps=grids["l2"], **sizes)

    return Experiment("robust", f"the comparison of the two networks (every attack at every ε on {sizes['n_images']} "
                      "test images, the maps at every epoch)", inputs, settings, compute, tuple_codec(R.RobustComparison))
