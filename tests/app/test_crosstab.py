"""The crosstab builder (pages/crosstab.py): a layout sent by the field picker gives the expected table
in each tier; what the picker may send is checked; refusals say why; the layout round-trips through
the link; what reaches a public browser (table, chart, download) holds no count under the threshold."""

from __future__ import annotations

import csv
import io
import json

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from core import disclosure, query
from core.data.engine import load_codebook
from core.figures import pivot_view
from core.i18n import refusal_message, t
from core.query import export, pivot
from tests.app.conftest import as_role, link, open_app, open_downloads, texts
from tests.app.test_theme_pages import chart_rows, charts

MIN = disclosure.settings().min_count
CB = load_codebook("core")


def open_builder(query_: dict | None = None, role: str | None = None):
    at = as_role(role, query_, page="crosstab")
    assert not at.exception, at.exception
    return at


def the_picker(at):
    """The field picker among the page's components (the skip link and the scroll helper are others)."""
    [picker] = [c for c in at.get("bidi_component") if c.proto.component_name.endswith("portal_field_picker")]
    return picker


def send(at, rows=(), cols=(), filters=()):
    """What the browser sends when the user drops a field: the picker's state, names only."""
    picker = the_picker(at)
    states = at._tree.get_widget_states()
    layout = {"rows": list(rows), "cols": list(cols), "filters": list(filters), "seq": len(states.widgets)}
    states.widgets.append(WidgetState(id=picker.proto.id, json_value=json.dumps({"layout": layout})))
    at._run(states)
    assert not at.exception, at.exception
    return at


def picker_data(at) -> str:
    """What the page sends the picker (its field list and layout), as text."""
    picker = the_picker(at)
    return picker.proto.json

def shown(at):
    [table] = at.dataframe
    return table.value


def expected(tier: str, rows, cols, measure="count", filters=None, lang="en", shared=None):
    made, _ = pivot.clean(CB, tier, rows, cols, filters or {})
    return pivot_view.display_table(pivot.build("core", made, measure, tier, shared_filters=shared), lang)


# A narrow public view with withheld cells: Malawians (gender "other" is withheld from the public
# everywhere, so a whole-data gender table has no small cell left).
NARROW = {"nat": "MWI"}


def numbers_in(values) -> list[int]:
    out = []
    for v in values:
        text = str(v).replace(",", "").replace("\u202f", "").replace("\xa0", "")
        if text.isdigit():
            out.append(int(text))
    return out


# --- a layout from the picker gives the table, in each tier ------------------------------------------

def test_public_layout_gives_the_protected_table():
    at = send(open_builder(NARROW), ["gender"], ["age_band"])
    table = shown(at)
    assert table.equals(expected("public", ["gender"], ["age_band"], shared={"nationality": ["MWI"]}))
    assert list(table.columns) == ["Gender", "18-24", "25-34", "35-44", "45-54", "55 and over", "Total"]
    assert list(table["Gender"]) == ["Man", "Woman", "Total"]
    cells = table.drop(columns="Gender").to_numpy().ravel()
    assert f"<{MIN}" in cells  # older Malawians: withheld
    assert min(numbers_in(cells)) >= MIN
    assert at.subheader[0].value == "Gender × Age group — Count"
    assert link(at)["rows"] == ["gender"] and link(at)["cols"] == ["age_band"]


def test_researcher_layout_gives_exact_counts_and_every_question():
    at = send(open_builder(role="researcher"), ["interview_town"], ["gender"])
    table = shown(at)
    assert table.equals(expected("researcher", ["interview_town"], ["gender"]))
    exact = query.crosstab("core", ["interview_town", "gender"], tier="researcher")
    assert f"<{MIN}" not in table.to_numpy().ravel()
    assert sorted(numbers_in(table.iloc[:-1, 1:-1].to_numpy().ravel())) == sorted(int(n) for n in exact["count"])


def test_the_public_picker_cannot_place_what_the_tier_may_not_see():
    at = send(open_builder(), ["interview_town", "<img src=x onerror=alert(1)>", "gender"], ["gender", "age"],
              ["respondent_id", "region_of_interview"])
    assert at.session_state["ct_layout"] == pivot.Layout(("gender",), (), {"region_of_interview": ()})
    assert "interview_town" not in picker_data(at)
    assert link(at)["rows"] == ["gender"] and "cols" not in link(at)


def test_the_public_field_list_holds_public_questions_only():
    at = open_builder()
    public = {v.name for v in pivot.fields(CB, "public")}
    options = set(at.multiselect(key="ct_fb_rows").options)
    assert {CB[n].label("en") for n in public} == options
    assert CB["interview_town"].label("en") not in options
    at = open_builder(role="researcher")
    assert CB["interview_town"].label("en") in at.multiselect(key="ct_fb_rows").options


def test_the_lists_without_dragging_set_the_same_layout():
    at = open_builder()
    at.multiselect(key="ct_fb_rows").set_value(["gender"]).run()
    at.multiselect(key="ct_fb_cols").set_value(["age_band", "gender"]).run()  # gender moves to columns
    assert at.session_state["ct_layout"].rows == ()
    assert at.session_state["ct_layout"].columns == ("age_band", "gender")
    assert not at.exception


def test_filter_categories_narrow_the_table():
    at = send(open_builder(), ["gender"], ["age_band"], ["region_of_interview"])
    at.selectbox(key="ct_cat_region_of_interview").set_value("north_africa").run()  # one answer (rule 12)
    assert not at.exception
    assert shown(at).equals(expected("public", ["gender"], ["age_band"], filters={"region_of_interview": ["north_africa"]}))
    assert "Region of interview: North Africa" in texts(at)
    assert link(at)["fcat"] == ["region_of_interview:north_africa"]


def test_percentages_and_medians():
    at = send(open_builder(), ["gender"], ["age_band"])
    at.radio(key="ct_measure_en").set_value("row_pct").run()
    table = shown(at)
    assert table.equals(expected("public", ["gender"], ["age_band"], "row_pct"))
    assert list(table["Total"]) == ["100%"] * 3
    at.radio(key="ct_measure_en").set_value("median").run()
    assert at.selectbox(key="ct_value_en").value
    assert not at.exception and at.dataframe
    assert link(at)["measure"] == ["median"] and link(at)["value"]


def test_swap_and_reset():
    at = send(open_builder(), ["gender"], ["age_band"])
    at.button(key="ct_swap").click().run()
    assert list(shown(at).columns)[0] == "Age group"
    assert link(at)["rows"] == ["age_band"] and link(at)["cols"] == ["gender"]
    at.button(key="ct_reset").click().run()
    assert not at.dataframe and "rows" not in link(at)
    assert t("crosstab.empty", "en") in texts(at)


# --- refusals ------------------------------------------------------------------------------------

def test_a_refused_public_table_says_which_rule_and_what_to_change():
    at = send(open_builder(), ["gender", "age_band"], ["region_of_interview", "education"])
    assert not at.dataframe
    reason = refusal_message("too_many_variables", {"limit": 3, "given": 4, "sensitive": []}, "en")
    assert reason in texts(at)
    assert t("crosstab.rule", "en", rule=5) in texts(at)
    assert t("crosstab.suggest.fewer", "en") in texts(at)
    # The same table for a researcher.
    at = send(open_builder(role="researcher"), ["gender", "age_band"], ["region_of_interview", "education"])
    assert at.dataframe and reason not in texts(at)


def test_a_sparse_public_table_is_refused_with_a_coarser_suggestion():
    at = send(open_builder({"from": "2020Q1", "to": "2020Q1"}), ["nationality"], ["age_band"])
    assert t("crosstab.rule", "en", rule=4) in texts(at)
    assert t("crosstab.suggest.coarser", "en") in texts(at)


# --- the link ------------------------------------------------------------------------------------

def test_the_link_rebuilds_the_same_table():
    at = send(open_builder(), ["gender"], ["age_band"], ["region_of_interview"])
    at.selectbox(key="ct_cat_region_of_interview").set_value("north_africa").run()
    at.radio(key="ct_measure_en").set_value("col_pct").run()
    params = link(at)
    assert params["filt"] == ["region_of_interview"] and params["measure"] == ["col_pct"]
    table = shown(at)
    again = open_app(params, page="crosstab")
    assert not again.exception
    assert again.session_state["ct_layout"] == at.session_state["ct_layout"]
    assert shown(again).equals(table)
    assert link(again) == params


def test_a_link_with_fields_the_tier_may_not_use_drops_them_and_says_so():
    at = open_app({"rows": ["interview_town", "gender"], "cols": "bogus"}, page="crosstab")
    assert not at.exception
    assert at.session_state["ct_layout"].rows == ("gender",)
    assert "interview_town" in texts(at) and "bogus" in texts(at)
    assert "cols" not in link(at)


# --- what reaches a public browser ------------------------------------------------------------------

@pytest.mark.parametrize("view", ["heatmap", "stacked", "grouped"])
def test_public_chart_data_hold_no_count_under_the_threshold(view):
    at = send(open_builder({"view": view, **NARROW}), ["gender"], ["age_band"], ["region_of_interview"])
    [chart] = charts(at)
    rows = chart_rows(chart)
    assert rows and set(rows[0]) == {"row", "column", "value", "text"}
    values = [r["value"] for r in rows]
    assert None in values  # the withheld cell has no value, not a zero
    assert min(v for v in values if v is not None) >= MIN
    assert f"<{MIN}" in [r["text"] for r in rows]


def test_public_download_is_the_protected_table_with_its_header():
    made, _ = pivot.clean(CB, "public", ["gender"], ["age_band"], {})
    p = pivot.build("core", made, "count", "public", shared_filters={"nationality": ["MWI"]})
    table = pivot_view.download_table(p, "en")
    data = export.to_csv(table, [export.cite_row("MMC (2026). Core.", "en"), ("Dataset", "Core")])
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[export.csv_skip_rows(data):]
    assert lines[0] == ["Gender", "18-24", "25-34", "35-44", "45-54", "55 and over", "Total"]
    body = lines[1:]
    values = [v for row in body for v in row[1:]]
    assert "" in values  # a withheld count is an empty cell, not "<10" in a column of numbers
    assert all(v == "" or v.isdigit() for v in values)
    assert min(numbers_in(values)) >= MIN


# --- every role, every language -----------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "fr", "es"])
@pytest.mark.parametrize("role", [None, "researcher", "admin"])
def test_the_builder_in_every_role_and_language(role, lang):
    at = open_builder({"lang": lang, "rows": "gender", "cols": "age_band", "view": "stacked"}, role=role)
    assert at.title[0].value == t("crosstab.title", lang)
    assert t("caveats.title", lang) in texts(at)
    assert charts(at)
    at.radio(key=f"ct_view_{lang}").set_value("table").run()
    assert not at.exception
    table = shown(at)
    assert list(table.iloc[:, 0])[-1] == t("crosstab.total", lang)
    if role is None:
        assert t("crosstab.public_limit", lang, limit=3, sensitive=2) in texts(at)


# --- a median table's cells (issue 19) ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", [None, "researcher"])
def test_a_median_table_shows_why_a_cell_is_empty_not_none(role):
    """Regression: groups with no answer showed `None` in the table. Researchers see "–", the public
    "withheld", and the lines under the table say what each means."""
    value = "journey_duration_days" if role is None else "amount_paid_usd"
    at = open_builder({"rows": "nationality", "cols": "country_of_interview", "measure": "median", "value": value,
                       "view": "table"}, role=role)
    table = shown(at)
    cells = table.iloc[:, 1:].to_numpy().ravel()
    assert not any(c is None or c != c for c in cells)
    marker = "–" if role else t("figures.withheld", "en")
    assert marker in set(cells)
    note = t("crosstab.empty_number" if role else "crosstab.empty_number_public", "en",
             minimum=disclosure.settings().min_contributors)
    assert any(note in c.value for c in at.caption)
    ids = [b.proto.id for b in open_downloads(at, "ct_download").get("download_button")]
    assert any(i.endswith("ct_download_csv") for i in ids)
