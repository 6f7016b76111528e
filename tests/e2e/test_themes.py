"""Theme pages in a browser: a page in Spanish, a breakdown, a click on a bar that filters the portal
(and its link), and a chart downloaded as a PNG that opens as an image."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e


def charts(portal, page: Page):
    return portal.current(portal.main(page)).get_by_test_id("stVegaLiteChart")


def open_theme(portal, page: Page, path: str, params: dict | None = None) -> None:
    """Open a theme page by its link, as the first page of the visit: the shared server is started as
    `make run` starts it, out of Streamlit's old multipage mode, so no page must have run the router
    before (tests/e2e/test_fresh_server.py)."""
    portal.open(page, path, params)
    expect(page.get_by_role("dialog").filter(has_text="Page not found")).to_have_count(0)


def chart_under(heading):
    """The chart drawn right after a question's heading."""
    return heading.locator("xpath=ancestor::div[@data-testid='stElementContainer'][1]"
                           "/following-sibling::div[@data-testid='stElementContainer'][1]").get_by_test_id(
        "stVegaLiteChart")


def test_a_theme_page_in_spanish_with_a_breakdown(portal, page: Page):
    open_theme(portal, page, "/drivers", {"lang": "es"})
    expect(portal.title(page)).to_have_text("Motivos de la migración")
    main = portal.main(page)
    expect(main.get_by_role("heading", name="Motivos para partir (varias respuestas posibles)")).to_be_visible()
    expect(charts(portal, page)).to_have_count(3)
    expect(charts(portal, page).first.locator("canvas, svg").first).to_be_visible()
    # One caption under each chart: its summary sentence; base, source and notes behind "About these figures".
    expect(main.get_by_text(re.compile(r"^Respuestas más dadas: ")).first).to_be_visible()
    main.get_by_text("Acerca de estas cifras").first.click()
    expect(main.get_by_text(re.compile(r"Base: 1\d\d\.\d\d\d\spersonas encuestadas")).first).to_be_visible()
    expect(main.get_by_text(re.compile("Datos sintéticos.")).first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(portal.sidebar(page).get_by_role("link", name="Motivos de la migración")).to_be_visible()
    # The table behind a chart is drawn once its box is opened (a rerun of that box alone).
    expect(main.get_by_test_id("stDataFrame")).to_have_count(0)
    since = portal.runs(page)
    portal.expand(page, "Tabla de este gráfico")
    portal.settle(page, since=since)
    expect(main.get_by_test_id("stDataFrame")).to_have_count(1)
    expect(main.get_by_test_id("stDataFrame").locator("table[role='grid']")).to_have_attribute("aria-rowcount", re.compile(r"^\d+$"))
    portal.screenshot(page, "themes_drivers_es")

    # Break every chart down by gender: grouped bars, and the choice goes into the link.
    box = main.get_by_role("combobox", name="Desglosar por")
    box.click()
    box.press_sequentially("Gén")  # typing opens the list even where the click left it closed
    page.get_by_role("option", name="Género", exact=True).click()
    portal.settle(page)
    portal.wait_for_url(page, r"[?&]by=gender(&|$)")
    expect(charts(portal, page)).to_have_count(3)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    portal.screenshot(page, "themes_drivers_es_by_gender")

    # The link opens the same view elsewhere.
    other = page.context.new_page()  # a tab of its own: a new session
    portal.open(other, "/drivers", {"lang": "es", "by": "gender"})
    expect(other.get_by_role("combobox", name="Desglosar por")).to_have_value("Género")
    other.close()


def test_a_click_on_a_bar_filters_the_portal_and_the_link(portal, page: Page):
    open_theme(portal, page, "/profiles")
    heading = portal.main(page).get_by_role("heading", name="Gender", exact=True)
    expect(heading).to_be_visible()
    # The chart under the "Gender" heading: three bars, Man (the longest) first.
    chart = chart_under(heading)
    chart.scroll_into_view_if_needed()
    box = chart.locator("canvas, svg").first.bounding_box()
    assert box, "the gender chart is not drawn"
    page.mouse.click(box["x"] + box["width"] * 0.35, box["y"] + 16)
    portal.settle(page)
    portal.wait_for_url(page, r"[?&]gender=man(&|$)")
    expect(portal.pill(page, "Man")).to_have_attribute(portal.chosen(), "true")
    portal.main(page).get_by_text("About these figures").first.click()
    expect(portal.main(page).get_by_text(re.compile("Filters: Gender: Man")).first).to_be_visible()
    portal.screenshot(page, "themes_profiles_clicked_man")


def test_a_chart_downloads_as_a_png_image(portal, page: Page):
    from PIL import Image

    open_theme(portal, page, "/smuggling", {"lang": "fr"})
    expect(portal.title(page)).to_have_text("Trafic de migrants")
    menu = portal.main(page).get_by_role("button", name="Télécharger").first
    menu.click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Graphique (image PNG)").first.click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "themes_download_used_smuggler_fr.png"
    download.value.save_as(path)
    # dataset, view, release, format (core.query.export.file_name)
    assert re.fullmatch(r"4mi-core_used-smuggler_\d{4}-\d\d-\d\d\.png", download.value.suggested_filename)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    assert image.width >= 1200 and image.height >= 300  # 640 px wide and more, at scale 2
    # Mostly white paper with some ink: a chart, not an empty image.
    colours = image.convert("L").getcolors(maxcolors=1 << 16)
    assert colours and len(colours) > 20
