"""A page's numbers from ``advx`` alone: what a notebook cell computes (no ``ui``, no ``streamlit`` imported) equals
what the page shows, for one result each of "Adversarial overlay", "Street-smart" and "Many networks".

The notebook side runs in a fresh interpreter on the same cache folder, so it finds what the page kept; the
overlay's sweep is also computed there from nothing and must equal the kept one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from apptest_support import assert_ran, open_page

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 1800  # a cold cache: the page computes the comparison of two networks, or trains the populations

NOTEBOOK = r"""
import json, sys
sys.path.insert(0, {root!r})
import numpy as np
from advx import attacks as A, experiments as E, robust as R
from advx.text import population as population_words, robust as robust_words
from advx.config import TrainConfig
from advx.data import load_mnist
mnist = load_mnist()
run = E.trained_run(TrainConfig(), mnist)
out = {{}}
{body}
assert "streamlit" not in sys.modules and not [m for m in sys.modules if m == "ui" or m.startswith("ui.")]
print("RESULT " + json.dumps(out))
"""


def _advx_alone(body: str) -> dict:
    """Run ``body`` (which fills ``out``) in a fresh interpreter that imports only ``advx``; return ``out``."""
    code = NOTEBOOK.format(root=str(ROOT), body=body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _page(name: str):
    at = open_page(str(ROOT / "views" / f"{name}.py"), TIMEOUT, hover=True)  # its tables as data grids, to read
    assert_ran(at)
    assert not at.error, [e.value for e in at.error]
    return at


def _frame(at, columns) -> pd.DataFrame:
    """The one table of the page with exactly these columns, in order."""
    frames = [d.value.reset_index(drop=True) for d in at.dataframe if list(d.value.columns) == list(columns)]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def test_the_overlays_success_over_the_test_set_is_the_notebooks():
    at = _page("overlay")
    caption = next(c.value for c in at.caption if "succeed (median confidence" in c.value)
    out = _advx_alone("""
spec = E.overlay_summary.spec(run, mnist, source="effective_weights", norm="linf")
kept = spec.get()
fresh = spec.compute(lambda fraction=None, text="": None)  # from nothing, not read from the file
step = list(A.EPS_GRID["linf"]).index(0.8)
out["rate"] = float(kept.success[step])
out["differences"] = {name: float(np.nanmax(np.abs(np.asarray(a, float) - np.asarray(b, float))))
                      for name, a, b in zip(kept._fields, kept, fresh)}
# every field, to float rounding between processes: a share of ~80,000 attacked pairs moves by 1.2e-5 per image,
# a histogram count by one image whose confidence sits on a bin edge (the matrices' diagonal is NaN)
out["fresh_equal"] = all(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-4, equal_nan=True,
                                     atol=1 if np.issubdtype(np.asarray(a).dtype, np.integer) else 1e-3)
                         for a, b in zip(kept, fresh))
""")
    assert out["fresh_equal"], json.dumps(out["differences"])
    assert f": {out['rate']:.1%} succeed" in caption, caption


def test_the_street_smart_pages_every_number_table_is_the_notebooks():
    at = _page("street_smart")
    out = _advx_alone("""
robust = E.trained_run(R.DEFAULT_ROBUST, mnist)
out["rows"] = robust_words.comparison_rows(E.robust_comparison(run, robust, mnist))
""")
    expected = pd.DataFrame(out["rows"])
    shown = _frame(at, expected.columns)
    assert len(shown) == len(expected) > 5
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)


def test_the_many_networks_transfer_table_is_the_notebooks():
    at = _page("networks")
    out = _advx_alone("""
networks = E.populations(mnist)
shared = networks["transfer and agreement"]
table = population_words.transfer_table(E.transfer(shared, mnist, "linf"), shared.configs, "success")
out["rows"] = [{k: v for k, v in row.items() if k not in ("optimizer_name", "part_name")} for row in table]
""")
    expected = pd.DataFrame(out["rows"])
    shown = _frame(at, expected.columns)
    assert len(shown) == len(expected) > 5
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)
    own = expected.select_dtypes("number").to_numpy(float)
    assert np.isfinite(own).any()
