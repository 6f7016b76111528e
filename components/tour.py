"""The guided tour (core/explainer/tour.py) on screen: "Take the tour" in the sidebar of every page, and, while a
tour is on (`?tour=n` in the link), a panel at the top of the page with the step's title and text and
Back / Next / Skip / Restart. Each step opens its page with the portal's real data and points at the
part it explains: an outline drawn with CSS on the element Streamlit marks with its key (`st-key-...`)
or its test id, scrolled into view by a tiny components-v2 script.
"""

from __future__ import annotations

import streamlit as st

from components import present, shell
from core.data.codebook import questions
from core.data.engine import load_codebook
from core.explainer.stories import PRESENT_PARAM, TOUR_PARAM
from core.explainer.tour import THEME, TourStep, advance, back, restart, step_number, steps_for
from core.i18n import t

# What each step points at: a CSS selector of the element.
TARGETS = {
    "title": '[data-testid="stMain"] h1',
    "filters": ".st-key-filter_bar",
    "map": '[data-testid="stDeckGlJsonChart"]',
    "map_layers": ".st-key-map_layers",
    "chart": '[data-testid="stMain"] [data-testid="stVegaLiteChart"]',
    "breakdown": ".st-key-theme_by",
    "howto": '[data-testid="stMain"] [class*="st-key-howto_"]',
    "picker": ".st-key-ct_picker",
    "downloads": '[data-testid="stMain"] [data-testid="stPopover"]',
    "share": ".st-key-share_link",
    "stories": ".st-key-stories_list",
    "present": ".st-key-present_switch",
    "microdata": '[data-testid="stMain"] [data-testid="stDataFrame"]',
}
HIGHLIGHT = "#d97706"
# The panel stays in view while the page scrolls to the part it explains; not on a phone, where it would
# take half the screen.
# (Sticky on the panel's wrapper, the child of the page's block: a sticky element moves only within its
# parent.)
_PANEL = '[data-testid="stLayoutWrapper"]:has(> .st-key-tour_panel)'
_STICKY = (f"{_PANEL} {{ position: sticky; top: 4rem; z-index: 20; }} .st-key-tour_panel {{ background: #ffffff; "
           f"box-shadow: 0 2px 8px rgba(0,0,0,.12); }} @media (max-width: 640px) {{ {_PANEL} {{ position: static; }} "
           f".st-key-tour_panel {{ box-shadow: none; }} }}")

_JS = """
export default function(component) {
  const { data } = component;
  // Scroll the part explained into view once per step (not on every rerun of the same step).
  if (window.__portalTourAt === data.step) return;
  let tries = 0, timer = null;
  const find = () => {
    const el = document.querySelector(data.selector);
    if (el) {
      window.__portalTourAt = data.step;
      // The panel stays at the top of the page (sticky, on screens wide enough): the part explained is
      // scrolled to just under it, so that both are in view.
      const panel = document.querySelector('.st-key-tour_panel');
      const sticky = panel && getComputedStyle(panel.parentElement).position === 'sticky';
      el.style.scrollMarginTop = sticky ? (panel.offsetHeight + 24) + 'px' : '';
      el.scrollIntoView({ block: sticky ? 'start' : 'center', behavior: 'smooth' });
      return;
    }
    if (++tries < 40) timer = setTimeout(find, 150);
  };
  timer = setTimeout(find, 200);
  return () => clearTimeout(timer);
}
"""

_POINTER = st.components.v2.component("portal_tour_pointer", html="<span hidden></span>", js=_JS)


def theme_page(dataset: str) -> str:
    """The theme page the tour shows: the dataset's second theme (the first is its profiles)."""
    themes = load_codebook(dataset).themes
    return themes[min(1, len(themes) - 1)].id


def _resolve(step: TourStep, dataset: str, tier: str) -> tuple[str, dict[str, list[str]]]:
    """The page and link parameters of a step, for the chosen dataset."""
    page = theme_page(dataset) if step.page == THEME else step.page
    params = {}
    for name, values in step.params.items():
        if values == ("@first",):
            shown = questions(load_codebook(dataset), page, tier)
            values = (shown[0].name,) if shown else ()
        if values:
            params[name] = list(values)
    return page, params


def _open(number: int | None) -> None:
    """Move to tour step `number` (a callback); None ends the tour where it is."""
    ctx = shell.context()
    if ctx is None:
        return
    if number is None:
        if TOUR_PARAM in st.query_params:
            del st.query_params[TOUR_PARAM]
        return
    step = steps_for(ctx.role)[number - 1]
    page, own = _resolve(step, ctx.filters.dataset, ctx.tier)
    params = {"lang": [ctx.lang], **ctx.filters.to_params(), **own, TOUR_PARAM: [str(number)]}
    if present.is_on():
        params[PRESENT_PARAM] = ["1"]
    shell.go_to(page, params)


def start_button(lang: str) -> None:
    """The tour's entry, on every page (the router draws it in the sidebar)."""
    st.sidebar.button(t("tour.start", lang), key="tour_start", on_click=_open, args=(restart(),),
                      icon=":material/tour:", help=t("tour.start_help", lang), width="stretch")


def current(role: str | None) -> int | None:
    return step_number(st.query_params.get(TOUR_PARAM), role)


def panel(ctx, number: int) -> None:
    """The tour's panel for step `number`, and the pointer at what it explains."""
    lang, steps = ctx.lang, steps_for(ctx.role)
    step = steps[number - 1]
    selector = TARGETS[step.target]
    st.html(f"<style>{selector} {{ outline: 4px solid {HIGHLIGHT} !important; outline-offset: 4px;"
            f" border-radius: 6px; }} {_STICKY}</style>")
    with st.container(border=True, key="tour_panel"):
        st.caption(t("tour.label", lang, number=number, total=len(steps)))
        st.markdown(f"**{t(f'tour.{step.id}.title', lang)}**")
        st.markdown(t(f"tour.{step.id}.text", lang))
        following = advance(number, ctx.role)
        cols = st.columns(4)
        cols[0].button(t("tour.back", lang), key="tour_back", on_click=_open, args=(back(number),),
                       disabled=number == 1, icon=":material/arrow_back:", width="stretch")
        cols[1].button(t("tour.next", lang) if following else t("tour.finish", lang), key="tour_next",
                       on_click=_open, args=(following,), type="primary", width="stretch",
                       icon=":material/arrow_forward:" if following else ":material/check:")
        cols[2].button(t("tour.skip", lang), key="tour_skip", on_click=_open, args=(None,),
                       icon=":material/close:", width="stretch")
        cols[3].button(t("tour.restart", lang), key="tour_restart", on_click=_open, args=(restart(),),
                       icon=":material/restart_alt:", width="stretch")
    _POINTER(key="tour_pointer", data={"selector": selector, "step": f"{step.id}:{number}"})
