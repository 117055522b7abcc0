"""Every result a page shows, as a named experiment: one call loads or computes exactly the page's numbers.

    from advx import experiments as E
    summary = E.overlay_summary(run, mnist, source="effective_weights", norm="linf")
    spec = E.overlay_summary.spec(run, mnist, source="effective_weights", norm="linf")  # its key, label, file

Each experiment is a frozen spec (``spec.Experiment``): what it is computed from, its settings (every random key
and image count, each constant with a line saying why), the computation and its codec. The spec's digest is
the app's job key and the kept file's identity. ``spec.get(report)`` loads or computes; ``spec.read()`` only reads.

Modules: ``spec`` (the spec, the one fingerprint of a parameter tree, codecs), ``runs`` (a trained run, the
populations), ``neurons`` (every epoch's neuron results, the maps "Why it happens" splits), ``subspace`` (the
PCA, the counterfactual columns), ``overlay`` (the sweep, the attack comparison, the paper table), ``robust``
(book-smart against street-smart), ``population`` (transfer, agreement, the scale test), ``drawing`` (PGD's smallest ε
for a drawing). ``subspace`` also keeps the test digits' energy shares inside the data subspace.
"""

from advx.experiments.drawing import drawing_pgd_eps as drawing_pgd_eps
from advx.experiments.neurons import epoch_results as epoch_results
from advx.experiments.neurons import neuron_maps as neuron_maps
from advx.experiments.neurons import train_pixels as train_pixels
from advx.experiments.overlay import COMPARISON_IMAGES as COMPARISON_IMAGES
from advx.experiments.overlay import Hook as Hook
from advx.experiments.overlay import hook as hook
from advx.experiments.overlay import attack_comparison as attack_comparison
from advx.experiments.overlay import clean_predictions as clean_predictions
from advx.experiments.overlay import overlay_summary as overlay_summary
from advx.experiments.overlay import paper_table as paper_table
from advx.experiments.overlay import test_set as test_set
from advx.experiments.population import agreement as agreement
from advx.experiments.population import measures as population_measures  # noqa: F401 - the page asks for these
from advx.experiments.population import scale as scale
from advx.experiments.population import transfer as transfer
from advx.experiments.robust import robust_comparison as robust_comparison
from advx.experiments.runs import POPULATIONS as POPULATIONS
from advx.experiments.runs import epoch_report as epoch_report
from advx.experiments.runs import populations as populations
from advx.experiments.runs import trained_run as trained_run
from advx.experiments.spec import Codec as Codec
from advx.experiments.spec import Experiment as Experiment
from advx.experiments.spec import experiment as experiment
from advx.experiments.spec import fingerprint as fingerprint
from advx.experiments.subspace import counterfactual_column as counterfactual_column
from advx.experiments.subspace import data_subspace as data_subspace
from advx.experiments.subspace import digit_energy_shares as digit_energy_shares
