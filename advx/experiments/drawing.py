"""What "Draw a digit" computes for a drawing and keeps on disk: the smallest targeted-PGD ε."""

from __future__ import annotations

import numpy as np

from advx import drawing as D
from advx.attacks import EPS_GRID
from advx.experiments.spec import Codec, Experiment, experiment, fingerprint

PGD_KEY = 0  # PGD's random start, as advx.drawing.smallest_pgd_eps takes it by default

SCALAR = Codec(lambda value: ({"value": np.asarray(value, np.float64)}, {}), lambda arrays, extra: float(arrays["value"]))


@experiment
def drawing_pgd_eps(run, image, target: int, norm: str = "linf") -> Experiment:
    """float: the smallest ε at which targeted PGD turns ``run``'s final network's answer to ``image`` (the drawing
    as the network reads it, 28 × 28 in [0, 1]) into ``target`` (``advx.drawing.smallest_pgd_eps``); 0 if it
    already answers ``target``, ``inf`` if no ε up to the largest of ``EPS_GRID[norm]`` does."""
    x = np.asarray(image, np.float32).reshape(-1)
    inputs = {"run": run.run_id, "weights": fingerprint(run.final_params), "image": fingerprint(x)}
    settings = {"target": int(target), "norm": norm, "key": PGD_KEY, "max_eps": float(EPS_GRID[norm][-1])}
    return Experiment("drawing pgd eps", f"PGD's smallest ε for this drawing (target {int(target)})", inputs,
                      settings, lambda report: D.smallest_pgd_eps(run.final_params, x, int(target), norm), SCALAR)
