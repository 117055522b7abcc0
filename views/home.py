"""Home: the experiment's story in a few lines, and a link to each stage."""

import streamlit as st

st.title("advx: why adversarial examples exist")
st.markdown(
    """
A small fully-connected network (784 → 64 → 64 → 10, ReLU) learns to read handwritten digits with
about 98% accuracy. Yet adding a faint, noise-like pattern to a clearly written **7** makes it answer
**0** with near certainty. This lab retraces, step by step and with numbers you can check, the simple
experiment in Justin Skycak's post *"Intuiting Adversarial Examples in Neural Networks via a Simple
Computational Experiment"*, and pushes it further.

1. **Train** the network on MNIST (a few seconds on a laptop CPU).
2. **Activations**: each digit lights up only a handful of hidden neurons.
3. **Effective weights**: the image each neuron responds to most, read off its weights, looks like noise.
4. **Dataset averages**: the images that actually make a neuron fire, averaged, look like digits.
5. **Why it happens**: training only tunes the neuron inside the thin slice of pixel space where
   digits live; everywhere else it keeps the opinions of its random start.
6. **Adversarial overlay**: push a 7 along one of those untrained directions and watch the answer flip.
7. **Draw a digit**: your own handwriting through every stage, and fooled live.
8. **Street-smart**: a network trained against attacks, and what changes in its neurons.
9. **Many networks**: whether the noise is each network's own, and whether a smaller start leaves less of it.
10. **Bugs or features?**: the post's explanation beside its rivals, each tested on the same network.
"""
)

for path, label in [
    ("views/train.py", "Train the network"),
    ("views/activations.py", "Sparse activations"),
    ("views/effective_weights.py", "Effective weights"),
    ("views/dataset_averages.py", "Dataset averages"),
    ("views/compare.py", "Compare neurons side by side"),
    ("views/overlay.py", "The adversarial overlay"),
    ("views/why.py", "Why it happens"),
    ("views/draw.py", "Draw a digit"),
    ("views/street_smart.py", "Street-smart: a network trained against attacks"),
    ("views/networks.py", "Many networks"),
    ("views/bugs_or_features.py", "Bugs or features? The post's explanation and its rivals"),
]:
    try:
        st.page_link(path, label=label, icon=":material/arrow_forward:")
    except Exception:  # a page not registered in this build is simply not linked
        pass

st.caption("Every view keeps its settings in the address bar: copy the link to share exactly what you see. "
           "The Train page downloads the trained run as one zip (configuration, history, the parameters after every "
           "epoch) and its figure as an interactive HTML page that opens offline.")
