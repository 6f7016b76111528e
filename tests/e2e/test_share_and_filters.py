"""What a user copies or types must be what they get: the "Share this view" link opened right after a
choice holds that choice, and a country typed in a filter selects that country only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_public import query

pytestmark = pytest.mark.e2e


def shared_link(portal, page: Page) -> dict[str, list[str]]:
    """Open "Share this view" and read its link (the page is not waited on first: a user does not)."""
    portal.sidebar(page).get_by_role("button", name="Share this view").click()
    codes = page.get_by_test_id("stPopoverBody").locator("code")  # the link, the pinned link, the citation
    code = codes.first
    expect(code).to_be_visible()
    link = code.inner_text()
    pinned = codes.nth(1).inner_text()
    assert pinned.startswith(link + "&release=") and "release=" not in link  # the same view, its release named
    page.keyboard.press("Escape")
    return query(link)


def test_the_shared_link_holds_the_last_choice(portal, page: Page):
    """Opened at once after a choice of the page itself (a theme page's breakdown, which the page writes
    into the link while it runs) and after a filter, three times each: the link was the view before
    the last choice in 2 of 3 tries."""
    portal.open(page, "/smuggling", {"lang": "en"})
    for breakdown, by in (("Gender", "gender"), ("Age group", "age_band"), ("Region of interview", "region_of_interview")):
        box = portal.main(page).get_by_role("combobox", name="Break down by")
        box.click()
        page.get_by_role("option", name=breakdown, exact=True).click()
        portal.settle(page)
        assert shared_link(portal, page).get("by") == [by]
    for gender in ("Woman", "Man", "Woman"):
        portal.pill(page, gender).click()
        portal.settle(page)
        assert shared_link(portal, page).get("gender") == [gender.lower()]


def test_a_typed_country_selects_that_country_only(portal, page: Page):
    """"Niger" then Enter selected Niger and Nigeria in the researchers' filter. Typed, then Enter,
    in the public and in the researcher's filter: Niger alone, and the link says so."""
    for signed_in in (False, True):
        portal.open(page, "/", {"lang": "en"})
        if signed_in:
            portal.sign_in(page, portal.account("carol"), cookie=False)
        box = portal.filter_box(page, "Nationality")
        box.click()
        box.press_sequentially("Niger")
        box.press("Enter")
        portal.settle(page)
        params = query(portal.wait_for_url(page, r"[?&]nat="))
        assert params["nat"] == ["NER"], (signed_in, params)
        if signed_in:  # the chosen answers are chips beside the text box
            chosen = portal.sidebar(page).get_by_test_id("stMultiSelect").filter(has_text="Nationality")
            expect(chosen).to_contain_text("Niger")  # its chip (the open list is drawn outside it)
            expect(chosen).not_to_contain_text("Nigeria")
        else:
            expect(box).to_have_value("Niger")
        # The charts then show Niger's respondents alone, and the filter bar says one filter is on.
        expect(portal.sidebar(page).get_by_text("1 filter applied")).to_be_visible()


def test_the_shared_link_holds_a_choice_made_inside_a_fragment(portal, page: Page):
    """The map's layers and the crosstab's view are fragments (issue 21): a choice there reruns only the
    fragment, not the router that draws "Share this view". The link opened at once after it holds it."""
    portal.open(page, "/map", {"lang": "en"})
    for layers in (["flows", "interviews"], ["flows"]):
        portal.main(page).get_by_role("button", name="Interviews", exact=True).click()
        portal.settle(page)
        assert shared_link(portal, page).get("layers") == layers
    portal.open(page, "/crosstab", {"lang": "en", "rows": "gender"})
    portal.main(page).get_by_text("Heatmap", exact=True).click()
    portal.settle(page)
    assert shared_link(portal, page).get("view") == ["heatmap"]
