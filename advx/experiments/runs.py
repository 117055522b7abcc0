"""Trained networks: one run of a configuration, and the populations of "Many networks". Runs are kept in
the run store (``advx.store``), so these experiments keep nothing themselves."""

from __future__ import annotations

from advx import population as P
from advx import store
from advx.config import TrainConfig
from advx.experiments.spec import Experiment, experiment


def epoch_report(report, what: str = ""):
    """``advx.train``'s ``progress(done, total, metrics)`` as the one ``report(fraction, text)``."""

    def progress(done, total, metrics):
        text = f"epoch {done}/{total}"
        if metrics and "members" in metrics:
            text += f" of {metrics['members']} networks"
        elif metrics and "test_acc" in metrics:
            text += f" · test accuracy {metrics['test_acc']:.2%}"
        report(done / total if total else None, f"{what}{text}")

    return progress


@experiment
def trained_run(config: TrainConfig, mnist, label: str = "") -> Experiment:
    """The ``advx.train.Run`` of ``config`` on ``mnist``: from the run store, or trained now and stored."""
    run_id = store.run_id(config, mnist.sha)
    return Experiment("run", label or f"the run {run_id}", {"data": mnist.sha}, {"config": config.to_dict()},
                      lambda report: store.get_or_train(config, mnist, progress=epoch_report(report)),
                      look=lambda on_damage=None: store.load(config, mnist.sha, on_damage=on_damage))


# What "Many networks" compares: networks that differ only in seed and optimizer (for transfer and agreement),
# and networks that differ only in the scale of their initialisation (the scale test).
POPULATIONS = {"transfer and agreement": P.population_configs, "scale test": P.init_scale_configs}


@experiment
def populations(mnist) -> Experiment:
    """``{use: advx.population.Population}`` for each use of ``POPULATIONS``: the stored members, and the missing
    ones trained together (one jitted program per group) and stored."""
    groups = {use: make() for use, make in POPULATIONS.items()}
    unique = {c.digest(): c for group in groups.values() for c in group}

    def assemble(runs: dict) -> dict:
        return {use: P.Population(tuple(runs[c.digest()] for c in group)) for use, group in groups.items()}

    def look(on_damage=None):
        runs = {digest: store.load(config, mnist.sha, on_damage=on_damage) for digest, config in unique.items()}
        return None if any(run is None for run in runs.values()) else assemble(runs)

    def compute(report):
        population = P.get_or_train_population(list(unique.values()), mnist, epoch_report(report))
        return assemble({run.config.digest(): run for run in population.runs})

    return Experiment("populations", f"the {len(unique)} networks (trained together, then stored)",
                      {"data": mnist.sha}, {"members": sorted(unique)}, compute, look=look)
