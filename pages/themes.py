"""Theme pages: one per theme of the chosen dataset's codebook (Profiles, Drivers, The journey... for
the core survey; the Covid-19 and Returns modules' own themes), each a column of charts, one per
question of the theme, with a "break down by" choice for the whole page. A question or a theme added
to a codebook shows up here without new code.

The router registers these pages from the codebook (`pages()`): the same function draws every theme.
"""

from __future__ import annotations

import functools

import streamlit as st

from components.figures import caveats, synthetic_banner
from components.question import question
from components.shell import context, put_in_url, seed_from_url
from core.data.codebook import breakdowns, questions
from core.data.engine import get_engine, load_codebook
from core.figures.question import PYRAMID, View, has_pyramid
from core.i18n import t, tn
from core.pages import THEME_ICON, THEME_PARAMS

BY_KEY = "theme_by"
Q_KEY = "theme_q"  # one question of the page (?q=): a link to a single chart
NO_BREAKDOWN = ALL_QUESTIONS = ""
BY_PARAM, Q_PARAM = THEME_PARAMS


def pages(dataset: str, lang: str) -> list[st.Page]:
    """One page per theme of `dataset`, its URL path the theme's id."""
    return [st.Page(functools.partial(render_theme, theme.id), title=theme.label(lang), icon=THEME_ICON,
                    url_path=theme.id) for theme in load_codebook(dataset).themes]


def _breakdown_picker(codebook, lang: str, tier: str) -> str:
    """The page's "break down by" choice, kept across theme pages and in the link (?by=)."""
    options = [NO_BREAKDOWN, *breakdowns(codebook, tier)]
    seed_from_url(BY_PARAM, BY_KEY, options, lang)
    if st.session_state.get(BY_KEY) not in options:  # after a dataset switch or a sign-out
        st.session_state[BY_KEY] = NO_BREAKDOWN
    by = st.selectbox(t("themes.by", lang), options, key=BY_KEY, help=t("themes.by_help", lang),
                      format_func=lambda name: codebook[name].label(lang) if name else t("themes.by_none", lang))
    put_in_url(BY_PARAM, by, NO_BREAKDOWN)
    return by


def _question_picker(shown, lang: str, where) -> str:
    """The page's "question" choice: every question of the theme, or one (?q=), to show or share one
    chart alone."""
    options = [ALL_QUESTIONS, *(v.name for v in shown)]
    seed_from_url(Q_PARAM, Q_KEY, options, lang)
    if st.session_state.get(Q_KEY) not in options:  # another theme's question, a dataset switch
        st.session_state[Q_KEY] = ALL_QUESTIONS
    labels = {v.name: v.label(lang) for v in shown}
    chosen = where.selectbox(t("themes.question", lang), options, key=Q_KEY, help=t("themes.question_help", lang),
                             format_func=lambda name: labels[name] if name else t("themes.question_all", lang))
    put_in_url(Q_PARAM, chosen, ALL_QUESTIONS)
    return chosen


def _show_all() -> None:
    st.session_state[Q_KEY] = ALL_QUESTIONS


def render_theme(theme_id: str) -> None:
    ctx = context()
    if ctx is None:
        return
    lang, dataset = ctx.lang, ctx.filters.dataset
    codebook = load_codebook(dataset)
    theme = next(th for th in codebook.themes if th.id == theme_id)
    shown = questions(codebook, theme_id, ctx.tier)

    st.title(theme.label(lang))
    st.caption(f"{codebook.title(lang)} · {tn('themes.questions', len(shown), lang)}")
    synthetic_banner(lang, dataset)
    left, right = st.columns(2)
    with left:
        by = _breakdown_picker(codebook, lang, ctx.tier)
    focus = _question_picker(shown, lang, right)
    by_var = codebook[by] if by else None
    synthetic = get_engine().dataset(dataset).synthetic

    if not shown:
        st.info(t("themes.empty", lang))
    view = View(lang, ctx.tier, ctx.filters)
    if focus:
        shown = [v for v in shown if v.name == focus]
    elif has_pyramid(codebook, theme_id, ctx.tier):
        question(None, None, view, f"q_{dataset}_{theme_id}_{PYRAMID}", synthetic)
    for var in shown:
        question(var, by_var, view, f"q_{dataset}_{theme_id}_{var.name}", synthetic)
    if focus:
        st.button(t("themes.question_show_all", lang), key="theme_show_all", on_click=_show_all,
                  icon=":material/unfold_more:")

    st.subheader(t("caveats.title", lang))
    caveats(lang, ctx.tier)


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
