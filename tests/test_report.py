"""The report to hand out (``advx.report.handout``): its numbers are the pages' numbers, and it opens offline in
chromium with its figures drawn."""

from __future__ import annotations

import html
import re

import pytest

from advx import experiments as E
from advx import findings, report
from advx.vocabulary import pct

from apptest_support import assert_ran, open_page
from browser_support import browser  # noqa: F401
from conftest import ROOT

OVERLAY = str(ROOT / "views" / "overlay.py")


@pytest.fixture(scope="module")
def handout(trained_run, mnist) -> str:
    E.overlay_summary(trained_run, mnist)  # kept, so the report's overlay finding has its number
    return report.handout(trained_run, mnist)


def _report_rows(text: str) -> dict[str, tuple[str, str]]:
    """``{claim: (verdict, number)}`` read back from the report's table."""
    rows = re.findall(r"<tr><td class='[a-z]+'>(.*?)</td><td>(.*?)</td><td>.*?</td><td class='number'>(.*?)</td></tr>",
                      text)
    return {html.unescape(claim): (html.unescape(verdict), html.unescape(number)) for verdict, claim, number in rows}


def test_the_reports_numbers_are_the_pages_numbers(handout, trained_run, mnist):
    rows = _report_rows(handout)
    table = findings.table(trained_run, mnist)
    assert len(rows) == len(findings.CLAIMS) == len(table)
    for row in table:
        assert rows[row["claim"]] == (findings.VERDICT_LABELS[row["verdict"]], row["number"])

    # The hook and the overlay's rate, as the overlay page shows them for the same image, target and ε.
    hook = E.hook(trained_run, mnist)
    at = open_page(OVERLAY, 600, image="0", target="0", eps=f"{hook.eps:g}")
    assert_ran(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Probability of 0"] == f"{hook.probability:.1%}" and metrics["Prediction with the overlay"] == "0"
    assert f"{hook.probability:.1%}" in handout and f"ε = {hook.eps:g}" in handout

    summary = E.overlay_summary(trained_run, mnist)
    eps = float(summary.eps_grid[abs(summary.eps_grid - findings.FAINT_EPS).argmin()])
    at = open_page(OVERLAY, 600, image="0", target="0", eps=f"{eps:g}")
    assert_ran(at)
    shown = [c.value for c in at.caption if "succeed" in c.value]
    overlay_number = rows[next(c for i, _, c, _ in findings.CLAIMS if i == "overlay")][1]
    rate = re.search(r"(\d+\.\d)% of the", overlay_number).group(1)
    assert shown and f": {rate}% succeed" in shown[0], (shown, overlay_number)
    assert pct(float(summary.success[list(summary.eps_grid).index(eps)])) == f"{rate}%"


@pytest.mark.browser
def test_the_report_opens_offline_in_chromium_and_draws_its_figures(handout, browser, tmp_path):  # noqa: F811
    path = tmp_path / "advx-report.html"
    path.write_text(handout)
    context = browser.new_context(offline=True, viewport={"width": 1000, "height": 900})
    asked = []
    context.on("request", lambda request: asked.append(request.url))
    try:
        tab = context.new_page()
        tab.goto(path.as_uri())
        expected = handout.count("Plotly.newPlot(")
        assert expected >= 3
        tab.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {expected}",
                              timeout=60_000)
        assert tab.locator(".js-plotly-plot").count() == expected
        assert all(url.startswith("file:") or url.startswith("data:") for url in asked), asked
        text = tab.inner_text("body")
        assert "Findings" in text and "None" not in text and "nan" not in text.split()
    finally:
        context.close()
