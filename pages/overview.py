"""Overview: what the portal and the survey are, the chosen dataset's headline figures as protected
numbers, its coverage by region and year, and how to read the figures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import present
from components.figures import (
    arrow_datasets,
    cached,
    caveats,
    data_version,
    how_to_read,
    refused,
    synthetic_banner,
    table_box,
)
from components.shell import context
from core.data.codebook import OTHER, quarter_label
from core.data.engine import load_codebook
from core.disclosure import TableRefused
from core.figures import charts, coverage
from core.figures.charts import one_cell
from core.figures.text import count_text
from core.i18n import t


def _shown_categories(table: pd.DataFrame, column: str) -> int:
    """How many categories have a figure of their own (not withheld, not the merged "Other")."""
    shown = table[(table[column] != OTHER) & ~table["suppressed"] & (table["count"].fillna(0) > 0)]
    return len(shown)


@st.cache_data(max_entries=1024, show_spinner=False)
def _coverage(version: str, dataset: str, place: str, filters: tuple, tier: str,
              lang: str) -> tuple[pd.DataFrame, str, dict]:
    """The coverage's lines, summary and chart (as its Vega-Lite spec) for the protected crosstab of
    these filters, made once per process for a dataset's loaded version, filters, tier and language, and
    shared by every session: building and checking an Altair chart took a third of an Overview rerun
    (scripts/load). Raises TableRefused as `cached` does (not cached)."""
    table = cached("crosstab", dataset, [place], ["interview_year"], filters=dict(filters), tier=tier)
    codebook = load_codebook(dataset)
    rows = coverage.data(table, codebook, place, lang)
    if one_cell(rows, "region", "year"):
        return rows, "", {}
    return rows, coverage.summary(rows, lang), arrow_datasets(charts.spec(coverage.chart(rows, codebook, place, lang), lang))


def render() -> None:
    ctx = context()
    if ctx is None:
        return
    lang, filters, tier = ctx.lang, ctx.filters, ctx.tier
    dataset = filters.dataset
    codebook = load_codebook(dataset)
    query_filters = filters.query_filters()

    st.title(t("app.title", lang))
    st.markdown(t("overview.intro", lang))
    st.subheader(codebook.title(lang))
    st.markdown(codebook.description(lang))
    synthetic_banner(lang, dataset)

    # A dataset made from a form has only the standard variables its survey asks: what it has is shown.
    places = [(name, key) for name, key in (("country_of_interview", "overview.countries"),
                                            ("nationality", "overview.nationalities")) if name in codebook]
    try:
        respondents = cached("total", dataset, filters=query_filters, tier=tier)
        tables = [cached("crosstab", dataset, [name], filters=query_filters, tier=tier) for name, _ in places]
    except TableRefused as e:
        refused(e, lang, dataset)
    else:
        quarters = filters.quarters()
        cols = st.columns(3)
        cols[0].metric(t("overview.respondents", lang), count_text(respondents, False, lang),
                       help=t("overview.respondents_help", lang))
        for col, (name, key), table in zip(cols[1:], places, tables):
            col.metric(t(key, lang), str(_shown_categories(table, name)), help=t("overview.countries_help", lang))
        st.caption(t("overview.period", lang, start=quarter_label(quarters[0], lang),
                     end=quarter_label(quarters[-1], lang)))

    place = next((p for p in ("region_of_interview", "country_of_interview") if p in codebook), None)
    if place is not None:
        st.subheader(t("overview.coverage", lang))
        try:
            key = tuple(sorted((k, tuple(v)) for k, v in query_filters.items()))
            data, summary, spec = _coverage(data_version(dataset), dataset, place, key, tier, lang)
        except TableRefused as e:
            refused(e, lang, dataset)
        else:
            st.caption(t("overview.coverage_help", lang))
            if one_cell(data, "region", "year"):  # one region, one year (the Returns module): nothing to compare
                st.caption(t("figures.one_cell", lang))
                st.table(pd.DataFrame({codebook[place].label(lang): data["region"],
                                       codebook["interview_year"].label(lang): data["year"],
                                       t("overview.respondents", lang): data["text"]}), hide_index=True)
            else:
                # its one-sentence summary is its text alternative (its aria-label)
                st.vega_lite_chart(spec={**present.chart_spec(spec), "description": summary}, width="stretch")
                st.caption(summary)
                table_box(data.pivot(index="region", columns="year", values="text").rename_axis(
                    index=codebook[place].label(lang), columns=codebook["interview_year"].label(lang)),
                    lang, "coverage", hide_index=False)
            how_to_read(lang, tier, "counts", "coverage")

    st.subheader(t("caveats.title", lang))
    caveats(lang, tier)


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
