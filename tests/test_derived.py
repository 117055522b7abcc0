"""Every epoch's neuron results (advx.derived): against the per-epoch library functions, and on disk."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from advx import derived, neurons, storage
from advx import experiments as E


@pytest.fixture(scope="module")
def results(trained_run, mnist):
    return derived.epoch_results(trained_run, mnist.train_images)


def test_every_epoch_matches_the_per_epoch_functions(results, trained_run, mnist):
    """The fused, grouped pass gives what all_dataset_averages, neuron_stats and the measures give one epoch at a time."""
    x = mnist.train_images.reshape(len(mnist.train_images), -1)
    assert results.n_epochs == trained_run.n_epochs and results.n_images == 60_000
    for epoch in (0, 1, 6, trained_run.n_epochs):  # first group, padded last group, middle
        params = trained_run.params_at(epoch)
        averages = neurons.all_dataset_averages(params, x)
        stats = neurons.neuron_stats(params, x)
        effective = neurons.all_effective_weights(params)
        maps, got_stats = results.maps(epoch), results.stats(epoch)
        for layer in averages:
            np.testing.assert_allclose(maps[layer]["average"], np.asarray(averages[layer].images), atol=2e-6)
            np.testing.assert_array_equal(maps[layer]["dead"], np.asarray(averages[layer].dead))
            np.testing.assert_allclose(maps[layer]["effective"], np.asarray(effective[layer]), rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(got_stats[layer].neuron_max, stats[layer].neuron_max, rtol=1e-5)
            np.testing.assert_allclose(got_stats[layer].firing_rate, stats[layer].firing_rate, atol=1e-7)
            measures = neurons.noise_digit_measures(effective[layer], averages[layer])
            for field, value in measures._asdict().items():
                np.testing.assert_allclose(maps[layer][field], value, rtol=1e-4, atol=1e-6, equal_nan=True)
    # the scrubber's premise: the dataset averages change with training, and epoch 0 is the initialisation
    assert not np.allclose(results.maps(0)["output"]["average"], results.maps(trained_run.n_epochs)["output"]["average"])
    with pytest.raises(IndexError):
        results.maps(trained_run.n_epochs + 1)


def test_one_epochs_maps_are_the_every_epoch_results_bit_for_bit(results, trained_run, mnist):
    """What a page shows before the every-epoch results are ready is what it shows after: the same bits, for an
    epoch at each place of its group, the padded last group included."""
    for epoch in (0, 2, 5, trained_run.n_epochs):
        one, every = derived.epoch_maps(trained_run, epoch, mnist.train_images), results.maps(epoch)
        assert set(one) == set(every)
        for layer, fields in every.items():
            assert set(one[layer]) == set(fields)
            for field, value in fields.items():
                np.testing.assert_array_equal(one[layer][field], value, err_msg=f"epoch {epoch} {layer} {field}")
    assert not np.array_equal(derived.epoch_maps(trained_run, 1, mnist.train_images)["Layer_1"]["average"],
                              results.maps(2)["Layer_1"]["average"])  # each epoch its own
    with pytest.raises(IndexError):
        derived.epoch_maps(trained_run, trained_run.n_epochs + 1, mnist.train_images)
    with pytest.raises(ValueError, match="output weighting"):
        derived.epoch_maps(trained_run, 0, mnist.train_images, "no such weighting")


def test_a_set_that_is_not_a_whole_number_of_chunks(trained_run, mnist):
    x = mnist.train_images[:12_345]
    part = derived.epoch_results(trained_run, x)
    stats = neurons.neuron_stats(trained_run.final_params, x.reshape(len(x), -1))
    for layer, s in stats.items():
        np.testing.assert_allclose(part.stats(trained_run.n_epochs)[layer].firing_rate, s.firing_rate, atol=1e-7)
        np.testing.assert_allclose(part.stats(trained_run.n_epochs)[layer].neuron_max, s.neuron_max, rtol=1e-5)
    with pytest.raises(ValueError, match="uint8"):
        derived.epoch_results(trained_run, x.astype(np.float32))


def test_stored_results_round_trip_and_damage_is_recomputed(results, trained_run, mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    spec = E.epoch_results.spec(trained_run, mnist)
    path = spec.path()
    assert path.parent == tmp_path / "neuron_results" and spec.read() is None
    assert dataclasses.replace(spec, compute=lambda report: results).get() is results and path.exists()
    back = spec.read()
    assert back.n_images == results.n_images and list(back.arrays) == list(results.arrays)
    for layer, fields in results.arrays.items():
        for field, value in fields.items():
            np.testing.assert_array_equal(back.arrays[layer][field], value)

    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte in the middle of the arrays
    path.write_bytes(bytes(blob))
    reports = []
    assert spec.read(on_damage=reports.append) is None
    assert len(reports) == 1 and "damaged" in reports[0] and not path.exists()  # reported and removed
    path.write_bytes(bytes(blob))
    with pytest.warns(storage.StoredFileWarning, match="neuron results"):
        again = spec.get()
    np.testing.assert_allclose(again.arrays["output"]["average"], results.arrays["output"]["average"], atol=1e-6)
    assert spec.read() is not None  # rewritten whole
    assert not list(path.parent.glob("*.tmp"))

    # a file made for other weights under the same run id (e.g. a retrained run) is not used, even under its name
    other = dataclasses.replace(trained_run, params_history=trained_run.params_history[:-1] + (
        trained_run.params_history[0],))
    other_spec = E.epoch_results.spec(other, mnist)
    assert other_spec.digest != spec.digest and other_spec.read() is None
    other_spec.path().write_bytes(path.read_bytes())
    with pytest.warns(storage.StoredFileWarning, match="other data, weights or settings"):
        assert other_spec.read() is None


def test_a_cache_folder_that_cannot_be_written_only_means_nothing_is_kept(trained_run, mnist, tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("ADVX_CACHE_DIR", str(blocked))
    small = dataclasses.replace(mnist, train_images=mnist.train_images[:4_000])
    got = E.epoch_results.spec(trained_run, small).get()
    assert got.n_images == 4_000 and E.epoch_results.spec(trained_run, small).read() is None


def test_background_job_serves_every_caller_one_computation(trained_run, mnist, tmp_path, monkeypatch):
    from ui import jobs, road

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "_jobs", type(jobs._jobs)())
    jobs.set_synchronous(False)
    calls = []
    real = derived.epoch_results
    monkeypatch.setattr(derived, "epoch_results", lambda *a, **k: calls.append(1) or real(*a, **k))
    spec = E.epoch_results.spec(trained_run, mnist)
    first = road.ask(spec)  # starts the job; not ready yet
    assert not first.done()
    done = first.result(timeout=600)
    assert done is not None and road.ask(spec) is first
    assert calls == [1]
    assert spec.path().exists()
    # a new process (an empty job table) reads the file at once instead of queueing a computation
    monkeypatch.setattr(jobs, "_jobs", type(jobs._jobs)())
    again = road.ask(E.epoch_results.spec(trained_run, mnist))
    assert again.done() and again.result().n_epochs == done.n_epochs and calls == [1]
