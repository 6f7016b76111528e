"""Explainer mode, through the real router: every step of every story opens without error in every
language and tier, with its filters and choices intact and no table refused; Previous / Next move
through a story (skipping a researchers' step for the public); the guided tour advances, goes back,
skips and restarts; presentation view; the stories page; one-question links on theme pages."""

from __future__ import annotations

import json

import pytest
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.WidgetStates_pb2 import WidgetState

from components.shell import SHARE_KEY
from core import pages as core_pages
from core.data.engine import load_codebook
from core.explainer import stories as core_stories
from core.explainer import tour as core_tour
from core.i18n import t
from core.settings import LANGUAGES
from tests.app import conftest
from tests.app.conftest import ROLE_USERS, link, sign_in, texts

STORIES = core_stories.load_stories()


def staying(at):
    """From here on, each run goes where the last one ended (as a browser does after st.switch_page),
    not back to the page the test first opened."""
    at._page_hash = None
    return at


def open_app(query=None, locale=None, page=None):
    return staying(conftest.open_app(query, locale, page))


def as_role(role, query=None, page=None):
    return staying(conftest.as_role(role, query, page))
STEPS = [(story.id, number) for story in STORIES.values() for number in range(1, len(story.steps) + 1)]


def page_title(step: core_stories.Step, lang: str) -> str:
    if step.page in themes_of(step.dataset):
        return themes_of(step.dataset)[step.page].label(lang)
    return t(core_pages.page(step.page).heading, lang)


def themes_of(dataset: str) -> dict:
    return {th.id: th for th in load_codebook(dataset).themes}


def open_step(story_id: str, number: int, lang: str, role: str | None):
    step = STORIES[story_id].step(number)
    query = step.query(story_id, number, lang=lang)
    return as_role(role, query, page=None if step.page == "overview" else step.page)


def check_step(at, story_id: str, number: int, lang: str) -> None:
    step = STORIES[story_id].step(number)
    assert not at.exception, at.exception
    assert at.title[0].value == page_title(step, lang)
    shown = texts(at)
    assert step.title[lang] in shown and step.text[lang] in shown
    assert t("story.label", lang, story=STORIES[story_id].title[lang], number=number,
             total=len(STORIES[story_id].steps)) in shown
    # The data support the step: nothing refused, and every parameter kept (none dropped as unusable).
    assert t("disclosure.refused_title", lang) not in shown
    kept = link(at)
    for name, values in step.params.items():
        assert sorted(kept.get(name, [])) == sorted(values), (name, kept)
    assert kept["story"] == [story_id] and kept["step"] == [str(number)]


# One run per step, in the tier it is for, the languages taking turns: what a language changes (texts,
# labels) and what a tier may see are checked for every step x language x tier in core
# (tests/unit/test_stories.py), what the page draws from a step's link here.
@pytest.mark.parametrize("story_id, number, lang", [(s, n, LANGUAGES[i % len(LANGUAGES)])
                                                    for i, (s, n) in enumerate(STEPS)])
def test_every_story_step_opens(story_id, number, lang):
    step = STORIES[story_id].step(number)
    role = None if step.open_to("public") else "researcher"
    check_step(open_step(story_id, number, lang, role), story_id, number, lang)


# --- moving through a story ------------------------------------------------------------------------

def test_next_and_previous_move_through_a_story_and_its_pages():
    story = STORIES["central_mediterranean"]
    at = open_step(story.id, 1, "fr", None)
    check_step(at, story.id, 1, "fr")
    assert at.button(key="story_previous").disabled
    for number in range(2, len(story.steps) + 1):
        at.button(key="story_next").click().run()
        check_step(at, story.id, number, "fr")  # the step's page, filters and choices, from its link
    assert at.button(key="story_next").disabled
    at.button(key="story_previous").click().run()
    check_step(at, story.id, len(story.steps) - 1, "fr")


def test_a_step_sets_its_filters_over_the_ones_chosen_before():
    story = STORIES["covid_latin_america"]
    at = open_step(story.id, 1, "en", None)
    at.sidebar.selectbox(key="f1_region").set_value("west_africa").run()
    assert link(at)["region"] == ["west_africa"]
    at.button(key="story_next").click().run()
    check_step(at, story.id, 2, "en")
    assert at.sidebar.selectbox(key="f1_region").value == "latin_america"


def test_the_public_skips_a_researchers_step_and_a_researcher_does_not():
    story = STORIES["smuggling_costs"]
    locked = next(n for n in range(1, len(story.steps) + 1) if not story.step(n).open_to("public"))
    at = open_step(story.id, locked - 1, "en", None)
    assert at.button(key="story_next").disabled  # the last public step: the next one is for researchers
    at = open_step(story.id, locked - 1, "en", "researcher")
    at.button(key="story_next").click().run()
    check_step(at, story.id, locked, "en")
    assert at.dataframe  # the respondents' rows


def test_a_researchers_step_link_opened_by_the_public_says_so():
    story = STORIES["smuggling_costs"]
    locked = next(n for n in range(1, len(story.steps) + 1) if not story.step(n).open_to("public"))
    at = open_step(story.id, locked, "es", None)
    assert not at.exception
    assert t("story.researcher_step", "es") in texts(at)
    # The step's page shows only its sign-in request (core: auth.restricted_page), never the rows.
    assert not at.dataframe
    assert t("auth.needs_sign_in", "es", role=t("auth.role.researcher", "es")) in texts(at)


def test_closing_a_story_keeps_the_page():
    story = STORIES["afghan_returns"]
    at = open_step(story.id, 3, "en", None)
    at.button(key="story_close").click().run()
    assert "story" not in link(at) and "step" not in link(at)
    assert at.title[0].value == page_title(story.step(3), "en")
    assert story.step(3).title["en"] not in texts(at)


@pytest.mark.parametrize("query", [{"story": "atlantis", "step": "2"}, {"story": "afghan_returns", "step": "99"},
                                   {"story": "afghan_returns", "step": "two"}])
def test_an_unknown_story_or_step_is_ignored(query):
    at = open_app(query)
    assert not at.exception
    assert at.title[0].value == t("app.title", "en")
    assert "story_next" not in [b.key for b in at.button]


def test_the_stories_page_lists_them_with_their_step_links():
    at = as_role(None, {"lang": "es"}, page="stories")
    assert not at.exception
    assert at.title[0].value == t("stories.title", "es")
    shown = texts(at)
    for story in STORIES.values():
        assert story.title["es"] in shown
        assert story.step(1).link(story.id, 1, lang="es") in shown
    assert t("stories.researchers_only", "es") in shown
    at.button(key="start_afghan_returns").click().run()
    check_step(at, "afghan_returns", 1, "es")


def test_presenting_a_story_from_the_stories_page():
    at = as_role(None, {}, page="stories")
    at.button(key="present_eastern_route_gender").click().run()
    check_step(at, "eastern_route_gender", 1, "en")
    assert link(at)["present"] == ["1"]


# --- presentation view ---------------------------------------------------------------------------

def present_css(at) -> bool:
    return any("stSidebar" in str(getattr(h.proto, "body", "")) for h in at.get("html"))


def test_presentation_view_from_the_link():
    story = STORIES["eastern_route_gender"]
    step = story.step(2)
    at = as_role(None, step.query(story.id, 2, lang="es", present="1"), page=step.page)
    check_step(at, story.id, 2, "es")
    assert present_css(at)
    assert at.button(key="present_leave")
    assert at.get("bidi_component")  # the keyboard's listener
    [chart] = [c for c in at.get("vega_lite_chart")]
    config = json.loads(chart.proto.spec)["config"]
    assert config["axis"]["labelFontSize"] >= 16 and config["axis"]["labelColor"] == "#000000"
    at.button(key="present_leave").click().run()
    assert "present" not in link(at)
    assert not present_css(at)
    check_step(at, story.id, 2, "es")


def press(at, direction: str):
    """What the browser sends when a presentation key is pressed: the keys component's trigger."""
    [keys] = [c for c in at.get("bidi_component") if c.proto.component_name.endswith("portal_present_keys")]
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=_make_trigger_id(keys.proto.id, "events"),
                                      json_trigger_value=json.dumps([{"event": "step", "value": direction}])))
    at._run(states)
    return at


def test_presentation_keys_move_through_the_story():
    story = STORIES["afghan_returns"]
    at = as_role(None, story.step(2).query(story.id, 2, present="1"), page=story.step(2).page)
    press(at, "next")
    check_step(at, story.id, 3, "en")
    assert link(at)["present"] == ["1"]
    press(at, "previous")
    check_step(at, story.id, 2, "en")
    press(at, "previous")
    check_step(at, story.id, 1, "en")
    press(at, "previous")  # the first step: nowhere to go
    check_step(at, story.id, 1, "en")


def test_the_presentation_switch_writes_the_link():
    at = open_app()
    assert not present_css(at)
    at.sidebar.toggle(key="present_switch").set_value(True).run()
    assert link(at)["present"] == ["1"]
    assert present_css(at)


def test_presentation_enlarges_chart_text_without_touching_the_data():
    from components import present

    spec = {"mark": {"type": "text", "fontSize": 10}, "height": {"step": 20}, "data": {"values": [{"a": 1}]},
            "config": {"axis": {"grid": False}}}
    at = open_app({"present": "1"})  # is_on() reads the link of a run; checked here as a pure function too
    assert present_css(at)

    class Params(dict):
        def get(self, key, default=None):
            return super().get(key, default)

    import streamlit as st

    original = st.query_params
    try:
        object.__setattr__(present, "st", type("S", (), {"query_params": Params(present="1")}))
        out = present.chart_spec(spec)
    finally:
        object.__setattr__(present, "st", st)
        assert st.query_params is original
    assert out["mark"]["fontSize"] == 15 and out["height"]["step"] == 29
    assert out["data"] == spec["data"] and out["config"]["axis"]["grid"] is False
    assert spec["mark"]["fontSize"] == 10  # the cached spec is not changed


# --- the guided tour ----------------------------------------------------------------------------

def tour_step(at) -> int | None:
    value = link(at).get("tour")
    return int(value[0]) if value else None


def test_the_tour_starts_advances_goes_back_skips_and_restarts():
    at = open_app({"lang": "fr", "ds": "core", "gender": "woman"}, page="map")
    at.sidebar.button(key="tour_start").click().run()
    steps = core_tour.steps_for(None)
    assert tour_step(at) == 1 and at.title[0].value == t("app.title", "fr")
    assert t("tour.welcome.title", "fr") in texts(at)
    seen_pages = []
    for number in range(2, len(steps) + 1):
        at.button(key="tour_next").click().run()
        assert not at.exception, at.exception
        assert tour_step(at) == number
        step = steps[number - 1]
        assert t(f"tour.{step.id}.title", "fr") in texts(at)
        assert t("tour.label", "fr", number=number, total=len(steps)) in texts(at)
        assert link(at)["gender"] == ["woman"]  # the tour keeps the filters
        seen_pages.append(at.title[0].value)
        # the part explained is outlined
        assert any(core_tour_target(step) in str(h.proto.body) for h in at.get("html"))
    assert t("map.title", "fr") in seen_pages and t("crosstab.title", "fr") in seen_pages
    assert t("stories.title", "fr") in seen_pages
    assert at.button(key="tour_next").label == t("tour.finish", "fr")
    at.button(key="tour_back").click().run()
    assert tour_step(at) == len(steps) - 1
    at.button(key="tour_restart").click().run()
    assert tour_step(at) == 1 and at.title[0].value == t("app.title", "fr")
    at.button(key="tour_next").click().run()
    assert tour_step(at) == 2
    at.button(key="tour_skip").click().run()
    assert tour_step(at) is None
    assert "tour_next" not in [b.key for b in at.button]


def core_tour_target(step) -> str:
    from components.tour import TARGETS

    return TARGETS[step.target]


def test_the_tour_on_a_theme_page_shows_a_chart_and_its_breakdown():
    at = open_app({"ds": "covid"})
    at.sidebar.button(key="tour_start").click().run()
    steps = core_tour.steps_for(None)
    breakdown = [s.id for s in steps].index("breakdown") + 1
    while tour_step(at) < breakdown:
        at.button(key="tour_next").click().run()
    theme = load_codebook("covid").themes[1]
    assert at.title[0].value == theme.label("en")
    assert link(at)["by"] == ["gender"] and link(at)["ds"] == ["covid"]
    assert len(at.get("vega_lite_chart")) == 1


def test_the_finished_tour_ends():
    at = open_app()
    steps = core_tour.steps_for(None)
    at.query_params["tour"] = str(len(steps))
    at = open_app({"tour": str(len(steps))}, page=None)
    at.button(key="tour_next").click().run()
    assert tour_step(at) is None


def test_a_researcher_tour_ends_on_the_microdata():
    at = as_role("researcher")
    at.sidebar.button(key="tour_start").click().run()
    steps = core_tour.steps_for("researcher")
    for _ in range(len(steps) - 1):
        at.button(key="tour_next").click().run()
    assert not at.exception
    assert at.title[0].value == t("nav.microdata", "en")
    assert t("tour.microdata.title", "en") in texts(at)


def test_a_public_tour_has_no_microdata_step():
    at = open_app({"tour": str(len(core_tour.steps_for("researcher")))})
    assert not at.exception
    assert "tour_next" not in [b.key for b in at.button]  # out of range for the public: no tour


# --- "How to read this", one-question links, what the link keeps ----------------------------------

@pytest.mark.parametrize("page, query", [("overview", {}), ("map", {}), ("crosstab", {"rows": "gender"}),
                                         ("drivers", {"q": "main_driver"})])
def test_every_figure_has_a_how_to_read_note(page, query):
    at = open_app(query, page=None if page == "overview" else page)
    assert not at.exception
    assert t("howto.title", "en") in [e.label for e in at.expander]
    assert t("howto.not_representative", "en") in texts(at)


def test_a_theme_page_link_can_show_one_question():
    at = open_app({"q": "smuggler_perception"}, page="smuggling")
    assert not at.exception
    assert [s.value for s in at.subheader][0] == load_codebook("core")["smuggler_perception"].label("en")
    assert len(at.get("vega_lite_chart")) == 1
    at.button(key="theme_show_all").click().run()
    assert "q" not in link(at)
    assert len(at.get("vega_lite_chart")) > 1


def test_an_unknown_question_is_dropped_with_a_note():
    at = open_app({"q": "nothing_like_it"}, page="smuggling")
    assert not at.exception
    assert t("filters.dropped", "en", param="q", value="nothing_like_it") in texts(at)
    assert len(at.get("vega_lite_chart")) > 1


def test_the_share_link_holds_the_view():
    at = open_app({"lang": "fr", "gender": "woman", "by": "age_band"}, page="drivers")
    assert not at.sidebar.code  # drawn when opened, by the run its opening causes (components.shell.share_link)
    at.session_state[SHARE_KEY] = True
    at.run()
    code, pinned, cite = list(at.sidebar.code)  # the link, the pinned link (its release named), the citation
    assert code.value.startswith("/drivers?")
    assert "lang=fr" in code.value and "gender=woman" in code.value and "by=age_band" in code.value
    assert pinned.value == code.value + "&release=core@builtin" and "release=" not in code.value
    assert cite.value.startswith("Mixed Migration Centre (") and "core@builtin" in cite.value


def test_the_explainer_parameters_are_not_reported_as_unknown():
    at = open_app({"present": "1", "tour": "2", "story": "afghan_returns", "step": "1"})
    assert not at.exception
    assert t("filters.dropped", "en", param="present", value="1") not in texts(at)
    assert {"present", "tour", "story", "step"} <= set(link(at))


def test_signing_in_keeps_the_story_step():
    story = STORIES["smuggling_costs"]
    at = open_step(story.id, 2, "en", None)
    sign_in(at, ROLE_USERS["researcher"])
    check_step(at, story.id, 2, "en")


def test_a_wrong_story_file_is_left_out_and_the_stories_page_says_why(tmp_path, monkeypatch):
    import shutil

    from components import story

    folder = tmp_path / "stories"
    folder.mkdir()
    for path in core_stories.STORIES_DIR.glob("*.yaml"):
        shutil.copy(path, folder)
    (folder / "broken.yaml").write_text("id: broken\ntitle: {en: A, fr: A, es: A}\n"
                                          "summary: {en: B, fr: B, es: B}\nsteps:\n  - page: nowhere\n")
    original = core_stories.load_all
    monkeypatch.setattr(story, "load_all", lambda: original(folder))
    story.stories.cache_clear()
    try:
        at = as_role(None, {}, page="stories")
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "broken.yaml, step 1" in errors[0], errors
        assert len([c for c in at.subheader if c.value in {s.title["en"] for s in STORIES.values()}]) == len(STORIES)
    finally:
        story.stories.cache_clear()
