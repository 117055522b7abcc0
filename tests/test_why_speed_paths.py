"""The fast paths of "Why it happens" give the numbers of the direct routes.

- ``Spectrum`` / ``NeuronSpectra``: any k's energies from one projection, against numpy's projector and
  against ``measure_neurons`` / ``first_layer_change`` computed from the maps at that k;
- the counterfactual attack table (``advx.subspace.counterfactual``): one compilation per shape, shared by
  every network, and its counts equal to the attacks called one eps at a time;
- the app's jobs (``ui.road.ask`` of ``advx.experiments.data_subspace`` and ``counterfactual_column``): one computation shared by every
  caller, a failure tried again, the same result as the library call;
- ``ui.startup.tune_threads``: NumPy's BLAS runs on one thread.
"""

from __future__ import annotations

import logging
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from advx import attacks as A
from advx import experiments as E
from advx import subspace as S


def _first_images(mnist, n: int):
    """``mnist`` with only its first ``n`` training images, under a data hash of its own (its subspace is another)."""
    import dataclasses

    return dataclasses.replace(mnist, train_images=mnist.train_images[:n], sha=f"{mnist.sha[:16]}-first{n}")


def _images(n=700, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784)).astype(np.float32) ** 3
    x[:, :40] = 0.0
    return x


@pytest.fixture(scope="module")
def sub():
    return S.fit_subspace(_images())


@pytest.fixture(scope="module")
def numpy_basis():
    """Right singular vectors of the same images by numpy's SVD: the independent route."""
    return np.linalg.svd(_images().astype(np.float64), full_matrices=False)[2]


@pytest.mark.parametrize("k", [1, 20, 333, 744, 784])
def test_spectrum_gives_every_k_the_energy_of_the_projection(sub, numpy_basis, k):
    rng = np.random.default_rng(k)
    v = rng.normal(size=(784, 5)).astype(np.float32)
    spec = S.spectrum(sub, v)
    e = spec.energy(k)
    total = (v.astype(np.float64) ** 2).sum(0)
    np.testing.assert_allclose(e.inside + e.outside, total, rtol=1e-5)
    direct = S.energy(sub, v, k)
    np.testing.assert_allclose(e.inside, direct.inside, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.outside, direct.outside, rtol=1e-5, atol=1e-6)
    if k <= 660:  # numpy's SVD has only as many directions as the 744 non-blank pixels; compare well inside them
        top = numpy_basis[:k].T  # (784, k)
        np.testing.assert_allclose(e.inside, ((top.T @ v) ** 2).sum(0), rtol=2e-4, atol=1e-4)
    assert spec.head.shape == spec.tail.shape == (785, 5)
    assert (spec.head[0] == 0).all() and (spec.tail[784] == 0).all()
    assert not spec.head.flags.writeable  # shared by every session of the app


def test_neuron_spectra_and_first_layer_spectrum_measure_like_the_maps(sub, trained_run, mnist):
    train = mnist.train_images[:3000].reshape(3000, -1)
    maps = S.neuron_maps(trained_run.params_at(0), trained_run.final_params, train)
    spectra = S.neuron_spectra(sub, maps)
    assert spectra.layers == maps.layers
    for k in (7, 150, 600):
        for layer in maps.layers:
            fast, slow = S.measure_neurons(sub, k, spectra, layer), S.measure_neurons(sub, k, maps, layer)
            for part in ("effective_init", "effective_trained", "average_init", "average_trained", "change"):
                a, b = getattr(fast, part), getattr(slow, part)
                np.testing.assert_allclose(a.inside, b.inside, rtol=1e-4, atol=1e-7)
                np.testing.assert_allclose(a.outside, b.outside, rtol=1e-4, atol=1e-7)
        for fast_row, slow_row in zip(S.layer_summary(sub, k, spectra), S.layer_summary(sub, k, maps)):
            assert fast_row["layer"] == slow_row["layer"]
            assert {c: v for c, v in fast_row.items() if c != "layer"} == pytest.approx(
                {c: v for c, v in slow_row.items() if c != "layer"}, rel=1e-4)
        first = S.first_layer_spectrum(sub, trained_run.params_at(0), trained_run.final_params)
        with_spectrum = S.first_layer_change(sub, k, trained_run.params_at(0), trained_run.final_params, first)
        without = S.first_layer_change(sub, k, trained_run.params_at(0), trained_run.final_params)
        assert with_spectrum == pytest.approx(without, rel=1e-4)
        fast = S.first_layer_study(sub, k, trained_run.params_at(0), trained_run.final_params, spectrum=first)
        slow = S.first_layer_study(sub, k, trained_run.params_at(0), trained_run.final_params)
        np.testing.assert_allclose(fast.change_curve, slow.change_curve, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(fast.init_curve, slow.init_curve, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(fast.maps.share_inside, slow.maps.share_inside, equal_nan=True)
    with pytest.raises(S.SubspaceError, match="unknown layer"):
        S.measure_neurons(sub, 5, spectra, "Layer_9")


# --------------------------------------------------------------------------------------------
# The counterfactual attack table


EPS = {"overlay": (0.2, 0.6), "fgsm": (0.1, 0.3), "pgd": (0.1,)}


def _compilations(records) -> int:
    return sum("Compiling jit(_attack_table)" in r.getMessage() for r in records)


def test_the_attack_table_counts_what_the_attacks_do_one_eps_at_a_time(mnist, trained_run, sub, caplog):
    params = trained_run.final_params
    n = 400
    test_u8 = mnist.test_images[:n].reshape(n, -1)
    labels = mnist.test_labels[:n]
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        on_device = S.attack_rates(params, jnp.asarray(test_u8), labels, jax.random.key(3), eps=EPS,
                                   n_attack=120, pgd_steps=10)
        assert _compilations(caplog.records) == 1
        # one compilation per shape: another network of the same shapes (the projected one) reuses it
        S.attack_rates(S.project_first_layer(params, sub, 50), jnp.asarray(test_u8), labels, jax.random.key(3),
                       eps=EPS, n_attack=120, pgd_steps=10)
        assert _compilations(caplog.records) == 1
    from_host = S.attack_rates(params, test_u8.astype(np.float32) / 255, labels, jax.random.key(3), eps=EPS,
                               n_attack=120, pgd_steps=10)
    assert on_device.n_attacked == from_host.n_attacked
    assert on_device.clean_accuracy == pytest.approx(from_host.clean_accuracy, abs=1e-9)
    for eps_key, rate in on_device.success.items():
        assert rate == pytest.approx(from_host.success[eps_key], abs=1 / on_device.n_attacked + 1e-9)
    # the independent route: the library's attacks, one eps at a time
    x = jnp.asarray(test_u8, jnp.float32) / 255
    clean = np.asarray(A.predictions(params, x))
    assert on_device.clean_accuracy == pytest.approx(float((clean == labels).mean()), abs=1e-9)
    eligible = (clean[:120] == labels[:120]) & (labels[:120] != 0)
    assert on_device.n_attacked == int(eligible.sum())
    pattern = A.pattern_for(params, x[:1], 0)
    for eps in EPS["overlay"]:
        hits = np.asarray(A.predictions(params, A.overlay(x[:120], pattern, eps, "linf"))) == 0
        assert on_device.success[("overlay", eps)] == pytest.approx(hits[eligible].mean(), abs=1e-9)
    zeros = jnp.zeros((120,), jnp.int32)
    for eps in EPS["fgsm"]:
        hits = np.asarray(A.predictions(params, A.fgsm(A.as_model_fn(params), x[:120], zeros, eps, targeted=True))) == 0
        # one image may round the other way at the class boundary
        assert on_device.success[("fgsm", eps)] == pytest.approx(hits[eligible].mean(), abs=1 / eligible.sum() + 1e-9)


def test_attack_rates_rejects_an_empty_test_set(trained_run):
    with pytest.raises(S.SubspaceError, match="at least one"):
        S.attack_rates(trained_run.final_params, np.zeros((0, 784), np.uint8), np.zeros(0, np.uint8), jax.random.key(0))


# --------------------------------------------------------------------------------------------
# The app's workers


def test_the_subspace_is_computed_once_for_every_caller_and_a_failure_is_tried_again(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from advx import experiments as E
    from ui import jobs, road

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "_jobs", type(jobs._jobs)())
    calls, real = [], S.fit_subspace
    fail = [True]

    def counted(images, centred=False):
        calls.append(1)
        time.sleep(0.3)  # long enough for the other callers to arrive while it runs
        if fail[0]:
            fail[0] = False
            raise MemoryError("out of memory")
        return real(images, centred)

    monkeypatch.setattr(S, "fit_subspace", counted)
    x = (_images(200) * 255).astype(np.uint8)
    spec = E.data_subspace.spec(SimpleNamespace(train_images=x, sha="b" * 64))
    with pytest.raises(MemoryError):
        road.ask(spec).result(timeout=60)
    got = []
    threads = [threading.Thread(target=lambda: got.append(road.ask(spec))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(job) for job in got}) == 1
    result = got[0].result(timeout=60)
    assert len(calls) == 2 and result.k_for(0.9) == S.fit_subspace(x).k_for(0.9)


def test_a_counterfactual_column_is_the_library_call_and_is_computed_once(mnist, trained_run, monkeypatch, tmp_path):
    from ui import jobs, road

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "_jobs", type(jobs._jobs)())
    small = _first_images(mnist, 5000)
    sub = S.fit_subspace(small.train_images)
    test = jnp.asarray(mnist.test_images.reshape(10000, -1))
    job = road.ask(E.counterfactual_column.spec(trained_run, small, 40))
    assert road.ask(E.counterfactual_column.spec(trained_run, small, 40)) is job
    projected = S.project_first_layer(trained_run.final_params, sub, 40)
    direct = S.attack_rates(projected, test, mnist.test_labels, jax.random.key(0))
    assert job.result(timeout=300) == direct
    trained = road.ask(E.counterfactual_column.spec(trained_run, small, 0)).result(timeout=300)
    assert trained == S.attack_rates(trained_run.final_params, test, mnist.test_labels, jax.random.key(0))
    assert trained.clean_accuracy == pytest.approx(trained_run.test_accuracy, abs=1e-6)


def test_tune_threads_leaves_numpy_one_blas_thread():
    from threadpoolctl import threadpool_info

    from ui import startup

    try:
        startup.tune_threads()
        startup.tune_threads()  # idempotent
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
    finally:
        if startup._blas_limits is not None:
            startup._blas_limits.restore_original_limits()
            startup._blas_limits = None


def test_stored_counterfactual_columns_survive_a_restart_and_damage_is_recomputed(mnist, trained_run, tmp_path,
                                                                                  monkeypatch):
    import dataclasses

    from advx.storage import StoredFileWarning

    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    small = _first_images(mnist, 5000)
    sub = S.fit_subspace(small.train_images)
    test = jnp.asarray(mnist.test_images.reshape(10000, -1))
    calls, real = [], S.attack_rates
    monkeypatch.setattr(S, "attack_rates", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    column = E.counterfactual_column
    first = column(trained_run, small, 40)
    trained = column(trained_run, small, 0)
    assert len(calls) == 2
    # the independent route: the library call on the projected network
    assert first == real(S.project_first_layer(trained_run.final_params, sub, 40), test, mnist.test_labels,
                         jax.random.key(0))
    # read back (a new process would do the same): no attack runs, the same numbers, one file per k
    assert column(trained_run, small, 40) == first
    assert column(trained_run, small, 0) == trained
    assert len(calls) == 2
    path = column.spec(trained_run, small, 40).path()
    assert sorted(p.name for p in path.parent.glob("*.npz")) == sorted(
        [path.name, column.spec(trained_run, small, 0).path().name])
    # a changed number breaks the file's checks: it is reported, the column computed again and the file rewritten
    blob = path.read_bytes()
    i = blob.index(np.float64(first.clean_accuracy).tobytes())
    path.write_bytes(blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1:])
    reports = []
    assert column.spec(trained_run, small, 40).get(on_damage=reports.append) == first
    assert len(calls) == 3 and len(reports) == 1 and path.name in reports[0]
    assert column(trained_run, small, 40) == first
    assert len(calls) == 3
    # other weights under the same run id (a retrained run) do not use the file
    other = dataclasses.replace(trained_run, params_history=trained_run.params_history[:-1] + (
        trained_run.params_history[0],))
    other_path = column.spec(other, small, 0).path()
    assert other_path != column.spec(trained_run, small, 0).path()
    other_path.write_bytes(column.spec(trained_run, small, 0).path().read_bytes())  # even under its name
    with pytest.warns(StoredFileWarning, match="other data, weights or settings"):
        assert column(other, small, 0).clean_accuracy < 0.5
    assert len(calls) == 4
    assert not list(path.parent.glob("*.tmp"))
