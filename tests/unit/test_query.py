"""The query API over the default synthetic data: exact figures for researchers, protected ones for the
public, the same cell with the same value everywhere, and the refusals with their reasons."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.codebook import OTHER
from core.data.engine import dataset_path, get_engine, load_codebook
from core.disclosure import TableRefused
from core.query.tables import (
    UnknownFilter,
    categories,
    crosstab,
    flow_kinds,
    flow_variables,
    flows,
    microdata,
    shares,
    summary,
    timeseries,
    total,
)
from core.settings import GENERATED_DIR

CB = load_codebook("core")


@pytest.fixture(scope="module")
def raw():
    """The stored rows, read with pandas: the reference the engine's exact figures must match."""
    return pd.read_parquet(dataset_path(GENERATED_DIR, "core"))


def exact(df, filters=None):
    keep = pd.Series(True, index=df.index)
    for name, codes in (filters or {}).items():
        keep &= df[name].isin(codes)
    return df[keep]


def cell(table, **codes):
    mask = np.ones(len(table), dtype=bool)
    for name, code in codes.items():
        mask &= (table[name] == code).to_numpy()
    (row,) = table[mask].itertuples()
    return row.count


# --- shape and exact figures --------------------------------------------------------------

def test_crosstab_shape_and_types():
    t = crosstab("core", ["gender"], ["age_band"], tier="researcher")
    assert list(t.columns) == ["gender", "age_band", "count", "suppressed", "flag"]
    assert str(t["count"].dtype) == "Int64" and t["suppressed"].dtype == bool
    assert len(t) == len(categories("core", "gender", "researcher")) * len(CB["age_band"].codes)
    assert t.attrs["synthetic"] is True and t.attrs["tier"] == "researcher"


def test_researcher_counts_are_exact(raw):
    f = {"region_of_interview": ["north_africa", "west_africa"]}
    t = crosstab("core", ["nationality"], ["gender"], filters=f, tier="researcher")
    expected = exact(raw, f).groupby(["nationality", "gender"]).size()
    got = t.set_index(["nationality", "gender"])["count"]
    got = got[got > 0].astype(int)
    assert got.to_dict() == expected.to_dict()


def test_multiple_choice_counts_respondents_who_chose_and_base_is_those_asked(raw):
    var = CB["drivers"]
    s = shares("core", "drivers", filters={"region_of_interview": ["north_africa"]}, tier="researcher")
    asked = exact(raw, {"region_of_interview": ["north_africa"]})["drivers"].dropna().astype(int).to_numpy()
    for i, code in enumerate(var.codes):
        row = s[s["drivers"] == code].iloc[0]
        assert row["count"] == int(((asked >> i) & 1).sum())
        assert row["base"] == len(asked)
    assert s["share"].sum() > 1, "shares of a multiple-choice question do not add up to one"


def test_multiple_choice_filter_keeps_anyone_who_chose_a_listed_option(raw):
    codes = CB["incident_types"].codes
    pick = [c for c in codes if c != "none"][:2]
    bits = sum(1 << codes.index(c) for c in pick)
    expected = int(((raw["incident_types"].dropna().astype(int) & bits) != 0).sum())
    assert total("core", {"incident_types": pick}, tier="researcher") == expected


def test_microdata_for_researchers_only():
    rows = microdata("core", ["gender", "drivers"], filters={"gender": ["woman"]}, limit=50)
    assert list(rows.columns) == ["respondent_id", "gender", "drivers"]
    assert len(rows) == 50 and (rows["gender"] == "woman").all()
    assert all(isinstance(v, list) or v is None for v in rows["drivers"])
    assert "_rkey" not in microdata("core", limit=1).columns
    with pytest.raises(PermissionError):
        microdata("core", tier="public")


# --- the public tier ---------------------------------------------------------------------

def test_public_counts_are_perturbed_bounded_and_never_small():
    f = {"region_of_interview": ["north_africa"]}
    pub = crosstab("core", ["nationality"], ["gender"], filters=f)
    ref = crosstab("core", ["nationality"], ["gender"], filters=f, tier="researcher")
    merged_ref = ref.assign(nationality=ref["nationality"].where(ref["nationality"].isin(pub["nationality"]), OTHER))
    ref_counts = merged_ref.groupby(["nationality", "gender"])["count"].sum()
    shown = pub.dropna(subset=["count"]).set_index(["nationality", "gender"])["count"]
    assert (shown >= 10).all()
    diff = (shown - ref_counts.reindex(shown.index)).abs()
    assert diff.max() <= 2
    assert (diff > 0).any(), "public counts are perturbed"
    assert pub.loc[pub["suppressed"], "count"].isna().all()


def test_public_table_refusals_say_why():
    with pytest.raises(TableRefused) as e:
        crosstab("core", ["gender"], ["age_band", "region_of_interview", "used_smuggler"])
    assert e.value.rule == 5
    with pytest.raises(TableRefused) as e:
        crosstab("core", ["gender", "age_band"], ["incident_types"])
    assert e.value.rule == 5 and "incident_types" in str(e.value)
    small_nat = categories("core", "nationality")[-2]  # among the smallest listed nationalities
    with pytest.raises(TableRefused) as e:
        crosstab("core", ["gender"], filters={"nationality": [small_nat], "age_band": ["55_plus"],
                                               "interview_quarter": ["2017Q1"]})
    assert e.value.rule == 3 and "Fewer than 50" in str(e.value)
    with pytest.raises(TableRefused) as e:
        crosstab("core", ["nationality"], ["interview_quarter", "age_band"])
    assert e.value.rule == 4


def test_public_tier_refuses_non_public_variables_and_unknown_filters():
    with pytest.raises(PermissionError):
        crosstab("core", ["interview_town"])
    with pytest.raises(UnknownFilter) as e:
        crosstab("core", ["gender"], filters={"age": ["30"]})
    assert e.value.variable == "age"
    with pytest.raises(UnknownFilter) as e:
        crosstab("core", ["gender"], filters={"gender": ["robot"]})
    assert e.value.code == "robot"
    with pytest.raises(UnknownFilter):
        crosstab("core", ["gender"], filters={"no_such_variable": ["x"]})


def test_small_categories_merge_into_other_and_cannot_be_singled_out():
    engine = get_engine()
    sizes = engine.category_sizes(engine.dataset("core"), CB["nationality"])
    small = [c for c, n in sizes.items() if 0 < n < 100]
    public = categories("core", "nationality")
    if small:
        assert OTHER in public and not set(small) & set(public)
        with pytest.raises(UnknownFilter):
            crosstab("core", ["gender"], filters={"nationality": [small[0]]})
    assert all(sizes[c] >= 100 for c in public if c != OTHER)


def test_same_cell_same_value_whatever_the_query():
    region, gender, band = "north_africa", "woman", "25_34"
    a = cell(crosstab("core", ["gender"], ["age_band"], filters={"region_of_interview": [region]}),
             gender=gender, age_band=band)
    b = cell(crosstab("core", ["age_band"], filters={"region_of_interview": [region], "gender": [gender]}),
             age_band=band)
    c = cell(crosstab("core", ["region_of_interview", "gender"], ["age_band"]),
             region_of_interview=region, gender=gender, age_band=band)
    d = cell(crosstab("core", ["region_of_interview"], filters={"gender": [gender], "age_band": [band]}),
             region_of_interview=region)
    assert a == b == c == d


def small_cells(table, low=1, high=9):
    return table[(table["count"] >= low) & (table["count"] <= high)]


def test_differencing_over_date_ranges_is_not_a_public_query():
    """Attack: (quarters up to Qk) minus (quarters up to Qk-1) = the count in Qk alone. The public tier's
    periods are a quarter, a year or everything (rule 12), so neither range can be asked for; the
    researchers' tier answers both, exactly."""
    quarters = categories("core", "interview_quarter")
    f_now = {"nationality": ["ERI"], "interview_quarter": quarters[: 11]}
    f_before = {"nationality": ["ERI"], "interview_quarter": quarters[: 10]}
    for f in (f_now, f_before):
        with pytest.raises(TableRefused) as refused:
            crosstab("core", ["gender"], filters=f)
        assert refused.value.rule == 12
    now = crosstab("core", ["gender"], filters=f_now, tier="researcher")
    before = crosstab("core", ["gender"], filters=f_before, tier="researcher")
    alone = crosstab("core", ["gender"], filters={"nationality": ["ERI"], "interview_quarter": [quarters[10]]},
                     tier="researcher")
    assert cell(now, gender="woman") - cell(before, gender="woman") == cell(alone, gender="woman")


def test_differencing_all_nationalities_minus_the_listed_ones_is_not_a_public_query():
    """Attack: (everyone) minus (every listed nationality but one) = that one nationality. A filter keeps
    one answer, or every answer (those who answered), never all but one."""
    rest = [c for c in categories("core", "nationality") if c != "ERI"]
    with pytest.raises(TableRefused) as refused:
        total("core", {"region_of_interview": ["east_africa"], "nationality": rest})
    assert refused.value.rule == 12
    everyone = categories("core", "nationality")
    assert total("core", {"nationality": everyone}) == total("core", {"nationality": everyone})


def public_universe() -> dict[str, list[str]]:
    """The researchers' filters that keep the public tier's respondents: every public category of each
    variable with a withheld one."""
    from core.query.tables import _public

    decided = _public(get_engine().dataset("core")).categories
    return {name: list(d.shown) for name, d in decided.items() if d.withheld and CB[name].type != "multiple"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_random_public_tables(data):
    public = [v.name for v in CB.variables.values() if v.public and v.categorical]
    names = data.draw(st.lists(st.sampled_from(public), min_size=1, max_size=3, unique=True), label="vars")
    filter_var = data.draw(st.sampled_from(public), label="filter")
    codes = categories("core", filter_var)
    keep = [data.draw(st.sampled_from(codes), label="kept")]  # one answer per public filter (rule 12)
    filters = {filter_var: keep}
    try:
        pub = crosstab("core", names[:1], names[1:], filters=filters)
    except TableRefused as e:
        assert e.rule in (3, 4, 5) and str(e)
        return
    shown = pub["count"].dropna()
    assert set(pub["flag"]) <= {"", "suppressed", "over_band", "under_band"}
    assert (shown >= 10).all(), "no public count under 10"
    assert (pub["count"].isna() == pub["suppressed"]).all()
    assert pub.attrs["base"] >= 50
    again = crosstab("core", names[:1], names[1:], filters=filters)
    pd.testing.assert_frame_equal(pub, again)
    # Every shown cell is within 2 of the truth and equals the same cell asked for alone. The truth is
    # that of the public tier's respondents: without those in withheld categories (rule 8).
    ref = crosstab("core", names[:1], names[1:], filters={**public_universe(), **filters}, tier="researcher")
    row = pub.dropna(subset=["count"]).iloc[0] if len(shown) else None
    if row is not None and OTHER not in [row[n] for n in names]:
        truth = cell(ref, **{n: row[n] for n in names})
        assert abs(int(row["count"]) - int(truth)) <= 2
        alone = {n: [row[n]] for n in names}
        if filter_var in alone:
            alone[filter_var] = sorted(set(alone[filter_var]) & set(keep))
        else:
            alone[filter_var] = keep
        # A multiple-choice filter on the tabulated question can keep a respondent under an option it
        # does not keep (one who also chose a kept option): that cell has no single-filter equivalent.
        expressible = all(alone.values())
        if expressible and row["count"] >= 52:  # a smaller population on its own is refused by rule 3
            assert total("core", alone) == row["count"]


# --- shares, time series, flows, summaries ---------------------------------------------------

def test_public_shares_come_from_protected_counts():
    s = shares("core", "used_smuggler", by=["region_of_interview"])
    shown = s[s["flag"] == ""]
    assert len(shown)
    assert (shown["base"] >= 30).all()
    np.testing.assert_allclose(shown["share"], shown["count"] / shown["base"])
    assert s.loc[s["suppressed"], "share"].isna().all()


def test_timeseries_by_quarter():
    ts = timeseries("core", tier="researcher")
    assert list(ts["interview_quarter"]) == sorted(ts["interview_quarter"])
    assert int(ts["count"].sum()) == get_engine().dataset("core").rows


def test_flows_researcher_route_segments_match_pandas(raw):
    route = ["country_of_departure", "transit_country_1", "transit_country_2", "transit_country_3",
             "country_of_interview"]
    chain = raw[route].astype(object)
    legs = []
    for i, col in enumerate(route[:-1]):
        nxt = chain[route[i + 1:]].bfill(axis=1).iloc[:, 0]
        legs.append(pd.DataFrame({"rid": chain.index, "origin": chain[col], "destination": nxt}))
    segments = pd.concat(legs).dropna()
    segments = segments[segments["origin"] != segments["destination"]].drop_duplicates()
    expected = segments.groupby(["origin", "destination"]).size().sort_index()
    got = flows("core", "route", tier="researcher").set_index(["origin", "destination"])["count"]
    assert got.astype(int).to_dict() == expected.to_dict()


def test_flows_public_lists_only_shown_links():
    """Which links exist is itself a count (rule 11): the public list holds shown links only, and says
    nothing of how many were left out."""
    f = flows("core", "origin_interview", filters={"interview_quarter": ["2024Q1"]})
    assert len(f) and (f["count"] >= 10).all() and not f["suppressed"].any()
    assert "hidden" not in f.attrs
    exact = flows("core", "origin_interview", filters={"interview_quarter": ["2024Q1"]}, tier="researcher")
    assert (exact["count"] < 10).any()  # there were small links to leave out


def test_summary_public_follows_rule_7():
    pub = summary("core", "amount_paid_usd", by=["region_of_interview"])
    assert "min" not in pub.columns and "max" not in pub.columns
    ok = pub[pub["flag"] == ""]
    assert len(ok) and (ok["contributors"] >= 10).all()
    assert "sum" not in pub.columns
    ref = summary("core", "amount_paid_usd", by=["region_of_interview"], tier="researcher")
    both = ok.merge(ref, on="region_of_interview", suffixes=("", "_exact"))
    # the mean to two significant digits, over the protected count; quartiles from the fixed intervals
    np.testing.assert_allclose(both["mean"], both["mean_exact"], rtol=0.05)
    np.testing.assert_allclose(both["median"], both["median_exact"], rtol=0.25)


def test_the_time_axis_is_never_merged_into_other():
    """Quarters are public granularity (rule 8): the fieldwork gap of 2020 shows as zeros, not as
    "Other", and a period that spans it can be filtered on in the public tier."""
    from core.data.engine import load_codebook

    quarters = load_codebook("core").quarters()
    assert categories("core", "interview_quarter") == quarters
    ts = crosstab("core", ["interview_quarter"])
    assert list(ts["interview_quarter"]) == quarters
    assert ts.set_index("interview_quarter").loc[["2020Q2", "2020Q3", "2020Q4"], "suppressed"].all()
    total("core", filters={"interview_quarter": ["2020Q1", "2020Q2", "2020Q3", "2020Q4"]})  # the year 2020


def test_flow_kinds_follow_the_codebook_and_return_flows_match_pandas():
    assert flow_kinds("core") == ["origin_interview", "interview_destination", "route"]
    assert flow_kinds("covid") == ["origin_interview"]
    assert flow_kinds("returns") == ["origin_interview", "return_interview"]
    assert flow_variables("return_interview") == ("country_returned_from", "country_of_interview")
    with pytest.raises(ValueError):
        flow_variables("route")
    returns = pd.read_parquet(dataset_path(GENERATED_DIR, "returns"))
    expected = returns.groupby(["country_returned_from", "country_of_interview"], observed=True).size()
    got = flows("returns", "return_interview", tier="researcher").set_index(["origin", "destination"])["count"]
    assert got.astype(int).to_dict() == expected[expected > 0].to_dict()
