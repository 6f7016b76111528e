"""Reading an export's cells into the portal's columns, whatever layout KoBoToolbox or ODK wrote.

Layouts (reference/4mi-domain.md section 6): headers and values as XML names or as labels in one of the
form's languages (found by matching the headers against both); multiple choice as one space-separated
column, as one 0/1 column per option (`question/option`), or both (then both must agree); headers with or
without their group path (`group/question`, also with `.`, `-` or `:`); an optional HXL hashtag row
(dropped by core.ingest.files). Columns that are no form field (Kobo's `_id`, `_uuid`, `start`...) are
ignored and counted.

Repeat groups are on sheets of their own (an XLSX export): their entries are read with the same readers,
linked to their respondents and summarised per respondent (core.ingest.repeats); a bad value in an entry
is a problem naming the entry's sheet, row and column, and its respondent's row counts as bad.

Values are looked up once per distinct value, not per cell, so a 200,000-row export costs a few seconds.
The result follows the portal's column conventions (core/data/synthetic.py): ids and countries as strings
(ISO 3166 alpha-3), single choice as categories of the codebook codes, multiple choice as an Int64 bit
mask, numbers as Int64 (integer fields) or Float64, dates as datetime64 at midnight, quarters and years
as "2024Q3" and "2024". Every value that cannot be read is a problem naming its file row and column.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.i18n import language_name
from core.ingest import repeats
from core.ingest.build import Plan, VarPlan
from core.ingest.files import RawTable
from core.ingest.problems import ERROR, INFO, WARNING, Problem, row_problems
from core.ingest.repeats import COUNT, INDEX, PARENT_INDEX, SUM, Sheets
from core.ingest.xlsform import REPEAT, Field, Form

GROUP_SEPARATORS = ("/", ".", "-", ":")
OPTION_SEPARATORS = ("/", ".", "_", ":", "-")
# Columns Kobo and ODK add to every export: ignored without a word when they are no form field.
_META = re.compile(r"^(_|meta[/.:-]|formhub[/.:-])|^(start|end|today|deviceid|subscriberid|simserial|"
                   r"phonenumber|username|instanceid|key|submissiondate|submitterid|submittername|"
                   r"attachmentspresent|attachmentsexpected|status|reviewstate|devicedid|edits|formversion)$",
                   re.IGNORECASE)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")
_TRUE, _FALSE = {"1", "1.0", "true"}, {"0", "0.0", "false"}
# How many distinct problems of one kind and column are listed before they are only counted.
MAX_VALUES_LISTED = 10
MISSING = -1
UNKNOWN = -2


@dataclass
class Columns:
    """Which export column holds what."""
    mode: str                                   # "xml", or the language of a labels export
    main: dict[str, int] = field(default_factory=dict)                 # form field -> column
    options: dict[str, dict[str, int]] = field(default_factory=dict)   # form field -> choice name -> column
    ignored: int = 0                            # export metadata columns (_id, _uuid, start...)
    skipped: list[str] = field(default_factory=list)                   # columns of fields not loaded
    unmatched: list[str] = field(default_factory=list)                 # other columns no field claims


@dataclass
class ReadResult:
    frame: pd.DataFrame
    row_numbers: np.ndarray
    bad: np.ndarray                             # rows with at least one error
    problems: list[Problem]
    columns: Columns
    multiple_layout: str                        # "single", "separate", "both", or "" (no multiple choice)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _candidates(form: Form, fields: list[Field], mode: str) -> dict[str, set[tuple[str, str | None]]]:
    """Header text -> the (field, option) it can name, in one mode."""
    out: dict[str, set] = defaultdict(set)
    for f in fields:
        if mode == "xml":
            parts = [g.name for g in f.groups] + [f.column_name]
            seps, option_seps = GROUP_SEPARATORS, OPTION_SEPARATORS
            options = [(c.name, c.name) for c in form.choices(f)]
        else:
            parts = [form.label(g.labels, mode, g.name) for g in f.groups] + \
                [form.label(f.labels, mode, f.column_name)]
            seps, option_seps = ("/",), ("/",)
            options = [(c.name, form.label(c.labels, mode, c.name)) for c in form.choices(f)]
        keys = {_norm(sep.join(parts[k:])) for sep in seps for k in range(len(parts))}
        for key in keys:
            out[key].add((f.name, None))
            if f.type == "select_multiple":
                for sep in option_seps:
                    for name, text in options:
                        out[_norm(key + sep + text)].add((f.name, name))
    return out


def sheet_fields(form: Form, repeat: str = "") -> list[Field]:
    """The fields whose answers are on the main sheet (`repeat` ""), or on a repeat group's sheet."""
    return [f for f in form.fields.values() if f.repeat == repeat and f.type != REPEAT]


def match_columns(raw: RawTable, form: Form, fields: list[Field], repeat: str = "") -> Columns:
    """Which column holds each of `fields`, in the mode (names or labels in a language) that finds most.
    Columns of the sheet's other fields (the main one, or the repeat group's) are recognised, and set aside
    as skipped."""
    headers = [_norm(h) for h in raw.headers]
    wanted = {f.name for f in fields}
    best: Columns | None = None
    best_score = -1
    for mode in ["xml", *form.label_modes]:
        candidates = _candidates(form, sheet_fields(form, repeat), mode)
        folded: dict[str, set] = defaultdict(set)
        for key, targets in candidates.items():
            folded[key.casefold()] |= targets
        cols = Columns(mode)
        for i, h in enumerate(headers):
            targets = candidates.get(h) or folded.get(h.casefold())
            if not targets:
                if _META.search(h) or not h:
                    cols.ignored += 1
                else:
                    cols.unmatched.append(raw.headers[i])
                continue
            if len(targets) > 1:  # the same text names two things: use neither
                cols.unmatched.append(raw.headers[i])
                continue
            (field_name, option), = targets
            if field_name not in wanted:
                cols.skipped.append(raw.headers[i])
            elif option is None:
                cols.main.setdefault(field_name, i)
            else:
                cols.options.setdefault(field_name, {}).setdefault(option, i)
        score = len(cols.main) + len(cols.options)
        if score > best_score:
            best, best_score = cols, score
    return best


def _uniques(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """The distinct values of a text column and, for each row, the position of its value among them."""
    uniques = pc.unique(column)
    index = pc.index_in(column, value_set=uniques)
    return uniques.to_pylist(), index.to_numpy(zero_copy_only=False).astype(np.int64)


class _Reader:
    def __init__(self, raw: RawTable, form: Form, plan: Plan, force: bool = False,
                 sheets: Sheets | None = None):
        self.raw, self.form, self.plan, self.force = raw, form, plan, force
        self.sheets = sheets or Sheets({}, [])
        self.n = raw.num_rows
        self.bad = np.zeros(self.n, dtype=bool)
        self.problems: list[Problem] = []
        self.owners: dict[str, np.ndarray | None] = {}   # repeat group -> the respondent of each entry
        self.entries: dict[str, _Reader] = {}            # repeat group -> the reader of its sheet

    def column_name(self, index: int) -> str:
        return self.raw.headers[index]

    def flag(self, key: str, mask: np.ndarray, column: int | str, level: str = ERROR, **params) -> None:
        rows = np.nonzero(mask)[0]
        if not len(rows):
            return
        if level == ERROR:
            self.bad[rows] = True
        name = self.column_name(column) if isinstance(column, int) else column
        self.problems.append(row_problems(key, self.raw.row_numbers[rows], file=self.raw.file, sheet=self.raw.sheet,
                                          column=name, level=level, **params))

    def flag_values(self, key: str, values: list[str], positions: np.ndarray, bad_values: set[int],
                    column: int, **params) -> None:
        """A problem per distinct bad value (the first MAX_VALUES_LISTED), naming its rows."""
        if not bad_values:
            return
        bad_mask = np.isin(positions, list(bad_values))
        self.bad |= bad_mask
        listed = sorted(bad_values, key=lambda i: int(np.argmax(positions == i)))[:MAX_VALUES_LISTED]
        for i in listed:
            self.flag(key, positions == i, column, value=values[i][:80], **params)
        rest = bad_mask & ~np.isin(positions, listed)
        if rest.any():
            self.flag(key + "_more", rest, column, **params)

    # --- one reader per type ------------------------------------------------------------------

    def read_id(self, col: int) -> pd.arrays.ArrowStringArray:
        values = pc.utf8_trim_whitespace(self.raw.columns[col])
        missing = pc.equal(values, "").to_numpy(zero_copy_only=False)
        self.flag("id_missing", missing, col)
        series = pd.Series(pd.arrays.ArrowStringArray(values.combine_chunks().cast(pa.large_string())))
        duplicated = series.duplicated(keep=False).to_numpy() & ~missing
        if duplicated.any():
            dup_values = series[duplicated]
            for value in list(dict.fromkeys(dup_values))[:MAX_VALUES_LISTED]:
                self.flag("id_duplicate", (series == value).to_numpy() & duplicated, col, value=str(value)[:80])
            listed = set(list(dict.fromkeys(dup_values))[:MAX_VALUES_LISTED])
            rest = duplicated & ~series.isin(listed).to_numpy()
            self.flag("id_duplicate_more", rest, col)
        return series.array

    def lookup(self, v: VarPlan) -> dict[str, str]:
        """Cell text -> code for a choice variable, in this export's mode."""
        if self.columns.mode == "xml":
            return v.by_name
        return {**v.by_name, **v.by_label.get(self.columns.mode, {})}

    def read_choice(self, v: VarPlan, col: int) -> np.ndarray:
        """Positions in `categories` (MISSING where empty); unknown values are problems."""
        values, positions = _uniques(self.raw.columns[col])
        table = self.lookup(v)
        folded = {k.casefold(): code for k, code in table.items()}
        categories = self.categories(v)
        index = {code: i for i, code in enumerate(categories)}
        codes = np.full(len(values), MISSING, dtype=np.int64)
        unknown = set()
        for i, raw_value in enumerate(values):
            text = _norm(raw_value)
            if not text:
                continue
            code = table.get(text) or folded.get(text.casefold())
            if code is None:
                if text.casefold() == "n/a":
                    continue  # Kobo's legacy exports write n/a for a question not asked
                unknown.add(i)
                continue
            codes[i] = index[code]
        out = codes[positions] if len(values) else np.full(self.n, MISSING, dtype=np.int64)
        unknown_rows = np.isin(positions, list(unknown))
        if not self.mostly_unknown(v, col, unknown_rows, out >= 0):
            self.flag_values("choice_unknown", values, positions, unknown, col, list=self.list_of(v))
        out[unknown_rows] = MISSING
        return out

    def mostly_unknown(self, v: VarPlan, col: int, unknown: np.ndarray, known: np.ndarray) -> bool:
        """More than half of a column's answers are no choice of its list: the export is not of this form
        (or is in a language the form lacks). Refused as a whole, not row by row; with --force the
        column's unknown answers are loaded as missing, with a warning."""
        n_unknown, n_known = int(unknown.sum()), int(known.sum())
        if n_unknown == 0 or n_unknown <= n_known:
            return False
        self.problems.append(Problem("column_mostly_unknown", {"n": n_unknown, "total": n_unknown + n_known,
                                                               "list": self.list_of(v)},
                                     file=self.raw.file, sheet=self.raw.sheet, column=self.column_name(col),
                                     level=WARNING if self.force else ERROR))
        return True

    def categories(self, v: VarPlan) -> list[str]:
        if v.type == "country":
            return sorted(set(v.by_name.values()))
        return v.codes

    def list_of(self, v: VarPlan) -> str:
        f = self.form.fields.get(v.field or "")
        return (f.list_name if f else None) or v.name

    def read_multiple_single(self, v: VarPlan, col: int) -> tuple[np.ndarray, np.ndarray]:
        """(mask, asked) from one column of space-separated choices (names, or labels of a labels export)."""
        values, positions = _uniques(self.raw.columns[col])
        bits = {code: 1 << i for i, code in enumerate(v.codes)}
        table = self.lookup(v)
        masks = np.zeros(len(values), dtype=np.int64)
        asked = np.zeros(len(values), dtype=bool)
        unknown: dict[str, list[int]] = defaultdict(list)
        for i, raw_value in enumerate(values):
            text = _norm(raw_value)
            if not text or text.casefold() == "n/a":
                continue
            tokens = text.split(" ") if self.columns.mode == "xml" else _split_labels(text, table)
            if tokens is None:
                unknown[text].append(i)
                continue
            asked[i] = True
            mask = 0
            for token in tokens:
                code = table.get(token)
                if code is None:
                    unknown[token].append(i)
                    break
                mask |= bits[code]
            masks[i] = mask
        unknown_values = {i for indexes in unknown.values() for i in indexes}
        unknown_rows = np.isin(positions, list(unknown_values))
        known_rows = np.isin(positions, [i for i in range(len(values)) if asked[i] and i not in unknown_values])
        if self.mostly_unknown(v, col, unknown_rows, known_rows):
            asked[list(unknown_values)] = False
            masks[list(unknown_values)] = 0
            return masks[positions], asked[positions]
        for token, indexes in list(unknown.items())[:MAX_VALUES_LISTED]:
            self.flag("choice_unknown", np.isin(positions, indexes), col, value=token[:80], list=self.list_of(v))
        rest = [i for token, indexes in list(unknown.items())[MAX_VALUES_LISTED:] for i in indexes]
        self.flag("choice_unknown_more", np.isin(positions, rest), col, list=self.list_of(v))
        return masks[positions], asked[positions]

    def read_multiple_separate(self, v: VarPlan, columns: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """(mask, asked) from one 0/1 column per option."""
        masks = np.zeros(self.n, dtype=np.int64)
        asked = np.zeros(self.n, dtype=bool)
        for name, col in columns.items():
            code = v.by_name.get(name)
            if code is None:
                continue
            values, positions = _uniques(self.raw.columns[col])
            state = np.full(len(values), MISSING, dtype=np.int64)
            invalid = set()
            for i, raw_value in enumerate(values):
                text = raw_value.strip().casefold()
                if text in _TRUE:
                    state[i] = 1
                elif text in _FALSE:
                    state[i] = 0
                elif text and text != "n/a":
                    invalid.add(i)
            self.flag_values("option_invalid", values, positions, invalid, col)
            cell = state[positions] if len(values) else np.full(self.n, MISSING)
            asked |= cell >= 0
            masks |= np.where(cell == 1, 1 << v.codes.index(code), 0)
        return masks, asked

    def read_number(self, v: VarPlan, col: int) -> np.ndarray:
        values, positions = _uniques(self.raw.columns[col])
        numbers = np.full(len(values), np.nan)
        invalid, not_integer = set(), set()
        for i, raw_value in enumerate(values):
            text = raw_value.strip()
            if not text or text.casefold() == "n/a":
                continue
            if not _NUMBER.fullmatch(text):
                invalid.add(i)
                continue
            x = float(text)
            if v.integer and not x.is_integer():
                not_integer.add(i)
                continue
            numbers[i] = x
        self.flag_values("number_invalid", values, positions, invalid, col)
        self.flag_values("number_not_integer", values, positions, not_integer, col)
        out = numbers[positions] if len(values) else np.full(self.n, np.nan)
        low = v.min if v.min is not None else -np.inf
        high = v.max if v.max is not None else np.inf
        outside = ~np.isnan(out) & ((out < low) | (out > high))
        if outside.any():
            self.flag("number_out_of_range", outside, col, minimum="-" if v.min is None else f"{v.min:g}",
                      maximum="-" if v.max is None else f"{v.max:g}")
            out[outside] = np.nan
        return out

    def read_date(self, col: int, required: bool) -> np.ndarray:
        values, positions = _uniques(self.raw.columns[col])
        days = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[D]")
        invalid = set()
        for i, raw_value in enumerate(values):
            text = raw_value.strip()
            if not text or text.casefold() == "n/a":
                continue
            found = _DATE.fullmatch(text)
            try:
                days[i] = np.datetime64(dt.date.fromisoformat(found.group(1)), "D") if found else None
            except ValueError:
                found = None
            if not found:
                invalid.add(i)
        self.flag_values("date_invalid", values, positions, invalid, col)
        out = days[positions] if len(values) else np.full(self.n, np.datetime64("NaT"), dtype="datetime64[D]")
        if required:
            missing = np.isnat(out) & ~np.isin(positions, list(invalid))
            self.flag("date_missing", missing, col)
        return out

    def check_period(self, days: np.ndarray, col: int) -> None:
        start, end = (np.datetime64(d, "D") for d in self.plan.period)
        outside = ~np.isnat(days) & ((days < start) | (days > end))
        self.flag("date_outside_period", outside, col, start=self.plan.period[0].isoformat(),
                  end=self.plan.period[1].isoformat())

    def col_of(self, name: str) -> int | str:
        """The export column of a plan variable (its header when found, else its form field)."""
        f = self.plan[name].field
        return self.columns.main.get(f, f)

    # --- the whole export ------------------------------------------------------------------------

    def read(self) -> ReadResult:
        fields = [self.form.fields[v.field] for v in self.plan.read()]
        self.columns = cols = match_columns(self.raw, self.form, fields)
        data: dict[str, object] = {}
        layouts = set()
        for v in self.plan.read():
            f = self.form.fields[v.field]
            main, options = cols.main.get(f.name), cols.options.get(f.name, {})
            if main is None and not options:
                # Never silently empty: a mapped field with no column is refused (an export of another
                # form, or labels in a language the form lacks); only --force loads it as not asked.
                if v.name in ("respondent_id", "interview_date"):
                    self.problems.append(Problem("column_missing", {"field": f.name}, file=self.raw.file,
                                                 sheet=self.raw.sheet))
                    self.bad[:] = True
                else:
                    self.problems.append(Problem(
                        "column_missing_forced" if self.force else "column_missing_mapped", {"field": f.name},
                        file=self.raw.file, sheet=self.raw.sheet, level=WARNING if self.force else ERROR))
                data[v.name] = None
                continue
            if v.type == "id":
                data[v.name] = self.read_id(main)
            elif v.type == "date":
                data[v.name] = self.read_date(main, required=v.name == "interview_date")
                if v.name == "interview_date" and self.plan.period:
                    self.check_period(data[v.name], main)
            elif v.type == "number":
                data[v.name] = self.read_number(v, main)
            elif v.type in ("single", "country"):
                data[v.name] = self.read_choice(v, main)
            elif v.type == "multiple":
                data[v.name] = self.read_multiple(v, main, options, layouts)
        for v in self.plan.summaries():
            data[v.name] = self.summarise(v, layouts)
        self.derive(data)
        frame = self.frame(data)
        entries = [p for sub in self.entries.values() for p in sub.problems + sub.notes() if p.level != INFO]
        return ReadResult(frame=frame, row_numbers=self.raw.row_numbers, bad=self.bad,
                          problems=self.problems + entries + self.notes(), columns=cols,
                          multiple_layout="both" if len(layouts) > 1 or "both" in layouts else
                          (layouts.pop() if layouts else ""))

    def read_multiple(self, v: VarPlan, main: int | None, options: dict[str, int], layouts: set) -> tuple:
        single = self.read_multiple_single(v, main) if main is not None else None
        # A labels export's one column is read by matching labels; its option columns are unambiguous.
        separate = self.read_multiple_separate(v, options) if options else None
        if single is not None and separate is not None:
            layouts.add("both")
            differ = (single[1] != separate[1]) | (single[0] != separate[0])
            differ &= ~self.bad  # a value already reported is not reported twice
            self.flag("multiple_disagree", differ, main)
            return separate if self.columns.mode != "xml" else single
        layouts.add("single" if single is not None else "separate")
        return single if single is not None else separate

    # --- repeat groups, summarised per respondent ----------------------------------------------------------

    def missing_column(self, f: Field, sheet_raw: RawTable) -> None:
        """Never silently empty: a mapped field with no column is refused; --force loads it as not asked."""
        self.problems.append(Problem("column_missing_forced" if self.force else "column_missing_mapped",
                                     {"field": f.name}, file=sheet_raw.file, sheet=sheet_raw.sheet,
                                     level=WARNING if self.force else ERROR))

    def summarise(self, v: VarPlan, layouts: set):
        """One repeat summary per respondent (None: not available, and said so)."""
        owner = self.owners_of(v.repeat)
        if owner is None:
            return None
        if v.summary == COUNT:
            return repeats.count(owner, self.n)
        sub = self.entries[v.repeat]
        f = self.form.fields[v.field]
        main, options = sub.columns.main.get(f.name), sub.columns.options.get(f.name, {})
        if main is None and not options:
            self.missing_column(f, sub.raw)
            return None
        if v.summary == SUM:  # the mapping's range is the sum's, not each entry's
            out = repeats.total(owner, sub.read_number(dataclasses.replace(v, min=None, max=None), main), self.n)
        elif f.type == "select_one":
            codes = sub.read_choice(v, main)
            out = repeats.any_of(owner, np.where(codes >= 0, 1 << np.maximum(codes, 0), 0), codes >= 0, self.n)
        else:
            out = repeats.any_of(owner, *sub.read_multiple(v, main, options, layouts), self.n)
        self.bad[owner[sub.bad & (owner >= 0)]] = True  # a bad entry makes its respondent's row bad
        return out

    def owners_of(self, key: str) -> np.ndarray | None:
        """The respondent (row of the main sheet) of each entry of the repeat `key`, following the chain of
        `_parent_index` -> `_index` links up to the main sheet; None when they cannot be known."""
        if key not in self.owners:
            self.owners[key] = self.link(key)
        return self.owners[key]

    def link(self, key: str) -> np.ndarray | None:
        repeat = self.form.repeats[key]
        raw = self.sheets.tables.get(key)
        if raw is None:
            self.problems.append(Problem("repeat_sheet_forced" if self.force else "repeat_sheet_missing",
                                         {"group": repeat.group.name, "sheets": ", ".join(self.sheets.names) or "-"},
                                         file=self.raw.file, level=WARNING if self.force else ERROR))
            return None
        parent_owner = self.owners_of(repeat.parent) if repeat.parent else None
        if repeat.parent and parent_owner is None:
            return None
        parent_raw = self.sheets.tables[repeat.parent] if repeat.parent else self.raw
        parent_col, index_col = repeats.link_column(raw, PARENT_INDEX), repeats.link_column(parent_raw, INDEX)
        for table, col, header in ((raw, parent_col, PARENT_INDEX), (parent_raw, index_col, INDEX)):
            if col is None:
                self.problems.append(Problem("repeat_link_missing", {"group": repeat.group.name, "column": header},
                                             file=table.file, sheet=table.sheet))
                return None
        owner = repeats.owners_of_entries(repeats.positions(raw.columns[parent_col], parent_raw.columns[index_col]),
                                          parent_owner)
        sub = self.entries[key] = _Reader(raw, self.form, self.plan, self.force)
        sub.columns = match_columns(raw, self.form, repeats_fields(self.form, self.plan, key), key)
        self.problems += [p for p in [repeats.orphans(raw, owner, repeat.group.name)] if p]
        self.problems.append(Problem("repeat_sheet_read", {"n": raw.num_rows, "group": repeat.group.name},
                                     file=raw.file, sheet=raw.sheet, level=INFO))
        return owner

    def derive(self, data: dict) -> None:
        for v in self.plan.variables:
            if v.derive is None:
                continue
            if v.derive in ("quarter", "year"):
                data[v.name] = data.get("interview_date")  # to_column turns the dates into periods
            elif v.derive == "age_band":
                data[v.name] = self.age_band(v, data.get("age"))
            elif v.derive == "region":
                data[v.name] = self.region(v, data.get("country_of_interview"))

    def age_band(self, v: VarPlan, ages) -> np.ndarray:
        out = np.full(self.n, MISSING, dtype=np.int64)
        if ages is None:
            return out
        bands = np.asarray(self.plan.age_bands, dtype=float)
        known = ~np.isnan(ages)
        below = known & (ages < bands[0])
        self.flag("age_below_bands", below, self.col_of("age"), minimum=str(self.plan.age_bands[0]))
        index = np.searchsorted(bands, np.where(known, ages, bands[0]), side="right") - 1
        return np.where(known & ~below, index, MISSING)

    def region(self, v: VarPlan, countries) -> np.ndarray:
        out = np.full(self.n, MISSING, dtype=np.int64)
        if countries is None:
            return out
        categories = self.categories(self.plan["country_of_interview"])
        codes = {c: i for i, c in enumerate(v.codes)}
        lookup = np.array([codes.get(self.plan.regions.get(c), MISSING) for c in categories] + [MISSING])
        out = lookup[np.where(countries >= 0, countries, len(categories))]
        unassigned = (countries >= 0) & (out == MISSING)
        for i in np.unique(countries[unassigned]):
            self.flag("region_missing", unassigned & (countries == i), self.col_of("country_of_interview"),
                      country=categories[i])
        return out

    def frame(self, data: dict) -> pd.DataFrame:
        columns = {}
        for v in self.plan.variables:
            value = data.get(v.name)
            if v.field is None and v.derive is None:
                value = None  # a variable of an earlier version that this form does not have
            columns[v.name] = to_column(v, value, self.n, self.categories(v) if v.type == "country" else v.codes)
        return pd.DataFrame(columns)

    def notes(self) -> list[Problem]:
        raw, cols = self.raw, self.columns
        out = list(raw.notes)
        mode = cols.mode
        key = {"xml": "header_mode_xml", "": "header_mode_labels_untagged"}.get(mode, "header_mode_labels")
        out.append(Problem(key, {"language": language_name(mode)} if key == "header_mode_labels" else {},
                           file=raw.file, sheet=raw.sheet, level=INFO))
        if raw.hxl:
            out.append(Problem("hxl_row", {}, file=raw.file, sheet=raw.sheet, row=int(raw.row_numbers[0]) - 1
                               if raw.num_rows else None, level=INFO))
        if cols.ignored:
            out.append(Problem("columns_ignored", {"n": cols.ignored}, file=raw.file, sheet=raw.sheet, level=INFO))
        if cols.skipped:
            shown = ", ".join(cols.skipped[:10]) + (" …" if len(cols.skipped) > 10 else "")
            out.append(Problem("columns_skipped", {"n": len(cols.skipped), "columns": shown}, file=raw.file,
                               sheet=raw.sheet, level=INFO))
        if cols.unmatched:
            shown = ", ".join(cols.unmatched[:10]) + (" …" if len(cols.unmatched) > 10 else "")
            out.append(Problem("columns_unmatched", {"n": len(cols.unmatched), "columns": shown}, file=raw.file,
                               sheet=raw.sheet, level=WARNING))
        return out


def repeats_fields(form: Form, plan: Plan, key: str) -> list[Field]:
    """The fields of the repeat `key` that the plan summarises."""
    return [form.fields[v.field] for v in plan.summaries() if v.repeat == key and v.summary != COUNT]


def _split_labels(text: str, table: dict[str, str]) -> list[str] | None:
    """Labels joined by spaces (a labels export's one multiple-choice column; labels may hold spaces):
    the split into known labels, preferring the longest, or None."""
    words = text.split(" ")
    n = len(words)
    best: list[list[str] | None] = [None] * n + [[]]
    for i in range(n - 1, -1, -1):
        for j in range(n, i, -1):
            candidate = " ".join(words[i:j])
            if candidate in table and best[j] is not None:
                best[i] = [candidate, *best[j]]
                break
    return best[0]


def to_column(v: VarPlan, value, n: int, categories: list[str]):
    """One variable's values as the column the portal stores (core/data/synthetic.py conventions)."""
    if v.type == "id":
        if value is None:
            return pd.array([None] * n, dtype="string[pyarrow]")
        return value
    if v.type in ("quarter", "year"):  # value: the interview dates
        if value is None:
            return pd.array([None] * n, dtype="string[pyarrow]")
        return period_strings(value, v.type)
    if v.type == "date":
        if value is None:
            return np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
        return np.asarray(value).astype("datetime64[us]")
    if v.type == "number":
        if value is None:
            return pd.array([None] * n, dtype="Float64")
        values = np.asarray(value, dtype=float)
        missing = np.isnan(values)
        if v.integer:
            return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)
        return pd.arrays.FloatingArray(np.where(missing, 0.0, values), missing)
    if v.type == "multiple":
        if value is None:
            return pd.array([None] * n, dtype="Int64")
        mask, asked = value
        return pd.arrays.IntegerArray(np.where(asked, mask, 0).astype(np.int64), ~asked)
    if v.type == "single":
        codes = np.full(n, MISSING, dtype=np.int64) if value is None else value
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories, ordered=False))
    if v.type == "country":
        if value is None:
            return pd.array([None] * n, dtype="string[pyarrow]")
        missing = value < 0
        dictionary = pa.DictionaryArray.from_arrays(pa.array(np.where(missing, 0, value).astype(np.int32), mask=missing),
                                                    pa.array(categories or [""], pa.string()))
        return pd.arrays.ArrowStringArray(dictionary.cast(pa.large_string()))
    raise ValueError(f"unknown type {v.type!r}")


def period_strings(days: np.ndarray, kind: str):
    """"2024Q3" or "2024" for each date (missing stays missing)."""
    d = np.asarray(days).astype("datetime64[D]")
    missing = np.isnat(d)
    months = np.where(missing, 0, d.astype("datetime64[M]").astype(np.int64))
    years = 1970 + months // 12
    if kind == "quarter":
        labels = np.char.add(np.char.add(years.astype(str), "Q"), (months % 12 // 3 + 1).astype(str))
    else:
        labels = years.astype(str)
    return pd.arrays.ArrowStringArray(pa.array(labels, mask=missing, type=pa.large_string()))


def read_rows(raw: RawTable, form: Form, plan: Plan, force: bool = False,
              sheets: Sheets | None = None) -> ReadResult:
    """The export's rows as the portal's columns, with every problem found (nothing raised for values).
    `force`: a mapped field with no column, a column whose answers are mostly no choice of its list, or a
    repeat group with no sheet, is a warning (loaded as missing) instead of an error. `sheets`: the repeat
    groups' sheets of an XLSX export (core.ingest.repeats.read_sheets)."""
    return _Reader(raw, form, plan, force, sheets).read()
