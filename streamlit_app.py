"""advx: why adversarial examples exist. Entry point: ``streamlit run streamlit_app.py``."""

from pathlib import Path

import streamlit as st

st.set_page_config(page_title="advx: why adversarial examples exist", page_icon="🧪", layout="wide")

HERE = Path(__file__).parent
PAGES = {
    "Start": [("pages/home.py", "Home", "🏠"), ("pages/train.py", "Train", "🏋️")],
    "The experiment": [
        ("pages/activations.py", "Activations", "✨"),
        ("pages/effective_weights.py", "Effective weights", "🧮"),
        ("pages/dataset_averages.py", "Dataset averages", "🖼️"),
        ("pages/compare.py", "Compare neurons", "🔍"),
        ("pages/overlay.py", "Adversarial overlay", "🎯"),
        ("pages/why.py", "Why it happens", "💡"),
    ],
}

navigation = st.navigation({
    section: [st.Page(path, title=title, icon=icon, default=(path == "pages/home.py"))
              for path, title, icon in entries if (HERE / path).exists()]
    for section, entries in PAGES.items()
})
navigation.run()
