"""advx: why adversarial examples exist. Entry point: ``streamlit run streamlit_app.py``.

Streamlit runs this file as the app's script (``__main__``). Before that, as the server starts, it imports it once to
find its app (``st.App``): the app's start-up then imports JAX, Flax and the library in the background, so that the
first visit after a restart does not wait for them (``ui.warm``).
"""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent


def main() -> None:
    from ui import classmode, maps, startup, story

    st.set_page_config(page_title="advx: why adversarial examples exist", page_icon=":material/science:",
                       layout="wide")
    startup.configure()
    classmode.apply()
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


if __name__ == "__main__":
    main()
else:
    from ui import warm

    app = st.App(HERE / "streamlit_app.py", lifespan=warm.lifespan)
