"""Adversarial training and what it changes: robust accuracy checked against gradient masking, how digit-like
a network's pictures of each class are, and the post's own measures taken again on a robust network.

Adversarial training itself is a training option (``advx.config.TrainConfig.adversarial_*``, run by
``advx.train``: PGD inside the jitted epoch, ``advx.train.adversarial_batch``); its runs are stored like
every other run (``advx.store``). This package measures them, on a standard network and a robust one:

- ``defaults``: ``DEFAULT_ROBUST`` (the default robust run) and the eps grids ``LINF_EPS``, ``L2_EPS``;
- ``accuracy``: clean accuracy and robust accuracy under PGD-40 with random restarts (also by transfer);
- ``search``: a gradient-free attack, Square-style random search;
- ``masking``: the check against gradient masking (PGD, transfer, search, Foolbox's PGD; the worst case);
- ``maps``: noise versus digit for the effective weights, local Jacobians and input gradients, every epoch;
- ``post_measures``: the post's overlay, the data-subspace shares, the sparsity counts;
- ``compare``: all of it for two runs as one ``RobustComparison`` (kept by ``advx.experiments.robust_comparison``);
- ``runs``: the robust runs a page offers (``DEFAULT_ROBUST``'s family by norm and eps), what one measured, its maps
  at one image.

Shapes: images ``(n, 784)`` float32 in [0, 1] (or uint8 where said); labels ``(n,)`` int; model functions
``x -> logits`` as in ``advx.attacks`` (``as_model_fn(params)``).
"""

from advx.robust.accuracy import PGD_REL_STEP_SIZE as PGD_REL_STEP_SIZE
from advx.robust.accuracy import PGD_STEPS as PGD_STEPS
from advx.robust.accuracy import RESTARTS as RESTARTS
from advx.robust.accuracy import clean_correct as clean_correct
from advx.robust.accuracy import pgd_correct as pgd_correct
from advx.robust.accuracy import robust_accuracy as robust_accuracy
from advx.robust.compare import ATTACK_ROWS as ATTACK_ROWS
from advx.robust.compare import COMPARISON_IMAGES as COMPARISON_IMAGES
from advx.robust.compare import NETWORKS as NETWORKS
from advx.robust.compare import RobustComparison as RobustComparison
from advx.robust.compare import accuracy_tables as accuracy_tables
from advx.robust.compare import compare_runs as compare_runs
from advx.robust.defaults import DEFAULT_ROBUST as DEFAULT_ROBUST
from advx.robust.defaults import EPS as EPS
from advx.robust.defaults import L2_EPS as L2_EPS
from advx.robust.defaults import LINF_EPS as LINF_EPS
from advx.robust.maps import MAP_IMAGES as MAP_IMAGES
from advx.robust.maps import MAP_KINDS as MAP_KINDS
from advx.robust.maps import MEASURES as MEASURES
from advx.robust.maps import MapMeasures as MapMeasures
from advx.robust.maps import class_averages as class_averages
from advx.robust.maps import map_measures as map_measures
from advx.robust.maps import map_measures_by_epoch as map_measures_by_epoch
from advx.robust.maps import map_scores as map_scores
from advx.robust.masking import ATTACKS as ATTACKS
from advx.robust.masking import AttackResults as AttackResults
from advx.robust.masking import RobustError as RobustError
from advx.robust.masking import attack_pair as attack_pair
from advx.robust.masking import attack_results as attack_results
from advx.robust.masking import foolbox_available as foolbox_available
from advx.robust.masking import foolbox_pgd_correct as foolbox_pgd_correct
from advx.robust.runs import ImageMaps as ImageMaps
from advx.robust.runs import RobustChoice as RobustChoice
from advx.robust.runs import eps_grids as eps_grids
from advx.robust.runs import foolbox_note as foolbox_note
from advx.robust.runs import image_maps as image_maps
from advx.robust.runs import our_published_rows as our_published_rows
from advx.robust.runs import robust_config as robust_config
from advx.robust.runs import run_code as run_code
from advx.robust.runs import stored_robust_runs as stored_robust_runs
from advx.robust.runs import subspace_rows as subspace_rows
from advx.robust.runs import training_sentence as training_sentence
from advx.robust.search import QUERIES as QUERIES
from advx.robust.search import margin as margin
from advx.robust.search import square_correct as square_correct
from advx.robust.search import square_search as square_search
from advx.robust.post_measures import SUBSPACE_LEVEL as SUBSPACE_LEVEL
from advx.robust.post_measures import SparsityCounts as SparsityCounts
from advx.robust.post_measures import SubspaceShares as SubspaceShares
from advx.robust.post_measures import overlay_summary as overlay_summary
from advx.robust.post_measures import sparsity_counts as sparsity_counts
from advx.robust.post_measures import subspace_shares as subspace_shares
