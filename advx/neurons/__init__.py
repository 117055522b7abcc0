"""Neuron maths: activations, sparsity, effective weights, local Jacobians, dataset averages, and the
noise-versus-digit measures; every forward pass is ``advx.model.walk`` and every pixel conversion
``advx.model.to_pixels``.

Everything is a pure function of ``(params, arrays, ...)``. Layouts:

- images go in as ``(n, 784)``: float32 pixels in [0, 1], or the raw uint8 pixels (divided by 255
  inside the jitted function);
- per-neuron pixel maps come out as ``(784, n_neurons)``, one column per neuron, the layout of a
  kernel: ``effective_weights``, ``local_jacobian`` and ``dataset_average`` all share it, and so do
  the noise-versus-digit measures that take them.

Neurons across layers are written ``L1:5`` (Layer_1, neuron 5), ``L2:5`` and ``output:3``.

The modules, one concept each: ``naming`` (layers, neuron codes, errors), ``activity`` (activations,
statistics, levels, sparsity), ``maps`` (effective weights, local Jacobians, dataset averages, top
images) and ``measures`` (noise versus digit). The sentences the pages build from them are ``advx.text.neurons``.
"""

from advx.neurons.activity import (
    DEFAULT_HIGH as DEFAULT_HIGH,
    DEFAULT_MILD as DEFAULT_MILD,
    DEFAULT_OUTPUT_WEIGHTING as DEFAULT_OUTPUT_WEIGHTING,
    DEFINITION_TITLES as DEFINITION_TITLES,
    DEFINITIONS as DEFINITIONS,
    HIGH as HIGH,
    INACTIVE as INACTIVE,
    LEVEL_NAMES as LEVEL_NAMES,
    MILD as MILD,
    OUTPUT_WEIGHTINGS as OUTPUT_WEIGHTINGS,
    LayerSparsity as LayerSparsity,
    NeuronStats as NeuronStats,
    ThresholdError as ThresholdError,
    activation_levels as activation_levels,
    activations as activations,
    all_layer_outputs as all_layer_outputs,
    check_thresholds as check_thresholds,
    layer_activation as layer_activation,
    level_counts as level_counts,
    neuron_stats as neuron_stats,
    sparsity as sparsity,
)
from advx.neurons.maps import (
    DatasetAverage as DatasetAverage,
    all_dataset_averages as all_dataset_averages,
    all_effective_weights as all_effective_weights,
    dataset_average as dataset_average,
    effective_weights as effective_weights,
    local_jacobian as local_jacobian,
    top_activating as top_activating,
)
from advx.neurons.measures import (
    HIGH_FREQUENCY_CUTOFF as HIGH_FREQUENCY_CUTOFF,
    NOISE_HIGH_FREQUENCY_SHARE as NOISE_HIGH_FREQUENCY_SHARE,
    NOISE_ROUGHNESS as NOISE_ROUGHNESS,
    SIDE as SIDE,
    NoiseDigitMeasures as NoiseDigitMeasures,
    high_frequency_share as high_frequency_share,
    noise_digit_measures as noise_digit_measures,
    pixel_correlation as pixel_correlation,
    roughness as roughness,
)
from advx.neurons.naming import (
    NeuronError as NeuronError,
    UnknownLayerError as UnknownLayerError,
    UnknownNeuronError as UnknownNeuronError,
    all_neuron_codes as all_neuron_codes,
    check_layer as check_layer,
    check_neuron as check_neuron,
    hidden_layer_names as hidden_layer_names,
    layer_widths as layer_widths,
    nearest_neuron as nearest_neuron,
    neuron_code as neuron_code,
    neuron_label as neuron_label,
    parse_neuron as parse_neuron,
)
