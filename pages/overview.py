"""Overview: what the portal and the survey are, the chosen dataset's headline figures as protected
numbers, its coverage by region and year, and how to read the figures."""

from __future__ import annotations

import altair as alt
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
)
from components.shell import context
from core.data.codebook import OTHER, quarter_label
from core.data.engine import load_codebook
from core.disclosure import TableRefused
from core.figures.charts import channels, narrow, one_cell
from core.figures.text import count_text
from core.i18n import t


def _shown_categories(table: pd.DataFrame, column: str) -> int:
    """How many categories have a figure of their own (not withheld, not the merged "Other")."""
    shown = table[(table[column] != OTHER) & ~table["suppressed"] & (table["count"].fillna(0) > 0)]
    return len(shown)


def _coverage_data(table: pd.DataFrame, lang: str, dataset: str, place: str) -> pd.DataFrame:
    """One line per region (or country) and year: labels, the protected count and its text."""
    codebook = load_codebook(dataset)
    region = codebook[place]
    data = pd.DataFrame({
        "region": [region.choice_label(c, lang) for c in table[place]],
        "year": table["interview_year"].astype(str),
        # a withheld count is sent as nothing, never as its value
        "count": table["count"].where(~table["suppressed"]).astype("Float64"),
        "text": [count_text(n, s, lang) for n, s in zip(table["count"], table["suppressed"])],
    })
    # Regions where nobody was interviewed in this dataset are left out, not drawn as rows of zeros.
    surveyed = (table["count"].fillna(0) > 0) | table["suppressed"]
    return data[table[place].isin(table.loc[surveyed, place]).to_numpy()]


def _coverage_chart(table: pd.DataFrame, lang: str, dataset: str, place: str = "region_of_interview") -> alt.LayerChart:
    """Respondents by region (or country) and year of interview: a heatmap of protected counts."""
    codebook = load_codebook(dataset)
    region = codebook[place]
    data = _coverage_data(table, lang, dataset, place)
    dark = float(data["count"].max() or 0) * 0.6  # white text on the darkest cells
    title_count = t("overview.respondents", lang)
    base = alt.Chart(data).encode(**channels(
        x=alt.X("year:O", title=codebook["interview_year"].label(lang), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("region:N", title=None, sort=[region.choice_label(c, lang) for c in (region.codes or
                                                                                  list(table[place].unique()))],
                axis=alt.Axis(labelLimit=narrow(90, 300))),
    ))
    cells = base.mark_rect(stroke="white").encode(**channels(
        # "d": no thousands separator rather than Vega's English one in every language; the legend under
        # the cells, where it takes no width from them on a phone
        color=alt.Color("count:Q", title=title_count, scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format="d", orient="bottom", direction="horizontal", gradientLength=160)),
        tooltip=[alt.Tooltip("region:N", title=region.label(lang)),
                 alt.Tooltip("year:O", title=codebook["interview_year"].label(lang)),
                 alt.Tooltip("text:N", title=title_count)],
    ))
    # On a phone the cells are too narrow for their numbers: none is written (the table below has them).
    labels = base.mark_text(fontSize=narrow(0, 11)).encode(**channels(
        text="text:N",
        color=alt.condition(alt.datum.count > dark, alt.value("white"), alt.value("#1f2937")),
    ))
    return (cells + labels).properties(height=alt.Step(34))


def _coverage_summary(data: pd.DataFrame, lang: str) -> str:
    """The coverage chart in one sentence: its largest shown cell."""
    shown = data[data["count"].notna()]
    if shown.empty:
        return t("figures.summary.withheld", lang)
    peak = shown.loc[shown["count"].astype(float).idxmax()]
    return t("overview.coverage_summary", lang, region=peak["region"], year=peak["year"], count=peak["text"])


@st.cache_data(max_entries=1024, show_spinner=False)
def _coverage(version: str, dataset: str, place: str, filters: tuple, tier: str,
              lang: str) -> tuple[pd.DataFrame, str, dict]:
    """The coverage's lines, summary and chart (as its Vega-Lite spec) for the protected crosstab of
    these filters, made once per process for a dataset's loaded version, filters, tier and language, and
    shared by every session: building and checking an Altair chart took a third of an Overview rerun
    (scripts/load). Raises TableRefused as `cached` does (not cached)."""
    table = cached("crosstab", dataset, [place], ["interview_year"], filters=dict(filters), tier=tier)
    data = _coverage_data(table, lang, dataset, place)
    if one_cell(data, "region", "year"):
        return data, "", {}
    return data, _coverage_summary(data, lang), arrow_datasets(_coverage_chart(table, lang, dataset, place).to_dict())


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
                with st.expander(t("figures.table", lang), icon=":material/table:"):
                    st.dataframe(data.pivot(index="region", columns="year", values="text").rename_axis(
                        index=codebook[place].label(lang), columns=codebook["interview_year"].label(lang)),
                        width="stretch")
            how_to_read(lang, tier, "counts", "coverage")

    st.subheader(t("caveats.title", lang))
    caveats(lang, tier)


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
