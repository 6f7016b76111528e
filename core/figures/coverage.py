"""The Overview's coverage: respondents by region (or country) and year of interview, from the protected
crosstab of the two, as a heatmap with its one-sentence summary. No Streamlit: pages/overview.py caches
and draws it.

The rows carry labels, the protected count (a withheld count is sent as nothing, never as its value) and
the count as the page writes it ("<10"). Regions where nobody was interviewed in the dataset are left out,
not drawn as rows of zeros.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.data.codebook import Codebook
from core.figures import charts
from core.figures.text import count_text
from core.i18n import t

WITHHELD = "#d1d5db"  # a withheld cell's grey: apart from the lightest blue of a count, under its dark text


def data(table: pd.DataFrame, codebook: Codebook, place: str, lang: str) -> pd.DataFrame:
    """One line per region (or country) and year: labels, the protected count and its text."""
    region = codebook[place]
    rows = pd.DataFrame({
        "region": [region.choice_label(c, lang) for c in table[place]],
        "year": table["interview_year"].astype(str),
        "count": table["count"].where(~table["suppressed"]).astype("Float64"),
        "text": [count_text(n, s, lang) for n, s in zip(table["count"], table["suppressed"])],
    })
    surveyed = (table["count"].fillna(0) > 0) | table["suppressed"]
    return rows[table[place].isin(table.loc[surveyed, place]).to_numpy()]


def chart(rows: pd.DataFrame, codebook: Codebook, place: str, lang: str) -> alt.LayerChart:
    """The heatmap of `data`'s rows: a cell per region and year, its count written in it on a desktop.
    Counts on the legend are in the language's format (charts.finish)."""
    region = codebook[place]
    year_title = codebook["interview_year"].label(lang)
    dark = float(rows["count"].max() or 0) * 0.6  # white text on the darkest cells
    title_count = t("overview.respondents", lang)
    order = [region.choice_label(c, lang) for c in region.codes] if region.codes else list(rows["region"].unique())
    base = alt.Chart().encode(**charts.channels(
        x=alt.X("year:O", title=year_title, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("region:N", title=None, sort=order, axis=alt.Axis(labelLimit=charts.narrow(90, 300))),
        tooltip=[alt.Tooltip("region:N", title=region.label(lang)), alt.Tooltip("year:O", title=year_title),
                 alt.Tooltip("text:N", title=title_count)],
    ))
    # Every cell's ground, grey: what shows of a withheld ("<10") cell, which has no count to colour it. It
    # was left blank, and on a phone, where no number is written, it looked like no cell at all.
    ground = base.mark_rect(stroke="white", color=WITHHELD)
    cells = base.mark_rect(stroke="white").encode(**charts.channels(
        # the legend under the cells, where it takes no width from them on a phone
        color=alt.Color("count:Q", title=title_count, scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format=",d", orient="bottom", direction="horizontal", gradientLength=160)),
    ))
    # On a phone the cells are too narrow for their numbers: none is written (the table below has them).
    labels = base.mark_text(fontSize=charts.narrow(0, 11)).encode(**charts.channels(
        text="text:N",
        color=alt.condition(alt.datum.count > dark, alt.value("white"), alt.value("#1f2937")),
    ))
    return alt.layer(ground, cells, labels, data=charts.inline(rows)).properties(height=alt.Step(34))


def summary(rows: pd.DataFrame, lang: str) -> str:
    """The coverage in one sentence: its largest shown cell (the chart's text alternative)."""
    shown = rows[rows["count"].notna()]
    if shown.empty:
        return t("figures.summary.withheld", lang)
    peak = shown.loc[shown["count"].astype(float).idxmax()]
    return t("overview.coverage_summary", lang, region=peak["region"], year=peak["year"], count=peak["text"])
