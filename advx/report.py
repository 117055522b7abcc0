"""A report to hand out: one self-contained HTML file of a run's findings, its key figures (interactive, offline:
plotly.js is embedded once) and the numbers with their settings.

    from advx import report
    Path("advx-report.html").write_text(report.handout(run, mnist))

It reads only what is kept (``advx.findings.table``), as Home does, so its numbers are the ones the pages show;
a finding not computed yet says so.
"""

from __future__ import annotations

import html
import json

import numpy as np
import plotly.io as pio

from advx import experiments as E
from advx import findings
from advx.figures import attacks as FA
from advx.figures import neurons as FN
from advx.text import home as words
from advx.vocabulary import POST_CREDIT

_STYLE = """
body {font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; line-height: 1.45;}
table {border-collapse: collapse; width: 100%;} td, th {border-bottom: 1px solid #ddd; padding: 6px; vertical-align: top;
text-align: left;} .holds {color: #1e7b34;} .partly {color: #b35900;} .fails {color: #b00020;} .none {color: #777;}
.row {display: flex; flex-wrap: wrap; gap: 8px;} .row > div {flex: 1 1 280px; min-width: 260px;}
pre {background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px;}
"""


def _figure(fig, first: bool) -> str:
    return pio.to_html(fig, include_plotlyjs=bool(first), full_html=False, config={"displayModeBar": False})


def _md(text: str) -> str:
    """The few markdown marks the sentences use (``**bold**``), as HTML, the rest escaped."""
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def figures(run, mnist, hook=None) -> dict:
    """The report's figures: the hook's three pictures, and the output neurons' effective weights beside their
    dataset averages when the every-epoch results are kept."""
    hook = hook if hook is not None else E.hook(run, mnist)
    out = dict(zip(("original", "pattern", "adversarial"),
                   FA.overlay_panels(hook.original, hook.pattern, hook.adversarial, words.hook_titles(hook))))
    results = E.epoch_results.spec(run, mnist).read()
    if results is not None:
        maps = results.maps(run.n_epochs)["output"]
        labels = [f"output {i}" for i in range(maps["effective"].shape[1])]
        out["effective"] = FN.map_grid(np.asarray(maps["effective"]), labels, ncols=5, colorbar_title="weight",
                                       title="Output neurons: effective weights")
        out["average"] = FN.map_grid(np.asarray(maps["average"]), labels, signed=False, ncols=5,
                                     colorbar_title="pixel", title="Output neurons: dataset averages")
    return out


def handout(run, mnist) -> str:
    """The report as one HTML page (see the module's text)."""
    rows = findings.table(run, mnist)
    hook = E.hook(run, mnist)
    figs = figures(run, mnist, hook)
    counts = findings.tally(rows)
    pictures = [f"<div>{_figure(fig, i == 0)}</div>" for i, fig in enumerate(figs.values())]
    body = ["<h1>advx: why adversarial examples exist</h1>",
            f"<p>A report of one run of the lab, which retraces {_md(POST_CREDIT.replace('*', ''))} and tests its "
            "explanation against its rivals.</p>",
            "<h2>The post's picture, on this network</h2>", f"<div class='row'>{''.join(pictures[:3])}</div>",
            f"<p>{_md(words.hook_sentence(hook))}</p>",
            "<h2>Findings</h2>", f"<p>{html.escape(words.tally_sentence(counts))}</p>",
            "<table><tr><th>verdict</th><th>claim</th><th>whose</th><th>key number</th></tr>"]
    for row in rows:
        verdict = row["verdict"] or "none"
        body.append(f"<tr><td class='{verdict}'>{html.escape(findings.VERDICT_LABELS[row['verdict']])}</td>"
                    f"<td>{html.escape(row['claim'])}</td><td>{html.escape(words.WHOSE.get(row['whose'], row['whose']))}"
                    f"</td><td class='number'>{html.escape(row['number'])}</td></tr>")
    body.append("</table>")
    if len(pictures) > 3:
        body += ["<h2>Noise or digit: the output neurons</h2>", *pictures[3:]]
    settings = {"run": run.run_id, "configuration": run.config.to_dict(), "test accuracy": run.test_accuracy,
                "data (sha256)": mnist.sha, "hook": {"image": hook.image, "target": hook.target, "eps": hook.eps}}
    body += ["<h2>Settings</h2>", "<p>Reproduce every number with the <code>advx</code> library alone: "
             "<code>advx.findings.table(run, mnist)</code> for the findings, <code>advx.experiments.hook(run, mnist)"
             "</code> for the picture.</p>", f"<pre>{html.escape(json.dumps(settings, indent=2, default=str))}</pre>"]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>advx report: run {run.run_id}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_STYLE}</style></head>"
            f"<body>{''.join(body)}</body></html>")
