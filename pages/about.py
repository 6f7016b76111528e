"""About and data dictionary: how the data are collected, how the public figures are protected, and a
searchable browser of the chosen dataset's codebook in the chosen language."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.figures import caveats
from components.shell import context
from core import disclosure, settings
from core.data.codebook import Codebook, Variable
from core.data.engine import load_codebook
from core.i18n import t

# Answers listed per question; a longer list is cut (the full list is a filter away).
_LIST_LIMIT = 12


def _choices(var: Variable, lang: str) -> str:
    # Country questions have no answer list of their own: every ISO 3166 country, named through CLDR.
    if var.type == "country":
        return t("about.dictionary.any_country", lang)
    if var.type in ("quarter", "year"):
        return t("about.dictionary.periods", lang)
    labels = [c.label(lang) for c in var.choices]
    if len(labels) > _LIST_LIMIT:
        labels = [*labels[:_LIST_LIMIT], "…"]
    return " · ".join(labels)


def dictionary(codebook: Codebook, lang: str, search: str = "", themes: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per question, in `lang`; `search` matches the question, its name or its answers."""
    theme_labels = {th.id: th.label(lang) for th in codebook.themes}
    rows = []
    for var in codebook.variables.values():
        if themes and var.theme not in themes:
            continue
        row = {
            "question": var.label(lang),
            "name": var.name,
            "theme": theme_labels[var.theme],
            "type": t(f"about.type.{var.type}", lang),
            "answers": _choices(var, lang),
            "public": var.public,
            "sensitive": var.sensitive,
            "asked": var.asked.get(lang, "") if var.asked else "",
        }
        if search:
            haystack = " ".join([row["question"], row["name"], row["answers"],
                                 *(c.label(lang) for c in var.choices)]).casefold()
            if search.casefold() not in haystack:
                continue
        rows.append(row)
    return pd.DataFrame(rows, columns=["question", "name", "theme", "type", "answers", "public", "sensitive", "asked"])


def accessibility(lang: str) -> None:
    """The accessibility statement: what was tested and how, what conforms to WCAG 2.1 AA, what does
    not yet, and how to report a barrier."""
    st.header(t("about.a11y.title", lang))
    st.markdown(t("about.a11y.body", lang))
    st.markdown("\n".join(f"- {t(f'about.a11y.gap.{gap}', lang)}" for gap in ("grid", "map", "menu", "reader")))
    contact = settings.CONTACT
    report = t("about.a11y.report", lang, contact=contact) if contact else t("about.a11y.report_operator", lang)
    st.markdown(report)


def render() -> None:
    ctx = context()
    if ctx is None:
        return
    lang = ctx.lang
    codebook = load_codebook(ctx.filters.dataset)
    rules = disclosure.settings()

    st.title(t("nav.about", lang))
    st.header(t("about.methodology.title", lang))
    st.markdown(t("about.methodology.body", lang))
    caveats(lang, "researcher")  # the sampling caveats; the protection is explained below

    st.header(t("about.protection.title", lang))
    st.markdown(t("about.protection.body", lang, minimum=rules.min_count, population=rules.min_population,
                  variables=rules.max_variables, sensitive=rules.max_variables_sensitive, base=rules.min_percentage_base,
                  contributors=rules.min_contributors, category=rules.min_category_size))

    accessibility(lang)

    st.header(t("about.dictionary.title", lang))
    st.caption(t("about.dictionary.intro", lang, dataset=codebook.title(lang)))
    left, right = st.columns([2, 1])
    search = left.text_input(t("about.dictionary.search", lang), key="dict_search",
                             placeholder=t("about.dictionary.search_placeholder", lang))
    themes = right.multiselect(t("about.dictionary.themes", lang), [th.id for th in codebook.themes],
                               key=f"dict_themes_{codebook.dataset}", placeholder=t("filters.placeholder_all", lang),
                               format_func=lambda th: next(x.label(lang) for x in codebook.themes if x.id == th))
    table = dictionary(codebook, lang, search.strip(), tuple(themes))
    if table.empty:
        st.info(t("about.dictionary.no_match", lang))
        return
    st.caption(t("about.dictionary.count", lang, shown=len(table), total=len(codebook.variables)))
    st.dataframe(
        table, hide_index=True, width="stretch", height=min(36 * (len(table) + 1) + 2, 640),
        column_config={
            "question": st.column_config.TextColumn(t("about.dictionary.question", lang), width="large"),
            "name": st.column_config.TextColumn(t("about.dictionary.name", lang)),
            "theme": st.column_config.TextColumn(t("about.dictionary.theme", lang)),
            "type": st.column_config.TextColumn(t("about.dictionary.type", lang)),
            "answers": st.column_config.TextColumn(t("about.dictionary.answers", lang), width="large"),
            "public": st.column_config.CheckboxColumn(t("about.dictionary.public", lang),
                                                      help=t("about.dictionary.public_help", lang)),
            "sensitive": st.column_config.CheckboxColumn(t("about.dictionary.sensitive", lang),
                                                         help=t("about.dictionary.sensitive_help", lang)),
            "asked": st.column_config.TextColumn(t("about.dictionary.asked", lang)),
        },
    )


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
