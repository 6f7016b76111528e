"""The portal's Python API: every figure the portal shows comes from these functions.

Usable from a notebook without Streamlit::

    from core.query import crosstab, microdata
    crosstab("core", ["gender"], ["age_band"], filters={"region_of_interview": ["north_africa"]})
    microdata("core", ["respondent_id", "gender", "drivers"], tier="researcher")

`tier` is "public" (protected by core/disclosure.py), "researcher" or "admin" (exact). Filters map a
variable name to the category codes to keep; for a multiple-choice variable, a respondent is kept when
they chose any of the codes; an empty list means no filter. In the public tier only public variables
can be used, at public granularity: categories merged into "Other" by rule 8 (code "_other") can only
be used together, through "_other".

Counts of multiple-choice options are respondents who chose the option; their base is the respondents
who were asked (the stored bit mask is not missing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import disclosure
from core.codebook import OTHER, Variable
from core.engine import RKEY, LoadedDataset, get_engine, lit, q

__all__ = [
    "crosstab", "microdata", "shares", "total", "timeseries", "flows", "summary", "distribution", "categories",
    "flow_kinds", "flow_variables", "UnknownFilter", "TIERS", "FLOW_KINDS",
]

TIERS = ("public", "researcher", "admin")
MAX_VARIABLES = 4
MAX_CELLS = 250_000  # a bigger grid is unreadable, and slow to build
ROUTE = ("country_of_departure", "transit_country_1", "transit_country_2", "transit_country_3", "country_of_interview")
FLOW_KINDS = ("origin_interview", "interview_destination", "route", "return_interview")


class UnknownFilter(ValueError):
    """A filter names a variable or a code that does not exist (or is not public for this tier).
    `variable` and `code` say which, for a translated message."""

    def __init__(self, message: str, variable: str, code: str | None = None):
        super().__init__(message)
        self.variable = variable
        self.code = code


class NoAnswers(disclosure.TableRefused):
    """Nobody answered a question (skip logic, or a question new in a round): there is nothing to show,
    in any tier. A TableRefused, so that every page that shows a refusal shows this too ("no answers
    yet"); not a disclosure decision: a whole question's zero is zero under perturbation too (rule 1)."""

    def __init__(self, variable: str):
        super().__init__(0, "no_answers", f"{variable!r} has no answers yet", variable=variable)


def answered(dataset: str, variable: str) -> int:
    """How many respondents of the whole dataset answered `variable` (0: none yet)."""
    ds = get_engine().dataset(dataset)
    return _answered(ds, ds.codebook[variable])


def _answered(ds: LoadedDataset, var: Variable) -> int:
    key = f"{var.name}\0answered"  # beside the category sizes: computed once per loaded version
    if key not in ds.sizes:
        n = get_engine().query_arrays(f"SELECT count({q(var.name)}) AS n FROM {q(ds.table)}")["n"][0]
        ds.sizes[key] = {"n": int(n)}
    return ds.sizes[key]["n"]


def _check_answered(ds: LoadedDataset, variables: Sequence[Variable]) -> None:
    for var in variables:
        if not _answered(ds, var):
            raise NoAnswers(var.name)


def _is_public(tier: str) -> bool:
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
    return tier == "public"


# --- categories and the mapping to public granularity (rule 8) ------------------------------

@dataclass(frozen=True)
class _Dim:
    var: Variable
    categories: tuple[str, ...]          # the categories the result shows, in display order
    merge: Mapping[str, str]            # stored code -> shown code, for codes shown otherwise
    masks: tuple[tuple[str, int], ...]  # multiple choice: shown code -> bits that count for it


def _dim(ds: LoadedDataset, var: Variable, public: bool) -> _Dim:
    sizes = get_engine().category_sizes(ds, var)
    # Quarters and years are the public granularity of time (rule 8) and the time axis stays whole:
    # a quarter with few interviews is protected by rules 2 to 4 like any cell, not merged into "Other".
    merges = public and var.type not in ("quarter", "year")
    small = disclosure.small_categories(sizes) if merges else set()
    shown = [c for c in sizes if c not in small]
    if any(sizes[c] > 0 for c in small):
        shown.append(OTHER)
    merge = {c: OTHER for c in small}
    masks: tuple[tuple[str, int], ...] = ()
    if var.type == "multiple":
        bit = {code: 1 << i for i, code in enumerate(var.codes)}
        masks = tuple(
            (c, sum(bit[s] for s in small) if c == OTHER else bit[c]) for c in shown
        )
    return _Dim(var, tuple(shown), merge, masks)


def categories(dataset: str, variable: str, tier: str = "public") -> list[str]:
    """The category codes a tier may see and filter on, in display order ("_other" last)."""
    ds = get_engine().dataset(dataset)
    var = _variable(ds, variable, _is_public(tier), role="variable")
    return list(_dim(ds, var, _is_public(tier)).categories)


def _variable(ds: LoadedDataset, name: str, public: bool, role: str) -> Variable:
    if name not in ds.codebook:
        raise UnknownFilter(f"{ds.name} has no variable {name!r}", name) if role == "filter" \
            else KeyError(f"{ds.name} has no variable {name!r}")
    var = ds.codebook[name]
    if not var.categorical:
        message = f"{name!r} is a {var.type} variable and cannot be a table {role}"
        raise UnknownFilter(message, name) if role == "filter" else ValueError(message)
    if public and not var.public:
        message = f"{name!r} is not available in the public tier"
        raise UnknownFilter(message, name) if role == "filter" else PermissionError(message)
    return var


def _where(ds: LoadedDataset, filters: Mapping[str, Sequence[str]] | None, public: bool,
           not_null: Sequence[str] = ()) -> str:
    clauses = [f"{q(name)} IS NOT NULL" for name in not_null]
    for name, codes in (filters or {}).items():
        var = _variable(ds, name, public, role="filter")
        if not codes:
            continue
        sizes = get_engine().category_sizes(ds, var)
        small = disclosure.small_categories(sizes)
        # "_other" means the same categories in every tier, so a public link works for researchers.
        allowed = set(_dim(ds, var, public).categories) if public else {*sizes, OTHER}
        for code in codes:
            if code not in allowed:
                raise UnknownFilter(f"{code!r} is not a category of {name!r} here", name, code)
        wanted = set(codes)
        stored = [c for c in sizes if (c in wanted and c not in small) or (OTHER in wanted and c in small)
                  or (not public and c in wanted)]
        if var.type == "multiple":
            mask = sum(1 << var.codes.index(c) for c in stored)
            clauses.append(f"({q(name)} & {mask}) <> 0")
        else:
            clauses.append(_in_sql(ds, name, stored))
    return " AND ".join(clauses) or "TRUE"


def _in_sql(ds: LoadedDataset, name: str, codes: Sequence[str]) -> str:
    """`name` is one of `codes`. ENUM columns are compared on their positions (enum_code): an IN list
    of strings is compared as strings row by row, several times slower; a contiguous run of positions
    (a period, most of a list) becomes a range, faster still. NULL never matches, as with IN."""
    col = q(name)
    if not codes:
        return "FALSE"
    enum = ds.enums.get(name)
    if enum is None:
        return f"{col} IN ({', '.join(lit(c) for c in codes)})"
    position = {c: i for i, c in enumerate(enum)}
    wanted = sorted({position[c] for c in codes})
    lo, hi, last = wanted[0], wanted[-1], len(enum) - 1
    code = f"enum_code({col})"
    if hi - lo + 1 == len(wanted):
        if lo == 0 and hi == last:
            return f"{col} IS NOT NULL"
        if lo == 0:
            return f"{code} <= {hi}"
        if hi == last:
            return f"{code} >= {lo}"
        return f"{code} BETWEEN {lo} AND {hi}"
    gap = sorted(set(range(lo, hi + 1)) - set(wanted))
    if lo == 0 and hi == last and gap[-1] - gap[0] + 1 == len(gap):
        return f"{code} NOT BETWEEN {gap[0]} AND {gap[-1]}"
    return f"{code} IN ({', '.join(map(str, wanted))})"


# --- exact aggregates, then protection ------------------------------------------------------

def _lookup(ds: LoadedDataset, d: _Dim) -> tuple[str, Mapping | np.ndarray]:
    """How a dimension is grouped on in SQL, and how a group key maps to its shown category's index:
    ENUM columns by position (an array indexed by enum_code, -1 for a value not shown), other columns
    by value (a dict); multiple choice by the index of the shown option joined in `_grid`."""
    if d.var.type == "multiple":
        return "option", np.arange(len(d.categories))
    index = {c: i for i, c in enumerate(d.categories)}
    enum = ds.enums.get(d.var.name)
    if enum is not None:
        return "enum", np.array([index.get(d.merge.get(c, c), -1) for c in enum], dtype=np.int64)
    return "value", {c: index.get(d.merge.get(c, c), -1) for c in get_engine().category_sizes(ds, d.var)}


def _grid(ds: LoadedDataset, dims: Sequence[_Dim], where: str) -> tuple[pd.DataFrame, int, int]:
    """Exact counts and raw record-key sums per shown cell over the full grid of categories, and the
    population (respondents matching `where`: count and key sum), from one statement.

    Without a multiple-choice dimension every respondent falls in exactly one group, and one scan
    gives the cells and, as the grouping set (), the population. A multiple-choice dimension joins
    each respondent to every option they chose (one row per option, none when they chose nothing):
    there the scan counts respondents per combination of stored answers, and both the cells (by a
    join to the options) and the population (a sum) are computed from those few groups.
    """
    t = q(ds.table)
    if not dims:
        row = get_engine().query_arrays(f"SELECT count(*) AS n, coalesce(sum({RKEY}), 0)::BIGINT AS k "
                                        f"FROM {t} WHERE {where}")
        pop_n, pop_k = int(row["n"][0]), int(row["k"][0])
        return pd.DataFrame({"n": [pop_n], "k": [pop_k]}), pop_n, pop_k
    if any(not d.categories for d in dims):  # nothing to show (e.g. every option merged away): no cells
        _, pop_n, pop_k = _grid(ds, [], where)
        empty = pd.DataFrame({d.var.name: np.array([], dtype=object) for d in dims})
        empty["n"], empty["k"] = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return empty, pop_n, pop_k
    lookups = [_lookup(ds, d) for d in dims]
    # Group on the stored ENUMs (perfect hashing), then turn the few groups into positions.
    outer = [f"enum_code(g{i})" if how == "enum" else f"g{i}::VARCHAR" if how == "value" else f"g{i}"
             for i, (how, _) in enumerate(lookups)]
    group = ", ".join(f"g{i}" for i in range(len(dims)))
    if any(d.var.type == "multiple" for d in dims):
        # Count respondents per combination of stored answers first (a few thousand groups), then
        # join only those to the options they chose: several times faster than joining every row.
        stored, keys, joins = [], [], []
        for i, d in enumerate(dims):
            stored.append(f"{q(d.var.name)} AS s{i}")
            if d.var.type == "multiple":
                alias = q(f"_o{i}")
                values = ", ".join(f"({j}, {mask})" for j, (_, mask) in enumerate(d.masks))
                joins.append(f"JOIN (VALUES {values}) AS {alias}(_opt, _bits) ON (s{i} & {alias}._bits) <> 0")
                keys.append(f"{alias}._opt AS g{i}")
            else:
                keys.append(f"s{i} AS g{i}")
        nulls = ", ".join("NULL" for _ in dims)
        inner = (f"WITH p AS MATERIALIZED (SELECT {', '.join(stored)}, count(*) AS n, sum({RKEY}) AS k "
                 f"FROM {t} WHERE {where} GROUP BY ALL) "
                 f"SELECT {', '.join(keys)}, sum(n) AS n, sum(k) AS k, false AS total FROM p {' '.join(joins)} "
                 f"GROUP BY {group} UNION ALL SELECT {nulls}, sum(n), sum(k), true FROM p")
    else:
        select = ", ".join(f"{q(d.var.name)} AS g{i}" for i, d in enumerate(dims))
        inner = (f"SELECT {select}, count(*) AS n, sum({RKEY}) AS k, grouping({group}) > 0 AS total "
                 f"FROM {t} WHERE {where} GROUP BY GROUPING SETS (({group}), ())")
    found = get_engine().query_arrays(
        f"SELECT {', '.join(f'{o} AS g{i}' for i, o in enumerate(outer))}, "
        f"coalesce(n, 0)::BIGINT AS n, coalesce(k, 0)::BIGINT AS k, total FROM ({inner})")
    total = np.ma.getdata(found["total"]).astype(bool)
    n_all, k_all = np.ma.getdata(found["n"]).astype(np.int64), np.ma.getdata(found["k"]).astype(np.int64)
    pop_n, pop_k = int(n_all[total].sum()), int(k_all[total].sum())
    index = []
    for i, (how, lookup) in enumerate(lookups):
        g = np.ma.getdata(found[f"g{i}"])[~total]
        if how == "value":
            index.append(np.array([lookup.get(v, -1) for v in g], dtype=np.int64))
        else:
            index.append(lookup[g.astype(np.int64)])
    shape = tuple(len(d.categories) for d in dims)
    size = int(np.prod(shape))
    n, k = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    if len(index[0]):
        index = np.array(index)
        shown = (index >= 0).all(axis=0)
        flat = np.ravel_multi_index(tuple(index[:, shown]), shape)
        np.add.at(n, flat, n_all[~total][shown])
        np.add.at(k, flat, k_all[~total][shown])
    positions = np.unravel_index(np.arange(size), shape)
    cells = pd.DataFrame({d.var.name: np.array(d.categories, dtype=object)[p] for d, p in zip(dims, positions)})
    cells["n"], cells["k"] = n, k
    return cells, pop_n, pop_k


def _perturb(n, k) -> np.ndarray:
    return get_engine().perturbation.perturb(n, k)


@dataclass
class _Table:
    cells: pd.DataFrame      # dims..., n (exact), k, count (shown, Int64), suppressed
    base: int | None         # the table's population as shown


def _protect(cells: pd.DataFrame, pop_n: int, pop_k: int, public: bool, sparse_rule: bool = True) -> _Table:
    """The one protection step of every count table (crosstabs, shares' bases, flows): exact for
    researchers; for the public, rule 3 on the perturbed population, then rule 1 (perturbation),
    rule 2 (suppression) and, unless `sparse_rule` is off, rule 4."""
    if not public:
        cells["count"] = pd.array(cells["n"], dtype="Int64")
        cells["suppressed"] = False
        return _Table(cells, pop_n)
    base = int(_perturb([pop_n], [pop_k])[0])
    disclosure.check_population(base)
    shown = _perturb(cells["n"].to_numpy(), cells["k"].to_numpy())
    hidden = disclosure.suppressed(shown)
    if sparse_rule:
        disclosure.check_sparsity(cells["n"].to_numpy(), hidden)
    cells["count"] = pd.array(np.where(hidden, None, shown), dtype="Int64")
    cells["suppressed"] = hidden
    return _Table(cells, base)


def _dims(ds: LoadedDataset, names: Sequence[str], public: bool) -> list[_Dim]:
    """A table's dimensions, checked: distinct, available to the tier, rule 5, and not too many cells."""
    if len(names) != len(set(names)):
        raise ValueError("a variable appears twice in the table")
    variables = [_variable(ds, n, public, role="dimension") for n in names]
    if len(variables) > MAX_VARIABLES:
        raise ValueError(f"at most {MAX_VARIABLES} variables in one table")
    if public:
        disclosure.check_variables(variables)
    _check_answered(ds, variables)
    dims = [_dim(ds, v, public) for v in variables]
    if np.prod([len(d.categories) for d in dims], dtype=float) > MAX_CELLS:
        raise disclosure.TableRefused(4, "too_many_cells", "This table would have too many cells: "
                                      "use fewer or coarser variables.", limit=MAX_CELLS)
    return dims


def _table(ds: LoadedDataset, names: Sequence[str], filters, public: bool) -> _Table:
    dims = _dims(ds, names, public)
    where = _where(ds, filters, public, not_null=names)
    cells, pop_n, pop_k = _grid(ds, dims, where)
    return _protect(cells, pop_n, pop_k, public)


def _result(df: pd.DataFrame, ds: LoadedDataset, tier: str, filters, base) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.attrs.update(dataset=ds.name, tier=tier, synthetic=ds.synthetic,
                    filters={k: list(v) for k, v in (filters or {}).items() if v}, base=base)
    return df


# --- the API --------------------------------------------------------------------------------

def crosstab(dataset: str, rows: Sequence[str], columns: Sequence[str] = (),
             filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """Counts by up to four categorical variables: one row per cell of the full grid.

    Columns: one per variable of `rows` and `columns` (category codes; "_other" for categories merged
    by rule 8 in the public tier), `count` (nullable Int64: perturbed in the public tier, missing where
    suppressed; exact otherwise) and `suppressed` (bool). `df.attrs["base"]` is the table's population
    (respondents matching the filters with an answer to every variable), protected like a count.
    Raises core.disclosure.TableRefused when the public rules refuse the table, UnknownFilter for a
    bad filter, PermissionError for a non-public variable in the public tier.
    """
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    names = [*rows, *columns]
    if not names:
        raise ValueError("a table needs at least one variable")
    table = _table(ds, names, filters, public)
    return _result(table.cells[[*names, "count", "suppressed"]], ds, tier, filters, table.base)


def total(dataset: str, filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> int:
    """The number of respondents matching the filters (perturbed in the public tier; refused under
    rule 3 when too small)."""
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    return int(_table(ds, [], filters, public).base)


def shares(dataset: str, variable: str, by: Sequence[str] = (),
           filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """The share of respondents choosing each category of `variable`, within each group of `by`.

    Columns: by..., variable, `count`, `base` (respondents who answered, in the group), `share`
    (0 to 1, missing where withheld), `flag` ("" when shown; else "suppressed", "base_too_small",
    "under_band" or "over_band": see core.disclosure.share_flags), `suppressed`. For a multiple-choice
    variable shares do not add up to one: each is out of the respondents asked.
    """
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    by = list(by)
    dims = _dims(ds, [*by, variable], public)
    where = _where(ds, filters, public, not_null=[*by, variable])
    cells, pop_n, pop_k = _grid(ds, dims, where)
    # The bases, respondents of each group who answered `variable`, have the same filter and so the
    # same population as the table. A single-choice answer is in exactly one category, so a group's
    # base (count and key sum) is the sum of its cells; a respondent may choose several options of a
    # multiple-choice variable, or none, so there the bases are counted.
    if not by:
        base_cells = pd.DataFrame({"n": [pop_n], "k": [pop_k]})
    elif dims[-1].var.type != "multiple" and dims[-1].categories:
        groups = int(np.prod([len(d.categories) for d in dims[:-1]]))
        base_cells = cells.iloc[::len(dims[-1].categories)][by].reset_index(drop=True)
        for col in ("n", "k"):
            base_cells[col] = cells[col].to_numpy().reshape(groups, -1).sum(axis=1)
    else:
        base_cells, _, _ = _grid(ds, dims[:-1], where)
    table = _protect(cells, pop_n, pop_k, public)
    bases = _protect(base_cells, pop_n, pop_k, public, sparse_rule=False)
    cells = table.cells
    if by:
        base_counts = bases.cells[[*by, "count"]].rename(columns={"count": "base"})
        cells = cells.merge(base_counts, on=list(by), how="left")
    else:
        cells["base"] = pd.array([bases.base] * len(cells), dtype="Int64")
    counts = cells["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    base_values = cells["base"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if public:
        share, flag = disclosure.share_flags(counts, base_values, ds.codebook[variable].sensitive)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            share = counts / base_values
        flag = np.full(len(cells), "", dtype=object)
    cells["share"] = pd.array(share, dtype="Float64")
    cells["flag"] = flag
    out = cells[[*by, variable, "count", "base", "share", "flag", "suppressed"]]
    return _result(out, ds, tier, filters, bases.base)


def timeseries(dataset: str, variable: str | None = None,
               filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """By quarter of interview: counts of respondents, or with `variable` the shares of its categories."""
    if variable is None:
        return crosstab(dataset, ["interview_quarter"], filters=filters, tier=tier)
    return shares(dataset, variable, by=["interview_quarter"], filters=filters, tier=tier)


def _flow_pairs(kind: str) -> list[tuple[str, str]]:
    if kind == "origin_interview":
        return [("nationality", "country_of_interview")]
    if kind == "interview_destination":
        return [("country_of_interview", "intended_destination")]
    if kind == "route":
        return list(zip(ROUTE, ROUTE[1:]))
    if kind == "return_interview":
        return [("country_returned_from", "country_of_interview")]
    raise ValueError(f"unknown flow kind {kind!r}; one of {', '.join(FLOW_KINDS)}")


def flow_variables(kind: str) -> tuple[str, str]:
    """The variables at the two ends of a kind of flow other than "route" (whose segments join
    several): (origin variable, destination variable)."""
    if kind == "route":
        raise ValueError("route segments join several variables")
    return _flow_pairs(kind)[0]


def flow_kinds(dataset: str) -> list[str]:
    """The kinds of flows a dataset has the questions for, in FLOW_KINDS order."""
    codebook = get_engine().dataset(dataset).codebook
    return [kind for kind in FLOW_KINDS if all(c in codebook for pair in _flow_pairs(kind) for c in pair)]


def flows(dataset: str, kind: str = "origin_interview",
          filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """Respondents per country-to-country link, for maps.

    kind: "origin_interview" (nationality -> country of interview), "interview_destination"
    (country of interview -> intended destination), "return_interview" (country returned from ->
    country of interview) or "route" (segments between consecutive
    countries of departure, transit countries 1-3 and country of interview; a respondent counts
    once per segment). Columns: `origin`, `destination`, `count`, `suppressed`; only links with at
    least one respondent. In the public tier counts are perturbed, small ones suppressed (the map
    leaves them out and `attrs["hidden"]` says how many), countries under rule 8's size merged to
    "_other"; the table is refused when its population is under rule 3's minimum.
    """
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    pairs = _flow_pairs(kind)
    cols = [c for pair in pairs for c in pair]
    _check_answered(ds, [_variable(ds, c, public, role="dimension") for c in dict.fromkeys(cols)])
    where = _where(ds, filters, public)
    t = q(ds.table)
    if kind == "route":
        # Consecutive non-missing countries: transit countries are filled in order, so the next
        # country after a stop is the next transit country, or the country of interview. A respondent
        # counts once per segment: a leg that repeats an earlier leg of the same route (the same two
        # countries in the same order) is left out. All country columns share one ENUM dictionary,
        # so that these comparisons and coalesce() work on codes.
        legs = []
        for j, a in enumerate(ROUTE[:-1]):
            b = f"coalesce({', '.join(q(c) for c in ROUTE[j + 1:])})"
            repeats = [f"({q(ROUTE[i])} = {q(a)} AND coalesce({', '.join(q(c) for c in ROUTE[i + 1:j + 1])}) = {b})"
                       for i in range(j)]
            new_leg = f" AND NOT coalesce({' OR '.join(repeats)}, false)" if repeats else ""
            legs.append(f"SELECT {q(a)} AS a, {b} AS b, count(*) AS n, sum({RKEY}) AS k FROM {t} "
                        f"WHERE {where} AND {q(a)} IS NOT NULL AND {b} IS NOT NULL AND {q(a)} <> {b}{new_leg} "
                        f"GROUP BY 1, 2")
        cells = get_engine().query(f"SELECT a::VARCHAR AS origin, b::VARCHAR AS destination, sum(n) AS n, "
                                   f"sum(k) AS k FROM ({' UNION ALL '.join(legs)}) GROUP BY 1, 2")
        # The population is counted apart: a respondent is in as many links as segments.
        row = get_engine().query(f"SELECT count(*) AS n, coalesce(sum({RKEY}), 0) AS k FROM {t} "
                                 f"WHERE {where} AND {q(pairs[0][0])} IS NOT NULL").iloc[0]
        pop_n, pop_k = int(row["n"]), int(row["k"])
    else:
        # Group on the stored ENUMs, then turn the few links into strings.
        a, b = pairs[0]
        cells = get_engine().query(
            f"SELECT a::VARCHAR AS origin, b::VARCHAR AS destination, n, k FROM ("
            f"SELECT {q(a)} AS a, {q(b)} AS b, count(*) AS n, sum({RKEY}) AS k FROM {t} "
            f"WHERE {where} AND {q(a)} IS NOT NULL AND {q(b)} IS NOT NULL GROUP BY 1, 2)")
        # Every respondent with both countries is in exactly one link: the population is their sum.
        pop_n, pop_k = int(cells["n"].sum()), int(cells["k"].sum())
    cells[["n", "k"]] = cells[["n", "k"]].astype("int64")
    if not public:
        cells = _protect(cells, pop_n, pop_k, public).cells
        out = cells.sort_values("n", ascending=False)[["origin", "destination", "count", "suppressed"]]
        result = _result(out, ds, tier, filters, pop_n)
        result.attrs["hidden"] = 0
        return result
    # Rule 8: a country too small in any of the link's variables is shown as "Other".
    small = set()
    for c in dict.fromkeys(cols):
        small |= disclosure.small_categories(get_engine().category_sizes(ds, ds.codebook[c]))
    for side in ("origin", "destination"):
        cells[side] = cells[side].where(~cells[side].isin(small), OTHER)
    cells = cells.groupby(["origin", "destination"], as_index=False)[["n", "k"]].sum()
    table = _protect(cells, pop_n, pop_k, public, sparse_rule=False)
    hidden = table.cells["suppressed"].to_numpy()
    out = table.cells.sort_values("count", ascending=False, na_position="last")
    result = _result(out[["origin", "destination", "count", "suppressed"]], ds, tier, filters, table.base)
    result.attrs["hidden"] = int(hidden.sum())
    return result


def _shown_sql(ds: LoadedDataset, d: _Dim) -> tuple[str, str]:
    """A single-choice column grouped by its shown category (quantiles cannot be merged after the
    fact): the expression to group on, kept an ENUM (categories merged by rule 8 become NULL, which
    no stored value of a column filtered on IS NOT NULL is), and the one that turns it into the code."""
    col = q(d.var.name)
    if not d.merge:
        return col, f"{col}::VARCHAR"
    return (f"CASE WHEN {_in_sql(ds, d.var.name, list(d.merge))} THEN NULL ELSE {col} END",
            f"coalesce({col}::VARCHAR, {lit(OTHER)})")


def _number_variable(ds: LoadedDataset, name: str, public: bool) -> Variable:
    var = ds.codebook[name]
    if var.type != "number":
        raise ValueError(f"{name!r} is not a number variable")
    if public and not var.public:
        raise PermissionError(f"{name!r} is not available in the public tier")
    return var


def summary(dataset: str, variable: str, by: Sequence[str] = (),
            filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """Mean, quartiles and sum of a number variable, within each group of `by`.

    Columns: by..., `contributors`, `mean`, `p25`, `median`, `p75`, `sum`, and `flag` ("" or why the
    figures are withheld); researchers also get `min` and `max`. Public: rule 7 (enough contributors,
    no dominance), contributors perturbed, figures to 3 significant digits, never a minimum or maximum.
    """
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    var = _number_variable(ds, variable, public)
    by_vars = [_variable(ds, b, public, role="dimension") for b in by]
    if any(v.type == "multiple" for v in by_vars):
        raise ValueError("summaries break down by single-choice, country or quarter variables only")
    if public:
        disclosure.check_variables([*by_vars, var])
    _check_answered(ds, [var, *by_vars])
    dims = [_dim(ds, v, public) for v in by_vars]
    where = _where(ds, filters, public, not_null=[*by, variable])
    x, s = q(variable), disclosure.settings()
    shown = [_shown_sql(ds, d) for d in dims]
    figures = ["n", "k", "mean", "qs", "sum", "min", "max", "abs_total", "top"]
    sql = (f"SELECT {', '.join([f'{g} AS {q(d.var.name)}' for d, (g, _) in zip(dims, shown)] + [''])} "
           f"count({x}) AS n, sum({RKEY}) AS k, avg({x}) AS mean, "
           f"quantile_cont({x}, [0.25, 0.5, 0.75]) AS qs, sum({x}) AS sum, min({x}) AS min, "
           f"max({x}) AS max, sum(abs({x})) AS abs_total, list_sum(max(abs({x}), {s.dominance_n})) AS top "
           f"FROM {q(ds.table)} WHERE {where}" + (" GROUP BY ALL" if by else ""))
    if by:  # grouped on ENUMs; only the few groups become strings
        sql = f"SELECT {', '.join([f'{c} AS {q(d.var.name)}' for d, (_, c) in zip(dims, shown)] + figures)} FROM ({sql})"
    df = get_engine().query(sql)
    for col, i in (("p25", 0), ("median", 1), ("p75", 2)):
        df[col] = [qs[i] if isinstance(qs, list | tuple | np.ndarray) and len(qs) > i else np.nan
                   for qs in df["qs"]]
    df = df[df["n"] > 0].reset_index(drop=True)
    if not public:
        df["contributors"] = pd.array(df["n"], dtype="Int64")
        df["flag"] = ""
        cols = [*by, "contributors", "mean", "p25", "median", "p75", "sum", "min", "max", "flag"]
        return _result(df[cols], ds, tier, filters, int(df["n"].sum()))
    # Every contributor is in exactly one group: the population is the groups' sum.
    pop_n, pop_k = int(df["n"].sum()), int(df["k"].sum())
    base = int(_perturb([pop_n], [pop_k])[0])
    disclosure.check_population(base)
    shown = _perturb(df["n"].to_numpy(), df["k"].to_numpy())
    hidden = disclosure.suppressed(shown)
    flags = []
    for n, top, abs_total, h in zip(df["n"], df["top"], df["abs_total"], hidden):
        if h or n < s.min_contributors:
            flags.append("too_few_contributors")
        elif abs_total > 0 and top >= s.dominance_k * abs_total:
            flags.append("dominated")
        else:
            flags.append("")
    df["flag"] = flags
    df["contributors"] = pd.array(np.where(hidden, None, shown), dtype="Int64")
    ok = df["flag"] == ""
    for col in ("mean", "p25", "median", "p75", "sum"):
        df[col] = [disclosure.round_magnitude(float(v)) if keep else np.nan for v, keep in zip(df[col], ok)]
    cols = [*by, "contributors", "mean", "p25", "median", "p75", "sum", "flag"]
    return _result(df[cols], ds, tier, filters, base)


MAX_BINS = 40


def distribution(dataset: str, variable: str, edges: Sequence[float],
                 filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """Respondents per interval of a number variable, protected like a crosstab's counts.

    `edges` (increasing) make the intervals [edges[0], edges[1]), ..., [edges[-1], no upper bound);
    values under edges[0] count in the first. The caller fixes the edges from the codebook or from
    public figures (e.g. summary's rounded quartiles), never from the raw values' extremes, which
    rule 7 keeps from the public. Columns: `lower`, `upper` (NaN for the last, open interval), `count`
    (perturbed, missing where suppressed, in the public tier), `suppressed`. Public: rules 1 to 4 as
    for crosstab (a population under rule 3's minimum, or a mostly hidden distribution, is refused).
    """
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    _check_answered(ds, [_number_variable(ds, variable, public)])
    edges = [float(e) for e in edges]
    if not edges or len(edges) > MAX_BINS or any(b <= a for a, b in zip(edges, edges[1:])) \
            or not all(np.isfinite(edges)):
        raise ValueError(f"edges must be 1 to {MAX_BINS} increasing finite numbers")
    where = _where(ds, filters, public, not_null=[variable])
    x = q(variable)
    # The interval's index: how many edges after the first the value has reached.
    index = " + ".join(f"({x} >= {e!r})::INTEGER" for e in edges[1:]) or "0"
    found = get_engine().query_arrays(f"SELECT {index} AS i, count(*) AS n, sum({RKEY})::BIGINT AS k "
                                      f"FROM {q(ds.table)} WHERE {where} GROUP BY 1")
    n, k = np.zeros(len(edges), dtype=np.int64), np.zeros(len(edges), dtype=np.int64)
    i = np.ma.getdata(found["i"]).astype(np.int64)
    n[i], k[i] = np.ma.getdata(found["n"]), np.ma.getdata(found["k"])
    cells = pd.DataFrame({"lower": edges, "upper": [*edges[1:], np.nan], "n": n, "k": k})
    table = _protect(cells, int(n.sum()), int(k.sum()), public)
    return _result(table.cells[["lower", "upper", "count", "suppressed"]], ds, tier, filters, table.base)


def microdata(dataset: str, columns: Sequence[str] | None = None,
              filters: Mapping[str, Sequence[str]] | None = None, tier: str = "researcher",
              limit: int | None = None, offset: int = 0, sort: str | None = None,
              descending: bool = False) -> pd.DataFrame:
    """Respondents' rows, for the researcher and admin tiers only (PermissionError for "public").

    `respondent_id` always comes first. Single choice and country values are codes; a
    multiple-choice answer is the list of chosen codes (missing when not asked). Rows come in
    respondent order, or sorted on `sort` (single choices in codebook order, missing values last, ties
    in respondent order): a page (`limit`, `offset`) is cut on the server, so that only it is sent.
    """
    if _is_public(tier):
        raise PermissionError("Microdata are not available in the public tier.")
    ds = get_engine().dataset(dataset)
    names = list(dict.fromkeys(["respondent_id", *(columns or ds.codebook.variables)]))
    for n in names:
        if n not in ds.codebook:
            raise KeyError(f"{dataset} has no variable {n!r}")
    where = _where(ds, filters, public=False)
    order = "respondent_id"
    if sort is not None and sort != "respondent_id":
        if sort not in ds.codebook:
            raise KeyError(f"{dataset} has no variable {sort!r}")
        if ds.codebook[sort].type == "multiple":
            raise ValueError(f"{sort!r} is a multiple-choice variable: rows cannot be sorted on it")
        order = f"{q(sort)} {'DESC' if descending else 'ASC'} NULLS LAST, respondent_id"
    elif descending:
        order = "respondent_id DESC"
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    df = get_engine().query(f"SELECT {', '.join(q(n) for n in names)} FROM {q(ds.table)} "
                            f"WHERE {where} ORDER BY {order}{page}")
    for n in names:
        var = ds.codebook[n]
        if var.type == "multiple":
            decoded = {m: [c for i, c in enumerate(var.codes) if int(m) >> i & 1]
                       for m in df[n].dropna().unique()}
            df[n] = [None if pd.isna(m) else decoded[m] for m in df[n]]
        elif var.categorical:
            df[n] = df[n].astype("string")
    return _result(df, ds, tier, filters, len(df))
