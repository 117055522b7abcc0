"""Home: the experiment's story in a few lines, and a link to each stage, in the story's one order."""

import streamlit as st

from ui import story

st.title("advx: why adversarial examples exist")
st.markdown(
    """
A small fully-connected network (784 → 64 → 64 → 10, ReLU) learns to read handwritten digits with
about 98% accuracy. Yet adding a faint, noise-like pattern to a clearly written **7** makes it answer
**0** with near certainty. This lab retraces, step by step and with numbers you can check, the simple
experiment in Justin Skycak's post *"Intuiting Adversarial Examples in Neural Networks via a Simple
Computational Experiment"*, and pushes it further.

The path below follows the post's argument, then goes beyond it; every page ends with a link to the next.
"""
)

for number, (path, title, icon) in enumerate(story.order()[1:], start=1):  # after Home itself
    try:
        st.page_link(path, label=f"{number}. {title}: {story.SUMMARIES.get(path, '')}", icon=icon)
    except Exception:  # a page not registered in this build is simply not linked
        pass

st.caption("Every view keeps its settings in the address bar: copy the link to share exactly what you see. "
           "The Train page downloads the trained run as one zip (configuration, history, the parameters after every "
           "epoch) and its figure as an interactive HTML page that opens offline.")
