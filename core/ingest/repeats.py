"""Repeat groups, summarised per respondent: the portal keeps one row per respondent, so a repeat group's
entries (rows of their own export sheet, linked to their parent's rows) become variables of the respondent.

    a repeat group itself           -> number: how many entries the respondent has (0 when none)
    select_one / select_multiple    -> multiple choice: the answers given in any of the entries
    integer / decimal / range       -> number: the sum over the entries
    text, dates, places, media      -> not summarised (left out, and the load's report says so)

A summary is missing where none of the respondent's entries answered it; a count is never missing. Entries
of a repeat nested in another count for the respondent of their outermost parent (the chain of
`_parent_index` -> `_index` links). Kobo's XLSX export writes each repeat on a sheet named after it
(`unique_name_for_xls` in formpack: `[]:*?/\\` replaced by `_`, cut to 31 characters with "..."), with
`_index`, `_parent_table_name` and `_parent_index` columns; the main sheet has `_index`. A CSV export holds
the main sheet only, so a load from CSV leaves the repeat summaries out, with a warning per repeat group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from core.ingest import files
from core.ingest.files import RawTable
from core.ingest.problems import WARNING, Problem, row_problems
from core.ingest.xlsform import NUMBER_TYPES, REPEAT, SELECT_TYPES, Field, Form

COUNT, ANY, SUM = "count", "any", "sum"
INDEX, PARENT_INDEX = "_index", "_parent_index"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Sheets:
    """The repeat groups' sheets of an XLSX export."""
    tables: dict[str, RawTable | None]   # repeat group (its key) -> its sheet; None: the export has none
    names: list[str]                     # every sheet of the workbook, for messages


def summary_of(f: Field) -> str | None:
    """How a field inside a repeat is kept per respondent ("count", "any", "sum"), None when it is not
    (a field of the main sheet, or one that cannot be summarised: text, dates, places)."""
    if f.type == REPEAT:
        return COUNT
    if not f.repeat:
        return None
    if f.type in SELECT_TYPES:
        return ANY
    if f.type in NUMBER_TYPES:
        return SUM
    return None


def chain(form: Form, key: str) -> list[str]:
    """The repeat `key` and the repeats around it, innermost first."""
    out = []
    while key:
        out.append(key)
        key = form.repeats[key].parent
    return out


def kobo_sheet_name(name: str) -> str:
    """The sheet Kobo's XLSX export gives the repeat `name` (formpack's unique_name_for_xls)."""
    safe = re.sub(r"(^'|'$)", "_", _SHEET_FORBIDDEN.sub("_", name))
    return safe if len(safe) <= 31 else safe[:28] + "..."


def find_sheet(name: str, sheets: list[str]) -> str | None:
    """The export sheet of the repeat `name`: Kobo's name for it, or the name itself, cut to Excel's 31
    characters; matched without regard to case."""
    folded = {s.casefold(): s for s in sheets}
    candidates = (kobo_sheet_name(name), name[:31])
    return next((folded[c.casefold()] for c in candidates if c.casefold() in folded), None)


def link_column(raw: RawTable, header: str) -> int | None:
    wanted = header.casefold()
    return next((i for i, h in enumerate(raw.headers) if h.strip().casefold() == wanted), None)


def positions(keys: pa.ChunkedArray, index: pa.ChunkedArray) -> np.ndarray:
    """For each of `keys`, the position of the same value in `index` (-1: none, or empty). Compared as text,
    with whole numbers written "3.0" read as "3"."""
    where = pd.Series(np.arange(len(index)), index=_normal(index).to_numpy())
    where = where[~where.index.duplicated() & (where.index != "")]  # a damaged sheet's repeated index: the first
    found = where.reindex(_normal(keys).to_numpy()).fillna(-1).to_numpy()
    return found.astype(np.int64)


def _normal(column: pa.ChunkedArray) -> pd.Series:
    return column.to_pandas().astype(str).str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def owners_of_entries(parent_positions: np.ndarray, parent_owners: np.ndarray | None) -> np.ndarray:
    """The respondent (main-sheet row) of each entry: its parent's row, or for a nested repeat the
    respondent of its parent entry; -1 for an entry whose parent is not there."""
    if parent_owners is None:
        return parent_positions
    found = parent_positions >= 0
    return np.where(found, parent_owners[np.where(found, parent_positions, 0)], -1)


def count(owners: np.ndarray, n: int) -> np.ndarray:
    """Entries per respondent (0 when none)."""
    return np.bincount(owners[owners >= 0], minlength=n).astype(float)


def any_of(owners: np.ndarray, masks: np.ndarray, asked: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask, asked) per respondent: the choices given in any entry; asked where an entry answered."""
    keep = (owners >= 0) & asked
    out = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(out, owners[keep], masks[keep])
    return out, np.bincount(owners[keep], minlength=n) > 0


def total(owners: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The sum over each respondent's entries; missing (NaN) where no entry answered."""
    keep = (owners >= 0) & ~np.isnan(values)
    out = np.zeros(n)
    np.add.at(out, owners[keep], values[keep])
    return np.where(np.bincount(owners[keep], minlength=n) > 0, out, np.nan)


def orphans(raw: RawTable, owners: np.ndarray, group: str) -> Problem | None:
    """Entries whose parent row is not in the export (the main sheet was cut): left out, and said so."""
    rows = raw.row_numbers[owners < 0]
    if not len(rows):
        return None
    return row_problems("repeat_orphans", rows, file=raw.file, sheet=raw.sheet, column=PARENT_INDEX,
                        level=WARNING, group=group)


def read_sheets(path: Path, name: str, form: Form, keys: list[str], main: str | None) -> Sheets:
    """The sheets of the repeat groups `keys` and of the repeats around them (their links to the main sheet
    go through them), from the XLSX export at `path` whose main sheet is `main`."""
    names = [s for s in files.sheet_names(path, name) if s != main]
    tables: dict[str, RawTable | None] = {}
    for key in dict.fromkeys(k for inner in keys for k in chain(form, inner)):
        title = find_sheet(form.repeats[key].group.name, names)
        tables[key] = files.read_xlsx(path, name, title) if title else None
    return Sheets(tables, names)
