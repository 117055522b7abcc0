"""advx: why adversarial examples exist. Entry point: ``streamlit run streamlit_app.py``."""

from pathlib import Path

import streamlit as st

from ui import classmode, maps, startup, story

st.set_page_config(page_title="advx: why adversarial examples exist", page_icon=":material/science:", layout="wide")

startup.configure()
classmode.apply()
HERE = Path(__file__).parent
navigation = st.navigation({
    section: [st.Page(path, title=title, icon=icon, default=(path == "views/home.py"))
              for path, title, icon in entries if (HERE / path).exists()]
    for section, entries in story.PAGES.items()
})
if maps.interactive():  # the visit draws Plotly charts: start fetching their code while the page runs
    startup.preload_chart_code()
try:
    navigation.run()
    # The story's next page (a page that stopped early, e.g. while its first section computes, shows none yet).
    scripts = {Path(path).stem if path != "views/home.py" else "": path for path, _, _ in story.order()}
    story.footer(scripts.get(navigation.url_path, ""), existing=lambda path: (HERE / path).exists())
finally:
    startup.trim_heap()  # what this run freed goes back to the system before the next page or job
    startup.report_memory(navigation.url_path)
