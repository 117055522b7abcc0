"""The lab's one path (``ui.story``): the sidebar, Home's list and the "next →" links follow one order."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui import story

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


def _links(at) -> list[str]:
    return [link.proto.label for link in at.get("page_link")]


def test_the_story_holds_every_page_once_with_why_before_the_overlay():
    scripts = [path for path, _, _ in story.order()]
    assert len(scripts) == len(set(scripts)) and scripts[:2] == ["views/home.py", "views/train.py"]
    assert {str(p.relative_to(ROOT)) for p in (ROOT / "views").glob("*.py")} == set(scripts)
    assert scripts.index("views/why.py") < scripts.index("views/overlay.py")  # the post's order
    assert set(story.SUMMARIES) == set(scripts[1:])
    assert story.neighbours("views/home.py") == (None, story.order()[1])
    assert story.neighbours(scripts[-1])[1] is None and story.neighbours("views/nowhere.py") == (None, None)


def test_home_lists_the_pages_in_the_story_order_and_links_to_the_first():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [title for _, title, _ in story.order()[1:]]
    listed = [label for label in _links(at) if label[:1].isdigit()]  # the numbered path (Home links elsewhere too)
    assert [label.split(". ", 1)[1].split(":")[0] for label in listed] == titles
    assert [label.split(". ", 1)[0] for label in listed] == [str(i) for i in range(1, len(titles) + 1)]
    assert "Next: Train →" in _links(at)


def test_a_page_ends_with_its_neighbours_in_the_story(trained_run):
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("views/activations.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _links(at)[-2:] == ["← Train", "Next: Effective weights →"]
