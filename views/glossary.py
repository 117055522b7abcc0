"""Glossary: every term the lab uses, in plain words; each page links to an entry at the term's first use."""

import streamlit as st

from advx.text import glossary
from ui import story

st.title("Glossary")
lead = story.lead("views/glossary.py")
for anchor, (term, explanation) in glossary.TERMS.items():
    st.subheader(term, anchor=anchor)
    st.markdown(explanation)
