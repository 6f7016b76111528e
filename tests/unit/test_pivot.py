"""The crosstab builder's core (core/query/pivot.py): a layout from what a browser sent, checked against the
codebook and the tier; the table it makes, through core.query, protected for the tier, with its
margins, percentages, medians and means, for single and multiple choice, with filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import disclosure, query
from core.data.engine import load_codebook
from core.disclosure import TableRefused
from core.query import pivot
from core.query.pivot import Layout

CB = load_codebook("core")
S = disclosure.settings()
NORTH = {"region_of_interview": ["north_africa"]}


def layout(rows=(), cols=(), filters=None, tier="public") -> Layout:
    made, dropped = pivot.clean(CB, tier, rows, cols, filters or {},
                                categories=lambda n: query.categories("core", n, tier))
    assert not dropped, dropped
    return made


def by(frame: pd.DataFrame, names) -> dict:
    return {tuple(r[n] for n in names): r for _, r in frame.iterrows()}


# --- the layout ---------------------------------------------------------------------------------

def test_clean_keeps_only_what_the_tier_may_use_each_field_once():
    made, dropped = pivot.clean(
        CB, "public", rows=["gender", "interview_town", "no_such", 7, "gender"], columns=["age_band", "gender"],
        filters={"region_of_interview": ["north_africa", "atlantis", 3], "total_cost_usd": []},
        categories=lambda n: query.categories("core", n, "public"))
    assert made == Layout(("gender",), ("age_band",), {"region_of_interview": ("north_africa",)})
    # Not public, unknown, not a string, a second time, a number question, an unknown category.
    assert set(dropped) >= {"interview_town", "no_such", "7", "gender", "total_cost_usd",
                            "region_of_interview=atlantis"}
    researcher, dropped = pivot.clean(CB, "researcher", rows=["interview_town"])
    assert researcher.rows == ("interview_town",) and not dropped


def test_clean_caps_the_fields_of_a_table_and_its_filters():
    names = [v.name for v in pivot.fields(CB, "researcher") if v.type == "single"]
    made, dropped = pivot.clean(CB, "researcher", rows=names[:3], columns=names[3:6], filters=names[6:20])
    assert len(made.dims) == pivot.MAX_FIELDS and len(made.filters) == pivot.MAX_FILTERS
    assert len(dropped) == 20 - pivot.MAX_FIELDS - pivot.MAX_FILTERS


def test_fields_are_the_categorical_questions_public_ones_for_the_public():
    public = {v.name for v in pivot.fields(CB, "public")}
    everything = {v.name for v in pivot.fields(CB, "researcher")}
    assert public < everything
    assert all(CB[n].public and CB[n].categorical for n in public)
    assert "interview_town" in everything - public
    assert "respondent_id" not in everything and "age" not in everything


def test_layout_filters_meet_the_shared_ones():
    made = Layout(("gender",), (), {"region_of_interview": ("north_africa", "west_africa"), "age_band": ()})
    assert made.query_filters({"region_of_interview": ["north_africa", "asia"], "gender": ["woman"]}) == \
        {"region_of_interview": ["north_africa"], "gender": ["woman"]}
    assert made.query_filters({"region_of_interview": ["asia"]}) is None
    with pytest.raises(TableRefused) as refused:
        pivot.build("core", made, tier="public", shared_filters={"region_of_interview": ["asia"]})
    assert refused.value.reason == "population_too_small"


# --- counts and margins ---------------------------------------------------------------------------

def test_public_counts_are_core_query_s_protected_cells_and_margins():
    made = layout(["gender"], ["age_band"], {"region_of_interview": ["north_africa"]})
    p = pivot.build("core", made, "count", "public")
    cells = query.crosstab("core", ["gender"], ["age_band"], filters=NORTH)
    pd.testing.assert_series_equal(p.cells.frame["count"], cells["count"], check_names=False)
    assert list(p.cells.frame["suppressed"]) == list(cells["suppressed"])
    # No count under the threshold is ever a number.
    for margin in (p.cells, p.row_totals, p.column_totals, p.total):
        shown = margin.frame["count"].dropna()
        assert (shown >= S.min_count).all()
        assert margin.frame.loc[margin.frame["suppressed"], "count"].isna().all()
    # The margins are protected tables of their own over the table's population.
    ages = query.categories("core", "age_band", "public")
    rows = query.crosstab("core", ["gender"], filters={**NORTH, "age_band": ages})
    assert list(p.row_totals.frame["count"]) == list(rows["count"])
    assert int(p.total.frame["count"].iloc[0]) == p.base == query.total(
        "core", filters={**NORTH, "age_band": ages, "gender": query.categories("core", "gender", "public")})


def test_researcher_counts_are_exact_and_add_up():
    made = layout(["gender"], ["age_band"], tier="researcher")
    p = pivot.build("core", made, "count", "researcher")
    cells = p.cells.frame
    assert not cells["suppressed"].any()
    sums = cells.groupby("gender", sort=False)["count"].sum()
    assert dict(zip(p.row_totals.frame["gender"], p.row_totals.frame["count"])) == sums.to_dict()
    assert int(p.total.frame["count"].iloc[0]) == int(cells["count"].sum())


def test_researchers_may_use_questions_the_public_may_not():
    made = layout(["interview_town"], tier="researcher")
    p = pivot.build("core", made, "count", "researcher")
    assert len(p.cells.frame) > 1
    with pytest.raises(PermissionError):
        pivot.build("core", made, "count", "public")


# --- percentages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("measure, within", [("row_pct", "gender"), ("col_pct", "age_band")])
def test_researcher_percentages_add_up_within_rows_or_columns(measure, within):
    p = pivot.build("core", layout(["gender"], ["age_band"], tier="researcher"), measure, "researcher")
    sums = p.cells.frame.groupby(within)["value"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert (p.total.frame["value"] == 1.0).all()


def test_public_percentages_come_from_protected_counts_and_respect_the_base():
    made = layout(["gender"], ["age_band"], {"region_of_interview": ["north_africa"]})
    p = pivot.build("core", made, "row_pct", "public")
    totals = by(p.row_totals.frame, ["gender"])
    for _, cell in p.cells.frame.iterrows():
        base = totals[(cell["gender"],)]["count"]
        if cell["flag"] == "":
            assert cell["value"] == pytest.approx(cell["count"] / base)
        elif cell["flag"] == "base_too_small":
            assert pd.isna(base) or base < S.min_percentage_base
        else:
            assert cell["flag"] == "suppressed" and cell["suppressed"]
        if cell["flag"]:
            assert np.isnan(cell["value"])
    # "Other" people aged 55 and over are too few: withheld, not 0%.
    assert p.cells.frame["flag"].ne("").any()


def test_multiple_choice_counts_each_option_and_percentages_use_the_table_s_totals():
    made = layout(["drivers"], ["gender"], tier="researcher")
    p = pivot.build("core", made, "col_pct", "researcher")
    cells = p.cells.frame
    assert set(cells["drivers"]) == set(CB["drivers"].codes)
    columns = by(p.column_totals.frame, ["gender"])
    for _, cell in cells.iterrows():
        assert cell["value"] == pytest.approx(cell["count"] / columns[(cell["gender"],)]["count"])
    # A respondent chooses several drivers: the options add up to more than the respondents.
    for gender, total in columns.items():
        assert cells.loc[cells["gender"] == gender[0], "count"].sum() > total["count"]
    exact = query.crosstab("core", ["drivers", "gender"], tier="researcher")
    assert list(cells["count"]) == list(exact["count"])


def test_a_multiple_choice_filter_keeps_respondents_who_chose_any_kept_option():
    made = layout(["gender"], (), {"drivers": ["economic", "violence_insecurity"]}, tier="researcher")
    p = pivot.build("core", made, "count", "researcher")
    expected = query.crosstab("core", ["gender"], filters={"drivers": ["economic", "violence_insecurity"]}, tier="researcher")
    assert list(p.cells.frame["count"]) == list(expected["count"])
    assert p.row_totals is None and p.column_totals is None


def test_swapping_rows_and_columns_transposes_the_figures():
    made = layout(["gender"], ["age_band"])
    a = pivot.build("core", made, "row_pct", "public")
    b = pivot.build("core", made.swapped(), "col_pct", "public")
    left = {(r["gender"], r["age_band"]): r["value"] for _, r in a.cells.frame.iterrows()}
    right = {(r["gender"], r["age_band"]): r["value"] for _, r in b.cells.frame.iterrows()}
    assert left.keys() == right.keys()
    for key in left:
        assert left[key] == pytest.approx(right[key], nan_ok=True)


# --- medians and means ------------------------------------------------------------------------------

def test_medians_come_from_summary_with_rule_7():
    made = layout(["gender"], ["region_of_interview"])
    p = pivot.build("core", made, "median", "public", value_variable="total_cost_usd")
    expected = query.summary("core", "total_cost_usd", ["gender", "region_of_interview"],
                             filters={})
    got = by(p.cells.frame, ["gender", "region_of_interview"])
    for _, row in expected.iterrows():
        cell = got[(row["gender"], row["region_of_interview"])]
        assert cell["flag"] == row["flag"]
        assert cell["value"] == pytest.approx(row["median"], nan_ok=True)
        if row["flag"]:
            assert np.isnan(cell["value"])
    assert not np.isnan(p.total.frame["value"].iloc[0])


def test_a_median_by_a_multiple_choice_question_is_refused_plainly():
    with pytest.raises(ValueError):
        pivot.build("core", layout(["drivers"]), "median", "public", value_variable="total_cost_usd")
    with pytest.raises(ValueError):
        pivot.build("core", layout(["gender"]), "median", "public")  # no number question


# --- refusals ----------------------------------------------------------------------------------------

def test_public_rules_refuse_too_many_variables_and_sparse_tables():
    with pytest.raises(TableRefused) as refused:
        pivot.build("core", layout(["gender", "age_band"], ["region_of_interview", "education"]), "count", "public")
    assert (refused.value.rule, refused.value.reason) == (5, "too_many_variables")
    # A sensitive question: two variables at most.
    with pytest.raises(TableRefused) as refused:
        pivot.build("core", layout(["gender", "age_band"], ["used_smuggler"]), "count", "public")
    assert refused.value.reason == "too_many_variables" and refused.value.params["sensitive"] == ["used_smuggler"]
    with pytest.raises(TableRefused) as refused:
        pivot.build("core", layout(["nationality"], ["age_band"], {"interview_quarter": ["2020Q1"]}), "count",
                    "public")
    assert (refused.value.rule, refused.value.reason) == (4, "too_sparse")
    # Researchers get the same tables.
    pivot.build("core", layout(["gender", "age_band"], ["region_of_interview", "education"], tier="researcher"),
                "count", "researcher")
