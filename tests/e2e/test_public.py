"""The public portal in a browser: languages, shareable filtered links, and links with bad values."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

EN_TITLE = "Mixed-migration data portal"
FR_TITLE = "Portail de données sur les migrations mixtes"
# French groups thousands with a narrow no-break space (U+202F): "120 000".
FR_COUNT = re.compile(r"^\d{1,3}(\u202f\d{3})+$")
EN_COUNT = re.compile(r"^\d{1,3}(,\d{3})*$")


def query(url: str) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in parse_qs(urlsplit(url).query).items()}


def widget_label(portal, page: Page, text: str):
    return portal.sidebar(page).get_by_test_id("stWidgetLabel").get_by_text(text, exact=True)


def assert_french(portal, page: Page) -> None:
    expect(portal.title(page)).to_have_text(FR_TITLE)
    for label in ("Répondants", "Pays d’entretien", "Nationalités"):
        expect(page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)).to_be_visible()
    expect(portal.metric(page, "Répondants")).to_have_text(FR_COUNT)
    expect(portal.main(page).get_by_role("heading", name="Couverture par région et par année")).to_be_visible()
    sb = portal.sidebar(page)
    for heading in ("Filtres", "Compte"):
        expect(sb.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    for label in ("Langue", "Jeu de données", "Période", "Région de l'entretien", "Pays de l'entretien",
                  "Nationalité", "Genre", "Tranche d'âge"):
        expect(widget_label(portal, page, label)).to_be_visible()
    for pill in ("Homme", "Femme", "18-24 ans"):  # gender "other" is withheld from the public (rule 8)
        expect(portal.pill(page, pill)).to_be_visible()
    expect(sb.get_by_role("textbox", name="Mot de passe")).to_be_visible()
    expect(sb.get_by_role("button", name="Se connecter", exact=True)).to_be_visible()
    # and no English left where French is expected
    expect(page.get_by_text(EN_TITLE)).to_have_count(0)
    expect(page.get_by_test_id("stMetricLabel").get_by_text("Respondents", exact=True)).to_have_count(0)
    expect(widget_label(portal, page, "Region of interview")).to_have_count(0)


def test_french_by_link_and_by_browser_locale(portal, new_context):
    page = new_context().new_page()
    portal.open(page, "/", {"lang": "fr"})
    assert_french(portal, page)
    portal.wait_for_url(page, r"[?&]lang=fr(&|$)")
    portal.screenshot(page, "overview_fr")

    # No ?lang=: the browser's language decides, and the link then says so.
    page = new_context(locale="fr-FR").new_page()
    portal.open(page, "/")
    assert_french(portal, page)
    portal.wait_for_url(page, r"[?&]lang=fr(&|$)")

    # Control: an English browser gets English, so French above was not just the default.
    page = new_context(locale="en-US").new_page()
    portal.open(page, "/")
    expect(portal.title(page)).to_have_text(EN_TITLE)
    expect(portal.metric(page, "Respondents")).to_have_text(EN_COUNT)


def test_a_filtered_link_opens_the_same_view_elsewhere(portal, new_context):
    a = new_context().new_page()
    portal.open(a, "/")
    unfiltered = portal.metric(a, "Respondents").inner_text()
    assert EN_COUNT.match(unfiltered), unfiltered

    # Filter through the UI: a pill and a drop-down choice.
    portal.pill(a, "Woman").click()
    expect(portal.pill(a, "Woman")).to_have_attribute(portal.chosen(), "true")
    portal.wait_for_url(a, r"[?&]gender=woman(&|$)")
    portal.settle(a)
    portal.choose(a, "Region of interview", "North Africa")
    portal.wait_for_url(a, r"[?&]region=north_africa(&|$)")
    portal.settle(a)

    link = a.evaluate("location.href")
    params = query(link)
    assert params.get("gender") == ["woman"] and params.get("region") == ["north_africa"], link
    values = {label: portal.metric(a, label).inner_text()
              for label in ("Respondents", "Countries of interview", "Nationalities")}
    assert values["Respondents"] != unfiltered, "the filters did not change the Respondents count"

    # The link, in a browser that has never seen the portal, shows the same view.
    b = new_context().new_page()
    b.goto(link)
    portal.settle(b)
    for label, value in values.items():
        expect(portal.metric(b, label)).to_have_text(value)
    expect(portal.pill(b, "Woman")).to_have_attribute(portal.chosen(), "true")
    expect(portal.pill(b, "Man")).to_have_attribute(portal.chosen(), "false")
    expect(portal.pill(b, "Other")).to_have_count(0)  # too rare to be offered to the public (rule 8)
    expect(portal.filter_box(b, "Region of interview")).to_have_value("North Africa")
    expect(portal.filter_box(b, "Nationality")).to_have_value("")
    assert query(b.url) == params
    expect(b.get_by_test_id("stAlert").filter(has_text="was not recognised")).to_have_count(0)

    # Escape clears a drop-down's choice, at once after it: the link follows the view, not the choice
    # before it (each rerun writes the link, even one that came with the same link).
    portal.choose(b, "Nationality", "Eritrea")
    b.keyboard.press("Escape")
    expect(portal.filter_box(b, "Nationality")).to_have_value("")
    portal.settle(b)
    expect(portal.metric(b, "Respondents")).to_have_text(values["Respondents"])
    assert query(b.evaluate("location.href")) == params


def test_bad_link_values_are_dropped_with_a_note(portal, page: Page):
    portal.open(page, "/")
    unfiltered = portal.metric(page, "Respondents").inner_text()
    portal.screenshot(page, "overview_en")

    portal.open(page, "/", {"gender": "xyz", "nat": "ZZZ", "foo": "1"})
    notes = page.get_by_test_id("stAlert").filter(has_text="A filter value in the link was not recognised")
    for dropped in ("gender=xyz", "nat=ZZZ", "foo=1"):
        expect(notes.filter(has_text=f"was dropped: {dropped}")).to_have_count(1)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(portal.title(page)).to_have_text(EN_TITLE)
    expect(portal.metric(page, "Respondents")).to_have_text(unfiltered)  # nothing was filtered
    for name in ("gender", "nat", "foo"):
        portal.wait_for_url(page, rf"[?&]{name}=", present=False)

    # The page still works: a filter applies, and the note goes once the filters change.
    portal.pill(page, "Man").click()
    portal.settle(page)
    portal.wait_for_url(page, r"[?&]gender=man(&|$)")
    expect(portal.metric(page, "Respondents")).not_to_have_text(unfiltered)
    expect(notes).to_have_count(0)
    # ... and so does the navigation, which keeps the filters in the link.
    portal.nav_link(page, "About and data dictionary").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("About and data dictionary")
    portal.wait_for_url(page, r"/about\?(.*&)?gender=man(&|$)")
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    portal.screenshot(page, "about")

    # The note is translated.
    portal.open(page, "/", {"lang": "fr", "age": "99"})
    expect(page.get_by_test_id("stAlert").filter(
        has_text="Une valeur de filtre du lien n’a pas été reconnue")).to_contain_text("age=99")
    expect(page.get_by_test_id("stException")).to_have_count(0)
