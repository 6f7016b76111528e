"""The crosstab builder in a browser: questions dragged into Rows, Columns and Filters give the table,
which switches to a chart, follows a change of language, and downloads as a CSV that says what it is."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from core import disclosure
from core.query import export
from tests.e2e.test_public import query

pytestmark = pytest.mark.e2e


def drag(portal, page: Page, field: str, zone: str) -> None:
    """Drag a question from the list (its first entry: the list comes before the zones) to a zone."""
    source = page.locator(f"li.field[data-name='{field}']").first
    source.drag_to(page.locator(f"#zone-{zone}"))
    portal.settle(page)


def test_drag_a_table_chart_it_in_french_and_download_it(portal, page: Page):
    portal.open(page, "/")
    portal.nav_link(page, "Crosstab").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Crosstab builder")
    drag(portal, page, "gender", "rows")
    drag(portal, page, "age_band", "cols")
    drag(portal, page, "region_of_interview", "filters")
    # The zones hold what was dropped, and the link carries the layout.
    expect(page.locator("#zone-rows li.field")).to_have_count(1)
    expect(page.locator("#zone-cols li.field")).to_have_text(re.compile("Age"))
    expect(page.locator("#zone-filters li.field")).to_have_count(1)
    params = query(portal.wait_for_url(page, r"[?&]filt=region_of_interview(&|$)"))
    assert params["rows"] == ["gender"] and params["cols"] == ["age_band"]

    # The table: gender by age band, with totals.
    main = portal.main(page)
    expect(main.get_by_role("heading", name=re.compile("Gender × Age"))).to_be_visible()
    cells = portal.glide_cells(page)
    expect(cells.filter(has_text=re.compile("^Woman$")).first).to_be_attached()
    expect(cells.filter(has_text=re.compile("^Total$")).first).to_be_attached()
    portal.screenshot(page, "crosstab_table")

    # Only one region kept: the category picker of the filter field.
    picker = main.get_by_role("combobox", name="Region of interview", exact=True)
    picker.click()
    picker.press_sequentially("North")  # typing opens the list too, should the click only focus it
    page.get_by_role("option", name="North Africa", exact=True).click()  # the list closes; Escape would clear
    portal.settle(page)
    portal.wait_for_url(page, r"[?&]fcat=region_of_interview%3Anorth_africa(&|$)")
    expect(main.get_by_text(re.compile("Region of interview: North Africa")).first).to_be_visible()

    # The chart.
    main.get_by_text("Heatmap", exact=True).click()
    portal.settle(page)
    expect(portal.current(main).get_by_test_id("stVegaLiteChart")).to_be_visible()
    portal.wait_for_url(page, r"[?&]view=heatmap(&|$)")
    portal.screenshot(page, "crosstab_heatmap")

    # French: the same layout, in French.
    sidebar = portal.sidebar(page)
    language = sidebar.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Language", exact=True))
    # mid-sidebar first: at the viewport's bottom edge (where a longer menu puts it) its list did not open
    language.evaluate("e => e.scrollIntoView({block: 'center'})")
    language.click()
    page.get_by_role("option", name="Français").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Tableau croisé à la carte")
    expect(page.locator("#zone-rows li.field")).to_have_text(re.compile("Genre"))
    expect(portal.current(main).get_by_test_id("stVegaLiteChart")).to_be_visible()
    portal.screenshot(page, "crosstab_heatmap_fr")

    # The CSV of the table as shown: header block in French, then the table, protected.
    main.get_by_role("button", name="Télécharger").first.click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Tableau (CSV)").click()
    text = download.value.path().read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    labels = [row[0] for row in lines if row]
    assert "Jeu de données" in labels and "Filtres" in labels and "Mise en garde" in labels
    filters_row = next(row for row in lines if row and row[0] == "Filtres")
    assert "Afrique du Nord" in filters_row[1]
    assert lines[0][0] == "Citer ainsi" and "core@" in lines[0][1]  # the citation's line comes first
    table = list(csv.reader(io.StringIO(text)))[export.csv_skip_rows(text):]
    assert table[0][0] == "Genre"
    assert table[0][-1] == "Total"
    assert [row[0] for row in table[1:]][-1] == "Total"
    assert "Femme" in [row[0] for row in table[1:]]
    minimum = disclosure.settings().min_count
    for row in table[1:]:
        for value in row[1:]:
            if value.isdigit():
                assert int(value) >= minimum, row


def test_the_picker_works_with_the_keyboard_alone(portal, page: Page):
    portal.open(page, "/")
    portal.nav_link(page, "Crosstab").click()
    portal.settle(page)
    search = page.get_by_role("searchbox", name="Search questions")
    search.fill("gender")
    gender = page.locator("li.field[data-name='gender']").first
    expect(gender).to_be_visible()
    gender.focus()
    page.keyboard.press("r")
    portal.settle(page)
    expect(page.locator("#zone-rows li.field")).to_have_text(re.compile("Gender"))
    # The focus stays on the field, now in its zone: the next key acts on it.
    page.keyboard.press("c")
    portal.settle(page)
    expect(page.locator("#zone-cols li.field")).to_have_text(re.compile("Gender"))
    expect(page.locator("#zone-rows li.field")).to_have_count(0)
    search.fill("age")
    page.locator("li.field[data-name='age_band']").first.focus()
    page.keyboard.press("c")
    portal.settle(page)
    # Reorder with Alt+Up: age group before gender in the columns.
    page.keyboard.press("Alt+ArrowUp")
    portal.settle(page)
    expect(page.locator("#zone-cols li.field")).to_have_text([re.compile("Age"), re.compile("Gender")])
    portal.wait_for_url(page, r"cols=age_band&cols=gender")
    portal.screenshot(page, "crosstab_keyboard")
    # Delete takes it out again.
    page.keyboard.press("Delete")
    portal.settle(page)
    expect(page.locator("#zone-cols li.field")).to_have_count(1)
    portal.wait_for_url(page, r"[?&]cols=gender(&|$)")
