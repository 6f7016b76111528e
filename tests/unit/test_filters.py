"""core.query.filters: links read into filters, checked against the codebook and the tier, and written back;
core.auth.access: roles, tiers and pages."""

from __future__ import annotations

import pytest

from core.auth.access import can_open, has_role, tier_for
from core.data.codebook import OTHER
from core.query import categories, total
from core.query.filters import FilterState, allowed_codes, from_params, make_state

PUBLIC = allowed_codes("public")
RESEARCHER = allowed_codes("researcher")


def test_a_full_link_round_trips():
    params = {"ds": ["covid"], "from": ["2020Q3"], "to": ["2020Q4"], "region": ["north_africa", "west_africa"],
              "gender": ["woman"], "age": ["18_24"], "nat": ["NGA"]}
    state, dropped = from_params(params, RESEARCHER)
    assert dropped == []
    assert state.dataset == "covid" and (state.start, state.end) == ("2020Q3", "2020Q4")
    # Codes come back in the codebook's order, whatever the link's order.
    assert state.selections["region_of_interview"] == ("west_africa", "north_africa")
    again, _ = from_params(state.to_params(), RESEARCHER)
    assert again == state and hash(again) == hash(state)
    assert state.query_filters()["interview_quarter"] == ["2020Q3", "2020Q4"]
    assert state.active() == 5


def test_an_empty_link_is_the_whole_default_dataset():
    state, dropped = from_params({}, PUBLIC)
    assert state == FilterState() and dropped == []
    assert state.query_filters() == {} and state.to_params() == {"ds": ["core"]}


@pytest.mark.parametrize("params, dropped", [
    ({"ds": ["census"]}, [("ds", "census")]),
    ({"gender": ["woman", "xyz"]}, [("gender", "xyz")]),
    ({"nat": ["ZZZ"]}, [("nat", "ZZZ")]),
    ({"from": ["2099Q1"]}, [("from", "2099Q1")]),
    ({"from": ["2024Q1"], "to": ["2023Q1"]}, [("from", "2024Q1"), ("to", "2023Q1")]),
    ({"utm_source": ["x"]}, [("utm_source", "x")]),
    ({"to": ["2020Q1", "2021Q1"]}, [("to", "2020Q1"), ("to", "2021Q1")]),  # 2017Q1-2021Q1: no public period
    ({"from": ["2022Q1"], "to": ["2022Q4"]}, []),  # a year
    ({"from": ["2022Q3"], "to": ["2022Q3"]}, []),  # a quarter
    ({"from": ["2022Q2"], "to": ["2022Q3"]}, [("from", "2022Q2"), ("to", "2022Q3")]),
    ({"nat": ["ERI", "SDN"], "gender": ["woman"]}, [("nat", "SDN")]),  # one answer per public filter
    ({"region": ["<script>"]}, [("region", "<script>")]),
])
def test_what_a_link_cannot_use_is_dropped_and_reported(params, dropped):
    state, found = from_params(params, PUBLIC)
    assert found == dropped
    total("core", filters=state.query_filters(), tier="public")  # what is kept is always queryable


def test_the_public_period_choice_and_its_bounds():
    from core.query.filters import period_bounds

    assert period_bounds("core", "2022") == ("2022Q1", "2022Q4")
    assert period_bounds("core", "2022Q3") == ("2022Q3", "2022Q3")
    assert period_bounds("core", "") == (None, None)
    first_year, _ = make_state("core", None, "2017Q4", {}, PUBLIC)  # the dataset starts in 2017Q1
    assert first_year.period_choice() == "2017" and first_year.query_filters()["interview_quarter"][-1] == "2017Q4"
    assert make_state("core", "2022Q3", "2022Q3", {}, PUBLIC)[0].period_choice() == "2022Q3"
    wide, dropped = make_state("core", "2018Q1", "2022Q3", {}, RESEARCHER)
    assert dropped == [] and wide.start == "2018Q1"  # researchers keep any range


def test_parameters_read_elsewhere_are_not_reported():
    _, dropped = from_params({"lang": ["fr"], "embed": ["true"]}, PUBLIC, ignore=("lang", "embed"))
    assert dropped == []


def test_period_bounds_at_the_edges_are_no_filter():
    state, _ = make_state("core", "2017Q1", "2026Q3", {}, PUBLIC)
    assert state.start is None and state.end is None and state.active() == 0


def test_public_links_use_public_granularity():
    small = [c for c in categories("core", "nationality", "researcher") if c not in categories("core", "nationality")]
    assert small
    state, dropped = from_params({"nat": [small[0], OTHER]}, PUBLIC)
    assert dropped == [("nat", small[0])] and state.selections["nationality"] == (OTHER,)
    # A researcher may filter on the small category, and on "Other" from a public link.
    state, dropped = from_params({"nat": [small[0], OTHER]}, RESEARCHER)
    assert dropped == [] and set(state.selections["nationality"]) == {small[0], OTHER}


def test_switching_dataset_keeps_what_still_applies():
    state, _ = make_state("core", "2020Q3", "2020Q4", {"nationality": ["AFG", "ERI"]}, RESEARCHER)
    moved, dropped = make_state("returns", state.start, state.end, dict(state.selections), RESEARCHER)
    assert moved.selections == {"nationality": ("AFG",)}
    assert moved.start is None and ("from", "2020Q3") in dropped


@pytest.mark.parametrize("role, tier", [(None, "public"), ("researcher", "researcher"), ("admin", "admin")])
def test_tiers_come_from_roles(role, tier):
    assert tier_for(role) == tier


def test_roles_and_pages():
    with pytest.raises(ValueError):
        tier_for("superuser")
    assert has_role("admin", "researcher") and not has_role("researcher", "admin") and not has_role(None, "researcher")
    assert not has_role("superuser", None)
    assert can_open("overview", None) and can_open("about", None)
    assert not can_open("microdata", None) and can_open("microdata", "researcher") and can_open("microdata", "admin")
    assert not can_open("admin", "researcher") and can_open("admin", "admin")
