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

Every file carries the recommended citation of the data's release (core.data.releases.citation), made in
one place, components.downloads.header, as the header block's first line "Cite as" (`cite_row`): so the
CSV and Excel files have it as their first line, a microdata zip in its dictionary; the other formats
carry it as their own metadata: Parquet key-value metadata "portal.citation", Stata dataset notes (and
its data label), PNG an iTXt "Source" chunk, SVG a <desc> and <metadata>. A program reading one of our
CSV files back skips the header block with `csv_skip_rows` (or reads it with `read_csv`).

Charts are rendered on the server by vl-convert (Vega-Lite to SVG or PNG, offline, fonts bundled).
It takes a few tenths of a second per chart, so call it when a user asks for the file, not on every
page run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["FORMULA_STARTS", "MIME", "EXCEL_MAX_ROWS", "TooManyRows", "file_name", "release", "neutralise",
           "neutral_frame", "to_csv", "csv_skip_rows", "read_csv", "cite_row", "citation_of", "CITATION_KEY",
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


FILE_PREFIX = "4mi"  # every file name starts with it: which portal's file this is


def release(dataset: str) -> str:
    """The release of a dataset's data, as file names carry it: the loaded version's id ("v0003",
    core.data.versions; a pinned one where a link pinned it), or for the built-in data the end of its
    fieldwork period ("2026-09-30")."""
    from core import settings
    from core.data import versions
    from core.data.engine import load_codebook

    version = versions.source(settings.GENERATED_DIR, dataset).version
    return version if version is not None else load_codebook(dataset).period_end.isoformat()


CITATION_KEY = "portal.citation"  # Parquet metadata key of the citation


def cite_row(citation: str, lang: str) -> tuple[str, str]:
    """The header block's "Cite as" line, in `lang`: the first line of every download's header."""
    from core.i18n import t

    return (t("cite.label", lang), citation)


def citation_of(header: Header, lang: str) -> str:
    """The citation a header block carries (its "Cite as" line, `cite_row`), or ""."""
    label = cite_row("", lang)[0]
    return next((str(value) for key, value in header if key == label), "")


def csv_skip_rows(data: bytes | str) -> int:
    """How many lines a reader skips to reach the column names of a CSV made by `to_csv`: its header
    block (label,value lines, the "Cite as" line first) and the empty line after it; 0 without one.
    E.g. ``pd.read_csv(io.BytesIO(data), skiprows=csv_skip_rows(data))``."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        if not row:
            return i + 1
        if len(row) != 2:
            return 0
    return 0


def read_csv(data: bytes | str, **kwargs) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """A CSV made by `to_csv` read back: its header block as (label, value) pairs, and its table."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    skip = csv_skip_rows(text)
    header = [(row[0], row[1]) for row in list(csv.reader(io.StringIO(text)))[:max(skip - 1, 0)]]
    return header, pd.read_csv(io.StringIO(text), skiprows=skip, **kwargs)


def _name_part(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def file_name(dataset: str, view: Sequence[str], release: str, fmt: str | None = None) -> str:
    """The one way a download is named: portal and dataset, the view (a page, a question, a crosstab's
    fields and measure), the data's release (`release`) and the format, "_" between them and "-" within
    each, e.g. ``4mi-core_amount-paid-usd_2026-09-30.csv``. `fmt` is the extension, and says what a zip
    holds ("csv.zip", "dta.zip"), so that two formats of the same view never share a name; without it,
    the name's stem, for the caller to add each format's extension to."""
    parts = [f"{FILE_PREFIX}-{_name_part(dataset)}", "-".join(p for p in map(_name_part, view) if p) or "table",
             _name_part(release)]
    stem = "_".join(p for p in parts if p)
    return stem if not fmt else stem + "." + ".".join(_name_part(x) for x in fmt.split("."))


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


def file_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a file holds it: a column of floats that are all whole numbers (an age, a count with a
    gap) as integers, so that no file says `28.0`; everything else as it is."""
    out = table.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_float_dtype(values) and not pd.api.types.is_bool_dtype(values):
            present = values.dropna().astype(float)
            if len(present) and np.isfinite(present).all() and (present % 1 == 0).all() \
                    and present.abs().max() < 2 ** 53:
                out[col] = values.astype("Int64")
    return out


def _midnight(values: pd.Series) -> bool:
    present = pd.to_datetime(values.dropna())
    return bool((present == present.dt.normalize()).all())


def _cell(value, *, for_csv: bool = False, dates_only: bool = True):
    """A cell as files hold it: missing values empty, NumPy scalars as Python numbers; `for_csv`: a date
    as ISO 8601 text ("2024-03-31", or "2024-03-31T14:05:00" where its column has a time of day) and a
    whole number without ".0"."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, dt.datetime) and for_csv:
        return value.date().isoformat() if dates_only and value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and for_csv:
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53 and for_csv:
        return int(value)  # a whole number in a column of other numbers
    return value


def _rows(table: pd.DataFrame, header: Header, *, for_csv: bool = False) -> list[list]:
    rows: list[list] = [[neutralise(str(label)), neutralise(str(value))] for label, value in header]
    if header:
        rows.append([])
    safe = neutral_frame(file_frame(table))
    rows.append(list(safe.columns))
    dates_only = [not pd.api.types.is_datetime64_any_dtype(safe[c]) or _midnight(safe[c]) for c in safe.columns]
    rows += [[_cell(v, for_csv=for_csv, dates_only=d) for v, d in zip(record, dates_only)]
             for record in safe.itertuples(index=False, name=None)]
    return rows


def to_csv(table: pd.DataFrame, header: Header = ()) -> bytes:
    """UTF-8 CSV (with a byte-order mark, so that spreadsheet programs read accents right): the header
    block as label,value lines, an empty line, then the table with its column names.

    The cells are for programs, the same in every language: a dot for decimals and no thousands
    separator, whole numbers without ".0", dates in ISO 8601 (no "00:00:00"). Only the header block,
    the column names and labels are in the user's language."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in _rows(table, header, for_csv=True):
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def excel_rows(table: pd.DataFrame, header: Header = ()) -> int:
    """How many worksheet rows `table` takes with its header block and column names."""
    return len(table) + 1 + (len(header) + 1 if header else 0)


# Excel number formats, written in the file's neutral syntax: Excel shows "," and "." as the reader's
# own separators ("1 234,5" in French). Dates in the order of the user's language.
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0##"
DATE_FORMATS = {"en": "d mmm yyyy", "fr": "dd/mm/yyyy", "es": "dd/mm/yyyy"}
DATETIME_FORMATS = {lang: f"{fmt} hh:mm" for lang, fmt in DATE_FORMATS.items()}


def column_formats(table: pd.DataFrame, lang: str = "en") -> list[str | None]:
    """The Excel number format of each column of `table` (as file_frame makes it) in `lang`; None for text."""
    out: list[str | None] = []
    for col in table.columns:
        values = table[col]
        if pd.api.types.is_bool_dtype(values):
            out.append(None)
        elif pd.api.types.is_integer_dtype(values):
            out.append(INTEGER_FORMAT)
        elif pd.api.types.is_float_dtype(values):
            out.append(DECIMAL_FORMAT)
        elif pd.api.types.is_datetime64_any_dtype(values):
            formats = DATE_FORMATS if _midnight(values) else DATETIME_FORMATS
            out.append(formats.get(lang, formats["en"]))
        else:
            out.append(None)
    return out


def to_excel(table: pd.DataFrame, header: Header = (), sheet: str = "table",
             more: Sequence[tuple[str, pd.DataFrame, Header]] = (), lang: str = "en") -> bytes:
    """An .xlsx workbook: the sheet `sheet` with the header block (labels in bold), an empty row, then
    the table (column names in bold, frozen under the header block); then one more sheet for each
    (name, table, header) of `more`. Numbers and dates are real numbers and dates, with number formats
    for a reader of `lang` (column_formats). TooManyRows when a sheet would pass Excel's row limit."""
    from openpyxl import Workbook

    for frame, head in [(table, header), *((f, h) for _, f, h in more)]:
        if excel_rows(frame, head) > EXCEL_MAX_ROWS:
            raise TooManyRows(len(frame), EXCEL_MAX_ROWS - 1 - (len(head) + 1 if head else 0))
    book = Workbook()
    _sheet(book.active, table, header, sheet, lang)
    for name, frame, head in more:
        _sheet(book.create_sheet(), frame, head, name, lang)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(ws, table: pd.DataFrame, header: Header, title: str, lang: str = "en") -> None:
    from openpyxl.styles import Font

    ws.title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "table"
    bold = Font(bold=True)
    rows = _rows(table, header)
    formats = column_formats(file_frame(table), lang)
    names_row = len(header) + (2 if header else 1)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                value = _XML_ILLEGAL.sub("", value)
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            elif r > names_row and value is not None and c <= len(formats) and formats[c - 1]:
                cell.number_format = formats[c - 1]
            if (r <= len(header) and c == 1) or r == names_row:
                cell.font = bold
    ws.freeze_panes = ws.cell(row=names_row + 1, column=1)
    for c in range(1, len(table.columns) + 1):
        values = [len(str(row[c - 1])) for row in rows[names_row - 1:names_row + 200] if len(row) >= c]
        ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = min(max(values or [8]) + 2, 60)


def to_parquet(table: pd.DataFrame, header: Header = (), citation: str = "") -> bytes:
    """A Parquet file of the table as it is (types kept, no apostrophes), with the header block in the
    file's key-value metadata ("portal.header", JSON pairs) and the citation ("portal.citation")."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = {**(arrow.schema.metadata or {}),
                b"portal.header": json.dumps([[str(k), str(v)] for k, v in header], ensure_ascii=False).encode()}
    if citation:
        metadata[CITATION_KEY.encode()] = citation.encode("utf-8")
    out = io.BytesIO()
    pq.write_table(arrow.replace_schema_metadata(metadata), out, compression="zstd")
    return out.getvalue()


def to_stata(table: pd.DataFrame, *, variable_labels: dict[str, str] | None = None,
             value_labels: dict[str, dict[int, str]] | None = None, data_label: str = "",
             notes: Sequence[str] = ()) -> bytes:
    """A Stata 14+ .dta file (format 118, UTF-8). Coded columns are integers (or missing) and
    `value_labels` gives each one's {code: label}; `variable_labels` the columns' labels. Column
    names must be Stata names (32 characters, letters, digits, _): a name pandas would have to change
    is refused here rather than renamed behind the caller's back. Date columns stay dates. `notes`: the
    dataset's notes (Stata's `notes`, e.g. the citation), in the file's characteristics."""
    bad = [c for c in table.columns if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", str(c))]
    if bad:
        raise ValueError(f"not Stata variable names: {', '.join(map(str, bad))}")
    frame = table.copy()
    dates = {c: "td" for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    for c in frame.columns:
        if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c]):
            frame[c] = frame[c].astype("object").where(frame[c].notna(), "").astype(str)
    out = io.BytesIO()
    writer = _stata_writer(notes)(
        out, frame, write_index=False, version=118, convert_dates=dates, data_label=data_label[:STATA_LABEL_CHARS],
        variable_labels={c: v[:STATA_LABEL_CHARS] for c, v in (variable_labels or {}).items()},
        value_labels={c: {int(k): v for k, v in labels.items()} for c, labels in (value_labels or {}).items()})
    writer.write_file()
    return out.getvalue()


def _stata_writer(notes: Sequence[str]):
    """pandas' Stata 118 writer, writing `notes` as the dataset's notes (characteristics _dta[note0..n],
    what Stata's `notes` command lists); pandas itself writes no characteristics."""
    import struct

    from pandas.io.stata import StataWriterUTF8

    def name(text: str) -> bytes:
        return text.encode("utf-8")[:128].ljust(129, b"\0")

    class Writer(StataWriterUTF8):
        def _write_characteristics(self) -> None:
            self._update_map("characteristics")
            items = [("note0", str(len(notes)))] + [(f"note{i}", text) for i, text in enumerate(notes, 1)] \
                if notes else []
            body = b""
            for key, text in items:
                payload = name("_dta") + name(key) + text.encode("utf-8") + b"\0"
                body += b"<ch>" + struct.pack(f"{self._byteorder}I", len(payload)) + payload + b"</ch>"
            self._write_bytes(self._tag(body, "characteristics"))

    return Writer


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


def chart_svg(spec: dict, lang: str = "en", citation: str = "") -> bytes:
    """A Vega-Lite spec (a dict, data inline) as SVG. Give the spec an explicit width: there is no
    page around it to take one from. `citation`: written as the drawing's <desc> and <metadata>
    (Dublin Core bibliographicCitation)."""
    from xml.sax.saxutils import escape

    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec, vl_version=_vl_version(spec),
                                     format_locale=_FORMAT_LOCALES.get(lang, "en-US"))
    if citation:
        end = svg.index(">", svg.index("<svg")) + 1
        text = escape(citation)
        svg = (svg[:end] + f'<desc xml:lang="{lang}">{text}</desc><metadata>'
               f'<dc:bibliographicCitation xmlns:dc="http://purl.org/dc/terms/">{text}</dc:bibliographicCitation>'
               "</metadata>" + svg[end:])
    return svg.encode("utf-8")


def chart_png(spec: dict, lang: str = "en", scale: float = 2, citation: str = "") -> bytes:
    """A Vega-Lite spec as PNG, `scale` times its size in pixels (2: sharp on a slide or a print);
    `citation` in an iTXt "Source" chunk (read by png_text)."""
    import vl_convert

    png = vl_convert.vegalite_to_png(spec, vl_version=_vl_version(spec), scale=scale,
                                     format_locale=_FORMAT_LOCALES.get(lang, "en-US"))
    return _png_with_text(png, "Source", citation, lang) if citation else png


def _png_with_text(png: bytes, keyword: str, text: str, lang: str) -> bytes:
    """The PNG with an iTXt chunk (UTF-8 text, uncompressed) right after its IHDR chunk."""
    import struct
    import zlib

    data = keyword.encode("latin-1") + b"\0\0\0" + lang.encode("ascii") + b"\0\0" + text.encode("utf-8")
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    end_of_ihdr = 8 + 4 + 4 + 13 + 4  # signature, IHDR's length, type, data and CRC
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def png_text(png: bytes) -> dict[str, str]:
    """The iTXt texts of a PNG, keyword -> text (how a citation is read back)."""
    import struct

    out, at = {}, 8
    while at < len(png):
        (length,), kind = struct.unpack(">I", png[at:at + 4]), png[at + 4:at + 8]
        if kind == b"iTXt":
            data = png[at + 8:at + 8 + length]
            keyword, rest = data.split(b"\0", 1)
            _, _, rest = rest[0], rest[1], rest[2:]
            _, rest = rest.split(b"\0", 1)  # language tag
            _, text = rest.split(b"\0", 1)  # translated keyword
            out[keyword.decode("latin-1")] = text.decode("utf-8")
        at += 12 + length
    return out
