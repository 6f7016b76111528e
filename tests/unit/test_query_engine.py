"""The query engine's fast paths give the same figures as the plain ones they replace: filters on ENUM
positions, the population from the grid's own scan, multiple-choice tables from pre-counted answers,
shares' bases from the table's cells, route segments without SELECT DISTINCT. Each is checked against
a reference computed the slow, obvious way (pandas over the stored rows and their record keys)."""

import os

import numpy as np
import pandas as pd
import pytest

from core.data.codebook import OTHER
from core.data.engine import RKEY, Engine, dataset_path, get_engine, ident, set_engine
from core.query import categories, crosstab, flows, shares, summary, total
from core.query import tables as Q


@pytest.fixture(scope="module")
def ds():
    return get_engine().dataset("core")


def rows(ds, names, where="TRUE"):
    """The stored rows matching `where` (categories as strings, bit masks as integers), with their
    record keys: the reference's input."""
    cols = [f"{ident(n)}::VARCHAR AS {ident(n)}" if ds.codebook[n].type != "multiple" else ident(n) for n in names]
    return get_engine().query(f"SELECT {', '.join(cols + [RKEY])} FROM {ident(ds.table)} WHERE {where}")


def reference_cells(ds, dims, where):
    """Exact counts and key sums per shown cell, expanding multiple choice row by row in pandas."""
    df = rows(ds, [d.var.name for d in dims], where)
    for d in dims:
        col = d.var.name
        if d.var.type == "multiple":  # one row per answer given: a copy of the rows whose mask has its bit
            masks = df[col].fillna(0).astype("int64")
            df = pd.concat([df[(masks & bits) != 0].assign(**{col: code}) for code, bits in d.masks])
        else:
            df[col] = df[col].map(lambda c, m=d.merge: m.get(c, c))
    return df.groupby([d.var.name for d in dims])[RKEY].agg(["size", "sum"])


def population(ds, where):
    n, k = get_engine().query(f"SELECT count(*), coalesce(sum({RKEY}), 0) FROM {ident(ds.table)} "
                              f"WHERE {where}").iloc[0]
    return int(n), int(k)


# --- filters on ENUM positions ----------------------------------------------------------------

def test_enum_codes_are_positions_in_the_recorded_dictionary(ds):
    for name, values in ds.enums.items():
        found = get_engine().query(f"SELECT DISTINCT {ident(name)}::VARCHAR AS v, enum_code({ident(name)}) AS c "
                                   f"FROM {ident(ds.table)} WHERE {ident(name)} IS NOT NULL")
        assert all(values[c] == v for v, c in zip(found["v"], found["c"])), name
    countries = {ds.enums[v.name] for v in ds.codebook.variables.values() if v.type == "country"}
    assert len(countries) == 1, "country columns share one dictionary, so routes compare codes"


@pytest.mark.parametrize("name", ["interview_quarter", "country_of_interview", "education"])
def test_enum_filters_of_every_shape_match_pandas(ds, name):
    enum = ds.enums[name]
    stored = rows(ds, [name])[name]
    n = len(enum)
    shapes = {
        "IS NOT NULL": list(enum),
        "<=": list(enum[:2]),
        ">=": list(enum[-2:]),
        "BETWEEN": list(enum[1:n - 1]),
        "NOT BETWEEN": [enum[0], *enum[3:]],
        "IN": list(enum[::2]),
    }
    for form, codes in shapes.items():
        sql = Q._in_sql(ds, name, codes)
        assert form in sql, (form, sql)
        got = get_engine().query(f"SELECT count(*) AS n FROM {ident(ds.table)} WHERE {sql}")["n"].iloc[0]
        assert got == int(stored.isin(codes).sum()), (form, sql)
        # Through the API: a column's categories (a country column's dictionary has more countries).
        known = [c for c in codes if c in get_engine().category_sizes(ds, ds.codebook[name])]
        if known:  # (an empty list means no filter)
            assert total("core", {name: known}, tier="researcher") == int(stored.isin(known).sum())
    assert Q._in_sql(ds, name, []) == "FALSE"


# --- the population from the grid's own scan ---------------------------------------------------

FILTERS = [
    {},
    {"region_of_interview": ["north_africa", "east_africa"], "age_band": ["18_24", "35_44"]},
    {"drivers": ["economic", "violence_insecurity"], "gender": ["woman"]},
    {"nationality": [OTHER, "AFG"], "interview_quarter": ["2019Q1", "2019Q2", "2019Q3"]},
]
# The public tier's filters keep one answer, every answer or a year's quarters (rule 12).
PUBLIC_FILTERS = [
    {},
    {"region_of_interview": ["north_africa"], "age_band": ["18_24"]},
    {"drivers": ["economic"], "gender": ["woman"]},
    {"nationality": [OTHER], "interview_quarter": ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]},
]
DIMS = [
    ["gender"],
    ["nationality", "gender"],          # nationality has categories merged by rule 8
    ["drivers"],
    ["drivers", "gender"],
    ["nationality", "needs"],
    ["needs", "drivers", "gender"],
]


@pytest.mark.parametrize("names", DIMS, ids="-".join)
@pytest.mark.parametrize("public", [True, False], ids=["public", "exact"])
def test_grid_and_population_from_one_statement_match_a_separate_count(ds, names, public):
    for filters in PUBLIC_FILTERS if public else FILTERS:
        if not public:
            filters = {k: v for k, v in filters.items() if OTHER not in v}
        dims = [Q._dim(ds, ds.codebook[n], public) for n in names]
        where = Q._where(ds, filters, public, not_null=names)
        cells, pop_n, pop_k = Q._grid(ds, dims, where)
        assert (pop_n, pop_k) == population(ds, where)
        assert len(cells) == np.prod([len(d.categories) for d in dims])
        ref = reference_cells(ds, dims, where)
        got = cells.set_index(names)[["n", "k"]]
        got = got[got["n"] > 0]
        assert got["n"].to_dict() == ref["size"].to_dict()
        assert got["k"].to_dict() == ref["sum"].to_dict()


def test_rule_8_merges_are_exercised(ds):
    sizes = get_engine().category_sizes(ds, ds.codebook["nationality"])
    assert any(0 < n < 100 for n in sizes.values()), "the synthetic data have a category merged into Other"


def test_total_and_public_base_are_the_perturbed_population(ds):
    f = PUBLIC_FILTERS[1]
    n, k = population(ds, Q._where(ds, f, True))
    assert total("core", {**f, "gender": categories("core", "gender")}, tier="researcher") == n  # the public's respondents
    assert total("core", f) == int(get_engine().perturbation.perturb([n], [k])[0])
    t = crosstab("core", ["gender"], filters=f)
    n, k = population(ds, Q._where(ds, f, True, not_null=["gender"]))
    assert t.attrs["base"] == int(get_engine().perturbation.perturb([n], [k])[0])


# --- shares: bases from the table's own cells ---------------------------------------------------

@pytest.mark.parametrize("variable,by", [("main_driver", ["gender"]), ("education", ["nationality", "gender"]),
                                         ("education", []), ("drivers", ["gender"]), ("drivers", [])])
def test_shares_bases_equal_a_separately_counted_table(ds, variable, by):
    f = PUBLIC_FILTERS[1]
    where = Q._where(ds, f, True, not_null=[*by, variable])
    perturb = get_engine().perturbation.perturb
    s = shares("core", variable, by=by, filters=f)
    n, k = population(ds, where)
    assert s.attrs["base"] == int(perturb([n], [k])[0])
    if not by:
        assert (s["base"] == s.attrs["base"]).all()
        return
    dims = [Q._dim(ds, ds.codebook[b], True) for b in by]
    ref = reference_cells(ds, dims, where)
    expected = pd.Series(perturb(ref["size"], ref["sum"]), index=ref.index)
    expected = expected[expected >= 10]
    got = s.drop_duplicates(by).set_index(by)["base"].dropna().astype(int)
    assert got.to_dict() == expected.to_dict()
    if ds.codebook[variable].type != "multiple":
        # The same respondents as a crosstab of `by` filtered on every category of `variable`.
        every = {**f, variable: categories("core", variable)}
        t = crosstab("core", by, filters=every).set_index(by)["count"].dropna().astype(int)
        assert got.to_dict() == t.to_dict()


# --- flows and summary: populations from their own cells -----------------------------------------

def test_flows_population_is_the_sum_of_links_or_counted_for_routes(ds):
    f = PUBLIC_FILTERS[1]
    perturb = get_engine().perturbation.perturb
    for kind, not_null in [("origin_interview", ["nationality", "country_of_interview"]),
                           ("interview_destination", ["country_of_interview", "intended_destination"]),
                           ("route", ["country_of_departure"])]:
        n, k = population(ds, Q._where(ds, f, True, not_null=not_null))
        assert flows("core", kind, filters={**f, "gender": categories("core", "gender")},
                     tier="researcher").attrs["base"] == n
        assert flows("core", kind, filters=f).attrs["base"] == int(perturb([n], [k])[0])


def test_summary_population_is_the_groups_sum(ds):
    f = PUBLIC_FILTERS[1]
    n, k = population(ds, Q._where(ds, f, True, not_null=["gender", "total_cost_usd"]))
    s = summary("core", "total_cost_usd", by=["gender"], filters=f)
    assert s.attrs["base"] == int(get_engine().perturbation.perturb([n], [k])[0])


def route_reference(df, distinct=True):
    route = list(Q.ROUTE)
    chain = df[route].astype(object)
    legs = []
    for i, col in enumerate(route[:-1]):
        nxt = chain[route[i + 1:]].bfill(axis=1).iloc[:, 0]
        legs.append(pd.DataFrame({"rid": chain.index, "origin": chain[col], "destination": nxt}))
    segments = pd.concat(legs).dropna()
    segments = segments[segments["origin"] != segments["destination"]]
    if distinct:
        segments = segments.drop_duplicates()
    return segments.groupby(["origin", "destination"]).size().to_dict()


def test_route_flows_count_a_repeated_segment_once(tmp_path):
    """A route A -> B -> A -> B -> C travels A -> B twice: the respondent counts once on that link."""
    df = pd.read_parquet(dataset_path(get_engine().data_dir, "core"))
    dep, t1 = df["country_of_departure"], df["transit_country_1"]
    loop = (dep.notna() & t1.notna() & (dep != t1) & (df["country_of_interview"] != t1)).to_numpy()
    loop &= np.cumsum(loop) <= 500
    df.loc[loop, "transit_country_2"] = dep[loop]
    df.loc[loop, "transit_country_3"] = t1[loop]
    df.to_parquet(dataset_path(tmp_path, "core"))
    expected = route_reference(df)
    assert expected != route_reference(df, distinct=False), "the data have repeated segments"
    previous = get_engine()
    set_engine(Engine(tmp_path))
    try:
        got = flows("core", "route", tier="researcher").set_index(["origin", "destination"])["count"]
        assert got.astype(int).to_dict() == expected
        public = flows("core", "route")
        assert not public["suppressed"].any() and "hidden" not in public.attrs
    finally:
        set_engine(previous)


def test_summary_groups_on_shown_categories_with_rule_8_merges(ds):
    """Grouped on ENUMs, the merged categories as one "Other" group: the same groups and figures as
    pandas over the stored rows with the merge applied."""
    f = {"age_band": ["25_34"]}
    d = Q._dim(ds, ds.codebook["nationality"], True)
    assert d.merge
    where = Q._where(ds, f, True, not_null=["nationality", "total_cost_usd"])
    df = get_engine().query(f"SELECT nationality::VARCHAR AS g, total_cost_usd AS x, {RKEY} "
                            f"FROM {ident(ds.table)} WHERE {where}")
    df["g"] = df["g"].map(lambda c: d.merge.get(c, c))
    ref = df.groupby("g").agg(n=("x", "size"), k=(RKEY, "sum"), mean=("x", "mean"))
    got = summary("core", "total_cost_usd", by=["nationality"], filters=f).set_index("nationality")
    assert set(got.index) == set(ref.index) and OTHER in got.index
    shown = get_engine().perturbation.perturb(ref["n"], ref["k"])
    for g, n_shown, mean in zip(ref.index, shown, ref["mean"]):
        row = got.loc[g]
        if row["flag"] == "":
            assert row["contributors"] == n_shown
            assert row["mean"] == pytest.approx(mean, rel=0.05)  # two significant digits, over the shown count


def test_a_changed_file_brings_its_own_dictionaries(tmp_path):
    """The ENUM dictionaries and category sizes belong to the loaded table: a new file, with other
    countries, is filtered and counted on its own dictionaries."""
    df = pd.read_parquet(dataset_path(get_engine().data_dir, "core"))
    path = dataset_path(tmp_path, "core")
    df.to_parquet(path)
    previous = get_engine()
    engine = Engine(tmp_path)
    set_engine(engine)
    try:
        first = engine.dataset("core")
        country = categories("core", "country_of_interview", "researcher")[0]
        assert total("core", {"country_of_interview": [country]}, tier="researcher") == \
            int((df["country_of_interview"] == country).sum())
        changed = df[df["country_of_interview"] != country].copy()
        changed.loc[changed.index[:300], "country_of_interview"] = "XKX"
        changed.to_parquet(path)
        os.utime(path, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
        second = engine.dataset("core")
        assert second.table != first.table and "XKX" in second.enums["country_of_interview"]
        assert country not in categories("core", "country_of_interview", "researcher")
        assert total("core", {"country_of_interview": ["XKX"]}, tier="researcher") == 300
        t = crosstab("core", ["country_of_interview"], tier="researcher").set_index("country_of_interview")
        assert t["count"].astype(int).to_dict() == changed["country_of_interview"].value_counts().to_dict()
    finally:
        set_engine(previous)
