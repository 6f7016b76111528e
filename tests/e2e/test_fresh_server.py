"""The `pages/` folder trap: on a freshly started Streamlit server, until some session has run app.py
(st.navigation), a URL such as /microdata runs pages/microdata.py directly, past the router and its
sign-in, and Streamlit lists the files of pages/ (app, about, admin, ...) as its menu. The portal's
page modules draw nothing when run that way and hand the visit to the router
(components.shell.hand_to_router), so that a shared link works on a fresh server too; Streamlit's own
menu is switched off (.streamlit/config.toml), so its list never shows, not even for a moment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from scripts.serve import public_pages, warm_up_done
from tests.e2e.test_public import query

pytestmark = pytest.mark.e2e

EN_TITLE = "Mixed-migration data portal"
INTERNAL = (("/microdata", "Microdata"), ("/admin", "Admin"))
# Notes, from the first paint on, whether Streamlit's own menu (its list of page files) ever showed.
WATCH_NAV = """
window.__sawStreamlitNav = false;
new MutationObserver(() => {
    if (document.querySelector("[data-testid='stSidebarNav']")) window.__sawStreamlitNav = true;
}).observe(document, {childList: true, subtree: true});
"""


def watched(context):
    page = context.new_page()
    page.add_init_script(WATCH_NAV)
    return page


def assert_portal_menu_only(portal, page, overview: str = "Overview"):
    """The router's menu, and never Streamlit's list of files."""
    expect(portal.nav_link(page, overview)).to_be_visible()
    expect(portal.sidebar(page).get_by_role("link", name="app", exact=True)).to_have_count(0)
    assert page.evaluate("window.__sawStreamlitNav") is False


def test_the_first_visit_to_a_fresh_server_shows_the_portal(fresh_portal, new_context):
    portal = fresh_portal
    page = watched(new_context())
    portal.open(page, "/")
    expect(portal.title(page)).to_have_text(EN_TITLE)
    expect(portal.metric(page, "Respondents")).to_be_visible()
    assert_portal_menu_only(portal, page)
    # The first choice on the server is shown as made. (That first run, in Streamlit's old mode, used
    # to draw the sidebar under other widget ids than the runs after it: the filter was applied, and
    # its pill shown off.)
    before = portal.metric(page, "Respondents").inner_text()
    portal.pill(page, "Woman").click()
    expect(portal.pill(page, "Woman")).to_have_attribute(portal.chosen(), "true")
    portal.wait_for_url(page, r"[?&]gender=woman(&|$)")
    expect(portal.metric(page, "Respondents")).not_to_have_text(before)


def test_internal_urls_show_nothing_on_a_fresh_server(fresh_portal, new_context):
    portal = fresh_portal
    page = watched(new_context())  # anonymous: no cookie, and every URL visit is a new session
    # The server's very first page requests, anonymous: the internal pages' URLs. Each shows its sign-in
    # request (in the router, never the page's module), not a blank page nor Streamlit's "not found".
    for path, heading in INTERNAL:
        portal.open(page, path)
        portal.assert_restricted(page, heading)
        assert_portal_menu_only(portal, page)
        expect(page.get_by_test_id("stException")).to_have_count(0)

    # A normal visit runs app.py, and from then on the router decides.
    portal.open(page, "/")
    expect(portal.title(page)).to_have_text(EN_TITLE)

    for path, heading in INTERNAL:
        portal.open(page, path)
        portal.assert_restricted(page, heading)


def test_a_theme_link_as_the_first_visit_of_a_server_started_by_make_run(fresh_served_portal, new_context):
    """A theme page has no file in pages/: on a server in Streamlit's old mode its link was first
    answered "Page not found". `make run` (scripts/serve.py) starts the server out of that mode. The
    tab's title and the document's language are the page's."""
    portal = fresh_served_portal
    page = watched(new_context())
    portal.open(page, "/smuggling", {"lang": "fr"})
    expect(portal.title(page)).to_have_text("Trafic de migrants")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page).to_have_title("Trafic de migrants · Portail de données sur les migrations mixtes")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_portal_menu_only(portal, page, "Vue d’ensemble")
    # Meanwhile the server warms itself: every public page, in the language this server is told to warm
    # (PORTAL_WARM_UP=fr; all three by default), ran to its end.
    views = warm_up_done(portal.server.log_path, timeout=180)
    assert views and views.group(1) == views.group(2) == str(len(public_pages())), views


def test_a_shared_link_opens_its_page_on_a_fresh_server(fresh_portal, new_context):
    """The server's very first request is a link someone shared: the crosstab with its layout and a
    filter. The router opens that page, with that layout, rather than the Overview."""
    portal = fresh_portal
    page = watched(new_context())
    portal.open(page, "/crosstab", {"lang": "fr", "gender": "woman", "rows": "age_band", "cols": "region_of_interview"})
    expect(portal.title(page)).to_have_text("Tableau croisé à la carte")
    expect(page.locator("#zone-rows li.field")).to_have_text(re.compile("Tranche d.âge"))
    expect(page.get_by_role("dialog").filter(has_text="Page not found")).to_have_count(0)
    params = query(portal.wait_for_url(page, r"/crosstab\?"))
    assert params["rows"] == ["age_band"] and params["cols"] == ["region_of_interview"]
    assert params["gender"] == ["woman"] and params["lang"] == ["fr"]
    assert page.evaluate("window.__sawStreamlitNav") is False
    portal.assert_nothing_internal(page)
