"""The stories of data/stories (core/explainer/stories.py): every shipped story loads and holds together, and a
story that names what the portal does not have fails with a message naming its file and step. Also the
guided tour's state machine (core/explainer/tour.py)."""

from __future__ import annotations

import re
import textwrap

import pytest

from core.data.engine import load_codebook
from core.explainer import tour
from core.explainer.stories import (
    EXPLAINER_PARAMS,
    TIERS,
    StoryError,
    check_step,
    load_stories,
    parse_story,
    step_of,
)
from core.pages import link_params
from core.settings import LANGUAGES


@pytest.fixture(scope="module")
def stories():
    return load_stories()


def test_at_least_five_stories_ship_and_load(stories):
    assert len(stories) >= 5
    for story in stories.values():
        assert story.steps
        for lang in LANGUAGES:
            assert story.title[lang] and story.summary[lang]
            assert all(step.title[lang] and step.text[lang] for step in story.steps)


def test_stories_say_their_data_are_synthetic(stories):
    words = {"en": "synthetic", "fr": "synthétiques", "es": "sintéticos"}
    for story in stories.values():
        for lang, word in words.items():
            assert word in story.summary[lang].lower(), (story.id, lang)


def test_french_and_spanish_typography(stories):
    for story in stories.values():
        texts = [story.title, story.summary, *(s.title for s in story.steps), *(s.text for s in story.steps)]
        for text in texts:
            assert not re.search(r" [:;!?%»]|« ", text["fr"]), f"{story.id}: use a no-break space: {text['fr']!r}"
            assert " %" not in text["es"], f"{story.id}: use a no-break space before %: {text['es']!r}"


def test_a_researcher_step_is_marked(stories):
    steps = [s for story in stories.values() for s in story.steps]
    assert any(s.tier == "researcher" for s in steps)
    assert all(s.tier == "researcher" for s in steps if s.page == "microdata")
    assert all(s.open_to("researcher") for s in steps)


def test_a_step_is_a_shareable_link(stories):
    story = stories["afghan_returns"]
    link = story.step(3).link("afghan_returns", 3, lang="fr")
    assert link.startswith("/return?")
    assert "ds=returns" in link and "q=return_reasons" in link
    assert "story=afghan_returns" in link and "step=3" in link and "lang=fr" in link
    overview = stories["covid_latin_america"].step(1).link("covid_latin_america", 1)
    assert overview.startswith("/?ds=covid")


def test_step_of_reads_a_link(stories):
    assert step_of(stories, "afghan_returns", "2") == (stories["afghan_returns"], 2)
    assert step_of(stories, "afghan_returns", None) == (stories["afghan_returns"], 1)
    for story, step in (("nope", "1"), ("afghan_returns", "0"), ("afghan_returns", "99"), ("afghan_returns", "x"),
                        (None, None)):
        assert step_of(stories, story, step) is None


GOOD_STEP = """
  - page: {page}
    params: {params}
    title: {{en: T, fr: T, es: T}}
    text: {{en: X, fr: X, es: X}}
"""


def write_story(tmp_path, steps: str, name: str = "trial", head: str | None = None):
    head = head if head is not None else (f"id: {name}\ntitle: {{en: A, fr: A, es: A}}\n"
                                          "summary: {en: B, fr: B, es: B}\nsteps:")
    path = tmp_path / f"{name}.yaml"
    path.write_text(head + textwrap.dedent(steps))
    return path


def one_step(tmp_path, page: str, params: str, extra: str = ""):
    return write_story(tmp_path, GOOD_STEP.format(page=page, params=params) + extra)


def test_a_good_story_loads(tmp_path):
    story = parse_story(one_step(tmp_path, "protection", "{ds: core, region: north_africa, q: incident_types, by: gender}"))
    assert story.step(1).params == {"ds": ("core",), "region": ("north_africa",), "q": ("incident_types",),
                                    "by": ("gender",)}
    assert story.step(1).tier == "public"


@pytest.mark.parametrize("page, params, message", [
    ("nowhere", "{ds: core}", "unknown page 'nowhere'"),
    ("impacts", "{ds: core}", "unknown page 'impacts'"),  # a theme of another dataset
    ("protection", "{ds: core, q: no_such_question}", "q='no_such_question'"),
    ("protection", "{ds: core, q: used_smuggler}", "q='used_smuggler'"),  # a question of another theme
    ("protection", "{ds: core, by: no_such_variable}", "by='no_such_variable'"),
    ("protection", "{ds: core, gender: alien}", "filter gender='alien'"),
    ("protection", "{ds: core, colour: red}", "unknown parameter 'colour'"),
    ("protection", "{ds: core, layers: [flows]}", "unknown parameter 'layers'"),
    ("map", "{ds: core, layers: [flows, nebula]}", "layers='nebula'"),
    ("map", "{ds: core, layers: [towns]}", "layers='towns'"),  # finer than public
    ("map", "{ds: core, incident: alien_abduction}", "incident='alien_abduction'"),
    ("crosstab", "{ds: core, rows: [interview_town]}", "rows='interview_town'"),  # not public
    ("crosstab", "{ds: core, rows: [gender], measure: magic}", "measure='magic'"),
    ("crosstab", "{ds: core, rows: [gender], filt: [age_band], fcat: ['age_band:99_plus']}", "'99_plus' is not an answer"),
    ("crosstab", "{ds: core, rows: [gender], fcat: ['age_band:18_24']}", "not a crosstab filter"),
    ("microdata", "{ds: core}", "needs a signed-in researcher"),
    ("overview", "{ds: nowhere}", "unknown dataset 'nowhere'"),
])
def test_a_bad_step_says_what_and_where(tmp_path, page, params, message):
    with pytest.raises(StoryError) as error:
        parse_story(one_step(tmp_path, page, params))
    assert str(error.value).startswith("trial.yaml, step 1: ")
    assert message in str(error.value)


def test_the_researcher_tier_allows_what_the_public_may_not_see(tmp_path):
    path = one_step(tmp_path, "crosstab", "{ds: core, rows: [interview_town]}", "    tier: researcher\n")
    assert parse_story(path).step(1).tier == "researcher"


@pytest.mark.parametrize("head, message", [
    ("id: other\ntitle: {en: A, fr: A, es: A}\nsummary: {en: B, fr: B, es: B}\nsteps:", "`id` must be the file's name"),
    ("id: trial\ntitle: {en: A, fr: A}\nsummary: {en: B, fr: B, es: B}\nsteps:", "`title` needs a text in each of"),
    ("id: trial\ntitle: {en: A, fr: A, es: A}\nsummary: {en: B, fr: B, es: B}\nauthor: me\nsteps:", "unknown key(s) author"),
])
def test_a_bad_story_says_what_is_wrong(tmp_path, head, message):
    path = write_story(tmp_path, GOOD_STEP.format(page="overview", params="{ds: core}"), head=head)
    with pytest.raises(StoryError, match=re.escape(message)):
        parse_story(path)


def test_a_step_does_not_set_the_story_parameters(tmp_path):
    for name in EXPLAINER_PARAMS:
        with pytest.raises(StoryError, match="set by the story itself"):
            parse_story(one_step(tmp_path, "overview", f"{{ds: core, {name}: '1'}}"))


def test_a_missing_text_names_the_step(tmp_path):
    path = write_story(tmp_path, GOOD_STEP.format(page="overview", params="{ds: core}")
                       + "  - page: overview\n    params: {ds: core}\n    title: {en: T, fr: T, es: T}\n"
                         "    text: {en: X, fr: X}\n")
    with pytest.raises(StoryError, match=r"trial.yaml, step 2: `text` needs a text"):
        parse_story(path)


def test_a_tier_that_does_not_exist(tmp_path):
    with pytest.raises(StoryError, match="tier 'boss'"):
        parse_story(one_step(tmp_path, "overview", "{ds: core}", "    tier: boss\n"))


# --- the guided tour -----------------------------------------------------------------------------

def test_the_tour_covers_the_portal():
    ids = [step.id for step in tour.TOUR]
    for part in ("filters", "map", "layers", "chart", "breakdown", "crosstab", "downloads", "share", "microdata"):
        assert part in ids


def test_the_microdata_step_is_for_researchers_only():
    assert "microdata" not in [s.id for s in tour.steps_for(None)]
    assert "microdata" in [s.id for s in tour.steps_for("researcher")]
    assert "microdata" in [s.id for s in tour.steps_for("admin")]


def test_the_tour_advances_goes_back_and_restarts():
    last = len(tour.steps_for(None))
    assert tour.advance(1, None) == 2
    assert tour.advance(last, None) is None  # the end
    assert tour.advance(last, "researcher") == last + 1  # researchers have one more step
    assert tour.back(3) == 2 and tour.back(1) == 1
    assert tour.restart() == 1
    assert tour.step_number("3", None) == 3
    for value in (None, "0", "x", str(last + 1)):
        assert tour.step_number(value, None) is None


def test_every_tour_page_exists():
    from core.pages import BY_ID

    for step in tour.TOUR:
        assert step.page == tour.THEME or step.page in BY_ID
        assert set(step.params) <= set(link_params(step.page)), step.id
    assert len(load_codebook("core").themes) > 1


def test_every_story_step_in_every_language_and_tier(stories):
    """What a step's language and tier change, for every step: its texts, the labels of what its link
    names, and that each tier it is open to may use every parameter (the AppTests open each step once)."""
    for story in stories.values():
        for number, step in enumerate(story.steps, start=1):
            where = f"{story.id} step {number}"
            codebook = load_codebook(step.dataset)
            for tier in TIERS:
                if step.open_to(tier):
                    assert check_step(step.page, step.params, tier) == [], (where, tier)
            named = [v for name in ("by", "q", "rows", "cols", "filt", "value") for v in step.params.get(name, ())]
            for lang in LANGUAGES:
                assert step.title[lang] and step.text[lang] and story.title[lang], (where, lang)
                for name in named:
                    assert codebook[name].label(lang).strip(), (where, name, lang)
