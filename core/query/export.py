"""Files a user takes away: a table as CSV, Excel, Parquet or Stata, a chart as PNG or SVG, several files
as one zip (no Streamlit here).

Every export carries a header block, label and value pairs the caller writes in the user's language
(dataset, filters, date, source and caveat): a file passed on without its page must still say what it
is. What goes in is what the page shows: for the public tier, the protected aggregates of core.query,
never rows.

Text cells are neutralised in every CSV and Excel file: a cell that begins with = + - @, a tab or a
carriage return is read as a formula by spreadsheet programs (CSV injection), so it gets a leading
apostrophe, which they show as text. Numbers stay numbers.

Parquet and Stata files are for analysis tools, not spreadsheets: they hold the values as they are
(no apostrophe), with their header block as file metadata (Parquet) or data label (Stata); a Stata
file carries its variables' labels and the value labels of its coded columns.

Charts are rendered on the server by vl-convert (Vega-Lite to SVG or PNG, offline, fonts bundled).
It takes a few tenths of a second per chart, so call it when a user asks for the file, not on every
page run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

import pandas as pd

__all__ = ["FORMULA_STARTS", "MIME", "EXCEL_MAX_ROWS", "TooManyRows", "neutralise", "neutral_frame", "to_csv",
           "to_excel", "to_parquet", "to_stata", "to_zip", "chart_svg", "chart_png"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "svg": "image/svg+xml",
    "parquet": "application/vnd.apache.parquet",
    "dta": "application/x-stata-dta",
    "zip": "application/zip",
}
EXCEL_MAX_ROWS = 1_048_576  # rows of one worksheet, the column names' row included
STATA_NAME_CHARS = 32
STATA_LABEL_CHARS = 80
# Characters XML 1.0 (and so an .xlsx file) cannot hold; tab, newline and carriage return can.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# d3-format locales of the portal's languages, for vl-convert's number formatting.
_FORMAT_LOCALES = {"en": "en-US", "fr": "fr-FR", "es": "es-ES"}

Header = Sequence[tuple[str, str]]


class TooManyRows(ValueError):
    """A table longer than a format can hold (Excel: EXCEL_MAX_ROWS). `rows` and `limit` say by how much."""

    def __init__(self, rows: int, limit: int):
        super().__init__(f"{rows} rows do not fit in one worksheet (at most {limit})")
        self.rows = rows
        self.limit = limit


def neutralise(value):
    """A text value a spreadsheet would run as a formula, made plain text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutral_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its text cells and column names neutralised, numbers untouched."""
    out = table.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(neutralise, na_action="ignore")
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _cell(value):
    """A cell as files hold it: missing values empty, NumPy scalars as Python numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _rows(table: pd.DataFrame, header: Header) -> list[list]:
    rows: list[list] = [[neutralise(str(label)), neutralise(str(value))] for label, value in header]
    if header:
        rows.append([])
    safe = neutral_frame(table)
    rows.append(list(safe.columns))
    rows += [[_cell(v) for v in record] for record in safe.itertuples(index=False, name=None)]
    return rows


def to_csv(table: pd.DataFrame, header: Header = ()) -> bytes:
    """UTF-8 CSV (with a byte-order mark, so that spreadsheet programs read accents right): the header
    block as label,value lines, an empty line, then the table with its column names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in _rows(table, header):
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def excel_rows(table: pd.DataFrame, header: Header = ()) -> int:
    """How many worksheet rows `table` takes with its header block and column names."""
    return len(table) + 1 + (len(header) + 1 if header else 0)


def to_excel(table: pd.DataFrame, header: Header = (), sheet: str = "table",
             more: Sequence[tuple[str, pd.DataFrame, Header]] = ()) -> bytes:
    """An .xlsx workbook: the sheet `sheet` with the header block (labels in bold), an empty row, then
    the table (column names in bold, frozen under the header block); then one more sheet for each
    (name, table, header) of `more`. TooManyRows when a sheet would pass Excel's row limit."""
    from openpyxl import Workbook

    for frame, head in [(table, header), *((f, h) for _, f, h in more)]:
        if excel_rows(frame, head) > EXCEL_MAX_ROWS:
            raise TooManyRows(len(frame), EXCEL_MAX_ROWS - 1 - (len(head) + 1 if head else 0))
    book = Workbook()
    _sheet(book.active, table, header, sheet)
    for name, frame, head in more:
        _sheet(book.create_sheet(), frame, head, name)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(ws, table: pd.DataFrame, header: Header, title: str) -> None:
    from openpyxl.styles import Font

    ws.title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "table"
    bold = Font(bold=True)
    rows = _rows(table, header)
    names_row = len(header) + (2 if header else 1)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                value = _XML_ILLEGAL.sub("", value)
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            if (r <= len(header) and c == 1) or r == names_row:
                cell.font = bold
    ws.freeze_panes = ws.cell(row=names_row + 1, column=1)
    for c in range(1, len(table.columns) + 1):
        values = [len(str(row[c - 1])) for row in rows[names_row - 1:names_row + 200] if len(row) >= c]
        ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = min(max(values or [8]) + 2, 60)


def to_parquet(table: pd.DataFrame, header: Header = ()) -> bytes:
    """A Parquet file of the table as it is (types kept, no apostrophes), with the header block in the
    file's key-value metadata ("portal.header", JSON pairs)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = {**(arrow.schema.metadata or {}),
                b"portal.header": json.dumps([[str(k), str(v)] for k, v in header], ensure_ascii=False).encode()}
    out = io.BytesIO()
    pq.write_table(arrow.replace_schema_metadata(metadata), out, compression="zstd")
    return out.getvalue()


def to_stata(table: pd.DataFrame, *, variable_labels: dict[str, str] | None = None,
             value_labels: dict[str, dict[int, str]] | None = None, data_label: str = "") -> bytes:
    """A Stata 14+ .dta file (format 118, UTF-8). Coded columns are integers (or missing) and
    `value_labels` gives each one's {code: label}; `variable_labels` the columns' labels. Column
    names must be Stata names (32 characters, letters, digits, _): a name pandas would have to change
    is refused here rather than renamed behind the caller's back. Date columns stay dates."""
    bad = [c for c in table.columns if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", str(c))]
    if bad:
        raise ValueError(f"not Stata variable names: {', '.join(map(str, bad))}")
    frame = table.copy()
    dates = {c: "td" for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    for c in frame.columns:
        if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c]):
            frame[c] = frame[c].astype("object").where(frame[c].notna(), "").astype(str)
    out = io.BytesIO()
    frame.to_stata(out, write_index=False, version=118, convert_dates=dates, data_label=data_label[:STATA_LABEL_CHARS],
                   variable_labels={c: v[:STATA_LABEL_CHARS] for c, v in (variable_labels or {}).items()},
                   value_labels={c: {int(k): v for k, v in labels.items()} for c, labels in (value_labels or {}).items()})
    return out.getvalue()


def to_zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    """Several files as one zip archive, in the order given."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return out.getvalue()


def _vl_version(spec: dict) -> str | None:
    """vl-convert's Vega-Lite version for a spec's $schema (".../v6.4.1.json" -> "6.4")."""
    found = re.search(r"/v(\d+)\.(\d+)", spec.get("$schema", ""))
    return f"{found.group(1)}.{found.group(2)}" if found else None


def chart_svg(spec: dict, lang: str = "en") -> bytes:
    """A Vega-Lite spec (a dict, data inline) as SVG. Give the spec an explicit width: there is no
    page around it to take one from."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec, vl_version=_vl_version(spec),
                                     format_locale=_FORMAT_LOCALES.get(lang, "en-US"))
    return svg.encode("utf-8")


def chart_png(spec: dict, lang: str = "en", scale: float = 2) -> bytes:
    """A Vega-Lite spec as PNG, `scale` times its size in pixels (2: sharp on a slide or a print)."""
    import vl_convert

    return vl_convert.vegalite_to_png(spec, vl_version=_vl_version(spec), scale=scale,
                                      format_locale=_FORMAT_LOCALES.get(lang, "en-US"))
