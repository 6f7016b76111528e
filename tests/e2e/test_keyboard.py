"""The crosstab builder with the keyboard alone, and on a phone (issue 19).

Keyboard: a table of rows and columns is built with Tab, Enter, the arrows and typing in the search
box; the result is a few Tab stops after the picker, or one Enter away through the "Skip to results"
link; the CSV downloads and "Share this view" gives a link that holds the layout. Every stop of the
picker and the skip link shows a focus outline.

Phone (390 x 844): no sideways scroll of the page; a table is built by tapping and can be read."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from core.query import export
from tests.e2e.conftest import DRAWN_JS
from tests.e2e.test_public import query

pytestmark = pytest.mark.e2e

# The element that has the focus, looking inside the components' shadow roots, and whether it shows
# a focus indicator (an outline, or Streamlit's box-shadow ring).
_FOCUSED = """() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  if (!a || a === document.body) return null;
  const style = getComputedStyle(a);
  return {tag: a.tagName, type: a.type || '', name: (a.dataset && a.dataset.name) || '',
          label: (a.getAttribute('aria-label') || a.textContent || '').trim().slice(0, 80),
          skip: a.classList.contains('skip'),
          result: !!(a.closest && a.closest('.st-key-ct_result')),
          outlined: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
                    || style.boxShadow !== 'none'};
}"""

# Tab stops from the last stop of the picker to the result, measured: 5 (the lists' expander, swap,
# reset, the measure's and the view's radio groups), the 6th lands in the table.
MAX_STOPS_TO_RESULT = 6


def focused(page: Page) -> dict | None:
    return page.evaluate(_FOCUSED)


def press_until(page: Page, wanted, *, key: str = "Tab", limit: int) -> int:
    """Press `key` until the focused element satisfies `wanted`; the number of presses."""
    for n in range(1, limit + 1):
        page.keyboard.press(key)
        now = focused(page)
        if now and wanted(now):
            return n
    pytest.fail(f"not reached in {limit} presses of {key}; focus on {focused(page)}")


def choose_with_keyboard(portal, page: Page, search: str, field: str, steps_right: int) -> None:
    """From the search box: type, Tab to the list, Enter opens "Put in", the arrows choose the zone."""
    page.keyboard.press("Control+A")
    page.keyboard.type(search)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == field
    page.keyboard.press("Enter")
    for _ in range(steps_right):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    portal.settle(page)


def test_build_download_and_share_a_crosstab_with_the_keyboard_alone(portal, page: Page):
    page.set_viewport_size({"width": 1366, "height": 768})
    portal.open(page, "/crosstab")
    expect(portal.title(page)).to_have_text("Crosstab builder")
    # The skip link and the picker are components drawn by their own scripts, after the run has ended.
    expect(page.locator("a.skip")).to_be_attached()
    page.wait_for_function(DRAWN_JS, polling=100, timeout=30_000)

    # The skip link is in the Tab order before the controls, and shows when focused.
    press_until(page, lambda f: f["skip"], limit=60)
    assert focused(page)["label"] == "Skip to results" and focused(page)["outlined"]
    expect(page.get_by_role("link", name="Skip to results")).to_be_visible()
    page.keyboard.press("Tab")
    assert focused(page)["type"] == "search" and focused(page)["outlined"]

    # Gender into Rows (first entry of the menu), Age group into Columns (second).
    choose_with_keyboard(portal, page, "gender", "gender", 0)
    expect(page.locator("#zone-rows li.field .name")).to_have_text("Gender")
    now = focused(page)
    assert now["name"] == "gender" and now["outlined"]  # the focus followed the field into its zone
    # Back to the search box: Shift+Tab passes the list (one stop), not each question.
    press_until(page, lambda f: f["type"] == "search", key="Shift+Tab", limit=2)
    choose_with_keyboard(portal, page, "age", "age_band", 1)
    expect(page.locator("#zone-cols li.field .name")).to_have_text("Age group")
    params = query(portal.wait_for_url(page, r"[?&]cols=age_band(&|$)"))
    assert params["rows"] == ["gender"] and params["cols"] == ["age_band"]
    expect(portal.main(page).get_by_role("heading", name="Gender × Age group — Count")).to_be_visible()

    # From the picker to the result in a few Tab stops, each of them outlined.
    stops = press_until(page, lambda f: f["result"], limit=12)
    assert stops <= MAX_STOPS_TO_RESULT, stops

    # Or one Enter on the skip link: the focus is on the result, outlined.
    press_until(page, lambda f: f["skip"], key="Shift+Tab", limit=20)
    page.keyboard.press("Enter")
    now = focused(page)
    assert now["result"] and now["outlined"], now

    # The CSV, with the keyboard: Tab to Download, Enter, Tab to the CSV, Enter.
    press_until(page, lambda f: f["label"] == "downloadDownloadexpand_more", limit=20)  # icon ligatures
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Table (CSV)")).to_be_visible()
    press_until(page, lambda f: "Table (CSV)" in f["label"], limit=6)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    text = download.value.path().read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    start = export.csv_skip_rows(text)  # the header block, its "Cite as" line first
    assert lines[0][0] == "Cite as" and lines[start][0] == "Gender"
    assert lines[start][1:] == ["18-24", "25-34", "35-44", "45-54", "55 and over", "Total"]
    page.keyboard.press("Escape")

    # "Share this view" (in the sidebar, before the page): its link holds the layout.
    press_until(page, lambda f: "Share this view" in f["label"], key="Shift+Tab", limit=80)
    page.keyboard.press("Enter")
    # the popover opens outside the sidebar; its first code is the link, then the pinned link and the citation
    link = page.get_by_test_id("stCode").filter(has_text="/crosstab?").first
    expect(link).to_be_visible()
    text = link.inner_text().strip()
    shared = query(text)
    assert shared["rows"] == ["gender"] and shared["cols"] == ["age_band"]
    portal.screenshot(page, "crosstab_keyboard_share")


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate("""() => {
        const main = document.querySelector("[data-testid='stMain']");
        return [document.documentElement.scrollWidth, main.scrollWidth, main.clientWidth, window.innerWidth];
    }""")
    page_width, main_scroll, main_client, viewport = widths
    assert page_width <= viewport and main_scroll <= main_client, widths


def test_a_crosstab_on_a_phone(portal, page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    portal.open(page, "/crosstab")
    expect(portal.title(page)).to_have_text("Crosstab builder")
    _no_sideways_scroll(page)

    # Tap a question, then the zone in its "Put in" menu (phones have no drag and drop).
    search = page.get_by_role("searchbox", name="Search questions")
    for text, field, zone in (("gender", "gender", "Rows"), ("age", "age_band", "Columns")):
        search.fill(text)
        page.locator(f".avail li.field[data-name='{field}']").click()
        page.get_by_role("menuitem", name=zone, exact=True).click()
        portal.settle(page)
    expect(page.locator("#zone-cols li.field .name")).to_have_text("Age group")

    # The result is scrolled into view after the change, and can be read.
    heading = portal.main(page).get_by_role("heading", name="Gender × Age group — Count")
    expect(heading).to_be_in_viewport()
    expect(portal.glide_cells(page).filter(has_text="Woman").first).to_be_attached()
    _no_sideways_scroll(page)

    # The heatmap fits the phone: its box is no wider than the screen.
    portal.main(page).get_by_text("Heatmap", exact=True).click()
    portal.settle(page)
    chart = portal.current(portal.main(page)).get_by_test_id("stVegaLiteChart")
    expect(chart).to_be_visible()
    chart.hover()  # Streamlit's chart menu (with "Copy Vega-Lite spec") shows on hover: hidden here
    expect(page.get_by_role("button", name="Copy Vega-Lite spec")).to_have_count(0)
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    _no_sideways_scroll(page)
    portal.screenshot(page, "crosstab_phone")
