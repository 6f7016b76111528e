"""Accessibility in a browser: axe-core (WCAG 2.1 A and AA) on every page of the menu, in every language
and tier, and a visible keyboard focus on the portal's own links, buttons and field picker.

What is walked (the run time matters: `make test` must stay short on 2 cores): every public page in
English; in French and Spanish every public page but the theme pages after the first (one function
draws them all: only their texts differ); for a researcher, every page the public does not have
(Microdata) and the pages whose choices differ (one theme page, the crosstab, the map); an
administrator's Admin page. The pages are those of the router's menu, so a page added later is walked
too; one browser page per walk, moving by the menu's links (one rerun each, not a new
session); the sidebar, the same on every page of a walk, is checked on its first page.

A critical or serious finding fails, unless tests/e2e/axe_allowlist.yaml names its rule and a CSS
selector its node lies inside (Streamlit's own markup, with the reason). Moderate and minor findings
are printed, not failed. axe-core is the one bundled by axe-playwright-python (requirements-dev.txt).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Page, expect

from tests.e2e.conftest import CAROL, DRAWN_JS, ROOT_ADMIN

pytestmark = pytest.mark.e2e

ALLOWLIST_FILE = Path(__file__).with_name("axe_allowlist.yaml")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("critical", "serious")
MENU = ".st-key-menu"  # the router's menu (app.py, components/shell.py menu)
FIXED_PAGES = ("", "map", "crosstab", "stories", "releases", "about")  # core/pages.py; the theme pages come from the codebook
PUBLIC_PAGES = {*FIXED_PAGES, "profiles", "drivers", "journey", "smuggling", "protection", "information",
                "destinations", "needs"}

# Runs axe (injected beforehand) and says, per failing node, whether an allow-list entry covers it;
# elementRef gives the node itself, so the allow-list's selector is matched by the browser.
RUN_JS = """async ([tags, allow, context]) => {
    const result = await axe.run(context || document, {runOnly: {type: 'tag', values: tags},
                                            resultTypes: ['violations'], elementRef: true});
    const out = [];
    for (const v of result.violations) for (const n of v.nodes) {
        const el = n.element;
        const hits = allow.filter(a => a.rule === v.id && el && el.closest && el.closest(a.selector));
        out.push({rule: v.id, impact: n.impact || v.impact, help: v.help, target: JSON.stringify(n.target),
                  html: n.html.slice(0, 160), summary: (n.failureSummary || '').slice(0, 300),
                  allowed: hits.map(a => a.selector)});
    }
    return out;
}"""


def load_allowlist() -> list[dict]:
    """The allow-list, each entry checked: a reason, and a selector inside Streamlit's own elements
    (data-testid="st…"), never one of the portal's own keys (.st-key-…) or the field picker."""
    entries = yaml.safe_load(ALLOWLIST_FILE.read_text()) or []
    for entry in entries:
        assert set(entry) == {"rule", "selector", "reason"} and entry["reason"].strip(), entry
        assert re.search(r"\[data-testid=['\"]?st", entry["selector"]), entry
        assert "st-key-" not in entry["selector"] and "picker" not in entry["selector"], entry
    return entries


def run_axe(page: Page, allow: list[dict], sidebar: bool = True) -> list[dict]:
    """axe on the page (without the sidebar when `sidebar` is False: the same on every page of a walk,
    checked on its first)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    context = None if sidebar else {"exclude": [["[data-testid='stSidebar']"]]}
    allow = [{"rule": a["rule"], "selector": a["selector"]} for a in allow]
    return page.evaluate(RUN_JS, [WCAG_TAGS, allow, context])


def menu_links(page: Page) -> list[str]:
    expect(page.locator(f"{MENU} a[href='about']")).to_be_attached()
    return page.eval_on_selector_all(f"{MENU} a", "links => links.map(a => a.getAttribute('href'))")


def go(portal, page: Page, href: str) -> None:
    """Open a page by its menu link (same session), and wait until it has drawn."""
    page.locator(f"{MENU} a[href='{href}']").click()
    portal.wait_for_url(page, rf"^https?://[^/]+/{re.escape(href)}(\?|#|$)")
    portal.settle(page)
    page.wait_for_function(DRAWN_JS, polling=100, timeout=30_000)


def walk(portal, page: Page, hrefs: list[str], allow: list[dict]) -> dict[str, list[dict]]:
    found = {}
    for i, href in enumerate(hrefs):
        start = time.monotonic()
        go(portal, page, href)
        found["/" + href] = run_axe(page, allow, sidebar=i == 0)
        print(f"  /{href}: {time.monotonic() - start:.1f} s")
    return found


def verdict(found: dict[str, list[dict]], label: str) -> None:
    """Print every finding, per page (rule, impact, count, allowed or not); fail on the failing ones."""
    failing, lines = [], [f"axe ({label}):"]
    for path, nodes in found.items():
        counts = Counter((n["rule"], n["impact"], bool(n["allowed"])) for n in nodes)
        summary = ", ".join(f"{rule} ({impact}{', allowed' if allowed else ''}) x{c}"
                            for (rule, impact, allowed), c in sorted(counts.items())) or "none"
        lines.append(f"  {path}: {summary}")
        failing += [(path, n) for n in nodes if n["impact"] in FAILING and not n["allowed"]]
    print("\n".join(lines))
    assert not failing, f"{len(failing)} critical or serious axe finding(s) ({label}):\n" + "\n".join(
        f"{path}: {n['rule']} ({n['impact']}) {n['help']}\n    {n['target']}\n    {n['html']}\n    {n['summary']}"
        for path, n in failing)


@pytest.mark.parametrize(("lang", "account"), [
    ("en", None), ("fr", None), ("es", None), ("en", CAROL), ("en", ROOT_ADMIN),
], ids=["en-public", "fr-public", "es-public", "en-researcher", "en-admin"])
def test_axe_finds_nothing_serious_on_any_page(portal, page: Page, lang: str, account):
    allow = load_allowlist()
    portal.open(page, "/", {"lang": lang})
    if account is not None:
        portal.sign_in(page, account)
    hrefs = menu_links(page)
    assert PUBLIC_PAGES <= set(hrefs), hrefs  # the walk covers every public page, the theme pages too
    if account is None:
        assert not {"microdata", "admin"} & set(hrefs)
        if lang != "en":
            hrefs = [h for h in hrefs if h in FIXED_PAGES] + [next(h for h in hrefs if h not in FIXED_PAGES)]
    elif account.role == "researcher":
        assert "microdata" in hrefs and "admin" not in hrefs
        # The public pages are walked in the public tier. A researcher's differ by their content: the
        # Microdata page, exact figures and more questions (one theme page: one function draws them all),
        # the crosstab's and the map's choices.
        theme = next(h for h in hrefs if h in PUBLIC_PAGES - set(FIXED_PAGES))
        hrefs = [h for h in hrefs if h not in PUBLIC_PAGES] + [theme, "crosstab", "map"]
    else:
        assert "admin" in hrefs
        hrefs = ["admin"]  # the admin's other pages are the researcher's
    found = walk(portal, page, hrefs, allow)
    if (lang, account) == ("en", None):
        # A crosstab with a table, then as a heatmap: the picker's placed fields, the grid.
        for view in ("table", "heatmap"):
            portal.open(page, "/crosstab", {"rows": "gender", "cols": "age_band", "view": view})
            page.wait_for_function(DRAWN_JS, polling=100, timeout=30_000)
            expect(page.locator("#zone-rows li.field")).to_have_count(1)
            found[f"/crosstab?rows=gender&cols=age_band&view={view}"] = run_axe(page, allow)
    verdict(found, f"{lang}, {account.role if account else 'public'}")


# -- keyboard focus ------------------------------------------------------------------------------

# A visible focus indicator on the focused element: an outline or a box-shadow ring.
FOCUS_RING_JS = """() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    return {ring: outline || s.boxShadow !== 'none', tag: el.tagName,
            name: (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40)};
}"""


def focus_ring(page: Page) -> dict:
    return page.evaluate(FOCUS_RING_JS)


def tab_to(page: Page, target, limit: int = 120) -> dict:
    """Press Tab until `target` (a locator) has the focus; returns the focus ring check there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement || el.getRootNode().activeElement === el"):
            return focus_ring(page)
    raise AssertionError(f"Tab never reached {target}")


def test_keyboard_focus_is_visible_on_the_menu_and_the_field_picker(portal, page: Page):
    portal.open(page, "/crosstab")
    page.wait_for_function(DRAWN_JS, polling=100, timeout=30_000)
    # The menu's page links (st.page_link: Streamlit draws no focus ring of its own on them).
    link = page.locator(f"{MENU} a[href='map']")
    state = tab_to(page, link)
    assert state["ring"], f"no visible focus on the menu link {state}"
    # The field picker: its search box, a field of the list, a placed field's buttons.
    search = page.locator("[data-testid='stBidiComponentIsolated'] input[type='search']")
    assert tab_to(page, search)["ring"], "no visible focus on the picker's search box"
    field = page.locator(".avail li.field[data-name='gender']")
    field.focus()
    page.keyboard.press("r")  # into Rows; the picker keeps the focus on it
    placed = page.locator("#zone-rows li.field[data-name='gender']")
    expect(placed).to_be_focused()
    assert focus_ring(page)["ring"], "no visible focus on a placed field"
    # The next stop (the placed field's buttons are for the mouse: the keyboard has R/C/F, Alt+arrows
    # and Delete, components/field_picker.py) has a ring too.
    page.keyboard.press("Tab")
    state = focus_ring(page)
    assert state["ring"], f"no visible focus on the stop after the picker's zone: {state}"
