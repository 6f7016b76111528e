"""The figure builders (core/figures): a question's figure from its protected query, with no Streamlit.

`build` takes the query function as an argument: here the plain one (core.query, no cache), a recording
one, or a fixed result that stands for what the public tier returns in a rare case.
"""

from __future__ import annotations

import functools
import math
import re

import altair as alt
import pandas as pd
import pytest

from core import disclosure
from core.data.engine import load_codebook
from core.figures import charts, question, text
from core.figures.pivot_view import chart as pivot_chart
from core.figures.pivot_view import chart_data, display_table, download_table, empty_note
from core.i18n import t
from core.query import pivot, shares
from core.query.filters import FilterState

BOOK = load_codebook("core")
PUBLIC = question.View("en", "public", FilterState())


def spec_rows(figure: question.Figure) -> list[dict]:
    spec = charts.finish(figure.chart, "en").to_dict()
    return [row for values in spec["datasets"].values() for row in values]


class Recorder:
    """The plain query function, remembering what it was asked."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __call__(self, fn, dataset, *args, filters=None, tier="public"):
        self.calls.append((fn, dataset, args, filters, tier))
        return question.ask_directly(fn, dataset, *args, filters=filters, tier=tier)


@pytest.mark.parametrize("name, kind", [("used_smuggler", "share"), ("drivers", "share"), ("nationality", "share"),
                                        ("interview_quarter", "count"), ("amount_paid_usd", "number")])
def test_every_kind_of_question_makes_a_chart_and_a_table_through_the_function_given(name, kind):
    ask = Recorder()
    figure = question.build(BOOK[name], None, PUBLIC, ask=ask)
    assert isinstance(figure.chart, alt.TopLevelMixin)
    assert figure.question == BOOK[name].label("en") and len(figure.table)
    assert ask.calls and {c[4] for c in ask.calls} == {"public"}  # the tier goes through to every query
    assert {c[1] for c in ask.calls} == {"core"}
    assert question.how_to_read_kind(figure, BOOK[name]) == {"share": "shares", "count": "counts",
                                                            "number": "number"}[kind]


def test_a_share_figure_holds_the_public_tiers_figures_and_says_what_is_withheld():
    figure = question.build(BOOK["used_smuggler"], None, PUBLIC)
    public = shares("core", "used_smuggler")
    rows = {r["code"]: r for r in spec_rows(figure)}
    for _, row in public.iterrows():
        if pd.notna(row["share"]):
            assert rows[row["used_smuggler"]]["share"] == pytest.approx(float(row["share"]))
            assert rows[row["used_smuggler"]]["text"] == text.share_text(row["share"], row["flag"], "en")
    assert figure.base == public.attrs["base"]


def test_a_breakdown_by_a_few_groups_draws_grouped_bars_and_a_quarter_a_trend():
    grouped = question.build(BOOK["used_smuggler"], BOOK["gender"], PUBLIC)
    assert {r["group_code"] for r in spec_rows(grouped)} <= set(BOOK["gender"].codes) | {"_other"}
    trend = question.build(BOOK["used_smuggler"], BOOK["interview_quarter"], PUBLIC)
    spec = charts.finish(trend.chart, "en").to_dict()
    assert spec["mark"]["type"] == "line"
    # Its plot keeps its height under its legend (the box's width only is fitted); a file has no box.
    assert spec["autosize"]["type"] == "fit-x" and "autosize" not in charts.for_export(spec, title="t", subtitle=[])


def test_a_breakdown_by_the_question_itself_is_no_breakdown():
    same = question.build(BOOK["gender"], BOOK["gender"], PUBLIC)
    alone = question.build(BOOK["gender"], None, PUBLIC)
    assert same.table.equals(alone.table)


def test_the_pyramid_sets_the_first_two_genders_against_each_other():
    figure = question.build(None, None, PUBLIC)
    assert figure.name == question.PYRAMID
    signs = {r["gender_code"]: r["signed"] for r in spec_rows(figure) if r["signed"]}
    left, right = BOOK["gender"].codes[:2]
    assert signs[left] < 0 < signs[right]


def test_a_banded_share_sends_its_band_not_its_count():
    """A sensitive 100% on a small base is shown as "over 95%" (rule 5): its count, beside its base,
    would give the 100% back, so neither the chart nor the table carries it."""
    protected = pd.DataFrame({
        "used_smuggler": ["yes", "no"], "count": pd.array([40, None], dtype="Int64"),
        "base": pd.array([40, 40], dtype="Int64"), "share": pd.array([None, None], dtype="Float64"),
        "flag": ["over_band", "under_band"], "suppressed": [False, True]})
    protected.attrs["base"] = 40
    figure = question.build(BOOK["used_smuggler"], None, PUBLIC, ask=lambda *args, **kwargs: protected)
    rows = spec_rows(figure)
    assert {r["code"]: r["text"] for r in rows} == {"yes": "over 95%", "no": "under 5%"}
    assert all(r["count"] is None for r in rows)
    assert figure.table[t("charts.col.count", "en")].isna().all()


def test_a_number_summary_withheld_by_rule_7_draws_no_distribution():
    summary = pd.DataFrame({"contributors": pd.array([None], dtype="Int64"), "p25": [None], "median": [None],
                            "p75": [None], "mean": [None], "flag": ["too_few_contributors"]})
    summary.attrs["base"] = 12
    asked = []

    def ask(fn, *args, **kwargs):
        asked.append(fn)
        return summary

    figure = question.build(BOOK["amount_paid_usd"], None, PUBLIC, ask=ask)
    assert asked == ["summary"] and figure.chart is None
    minimum = disclosure.settings().min_contributors
    assert figure.lines == [t("figures.too_few_contributors", "en", minimum=minimum)]


@pytest.mark.parametrize("share, flag, expected", [
    (0.25, "", "25%"), (0.001, "", "<1%"), (None, "suppressed", "<10"), (None, "base_too_small", None),
    (None, "over_band", "over 95%"), (None, "under_band", "under 5%"), (None, "", "–")])
def test_share_text(share, flag, expected):
    shown = text.share_text(share, flag, "en")
    assert shown == expected if expected else shown.startswith(t("charts.base_small", "en", minimum=30)[:8])


def test_count_text_and_filters_in_words():
    assert text.count_text(None, True, "en") == "<10"
    assert text.count_text(1234, False, "fr") == "1\u202f234"
    assert text.filters_text(FilterState(), "en") == t("charts.no_filter", "en")
    words = text.filters_text(FilterState(selections={"gender": ("woman",)}, start="2023Q1", end="2023Q4"), "es")
    assert BOOK["gender"].label("es") in words and "2023" in words


def test_the_caption_names_base_who_was_asked_and_filters():
    figure = question.build(BOOK["used_smuggler"], None, PUBLIC)
    lines = question.caption(figure, BOOK["used_smuggler"], PUBLIC)
    assert lines[0].startswith(t("charts.base", "en", base="")[:4])
    assert lines[-1] == t("charts.filters", "en", filters=t("charts.no_filter", "en"))


@pytest.mark.parametrize("view", ["heatmap", "stacked", "grouped"])
def test_a_public_pivot_view_holds_no_count_under_the_threshold(view):
    layout, _ = pivot.clean(BOOK, "public", ["gender"], ["age_band"], {})
    built = pivot.build("core", layout, "count", "public", shared_filters={"nationality": ["MWI"]})
    data = chart_data(built, "en")
    values = [v for v in data["value"] if pd.notna(v)]
    assert values and min(values) >= 10
    assert "<10" in set(display_table(built, "en").astype(str).to_numpy().ravel())
    assert isinstance(pivot_chart(built, view, "en"), alt.TopLevelMixin)


# --- a median table's empty cells (issue 19) ------------------------------------------------------------------

def _median_table(tier: str, lang: str = "en"):
    """Nationality by country of interview: most pairs have no one who paid a smuggler (researchers) or
    a journey duration (public), so the median's figures sets leave them out."""
    value = "amount_paid_usd" if tier != "public" else "journey_duration_days"
    made, _ = pivot.clean(BOOK, tier, ["nationality"], ["country_of_interview"], {})
    return pivot.build("core", made, "median", tier, value_variable=value)


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_a_median_summary_names_a_highest_and_a_lowest_group_only_when_they_differ(lang):
    """Regression: where every group's median reads the same ("1 200 USD" for men and women paid to
    smugglers), the summary said "highest in Man (1 200 USD), lowest in Man (1 200 USD)"."""
    view = question.View(lang, "public", PUBLIC.filters)
    seen = set()
    for name in ("amount_paid_usd", "total_cost_usd", "journey_duration_days"):
        for by in ("gender", "region_of_interview"):
            figure = question.build(BOOK[name], BOOK[by], view)
            rows = [r for r in charts.finish(figure.chart, lang).to_dict()["datasets"].popitem()[1]
                    if r["median"] is not None]
            texts = {r["text"] for r in rows}
            same = t("figures.summary.medians_same", lang, by=BOOK[by].label(lang), median=next(iter(texts)))
            if len(texts) == 1:
                assert figure.summary == same, figure.summary
            else:
                assert figure.summary != same
            seen.add(len(texts) == 1)
    assert seen == {True, False}  # both cases were met


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
@pytest.mark.parametrize("tier", ["public", "researcher"])
def test_a_median_table_has_no_empty_cell_but_says_why(tier, lang):
    """Regression: a median table showed `None` where a group had no answer. The page now shows "–" for
    researchers (no one answered) and "withheld" in the public tier, where no answer is fewer than the
    minimum like any small group (rule 7: it says no more than "withheld" does)."""
    p = _median_table(tier)
    table = display_table(p, lang)
    cells = table.iloc[:, 1:].to_numpy().ravel()
    assert not any(c is None or (isinstance(c, float) and c != c) for c in cells)
    assert "None" not in map(str, cells) and "nan" not in map(str, cells)
    absent = t("figures.withheld", lang) if tier == "public" else "–"
    assert list(cells).count(absent) > len(cells) / 3
    if tier == "public":
        assert "–" not in cells  # no group is told apart from a withheld one
    note = empty_note(p, lang)
    assert (t("figures.withheld", lang) if tier == "public" else "–") in note


def test_a_median_download_leaves_withheld_and_unanswered_cells_empty():
    for tier in ("public", "researcher"):
        table = download_table(_median_table(tier), "fr")
        body = table.iloc[:, 1:]
        assert body.isna().any().any()  # empty cells in the file
        assert all(isinstance(v, float) for v in body.stack().to_numpy())  # numbers only, no text


# --- charts on a phone: decided in the browser by Vega expressions (charts.narrow) ---------------------------

def browser(expr: str, width: float) -> float:
    """What Vega makes of one of the charts' width expressions (`cond ? a : b`, at most one) for a box or
    window `width` px wide (-1: an export, where there is no window)."""
    env = {"w": width, "clamp": lambda v, lo, hi: max(lo, min(hi, v)), "floor": math.floor}

    def py(s: str) -> str:
        return s.replace("containerSize()[0]", "w").replace("windowSize()[0]", "w").replace("&&", "and")

    if " ? " not in expr:
        return eval(py(expr), env)
    cond, rest = expr.split(" ? ", 1)
    then, other = rest.rsplit(" : ", 1)
    return eval(py(then) if eval(py(cond), env) else py(other), env)


def test_share_bars_give_a_phone_shorter_labels_fewer_ticks_and_a_title_within_the_plot():
    spec = charts.finish(question.build(BOOK["drivers"], None, PUBLIC).chart, "en").to_dict()
    enc = spec["layer"][0]["encoding"]
    labels, x_axis = enc["y"]["axis"]["labelLimit"]["expr"], enc["x"]["axis"]
    assert browser(labels, 358) == charts.PHONE_LABEL_LIMIT < browser(labels, 1100) == charts.LABEL_LIMIT
    assert browser(x_axis["tickCount"]["expr"], 358) == 3 and browser(x_axis["tickCount"]["expr"], 1100) == 5
    assert x_axis["titleLimit"] == {"expr": "width"}  # Vega's plot width


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_a_long_axis_title_is_written_on_lines_a_phone_can_show(lang):
    """A number question's axis title is its wording: cut to the plot's width on one line, a phone showed
    its start and an ellipsis. It is written on lines of TITLE_LINE characters, each still kept within
    the plot."""
    var = BOOK["total_cost_usd"]
    view = question.View(lang, "public", PUBLIC.filters)
    for by in (None, BOOK["gender"]):  # the intervals' histogram, then the quartile ranges
        spec = charts.finish(question.build(var, by, view).chart, lang).to_dict()
        x = spec["layer"][0]["encoding"]["x"] if "layer" in spec else spec["encoding"]["x"]
        title = x["title"]
        lines = title if isinstance(title, list) else [title]
        assert " ".join(lines) == var.label(lang)
        assert all(len(line) <= charts.TITLE_LINE for line in lines) and (len(lines) > 1) == (len(var.label(lang)) > charts.TITLE_LINE)
        assert x["axis"]["titleLimit"] == {"expr": "width"}


def test_a_few_groups_legend_in_a_column_on_a_phone_and_in_a_row_on_a_desktop():
    spec = charts.finish(question.build(BOOK["used_smuggler"], BOOK["gender"], PUBLIC).chart, "en").to_dict()
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert browser(legend["columns"]["expr"], 358) == 1 and browser(legend["columns"]["expr"], 1100) == 0


@functools.cache
def _by_region() -> question.Figure:
    return question.build(BOOK["drivers"], BOOK["region_of_interview"], PUBLIC)  # more regions than GROUPED_MAX


@pytest.mark.parametrize("window, per_row", [(390, 2), (360, 2), (1366, None), (-1, None)])
def test_small_multiples_wrap_on_a_phone_and_keep_one_row_on_a_desktop_and_in_exports(window, per_row):
    figure = _by_region()
    groups = {r["group"] for r in spec_rows(figure)}
    spec = charts.for_export(charts.finish(figure.chart, "en").to_dict(), title="t", subtitle=[]) if window < 0 \
        else charts.finish(figure.chart, "en").to_dict()
    assert len(groups) > charts.GROUPED_MAX and spec["facet"]["row"]["field"] == "frow"
    columns = next(t["calculate"] for t in spec["transform"] if t["as"] == "fcols")
    assert browser(columns, window) == (per_row or len(groups))
    if per_row:  # the labels and the panels of a row fit in the page's column (the window less 2 × 16 px)
        labels = browser(spec["spec"]["layer"][0]["encoding"]["y"]["axis"]["labelLimit"]["expr"], window)
        assert labels + 20 + per_row * (charts.PANEL + charts.PANEL_GAP) <= window - 32


def test_channels_are_what_encode_makes_of_shorthands_values_and_conditions():
    """charts.channels builds each channel's class itself (Altair's encode guesses it by trying the schema's
    definitions): the same spec for every kind of argument the charts pass."""
    pick = alt.selection_point(name=charts.PICK, fields=["code"])
    arguments = dict(
        x="pos:Q", x2="p75:Q", y=alt.value(0), text="text:N",
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
        color=alt.condition("!isValid(datum.value)", alt.value("#e5e7eb"), alt.Color("value:Q", title="n")),
        strokeWidth=alt.condition(alt.datum.share == None, alt.value(1), alt.value(2)),  # noqa: E711
        tooltip=["option:N", alt.Tooltip("text:N", title="Share")], yOffset="group:N")
    made = charts.channels(**arguments)
    assert isinstance(made["text"], alt.Text) and isinstance(made["opacity"], alt.OpacityValue)
    assert isinstance(made["color"], alt.Color) and isinstance(made["y"], alt.YValue)
    chart = alt.Chart(alt.InlineData(values=[{"pos": 1}])).mark_bar()
    assert chart.encode(**made).to_dict()["encoding"] == chart.encode(**arguments).to_dict()["encoding"]


def test_a_summary_lists_answers_as_each_language_punctuates():
    """The chart's one-sentence summary (its text alternative): "A (x); B (y)" in English, with a narrow
    no-break space before each semicolon in French; by group, "g: A (x)" likewise."""
    for by in (None, BOOK["gender"]):
        english = question.build(BOOK["transport_modes"], by, PUBLIC).summary
        french = question.build(BOOK["transport_modes"], by, question.View("fr", "public", FilterState())).summary
        assert "; " in english and "\u202f;" not in english
        assert "\u202f; " in french and " ; " not in french.replace("\u202f; ", "")
        if by is not None:
            assert "\u202f: " in french


def test_a_markdown_table_shows_every_cell_as_written_and_cannot_be_broken_by_a_label():
    # A town's label comes from an uploaded form: bars, a link, markup and a line break stay text in one cell.
    hostile = "Gao | [here](http://x.test) *<b>*\nnext"
    frame = pd.DataFrame({"Town": [hostile, "Agadez"], "Respondents": ["1\u202f234", "<10"],
                          "Share": ["12,5\u00a0%", ""]})
    lines = text.markdown_table(frame).split("\n")
    assert lines[:2] == ["| Town | Respondents | Share |", "|:--|--:|--:|"]  # names left, numbers right
    assert len(lines) == 4  # a header, its rule, a line per row: the line break did not end the table
    unbarred = [re.split(r"(?<!\\)\|", line)[1:-1] for line in lines[2:]]
    cells = [[re.sub(r"\\(.)", r"\1", c).strip() for c in row] for row in unbarred]
    assert cells == [["Gao | [here](http://x.test) *<b>* next", "1\u202f234", "12,5\u00a0%"], ["Agadez", "<10", ""]]
    assert "\u202f" in lines[2] and "\u00a0" in lines[2]  # French numbers keep their no-break spaces
    assert not re.search(r"(?<!\\)[\[\]()*<>]", lines[2])  # no mark left that Markdown would read
