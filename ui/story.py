"""The lab's one path: the pages in the order of the post's argument, for the sidebar, Home and the
"← previous · next →" links at the end of every page.

``PAGES`` is a literal (the browser tests read it without running the app): per sidebar section, the pages as
``(script, title, icon)``; ``SUMMARIES`` says in one line what each page shows, for Home's story.
"""

from __future__ import annotations

from typing import Optional

import streamlit as st

from advx.text import leads

PAGES = {
    "Start": [("views/home.py", "Home", ":material/home:"), ("views/train.py", "Train", ":material/model_training:")],
    "The post's experiment": [
        ("views/activations.py", "Activations", ":material/bar_chart:"),
        ("views/effective_weights.py", "Effective weights", ":material/grid_on:"),
        ("views/dataset_averages.py", "Dataset averages", ":material/image:"),
        ("views/compare.py", "Compare neurons", ":material/compare:"),
        ("views/why.py", "Why it happens", ":material/lightbulb:"),
        ("views/overlay.py", "Adversarial overlay", ":material/my_location:"),
    ],
    "Beyond the post": [
        ("views/draw.py", "Draw a digit", ":material/draw:"),
        ("views/street_smart.py", "Street-smart", ":material/shield:"),
        ("views/networks.py", "Many networks", ":material/hub:"),
        ("views/bugs_or_features.py", "Bugs or features?", ":material/bug_report:"),
    ],
    "Reference": [("views/glossary.py", "Glossary", ":material/menu_book:")],
}

SUMMARIES = {
    "views/train.py": "train the network on MNIST (seconds on a laptop CPU).",
    "views/activations.py": "each digit lights up only a handful of hidden neurons.",
    "views/effective_weights.py": "the image each neuron responds to most, read off its weights alone, looks like "
                                  "noise.",
    "views/dataset_averages.py": "the images that actually make a neuron fire, averaged, look like digits.",
    "views/compare.py": "put any neurons side by side: weights, averages, top images.",
    "views/why.py": "training tunes a neuron only inside the thin slice of pixel space where digits live; elsewhere "
                    "it keeps the opinions of its random start.",
    "views/overlay.py": "push a 7 along one of those untrained directions and watch the answer flip to 0.",
    "views/draw.py": "your own handwriting through every stage, fooled live.",
    "views/street_smart.py": "a network trained against attacks, and what changes in its neurons.",
    "views/networks.py": "whether the noise is each network's own, and whether a smaller start leaves less of it.",
    "views/bugs_or_features.py": "the post's explanation against its rivals (features, the dimpled manifold, "
                                 "linearity, the untrained network), each tested on this network.",
    "views/glossary.py": "every term in plain words, with the scale of its numbers.",
}


def order(existing=None) -> list[tuple[str, str, str]]:
    """Every page in the story's order, ``(script, title, icon)``; ``existing(script)`` filters them."""
    return [page for entries in PAGES.values() for page in entries if existing is None or existing(page[0])]


def neighbours(script: str, existing=None) -> tuple[Optional[tuple], Optional[tuple]]:
    """The pages before and after ``script`` in the story (``None`` at either end, or for a page not in it)."""
    pages = order(existing)
    scripts = [page[0] for page in pages]
    if script not in scripts:
        return None, None
    i = scripts.index(script)
    return (pages[i - 1] if i > 0 else None), (pages[i + 1] if i + 1 < len(pages) else None)


def footer(script: str, existing=None) -> None:
    """"← previous · next →" at the end of a page."""
    before, after = neighbours(script, existing)
    if before is None and after is None:
        return
    st.divider()
    left, right = st.columns(2)
    if before is not None:
        left.page_link(before[0], label=f"← {before[1]}", icon=None)
    if after is not None:
        right.page_link(after[0], label=f"Next: {after[1]} →", icon=None)


def link_markdown(script: str, title: str) -> str:
    """A markdown link to ``script``'s page (its URL path is the script's name)."""
    return f"[{title}](./{script.rsplit('/', 1)[-1].removesuffix('.py')})"


def lead(script: str, numbers: Optional[str] = None):
    """The page's two opening sentences (``advx.text.leads``) in a box under its title; returns the box, so a page
    that measures its numbers later can fill them in (``box.markdown(leads.lead(script, numbers))``)."""
    box = st.empty()
    fill_lead(box, script, numbers)
    return box


def fill_lead(box, script: str, numbers: str) -> None:
    """Put the run's own ``numbers`` into the page's opening box (``lead``'s return)."""
    text = leads.lead(script, numbers)
    if text:
        box.info(text, icon=":material/visibility:")


def numbers_box(title: str = "The numbers"):
    """The folded part of a section that holds its raw figures (a table, sentences): use as ``with numbers_box():``."""
    return st.expander(title, icon=":material/functions:")


def numbers(lines, title: str = "The numbers") -> None:
    """A section's raw figures, folded under its point: ``lines`` (markdown sentences) as a list in an expander."""
    lines = [line for line in lines if line]
    if lines:
        with numbers_box(title):
            st.markdown("\n".join(f"- {line}" for line in lines))
