"""Writing files as KoBoToolbox writes them: an XLSForm, and exports of submissions in each of Kobo's
layouts (reference/4mi-domain.md section 6). For the test fixtures, the round trip of the synthetic data
through a Kobo-style file (tests), the ingest benchmark, and `python -m scripts.ingest template`, which
gives a survey team a form that matches a dataset's codebook.

Submissions are given as Kobo stores them: one text value per form field, choice names, multiple
choice as space-separated names, dates as YYYY-MM-DD, empty when not asked. `write_export` lays them out
as asked: headers and values as XML names or as labels in one language, multiple choice in one column,
one 0/1 column per option or both, with or without group paths in the headers, an HXL row, CSV (any
delimiter) or XLSX, and Kobo's own columns (start, end, _id, _uuid, _submission_time, _index). Entries of
repeat groups go on a sheet per group in an XLSX export, with Kobo's _index and _parent_index links.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from core.data.codebook import Codebook, country_name
from core.ingest.xlsform import Form
from core.settings import LANGUAGES

LANGUAGE_COLUMNS = {"en": "English (en)", "fr": "Français (fr)", "es": "Español (es)"}
# HXL hashtags of the standard variables, as a Kobo form's `hxl` column would give them.
HXL_TAGS = {"respondent_id": "#respondee+id", "interview_date": "#date+interview",
            "country_of_interview": "#country+code+interview", "nationality": "#country+code+origin",
            "gender": "#respondee+gender", "age": "#respondee+age"}


@dataclass(frozen=True)
class Layout:
    values: str = "xml"         # "xml": names; or a language ("en", "fr", "es"; "" a form's untagged labels)
    multiple: str = "both"      # "single" column, "separate" 0/1 columns, or "both"
    groups: bool = True         # group path in the headers ("profiles/gender")
    hxl: bool = False           # an HXL hashtag row under the headers
    format: str = "csv"         # "csv" or "xlsx"
    delimiter: str = ","
    meta: bool = True           # Kobo's own columns


def write_xlsform(path: Path, survey: Sequence[Mapping], choices: Sequence[Mapping], settings: Mapping) -> Path:
    """An XLSForm workbook with survey, choices and settings sheets (columns: every key used, in order)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in (("survey", survey), ("choices", choices), ("settings", [settings])):
        ws = book.create_sheet(title)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        ws.append(columns)
        for row in rows:
            ws.append([row.get(c, "") for c in columns])
        for cells in ws.iter_rows():
            for cell in cells:
                cell.data_type = "s" if isinstance(cell.value, str) else cell.data_type
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _labels(labels: Mapping[str, str]) -> dict[str, str]:
    return {f"label::{LANGUAGE_COLUMNS[lang]}": labels[lang] for lang in LANGUAGES}


def form_from_codebook(codebook: Codebook, *, version: str = "1") -> tuple[list[dict], list[dict], dict]:
    """(survey, choices, settings) rows of an XLSForm asking a codebook's questions: a group per theme,
    select lists named after their variable, countries as ISO 3166 alpha-3 codes named in each language,
    quarters and years left out (the portal makes them from the interview date)."""
    survey, choices = [], []
    countries = _countries()
    themes = {th.id: th for th in codebook.themes}
    by_theme: dict[str, list] = {}
    for v in codebook.variables.values():
        by_theme.setdefault(v.theme, []).append(v)
    used_countries = False
    for theme, variables in by_theme.items():
        survey.append({"type": "begin_group", "name": theme, **_labels(themes[theme].labels)})
        for v in variables:
            row = {"name": v.name, **_labels(v.labels)}
            if v.type == "id":
                row["type"] = "text"
            elif v.type == "date":
                row["type"] = "date"
            elif v.type in ("quarter", "year"):
                continue
            elif v.type == "number":
                row["type"] = "integer"
                bounds = [f". >= {v.min:g}" if v.min is not None else "", f". <= {v.max:g}" if v.max is not None else ""]
                if any(bounds):
                    row["constraint"] = " and ".join(b for b in bounds if b)
            elif v.type == "country":
                row["type"] = "select_one countries"
                used_countries = True
            else:
                row["type"] = f"select_{'one' if v.type == 'single' else 'multiple'} {v.name}"
                for c in v.choices:
                    choices.append({"list_name": v.name, "name": c.code, **_labels(c.labels)})
            if v.name in HXL_TAGS:
                row["hxl"] = HXL_TAGS[v.name]
            survey.append(row)
        survey.append({"type": "end_group", "name": theme})
    if used_countries:
        for code in countries:
            choices.append({"list_name": "countries", "name": code,
                            **_labels({lang: country_name(code, lang) for lang in LANGUAGES})})
    settings = {"form_title": codebook.title("en"), "form_id": f"portal_{codebook.dataset}", "version": version,
                "default_language": LANGUAGE_COLUMNS["en"]}
    return survey, choices, settings


def mapping_from_codebook(codebook: Codebook) -> str:
    """The mapping (core.ingest.mapping) of the form `form_from_codebook` writes: every question to the
    codebook variable it came from, with the codebook's themes, sensitivity and public flags."""
    import yaml

    from core.ingest.mapping import FROM_FIELDS

    standard = {name: name for name in FROM_FIELDS if name in codebook}
    fields = {}
    for v in codebook.variables.values():
        if v.name in standard or v.type in ("quarter", "year"):
            continue
        entry: dict = {"theme": v.theme, "sensitive": v.sensitive, "public": v.public}
        if v.type == "country":
            entry["type"] = "country"
        for key in ("unit", "min", "max", "asked"):
            if getattr(v, key) is not None:
                entry[key] = getattr(v, key)
        if v.bins:
            entry["bins"] = list(v.bins)
        fields[v.name] = entry
    mapping = {
        "dataset": codebook.dataset, "title": dict(codebook.titles), "description": dict(codebook.descriptions),
        "period": {"start": codebook.period_start.isoformat(), "end": codebook.period_end.isoformat()},
        "standard": standard, "themes": {th.id: dict(th.labels) for th in codebook.themes}, "fields": fields,
    }
    header = f"# Mapping of the form written from the {codebook.dataset!r} codebook (python -m scripts.ingest template).\n"
    return header + yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=120)


def write_sample(directory: Path, codebook: Codebook, frame: pd.DataFrame, layout: Layout = Layout(),
                 name: str = "export") -> tuple[Path, Path, Path]:
    """A form asking a codebook's questions, its mapping, and `frame` (portal conventions) as a Kobo export
    in `layout`: (form, export, mapping) paths in `directory`."""
    from core.ingest.xlsform import read_form

    directory = Path(directory)
    form = write_xlsform(directory / "form.xlsx", *form_from_codebook(codebook))
    mapping = directory / "mapping.yaml"
    mapping.write_text(mapping_from_codebook(codebook), encoding="utf-8")
    export = write_export(directory / f"{name}.{layout.format}", read_form(form),
                          submissions_from_frame(frame, codebook), layout)
    return form, export, mapping


def _countries() -> list[str]:
    import pycountry

    return sorted(c.alpha_3 for c in pycountry.countries)


def submissions_from_frame(frame: pd.DataFrame, codebook: Codebook) -> dict[str, np.ndarray]:
    """A frame in the portal's conventions (core/data/synthetic.py) as Kobo's stored values, per form field."""
    out = {}
    for v in codebook.variables.values():
        if v.type in ("quarter", "year") or v.name not in frame:
            continue
        s = frame[v.name]
        if v.type == "date":
            text = pd.Series(s).dt.strftime("%Y-%m-%d")
        elif v.type == "multiple":
            masks = pd.Series(s)
            names = {}
            for m in masks.dropna().unique():
                names[int(m)] = " ".join(code for i, code in enumerate(v.codes) if int(m) >> i & 1)
            text = masks.map(lambda m, n=names: n.get(int(m)) if pd.notna(m) else None)
        elif v.type == "number":
            text = pd.Series(s).map(lambda x: None if pd.isna(x) else (str(int(x)) if float(x).is_integer() else repr(float(x))))
        else:
            text = pd.Series(s).astype(object)
        out[v.name] = np.asarray(text.where(pd.notna(text), "").astype(str), dtype=object)
    return out


def _kind(f) -> str:
    if f.type in ("date", "today"):
        return "date"
    if f.type in ("integer", "decimal"):
        return "number"
    return "text"


def _field_columns(form: Form, f, values: np.ndarray, layout: Layout) -> list[tuple]:
    """(header, hxl tag, values, kind) of one field's export columns."""
    lang = None if layout.values == "xml" else layout.values
    if lang is not None:
        parts = [form.label(g.labels, lang, g.name) for g in f.groups] + [form.label(f.labels, lang, f.name)]
    else:
        parts = [g.name for g in f.groups] + [f.name]
    header = "/".join(parts if layout.groups else parts[-1:])
    tag = f.hxl or HXL_TAGS.get(f.name, "")
    choices = form.choices(f)
    label_of = {c.name: form.label(c.labels, lang, c.name) for c in choices} if lang is not None else {}
    out = []
    if f.type == "select_multiple":
        # per distinct answer, not per row: a 200,000-row export is written in seconds
        distinct, inverse = np.unique(values.astype(str), return_inverse=True)
        chosen_names = [set(v.split()) for v in distinct]
        if layout.multiple in ("single", "both"):
            if lang is not None:
                joined = np.array([" ".join(label_of[x] for x in v.split()) for v in distinct], dtype=object)
                out.append((header, tag, joined[inverse], "text"))
            else:
                out.append((header, tag, values, "text"))
        if layout.multiple in ("separate", "both"):
            for c in choices:
                cell = np.array(["1" if c.name in names else ("0" if v else "") for v, names in
                                 zip(distinct, chosen_names)], dtype=object)
                out.append((f"{header}/{label_of[c.name] if lang is not None else c.name}", "", cell[inverse], "number"))
    elif f.type == "select_one" and lang is not None:
        out.append((header, tag, np.array([label_of.get(v, v) if v else "" for v in values], dtype=object), "text"))
    else:
        out.append((header, tag, values, _kind(f)))
    return out


def _meta(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(submission times, _uuid, _id) of `n` submissions, as Kobo's own columns hold them."""
    rng = np.random.default_rng(n)
    start = dt.datetime(2024, 1, 1, 8, 0)
    ids = np.arange(1, n + 1)
    times = np.array([(start + dt.timedelta(minutes=int(i) * 7)).isoformat(timespec="seconds") for i in ids],
                     dtype=object)
    uuids = np.array([str(uuid.UUID(int=int(x), version=4)) for x in rng.integers(0, 2**63, n)], dtype=object)
    return times, uuids, ids.astype(str).astype(object)


def _columns(form: Form, submissions: Mapping[str, Sequence[str]], layout: Layout, n: int):
    """(header, hxl tag, values, kind) of every column of the main sheet, in form order."""
    out = []
    for f in form.fields.values():
        if f.name in submissions and not f.repeat:
            out += _field_columns(form, f, np.asarray(submissions[f.name], dtype=object), layout)
    if layout.meta:
        times, uuids, numbers = _meta(n)
        out = [("start", "", times, "text"), ("end", "", times, "text"), *out, ("_id", "", numbers, "number"),
               ("_uuid", "", uuids, "text"), ("_submission_time", "", times, "text"), ("_index", "", numbers, "number")]
    return out


def _entries(form: Form, submissions: Mapping, n: int) -> dict[str, list[tuple[int, int, dict]]]:
    """Repeat group -> its entries in Kobo's order: (parent's _index, submission, entry). `submissions[key]`
    holds, per submission, a list of entries (field -> value; a nested repeat -> its list of entries)."""
    out: dict[str, list] = {key: [] for key in form.repeats}

    def walk(key: str, parent: int, submission: int, entries) -> None:
        for entry in entries or []:
            out[key].append((parent, submission, entry))
            index = len(out[key])
            for child, repeat in form.repeats.items():
                if repeat.parent == key:
                    walk(child, index, submission, entry.get(child))

    for i in range(n):
        for key, repeat in form.repeats.items():
            if not repeat.parent and key in submissions:
                walk(key, i + 1, i, submissions[key][i])
    return out


def _repeat_sheets(form: Form, submissions: Mapping, layout: Layout, n: int, main: str) -> list[tuple[str, list]]:
    """(sheet title, columns) of each repeat group with entries, as Kobo's XLSX export writes them: a sheet
    named after the group (none when no submission has an entry), linked by _parent_index to _index."""
    from core.ingest.repeats import kobo_sheet_name

    _, uuids, ids = _meta(n)
    out = []
    for key, entries in _entries(form, submissions, n).items():
        if not entries:
            continue
        columns = []
        for f in form.fields.values():
            if f.repeat == key and f.type != "repeat":
                values = np.array([str(e.get(f.name, "")) for _, _, e in entries], dtype=object)
                columns += _field_columns(form, f, values, layout)
        parent = form.repeats[key].parent
        m = len(entries)
        columns += [("_index", "", np.arange(1, m + 1).astype(str).astype(object), "number"),
                    ("_parent_table_name", "", np.full(m, form.repeats[parent].group.name if parent else main,
                                                      dtype=object), "text"),
                    ("_parent_index", "", np.array([str(p) for p, _, _ in entries], dtype=object), "number"),
                    ("_submission__id", "", ids[[s for _, s, _ in entries]], "number"),
                    ("_submission__uuid", "", uuids[[s for _, s, _ in entries]], "text")]
        out.append((kobo_sheet_name(form.repeats[key].group.name), columns))
    return out


def _append_sheet(ws, columns: list, hxl: bool) -> None:
    ws.append([c[0] for c in columns])
    if hxl:
        ws.append([c[1] for c in columns])
    for i in range(len(columns[0][2]) if columns else 0):
        ws.append([_xlsx_cell(values[i], kind) for _, _, values, kind in columns])


def write_export(path: Path, form: Form, submissions: Mapping[str, Sequence], layout: Layout = Layout()) -> Path:
    """Submissions (form field -> stored values; a repeat group -> each submission's entries, see `_entries`)
    as a Kobo export file in `layout`. Repeat groups go on sheets of their own in an XLSX export, and are
    left out of a CSV one, as Kobo does."""
    n = len(next(v for k, v in submissions.items() if k not in form.repeats))
    columns = _columns(form, submissions, layout, n)
    headers = [c[0] for c in columns]
    tags = [c[1] for c in columns]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout.format == "xlsx":
        from openpyxl import Workbook

        # Not write-only: that mode leaves out the sheet's <dimension>, which Excel and Kobo write and without
        # which openpyxl's read-only mode parses the whole sheet once more just to size it.
        book = Workbook()
        ws = book.active
        ws.title = (form.title or "data")[:31]
        _append_sheet(ws, columns, layout.hxl)
        for title, repeat_columns in _repeat_sheets(form, submissions, layout, n, ws.title):
            _append_sheet(book.create_sheet(title), repeat_columns, layout.hxl)
        book.save(path)
        return path
    head = io.StringIO()
    writer = csv.writer(head, delimiter=layout.delimiter, lineterminator="\n")
    writer.writerow(headers)
    if layout.hxl:
        writer.writerow(tags)
    table = pa.Table.from_arrays([pa.array(list(c[2]), pa.string()) for c in columns],
                                 names=[f"c{i}" for i in range(len(columns))])
    with open(path, "wb") as f:
        f.write(head.getvalue().encode("utf-8"))
        pacsv.write_csv(table, f, write_options=pacsv.WriteOptions(
            include_header=False, delimiter=layout.delimiter, quoting_style="needed"))
    return path


def _xlsx_cell(value: str, kind: str):
    """Cells as Kobo's XLSX export writes them: numbers and dates as such, the rest as text."""
    if not value:
        return None
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "number":
        number = float(value)
        return int(number) if number.is_integer() else number
    return value
