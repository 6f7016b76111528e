"""The crosstab builder's layout and measures, without Streamlit: which fields a tier may place in the
rows, columns and filters of a table, and the table a layout makes, protected for the tier.

    layout = clean(load_codebook("core"), "public", rows=["gender"], columns=["age_band"],
                   filters={"region_of_interview": ["north_africa"]})
    table = build("core", layout, measure="row_pct", tier="public")

Everything is computed by core.query, which applies the public rules: the table's cells, and its
margins (row totals, column totals, the grand total) as tables of their own over the same population.
The cell-key method gives every margin the same perturbed value whatever query asks for it, so the
totals are protected like any count and never derived from the exact ones. Percentages are computed
from those protected counts (rule 6: only on a base of at least 30; rule 5's band for a sensitive
0% or 100% on a small base). Medians and means of a number question come from core.query.summary
(rule 7).

The browser only ever sends field names and category codes: `clean` keeps what the codebook and the
tier allow and reports the rest as dropped, so that nothing else reaches a query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import disclosure
from core.data.codebook import Codebook, Variable
from core.query import tables as query

__all__ = ["MEASURES", "COUNT_MEASURES", "NUMBER_MEASURES", "Layout", "Margin", "Pivot", "fields",
           "number_fields", "clean", "build", "MAX_FIELDS"]

COUNT_MEASURES = ("count", "row_pct", "col_pct", "total_pct")
NUMBER_MEASURES = ("median", "mean")
MEASURES = COUNT_MEASURES + NUMBER_MEASURES
MAX_FIELDS = query.MAX_VARIABLES  # rows and columns together, in every tier: beyond, unreadable
MAX_FILTERS = 6


def fields(codebook: Codebook, tier: str) -> list[Variable]:
    """The questions a tier may place in a table: categorical ones, public ones only for the public."""
    return [v for v in codebook.variables.values() if v.categorical and (tier != "public" or v.public)]


def number_fields(codebook: Codebook, tier: str) -> list[Variable]:
    """The number questions whose median or mean a tier may ask for."""
    return [v for v in codebook.variables.values() if v.type == "number" and (tier != "public" or v.public)]


@dataclass(frozen=True)
class Layout:
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    # filter field -> the categories kept (empty: all, the field is placed but narrows nothing yet)
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __hash__(self):
        return hash((self.rows, self.columns, tuple(self.filters.items())))

    @property
    def dims(self) -> tuple[str, ...]:
        return self.rows + self.columns

    def swapped(self) -> Layout:
        return Layout(self.columns, self.rows, self.filters)

    def query_filters(self, shared: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
        """The layout's filters with the page's shared ones: where both filter a field, the categories
        in both (None when nothing is left: no respondent can match)."""
        out = {k: list(v) for k, v in (shared or {}).items() if v}
        for name, codes in self.filters.items():
            if not codes:
                continue
            if name in out:
                kept = [c for c in out[name] if c in codes]
                if not kept:
                    return None
                out[name] = kept
            else:
                out[name] = list(codes)
        return out


def clean(codebook: Codebook, tier: str, rows: Sequence = (), columns: Sequence = (),
          filters: Mapping | Sequence = (), categories: Callable[[str], Sequence[str]] | None = None
          ) -> tuple[Layout, list[str]]:
    """A layout from what a browser or a link sent: field names the tier may use, each in one zone
    (the first it appears in: rows, then columns, then filters), at most MAX_FIELDS in rows and
    columns together and MAX_FILTERS filters; with `categories` (field -> the codes the tier may
    filter it on), only those codes; in the public tier, one code per filter (design.md rule 12). Returns the layout and what was dropped, as text."""
    usable = {v.name for v in fields(codebook, tier)}
    seen: set[str] = set()
    dropped: list[str] = []

    def keep(names, limit: int) -> list[str]:
        out = []
        for name in names if isinstance(names, (list, tuple)) else []:
            if not isinstance(name, str) or name not in usable or name in seen or len(out) >= limit:
                dropped.append(str(name)[:60])
                continue
            seen.add(name)
            out.append(name)
        return out

    kept_rows = keep(list(rows or ()), MAX_FIELDS)
    kept_cols = keep(list(columns or ()), MAX_FIELDS - len(kept_rows))
    chosen = dict(filters) if isinstance(filters, Mapping) else {name: () for name in filters or ()}
    kept_filters: dict[str, tuple[str, ...]] = {}
    for name in keep(list(chosen), MAX_FILTERS):
        codes = chosen[name] if isinstance(chosen[name], (list, tuple)) else ()
        allowed = list(categories(name)) if categories else None
        good = [c for c in codes if isinstance(c, str) and (allowed is None or c in allowed)]
        if tier == "public":  # rule 12: one answer per filter in the public tier
            good = list(dict.fromkeys(good))[:1]
        dropped += [f"{name}={c}"[:60] for c in codes if c not in good]
        kept_filters[name] = tuple(dict.fromkeys(good))
    return Layout(tuple(kept_rows), tuple(kept_cols), kept_filters), dropped


# --- the protected table -------------------------------------------------------------------------

@dataclass
class Margin:
    """One of a table's figures sets over a subset of its dimensions: the cells (all dimensions), the
    row totals (row dimensions), the column totals, or the grand total (none). `frame` has the
    subset's code columns, `count` (protected; missing where suppressed), `suppressed`, `value` (the
    measure; NaN where withheld) and `flag` (why it is withheld: "suppressed", "base_too_small",
    "under_band", "over_band", "too_few_contributors", "dominated"; "" when shown)."""

    dims: tuple[str, ...]
    frame: pd.DataFrame


@dataclass
class Pivot:
    dataset: str
    tier: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    measure: str
    value_variable: str | None
    cells: Margin
    row_totals: Margin | None  # None when the table has no columns (the cells are the row totals)
    column_totals: Margin | None
    total: Margin
    base: int | None  # the table's population, as shown (protected in the public tier)
    filters: dict[str, list[str]]


Runner = Callable[..., object]  # run(fn_name, dataset, *args, filters=, tier=): core.query, maybe cached


def _direct(fn: str, dataset: str, *args, filters=None, tier="public"):
    if fn == "categories":
        return query.categories(dataset, *args, tier=tier)
    return getattr(query, fn)(dataset, *args, filters=filters, tier=tier)


def _answered(dataset: str, names: Sequence[str], tier: str, run: Runner) -> dict[str, list[str]]:
    """Filters that keep the respondents counted in a table over `names`: those in one of its shown
    categories of each (so that a margin has the same population as the table's cells)."""
    return {n: list(run("categories", dataset, n, tier=tier)) for n in names}


def build(dataset: str, layout: Layout, measure: str = "count", tier: str = "public",
          shared_filters: Mapping[str, Sequence[str]] | None = None, value_variable: str | None = None,
          run: Runner = _direct) -> Pivot:
    """The protected table of a layout. Raises core.disclosure.TableRefused when the public rules
    refuse it (the cells' table; a margin refused on its own is shown as withheld), ValueError for a
    measure the layout cannot have (a median of a multiple-choice breakdown, no number question)."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
    if not layout.dims:
        raise ValueError("a table needs at least one field in its rows or columns")
    filters = layout.query_filters(shared_filters)
    if filters is None:
        raise disclosure.TableRefused(3, "population_too_small", "No respondent matches these filters.",
                                      minimum=disclosure.settings().min_population)
    rows, cols = layout.rows, layout.columns
    dims = rows + cols
    if measure in NUMBER_MEASURES:
        if not value_variable:
            raise ValueError("a median or a mean needs a number question")
        return _number_pivot(dataset, layout, measure, tier, filters, value_variable, run)

    def counts(subset: tuple[str, ...]) -> pd.DataFrame:
        others = [d for d in dims if d not in subset]
        where = {**filters, **{k: v for k, v in _answered(dataset, others, tier, run).items() if k not in filters}}
        if not subset:
            n = run("total", dataset, filters=where, tier=tier)
            return pd.DataFrame({"count": pd.array([n], dtype="Int64"), "suppressed": [False]})
        return run("crosstab", dataset, list(subset), filters=where, tier=tier).copy()

    cells = run("crosstab", dataset, list(dims), filters=filters, tier=tier).copy()
    tables: dict[tuple[str, ...], pd.DataFrame | None] = {dims: cells}

    def table(subset: tuple[str, ...]) -> pd.DataFrame | None:
        if subset not in tables:
            try:
                tables[subset] = counts(subset)
            except disclosure.TableRefused:
                tables[subset] = None  # withheld on its own; the table's cells stand
        return tables[subset]

    grand = table(())
    sensitive = tier == "public" and any(_is_sensitive(dataset, d) for d in dims)

    def margin(subset: tuple[str, ...]) -> Margin:
        frame = table(subset)
        if frame is None:
            frame = _withheld(subset, cells)
        frame = frame.reset_index(drop=True)
        base_dims = {"count": None, "row_pct": tuple(d for d in subset if d in rows),
                     "col_pct": tuple(d for d in subset if d in cols), "total_pct": ()}[measure]
        if base_dims is None:
            frame["value"] = frame["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            if "flag" not in frame:  # the grand total, or a margin withheld on its own
                frame["flag"] = np.where(frame["suppressed"], "suppressed", "")
            return Margin(subset, frame)
        base = table(base_dims)
        if base is None:
            bases = np.full(len(frame), np.nan)
        elif base_dims:
            merged = frame[list(base_dims)].merge(base[[*base_dims, "count"]], on=list(base_dims), how="left")
            bases = merged["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        else:
            bases = np.full(len(frame), float(base["count"].iloc[0]) if pd.notna(base["count"].iloc[0]) else np.nan)
        counts_ = frame["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        if tier == "public":
            share, flag = disclosure.share_flags(counts_, bases, sensitive)
            if "flag" in frame:  # a count rule 5's band withheld stays a band, not "<10"
                banded = frame["flag"].isin(("over_band", "under_band")).to_numpy()
                flag = np.where(banded, frame["flag"].to_numpy(dtype=object), flag)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(bases > 0, counts_ / bases, np.nan)
            flag = np.full(len(frame), "", dtype=object)
        frame["value"] = share
        frame["flag"] = flag
        return Margin(subset, frame)

    both = bool(rows) and bool(cols)
    return Pivot(dataset, tier, rows, cols, measure, None, margin(dims),
                 margin(rows) if both else None, margin(cols) if both else None, margin(()),
                 _base(grand, cells), filters)


def _is_sensitive(dataset: str, name: str) -> bool:
    from core.data.engine import load_codebook

    return load_codebook(dataset)[name].sensitive


def _base(grand: pd.DataFrame | None, cells: pd.DataFrame) -> int | None:
    if grand is not None and pd.notna(grand["count"].iloc[0]):
        return int(grand["count"].iloc[0])
    base = cells.attrs.get("base")
    return int(base) if base is not None else None


def _withheld(subset: tuple[str, ...], cells: pd.DataFrame) -> pd.DataFrame:
    """A margin the rules refused on its own: its categories, every figure withheld."""
    frame = cells[list(subset)].drop_duplicates().reset_index(drop=True) if subset else pd.DataFrame(index=[0])
    frame["count"] = pd.array([None] * len(frame), dtype="Int64")
    frame["suppressed"] = True
    return frame


def _number_pivot(dataset: str, layout: Layout, measure: str, tier: str, filters: dict[str, list[str]],
                  variable: str, run: Runner) -> Pivot:
    rows, cols = layout.rows, layout.columns
    dims = rows + cols

    def figures(subset: tuple[str, ...], strict: bool) -> Margin:
        others = [d for d in dims if d not in subset]
        where = {**filters, **{k: v for k, v in _answered(dataset, others, tier, run).items() if k not in filters}}
        try:
            found = run("summary", dataset, variable, list(subset), filters=where, tier=tier).copy()
        except disclosure.TableRefused:
            if strict:
                raise
            found = None
        if found is None:
            frame = pd.DataFrame(index=[0]) if not subset else None
            if frame is None:
                return Margin(subset, pd.DataFrame(columns=[*subset, "count", "suppressed", "value", "flag"]))
            frame["count"], frame["suppressed"], frame["value"], frame["flag"] = pd.NA, True, np.nan, "suppressed"
            return Margin(subset, frame)
        frame = found[list(subset)].copy() if subset else pd.DataFrame(index=range(len(found)))
        frame["count"] = pd.array(found["contributors"], dtype="Int64")
        frame["suppressed"] = frame["count"].isna().to_numpy()
        frame["value"] = pd.to_numeric(found[measure], errors="coerce").to_numpy(dtype=float)
        frame["flag"] = found["flag"].to_numpy()
        frame.attrs["base"] = found.attrs.get("base")
        if not subset and frame.empty:
            frame = pd.DataFrame({"count": pd.array([None], dtype="Int64"), "suppressed": [True],
                                  "value": [np.nan], "flag": ["too_few_contributors"]})
        return Margin(subset, frame.reset_index(drop=True))

    cells = figures(dims, strict=True)
    base = cells.frame.attrs.get("base")
    both = bool(rows) and bool(cols)
    return Pivot(dataset, tier, rows, cols, measure, variable, cells,
                 figures(rows, False) if both else None, figures(cols, False) if both else None,
                 figures((), False), base, filters)
