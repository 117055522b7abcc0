"""advx.vocabulary: one spelling of every label the pages, figures and sentences show, and one way to write a share."""

import math
import re
from pathlib import Path

import pytest

from advx import attacks as A
from advx import config
from advx import population as P
from advx import robust as R
from advx import subspace as S
from advx import vocabulary as V
from advx.config import TrainConfig

ADVX = Path(__file__).resolve().parents[1] / "advx"


@pytest.mark.parametrize("share, text", [
    (0, "0.0%"), (0.0, "0.0%"), (1, "100.0%"), (1.0, "100.0%"), (0.1234, "12.3%"), (0.5, "50.0%"),
    (0.995, "99.5%"), (0.9994, "99.9%"),
    # a share short of 1 never reads 100%: more decimals, at most three more, cut beyond that
    (0.99951, "99.95%"), (0.9996, "99.96%"), (0.99999, "99.999%"), (1 - 1e-9, "99.9999%"),
    # a tiny share rounds as any other
    (0.0004, "0.0%"), (1e-9, "0.0%"), (0.0005001, "0.1%"),
    (1.5, "150.0%"), (-0.05, "-5.0%"),
])
def test_pct_one_decimal_and_never_a_false_hundred(share, text):
    assert V.pct(share) == text


def test_pct_missing_values_and_digits():
    for missing in (None, math.nan, math.inf, -math.inf, float("nan")):
        assert V.pct(missing) == "n/a"
    assert V.pct(math.nan, missing="–") == "–"
    assert V.pct(0.12345, 2) == "12.35%" and V.pct(0.5, 0) == "50%" and V.pct(0.9996, 0) == "99.96%"


def test_format_number():
    assert V.format_number(None) == V.format_number(math.nan) == "n/a"
    assert V.format_number(2) == "2.00" and V.format_number(0.81234, 3) == "0.812"


def test_every_norm_optimizer_and_attack_has_a_label():
    assert A.NORMS == V.NORMS == config.ADVERSARIAL_NORMS and set(V.NORM_LABELS) == set(V.NORMS)
    assert [V.eps_label(n) for n in V.NORMS] == ["L∞ ε", "L2 ε"]
    assert config.OPTIMIZERS == V.OPTIMIZERS and set(V.OPTIMIZER_LABELS) == set(V.OPTIMIZERS)
    assert set(V.ATTACK_LABELS) == set(V.ATTACKS) == set(V.ATTACK_DETAILS) == set(V.ATTACK_TITLES)
    # every attack key the library uses is one of the vocabulary's
    used = set(P.TRANSFER_ATTACKS) | set(R.ATTACK_ROWS) | set(S.counterfactual.ATTACKS)
    used |= {"overlay", "overlay_sign", "random", "fgsm", "pgd"}  # advx.attacks.comparison_table's columns
    assert used <= set(V.ATTACKS)
    assert set(A.PATTERN_SOURCES) == set(V.SOURCE_LABELS)
    assert V.ATTACK_TITLES["overlay_sign"] == "Sign of the overlay" and V.ATTACK_TITLES["fgsm"] == "FGSM"


def test_network_names_and_member_labels():
    assert V.NETWORK_NAMES == ("book-smart", "street-smart")
    assert V.member_label(TrainConfig(optimizer="sgd", seed=3)) == "SGD, seed 3"
    assert V.member_label(TrainConfig(seed=1, init_scale=0.5)) == "Adam, seed 1, init ×0.5"
    assert V.POST_AUTHOR in V.POST_CREDIT and V.POST_TITLE in V.POST_CREDIT


def _sources():
    return {path: path.read_text() for path in ADVX.rglob("*.py")}


def test_labels_and_percentages_are_defined_only_in_the_vocabulary():
    """No other module writes its own percentage function or its own table of norm, optimizer or attack labels."""
    own = re.compile(r"^(def _?pct\b|def _num\b|(NORM_LABELS|NORM_SYMBOLS|OPTIMIZER_LABELS|METHOD_LABELS|ATTACK_NAMES)"
                     r"\s*=|NORMS\s*=\s*\()", re.M)
    found = {path.relative_to(ADVX).as_posix(): own.findall(text) for path, text in _sources().items()}
    assert {path: hits for path, hits in found.items() if hits} == {"vocabulary.py": found["vocabulary.py"]}


def test_sentence_and_figure_modules_use_the_vocabulary():
    """Every module of ``advx.text`` and ``advx.figures`` takes its labels and its layout from the vocabulary or the
    figures' base; a package inside them (``advx.figures.svg``) counts as one, through the module that holds its
    sizes and colours."""
    sources = {path.relative_to(ADVX).as_posix(): text for path, text in _sources().items()}
    units: dict[str, list[str]] = {}
    for p in sources:
        parts = p.split("/")
        if parts[0] in ("text", "figures") and p not in ("text/__init__.py", "figures/__init__.py", "figures/base.py"):
            units.setdefault("/".join(parts[:2]), []).append(p)
    assert "figures/svg" in units and len(units["figures/svg"]) > 2
    uses = {unit for unit, paths in units.items()
            if any("advx.vocabulary" in sources[p] or "advx.figures.base" in sources[p] for p in paths)}
    assert uses == set(units)
    # the science packages no longer hold sentences
    assert not [p for p in sources if p.endswith("/words.py")]
    for name in ("story", "seed_verdict", "explain_page", "transfer_sentences", "maps_finding", "fool_sentences"):
        assert not any(hasattr(package, name) for package in (A, P, R, S))
