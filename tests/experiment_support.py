"""A kept result built the way the pages' experiments are (``advx.experiments.Experiment``), for tests of keeping."""

from __future__ import annotations

from advx import experiments as E


def kept(name: str, owner, settings: dict, compute, codec) -> E.Experiment:
    """The experiment ``name`` of ``owner`` (a run or a population: ``run_id``, ``final_params``) with ``settings``,
    computed by ``compute()`` and kept with ``codec``."""
    return E.Experiment(name, name, {"run": owner.run_id, "weights": E.fingerprint(owner.final_params)}, settings,
                        lambda report: compute(), codec)
