"""What the pages read: the data in the shapes the library takes, and a run's results per epoch.

A run's every-epoch neuron results come from a background job (``advx.experiments.epoch_results``); until it is
done, a page computes just the epoch it shows (``ui.cache``), so it never waits for epochs it does not show.
"""

from __future__ import annotations

import numpy as np

from advx import neurons
from advx import experiments as E
from ui import cache, jobs, resources, road


def pixels() -> tuple[np.ndarray, np.ndarray]:
    """``(train (60000, 784) uint8, test (10000, 784) float32 in [0, 1])``, shared by every session.

    The training images stay uint8 (a view of the data, no copy; the library scales them inside its
    compiled code); the test images, which the attacks and drawings use pixel by pixel, are float.
    """
    mnist = resources.data()
    return mnist.train_images.reshape(len(mnist.train_images), -1), cache.test_pixels(mnist.sha, mnist)


def device_test():
    """The test images as a uint8 JAX array, made once: passing it costs no copy per call."""
    mnist = resources.data()
    return cache.device_test(mnist.sha, mnist)


def epoch_results(run, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING):
    """The run's ``advx.derived.EpochResults`` when ready (in memory or on disk), else ``None`` after starting
    their job."""
    return jobs.outcome(road.ask(E.epoch_results.spec(run, resources.data(), output), lane="later"), wait=False)


def maps(run, epoch: int, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING) -> dict:
    """``{layer: {"effective", "average" (784, n); "dead" (n,); and every NoiseDigitMeasures field (n,)}}``."""
    ready = epoch_results(run, output)
    if ready is not None:
        return ready.maps(int(epoch))
    return cache.epoch_maps(run.run_id, int(epoch), output, run, pixels()[0])


def effective_maps(run, epoch: int) -> dict:
    """``{layer: {"effective", "effective_high_frequency", "effective_roughness"}}``: what ``maps`` holds of the
    effective weights, without its pass over the training images when the every-epoch results are not ready."""
    ready = epoch_results(run)
    if ready is not None:
        return ready.maps(int(epoch))
    return cache.epoch_effective(run.run_id, int(epoch), run.params_at(int(epoch)))


def stats(run, epoch: int) -> dict[str, neurons.NeuronStats]:
    """``{layer: NeuronStats}`` over the 60,000 training images."""
    ready = epoch_results(run)
    if ready is not None:
        return ready.stats(int(epoch))
    return cache.epoch_stats(run.run_id, int(epoch), run.params_at(int(epoch)), pixels()[0])


def test_layers(run, epoch: int, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING) -> dict:
    """``{layer: (pre-activations, activations)}``, each ``(10000, width)``, on the test set, one pass per epoch."""
    return cache.test_layers(run.run_id, int(epoch), output, run.params_at(int(epoch)), device_test())


def test_activations(run, epoch: int, output: str = neurons.DEFAULT_OUTPUT_WEIGHTING) -> dict[str, np.ndarray]:
    """``{layer: (10000, width)}`` activations on the test set (output: per ``output``)."""
    return {layer: post for layer, (_, post) in test_layers(run, epoch, output).items()}


def sparsity(run, epoch: int, definition: str, high: float, mild: float) -> dict[str, neurons.LayerSparsity]:
    """``{hidden layer: LayerSparsity}`` over the 10,000 test images."""
    return cache.sparsity(run.run_id, int(epoch), definition, float(high), float(mild), run.params_at(int(epoch)),
                          device_test(), stats(run, epoch))


def jacobians(run, epoch: int, index: int) -> dict[str, np.ndarray]:
    """``{layer: (784, width)}`` local Jacobians at test image ``index``."""
    return cache.jacobians(run.run_id, int(epoch), int(index), run.params_at(int(epoch)), pixels()[1][int(index)])


def top_images(run, epoch: int, layer: str, neuron: int, count: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the test set of the ``count`` images that drive the neuron hardest, and their pre-activations.

    Ranked by pre-activation, largest first, ties by index (as ``advx.neurons.top_activating``), from
    the epoch's one pass over the test set.
    """
    pre = test_layers(run, epoch)[layer][0][:, int(neuron)]
    order = np.argsort(-pre, kind="stable")[:count]
    return order, pre[order]
