"""Microdata (researchers and admins): respondents' rows under the shared filters, one page at a time,
fetched on the server page by page. The column chooser, downloads and audit trail come next."""

from __future__ import annotations

import math

import streamlit as st

from components.shell import context
from core.codebook import STANDARD_VARIABLES, load_codebook
from core.i18n import fmt_int, t
from core.query import microdata, total

PAGE_ROWS = 50


def render() -> None:
    ctx = context("microdata")  # the router leaves this page out for other roles; checked again here
    if ctx is None:
        return
    lang = ctx.lang
    dataset = ctx.filters.dataset
    codebook = load_codebook(dataset)
    filters = ctx.filters.query_filters()
    st.title(t("nav.microdata", lang))
    n = total(dataset, filters=filters, tier=ctx.tier)
    st.caption(t("microdata.count", lang, n=n, dataset=codebook.title(lang)))
    if n == 0:
        st.info(t("filters.no_match", lang))
        return
    pages = math.ceil(n / PAGE_ROWS)
    page = st.columns([1, 4])[0].number_input(t("microdata.page", lang, pages=fmt_int(pages, lang)), min_value=1,
                                             max_value=pages, key=f"md_page_{dataset}")
    columns = [v for v in STANDARD_VARIABLES if v in codebook]
    rows = microdata(dataset, columns, filters=filters, tier=ctx.tier, limit=PAGE_ROWS,
                     offset=(int(page) - 1) * PAGE_ROWS)
    for name in columns:
        var = codebook[name]
        if var.categorical:
            rows[name] = rows[name].map(lambda c, v=var: None if c is None or c != c else v.choice_label(c, lang))
    # A page of rows shown whole: the table scrolls sideways, not down within the page.
    st.dataframe(rows, hide_index=True, width="stretch", height=36 * (len(rows) + 1) + 2,
                 column_config={name: st.column_config.DateColumn(codebook[name].label(lang))
                                if codebook[name].type == "date" else st.column_config.Column(codebook[name].label(lang))
                                for name in columns})


if __name__ == "__main__":  # run as a script, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router()
