"""The route map in a browser: it draws on the portal's own basemap without asking any other server
for anything, and a click on the map narrows the shared filters and the link."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_public import query

pytestmark = pytest.mark.e2e


def deck_canvas(portal, page: Page):
    return portal.current(portal.main(page)).get_by_test_id("stDeckGlJsonChart").locator("canvas").first


def test_the_map_draws_and_asks_no_other_server(portal, page: Page):
    requests, failed = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    portal.open(page, "/")
    portal.nav_link(page, "Route map").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Route map")
    expect(deck_canvas(portal, page)).to_be_visible()
    page.wait_for_timeout(1500)  # let deck.gl draw its first frames
    page.screenshot(path=SCREENSHOTS / "map.png", full_page=True)
    assert not failed, failed
    elsewhere = {urlsplit(u).netloc for u in requests if not u.startswith((portal.base, "data:", "blob:"))}
    assert not elsewhere, elsewhere  # no tile server, no font or icon server
    # The side panel's protected table is there too.
    expect(page.get_by_text("Top flows", exact=True)).to_be_visible()


def test_a_click_on_a_country_sets_the_filter_and_the_link(portal, page: Page):
    # Egyptians are interviewed in Libya only: the one circle is framed at the centre of the map.
    portal.open(page, "/map", {"nat": "EGY", "layers": "interviews"})
    canvas = deck_canvas(portal, page)
    expect(canvas).to_be_visible()
    assert "country" not in query(page.evaluate("location.href"))
    # deck.gl picks a circle only once it has drawn it, which nothing on the page announces: click the
    # centre until the link shows the country (the state), not after a fixed pause.
    picked = "() => new URLSearchParams(location.search).get('country') === 'LBY'"
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
    page.screenshot(path=SCREENSHOTS / "map_clicked.png", full_page=True)
