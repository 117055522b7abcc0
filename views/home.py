"""Home: the hook (the post's 7 → 0 on this run's network), the findings at a glance, and the path through the lab."""

import streamlit as st

from advx.figures import attacks as F
from advx.findings import tally
from advx.text import home as words
from advx import report
from ui import cache, classmode, maps, resources, story

st.title("advx: why adversarial examples exist")
st.markdown(
    "A small network (784 → 64 → 64 → 10, ReLU) reads handwritten digits with about 98% accuracy. Yet adding a "
    "noise-like pattern to a clearly written **7** makes it answer **0** with high confidence. This lab retraces, "
    "with numbers you can check, the experiment of Justin Skycak's post *\"Intuiting Adversarial Examples in Neural "
    "Networks via a Simple Computational Experiment\"*, tests its explanation against its rivals, and goes further.")

mnist = resources.data(required=False)  # without the data, Home still shows the path through the lab
if mnist is not None:
    run = resources.current_run()
    hook = cache.hook(run.run_id, run, mnist)
    st.header("The post's picture, on this network")
    for column, panel, name in zip(st.columns(3), F.overlay_panels(hook.original, hook.pattern, hook.adversarial,
                                                                    words.hook_titles(hook)),
                                   ("original", "pattern", "adversarial")):
        maps.show(column, panel, f"home_{name}", config={"displayModeBar": False})
    st.markdown(words.hook_sentence(hook))
    st.page_link("views/overlay.py", label="Try it yourself: Adversarial overlay →", icon=":material/my_location:")

    st.header("Findings at a glance")
    st.caption("Each claim of the post, and each prediction the lab tests, measured on this run's network. A verdict "
               "is computed from the kept results by the same functions as its page.")
    rows = cache.findings(run.run_id, run, mnist)
    titles = {path: title for path, title, _ in story.order()}
    st.markdown(words.tally_sentence(tally(rows)))
    st.markdown("\n".join(f"- {words.finding_line(row, story.link_markdown(row['page'], titles[row['page']]))}"
                          for row in rows))

    st.download_button("Download a report to hand out (HTML, opens offline)", key="home_report", icon=":material/download:",
                       data=lambda: report.handout(run, mnist), file_name=f"advx-report-{run.run_id}.html",
                       mime="text/html", on_click="ignore",
                       help="The picture above, every finding with its key number, and the settings that reproduce them.")

st.header("The path through the lab")
st.markdown("It follows the post's argument, then goes beyond it; every page ends with a link to the next.")
for number, (path, title, icon) in enumerate(story.order()[1:], start=1):  # after Home itself
    if story.SUMMARIES.get(path):
        try:
            st.page_link(path, label=f"{number}. {title}: {story.SUMMARIES[path]}", icon=icon)
        except Exception:  # a page not registered in this build is simply not linked
            pass
classmode.offer_link()
st.caption("Every view keeps its settings in the address bar: copy the link to share exactly what you see.")
