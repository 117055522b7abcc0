"""Findings at a glance: each claim of the post and each prediction the lab tests, with the verdict measured on
one run, its key number, and the page that shows it.

Every verdict is computed from kept results (``advx.experiments``) by the same functions the pages use, so a
verdict on Home and the page it links to cannot disagree. ``table(run, mnist)`` only reads what is kept: a row
whose result is not computed yet has ``verdict=None`` and says where it is computed. ``compute=True`` computes
what is missing (minutes: the many networks, the robust comparison, the rivals), as a notebook may want.

    from advx import findings
    for row in findings.table(run, mnist):
        print(row["claim"], row["verdict"], row["number"])
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from advx import experiments as E
from advx import storage
from advx import neurons
from advx import population as P
from advx import robust as R
from advx import subspace as S
from advx.attacks import EPS_GRID
from advx.experiments import explanations as EX
from advx.experiments.overlay import hook
from advx.paths import cache_dir
from advx.text import explanations as WX
from advx.text import neurons as WN
from advx.text import population_summary as WP
from advx.text import robust as WR
from advx.text import subspace as WS
from advx.vocabulary import format_number, pct

VERDICTS = ("holds", "partly", "fails")
VERDICT_LABELS = {"holds": "holds", "partly": "partly", "fails": "fails", None: "not computed yet"}
# The hook counts as the post's "faint" pattern up to the papers' L∞ ε (a third of full ink at most).
FAINT_EPS = 0.3
# The overlay over the test set: "works" when it turns half the pairs at the papers' ε, "partly" when it beats
# random noise of the same size by this factor.
OVERLAY_HOLDS = 0.5
OVERLAY_PARTLY_FACTOR = 2.0
SUBSPACE_LEVEL = 0.95  # the data subspace of "Why it happens": 95% of the training images' energy

# (id, whose claim, the claim, the page that shows it)
CLAIMS = (
    ("sparse", "post", "Each image strongly activates about 3 hidden neurons and mildly about 10.",
     "views/activations.py"),
    ("noise", "post", "A neuron's effective weights look like noise.", "views/effective_weights.py"),
    ("digits", "post", "A neuron's dataset average looks like a digit.", "views/dataset_averages.py"),
    ("inside", "post", "Training changes a neuron only inside the thin subspace the images occupy.", "views/why.py"),
    ("hook", "post", "A faint copy of output neuron 0's effective weights turns a 7 into a confident 0.",
     "views/overlay.py"),
    ("overlay", "post", "The same overlay fools the network on most test images, far beyond random noise.",
     "views/overlay.py"),
    ("street", "lab", "A network trained against attacks (street-smart) has effective weights that look like digits.",
     "views/street_smart.py"),
    ("transfer", "lab", "If the noise is each network's own, an attack transfers poorly to networks trained alike.",
     "views/networks.py"),
    ("agree", "lab", "Off the data, networks from different random seeds disagree, as independent draws do.",
     "views/networks.py"),
    ("scale", "lab", "A larger random start leaves more off the data, and more to attack there.", "views/networks.py"),
    ("logit", "post", "The part of an attack off the data does most of the work.", "views/bugs_or_features.py"),
    ("dimpled", "Shamir et al.", "Attacks go almost straight off the data (the dimpled manifold).",
     "views/bugs_or_features.py"),
    ("restricted", "post", "Kept on the data, an attack needs a much larger ε.", "views/bugs_or_features.py"),
    ("features", "Ilyas et al.", "Attacks carry features: training on them alone generalises to clean digits.",
     "views/bugs_or_features.py"),
    ("linearity", "Goodfellow et al.", "The network is close to linear along the attack.", "views/bugs_or_features.py"),
    ("start", "Bubeck et al.", "The untrained network is already as easy to fool.", "views/bugs_or_features.py"),
)


def _grade(value: float, holds: float, partly: float) -> str:
    return "holds" if value >= holds else "partly" if value >= partly else "fails"


def _sparse(run, mnist, fetch):
    results = fetch(E.epoch_results.spec(run, mnist))
    if results is None:
        return None
    layers = neurons.sparsity(run.final_params, mnist.test_images.reshape(len(mnist.test_images), -1),
                              results.stats(run.n_epochs))
    near = [WN.near(s.mean(level), target) for s in layers.values()
            for level, target in ((neurons.HIGH, WN.POST_HIGH), (neurons.MILD, WN.POST_MILD))]
    verdict = "holds" if all(near) else "partly" if any(near) else "fails"
    number = "; ".join(f"{s.layer}: {s.mean(neurons.HIGH):.1f} high, {s.mean(neurons.MILD):.1f} mild per image"
                       for s in layers.values())
    return verdict, number


def _median_hf(results, run, which: str) -> float:
    maps = results.maps(run.n_epochs)
    values = np.concatenate([np.asarray(m[f"{which}_high_frequency"], float) for m in maps.values()])
    return float(np.nanmedian(values))


def _character(results, run, which: str, noise_wins: bool):
    hf = _median_hf(results, run, which)
    looks = WR.character(hf)
    wanted = "noise-like" if noise_wins else "digit-like"
    verdict = "holds" if looks == wanted else "fails" if looks in ("noise-like", "digit-like") else "partly"
    return verdict, (f"median share of fine detail {format_number(hf, 2)} ({looks}: noise-like from "
                     f"{WR.NOISE_LIKE_HF:g}, digit-like below {WR.DIGIT_LIKE_HF:g})")


def _noise(run, mnist, fetch):
    results = fetch(E.epoch_results.spec(run, mnist))
    return None if results is None else _character(results, run, "effective", noise_wins=True)


def _digits(run, mnist, fetch):
    results = fetch(E.epoch_results.spec(run, mnist))
    return None if results is None else _character(results, run, "average", noise_wins=False)


def _inside(run, mnist, fetch):
    sub, results = fetch(E.data_subspace.spec(mnist)), fetch(E.epoch_results.spec(run, mnist))
    if sub is None or results is None:
        return None
    maps = S.NeuronMaps.from_layer_dicts(results.maps(0), results.maps(run.n_epochs))
    k = sub.k_for(SUBSPACE_LEVEL)
    row = S.layer_summary(sub, k, S.neuron_spectra(sub, maps))[0]
    share = float(row["change inside"])
    return (WS.inside_verdict(share),
            f"{pct(share)} of what training changed in {row['layer']} lies inside the top-{k} of 784 directions "
            f"(a random direction: {pct(k / 784)}); optimizer {run.config.optimizer}")


def _hook(run, mnist, fetch):
    h = hook(run, mnist)
    if h.eps is None:
        return "fails", f"no ε up to {EPS_GRID['linf'][-1]:g} gives 0 at 90% on test image #{h.image}"
    verdict = "holds" if h.eps <= FAINT_EPS else "partly"
    return verdict, (f"test image #{h.image}: {pct(h.probability)} for 0 at L∞ ε = {h.eps:g} (each pixel moves at "
                     f"most {h.eps:g} of full ink)")


def _overlay(run, mnist, fetch):
    summary = fetch(E.overlay_summary.spec(run, mnist))
    if summary is None:
        return None
    grid = np.asarray(summary.eps_grid)
    j = int(np.argmin(np.abs(grid - FAINT_EPS)))
    rate, control = float(summary.success[j]), float(summary.control_success[j])
    verdict = "holds" if rate >= OVERLAY_HOLDS else "partly" if rate >= OVERLAY_PARTLY_FACTOR * control else "fails"
    return verdict, (f"at L∞ ε = {grid[j]:g}, over the whole test set: {pct(rate)} of the (correctly classified image, "
                     f"other target) pairs reach the target; random noise of the same size: {pct(control)}")


def _street(run, mnist, fetch):
    robust = fetch(E.trained_run.spec(R.robust_config(hidden=run.config.hidden), mnist))
    comparison = None if robust is None else fetch(E.robust_comparison.spec(run, robust, mnist))
    if comparison is None:
        return None
    hf = WR.final_maps(comparison, "map_high_frequency")[:, R.MAP_KINDS.index("effective_weights")]
    looks = WR.character(hf[1])
    verdict = "holds" if looks == "digit-like" else "fails" if looks == "noise-like" else "partly"
    return verdict, (f"high-frequency share of the effective weights {hf[0]:.2f} (book-smart) → {hf[1]:.2f} "
                     f"(street-smart, {looks})")


def _population(run, mnist, fetch):
    networks = fetch(E.populations.spec(mnist))
    if networks is None:
        return None
    measures = {name: fetch(spec) for name, spec in E.population_measures(networks, mnist, "linf").items()}
    if any(value is None for value in measures.values()):
        return None
    return networks["transfer and agreement"].configs, measures


def _first(found: list[dict]) -> tuple[str, str]:
    sentence = found[0]["finding"]
    return found[0]["verdict"], sentence.split(". ")[0].rstrip(".")


def _transfer(run, mnist, fetch):
    got = _population(run, mnist, fetch)
    return None if got is None else _first(WP.transfer_findings(got[1]["transfer"], got[0]))


def _agree(run, mnist, fetch):
    got = _population(run, mnist, fetch)
    return None if got is None else _first(WP.agreement_findings(got[1]["energy"], got[1]["blank"], got[0]))


def _scale(run, mnist, fetch):
    got = _population(run, mnist, fetch)
    if got is None:
        return None
    found = WP.scale_findings(P.scale_curves(got[1]["scale"]))
    return _first(found) if found else None


def _rival(name: str, pick: Callable[[dict], list[dict]], which: str):
    def row(run, mnist, fetch):
        result = fetch(EX.measures(run, mnist, "linf")[name])
        if result is None:
            return None
        found = [f for f in pick(result) if f["explanation"] == which]
        return _first(found)
    return row


def _restricted(run, mnist, fetch):
    specs = EX.measures(run, mnist, "linf")
    restricted = fetch(specs["restricted"])
    if restricted is None:
        return None
    splits = fetch(specs["splits"])  # the page's k: the split's, else 100
    found = WX.restricted_findings(restricted, splits.k_level if splits is not None else 100)
    return _first([f for f in found if f["explanation"] == "post"])


ROWS = {
    "sparse": _sparse, "noise": _noise, "digits": _digits, "inside": _inside, "hook": _hook, "overlay": _overlay,
    "street": _street, "transfer": _transfer, "agree": _agree, "scale": _scale,
    "logit": _rival("splits", WX.split_findings, "post"),
    "dimpled": _rival("splits", WX.split_findings, "dimpled"),
    "restricted": _restricted,
    "features": _rival("ilyas", WX.ilyas_findings, "features"),
    "linearity": _rival("linearity", WX.linearity_findings, "linearity"),
    "start": _rival("initial", WX.initial_findings, "start"),
}


def _fetcher(compute: bool) -> Callable:
    """Read (or get) a spec's result, each result once per fetcher: several rows share the populations and splits."""
    seen: dict = {}

    def fetch(spec):
        if spec.key not in seen:
            seen[spec.key] = spec.get() if compute else spec.read()
        return seen[spec.key]
    return fetch


def row(claim_id: str, run, mnist, *, compute: bool = False, fetch: Optional[Callable] = None) -> dict:
    """One finding: ``{"id", "whose", "claim", "page", "verdict" ("holds" | "partly" | "fails" | None),
    "number"}``; ``verdict=None`` when its result is not kept yet (``compute=False``)."""
    whose, claim, page = next((w, c, p) for i, w, c, p in CLAIMS if i == claim_id)
    measured = ROWS[claim_id](run, mnist, fetch or _fetcher(compute))
    verdict, number = measured if measured is not None else (None, "")
    return {"id": claim_id, "whose": whose, "claim": claim, "page": page, "verdict": verdict, "number": number}


def table(run, mnist, *, compute: bool = False, only: Optional[tuple[str, ...]] = None) -> list[dict]:
    """Every finding of ``CLAIMS`` (or those named in ``only``), in the story's order (see ``row``)."""
    fetch = _fetcher(compute)
    return [row(claim_id, run, mnist, fetch=fetch) for claim_id, *_ in CLAIMS if only is None or claim_id in only]


SUMMARY_FOLDER = "findings"


def _kept_listing(root: Path) -> str:
    """A digest of every result file kept under ``root`` (name, size, time): it changes whenever a result is
    kept or removed, so a table read from the kept results is still right while it stays the same."""
    files = [*root.glob("*.npz"), *(p for folder in root.iterdir() if folder.is_dir()
                                    and folder.name not in (SUMMARY_FOLDER, "jax") for p in folder.rglob("*.npz"))]
    entries = sorted((str(p.relative_to(root)), stat.st_size, stat.st_mtime_ns) for p in files for stat in [p.stat()])
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:20]


def kept_table(run, mnist) -> list[dict]:
    """``table(run, mnist)``, itself kept: read back (a verified file, milliseconds) while no result was kept or
    removed since, else made again from the kept results (a second or more with the many networks kept) and
    written in place of the older one. What Home shows after a restart without reading every result again."""
    root = cache_dir()
    listing = _kept_listing(root)
    folder = root / SUMMARY_FOLDER
    path = folder / f"{run.run_id}-{listing}.npz"
    identity = {"run": run.run_id, "data": mnist.sha, "listing": listing}
    kept = storage.load(path, "findings", identity, what="findings summary")
    if kept is not None:
        return kept[1]["rows"]
    for _ in range(2):  # a result kept while the table is made (the hook, the first time) makes it again
        rows = table(run, mnist)
        after = _kept_listing(root)
        if after == listing:
            break
        listing = after
    else:
        return rows  # results are being kept meanwhile: nothing is kept that would be out of date at once
    identity["listing"] = listing
    try:
        for old in folder.glob(f"{run.run_id}-*.npz"):
            old.unlink(missing_ok=True)
        storage.save(folder / f"{run.run_id}-{listing}.npz", {}, "findings", identity, {"rows": rows})
    except OSError:
        pass  # a cache folder that cannot be written: the table is made again next time
    return rows


def tally(rows: list[dict]) -> dict:
    """``{verdict: count}`` over ``rows``, ``None`` counting the ones not computed yet."""
    return {v: sum(r["verdict"] == v for r in rows) for v in (*VERDICTS, None)}
