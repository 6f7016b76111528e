"""Presentation view in a browser: a story step in Spanish on a projector (no sidebar, larger type,
the story's text beside the chart), next and previous by the keys a presentation clicker sends, and
the guided tour outlining, on every step, the part of the page it explains. Screenshots in tests/e2e/screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from components.tour import TARGETS
from core.explainer.stories import load_stories
from core.explainer.tour import steps_for
from core.i18n import t

pytestmark = pytest.mark.e2e

STORY = load_stories()["eastern_route_gender"]


def step_link(number: int, **extra: str) -> tuple[str, dict]:
    step = STORY.step(number)
    return f"/{step.page}", step.query(STORY.id, number, lang="es", **extra)


def story_text(portal, page: Page):
    return portal.main(page).locator(".st-key-story_text")


def test_a_story_step_presented_in_spanish_and_moved_by_keyboard(portal, page: Page):
    page.set_viewport_size({"width": 1600, "height": 900})  # a projector's 16:9
    path, params = step_link(2, present="1")
    portal.open(page, path, params)
    expect(page.get_by_role("dialog").filter(has_text="Page not found")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    # Projector layout: no sidebar, large type, the step's text beside the chart.
    expect(portal.sidebar(page)).to_be_hidden()
    expect(portal.title(page)).to_have_text("El trayecto")
    text = story_text(portal, page)
    expect(text.get_by_text(STORY.step(2).title["es"])).to_be_visible()
    expect(text.get_by_text(STORY.step(2).text["es"])).to_be_visible()
    chart = portal.current(portal.main(page)).get_by_test_id("stVegaLiteChart")
    expect(chart).to_have_count(1)
    expect(chart.locator("canvas, svg").first).to_be_visible()
    text_box, chart_box = text.bounding_box(), chart.bounding_box()
    assert text_box["x"] + text_box["width"] <= chart_box["x"], "the text is beside the chart, on its left"
    h1 = float(portal.title(page).evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert h1 >= 44, h1
    portal.screenshot(page, "presentation_es_step2")

    # → (or Page Down) opens the next step: its page, its link, its text.
    page.keyboard.press("ArrowRight")
    portal.wait_for_url(page, r"[?&]step=3(&|$)")
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Riesgos de protección")
    expect(story_text(portal, page).get_by_text(STORY.step(3).title["es"])).to_be_visible()
    url = portal.wait_for_url(page, r"[?&]present=1(&|$)")
    assert "q=incident_types" in url and "lang=es" in url and "/protection" in url
    expect(portal.sidebar(page)).to_be_hidden()
    portal.screenshot(page, "presentation_es_step3")

    page.keyboard.press("PageDown")
    portal.wait_for_url(page, r"[?&]step=4(&|$)")
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Motivos de la migración")

    # ← and Page Up go back.
    page.keyboard.press("ArrowLeft")
    portal.wait_for_url(page, r"[?&]step=3(&|$)")
    portal.settle(page)
    expect(story_text(portal, page).get_by_text(STORY.step(3).title["es"])).to_be_visible()
    page.keyboard.press("PageUp")
    portal.wait_for_url(page, r"[?&]step=2(&|$)")
    portal.settle(page)
    page.keyboard.press("ArrowLeft")
    portal.wait_for_url(page, r"[?&]step=1(&|$)")
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Mapa de rutas")
    expect(story_text(portal, page).get_by_text(STORY.step(1).title["es"])).to_be_visible()
    expect(portal.current(portal.main(page)).get_by_test_id("stDeckGlJsonChart")).to_be_visible()
    portal.screenshot(page, "presentation_es_step1_map")
    page.keyboard.press("ArrowLeft")  # the first step: nowhere to go
    portal.settle(page)
    assert "step=1" in portal.wait_for_url(page, r"[?&]step=1(&|$)")

    # Leaving the presentation view brings the sidebar back, on the same step.
    portal.main(page).get_by_role("button", name=t("present.leave", "es")).click()
    portal.wait_for_url(page, r"[?&]present=1(&|$)", present=False)
    portal.settle(page)
    expect(portal.sidebar(page)).to_be_visible()
    expect(story_text(portal, page).get_by_text(STORY.step(1).title["es"])).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    portal.screenshot(page, "story_es_step1_not_presenting")


def test_every_tour_step_outlines_a_part_of_its_page(portal, page: Page):
    """Each selector of components/tour.py matches something on its step's page, outlined."""
    portal.open(page, "/", {"lang": "fr"})
    portal.sidebar(page).get_by_role("button", name=t("tour.start", "fr")).click()
    steps = steps_for(None)
    panel = portal.main(page).locator(".st-key-tour_panel")
    for number, step in enumerate(steps, start=1):
        portal.wait_for_url(page, rf"[?&]tour={number}(&|$)")
        portal.settle(page)
        expect(panel.get_by_text(t(f"tour.{step.id}.title", "fr"), exact=True)).to_be_visible()
        target = page.locator(TARGETS[step.target]).first
        expect(target).to_be_visible()
        assert target.evaluate("e => getComputedStyle(e).outlineStyle") == "solid", step.id
        if step.id in ("chart", "crosstab", "downloads"):
            portal.screenshot(page, f"tour_fr_{number:02d}_{step.id}")
        if number < len(steps):
            panel.get_by_role("button", name=t("tour.next", "fr")).click()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # Finishing ends the tour: no panel, no outline, the link without its step. (Skipping, going back
    # and restarting: tests/app/test_explainer.py.)
    panel.get_by_role("button", name=t("tour.finish", "fr")).click()
    portal.wait_for_url(page, r"[?&]tour=", present=False)
    portal.settle(page)
    expect(portal.main(page).locator(".st-key-tour_panel")).to_have_count(0)
