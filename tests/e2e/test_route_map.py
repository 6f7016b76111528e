"""The route map in a browser: it draws on the portal's own basemap without asking any other server
for anything, and a click on the map narrows the shared filters and the link."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from components.style import MAP_TOP
from core.figures.map_layers import LAND
from scripts.health import MAP_CANVAS, MAP_DRAWN_JS
from tests.e2e.test_phone import PHONE
from tests.e2e.test_public import query

pytestmark = pytest.mark.e2e


def deck_canvas(portal, page: Page):
    return portal.current(portal.main(page)).get_by_test_id("stDeckGlJsonChart").locator("canvas").first


def test_the_map_draws_and_asks_no_other_server(portal, page: Page):
    # Every request goes through this route: the portal's own go on, any other host is refused at once and
    # noted (offline, such a request would hang until it timed out, and the map would wait on it).
    requests, elsewhere, failed = [], [], []

    def only_here(route):
        url = route.request.url
        requests.append(url)
        if url.startswith((portal.base, "data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_here)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    portal.open(page, "/")
    portal.nav_link(page, "Route map").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Route map")
    expect(deck_canvas(portal, page)).to_be_visible()
    # Drawn: the country outlines (fetched from this server) and the default layer, the flows, on the canvas.
    # Without a GPU, SwiftShader draws it: on a busy 2-core machine that took up to 30 s.
    page.wait_for_function(MAP_DRAWN_JS, arg=[MAP_CANVAS, list(LAND)], polling=100, timeout=90_000)
    assert any("/app/static/geo/countries-en-" in u for u in requests), requests
    assert any("/app/static/geo/borders-" in u for u in requests), requests
    # deck.gl has asked for all it needs (basemap, fonts, icons): no request for 500 ms.
    page.wait_for_load_state("networkidle")
    portal.screenshot(page, "map")
    assert not elsewhere, elsewhere  # no tile server, no font or icon server
    assert not failed, failed
    # The side panel's protected table is there too: a plain table (a header row, ten rows, three columns),
    # not Streamlit's grid, whose code (DataFrame.*.js) is not fetched at all until a table box is opened.
    expect(page.get_by_text("Top flows", exact=True)).to_be_visible()
    side = portal.main(page).locator(f".st-key-{MAP_TOP} table").filter(has=page.get_by_role("columnheader", name="Flow"))
    expect(side).to_have_css("font-size", "14px")  # set compact (components.style), a top ten beside the map
    expect(side.get_by_role("columnheader")).to_have_text(["Flow", "Respondents", "Share"])
    expect(side.locator("tbody tr")).to_have_count(10)
    expect(side.locator("tbody tr").first.locator("td").first).to_have_text("Venezuela → Colombia")
    assert not [u for u in requests if "/DataFrame." in u], "the grid's code was loaded with the map"
    portal.expand(page, "The map's figures as a table")
    expect(portal.main(page).get_by_test_id("stDataFrame")).to_have_count(1)  # the flows, drawn once opened


def test_a_click_on_a_country_sets_the_filter_and_the_link(portal, page: Page):
    # Egyptians are interviewed in Libya only: the one circle is framed at the centre of the map.
    portal.open(page, "/map", {"nat": "EGY", "layers": "interviews"})
    canvas = deck_canvas(portal, page)
    expect(canvas).to_be_visible()
    assert "country" not in query(page.evaluate("location.href"))
    # deck.gl picks a circle only once it has drawn it, which nothing on the page announces: click the
    # centre until the link shows the country (the state), not after a fixed pause.
    picked = "() => new URLSearchParams(location.search).get('country') === 'LBY'"
    canvas.evaluate("e => e.scrollIntoView({block: 'center'})")  # its centre on screen, under the sentence above it
    for _ in range(20):
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        portal.settle(page)
        try:
            page.wait_for_function(picked, timeout=3000)
            break
        except PlaywrightTimeout:
            continue
    page.wait_for_function(picked)
    assert query(page.evaluate("location.href"))["country"] == ["LBY"] and query(page.evaluate("location.href"))["nat"] == ["EGY"]
    expect(portal.filter_box(page, "Country of interview")).to_have_value("Libya")
    expect(page.get_by_text("Filter set: Country of interview: Libya")).to_be_visible()
    portal.screenshot(page, "map_clicked")


def _tap_until(portal, page: Page, canvas, details, text: str) -> None:
    """Tap the centre of the map until the details panel shows `text`: deck.gl picks an object only once
    it has drawn it, which nothing on the page announces, so the wait is on the panel, not on time."""
    for _ in range(20):
        box = canvas.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        portal.settle(page)
        try:
            expect(details.get_by_text(text)).to_be_visible(timeout=3000)
            return
        except AssertionError:
            continue
    expect(details.get_by_text(text)).to_be_visible()


def test_on_a_phone_the_map_fits_the_width_and_a_tap_shows_its_details(portal, new_context):
    page = new_context(**PHONE).new_page()
    # Egyptians are interviewed in Libya only: the one circle is at the centre of the map.
    portal.open(page, "/map", {"nat": "EGY", "layers": "interviews"})
    canvas = deck_canvas(portal, page)
    expect(canvas).to_be_visible()
    box = portal.current(portal.main(page)).get_by_test_id("stDeckGlJsonChart").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    details = page.locator(".st-key-map_details")
    expect(details).to_contain_text("Tap or click an arc or a circle: its figures appear here.")
    canvas.evaluate("e => e.scrollIntoView({block: 'center'})")
    _tap_until(portal, page, canvas, details, "Respondents interviewed in Libya: about")
    # The same words as the tooltip: what is counted, for whom and when.
    expect(details).to_contain_text("filters: Country of interview: Libya; Nationality: Egypt")
    expect(details).to_contain_text("interviewed Q1 2017 – Q3 2026")
    panel = details.bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390, panel
    portal.screenshot(page, "map_phone_tapped")


def _overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_maps_toolbar_covers_none_of_the_controls_above_it(portal, page: Page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    portal.open(page, "/map", {"layers": ["flows", "incidents"]})  # every control drawn: layers, flows, incidents
    chart = portal.current(portal.main(page)).get_by_test_id("stDeckGlJsonChart")
    expect(chart.locator("canvas").first).to_be_visible()
    chart.evaluate("e => e.scrollIntoView({block: 'center'})")
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # Every box read at one instant, once two readings 200 ms apart agree: a page still laying out (a
    # font, a chart resizing) would otherwise give boxes of two different moments.
    rects = page.wait_for_function(STABLE_RECTS_JS, polling=200, timeout=20_000).json_value()
    bar, box = rects["bar"], rects["chart"]
    boxes = [b for b in rects["above"] if b["y"] < box["y"]]
    assert len(boxes) >= 4, boxes  # the layers, two incident choices, the flow kind, the sentences
    assert not [b for b in boxes if _overlaps(bar, b)], (bar, boxes)


# The map's box, its toolbar's (drawn while the pointer is over the map) and those of the controls and
# sentences of the page, from the elements of the latest run; returned when equal to the last poll's.
STABLE_RECTS_JS = """() => {
    const main = document.querySelector("[data-testid='stMain']");
    const current = [...main.querySelectorAll("[data-testid='stElementContainer']:not([data-stale='true'])")];
    const chartBox = current.find(c => c.querySelector("[data-testid='stDeckGlJsonChart']"));
    const toolbar = chartBox && chartBox.querySelector("[data-testid='stElementToolbar']");
    if (!toolbar || !toolbar.getBoundingClientRect().width) return false;
    const box = r => ({x: r.x, y: r.y, width: r.width, height: r.height});
    const rect = e => box(e.getBoundingClientRect());
    // A sentence's box is that of its text (a range over it), not of its container's spacing below.
    const textRect = e => { const range = document.createRange(); range.selectNodeContents(e);
                            return box(range.getBoundingClientRect()); };
    const controls = "[data-testid='stButtonGroup'], [data-testid='stSelectbox']";
    const above = [...current.flatMap(c => [...c.querySelectorAll(controls)]).map(rect),
                   ...current.flatMap(c => [...c.querySelectorAll("[data-testid='stMarkdownContainer']")]).map(textRect)]
        .filter(r => r.width && r.height);
    const now = JSON.stringify({chart: rect(chartBox.querySelector("[data-testid='stDeckGlJsonChart']")),
                                bar: rect(toolbar), above});
    const same = now === window.__e2eRects;
    window.__e2eRects = now;
    return same && JSON.parse(now);
}"""
