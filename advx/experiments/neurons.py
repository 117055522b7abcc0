"""The neuron pages' results kept on disk: every epoch's neuron results of a run, and the maps "Why it
happens" splits (at initialisation and trained)."""

from __future__ import annotations

from advx import derived, neurons
from advx import subspace as S
from advx.experiments.spec import Codec, Experiment, experiment, fingerprint


def train_pixels(mnist):
    """``(60000, 784)`` uint8: a view of the training images (the library scales them in its compiled code)."""
    return mnist.train_images.reshape(len(mnist.train_images), -1)


@experiment
def epoch_results(run, mnist, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING) -> Experiment:
    """``advx.derived.EpochResults``: every epoch's effective weights, dataset averages and statistics over
    the 60,000 training images, weighted at the output layer by ``output``."""
    inputs = {"run": run.run_id, "weights": fingerprint(run.final_params), "data": mnist.sha}
    return Experiment("neuron results", "every epoch's neuron results", inputs,
                      {"output": output, "fields": list(derived.FIELDS)},
                      lambda report: derived.epoch_results(run, train_pixels(mnist), output),
                      Codec(derived.encode, derived.decoder(run.run_id, output)))


@experiment
def neuron_maps(run, mnist) -> Experiment:
    """``advx.subspace.NeuronMaps``: the maps "Why it happens" splits, at initialisation and trained. Taken from
    the every-epoch results when they are kept, else computed for those two epochs (the same numbers, by the
    same functions); not kept on disk itself."""

    def compute(report):
        ready = epoch_results.spec(run, mnist).read()
        if ready is not None:
            return S.NeuronMaps.from_layer_dicts(ready.maps(0), ready.maps(run.n_epochs))
        return S.neuron_maps(run.params_at(0), run.final_params, train_pixels(mnist))

    inputs = {"run": run.run_id, "weights": fingerprint(run.final_params), "data": mnist.sha}
    return Experiment("neuron maps", "the effective weights and dataset averages at both ends of training", inputs,
                      {}, compute)
