"""The data subspace, and how much of each neuron lives inside it.

The post's argument: training refines a neuron only inside the tiny subspace that the data occupies,
so its opinion about every other direction stays what the random initialisation gave it. This package
turns that sentence into measurements.

**Which subspace.** ``fit_subspace`` runs PCA of the training images by an eigendecomposition of their
second-moment matrix. By default it is *uncentred*: the principal directions span the raw images
``xᵢ``, not ``xᵢ − mean``. That is the subspace the argument is about: a plain-SGD update of the first
layer is ``−η Σᵢ xᵢ δᵢᵀ``, a combination of the raw images, and a neuron's response ``w·x`` to an image
depends on the raw ``x``. ``centred=True`` gives the classic PCA of the variation about the mean, for
comparison; its span leaves out the mean image itself.

**Exact span versus top-k.** The exact span of MNIST's 60,000 training images has dimension 712 of
784: it misses the 67 blank pixels (0 on every image) and 5 more directions, combinations of rarely lit
pixels that no image separates (``exact_null_directions``). So "exactly in the span" says little more
than "zero on the blank pixels". The telling subspace is the top-``k`` one, with ``k`` chosen by the
share of the images' energy it keeps (90, 95 or 99%). ``k`` is always that dimension.

Modules: ``pca`` (the subspace), ``projections`` (projections and energies), ``neurons`` (every
neuron's maps), ``first_layer`` (ΔW1 and the projected first layer), ``counterfactual`` (attack success
of each network). The labels and sentences of "Why it happens" are ``advx.text.subspace``.
Vectors are pixel-space columns: ``(784,)`` or ``(784, n)``. The library holds no threads and no caches
(``advx.experiments`` keeps the results on disk): a caller that wants work done in the background runs these functions there.
"""

from advx.subspace.counterfactual import (
    ATTACK_EPS as ATTACK_EPS,
    ATTACK_IMAGES as ATTACK_IMAGES,
    ATTACKS as ATTACKS,
    COLUMN_KINDS as COLUMN_KINDS,
    COUNTERFACTUAL_TARGET as COUNTERFACTUAL_TARGET,
    PGD_STEPS as PGD_STEPS,
    SGD_LEARNING_RATE as SGD_LEARNING_RATE,
    STREET_SMART_DECAY as STREET_SMART_DECAY,
    STREET_SMART_NOISE as STREET_SMART_NOISE,
    AttackRates as AttackRates,
    attack_rates as attack_rates,
    comparison_configs as comparison_configs,
    attack_settings as attack_settings,
    decode_attack_rates as decode_attack_rates,
    encode_attack_rates as encode_attack_rates,
)
from advx.subspace.projections import (
    Energy as Energy,
    PixelMaps as PixelMaps,
    Spectrum as Spectrum,
    energy as energy,
    energy_curve as energy_curve,
    energy_fraction as energy_fraction,
    pixel_maps as pixel_maps,
    pooled_fraction as pooled_fraction,
    project as project,
    project_out as project_out,
    spectrum as spectrum,
    split as split,
)
from advx.subspace.first_layer import (
    FirstLayerChange as FirstLayerChange,
    FirstLayerStudy as FirstLayerStudy,
    first_layer_change as first_layer_change,
    first_layer_curves as first_layer_curves,
    first_layer_spectrum as first_layer_spectrum,
    first_layer_study as first_layer_study,
    project_first_layer as project_first_layer,
)
from advx.subspace.neurons import (
    NeuronMaps as NeuronMaps,
    NeuronSpectra as NeuronSpectra,
    NeuronSubspace as NeuronSubspace,
    chosen_energies as chosen_energies,
    layer_summary as layer_summary,
    measure_neurons as measure_neurons,
    neuron_maps as neuron_maps,
    neuron_parts as neuron_parts,
    neuron_spectra as neuron_spectra,
)
from advx.subspace.pca import (
    VARIANCE_LEVELS as VARIANCE_LEVELS,
    DataSubspace as DataSubspace,
    SubspaceError as SubspaceError,
    as_pixels as as_pixels,
    blank_pixels as blank_pixels,
    exact_null_directions as exact_null_directions,
    fit_subspace as fit_subspace,
    encode_subspace as encode_subspace,
    subspace_decoder as subspace_decoder,
)
