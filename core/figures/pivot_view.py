"""A crosstab (core.query.pivot.Pivot) as the builder shows it: a table with labels in the language and
totals, its downloadable twin, and a chart (heatmap, stacked or grouped bars).

Everything here reads the protected figures of the Pivot and nothing else: a suppressed count is "<10"
in the table and no value in the chart (drawn as a grey cell or no bar, never as a zero).
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from core.data.engine import load_codebook
from core.figures.charts import channels, finish, inline, narrow, one_cell
from core.figures.text import count_text, share_text
from core.i18n import fmt_decimal, fmt_int, t
from core.query.pivot import COUNT_MEASURES, NUMBER_MEASURES, Pivot

SEP = " · "
MAX_CHART_CELLS = 600


def _key(frame: pd.DataFrame, names: tuple[str, ...]) -> list[tuple]:
    return list(zip(*(frame[n] for n in names))) if names else [()] * len(frame)


def _ordered(dataset: str, names: tuple[str, ...], keys) -> list[tuple]:
    """Keys in the codebook's order of each field's answers (others, such as countries, by code), so that
    a table has the same lines and columns in every language and whatever order a query returned."""
    codebook = load_codebook(dataset)
    rank = [{code: i for i, code in enumerate(codebook[n].codes)} for n in names]

    def position(key: tuple) -> tuple:
        return tuple((r.get(str(c), len(r)), str(c)) for r, c in zip(rank, key))

    return sorted(keys, key=position)


def _labels(dataset: str, names: tuple[str, ...], key: tuple, lang: str) -> list[str]:
    codebook = load_codebook(dataset)
    return [codebook[n].choice_label(c, lang) for n, c in zip(names, key)]


# A table cell no figures set holds: a group with no answer to a median's or a mean's question (core.query.summary
# leaves it out), or a margin the public rules refused on its own.
NO_ANSWER = "no_answer"


def _absent(pivot: Pivot) -> dict:
    """The record of a cell that is in no figures set. In the public tier it is withheld like a group with
    too few contributors (rule 7: zero is fewer than the minimum, and a refused margin says nothing either);
    researchers see "–", no answer."""
    flag = "too_few_contributors" if pivot.tier == "public" else NO_ANSWER
    return {"count": pd.NA, "suppressed": pivot.tier == "public", "value": float("nan"), "flag": flag}


def cell_text(row, pivot: Pivot, lang: str) -> str:
    """A figure as the table writes it: a count or "<10", a percentage or why it is withheld, a
    median or mean or "withheld", "–" where no one answered (researchers)."""
    if row["flag"] == NO_ANSWER:
        return "–"
    if pivot.measure == "count" and row["flag"] not in ("over_band", "under_band"):
        return count_text(row["count"], bool(row["suppressed"]), lang)
    if pivot.measure in COUNT_MEASURES:  # a share, or a count withheld by rule 5's band
        return share_text(row["value"], row["flag"], lang)
    if row["flag"] or pd.isna(row["value"]):
        return t("figures.withheld", lang)
    x = float(row["value"])
    return fmt_int(x, lang) if abs(x) >= 100 else fmt_decimal(x, lang, digits=1 if x % 1 else 0)


def cell_number(row, pivot: Pivot):
    """A figure as a download holds it: a number (percentages in percent, 1 decimal), else the text
    saying why it is withheld."""
    if pd.isna(row["value"]) or row["flag"]:
        return None
    if pivot.measure == "count":
        return int(row["count"])
    if pivot.measure in COUNT_MEASURES:
        return round(float(row["value"]) * 100, 1)
    return float(row["value"])


def _frame(pivot: Pivot, lang: str, cell) -> pd.DataFrame:
    """The table: one line per combination of the row fields (their labels in columns of their own),
    one column per combination of the column fields, then a Total column and a Total line."""
    codebook = load_codebook(pivot.dataset)
    rows, cols = pivot.rows, pivot.columns
    total = t("crosstab.total", lang)
    frame = pivot.cells.frame
    row_keys = _ordered(pivot.dataset, rows, dict.fromkeys(_key(frame, rows)))
    col_keys = _ordered(pivot.dataset, cols, dict.fromkeys(_key(frame, cols)))
    figures = {(r, c): cell(rec, pivot) for r, c, (_, rec) in zip(_key(frame, rows), _key(frame, cols), frame.iterrows())}
    absent = cell(_absent(pivot), pivot)
    col_names = [SEP.join(_labels(pivot.dataset, cols, c, lang)) for c in col_keys] if cols else \
        [t(f"crosstab.measure.{pivot.measure}", lang)]
    out = {codebook[n].label(lang): [] for n in rows}
    if not rows:
        out[""] = []
    body: dict[str, list] = {name: [] for name in col_names}
    row_totals = {}
    if pivot.row_totals is not None:
        f = pivot.row_totals.frame
        row_totals = {k: cell(rec, pivot) for k, (_, rec) in zip(_key(f, rows), f.iterrows())}
    col_totals = {}
    if pivot.column_totals is not None:
        f = pivot.column_totals.frame
        col_totals = {k: cell(rec, pivot) for k, (_, rec) in zip(_key(f, cols), f.iterrows())}
    grand = cell(pivot.total.frame.iloc[0], pivot) if len(pivot.total.frame) else absent
    with_total_col = bool(cols) and bool(rows)
    totals_col: list = []
    for r in row_keys:
        for name, label in zip(rows, _labels(pivot.dataset, rows, r, lang)):
            out[codebook[name].label(lang)].append(label)
        if not rows:
            out[""].append(t(f"crosstab.measure.{pivot.measure}", lang))
        for c, name in zip(col_keys, col_names):
            body[name].append(figures.get((r, c), absent))
        totals_col.append(row_totals.get(r, absent))
    # The Total line: column totals (or, without row fields, nothing to add).
    if rows:
        for i, name in enumerate(out):
            out[name].append(total if i == 0 else "")
        for c, name in zip(col_keys, col_names):
            body[name].append(col_totals.get(c, absent) if cols else grand)
        totals_col.append(grand)
    out.update(body)
    if with_total_col:
        out[total] = totals_col
    elif not rows:
        out[total] = [grand]
    return pd.DataFrame(out)


def display_table(pivot: Pivot, lang: str) -> pd.DataFrame:
    return _frame(pivot, lang, lambda rec, p: cell_text(rec, p, lang))


def download_table(pivot: Pivot, lang: str) -> pd.DataFrame:
    """The table as shown, figures as numbers, an empty cell where one is withheld or no one answered:
    the same cells in every language, for a program to read (the file's header block says what an empty
    cell is, `empty_note`)."""
    return _frame(pivot, lang, cell_number)


def empty_note(pivot: Pivot, lang: str) -> str:
    """What a withheld figure and a "–" are in this table, for the lines under it and the header block of its
    downloads."""
    from core import disclosure

    if pivot.measure in NUMBER_MEASURES:
        key = "crosstab.empty_number_public" if pivot.tier == "public" else "crosstab.empty_number"
        return t(key, lang, minimum=disclosure.settings().min_contributors)
    if pivot.tier == "public":
        rules = disclosure.settings()
        return t("crosstab.empty_count_public", lang, minimum=rules.min_count, base=rules.min_percentage_base)
    return t("crosstab.empty_count", lang)


def chart_data(pivot: Pivot, lang: str) -> pd.DataFrame:
    """One row per cell: its row and column labels, its value (None where withheld) and its text."""
    frame = pivot.cells.frame
    rows, cols = pivot.rows, pivot.columns
    values = [cell_number(rec, pivot) for _, rec in frame.iterrows()]
    return pd.DataFrame({
        "row": [SEP.join(_labels(pivot.dataset, rows, k, lang)) or t("crosstab.total", lang) for k in _key(frame, rows)],
        "column": [SEP.join(_labels(pivot.dataset, cols, k, lang)) or t(f"crosstab.measure.{pivot.measure}", lang)
                   for k in _key(frame, cols)],
        "value": pd.array(values, dtype="Float64"),
        "text": [cell_text(rec, pivot, lang) for _, rec in frame.iterrows()],
    })


def _no_chart(data: pd.DataFrame) -> str | None:
    if one_cell(data, "row", "column"):
        return "one_cell"
    if len(data) > MAX_CHART_CELLS:
        return "too_big"
    return None


def no_chart(pivot: Pivot, lang: str) -> str | None:
    """Why the table is not drawn as a chart: "one_cell" (nothing to compare), "too_big" (too many
    cells to draw readably), or None (it is drawn)."""
    return _no_chart(chart_data(pivot, lang))


def chart(pivot: Pivot, view: str, lang: str):
    """The table as a heatmap, stacked bars or grouped bars; None when it has nothing to compare (one
    cell) or is too big to draw readably (`no_chart` says which)."""
    data = chart_data(pivot, lang)
    if _no_chart(data):
        return None
    codebook = load_codebook(pivot.dataset)
    row_title = SEP.join(codebook[n].label(lang) for n in pivot.rows) or None
    col_title = SEP.join(codebook[n].label(lang) for n in pivot.columns) or None
    measure = t(f"crosstab.measure.{pivot.measure}", lang)
    row_order = list(dict.fromkeys(data["row"]))
    col_order = list(dict.fromkeys(data["column"]))
    # The measure's name says it is a percentage ("Row %"): no "(%)" after it.
    value_title = measure
    tooltip = [alt.Tooltip("row:N", title=row_title or ""), alt.Tooltip("column:N", title=col_title or ""),
               alt.Tooltip("text:N", title=measure)]
    base = alt.Chart() if view == "heatmap" else alt.Chart(inline(data))  # a layer's data: given to the layer
    if view == "heatmap":
        rect = base.mark_rect().encode(**channels(
            # Column labels on top, every one drawn: a heatmap whose columns are not named is unreadable,
            # and Vega hides labels that overlap. On a narrow screen (a phone) they are cut shorter (the
            # tooltip has them whole) and stand steeper, so that they neither overlap nor run off.
            x=alt.X("column:N", sort=col_order, title=col_title,
                    axis=alt.Axis(orient="top", labelLimit=narrow(70, 200), labelAngle=narrow(-60, -35),
                                  labelAlign="left", labelOverlap=False, titleLimit=narrow(220, 600))),
            y=alt.Y("row:N", sort=row_order, title=row_title,
                    axis=alt.Axis(labelLimit=narrow(90, 260), titleLimit=narrow(200, 500))),
            color=alt.condition("!isValid(datum.value)", alt.value("#e5e7eb"),
                                alt.Color("value:Q", title=value_title, scale=alt.Scale(scheme="blues"),
                                          legend=alt.Legend(orient="bottom", direction="horizontal",
                                                            titleLimit=300, gradientLength=160))),
            tooltip=tooltip))
        top = data["value"].max()
        dark = float(top) * 0.6 if pd.notna(top) else None  # light text on the darker cells
        text_color = (alt.condition(f"isValid(datum.value) && datum.value > {dark}", alt.value("white"),
                                    alt.value("#111827")) if dark else alt.value("#111827"))
        text = base.mark_text(fontSize=11).encode(**channels(
            x=alt.X("column:N", sort=col_order), y=alt.Y("row:N", sort=row_order), text="text:N",
            color=text_color))
        chart_ = alt.layer(rect, text, data=inline(data)).properties(height=alt.Step(30))
    else:
        x = alt.X("value:Q", title=value_title, stack="zero" if view == "stacked" else None)
        encoding = dict(
            x=x, y=alt.Y("row:N", sort=row_order, title=row_title, axis=alt.Axis(labelLimit=narrow(90, 260))),
            # The legend under the bars, its entries in columns: at the right it took the width of the
            # bars on a phone and its long labels were cut.
            color=alt.Color("column:N", sort=col_order, title=col_title,
                            legend=alt.Legend(orient="bottom", direction="vertical", columns=2, labelLimit=narrow(140, 260),
                                              titleLimit=narrow(300, 600))),
            order=alt.Order("order:Q"), tooltip=tooltip)
        if view == "grouped":
            encoding["yOffset"] = alt.YOffset("column:N", sort=col_order)
        chart_ = base.transform_calculate(order=f"indexof({json.dumps(col_order)}, datum.column)").mark_bar().encode(
            **channels(**encoding)).properties(height=alt.Step(13 if view == "grouped" else 26))
    return finish(chart_, lang)
