"""Files a user takes away: a table as CSV or Excel, a chart as PNG or SVG (no Streamlit here).

Every export carries a header block, label and value pairs the caller writes in the user's language
(dataset, filters, date, source and caveat): a file passed on without its page must still say what it
is. What goes in is what the page shows: for the public tier, the protected aggregates of core.query,
never rows.

Text cells are neutralised in every CSV and Excel file: a cell that begins with = + - @, a tab or a
carriage return is read as a formula by spreadsheet programs (CSV injection), so it gets a leading
apostrophe, which they show as text. Numbers stay numbers.

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

__all__ = ["FORMULA_STARTS", "MIME", "neutralise", "neutral_frame", "to_csv", "to_excel", "chart_svg",
           "chart_png"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "svg": "image/svg+xml",
}
# Characters XML 1.0 (and so an .xlsx file) cannot hold; tab, newline and carriage return can.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# d3-format locales of the portal's languages, for vl-convert's number formatting.
_FORMAT_LOCALES = {"en": "en-US", "fr": "fr-FR", "es": "es-ES"}

Header = Sequence[tuple[str, str]]


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


def to_excel(table: pd.DataFrame, header: Header = (), sheet: str = "table") -> bytes:
    """An .xlsx workbook of one sheet: the header block (labels in bold), an empty row, then the table
    (column names in bold, frozen under the header block)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    ws.title = re.sub(r"[\[\]:*?/\\]", " ", sheet)[:31] or "table"
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
    out = io.BytesIO()
    book.save(out)
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
