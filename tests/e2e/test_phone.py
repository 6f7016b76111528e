"""A phone's screen, 390×844 (an iPhone 12 to 15): no page scrolls sideways, and nothing in it runs off
the screen, in the public tier and on Microdata for a signed-in researcher.

"Runs off": a visible element of the main area whose box reaches past the screen's left or right edge and
that is not inside a region that scrolls on its own (a data grid, a wide table: reachable by swiping it).
Shadow roots (the field picker) are looked into. Each finding names the element and how wide it is.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import CAROL, DRAWN_JS

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
# Every public page but the crosstab (its own test, below): the listed pages, and the core survey's theme
# pages that hold each kind of chart (one function draws every theme page): the pyramid, the trend and bars
# of shares (profiles), several answers broken down by region, as small multiples (drivers), numbers
# with their intervals and quartiles (journey).
THEMES = ("/profiles", "/drivers?by=region_of_interview", "/journey")
PAGES = ("/", "/map", "/stories", "/about", *THEMES)

# What scrolls sideways (the document, or Streamlit's main containers), and what runs off the screen.
OVERFLOW_JS = """() => {
    const vw = window.innerWidth;
    const wide = [['document', document.documentElement]].concat(
        ['stAppViewContainer', 'stMain', 'stMainBlockContainer'].map(id => [id, document.querySelector(`[data-testid='${id}']`)]))
        .filter(([, el]) => el && el.scrollWidth > el.clientWidth + 1)
        .map(([id, el]) => `${id} scrolls sideways: ${el.scrollWidth} px wide in ${el.clientWidth}`);
    const main = document.querySelector("[data-testid='stMainBlockContainer']");
    const parentOf = el => el.parentElement || (el.parentNode && el.parentNode.host) || null;
    // Not made invisible: a grid's toolbar is transparent until hovered or tapped, and what a closed
    // expander (<details>) holds is laid out but not shown (its boxes are those of a layout in progress).
    const shown = el => {
        for (let a = el; a && a !== main; a = parentOf(a)) {
            if (a.nodeType !== 1) continue;
            if (a.tagName === 'DETAILS' && !a.open && !(el.closest && el.closest('summary'))) return false;
            const s = getComputedStyle(a);
            if (s.opacity === '0' || s.visibility === 'hidden') return false;
        }
        return true;
    };
    // Wholly left of the screen is the "visually hidden" pattern of a skip link (shown when focused),
    // which scrolls nothing: a left overflow counts only where part of the element is on screen.
    const outside = el => { const r = el.getBoundingClientRect();
                            return r.width > 0 && r.height > 0 && (r.right > vw + 1 || (r.left < -1 && r.right > 0))
                                   && shown(el); };
    const name = el => {
        const parts = [];
        for (let e = el; e && e !== main && parts.length < 4; e = parentOf(e)) {
            const tid = e.getAttribute && e.getAttribute('data-testid');
            const key = e.classList && ([...e.classList].find(c => c.startsWith('st-key-'))
                                        || [...e.classList].find(c => !/^(st-emotion|e[0-9a-z]{5,}$)/.test(c)));
            parts.unshift(e.tagName.toLowerCase() + (tid ? `[data-testid=${tid}]` : '') + (key ? '.' + key : ''));
        }
        return parts.join(' > ');
    };
    const scrolls = el => {  // inside a region (within the main area) that scrolls sideways on its own
        for (let a = parentOf(el); a && a !== main; a = parentOf(a)) {
            if (a.nodeType !== 1) continue;
            const s = getComputedStyle(a);
            if (['auto', 'scroll'].includes(s.overflowX) && !outside(a)) return true;
        }
        return false;
    };
    const off = [];
    const visit = root => {
        for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) visit(el.shadowRoot);
            if (!outside(el) || scrolls(el)) continue;
            const parent = parentOf(el);
            if (parent && parent !== main && outside(parent)) continue;  // its parent is reported instead
            const r = el.getBoundingClientRect();
            off.push(`${name(el)}: ${Math.round(r.left)} to ${Math.round(r.right)} px (${Math.round(r.width)} wide)`);
        }
    };
    if (main) visit(main);
    return wide.concat(off);
}"""


def overflow(portal, page: Page, path: str, timeout_ms: int = 10_000) -> list[str]:
    """What runs off the screen on `path`, once the page has drawn (DRAWN_JS) and its layout has no finding:
    a grid is first drawn narrow and then resized to its column (its toolbar was once caught at -44 to 68
    px), so a finding may be a layout in progress. Nothing after `timeout_ms`: the findings of that look."""
    portal.open(page, path)
    expect(portal.title(page)).to_be_visible()
    page.wait_for_function(DRAWN_JS, polling=100, timeout=30_000)
    try:
        page.wait_for_function(f"() => ({OVERFLOW_JS})().length === 0", polling=100, timeout=timeout_ms)
        return []
    except PlaywrightTimeoutError:
        return page.evaluate(OVERFLOW_JS)


# The theme pages' charts reflow (core/figures/charts.py `narrow`): every chart's plot (the frame of its
# marks, without the labels: Vega's root group's background) at least MIN_PLOT px wide, and no chart drawn wider than its box (the element holding Vega's, which takes the width
# of a chart that cannot fill it: small multiples), where it would run off the screen. Read once
# every chart is drawn (an SVG or a canvas in each).
MIN_PLOT = 150
CHARTS_JS = """(minPlot) => {
    const charts = [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stVegaLiteChart']")];
    if (!charts.length || charts.some(c => !c.querySelector('svg, canvas'))) return false;
    const width = path => { const m = /h(-?[0-9.]+)/.exec(path.getAttribute('d') || ''); return m ? +m[1] : 0; };
    return charts.flatMap((c, i) => {
        const name = `chart ${i + 1} (${c.getAttribute('aria-label') || c.closest('[data-testid=stVerticalBlock]')
                                         ?.querySelector('h3')?.textContent || ''})`.slice(0, 90);
        const drawn = c.querySelector('svg, canvas').getBoundingClientRect().width, box = c.parentElement.clientWidth;
        const cells = c.querySelectorAll('.role-scope.cell > g > path.background');
        const plots = [...(cells.length ? cells : c.querySelectorAll('.role-frame.root > g > path.background'))].map(width);
        const found = [];
        if (drawn > box + 1) found.push(`${name}: drawn ${Math.round(drawn)} px wide in a box of ${box}`);
        // Small multiples' panels are small by design (88 px): theirs must fit the box, above.
        if (!cells.length && (!plots.length || Math.min(...plots) < minPlot))
            found.push(`${name}: its plot is ${plots.length ? Math.round(Math.min(...plots)) : '?'} px wide`);
        return found;
    });
}"""


def narrow_charts(page: Page) -> list[str]:
    return page.wait_for_function(CHARTS_JS, arg=MIN_PLOT, polling=100, timeout=30_000).json_value()


def test_no_public_page_scrolls_sideways_on_a_phone(portal, new_context):
    page = new_context(**PHONE).new_page()
    found = {}
    for path in PAGES:
        found[path] = overflow(portal, page, path)
        if path in THEMES:
            found[path] += narrow_charts(page)
    found = {path: issues for path, issues in found.items() if issues}
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(issues) for path, issues in found.items())

    # A tap on a link of the menu opens its page and closes the sidebar, which would otherwise cover it.
    sidebar = portal.sidebar(page)
    page.get_by_test_id("stExpandSidebarButton").tap()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    portal.nav_link(page, "About").tap()
    expect(portal.title(page)).to_have_text("About and data dictionary")
    expect(sidebar).to_have_attribute("data-collapsed", "true")


def test_the_crosstab_does_not_scroll_sideways_on_a_phone(portal, new_context):
    page = new_context(**PHONE).new_page()
    issues = overflow(portal, page, "/crosstab")
    assert not issues, "\n".join(issues)


def test_microdata_does_not_scroll_sideways_on_a_phone(portal, new_context):
    desktop = portal.open(new_context().new_page(), "/")  # signed in where the sidebar is open
    cookie = portal.sign_in(desktop, CAROL)
    phone = new_context(**PHONE)
    phone.add_cookies([cookie])
    page = phone.new_page()
    issues = overflow(portal, page, "/microdata")
    expect(portal.title(page)).to_have_text("Microdata")
    assert not issues, "\n".join(issues)
