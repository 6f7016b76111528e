"""The corpus of real forms written by others (tests/fixtures/real, sources and licences in
tests/fixtures/README.md), and exports for them: KoBoToolbox's own submissions where the source ships
some (formpack's fixtures, as JSON), and realistic generated ones for forms that ship none, in Kobo's
layouts (XML names with `/` or `.` group separators, multiple choice in one column or split, CSV or XLSX)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Collection
from pathlib import Path

import numpy as np

from core.ingest.kobo import write_xlsform
from core.ingest.repeats import kobo_sheet_name
from core.ingest.xlsform import DATE_TYPES, NUMBER_TYPES, REPEAT, Field, Form, read_form

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
PYXFORM = sorted((REAL / "pyxform").glob("*.xlsx"))
# pyxform 4.5 refuses these (it is their point): the corpus checks only that nothing crashes on them
PYXFORM_REFUSES = {"duplicate_columns.xlsx", "include.xlsx", "include_json.xlsx"}
FORMPACK = sorted((REAL / "formpack").glob("*.json"))
KOBOLOADER = REAL / "unhcr_koboloader" / "form.xlsx"


def formpack_form(source: Path, out: Path) -> tuple[Path, list[dict]]:
    """An XLSForm from one of KoBoToolbox formpack's fixtures (its `content`), and its submissions."""
    data = json.loads(source.read_text(encoding="utf-8"))
    content = data["content"]
    translations = content.get("translations") or [None]

    def row(entry: dict) -> dict:
        out_row = {"type": entry.get("type", "") + (f" {entry['select_from_list_name']}"
                                                     if entry.get("select_from_list_name") else ""),
                   "name": entry.get("name") or entry.get("$autoname", "")}
        if "list_name" in entry:
            out_row = {"list_name": entry["list_name"], "name": entry.get("name") or entry.get("$autovalue", "")}
        labels = entry.get("label")
        if isinstance(labels, str):
            labels = [labels]
        for tr, label in zip(translations, labels or []):
            out_row["label" if tr is None else f"label::{tr}"] = label or ""
        return out_row

    survey = [row(e) for e in content["survey"]]
    choices = [row(e) for e in content.get("choices", [])]
    settings_row = {"form_title": source.stem.replace("_", " "), "form_id": source.stem}
    if translations[0]:
        settings_row["default_language"] = translations[0]
    form = write_xlsform(out / f"{source.stem}.xlsx", survey, choices, settings_row)
    return form, data.get("submissions") or []


def _value(form: Form, f, rng: np.random.Generator, day: dt.date) -> str:
    if f.type in ("start", "end", "today") or f.name.startswith("_"):
        return f"{day.isoformat()}T10:{int(rng.integers(0, 60)):02d}:00.000+03:00"  # always recorded
    if rng.random() < 0.1:
        return ""  # skip logic: not asked
    if f.type == "select_one":
        names = [c.name for c in form.choices(f)]
        return names[int(rng.integers(0, len(names)))] if names else ""
    if f.type == "select_multiple":
        names = [c.name for c in form.choices(f)]
        picked = [n for n in names if rng.random() < 0.3] or names[:1]
        return " ".join(picked)
    if f.type in NUMBER_TYPES:
        return str(int(rng.integers(0, 30))) if f.type in ("integer", "range") else f"{rng.uniform(0, 100):.2f}"
    if f.type == "date":
        return (day - dt.timedelta(days=int(rng.integers(0, 900)))).isoformat()
    if f.type in DATE_TYPES:
        return f"{day.isoformat()}T10:{int(rng.integers(0, 60)):02d}:00.000+03:00"
    if f.type in ("text",):
        return "answer"
    return ""


def _slash(f: Field) -> str:
    return "/".join([*(g.name for g in f.groups), f.column_name])


def _columns(form: Form, fields: list[Field], separator: str, split: bool) -> tuple[list[str], list[tuple]]:
    """Headers and (field, its xpath, option or None) of the export columns of `fields`."""
    headers, columns = [], []
    for f in fields:
        if f.name.startswith("_") or f.type in ("note", "calculate", "begin_group", REPEAT):
            continue
        key = separator.join([*(g.name for g in f.groups), f.column_name])
        headers.append(key)
        columns.append((f, _slash(f), None))
        if split and f.type == "select_multiple":
            for c in form.choices(f):
                headers.append(f"{key}{separator}{c.name}")
                columns.append((f, _slash(f), c.name))
    return headers, columns


def _row(form: Form, columns: list[tuple], given: dict, rng: np.random.Generator, day: dt.date) -> list[str]:
    """One row: the given answers (a real submission's, by xpath), generated ones for the others."""
    values, row = {}, []
    for f, slash, option in columns:
        if slash not in values:
            values[slash] = str(given[slash]) if slash in given else _value(form, f, rng, day)
        value = values[slash]
        row.append(value if option is None else ("" if not value else str(int(option in value.split()))))
    return row


def _repeat_sheets(form: Form, parents: list[tuple[int, dict, dt.date]], separator: str, split: bool,
                   rng: np.random.Generator) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Kobo's sheet of each repeat group: its entries (a real submission's, else 0 to 3 generated ones per
    parent), with _index, _parent_table_name and _parent_index linking them to their parent's rows."""
    sheets = {}
    pending = [(key, "", parents) for key, r in form.repeats.items() if not r.parent]
    while pending:
        key, parent_name, rows_of_parent = pending.pop(0)
        repeat = form.repeats[key]
        xpath = "/".join([*(g.name for g in repeat.groups), repeat.group.name])
        headers, columns = _columns(form, [f for f in form.fields.values() if f.repeat == key], separator, split)
        rows, entries = [], []
        for parent_index, given, day in rows_of_parent:
            # a real submission (or entry) without the repeat has no entry of it; a generated one has 0 to 3
            found = given.get(xpath, [] if given else None)
            for entry in found if isinstance(found, list) else [{} for _ in range(int(rng.integers(0, 4)))]:
                entries.append((len(entries) + 1, entry, day))
                rows.append([*_row(form, columns, entry, rng, day), str(len(entries)),
                             parent_name or form.title or "data", str(parent_index)])
        sheets[key] = ([*headers, "_index", "_parent_table_name", "_parent_index"], rows)
        pending += [(child, repeat.group.name, entries) for child, r in form.repeats.items() if r.parent == key]
    return sheets


def generated_export(form: Form, path: Path, n: int = 120, seed: int = 7, separator: str = "/",
                     split: bool = False, submissions: list[dict] = ()) -> Path:
    """A Kobo-style export of `form`: the real `submissions` first, then generated rows up to `n`; headers
    as XML names with their group path joined by `separator`; multiple choice in one column, plus one 0/1
    column per option with `split`; Kobo's own columns last. CSV or XLSX by the suffix of `path`; an XLSX
    has a sheet per repeat group, as Kobo's has (a CSV cannot hold them)."""
    rng = np.random.default_rng(seed)
    headers, columns = _columns(form, [f for f in form.fields.values() if not f.repeat], separator, split)
    headers += ["_id", "_uuid", "_submission_time", "_index"]
    rows, parents = [], []
    for i in range(n):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 360)))
        given = dict(submissions[i]) if i < len(submissions) else {}
        uuid = str(given.get("_uuid") or f"{seed:04d}{i:04d}-0000-4000-8000-{i:012d}")
        rows.append([*_row(form, columns, given, rng, day), str(1000 + i), uuid,
                     str(given.get("_submission_time") or f"{day.isoformat()}T12:00:00"), str(i + 1)])
        parents.append((i + 1, given, day))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        for title, (sheet_headers, sheet_rows) in [("data", (headers, rows)), *(
                (kobo_sheet_name(form.repeats[key].group.name), sheet) for key, sheet in
                _repeat_sheets(form, parents, separator, split, rng).items() if sheet[1])]:
            sheet = book.create_sheet(title)
            sheet.append(sheet_headers)
            for r in sheet_rows:
                sheet.append(r)
        book.save(path)
    else:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(headers)
            writer.writerows(rows)
    return path


def corpus_name(stem: str) -> str:
    return "c_" + "".join(ch if ch.isalnum() else "_" for ch in stem.lower())[:36]


def corpus(tmp: Path, only: Collection[str] | None = None) -> list[tuple[str, Path, Path]]:
    """(dataset name, form, export) of every form of the corpus that pyxform accepts, each with an export
    in one of Kobo's layouts (they take turns); `only`: just these datasets, each with the same form and
    export as in the whole corpus (the others are not written)."""
    out = []
    layouts = [("csv", "/", False), ("csv", ".", True), ("xlsx", "/", True), ("csv", "/", True)]
    sources = [(p.stem, p, []) for p in PYXFORM if p.name not in PYXFORM_REFUSES]
    sources.append(("unhcr_mena", KOBOLOADER, []))
    for source in FORMPACK:
        if only is not None and corpus_name(f"formpack_{source.stem}") not in only:
            sources.append((f"formpack_{source.stem}", None, []))
            continue
        form_path, submissions = formpack_form(source, tmp / "formpack")
        sources.append((f"formpack_{source.stem}", form_path, submissions))
    for i, (stem, form_path, submissions) in enumerate(sources):
        name = corpus_name(stem)
        if only is not None and name not in only:
            continue  # its index still counts: the layouts and seeds of the others stay those of the whole corpus
        fmt, sep, split = layouts[i % len(layouts)]
        form = read_form(form_path)
        fmt = "xlsx" if form.repeats else fmt  # repeat groups are kept from an XLSX export (a CSV has none)
        export = generated_export(form, tmp / "exports" / f"{name}.{fmt}", n=120, seed=i,
                                  separator=sep, split=split, submissions=submissions)
        out.append((name, form_path, export))
    return out
