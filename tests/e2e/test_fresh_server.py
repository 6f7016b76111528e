"""The `pages/` folder trap: on a freshly started Streamlit server, until some session has run app.py
(st.navigation), a URL such as /microdata runs pages/microdata.py directly, past the router and its
sign-in. The portal's page modules must draw nothing internal when run that way (whether they then
show a blank page or hand the visit to the router is theirs to choose)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

EN_TITLE = "Mixed-migration data portal"
INTERNAL = ("/microdata", "/admin")


def test_internal_urls_show_nothing_on_a_fresh_server(fresh_portal, new_context):
    portal = fresh_portal
    page = new_context().new_page()  # anonymous: no cookie, and every URL visit is a new session
    # The server's very first page requests, anonymous: the internal pages' URLs.
    for path in INTERNAL:
        portal.open(page, path)
        portal.assert_nothing_internal(page)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
        expect(page.get_by_test_id("stException")).to_have_count(0)

    # A normal visit runs app.py, and from then on the router decides.
    portal.open(page, "/")
    expect(portal.title(page)).to_have_text(EN_TITLE)

    for path in INTERNAL:
        portal.open(page, path)
        expect(page.get_by_role("dialog").filter(has_text="Page not found")).to_be_visible()
        expect(portal.title(page)).to_have_text(EN_TITLE)
        portal.assert_nothing_internal(page)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
