"""Microdata extracts for researchers (no Streamlit here): the chosen columns of the filtered rows,
shaped for the screen or for a file, with their data dictionary, and every file written to the audit
log when it is made.

Values are codes or labels in the chosen language. A multiple-choice answer is, on screen, the list of
the chosen options; in a file, either one column per option holding 0/1 (missing when the question was
not asked; "binary") or one column of the chosen codes separated by spaces, as KoBoToolbox exports them
(labels separated by "; " when labels are chosen; "codes").

Files: CSV, Parquet and Stata come as a zip of the data file and its dictionary (a CSV with the header
block: what the extract is, of which data, filtered how, made when, by whom); the data file stays a
plain rectangle that R, Stata and pandas read without options. Excel is one workbook of two sheets,
data and dictionary, which is what spreadsheet users expect. Stata files are coded: single choices and
countries as integers with value labels in the chosen language, multiple choice as 0/1 columns
(`name_1`, `name_2`, ... with the option in the variable label) or a string of codes; variable labels
are the questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from core.auth.audit import AuditLog
from core.data.codebook import Codebook, Variable
from core.data.engine import load_codebook
from core.i18n import t, with_unit
from core.query import export
from core.query.tables import categories, microdata

__all__ = ["FORMATS", "LAYOUTS", "ID", "Request", "choosable", "for_screen", "for_file", "for_stata", "dictionary",
           "make_file", "download", "file_name"]

FORMATS = ("csv", "parquet", "xlsx", "dta")
LAYOUTS = ("binary", "codes")
ID = "respondent_id"


def _fold(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def choosable(codebook: Codebook, lang: str, search: str = "") -> dict[str, list[str]]:
    """The variables a researcher can add, grouped by theme (theme id -> names, codebook order), those
    whose question or one of whose answers contains `search` (case and accents ignored) when given."""
    wanted = _fold(search.strip())
    found: dict[str, list[str]] = {}
    for var in codebook.variables.values():
        if var.name == ID:
            continue
        texts = [var.label(lang), var.name, *(c.label(lang) for c in var.choices)]
        if wanted and not any(wanted in _fold(x) for x in texts):
            continue
        found.setdefault(var.theme, []).append(var.name)
    return {th.id: found[th.id] for th in codebook.themes if th.id in found}


def _label(var: Variable, code, lang: str, labels: bool):
    if code is None or code is pd.NA or (isinstance(code, float) and code != code):
        return None
    return var.choice_label(str(code), lang) if labels else str(code)


def for_screen(rows: pd.DataFrame, codebook: Codebook, lang: str, labels: bool) -> pd.DataFrame:
    """Rows of core.query.microdata as a page shows them: codes or labels, multiple choice as a list."""
    out = rows.copy()
    for name in out.columns:
        var = codebook[name]
        if var.type == "multiple":
            out[name] = [None if chosen is None else [_label(var, c, lang, labels) for c in chosen]
                         for chosen in out[name]]
        elif var.categorical:
            out[name] = out[name].map(lambda c, v=var: _label(v, c, lang, labels)).astype("string")
    return out


@dataclass(frozen=True)
class _Column:
    name: str          # in the file
    var: Variable
    option: str | None = None  # a 0/1 column's option code
    kind: str = ""     # single, multiple_binary, multiple_codes, number, date, ...


def _columns(rows: pd.DataFrame, codebook: Codebook, layout: str, stata: bool) -> list[_Column]:
    out = []
    for name in rows.columns:
        var = codebook[name]
        if var.type == "multiple" and layout == "binary":
            out += [_Column(f"{name}_{i}" if stata else f"{name}/{code}", var, code, "multiple_binary")
                    for i, code in enumerate(var.codes, start=1)]
        else:
            out.append(_Column(name, var, None, "multiple_codes" if var.type == "multiple" else var.type))
    return out


def _binary(chosen, code: str):
    return pd.NA if chosen is None else int(code in chosen)


def for_file(rows: pd.DataFrame, codebook: Codebook, lang: str, labels: bool, layout: str) -> pd.DataFrame:
    """Rows of core.query.microdata for a CSV, Parquet or Excel file."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    data = {}
    for col in _columns(rows, codebook, layout, stata=False):
        values = rows[col.var.name]
        if col.kind == "multiple_binary":
            data[col.name] = pd.array([_binary(c, col.option) for c in values], dtype="Int8")
        elif col.kind == "multiple_codes":
            sep = "; " if labels else " "
            data[col.name] = pd.array([None if c is None else sep.join(_label(col.var, x, lang, labels) for x in c)
                                       for c in values], dtype="string")
        elif col.var.categorical:
            data[col.name] = values.map(lambda c, v=col.var: _label(v, c, lang, labels)).astype("string")
        else:
            data[col.name] = values
    return pd.DataFrame(data, index=rows.index)


def _codes(dataset: str, var: Variable) -> list[str]:
    """A coded variable's codes, numbered from 1 in this order: the codebook's, or for countries every
    code found in the whole dataset (the same numbers in every extract of a release)."""
    return var.codes if var.type == "single" else categories(dataset, var.name, tier="researcher")


def for_stata(rows: pd.DataFrame, codebook: Codebook, lang: str, layout: str
              ) -> tuple[pd.DataFrame, dict[str, str], dict[str, dict[int, str]]]:
    """Rows of core.query.microdata for a Stata file: the coded frame, its variable labels and its
    value labels."""
    data, var_labels, value_labels = {}, {}, {}
    for col in _columns(rows, codebook, layout, stata=True):
        var, values = col.var, rows[col.var.name]
        var_labels[col.name] = var.label(lang)
        if col.kind == "multiple_binary":
            data[col.name] = pd.array([_binary(c, col.option) for c in values], dtype="Int8")
            var_labels[col.name] = f"{var.label(lang)}: {var.choice_label(col.option, lang)}"
            value_labels[col.name] = {0: t("microdata.dict.not_chosen", lang), 1: t("microdata.dict.chosen", lang)}
        elif col.kind == "multiple_codes":
            data[col.name] = pd.array([None if c is None else " ".join(c) for c in values], dtype="string")
        elif var.type in ("single", "country"):
            codes = _codes(codebook.dataset, var)
            number = {c: i for i, c in enumerate(codes, start=1)}
            data[col.name] = pd.array([number.get(c) if isinstance(c, str) else None for c in values], dtype="Int32")
            value_labels[col.name] = {number[c]: var.choice_label(c, lang) for c in codes}
        elif var.categorical:  # quarters and years: their codes read as they are
            data[col.name] = values.astype("string")
        else:
            data[col.name] = values
    return pd.DataFrame(data, index=rows.index), var_labels, value_labels


def _values_text(col: _Column, lang: str, stata: bool, labels: bool) -> str:
    """What the values of a column mean, in words."""
    var = col.var
    if col.kind == "multiple_binary":
        return t("microdata.dict.binary_values", lang)
    if var.type == "country":
        key = "coded" if stata else "names" if labels else "codes"
        return t(f"microdata.dict.country_{key}", lang)
    if var.type in ("single", "multiple"):
        if labels:
            return "; ".join(c.label(lang) for c in var.choices)
        numbered = stata and var.type == "single"
        return "; ".join(f"{i if numbered else c.code} = {c.label(lang)}" for i, c in enumerate(var.choices, start=1))
    if var.type == "number":
        if var.min is None or var.max is None:
            return var.unit or ""
        return with_unit(f"{var.min:g}–{var.max:g}", var.max, var.unit, lang)
    if var.type == "date":
        return "YYYY-MM-DD"
    return ""


def dictionary(rows: pd.DataFrame, codebook: Codebook, lang: str, layout: str, *, labels: bool,
               stata: bool = False) -> pd.DataFrame:
    """The data dictionary of a file made from `rows`: one line per column of the file, with its
    question, type, theme, values and whether the question is sensitive, in `lang`."""
    themes = {th.id: th.label(lang) for th in codebook.themes}
    lines = []
    for col in _columns(rows, codebook, layout, stata):
        var = col.var
        question = var.label(lang)
        if col.option is not None:
            question = f"{question}: {var.choice_label(col.option, lang)}"
        lines.append({
            t("microdata.dict.column", lang): col.name,
            t("microdata.dict.variable", lang): var.name,
            t("microdata.dict.question", lang): question,
            t("microdata.dict.type", lang): t(f"microdata.type.{col.kind}", lang),
            t("microdata.dict.theme", lang): themes.get(var.theme, var.theme),
            t("microdata.dict.values", lang): _values_text(col, lang, stata, labels),
            t("microdata.dict.sensitive", lang): t("microdata.dict.yes" if var.sensitive else "microdata.dict.no", lang),
        })
    return pd.DataFrame(lines)


@dataclass(frozen=True)
class Request:
    """One download: which rows (dataset, filters), which columns, how shaped, in which format."""
    dataset: str
    columns: tuple[str, ...]
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    fmt: str = "csv"
    lang: str = "en"
    labels: bool = True
    layout: str = "binary"
    header: tuple[tuple[str, str], ...] = ()  # the header block, in `lang` (components.downloads.header)


def file_name(request: Request, release: str) -> str:
    """The name of a download (core.query.export.file_name): an .xlsx workbook, or a zip named after the
    data file it holds ("….csv.zip", "….dta.zip"), so that no two formats share a name."""
    fmt = "xlsx" if request.fmt == "xlsx" else f"{request.fmt}.zip"
    return export.file_name(request.dataset, ["microdata"], release, fmt)


def make_file(request: Request, rows: pd.DataFrame, release: str) -> bytes:
    """The file of a download: an .xlsx workbook, or a zip of the data file and its dictionary, named
    like the download (file_name) with the dictionary beside it."""
    if request.fmt not in FORMATS:
        raise ValueError(f"unknown format {request.fmt!r}; one of {', '.join(FORMATS)}")
    codebook, lang = load_codebook(request.dataset), request.lang
    header = [*request.header, (t("microdata.dict.rows", lang), str(len(rows)))]
    cite = export.citation_of(header, lang)  # the header's "Cite as" line (components.downloads.header)
    stata = request.fmt == "dta"
    book = dictionary(rows, codebook, lang, request.layout, labels=request.labels and not stata, stata=stata)
    if request.fmt == "xlsx":
        table = for_file(rows, codebook, lang, request.labels, request.layout)
        return export.to_excel(table, (), t("microdata.dict.data_sheet", lang),
                               more=[(t("microdata.dict.sheet", lang), book, header)], lang=lang)
    if stata:
        table, var_labels, value_labels = for_stata(rows, codebook, lang, request.layout)
        data = export.to_stata(table, variable_labels=var_labels, value_labels=value_labels,
                               data_label=codebook.title(lang), notes=[cite] if cite else ())
    else:
        table = for_file(rows, codebook, lang, request.labels, request.layout)
        data = export.to_csv(table) if request.fmt == "csv" else export.to_parquet(table, header, citation=cite)
    stem = export.file_name(request.dataset, ["microdata"], release)
    return export.to_zip([(f"{stem}.{request.fmt}", data),
                          (f"{stem}_{_ascii(t('microdata.dict.file', lang))}.csv", export.to_csv(book, header))])


def _ascii(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_-]+", "-", plain).strip("-").lower() or "dictionary"


def download(request: Request, *, username: str, role: str, release: str, audit: AuditLog | None = None,
             fetch: Callable[..., pd.DataFrame] = microdata, grant_id: int | None = None) -> bytes:
    """Make the file of `request` from every matching row (role's tier), and write the download to the
    audit log (before handing the file over: a file the log does not know about never leaves), with
    the access grant it used (`grant_id`, core.auth.grants; None for an admin)."""
    rows = fetch(request.dataset, list(request.columns), filters=dict(request.filters), tier=role)
    data = make_file(request, rows, release)
    (audit or AuditLog()).record(username=username, role=role, action="download", dataset=request.dataset,
                                 filters=request.filters, columns=list(rows.columns), rows=len(rows),
                                 format=request.fmt, grant_id=grant_id)
    return data
