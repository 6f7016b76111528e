"""The shared filter bar in the sidebar: dataset, period, region and country of interview, nationality,
gender and age band, built from the codebook and offered at the caller's tier's granularity.

The widgets' values live in session state under `f_<parameter>` keys and persist across pages (the
router draws the bar on every page). Before drawing, their values are passed through
core.query.filters.make_state, so a value the current dataset or tier does not have (after a dataset switch,
or a sign-out) is dropped rather than sent to a query.

The public tier chooses one answer per filter and a period that is everything, a year or a quarter
(design.md rule 12): single-choice widgets under keys of their own (`f1_<parameter>`, `f_when`), so
that signing in or out never hands a widget a value of the other kind. Researchers get lists and a
range of quarters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import streamlit as st

from components.shell import LANG_PARAM, STREAMLIT_PARAMS, add_notes, first_run, url_params
from core.data import versions
from core.data.codebook import OTHER, quarter_label
from core.data.engine import dataset_name, load_codebook
from core.i18n import t, tn
from core.query.filters import (
    DATASET_PARAM,
    FILTER_PARAMS,
    FilterState,
    allowed_codes,
    from_params,
    make_state,
    period_bounds,
)
from core.settings import DATASETS

DATASET_KEY, PERIOD_KEY, WHEN_KEY = "f_ds", "f_period", "f_when"
# Small answer lists read better as buttons than as a drop-down.
_PILLS = ("gender", "age")


def _key(param: str) -> str:
    return f"f_{param}"


def _one_key(param: str) -> str:
    """The public tier's single-answer widget of a filter."""
    return f"f1_{param}"


def _sort_key(label: str) -> str:
    # Alphabetical in every language: "Éthiopie" between "Érythrée" and "Gambie", not after "Z".
    return unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().casefold()


def _seed(state: FilterState) -> None:
    """Put a FilterState into the widgets' keys (before they are drawn in this rerun)."""
    s = st.session_state
    quarters = load_codebook(state.dataset).quarters()
    values = {DATASET_KEY: state.dataset, PERIOD_KEY: (state.start or quarters[0], state.end or quarters[-1]),
              WHEN_KEY: state.period_choice()}
    for param, var in FILTER_PARAMS.items():
        values[_key(param)] = list(state.selections.get(var, ()))
        values[_one_key(param)] = next(iter(state.selections.get(var, ())), None)
    for key, value in values.items():
        if s.get(key) != value:  # only changes: a value set here takes over the widget's
            s[key] = value


def _from_widgets(options, public: bool) -> FilterState:
    s = st.session_state
    dataset = s.get(DATASET_KEY) if s.get(DATASET_KEY) in versions.datasets() else DATASETS[0]
    if public:
        start, end = period_bounds(dataset, s.get(WHEN_KEY) or "")
        selections = {var: [s[_one_key(param)]] if s.get(_one_key(param)) else ()
                      for param, var in FILTER_PARAMS.items()}
    else:
        start, end = s.get(PERIOD_KEY) or (None, None)
        selections = {var: s.get(_key(param)) or () for param, var in FILTER_PARAMS.items()}
    state, _ = make_state(dataset, start, end, selections, options)
    return state


def set_filter(variable: str, codes: list[str]) -> None:
    """Narrow a filter of the bar to `codes` (a chart or map click), for the rerun that follows. Call it
    from a widget's callback, which runs before the bar is drawn; codes the tier may not use are dropped
    when the bar reads its widgets."""
    by_variable = {var: param for param, var in FILTER_PARAMS.items()}
    st.session_state[_key(by_variable[variable])] = list(codes)
    st.session_state[_one_key(by_variable[variable])] = codes[0] if codes else None


def _period_label(code: str, lang: str) -> str:
    if not code:
        return t("filters.period_all", lang)
    return code if len(code) == 4 else quarter_label(code, lang)


def _reset() -> None:
    _seed(FilterState(dataset=st.session_state.get(DATASET_KEY, DATASETS[0])))


def dataset_asked() -> str:
    """The dataset this rerun's filter bar will show, before it is drawn (its widget's value, else the
    link's on a first visit, else the first): the router needs it to know the caller's tier of it."""
    chosen = st.session_state.get(DATASET_KEY)
    if chosen is None and first_run():
        chosen = (st.query_params.get_all(DATASET_PARAM) or [None])[-1]
    return chosen if chosen in versions.datasets() else DATASETS[0]


def filter_bar(lang: str, tier: str, ignore: Sequence[str] = ()) -> FilterState:
    """Draw the filter bar in the sidebar and return the filters in force. `ignore`: link parameters
    that pages read themselves."""
    options = allowed_codes(tier)
    public = tier == "public"
    if first_run():
        params = url_params()
        state, dropped = from_params(params, options, ignore=(LANG_PARAM, *STREAMLIT_PARAMS, *ignore))
        add_notes(dropped)
    else:
        state = _from_widgets(options, public)
    _seed(state)
    codebook = load_codebook(state.dataset)
    quarters = codebook.quarters()

    bar = st.sidebar.container(key="filter_bar")  # the guided tour points at it by its key
    bar.subheader(t("filters.title", lang))
    bar.selectbox(t("filters.dataset", lang), versions.datasets(), key=DATASET_KEY,
                  format_func=lambda code: dataset_name(code, lang))
    if public:
        years = [y for y in codebook.years() if any(q.startswith(y) for q in quarters)]
        bar.selectbox(t("filters.period", lang), ["", *years, *quarters], key=WHEN_KEY,
                      format_func=lambda code: _period_label(code, lang), help=t("filters.period_help_public", lang))
    else:
        # The value makes it a range slider; the widget's state (seeded above) decides the range shown.
        bar.select_slider(t("filters.period", lang), quarters, value=(quarters[0], quarters[-1]), key=PERIOD_KEY,
                          format_func=lambda code: quarter_label(code, lang), help=t("filters.period_help", lang))
    for param, var_name in FILTER_PARAMS.items():
        if var_name not in codebook:  # a dataset made from a form that does not ask it
            continue
        var = codebook[var_name]
        codes = list(options(state.dataset, var_name))  # the codebook's order, "Other" last
        if var.type == "country":
            codes.sort(key=lambda c, v=var: (c == OTHER, _sort_key(v.choice_label(c, lang))))
        label, name = var.label(lang), (lambda c, v=var: v.choice_label(c, lang))
        if public and param in _PILLS:
            bar.pills(label, codes, key=_one_key(param), selection_mode="single", format_func=name)
        elif public:
            bar.selectbox(label, codes, key=_one_key(param), index=None, format_func=name,
                          placeholder=t("filters.placeholder_all", lang))
        elif param in _PILLS:
            bar.pills(label, codes, key=_key(param), selection_mode="multi", format_func=name)
        else:
            # No "Select all"/"Select N matches" entry: first in the list, it took the Enter meant for the
            # highlighted answer ("Niger" then Enter chose Niger and Nigeria), and all answers is no filter.
            bar.multiselect(label, codes, key=_key(param), placeholder=t("filters.placeholder_all", lang),
                            format_func=name, select_all=False)
    if state.active():
        bar.caption(tn("filters.active", state.active(), lang))
        bar.button(t("filters.reset", lang), key="f_reset", on_click=_reset, icon=":material/filter_alt_off:")
    return state

