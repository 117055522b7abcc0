"""Populations of networks: many seeds, two optimizers and several initialisation scales, trained together.

The post's argument makes predictions one network cannot test. If a neuron's opinion about directions
outside the data subspace is what its random initialisation gave it, then (1) that opinion should differ from
one seed to the next, so a perturbation crafted on network A should fool network B far less than it fools A,
and its part inside the data subspace should transfer better than its part outside; and (2) a smaller
initialisation should leave less of that opinion (Melamed et al., NeurIPS 2023, prove a version of this).

Modules, one concept each: ``training`` (a population trained with each group's epoch as one compiled
program; every member an ordinary ``advx.train.Run``), ``members`` (which networks, and the population loaded
from the run store or trained and stored), ``transfer`` (success matrices of attacks crafted on one network and
applied to another, whole and split by the data subspace), ``agreement`` (correlation of the effective weights
between networks, inside and outside the subspace), ``scale`` (the initialisation-scale test) and ``selection``
(one optimizer's networks, tables per optimizer, the splits of pixel space). The labels, sentences and findings with
their verdicts are ``advx.text.population`` and ``advx.text.population_summary``. ``eps`` is the size of a
perturbation; ``k`` only ever the dimension of the data subspace.
"""

from advx.population.agreement import (
    RELATIONS as RELATIONS,
    Agreement as Agreement,
    agreement as agreement,
    agreement_rows as agreement_rows,
    relation as relation,
)
from advx.population.members import (
    INIT_SCALE_SEEDS as INIT_SCALE_SEEDS,
    INIT_SCALES as INIT_SCALES,
    POPULATION_OPTIMIZERS as POPULATION_OPTIMIZERS,
    POPULATION_SEEDS as POPULATION_SEEDS,
    Population as Population,
    get_or_train_population as get_or_train_population,
    init_scale_configs as init_scale_configs,
    population_configs as population_configs,
)
from advx.population.scale import (
    SCALE_EPS as SCALE_EPS,
    SCALE_IMAGES as SCALE_IMAGES,
    l2_pgd as l2_pgd,
    l2_pgd_hits as l2_pgd_hits,
    matched_epochs as matched_epochs,
    scale_curves as scale_curves,
    scale_measures as scale_measures,
    scale_rows as scale_rows,
)
from advx.population.selection import (
    ACROSS as ACROSS,
    AGREEMENT_PARTS as AGREEMENT_PARTS,
    OPTIMIZER_FILTER_LABELS as OPTIMIZER_FILTER_LABELS,
    OPTIMIZER_FILTERS as OPTIMIZER_FILTERS,
    SPLIT_LABELS as SPLIT_LABELS,
    SPLIT_LEVEL as SPLIT_LEVEL,
    SPLITS as SPLITS,
    agreement_stack as agreement_stack,
    agreement_table as agreement_table,
    by_optimizer as by_optimizer,
    init_rows as init_rows,
    member_rows as member_rows,
    members_of as members_of,
    own_and_others_mean as own_and_others_mean,
    scale_table as scale_table,
    select_agreement as select_agreement,
    select_transfer as select_transfer,
    split_k as split_k,
)
from advx.population.training import (
    DEFAULT_CHUNK as DEFAULT_CHUNK,
    PopulationDivergedError as PopulationDivergedError,
    group_config as group_config,
    group_epoch as group_epoch,
    groups as groups,
    train_population as train_population,
    unique_configs as unique_configs,
)
from advx.population.transfer import (
    PARTS as PARTS,
    TRANSFER_ATTACKS as TRANSFER_ATTACKS,
    TRANSFER_EPS as TRANSFER_EPS,
    TRANSFER_IMAGES as TRANSFER_IMAGES,
    PopulationError as PopulationError,
    TransferMatrices as TransferMatrices,
    crafted as crafted,
    image_set as image_set,
    own_and_others as own_and_others,
    split_perturbation as split_perturbation,
    stack_params as stack_params,
    transfer_matrices as transfer_matrices,
)
