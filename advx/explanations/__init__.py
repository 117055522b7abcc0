"""Bugs or features? The post's explanation of adversarial examples and its rivals, tested on the same network.

Modules: ``splits`` (every attack split inside/outside the data subspace), ``restricted`` (PGD kept inside it),
``ilyas`` (Ilyas et al.'s non-robust training set), ``linearity`` (the logits along the attack, and a linear
softmax model), ``initial`` (the smallest flipping ε at initialisation and over training), ``verdicts`` (each
prediction against the numbers); the sentences are ``advx.text.explanations``. Shapes: images ``(n, 784)`` float32 in [0, 1].
"""

from advx.explanations.ilyas import (CHUNK as CHUNK, ILYAS_EPS as ILYAS_EPS, TARGET_KINDS as TARGET_KINDS,
                                     VARIANTS as VARIANTS, IlyasResult as IlyasResult, NonRobustSet as NonRobustSet,
                                     ilyas_experiment as ilyas_experiment, non_robust_set as non_robust_set,
                                     part_set as part_set, relabel_targets as relabel_targets,
                                     train_and_test as train_and_test)
from advx.explanations.initial import BOUNDARY_EPOCHS as BOUNDARY_EPOCHS, INITIAL_EPOCHS as INITIAL_EPOCHS
from advx.explanations.initial import InitialEps as InitialEps
from advx.explanations.initial import Boundary as Boundary, boundary_over_training as boundary_over_training
from advx.explanations.initial import initial_eps as initial_eps
from advx.explanations.linearity import (Linearity as Linearity, along_attack as along_attack,
                                         linear_params as linear_params, linearity as linearity,
                                         train_linear as train_linear)
from advx.explanations.restricted import (RESTRICTED_KS as RESTRICTED_KS, RestrictedAttacks as RestrictedAttacks,
                                          restricted_attacks as restricted_attacks, smallest_eps as smallest_eps,
                                          subspace_pgd as subspace_pgd)
from advx.explanations.splits import (ATTACKS as ATTACKS, SPLIT_EPS as SPLIT_EPS, SPLIT_KS as SPLIT_KS,
                                      AttackSplits as AttackSplits, attack_splits as attack_splits,
                                      perturbations as perturbations, split_parts as split_parts,
                                      targets_for as targets_for)
from advx.explanations.verdicts import VERDICT_LABELS as VERDICT_LABELS, VERDICTS as VERDICTS
