"""Opening uploaded files safely: what a file is (its bytes, not its name), how big it is and would become,
its encoding and delimiter, and its cells as text.

Every check runs before a parser sees the file: size (settings.INGEST_MAX_FILE_MB / _FORM_MB), type from
the first bytes (an .xlsx is a zip, `PK\\x03\\x04`; a CSV is text), and for a zip its members' unpacked
sizes and count (a zip bomb is refused before it is opened), and a sheet whose <dimension> says it has too
many rows is refused before it is parsed. Workbooks are read by python-calamine (Rust's calamine) with
cached values only: formulas are never evaluated and macros never run; its XML parser (quick-xml) expands
no entities, so "billion laughs" cannot grow.

CSV files are read by pyarrow with every cell as text and no value taken as missing but the empty one,
so that "NA" (Namibia) stays a country code; UTF-8 (with or without a byte-order mark) and UTF-16 with a
byte-order mark are recognised, another encoding must be named; the delimiter (comma, semicolon, tab or
vertical bar) is found from the first lines and reported.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from core import settings
from core.ingest.problems import INFO, IngestError, Problem, refuse

CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
XLSX_EXTENSIONS = (".xlsx",)
MAPPING_EXTENSIONS = (".yaml", ".yml")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_MAGIC = [  # first bytes -> what the file is, for messages
    (b"PK\x03\x04", "ZIP"), (b"PK\x05\x06", "ZIP"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "XLS"),
    (b"%PDF", "PDF"), (b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf", "7-Zip"), (b"Rar!", "RAR"), (b"MZ", "EXE"), (b"\x7fELF", "ELF"), (b"PAR1", "Parquet"),
]
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_SNIFF_BYTES = 1 << 16
_SAMPLE_MAX = 1 << 23
_CHUNK_ROWS = 20_000


@dataclass
class RawTable:
    """An export's cells as text: `columns[i]` under `headers[i]`; `row_numbers` are the file rows of
    the data rows (as a spreadsheet program numbers them)."""
    file: str
    sheet: str | None
    headers: list[str]
    columns: list[pa.ChunkedArray]
    row_numbers: np.ndarray
    hxl: list[str] | None = None
    delimiter: str | None = None
    encoding: str | None = None
    notes: list[Problem] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return len(self.row_numbers)


def display_name(path: Path, name: str | None) -> str:
    return name or Path(path).name


def kind_of(head: bytes) -> str:
    """What the first bytes of a file say it is: "text", "UTF-16", or a format name (ZIP, XLS, PDF, ...);
    "binary" for anything else that is not text."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(_UTF16_BOMS):
        return "UTF-16"
    if b"\x00" in head:
        return "binary"
    return "text"


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8192)


def check_size(path: Path, name: str, limit_mb: int) -> int:
    size = os.path.getsize(path)
    if size == 0:
        raise refuse("file_empty", file=name)
    if size > limit_mb * 1024 * 1024:
        raise refuse("file_too_large", file=name, size_mb=round(size / 2**20, 1), limit_mb=limit_mb)
    return size


def _extension(name: str, allowed: tuple[str, ...]) -> str:
    ext = Path(name).suffix.lower()
    if ext not in allowed:
        raise refuse("unsupported_extension", file=name, extension=ext or "-", allowed=", ".join(allowed))
    return ext


def check_zip(path: Path, name: str) -> None:
    """Refuse a zip that would unpack to too much (a zip bomb), before anything unpacks it."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        # NotImplementedError: a zip version or compression method zipfile does not read; RuntimeError: encrypted
        raise refuse("corrupt_xlsx", file=name) from None
    if len(members) > settings.INGEST_MAX_ZIP_MEMBERS:
        raise refuse("zip_members", file=name, count=len(members), limit=settings.INGEST_MAX_ZIP_MEMBERS)
    total = sum(m.file_size for m in members)
    if total > settings.INGEST_MAX_UNZIPPED_MB * 2**20:
        raise refuse("zip_bomb", file=name, unzipped_mb=round(total / 2**20),
                     limit_mb=settings.INGEST_MAX_UNZIPPED_MB)
    for m in members:
        # Small members may be stored at any ratio; a big one that grows hundreds of times is a bomb.
        if m.file_size > 2**20 and m.file_size > settings.INGEST_MAX_ZIP_RATIO * max(m.compress_size, 1):
            raise refuse("zip_ratio", file=name, member=m.filename,
                         ratio=round(m.file_size / max(m.compress_size, 1)), limit=settings.INGEST_MAX_ZIP_RATIO)
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise refuse("not_xlsx", file=name, kind="ZIP")


def check_xlsx(path: Path, name: str, limit_mb: int) -> None:
    """An .xlsx by name and by content, of an allowed size, that is not a zip bomb."""
    _extension(name, XLSX_EXTENSIONS)
    check_size(path, name, limit_mb)
    kind = kind_of(_head(path))
    if kind == "XLS":
        raise refuse("legacy_xls", file=name)
    if kind == "text":
        raise refuse("not_xlsx_text", file=name)
    if kind != "ZIP":
        raise refuse("not_xlsx", file=name, kind=kind)
    check_zip(path, name)


def export_format(path: Path, name: str) -> str:
    """"xlsx" or "csv" for an export, after the checks of its name, size and content."""
    ext = _extension(name, CSV_EXTENSIONS + XLSX_EXTENSIONS)
    if ext in XLSX_EXTENSIONS:
        check_xlsx(path, name, settings.INGEST_MAX_FILE_MB)
        return "xlsx"
    check_size(path, name, settings.INGEST_MAX_FILE_MB)
    kind = kind_of(_head(path))
    if kind in ("ZIP", "XLS"):
        raise refuse("not_text_workbook", file=name)
    if kind == "binary":
        raise refuse("not_text_binary", file=name)
    if kind not in ("text", "UTF-16"):
        raise refuse("not_text", file=name, kind=kind)
    return "csv"


# --- text: encoding and delimiter ------------------------------------------------------------------

def _line_of(path: Path, offset: int) -> int:
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


def detect_encoding(path: Path, name: str, declared: str | None = None) -> str:
    """The encoding to read a text file with: UTF-16 when it starts with its byte-order mark, else UTF-8
    when every byte decodes, else `declared` when every byte decodes with it; otherwise a message naming
    the line of the first byte that does not decode."""
    head = _head(path)
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    candidates = ["utf-8"]
    if declared:
        try:
            declared = codecs.lookup(declared).name
        except LookupError:
            raise refuse("unknown_encoding", file=name, encoding=declared) from None
        candidates = [declared] if declared in ("utf-8", "utf-8-sig") else ["utf-8", declared]
    failure = None
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        offset = pending = 0  # bytes read before this chunk; of those, held by the decoder (a sequence cut by the chunk)
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    pending = len(decoder.getstate()[0])
                    decoder.decode(chunk)
                    offset += len(chunk)
                pending = len(decoder.getstate()[0])
                decoder.decode(b"", final=True)  # a sequence cut by the end of the file
            return "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError as e:
            # e.start counts from the held bytes, which came before `offset`
            failure = (encoding, offset - pending + e.start)
    encoding, at = failure
    key = "not_utf8" if encoding == "utf-8" else "bad_encoding"
    raise refuse(key, file=name, row=_line_of(path, at), encoding=encoding, byte=f"0x{_byte_at(path, at):02X}")


def _byte_at(path: Path, offset: int) -> int:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(1)[0]


def _sample(path: Path, encoding: str) -> str:
    """The first lines of a text file, decoded: at least a few whole lines (a header with thousands of
    long labels is longer than one block), at most _SAMPLE_MAX bytes."""
    with open(path, "rb") as f:
        raw = f.read(_SNIFF_BYTES)
        while raw.count(b"\n") < 60 and len(raw) < _SAMPLE_MAX:
            more = f.read(_SNIFF_BYTES)
            if not more:
                break
            raw += more
        complete = not f.read(1)
    text = raw.decode(encoding, errors="ignore")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not complete and "\n" in text:  # drop a line cut in the middle
        text = text[: text.rindex("\n") + 1]
    return text


def detect_delimiter(sample: str, name: str) -> str:
    """The delimiter that splits most of the first lines into as many columns as the header, the most
    columns (a comma when several do equally well)."""
    best, best_columns = None, 1
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if r][:50]
        except csv.Error:
            continue
        if not rows:
            continue
        # Most lines as wide as the header (a ragged line is reported later, with its number).
        agree = sum(len(r) == len(rows[0]) for r in rows)
        if agree * 2 > len(rows) and len(rows[0]) > best_columns:
            best, best_columns = delimiter, len(rows[0])
    if best is None:
        raise refuse("no_columns", file=name)
    return best


def is_hxl_row(cells: list[str]) -> bool:
    """An HXL hashtag row (hxlstandard.org): every non-empty cell a hashtag, at least one."""
    filled = [c.strip() for c in cells if c and c.strip()]
    return bool(filled) and all(c.startswith("#") for c in filled)


def read_csv(path: Path, name: str, encoding: str | None = None) -> RawTable:
    encoding = detect_encoding(path, name, encoding)
    sample = _sample(path, encoding)
    delimiter = detect_delimiter(sample, name)
    try:
        first = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)][:2]
    except csv.Error as e:
        raise refuse("csv_unreadable", file=name, detail=str(e)) from None
    headers = [h.strip() for h in first[0]] if first else []
    if not headers:
        raise refuse("no_rows", file=name)
    if len(headers) > settings.INGEST_MAX_COLUMNS:
        raise refuse("too_many_columns", file=name, columns=len(headers), limit=settings.INGEST_MAX_COLUMNS)
    hxl = first[1] if len(first) > 1 and is_hxl_row(first[1]) else None
    skip = 1 + (hxl is not None)
    names = [f"c{i}" for i in range(len(headers))]
    ragged: list[int] = []

    def bad_row(row) -> str:
        ragged.append(row.actual_columns)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding,
                                           # records, not lines: a header cell may hold a line break
                                           skip_rows_after_names=skip, column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             invalid_row_handler=bad_row),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, null_values=[], strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as e:
        raise refuse("csv_unreadable", file=name, detail=str(e).splitlines()[0][:200]) from None
    if ragged:
        raise IngestError(_ragged_rows(path, name, encoding, delimiter, len(headers)))
    if table.num_rows > settings.INGEST_MAX_ROWS:
        raise refuse("too_many_rows", file=name, rows=table.num_rows, limit=settings.INGEST_MAX_ROWS)
    notes = []
    if delimiter != ",":
        notes.append(Problem(f"delimiter_{DELIMITERS[delimiter]}", {}, file=name, level=INFO))
    if encoding != "utf-8":
        notes.append(Problem("encoding_used", {"encoding": encoding}, file=name, level=INFO))
    first_row = skip + 1
    return RawTable(file=name, sheet=None, headers=headers, columns=[table.column(n) for n in names],
                    row_numbers=np.arange(first_row, first_row + table.num_rows), hxl=hxl,
                    delimiter=delimiter, encoding=encoding, notes=notes)


def _ragged_rows(path: Path, name: str, encoding: str, delimiter: str, width: int) -> list[Problem]:
    """The rows whose cells do not match the header, with their numbers (pyarrow does not know them when
    values may hold line breaks): read again with the csv module, only when there are some."""
    out = []
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as f:
        try:
            for number, row in enumerate(csv.reader(f, delimiter=delimiter), start=1):
                if row and len(row) != width:
                    out.append(Problem("ragged_row", {"found": len(row), "expected": width}, file=name, row=number))
                    if len(out) == 20:
                        break
        except csv.Error as e:
            out.append(Problem("csv_unreadable", {"detail": str(e)}, file=name))
    return out or [Problem("ragged_row", {"found": "?", "expected": width}, file=name)]


# --- workbooks ---------------------------------------------------------------------------------------

def cell_text(value) -> str:
    """A workbook cell as the text a CSV export would hold: whole numbers without ".0", dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class _Workbook:
    """A workbook read with python-calamine (Rust; cached values only: formulas are never evaluated,
    macros never run), ten to twenty times faster than openpyxl on exports."""

    def __init__(self, path: Path, name: str):
        from python_calamine import CalamineWorkbook

        self.name = name
        try:
            self.book = CalamineWorkbook.from_path(os.fspath(path))
            self.sheetnames = list(self.book.sheet_names)
        except Exception:  # calamine raises its own errors (zip, XML) for a damaged file
            raise refuse("corrupt_xlsx", file=name) from None

    def sheet(self, title: str):
        try:
            return self.book.get_sheet_by_name(title)
        except Exception:
            raise refuse("corrupt_xlsx", file=self.name, sheet=title) from None

    def close(self) -> None:
        self.book.close()


def open_workbook(path: Path, name: str) -> _Workbook:
    return _Workbook(path, name)


def sheet_rows(ws, name: str) -> Iterator[tuple[int, list]]:
    """(row number, cell values) of a sheet from its first row; a damaged sheet is refused when met."""
    try:
        yield from enumerate(ws.iter_rows(), start=1)
    except Exception:
        raise refuse("corrupt_xlsx", file=name, sheet=ws.name) from None


def declared_rows(path: Path, title: str) -> int | None:
    """The rows a sheet says it has (its <dimension>), read from the first bytes of its XML, so that a
    sheet too long is refused before it is parsed; None when it says nothing."""
    try:
        with zipfile.ZipFile(path) as z:
            book = z.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            found = re.search(r'<(?:\w+:)?sheet\b[^>]*\bname="' + re.escape(xml_escape(title)) + r'"[^>]*>', book)
            rid = re.search(r'\br:id="([^"]+)"|\bid="([^"]+)"', found.group(0)) if found else None
            target = re.search(r'<Relationship\b[^>]*Id="' + re.escape(rid.group(1) or rid.group(2)) +
                               r'"[^>]*Target="([^"]+)"', rels) if rid else None
            if target is None:
                target = re.search(r'<Relationship\b[^>]*Target="([^"]+)"[^>]*Id="' +
                                   re.escape(rid.group(1) or rid.group(2)) + '"', rels) if rid else None
            if target is None:
                return None
            member = target.group(1).lstrip("/")
            member = member if member.startswith("xl/") else f"xl/{member}"
            with z.open(member) as f:
                head = f.read(4096).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a damaged zip (zlib, XML, missing members): calamine refuses it next
        return None
    dimension = re.search(r'<(?:\w+:)?dimension\b[^>]*\bref="[A-Z]*\d+:?[A-Z]*(\d*)"', head)
    return int(dimension.group(1)) if dimension and dimension.group(1) else None


def read_xlsx(path: Path, name: str, sheet: str | None = None) -> RawTable:
    book = open_workbook(path, name)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise refuse("sheet_missing", file=name, wanted=sheet, sheets=", ".join(book.sheetnames))
        if not book.sheetnames:
            raise refuse("no_rows", file=name)
        title = sheet if sheet is not None else book.sheetnames[0]
        declared = declared_rows(path, title) or 0  # the sheet's <dimension>: refused before it is parsed
        if declared > settings.INGEST_MAX_ROWS + 2:
            raise refuse("too_many_rows", file=name, sheet=title, rows=declared - 1,
                         limit=settings.INGEST_MAX_ROWS)
        ws = book.sheet(title)
        if ws.total_height > settings.INGEST_MAX_ROWS + 2:
            raise refuse("too_many_rows", file=name, sheet=title, rows=ws.total_height - 1,
                         limit=settings.INGEST_MAX_ROWS)
        rows = sheet_rows(ws, name)
        headers = None
        for _, row in rows:
            if any(v is not None and cell_text(v).strip() for v in row):
                headers = [cell_text(v).strip() for v in row]
                break
        if headers is None:
            raise refuse("no_rows", file=name, sheet=ws.name)
        while headers and not headers[-1]:
            headers.pop()
        width = len(headers)
        if width > settings.INGEST_MAX_COLUMNS:
            raise refuse("too_many_columns", file=name, sheet=ws.name, columns=width,
                         limit=settings.INGEST_MAX_COLUMNS)
        chunks: list[list[pa.Array]] = [[] for _ in range(width)]
        buffer: list[list[str]] = [[] for _ in range(width)]
        numbers: list[int] = []
        hxl = None
        checked_hxl = False

        def flush():
            for i in range(width):
                chunks[i].append(pa.array(buffer[i], pa.string()))
                buffer[i] = []

        for number, row in rows:
            cells = [cell_text(v) for v in row[:width]]
            if len(row) > width and any(cell_text(v).strip() for v in row[width:]):
                raise refuse("ragged_row", file=name, sheet=ws.name, row=number,
                             found=len(row), expected=width)
            if not any(c.strip() for c in cells):
                continue  # an empty row (Excel keeps them at the end of a sheet)
            if not checked_hxl:
                checked_hxl = True
                if is_hxl_row(cells):
                    hxl = cells + [""] * (width - len(cells))
                    continue
            cells += [""] * (width - len(cells))
            for i, c in enumerate(cells):
                buffer[i].append(c)
            numbers.append(number)
            if len(numbers) > settings.INGEST_MAX_ROWS:
                raise refuse("too_many_rows", file=name, sheet=ws.name, rows=f"> {settings.INGEST_MAX_ROWS}",
                             limit=settings.INGEST_MAX_ROWS)
            if len(buffer[0]) >= _CHUNK_ROWS:
                flush()
        flush()
        columns = [pa.chunked_array(c, pa.string()) for c in chunks]
        return RawTable(file=name, sheet=ws.name, headers=headers, columns=columns,
                        row_numbers=np.asarray(numbers, dtype=np.int64), hxl=hxl)
    finally:
        book.close()


def read_export(path: Path, name: str | None = None, *, encoding: str | None = None,
                sheet: str | None = None) -> RawTable:
    """An export (XLSX or CSV) as text cells, after every check of this module. `name` is the file's name
    as the user knows it (an upload's), for messages and the extension check."""
    name = display_name(path, name)
    if export_format(path, name) == "xlsx":
        return read_xlsx(path, name, sheet)
    return read_csv(path, name, encoding)


def sheet_names(path: Path, name: str) -> list[str]:
    book = open_workbook(path, name)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def read_sheets(path: Path, name: str, wanted: tuple[str, ...]) -> dict[str, list[tuple[int, list[str]]]]:
    """The rows of the named sheets of a small workbook (an XLSForm), as text, with their row numbers;
    sheet names matched without regard to case. A sheet that is not there is left out."""
    book = open_workbook(path, name)
    try:
        found = {s.lower().strip(): s for s in book.sheetnames}
        out = {}
        for want in wanted:
            if want in found:
                ws = book.sheet(found[want])
                out[want] = [(n, [cell_text(v) for v in row]) for n, row in sheet_rows(ws, name)]
        return out
    finally:
        book.close()
