"""Home: the post's 7 → 0 on the run's own network (``advx.experiments.hook``) and the findings at a glance
(``advx.findings``), whose verdicts follow the kept results."""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from advx import experiments as E
from advx import findings
from advx.attacks import EPS_GRID
from advx.data import CACHE_FILE_NAME

from conftest import CACHE, ROOT

APP = str(ROOT / "streamlit_app.py")


def _numpy_probabilities(params, x: np.ndarray) -> np.ndarray:
    """A plain NumPy forward pass (ReLU hidden layers, softmax output), apart from the library's ``walk``."""
    h = x
    names = list(params)
    for name in names:
        h = h @ np.asarray(params[name]["kernel"], np.float64) + np.asarray(params[name]["bias"], np.float64)
        if name != names[-1]:
            h = np.maximum(h, 0.0)
    e = np.exp(h - h.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_the_hook_is_the_smallest_grid_eps_that_makes_the_seven_a_confident_zero(trained_run, mnist):
    hook = E.hook(trained_run, mnist)
    assert hook.image == 0 and hook.label == 7 and hook.target == 0
    params = trained_run.final_params
    x = mnist.test_images[0].reshape(-1).astype(np.float64) / 255.0
    # The pattern by an independent route: W1·W2·W3 multiplied out in NumPy, column 0, scaled to a largest pixel of 1.
    w = np.linalg.multi_dot([np.asarray(params[n]["kernel"], np.float64) for n in params])[:, 0]
    unit = w / np.abs(w).max()
    np.testing.assert_allclose(hook.pattern, unit, rtol=1e-4, atol=1e-5)
    confident = []
    for eps in EPS_GRID["linf"]:
        p = _numpy_probabilities(params, np.clip(x + eps * unit, 0.0, 1.0)[None])[0]
        if p[0] >= 0.9:
            confident.append((eps, p))
    assert confident, "no ε of the grid makes the 7 a confident 0"
    eps, p = confident[0]
    assert hook.eps == pytest.approx(eps) and hook.probability == pytest.approx(p[0], abs=1e-4)
    assert hook.prediction == 0 and hook.clean < 0.01
    np.testing.assert_allclose(hook.adversarial, np.clip(x + eps * unit, 0, 1), atol=1e-4)


@pytest.fixture
def own_cache(monkeypatch, tmp_path, trained_run, mnist):
    """A cache folder holding only MNIST and the runs, so a changed result disturbs no other test."""
    shutil.copyfile(CACHE / CACHE_FILE_NAME, tmp_path / CACHE_FILE_NAME)
    shutil.copytree(CACHE / "runs", tmp_path / "runs")
    monkeypatch.setenv("ADVX_CACHE_DIR", str(tmp_path))
    from ui import cache

    cache.findings.clear()
    yield tmp_path
    cache.findings.clear()


def _keep(spec, value) -> None:
    """Replace the kept result of ``spec`` by ``value`` (through the one verified-file format)."""
    path = spec.path()
    if path.exists():
        os.remove(path)
    dataclasses.replace(spec, compute=lambda report: value).get()


def _home_lines(claim: str) -> list[str]:
    at = AppTest.from_file(APP, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    return [line for m in at.markdown for line in m.value.splitlines() if claim in line]


def test_a_changed_kept_result_changes_its_verdict_on_home(own_cache, trained_run, mnist):
    claim = next(c for i, _, c, _ in findings.CLAIMS if i == "overlay")
    before = findings.row("overlay", trained_run, mnist)
    assert before["verdict"] is None and before["number"] == ""  # nothing kept yet in this folder
    assert any(":gray-badge[not computed yet]" in line for line in _home_lines(claim))

    spec = E.overlay_summary.spec(trained_run, mnist)
    summary = spec.get()
    measured = findings.row("overlay", trained_run, mnist)
    j = int(np.argmin(np.abs(np.asarray(summary.eps_grid) - findings.FAINT_EPS)))
    rate, control = float(summary.success[j]), float(summary.control_success[j])
    expected = "holds" if rate >= 0.5 else "partly" if rate >= 2 * control else "fails"
    assert measured["verdict"] == expected and f"{rate:.1%}" in measured["number"]

    # Kept results that say the overlay turns every pair, or none: the verdict on Home follows each.
    for success, verdict, badge in ((np.ones_like(summary.success), "holds", ":green-badge[holds]"),
                                    (np.zeros_like(summary.success), "fails", ":red-badge[fails]")):
        _keep(spec, summary._replace(success=success))
        assert findings.row("overlay", trained_run, mnist)["verdict"] == verdict
        from ui import cache

        cache.findings.clear()
        lines = _home_lines(claim)
        assert lines and all(line.lstrip("- ").startswith(badge) for line in lines), lines


def test_home_lists_every_claim_once_with_its_page(trained_run, mnist):
    at = AppTest.from_file(APP, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    text = "\n".join(m.value for m in at.markdown)
    for _id, _whose, claim, page in findings.CLAIMS:
        assert text.count(claim) == 1, claim
        assert f"(./{page.rsplit('/', 1)[-1].removesuffix('.py')})" in text
    hook = E.hook(trained_run, mnist)
    assert f"ε = {hook.eps:g}" in text and f"{hook.probability:.1%}" in text
    assert "None" not in text and "nan" not in text


def test_the_findings_table_is_kept_until_a_result_is_kept_or_removed(own_cache, trained_run, mnist, monkeypatch):
    made = findings.kept_table(trained_run, mnist)
    assert made == findings.table(trained_run, mnist)
    (summary,) = (own_cache / findings.SUMMARY_FOLDER).glob("*.npz")

    def unread(*args, **kwargs):
        raise AssertionError("the kept findings were made again though no result changed")

    with monkeypatch.context() as patch:
        patch.setattr(findings, "table", unread)
        assert findings.kept_table(trained_run, mnist) == made  # read back

    # A result kept since: the table is made again from it, and replaces the older summary.
    E.overlay_summary.spec(trained_run, mnist).get()
    again = findings.kept_table(trained_run, mnist)
    assert again == findings.table(trained_run, mnist) and again != made
    assert next(r for r in again if r["id"] == "overlay")["verdict"] is not None
    (newer,) = (own_cache / findings.SUMMARY_FOLDER).glob("*.npz")
    assert newer != summary

    # A damaged summary is reported, removed and made again, never shown.
    newer.write_bytes(b"not a verified file")
    with pytest.warns(UserWarning, match="damaged"):
        assert findings.kept_table(trained_run, mnist) == again
    assert findings.storage.load(newer, "findings", None) is not None


def test_the_hook_is_kept_and_read_back_unchanged(own_cache, trained_run, mnist):
    from advx.experiments import overlay

    spec = E.hook.spec(trained_run, mnist)
    assert spec.read() is None
    made = spec.get()
    assert spec.path().exists()
    kept = spec.read()
    for name, value in made._asdict().items():
        np.testing.assert_array_equal(np.asarray(getattr(kept, name)), np.asarray(value), err_msg=name)
        assert type(getattr(kept, name)) is type(value), name
    # A hook that no ε of the grid reaches (eps None) is kept as such.
    codec = overlay._hook_codec()
    assert codec.decode(*codec.encode(made._replace(eps=None))).eps is None
