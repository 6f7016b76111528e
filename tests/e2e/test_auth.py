"""Signing in and out in a browser: the researcher's pages, the login cookie and its revocation,
throttling of wrong passwords, and the admin page's role check."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import THROTTLE_FIRST_WAIT

pytestmark = pytest.mark.e2e

EN_TITLE = "Mixed-migration data portal"
THROTTLED = re.compile(r"Too many failed attempts\. Try again in (\d+) seconds?\.")


def signed_in_as(portal, page: Page):
    return portal.sidebar(page).get_by_text(re.compile(r"^Signed in as "))


def open_with_cookie(portal, new_context, cookie: dict, path: str) -> Page:
    """A browser that has never been to the portal, holding only a copy of a login cookie."""
    context = new_context()
    context.add_cookies([{"name": cookie["name"], "value": cookie["value"], "url": portal.base}])
    return portal.open(context.new_page(), path)


def test_researcher_signs_in_and_out(portal, new_context):
    alice = portal.account("alice")
    context = new_context()
    page = portal.open(context.new_page(), "/")
    expect(portal.nav_link(page, "Microdata")).to_have_count(0)

    cookie = portal.sign_in(page, alice)  # waits for the login cookie to appear
    expect(signed_in_as(portal, page)).to_have_text("Signed in as Alice Martin (Researcher)")
    expect(portal.nav_link(page, "Microdata")).to_be_visible()
    expect(portal.nav_link(page, "Admin")).to_have_count(0)
    assert cookie["name"] == portal.cookie_name and cookie["value"].count(".") == 2  # a JWT

    portal.nav_link(page, "Microdata").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Microdata")
    expect(page).to_have_url(re.compile(r"/microdata(\?|$)"))
    expect(portal.glide_cells(page).first).to_have_text(re.compile(r"^CORE-\d{7}$"))
    portal.screenshot(page, "microdata_researcher")

    # A reload is a new Streamlit session: the cookie alone keeps the researcher signed in.
    page.reload()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Microdata")
    expect(signed_in_as(portal, page)).to_have_text("Signed in as Alice Martin (Researcher)")
    expect(portal.glide_cells(page).first).to_have_text(re.compile(r"^CORE-\d{7}$"))

    # Control for the replay below: before the logout, a copy of the cookie does sign in.
    other = open_with_cookie(portal, new_context, cookie, "/microdata")
    expect(portal.title(other)).to_have_text("Microdata")
    expect(signed_in_as(portal, other)).to_have_text("Signed in as Alice Martin (Researcher)")

    portal.sidebar(page).get_by_role("button", name="Sign out").click()
    portal.settle(page)
    expect(portal.sidebar(page).get_by_text("You have signed out.")).to_be_visible()
    expect(signed_in_as(portal, page)).to_have_count(0)
    expect(portal.nav_link(page, "Microdata")).to_have_count(0)
    # The page that is no longer allowed is replaced by its sign-in request (form on the page itself).
    expect(portal.sidebar(page).get_by_text("Sign in with the form on this page.")).to_be_visible()
    portal.assert_restricted(page, "Microdata")
    portal.wait_for_no_login_cookie(page)  # deleted from this browser too

    page = portal.open(page, "/microdata")
    portal.assert_restricted(page, "Microdata")

    # The old cookie, replayed in a new browser, does not sign in: the logout revoked it on the server.
    replay = open_with_cookie(portal, new_context, cookie, "/microdata")
    portal.assert_restricted(replay, "Microdata")

    # ... and the other browser, signed in with it, is signed out at its next rerun (any click).
    portal.pill(other, "Woman").click()
    portal.settle(other)
    expect(portal.sidebar(other).get_by_text(
        "You have been signed out: your account was changed or signed out elsewhere.")).to_be_visible()
    portal.assert_restricted(other, "Microdata")


def test_wrong_passwords_are_throttled(portal, page: Page):
    bob = portal.account("bob")
    portal.open(page, "/")
    sb = portal.sidebar(page)
    wrong = sb.get_by_text("Wrong username or password.", exact=True)
    throttled = sb.get_by_text(THROTTLED)

    # The first five wrong passwords are checked, and refused as such.
    for attempt in range(1, 6):
        portal.submit_sign_in(page, bob.username, f"Wrong-guess-{attempt}-Zq8!")
        expect(wrong, f"attempt {attempt}").to_be_visible()
        expect(throttled, f"attempt {attempt}").to_have_count(0)
        expect(signed_in_as(portal, page)).to_have_count(0)

    # The sixth is refused unchecked, even with the right password. The test servers' first wait is
    # THROTTLE_FIRST_WAIT (conftest.py), not the default 2 s, so that a busy machine cannot let it pass
    # before the sixth attempt arrives. That the wait ends and the right password then works is checked
    # with a clock of the test's own (tests/unit/test_throttle.py, tests/app/test_pages.py).
    portal.submit_sign_in(page, bob.username, bob.password)
    expect(throttled).to_be_visible()
    expect(wrong).to_have_count(0)
    expect(signed_in_as(portal, page)).to_have_count(0)
    expect(portal.nav_link(page, "Microdata")).to_have_count(0)
    wait = int(THROTTLED.search(throttled.inner_text()).group(1))
    assert 0 < wait <= THROTTLE_FIRST_WAIT, f"after 5 failures the wait is {THROTTLE_FIRST_WAIT} s, not {wait}"


def test_admin_page_is_for_admins_only(portal, new_context):
    admin = portal.account("root")
    page = portal.open(new_context().new_page(), "/")
    portal.sign_in(page, admin)
    expect(signed_in_as(portal, page)).to_have_text("Signed in as Ada Admin (Administrator)")
    expect(portal.nav_link(page, "Microdata")).to_be_visible()
    portal.nav_link(page, "Admin").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Admin")
    expect(page).to_have_url(re.compile(r"/admin(\?|$)"))
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    cells = page.get_by_test_id("stDataFrame").first.locator("td")  # the users (the audit log comes next)
    for username in ("alice", "bob", "carol", "root"):
        expect(cells.filter(has_text=re.compile(rf"^{username}$"))).to_have_count(1)
    expect(cells.filter(has_text=re.compile(r"^Alice Martin$"))).to_have_count(1)
    portal.screenshot(page, "admin")

    carol = portal.account("carol")
    page = portal.open(new_context().new_page(), "/")
    portal.sign_in(page, carol)
    expect(portal.nav_link(page, "Microdata")).to_be_visible()  # signed in as a researcher ...
    expect(portal.nav_link(page, "Admin")).to_have_count(0)  # ... with no Admin link
    page = portal.open(page, "/admin")
    portal.assert_restricted(page, "Admin", viewer=carol)
    expect(signed_in_as(portal, page)).to_have_text("Signed in as Carol Chen (Researcher)")
    expect(portal.glide_cells(page)).to_have_count(0)


COOKIE_MANAGER = "**/component/extra_streamlit_components.CookieManager.cookie_manager/**"


def test_login_cookie_survives_a_slow_cookie_iframe(portal, new_context):
    """The sign-in's rerun draws one cookie-manager iframe, the write of the login cookie (not the library's
    reader of every cookie, whose reports reran the script unasked, up to seconds later: components/auth.py
    _cookie_writer). Were it drawn only once, a rerun before its script ran would remove it: here its script
    runs 1.5 s late (a slow link, a busy browser) and the visitor opens another page at once; the cookie
    must still be written, and the page asks for one rerun of its own, the write's report."""
    dave = portal.account("dave")
    page = portal.open(new_context().new_page(), "/")

    def late(route, request):
        if re.search(r"/main\.[0-9a-f]+\.chunk\.js$", request.url):
            response = route.fetch()
            route.fulfill(response=response, body=f"setTimeout(function () {{\n{response.text()}\n}}, 1500);")
        else:
            route.continue_()

    page.route(COOKIE_MANAGER, late)
    since = portal.runs(page)
    portal.submit_sign_in(page, dave.username, dave.password)
    expect(signed_in_as(portal, page)).to_have_text("Signed in as Dave Diallo (Researcher)")
    portal.nav_link(page, "About and data dictionary").click()  # a rerun while the write is still to run
    portal.wait_for_login_cookie(page, timeout_ms=4_000)  # about 1 s when the iframe is on time
    portal.settle(page, since=since, report="true")
    assert page.evaluate("() => window.__runs.reports.map(([seq, kind]) => kind)") == ["true"]
    expect(page.locator("iframe[title$='cookie_manager']")).to_have_count(1)
    page.reload()
    portal.settle(page)
    expect(signed_in_as(portal, page)).to_have_text("Signed in as Dave Diallo (Researcher)")
