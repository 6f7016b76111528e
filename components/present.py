"""Presentation view, for a trainer's projector: `?present=1` (or the switch in the sidebar) hides the
sidebar, enlarges the type and the charts' text, raises the contrast, and puts a story's text beside
its chart (components/story.py); the keys of a presentation clicker (Page Down / Page Up, or the arrow
keys) move through a story's steps.

The view lives in the link, like everything a trainer might want to share: the URL is read on every
run, and the router keeps the parameter on every page.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import streamlit as st

from core.explainer.stories import PRESENT_PARAM
from core.i18n import t

SWITCH_KEY, KEYS_KEY = "present_switch", "present_keys"
# Chart text in presentation view: axis and legend labels and titles, in pixels; marks' own text
# (bar labels) is scaled by TEXT_SCALE, and rows of bars by ROW_SCALE so that larger labels still fit.
LABEL_SIZE, TITLE_SIZE, TEXT_SCALE, ROW_SCALE = 17, 19, 1.5, 1.45
INK = "#000000"

_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 1.2rem 2.5rem 3rem !important; }
[data-testid="stMain"] { color: #000; background: #fff; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 1.3rem !important; line-height: 1.45; }
[data-testid="stMain"] [data-testid="stCaptionContainer"], [data-testid="stMain"] [data-testid="stCaptionContainer"] *
  { color: #1a1a1a !important; opacity: 1 !important; }
[data-testid="stMain"] h1 { font-size: 3rem !important; color: #000; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 2.1rem !important; color: #000; }
[data-testid="stMain"] a { color: #0b3d91 !important; text-decoration: underline; }
[data-testid="stMain"] button { font-size: 1.2rem !important; }
.st-key-story_text { position: sticky; top: 1rem; border-left: 6px solid #0b3d91; padding-left: 1rem; }
.st-key-story_text p { font-size: 1.55rem !important; }
</style>
"""

_JS = """
export default function(component) {
  const { setTriggerValue } = component;
  // One listener per page, replaced on every run (the trigger function belongs to the run).
  if (window.__portalPresentKeys) document.removeEventListener('keydown', window.__portalPresentKeys);
  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const el = e.target;
    // Keys typed into a field, a list or a slider are theirs, not the slides'.
    if (el && el.closest && el.closest('input, textarea, select, [contenteditable="true"], [role="slider"], [role="listbox"], [role="combobox"]')) return;
    let step = null;
    if (e.key === 'ArrowRight' || e.key === 'PageDown') step = 'next';
    else if (e.key === 'ArrowLeft' || e.key === 'PageUp') step = 'previous';
    if (!step) return;
    e.preventDefault();
    setTriggerValue('step', step);
  };
  window.__portalPresentKeys = onKey;
  document.addEventListener('keydown', onKey);
  return () => {
    document.removeEventListener('keydown', onKey);
    if (window.__portalPresentKeys === onKey) window.__portalPresentKeys = null;
  };
}
"""

_KEYS = st.components.v2.component("portal_present_keys", html="<span hidden></span>", js=_JS)


def is_on() -> bool:
    return st.query_params.get(PRESENT_PARAM) == "1"


def _switched() -> None:
    if st.session_state[SWITCH_KEY]:
        st.query_params[PRESENT_PARAM] = "1"
    elif PRESENT_PARAM in st.query_params:
        del st.query_params[PRESENT_PARAM]


def _leave() -> None:
    if PRESENT_PARAM in st.query_params:
        del st.query_params[PRESENT_PARAM]


def switch(lang: str) -> None:
    """The sidebar's switch into presentation view (the sidebar is hidden in it: `leave_button` is
    the way back)."""
    st.session_state[SWITCH_KEY] = is_on()
    st.sidebar.toggle(t("present.switch", lang), key=SWITCH_KEY, on_change=_switched,
                      help=t("present.switch_help", lang))


def apply(lang: str) -> bool:
    """In presentation view, restyle the page and offer the way out; returns whether it is on."""
    if not is_on():
        return False
    st.html(_CSS)
    st.button(t("present.leave", lang), key="present_leave", on_click=_leave, icon=":material/close_fullscreen:")
    return True


def keys(on_step: Callable[[str], None]) -> None:
    """Listen to the presentation keys: `on_step("next")` or `on_step("previous")` runs (as a callback)
    when one is pressed."""

    def changed() -> None:
        value = st.session_state.get(KEYS_KEY)
        step = value.get("step") if hasattr(value, "get") else getattr(value, "step", None)
        if step in ("next", "previous"):
            on_step(step)

    _KEYS(key=KEYS_KEY, on_step_change=changed)


def _scale_marks(node) -> None:
    """Larger text marks and taller rows of bars, everywhere in a Vega-Lite spec."""
    if isinstance(node, dict):
        mark = node.get("mark")
        if isinstance(mark, dict) and isinstance(mark.get("fontSize"), int | float):
            mark["fontSize"] = round(mark["fontSize"] * TEXT_SCALE)
        if isinstance(mark, dict) and mark.get("type") == "text":
            mark.setdefault("fontSize", round(11 * TEXT_SCALE))
        height = node.get("height")
        if isinstance(height, dict) and isinstance(height.get("step"), int | float):
            height["step"] = round(height["step"] * ROW_SCALE)
        for value in node.values():
            _scale_marks(value)
    elif isinstance(node, list):
        for value in node:
            _scale_marks(value)


def chart_spec(spec: dict) -> dict:
    """A chart's Vega-Lite spec as this run shows it: unchanged, or in presentation view with larger,
    black text (its data untouched)."""
    if not is_on():
        return spec
    out = copy.deepcopy(spec)
    _scale_marks(out)
    config = out.setdefault("config", {})
    text = {"labelFontSize": LABEL_SIZE, "titleFontSize": TITLE_SIZE, "labelColor": INK, "titleColor": INK}
    config["axis"] = {**config.get("axis", {}), **text, "domainColor": INK, "tickColor": INK}
    config["legend"] = {**config.get("legend", {}), **text, "labelLimit": 400}
    config["header"] = {**config.get("header", {}), "labelFontSize": LABEL_SIZE, "titleFontSize": TITLE_SIZE,
                        "labelColor": INK, "titleColor": INK}
    config["title"] = {**config.get("title", {}), "fontSize": TITLE_SIZE + 3, "color": INK}
    return out


def altair_chart(chart):
    """An Altair chart as this run shows it: in presentation view, with larger, black axis and legend
    text (its marks' own text keeps its size)."""
    if not is_on():
        return chart
    text = {"labelFontSize": LABEL_SIZE, "titleFontSize": TITLE_SIZE, "labelColor": INK, "titleColor": INK}
    return chart.configure_axis(**text).configure_legend(**text)
