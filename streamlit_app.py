"""advx: why adversarial examples exist. Entry point: ``streamlit run streamlit_app.py``."""

from pathlib import Path

import streamlit as st

from ui import startup

st.set_page_config(page_title="advx: why adversarial examples exist", page_icon=":material/science:", layout="wide")

startup.configure()
HERE = Path(__file__).parent
PAGES = {
    "Start": [("views/home.py", "Home", ":material/home:"), ("views/train.py", "Train", ":material/model_training:")],
    "The experiment": [
        ("views/activations.py", "Activations", ":material/bar_chart:"),
        ("views/effective_weights.py", "Effective weights", ":material/grid_on:"),
        ("views/dataset_averages.py", "Dataset averages", ":material/image:"),
        ("views/compare.py", "Compare neurons", ":material/compare:"),
        ("views/overlay.py", "Adversarial overlay", ":material/my_location:"),
        ("views/draw.py", "Draw a digit", ":material/draw:"),
        ("views/why.py", "Why it happens", ":material/lightbulb:"),
        ("views/street_smart.py", "Street-smart", ":material/shield:"),
        ("views/networks.py", "Many networks", ":material/hub:"),
        ("views/bugs_or_features.py", "Bugs or features?", ":material/bug_report:"),
    ],
}

navigation = st.navigation({
    section: [st.Page(path, title=title, icon=icon, default=(path == "views/home.py"))
              for path, title, icon in entries if (HERE / path).exists()]
    for section, entries in PAGES.items()
})
navigation.run()
