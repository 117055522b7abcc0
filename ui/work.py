"""What the app computes in the background, by name. Each function returns a ``ui.jobs.Job``.

Every computation here is a library call that keeps its result on disk (``advx.storage``), so a
restarted server reads what an earlier one computed; the job keeps it in memory for every session.
When a page asks for a result whose file exists, the file is read at once, in the page's thread, and no
job waits in a queue (reading a file costs milliseconds; a queue may hold seconds of work).

After the Train page shows a run, ``prepare(run)`` queues, in the ``later`` lane, what the other pages
will ask for, in the order a visitor usually goes: every epoch's neuron results, the PCA, the
counterfactual column of the trained network (which also compiles the attacks), the overlay's sweep
at its defaults, and the comparison runs of "Why it happens".
"""

from __future__ import annotations

import json
import time
from typing import Callable, Optional

import jax
import numpy as np

from advx import attacks as A
from advx import population as P
from advx import robust as R
from advx import derived, neurons, results, store
from advx import subspace as S
from advx.config import TrainConfig
from advx.model import to_pixels
from advx import vocabulary as V
from ui import jobs

COMPARISON_IMAGES = 2000  # the overlay page's FGSM/PGD comparison: the first this many test images


def _job(key: tuple, label: str, compute: Callable, *, found: Optional[Callable] = None, lane: str = "later",
         progress: bool = False) -> jobs.Job:
    """The job ``key``; when it is new and ``found()`` returns a result (read from disk), that result is
    recorded as done without queueing."""
    job = jobs.get(key)
    if job is None or job.failed():
        value = found() if found is not None else None
        if value is not None:
            return jobs.done(key, value, label)
        job = jobs.submit(key, compute, label=label, lane=lane, progress=progress)
    return job


def epoch_results(run, train_images, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING, lane: str = "later") -> jobs.Job:
    """Every epoch's neuron results of ``run`` (``advx.derived``) over ``train_images`` (uint8)."""
    return _job(("epoch_results", run.run_id, output), "every epoch's neuron results",
                lambda: derived.load_or_compute(run, train_images, output),
                found=lambda: derived.load(run, output), lane=lane)


def subspace(data_sha: str, train_images, lane: str = "now") -> jobs.Job:
    """The data subspace (PCA) of the training images whose content hash is ``data_sha``."""
    return _job(("subspace", data_sha), "the data subspace (PCA of the training images)",
                lambda: S.load_or_fit_subspace(train_images, data_sha), lane=lane)


def neuron_maps(run, train_images, lane: str = "now") -> jobs.Job:
    """The maps "Why it happens" splits, at initialisation and trained: from the every-epoch results when
    they are kept, else computed for those two epochs."""

    def compute():
        ready = derived.load(run)
        if ready is not None:
            return S.NeuronMaps.from_layer_dicts(ready.maps(0), ready.maps(run.n_epochs))
        return S.neuron_maps(run.params_at(0), run.final_params, train_images)

    return _job(("neuron_maps", run.run_id), "the effective weights and dataset averages at both ends of training",
                compute, lane=lane)


def trained_run(config: TrainConfig, mnist, lane: str = "later", label: str = "") -> jobs.Job:
    """The run of ``config``: from the store, or trained (with progress) and stored."""

    def train(report):
        return store.get_or_train(config, mnist, progress=lambda done, total, _m: report(done / total,
                                                                                       f"epoch {done}/{total}"))

    return _job(("run", store.run_id(config, mnist.sha)), label or f"the run {store.run_id(config, mnist.sha)}", train,
                found=lambda: store.load(config, mnist.sha), lane=lane, progress=True)


def counterfactual_column(run, k: int, sub, test_images, labels, lane: str = "now") -> jobs.Job:
    """One column of the counterfactual table: ``run``'s network (``k`` = 0) or its first layer projected
    onto the top-``k`` data subspace, attacked (``advx.subspace.stored_attack_rates``)."""
    def attacked(only_stored: bool = False):
        return S.stored_attack_rates(run, int(k), sub, test_images, labels, only_stored=only_stored)

    return _job(("counterfactual", run.run_id, int(k)), f"the attacks on the network at k = {k}", attacked,
                found=lambda: attacked(only_stored=True), lane=lane)


def overlay_summary(run, source: str, norm: str, layer: str, neuron: Optional[int], x_test, labels, predicted,
                    lane: str = "now") -> jobs.Job:
    """The overlay swept over the test set for every target and eps, with its random control."""
    settings = {"source": source, "norm": norm, "layer": layer, "neuron": neuron, "key": 0, "control_key": 1}

    def compute():
        sweep = A.source_sweep(run.final_params, x_test, source, norm, key=jax.random.key(0), layer=layer,
                               neuron=neuron)
        control = A.control_sweep(run.final_params, x_test, A.control_kind(source), norm, key=jax.random.key(1))
        return A.summarise(sweep, control, labels, predicted)

    return _job(("overlay_summary", run.run_id, source, norm, layer, neuron), "the overlay swept over the test set",
                lambda: results.keep_tuple("overlay", run, settings, compute, A.SweepSummary),
                found=lambda: results.keep_tuple("overlay", run, settings, None, A.SweepSummary), lane=lane)


def attack_comparison(run, target: int, x_test, labels, lane: str = "now") -> jobs.Job:
    """The overlay beside FGSM and PGD at equal eps, targeted at ``target``, on the first test images."""
    n, settings = COMPARISON_IMAGES, {"target": int(target), "images": COMPARISON_IMAGES, "key": 2}
    return _job(("attack_comparison", run.run_id, int(target)), "FGSM and PGD at every ε",
                lambda: results.keep_rows("comparison", run, settings, lambda: A.comparison_table(
                    run.final_params, x_test[:n], labels[:n], int(target), jax.random.key(2))),
                found=lambda: results.keep_rows("comparison", run, settings, None), lane=lane)


def paper_table(run, x_test, labels, lane: str = "now") -> jobs.Job:
    """FGSM and PGD over the whole test set at the papers' eps, beside the published figures."""
    return _job(("paper_table", run.run_id), "FGSM and PGD over the test set for the paper table",
                lambda: results.keep_rows("paper", run, {"key": 3}, lambda: A.paper_rows(
                    A.paper_table(run.final_params, x_test, labels, key=jax.random.key(3)))),
                found=lambda: results.keep_rows("paper", run, {"key": 3}, None), lane=lane)


START_DELAY_S = 2.0  # the page that asked draws its first sections before the queue takes both cores


def prepare(run, mnist) -> None:
    """Queue what the other pages will ask for about ``run`` (see the module's text), once per run."""
    if jobs.get(("prepare", run.run_id)) is None:
        jobs.submit(("prepare", run.run_id), _prepare, run, mnist, label="what the pages will ask for")


def _prepare(run, mnist) -> None:
    time.sleep(START_DELAY_S)
    train = mnist.train_images.reshape(len(mnist.train_images), -1)
    epoch_results(run, train)
    sub = subspace(mnist.sha, train, lane="later")
    test = mnist.test_images.reshape(len(mnist.test_images), -1)
    jobs.submit(("prepare_overlay", run.run_id), _prepare_overlay, run, mnist, lane="later",
                label="what “Adversarial overlay” needs")
    jobs.submit(("prepare_why", run.run_id), _prepare_why, run, sub, test, mnist, lane="later",
                label="what “Why it happens” needs")


def _prepare_why(run, sub_job: jobs.Job, test, mnist) -> None:
    """The trained network's counterfactual column (compiling the attacks), then the comparison runs.
    Runs in the ``later`` lane after the PCA job of the same lane, so ``sub_job`` is done."""
    sub = sub_job.result()
    counterfactual_column(run, 0, sub, test, mnist.test_labels, lane="later")
    for config in S.comparison_configs(run.config).values():
        if config != run.config:
            trained_run(config, mnist)


def _prepare_overlay(run, mnist) -> None:
    """The overlay page's default sweep and tables, queued behind this job in the ``later`` lane."""
    x_test, labels = to_pixels(mnist.test_images), mnist.test_labels.astype(np.int32)
    predicted = np.asarray(A.predictions(run.final_params, x_test))
    overlay_summary(run, "effective_weights", "linf", "output", None, x_test, labels, predicted, lane="later")
    attack_comparison(run, 0, x_test, labels, lane="later")
    paper_table(run, x_test, labels, lane="later")


# ---- The street-smart page: a standard run beside a robust one (advx.robust)

# The comparison's sizes (``advx.robust.compare_runs``' defaults); a test may patch in smaller ones. Foolbox is a
# test requirement, not an app one, so the app never runs it: a kept result does not depend on what is installed.
ROBUST_SIZES = {"n_images": R.COMPARISON_IMAGES, "map_images": R.MAP_IMAGES, "steps": R.PGD_STEPS,
                "restarts": R.RESTARTS, "queries": R.QUERIES}


def robust_settings(standard, robust) -> dict:
    """What a kept comparison of ``standard`` and ``robust`` (``advx.train.Run``) is computed with."""
    grids = R.eps_grids(robust.config)
    return {"standard": standard.run_id, **ROBUST_SIZES, "foolbox": False, "seed": 0,
            "linf_eps": list(grids["linf"]), "l2_eps": list(grids["l2"])}


def robust_comparison(standard, robust, mnist, lane: str = "now") -> jobs.Job:
    """``advx.robust.compare_runs`` of ``standard`` and ``robust``, kept beside the robust run (``<cache>/robust``)."""
    settings = robust_settings(standard, robust)
    sizes = {name: settings[name] for name in ROBUST_SIZES}

    def compute():
        return R.compare_runs(standard, robust, mnist, foolbox=False, seed=settings["seed"],
                              linf_eps=tuple(settings["linf_eps"]), l2_eps=tuple(settings["l2_eps"]), **sizes)

    return _job(("robust_comparison", standard.run_id, robust.run_id, json.dumps(settings, sort_keys=True)),
                "the comparison of the two networks (every attack at every ε, the maps at every epoch)",
                lambda: results.keep_tuple("robust", robust, settings, compute, R.RobustComparison),
                found=lambda: results.keep_tuple("robust", robust, settings, None, R.RobustComparison), lane=lane)


# ---- The many-networks page: populations of networks (advx.population)

POPULATIONS = {"transfer and agreement": P.population_configs, "scale test": P.init_scale_configs}


def populations(mnist, lane: str = "later") -> jobs.Job:
    """``{use: advx.population.Population}`` for each use of ``POPULATIONS``: read from the run store at once when
    every member is stored, else the missing members trained together in this one job (with progress) and stored.
    Training takes minutes, so it runs in the ``later`` lane: the other pages' own work never waits for it."""
    groups = {use: make() for use, make in POPULATIONS.items()}
    unique = {c.digest(): c for group in groups.values() for c in group}

    def assemble(runs: dict) -> dict:
        return {use: P.Population(tuple(runs[c.digest()] for c in group)) for use, group in groups.items()}

    def found():
        runs = {}
        for digest, config in unique.items():
            runs[digest] = store.load(config, mnist.sha)
            if runs[digest] is None:
                return None
        return assemble(runs)

    def train(report):
        def progress(done, total, metrics):
            members = f" of {metrics['members']} networks" if "members" in metrics else ""
            report(done / total, f"epoch {done}/{total}{members}")

        population = P.get_or_train_population(list(unique.values()), mnist, progress)
        return assemble({run.config.digest(): run for run in population.runs})

    return _job(("populations", mnist.sha, tuple(unique)), f"the {len(unique)} networks (trained together, then "
                "stored)", train, found=found, lane=lane, progress=True)


def _population_subspace(mnist):
    return S.load_or_fit_subspace(mnist.train_images.reshape(len(mnist.train_images), -1), mnist.sha)


def _kept(kind: str, population, settings: dict, compute: Callable, label: str, cls=None) -> jobs.Job:
    """The job of a population's measure ``kind``, kept on disk (``advx.results``) under ``<cache>/<kind>``."""
    def keep(fn):
        return (results.keep_rows(kind, population, settings, fn) if cls is None else
                results.keep_tuple(kind, population, settings, fn, cls))

    return _job((f"population_{kind}", population.run_id, json.dumps(settings, sort_keys=True)), label,
                lambda: keep(compute), found=lambda: keep(None), lane="now")


def population_transfer(population, mnist, norm: str) -> jobs.Job:
    """``advx.population.transfer_matrices`` of ``population`` at ``TRANSFER_EPS[norm]``, split at ``SPLIT_LEVEL``."""
    settings = {"level": P.SPLIT_LEVEL, "norm": norm, "eps": P.TRANSFER_EPS[norm], "images": P.TRANSFER_IMAGES,
                "seed": 0}

    def compute():
        sub = _population_subspace(mnist)
        return P.transfer_matrices(population.params(), sub, P.split_k(sub, "energy"), mnist.test_images,
                                   mnist.test_labels, eps=settings["eps"], norm=norm, n_attack=P.TRANSFER_IMAGES)

    return _kept("transfer", population, settings, compute, f"the transfer matrices at {V.NORM_LABELS[norm]} ε = "
                 f"{settings['eps']:g} (four attacks crafted on each of the {len(population)} networks, shown to every "
                 "other)", P.TransferMatrices)


def population_agreement(population, mnist, split: str) -> jobs.Job:
    """``advx.population.agreement`` of the output neurons at ``split`` (one of ``SPLITS``), with the initialisation."""
    def compute():
        sub = _population_subspace(mnist)
        return P.agreement(population.params(), sub, P.split_k(sub, split), init=population.params(0))

    return _kept("agreement", population, {"level": P.SPLIT_LEVEL, "split": split, "layer": "output", "init": True},
                 compute, "the correlations between the networks' weights", P.Agreement)


def population_scale(population, mnist) -> jobs.Job:
    """``advx.population.scale_rows`` of ``population`` (the initialisation-scale test), split at ``SPLIT_LEVEL``."""
    def compute():
        sub = _population_subspace(mnist)
        return P.scale_rows(population.runs, sub, P.split_k(sub, "energy"), mnist.test_images, mnist.test_labels)

    return _kept("scale", population, {"level": P.SPLIT_LEVEL, "eps": list(P.SCALE_EPS), "images": P.SCALE_IMAGES},
                 compute, f"the initialisation-scale test ({len(population)} networks, each at matched accuracy and "
                 "at the end)")


def population_measures(networks: dict, mnist, norm: str) -> dict[str, jobs.Job]:
    """Every measure of the many-networks page: ``{split: agreement, "transfer": at norm, "scale": ...}``, queued in
    the order one worker should take them (the quick agreements, the chosen norm's transfer, the scale test), then
    the other norms' transfer, so that a change of norm finds it ready."""
    shared, scaled = (networks[use] for use in POPULATIONS)
    out = {split: population_agreement(shared, mnist, split) for split in P.SPLITS}
    out |= {"transfer": population_transfer(shared, mnist, norm), "scale": population_scale(scaled, mnist)}
    for other in A.NORMS:
        if other != norm:
            population_transfer(shared, mnist, other)
    return out
