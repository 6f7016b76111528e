"""The portal's Python API: every figure the portal shows comes from these functions.

Usable from a notebook without Streamlit::

    from core.query.tables import crosstab, microdata
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
from core.data.codebook import OTHER, Variable
from core.data.engine import RKEY, LoadedDataset, get_engine, ident, lit

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
        n = get_engine().query_arrays(f"SELECT count({ident(var.name)}) AS n FROM {ident(ds.table)}")["n"][0]
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
class _Public:
    """What the public tier may see of one data version, decided once from whole-dataset protected
    counts (rule 8, core.disclosure.public_categories): each public categorical variable's categories,
    and the respondents every public figure counts (`universe`: an SQL condition leaving out those in
    withheld categories)."""

    categories: Mapping[str, disclosure.PublicCategories]
    universe: str


def _public(ds: LoadedDataset) -> _Public:
    if ds.public is None:  # computed at most a few times at once, with the same result
        ds.public = _decide_public(ds)
    return ds.public


def _decide_public(ds: LoadedDataset) -> _Public:
    """Two statements: every single-choice, country and time variable's categories, then every
    multiple-choice option and those asked; each with its count and key sum, perturbed (rule 1) for
    rule 8's decision."""
    engine, t = get_engine(), ident(ds.table)
    variables = [v for v in ds.codebook.variables.values() if v.categorical and v.public]
    grouped = [v for v in variables if v.type != "multiple"]
    found: dict[str, dict[str, tuple[int, int]]] = {v.name: {} for v in variables}
    if grouped:  # one statement, a grouping per variable (faster here than GROUPING SETS over many columns)
        parts = [f"SELECT {i} AS v, {ident(v.name)}::VARCHAR AS code, count(*) AS n, sum({RKEY}) AS k FROM {t} "
                 f"WHERE {ident(v.name)} IS NOT NULL GROUP BY {ident(v.name)}" for i, v in enumerate(grouped)]
        df = engine.query(" UNION ALL ".join(parts))
        for i, c, n, k in zip(df["v"], df["code"], df["n"], df["k"]):
            found[grouped[int(i)].name][c] = (int(n), int(k))
    answered = {v.name: (sum(n for n, _ in found[v.name].values()), sum(k for _, k in found[v.name].values()))
                for v in grouped}  # exclusive answers: the categories add up to those who answered
    options = [v for v in variables if v.type == "multiple"]
    if options:  # per stored answer first (few groups), then each option; option -1: those asked
        parts = [f"SELECT {j} AS v, i, sum(n) AS n, sum(k) AS k FROM (SELECT {ident(v.name)} AS m, count(*) AS n, "
                 f"sum({RKEY}) AS k FROM {t} WHERE {ident(v.name)} IS NOT NULL GROUP BY 1) AS p, range(-1, {len(v.codes)}) "
                 f"AS r(i) WHERE i = -1 OR (m >> i) & 1 = 1 GROUP BY i" for j, v in enumerate(options)]
        df = engine.query(" UNION ALL ".join(parts))
        for j, i, n, k in zip(df["v"], df["i"], df["n"], df["k"]):
            var = options[int(j)]
            if i < 0:
                answered[var.name] = (int(n), int(k))
            else:
                found[var.name][var.codes[int(i)]] = (int(n), int(k))
    perturb = engine.perturbation.perturb
    categories, withheld = {}, []
    for var in variables:
        if var.name not in ds.sizes:
            engine.set_category_sizes(ds, var, {c: n for c, (n, _) in found[var.name].items()})
        order = list(ds.sizes[var.name])
        pairs = [found[var.name].get(c, (0, 0)) for c in order]
        shown = perturb([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else []
        n, k = answered.get(var.name, (0, 0))
        respondents = int(perturb([n], [k])[0])
        kind = {"quarter": "time", "year": "time"}.get(var.type, var.type)
        decided = disclosure.public_categories(dict(zip(order, map(int, shown))), respondents, kind)
        categories[var.name] = decided
        if decided.withheld and var.type != "multiple":
            withheld.append(f"NOT coalesce({_in_sql(ds, var.name, sorted(decided.withheld))}, false)")
    return _Public(categories, " AND ".join(withheld) or "TRUE")


@dataclass(frozen=True)
class _Dim:
    var: Variable
    categories: tuple[str, ...]          # the categories the result shows, in display order
    merge: Mapping[str, str]            # stored code -> shown code, for codes shown otherwise
    masks: tuple[tuple[str, int], ...]  # multiple choice: shown code -> bits that count for it


def _dim(ds: LoadedDataset, var: Variable, public: bool) -> _Dim:
    if public:
        decided = _public(ds).categories[var.name]
        shown, merged = list(decided.shown), decided.merged
    else:  # researchers see every category as stored
        shown, merged = list(get_engine().category_sizes(ds, var)), frozenset()
    merge = {c: OTHER for c in merged}
    masks: tuple[tuple[str, int], ...] = ()
    if var.type == "multiple":
        bit = {code: 1 << i for i, code in enumerate(var.codes)}
        masks = tuple((c, sum(bit[m] for m in merged) if c == OTHER else bit[c]) for c in shown)
    return _Dim(var, tuple(shown), merge, masks)


def categories(dataset: str, variable: str, tier: str = "public") -> list[str]:
    """The category codes a tier may see and filter on, in display order ("_other" last)."""
    ds = get_engine().dataset(dataset)
    var = _variable(ds, variable, _is_public(tier), role="variable")
    return list(_dim(ds, var, _is_public(tier)).categories)


def public_groups(dataset: str, variable: str) -> dict[str, list[str]]:
    """Groups of categories the public tier may filter `variable` on beyond one category (rule 12): for
    the quarter of interview, each year's quarters, keyed by year. Empty for other variables."""
    ds = get_engine().dataset(dataset)
    var = ds.codebook[variable]
    if var.type != "quarter":
        return {}
    groups: dict[str, list[str]] = {}
    for code in _public(ds).categories[variable].shown:
        groups.setdefault(code[:4], []).append(code)
    return groups


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


def _check_public_filter(ds: LoadedDataset, var: Variable, codes: Sequence[str], shown: Sequence[str]) -> None:
    """Rule 12: a public filter keeps one category, every category (an answer to the question), or a
    group the codebook defines (a year's quarters), never an arbitrary list: a small cell must not be
    the difference of many different shown sets."""
    if len(codes) <= 1 or set(codes) == set(shown):
        return
    if var.type == "quarter" and sorted(codes) in public_groups(ds.name, var.name).values():
        return
    raise disclosure.TableRefused(
        12, "filter_not_public",
        f"In the public tier a filter keeps one answer of {var.name!r} (or a whole year of quarters): "
        "choose one.", variable=var.name)


def _where(ds: LoadedDataset, filters: Mapping[str, Sequence[str]] | None, public: bool,
           not_null: Sequence[str] = ()) -> str:
    clauses = [f"{ident(name)} IS NOT NULL" for name in not_null]
    if public:
        clauses.append(_public(ds).universe)
    for name, codes in (filters or {}).items():
        var = _variable(ds, name, public, role="filter")
        codes = list(dict.fromkeys(codes))
        if not codes:
            continue
        sizes = get_engine().category_sizes(ds, var)
        decided = _public(ds).categories.get(name)
        merged = decided.merged if decided else frozenset()
        # "_other" means the same categories in every tier, so a public link works for researchers.
        allowed = _dim(ds, var, public).categories if public else [*sizes, *([OTHER] if merged else [])]
        for code in codes:
            if code not in allowed:
                raise UnknownFilter(f"{code!r} is not a category of {name!r} here", name, code)
        if public:
            _check_public_filter(ds, var, codes, allowed)
        wanted = set(codes)
        stored = [c for c in sizes if c in wanted or (OTHER in wanted and c in merged)]
        if var.type == "multiple":
            mask = sum(1 << var.codes.index(c) for c in stored)
            clauses.append(f"({ident(name)} & {mask}) <> 0")
        else:
            clauses.append(_in_sql(ds, name, stored))
    return " AND ".join(c for c in clauses if c != "TRUE") or "TRUE"


def _in_sql(ds: LoadedDataset, name: str, codes: Sequence[str]) -> str:
    """`name` is one of `codes`. ENUM columns are compared on their positions (enum_code): an IN list
    of strings is compared as strings row by row, several times slower; a contiguous run of positions
    (a period, most of a list) becomes a range, faster still. NULL never matches, as with IN."""
    col = ident(name)
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
    t = ident(ds.table)
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
            stored.append(f"{ident(d.var.name)} AS s{i}")
            if d.var.type == "multiple":
                alias = ident(f"_o{i}")
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
        select = ", ".join(f"{ident(d.var.name)} AS g{i}" for i, d in enumerate(dims))
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


def _protect(cells: pd.DataFrame, pop_n: int, pop_k: int, public: bool,
             shape: tuple[int, ...] | None = None) -> _Table:
    """The one protection step of every count table (crosstabs, shares' bases, flows): exact for
    researchers; for the public, rule 3 on the perturbed population, then rule 1 (perturbation),
    rule 2 (suppression) and, for a table of two or more variables whose grid has `shape`, rule 4."""
    if not public:
        cells["count"] = pd.array(cells["n"], dtype="Int64")
        cells["suppressed"] = False
        cells["flag"] = ""
        return _Table(cells, pop_n)
    base = int(_perturb([pop_n], [pop_k])[0])
    disclosure.check_population(base)
    shown = _perturb(cells["n"].to_numpy(), cells["k"].to_numpy())
    hidden = disclosure.suppressed(shown)
    if shape is not None and len(shape) > 1:
        disclosure.check_sparsity(hidden[_in_shown_margins(cells, shape)])
    cells["count"] = pd.array(np.where(hidden, None, shown), dtype="Int64")
    cells["suppressed"] = hidden
    cells["flag"] = np.where(hidden, "suppressed", "")
    return _Table(cells, base)


def _in_shown_margins(cells: pd.DataFrame, shape: tuple[int, ...]) -> np.ndarray:
    """The cells of a grid whose every category is shown in the table's one-way margins (a protected
    count of at least rule 2's minimum): rule 4 counts only those, so that a nationality absent from a
    region (a row of zeros, its margin "<10" too) does not refuse the table, and the decision depends on
    protected counts only. A margin is the sum of its cells' counts and keys, the same respondents as
    the one-way table under the same filters (for a multiple-choice variable, near enough: it is only
    used to decide which cells rule 4 looks at)."""
    n = cells["n"].to_numpy().reshape(shape)
    k = cells["k"].to_numpy().reshape(shape)
    keep = np.ones(shape, dtype=bool)
    for axis in range(len(shape)):
        others = tuple(a for a in range(len(shape)) if a != axis)
        margin = _perturb(n.sum(axis=others), k.sum(axis=others))
        shown = ~disclosure.suppressed(margin)
        keep &= shown.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return keep.ravel()


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
    table = _protect(cells, pop_n, pop_k, public, shape=_shape(dims))
    if public:
        for i, d in enumerate(dims):
            if d.var.sensitive:
                _band_counts(ds, dims, i, where, table)
    return table


def _shape(dims: Sequence[_Dim]) -> tuple[int, ...]:
    return tuple(len(d.categories) for d in dims)


def _group_bases(ds: LoadedDataset, dims: Sequence[_Dim], i: int, where: str, cells: pd.DataFrame) -> _Table:
    """For each group of a table's other dimensions, the respondents who answered dims[i], protected:
    the sum of the group's cells where answers exclude each other (the same respondents, so the same
    value as that group's count in any other table), else counted."""
    others = [d for j, d in enumerate(dims) if j != i]
    if dims[i].var.type != "multiple":
        n = cells["n"].to_numpy().reshape(_shape(dims))
        k = cells["k"].to_numpy().reshape(_shape(dims))
        grouped = pd.DataFrame({"n": n.sum(axis=i).ravel(), "k": k.sum(axis=i).ravel()})
        positions = np.unravel_index(np.arange(len(grouped)), _shape(others)) if others else ()
        for d, p in zip(others, positions):
            grouped[d.var.name] = np.array(d.categories, dtype=object)[p]
        if not others:
            grouped = pd.DataFrame({"n": [int(n.sum())], "k": [int(k.sum())]})
    else:
        grouped, _, _ = _grid(ds, others, where)
    return _protect(grouped, int(grouped["n"].sum()), int(grouped["k"].sum()), public=True)


def _band_counts(ds: LoadedDataset, dims: Sequence[_Dim], i: int, where: str, table: _Table) -> None:
    """Rule 5 in a count table with a sensitive variable: where a group (the other variables' categories)
    has a protected base under sensitive_extreme_base, a count within the band of the whole group is
    withheld and flagged, so that a count beside its total cannot say "all of them" (43 of 43)."""
    cells = table.cells
    bases = _group_bases(ds, dims, i, where, cells.copy()).cells
    others = [d.var.name for j, d in enumerate(dims) if j != i]
    if others:
        base = cells[others].merge(bases[[*others, "count"]], on=others, how="left")["count"]
    else:
        base = pd.Series([bases["count"].iloc[0]] * len(cells))
    band = disclosure.banded(cells["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                             base.astype("Float64").to_numpy(dtype=float, na_value=np.nan))
    withheld = band != ""
    if withheld.any():
        cells.loc[withheld, "count"] = pd.NA
        cells.loc[withheld, "suppressed"] = True
        cells.loc[withheld, "flag"] = band[withheld]


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
    suppressed; exact otherwise), `suppressed` (bool) and `flag` (why a count is missing: "suppressed"
    for "<10", "over_band" / "under_band" for rule 5's band of a sensitive answer in a small group). `df.attrs["base"]` is the table's population
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
    return _result(table.cells[[*names, "count", "suppressed", "flag"]], ds, tier, filters, table.base)


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
    table = _protect(cells, pop_n, pop_k, public, shape=_shape(dims))
    bases = _protect(base_cells, pop_n, pop_k, public)
    cells = table.cells.drop(columns="flag")
    if by:
        base_counts = bases.cells[[*by, "count"]].rename(columns={"count": "base"})
        cells = cells.merge(base_counts, on=list(by), how="left")
    else:
        cells["base"] = pd.array([bases.base] * len(cells), dtype="Int64")
    counts = cells["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    base_values = cells["base"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if public:
        share, flag = disclosure.share_flags(counts, base_values, ds.codebook[variable].sensitive)
        # Rule 5: where the share is a band, its count is withheld too ("85 of 85" would be 100%).
        band = np.isin(flag, ("over_band", "under_band"))
        cells.loc[band, "count"] = pd.NA
        cells.loc[band, "suppressed"] = True
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
    country of interview) or "route" (segments between consecutive countries of departure, transit
    countries 1-3 and country of interview; a respondent counts once per segment). Columns: `origin`,
    `destination`, `count`, `suppressed`. Researchers get every link with at least one respondent. The
    public gets only the links whose protected count is shown (rule 2): which links exist is itself a
    count, so a link under the minimum is neither listed nor counted anywhere (rule 11). Each end's
    countries are those of its variable's public categories (rule 8), merged into "_other" exactly as
    in every other public table; the table is refused when its population is under rule 3's minimum.
    """
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    pairs = _flow_pairs(kind)
    cols = [c for pair in pairs for c in pair]
    _check_answered(ds, [_variable(ds, c, public, role="dimension") for c in dict.fromkeys(cols)])
    where = _where(ds, filters, public)
    t = ident(ds.table)
    if kind == "route":
        # Consecutive non-missing countries: transit countries are filled in order, so the next
        # country after a stop is the next transit country, or the country of interview. A respondent
        # counts once per segment: a leg that repeats an earlier leg of the same route (the same two
        # countries in the same order) is left out. All country columns share one ENUM dictionary,
        # so that these comparisons and coalesce() work on codes. `bc` says which column the segment's
        # end came from, so that each end is shown at its own variable's public granularity.
        legs = []
        for j, a in enumerate(ROUTE[:-1]):
            later = ROUTE[j + 1:]
            b = f"coalesce({', '.join(ident(c) for c in later)})"
            bc = "CASE " + " ".join(f"WHEN {ident(c)} IS NOT NULL THEN {j + 1 + i}" for i, c in enumerate(later)) + " END"
            repeats = [f"({ident(ROUTE[i])} = {ident(a)} AND coalesce({', '.join(ident(c) for c in ROUTE[i + 1:j + 1])}) = {b})"
                       for i in range(j)]
            new_leg = f" AND NOT coalesce({' OR '.join(repeats)}, false)" if repeats else ""
            legs.append(f"SELECT {ident(a)} AS a, {j} AS ac, {b} AS b, {bc} AS bc, count(*) AS n, sum({RKEY}) AS k "
                        f"FROM {t} WHERE {where} AND {ident(a)} IS NOT NULL AND {b} IS NOT NULL AND {ident(a)} <> {b}"
                        f"{new_leg} GROUP BY 1, 2, 3, 4")
        cells = get_engine().query(f"SELECT a::VARCHAR AS origin, ac, b::VARCHAR AS destination, bc, sum(n) AS n, "
                                   f"sum(k) AS k FROM ({' UNION ALL '.join(legs)}) GROUP BY 1, 2, 3, 4")
        cells["origin_var"] = [ROUTE[int(i)] for i in cells["ac"]]
        cells["destination_var"] = [ROUTE[int(i)] for i in cells["bc"]]
        # The population is counted apart: a respondent is in as many links as segments.
        row = get_engine().query(f"SELECT count(*) AS n, coalesce(sum({RKEY}), 0) AS k FROM {t} "
                                 f"WHERE {where} AND {ident(pairs[0][0])} IS NOT NULL").iloc[0]
        pop_n, pop_k = int(row["n"]), int(row["k"])
    else:
        # Group on the stored ENUMs, then turn the few links into strings.
        a, b = pairs[0]
        cells = get_engine().query(
            f"SELECT a::VARCHAR AS origin, b::VARCHAR AS destination, n, k FROM ("
            f"SELECT {ident(a)} AS a, {ident(b)} AS b, count(*) AS n, sum({RKEY}) AS k FROM {t} "
            f"WHERE {where} AND {ident(a)} IS NOT NULL AND {ident(b)} IS NOT NULL GROUP BY 1, 2)")
        cells["origin_var"], cells["destination_var"] = a, b
        # Every respondent with both countries is in exactly one link: the population is their sum.
        pop_n, pop_k = int(cells["n"].sum()), int(cells["k"].sum())
    cells[["n", "k"]] = cells[["n", "k"]].astype("int64")
    if not public:
        cells = cells.groupby(["origin", "destination"], as_index=False)[["n", "k"]].sum()
        cells = _protect(cells, pop_n, pop_k, public).cells
        out = cells.sort_values("n", ascending=False)[["origin", "destination", "count", "suppressed"]]
        return _result(out, ds, tier, filters, pop_n)
    # Rule 8: each end at its variable's public categories, as in every other public table.
    decided = _public(ds).categories
    for side in ("origin", "destination"):
        merged = [decided[v].merged for v in cells[f"{side}_var"]]
        cells[side] = [OTHER if code in m else code for code, m in zip(cells[side], merged)]
    cells = cells.groupby(["origin", "destination"], as_index=False)[["n", "k"]].sum()
    table = _protect(cells, pop_n, pop_k, public)
    shown = table.cells[~table.cells["suppressed"]].sort_values("count", ascending=False)
    return _result(shown[["origin", "destination", "count", "suppressed"]], ds, tier, filters, table.base)


def _shown_sql(ds: LoadedDataset, d: _Dim) -> tuple[str, str]:
    """A single-choice column grouped by its shown category (quantiles cannot be merged after the
    fact): the expression to group on, kept an ENUM (categories merged by rule 8 become NULL, which
    no stored value of a column filtered on IS NOT NULL is), and the one that turns it into the code."""
    col = ident(d.var.name)
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


def public_bins(dataset: str, variable: str) -> list[float]:
    """The fixed intervals of a number question in the public tier (rule 12): the codebook's `bins`,
    else edges decided once per data version from the whole dataset's deciles at one significant digit.
    The caller never chooses them, so no interval can be narrowed onto one respondent's value."""
    ds = get_engine().dataset(dataset)
    var = _number_variable(ds, variable, public=False)
    if var.bins:
        return list(var.bins)
    if variable not in ds.bins:
        row = get_engine().query(f"SELECT quantile_cont({ident(variable)}, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) "
                                 f"AS qs FROM {ident(ds.table)}").iloc[0]
        qs = row["qs"] if row["qs"] is not None else []
        edges = sorted({float(f"{x:.1g}") for x in qs if x is not None and np.isfinite(x)})
        start = var.min if var.min is not None else (0.0 if not edges or edges[0] >= 0 else None)
        if start is not None and (not edges or start < edges[0]):
            edges.insert(0, float(start))
        ds.bins[variable] = edges or [0.0]
    return list(ds.bins[variable])


def _binned(ds: LoadedDataset, variable: str, edges: Sequence[float], dims: Sequence[_Dim], where: str,
            extra: str = "") -> pd.DataFrame:
    """Respondents per interval of a number variable (and per group of `dims`): exact counts and key
    sums, one row per group and interval; `extra` adds aggregates of the group (computed per interval;
    the caller sums them)."""
    x = ident(variable)
    index = " + ".join(f"({x} >= {e!r})::INTEGER" for e in edges[1:]) or "0"
    shown = [_shown_sql(ds, d) for d in dims]
    groups = [f"{g} AS {ident(d.var.name)}" for d, (g, _) in zip(dims, shown)]
    sql = (f"SELECT {', '.join([*groups, ''])}{index} AS i, count(*) AS n, sum({RKEY})::BIGINT AS k{extra} "
           f"FROM {ident(ds.table)} WHERE {where} GROUP BY ALL")
    outer = [f"{c} AS {ident(d.var.name)}" for d, (_, c) in zip(dims, shown)]
    return get_engine().query(f"SELECT {', '.join([*outer, '*'])} EXCLUDE ({', '.join(ident(d.var.name) for d in dims)}) "
                              f"FROM ({sql})" if dims else sql)


def summary(dataset: str, variable: str, by: Sequence[str] = (),
            filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """Mean, quartiles and sum of a number variable, within each group of `by`.

    Columns: by..., `contributors`, `mean`, `p25`, `median`, `p75`, `flag` ("" or why the figures are
    withheld); researchers also get the exact `sum`, `min` and `max`. Public (rule 7): contributors
    are a protected count; the flag is decided on it (at least min_contributors) and on dominance; the
    mean is the exact sum over the protected contributors, to magnitude_digits significant digits; the
    quartiles are read off the protected distribution over the fixed public intervals
    (`public_bins`, `disclosure.binned_quantiles`), so none is a respondent's value; never a sum, a
    minimum or a maximum.
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
    x, rules = ident(variable), disclosure.settings()
    if not public:
        shown = [_shown_sql(ds, d) for d in dims]
        sql = (f"SELECT {', '.join([f'{g} AS {ident(d.var.name)}' for d, (g, _) in zip(dims, shown)] + [''])} "
               f"count({x}) AS n, avg({x}) AS mean, quantile_cont({x}, [0.25, 0.5, 0.75]) AS qs, sum({x}) AS sum, "
               f"min({x}) AS min, max({x}) AS max FROM {ident(ds.table)} WHERE {where}" + (" GROUP BY ALL" if by else ""))
        if by:  # grouped on ENUMs; only the few groups become strings
            sql = (f"SELECT {', '.join([f'{c} AS {ident(d.var.name)}' for d, (_, c) in zip(dims, shown)])}, "
                   f"n, mean, qs, sum, min, max FROM ({sql})")
        df = get_engine().query(sql)
        df = df[df["n"] > 0].reset_index(drop=True)
        for col, i in (("p25", 0), ("median", 1), ("p75", 2)):
            df[col] = [qs[i] if isinstance(qs, list | tuple | np.ndarray) and len(qs) > i else np.nan
                       for qs in df["qs"]]
        df["contributors"] = pd.array(df["n"], dtype="Int64")
        df["flag"] = ""
        cols = [*by, "contributors", "mean", "p25", "median", "p75", "sum", "min", "max", "flag"]
        return _result(df[cols], ds, tier, filters, int(df["n"].sum()))
    edges = public_bins(dataset, variable)
    found = _binned(ds, variable, edges, dims, where,
                    extra=f", sum({x}) AS total, sum(abs({x})) AS abs_total, max(abs({x}), {rules.dominance_n}) AS tops")
    names = [d.var.name for d in dims]
    pop_n, pop_k = int(found["n"].sum()), int(found["k"].sum())
    base = int(_perturb([pop_n], [pop_k])[0])
    disclosure.check_population(base)
    rows = []
    groups = found.groupby(names, sort=False, dropna=False) if names else [((), found)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        n, k = int(g["n"].sum()), int(g["k"].sum())
        contributors = int(_perturb([n], [k])[0])
        counts = np.zeros(len(edges), dtype=np.int64)
        keys = np.zeros(len(edges), dtype=np.int64)
        counts[g["i"].astype(int)] = g["n"]
        keys[g["i"].astype(int)] = g["k"]
        per_bin = _perturb(counts, keys).astype(float)
        per_bin[disclosure.suppressed(per_bin)] = np.nan
        shown_n = np.nan if disclosure.suppressed([contributors])[0] else float(contributors)
        top = float(sum(sorted(v for tops in g["tops"] for v in tops)[-rules.dominance_n:]))
        flag = disclosure.magnitude_flag(shown_n, top, float(g["abs_total"].sum()))
        quartiles = disclosure.binned_quantiles(edges, per_bin, (0.25, 0.5, 0.75)) if flag == "" else [np.nan] * 3
        mean = disclosure.round_magnitude(float(g["total"].sum()) / contributors) if flag == "" else np.nan
        rows.append({**dict(zip(names, key)), "contributors": None if np.isnan(shown_n) else contributors,
                     "mean": mean, "p25": quartiles[0], "median": quartiles[1], "p75": quartiles[2], "flag": flag})
    df = pd.DataFrame(rows, columns=[*names, "contributors", "mean", "p25", "median", "p75", "flag"])
    df["contributors"] = pd.array(df["contributors"], dtype="Int64")
    for col in ("p25", "median", "p75"):
        df[col] = [disclosure.round_magnitude(v) if np.isfinite(v) else np.nan for v in df[col].astype(float)]
    return _result(df, ds, tier, filters, base)


MAX_BINS = 40


def distribution(dataset: str, variable: str, edges: Sequence[float] | None = None,
                 filters: Mapping[str, Sequence[str]] | None = None, tier: str = "public") -> pd.DataFrame:
    """Respondents per interval of a number variable, protected like a crosstab's counts.

    `edges` (increasing) make the intervals [edges[0], edges[1]), ..., [edges[-1], no upper bound);
    values under edges[0] count in the first. The public tier's intervals are fixed (`public_bins`,
    rule 12): without `edges`, or with exactly those, it gets them; other edges are refused, so that no
    one can narrow an interval onto the largest value. Researchers may set any. Columns: `lower`,
    `upper` (NaN for the last, open interval), `count` (perturbed, missing where suppressed, in the
    public tier), `suppressed`. Public: rules 1 to 3 as for crosstab.
    """
    public = _is_public(tier)
    ds = get_engine().dataset(dataset)
    _check_answered(ds, [_number_variable(ds, variable, public)])
    fixed = public_bins(dataset, variable)
    edges = fixed if edges is None else [float(e) for e in edges]
    if not edges or len(edges) > MAX_BINS or any(b <= a for a, b in zip(edges, edges[1:])) \
            or not all(np.isfinite(edges)):
        raise ValueError(f"edges must be 1 to {MAX_BINS} increasing finite numbers")
    if public and edges != fixed:
        raise disclosure.TableRefused(12, "bins_fixed", "Public distributions use the question's fixed "
                                      "intervals: leave the intervals out.", variable=variable)
    where = _where(ds, filters, public, not_null=[variable])
    found = _binned(ds, variable, edges, [], where)
    n, k = np.zeros(len(edges), dtype=np.int64), np.zeros(len(edges), dtype=np.int64)
    i = found["i"].astype(int).to_numpy()
    n[i], k[i] = found["n"], found["k"]
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
        order = f"{ident(sort)} {'DESC' if descending else 'ASC'} NULLS LAST, respondent_id"
    elif descending:
        order = "respondent_id DESC"
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    df = get_engine().query(f"SELECT {', '.join(ident(n) for n in names)} FROM {ident(ds.table)} "
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
