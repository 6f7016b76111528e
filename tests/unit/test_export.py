"""core.query.export: CSV and Excel files with their header block and no formula a spreadsheet would run,
and charts rendered on the server as PNG and SVG."""

import csv
import io

import pandas as pd
import pytest

from core.query.export import (
    FORMULA_STARTS,
    chart_png,
    chart_svg,
    neutral_frame,
    neutralise,
    to_csv,
    to_excel,
)

HEADER = [("Dataset", "Core survey"), ("Filters", "Gender: Woman"), ("Date", "23 November 2026"),
          ("Source", "=cmd|' /C calc'!A0")]


def table():
    return pd.DataFrame({
        "Answer": ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tTab", "\rReturn", "Plain", "a=b", None],
        "Respondents": pd.array([12, 34, None, 56, 78, 90, 11, 22, 33], dtype="Int64"),
        "Share (%)": [1.5, -2.5, None, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    })


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_neutralised(start):
    assert neutralise(f"{start}x") == f"'{start}x"


@pytest.mark.parametrize("value", ["x=1", "Plain", "", "'already", 5, -5, 2.5, None])
def test_other_values_are_left_alone(value):
    assert neutralise(value) == value


def test_the_set_of_formula_starts():
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}


def test_neutral_frame_keeps_numbers_and_neutralises_text_and_column_names():
    df = table().rename(columns={"Answer": "=Answer"})
    out = neutral_frame(df)
    assert list(out.columns) == ["'=Answer", "Respondents", "Share (%)"]
    assert out["'=Answer"].tolist()[:6] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rReturn"]
    assert out["Share (%)"].iloc[1] == -2.5  # a negative number is a number, not a formula
    assert df["=Answer"].iloc[0] == "=1+1"  # the caller's table is not changed


def test_csv_has_the_header_block_then_the_table():
    data = to_csv(table(), HEADER)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[:4] == [["Dataset", "Core survey"], ["Filters", "Gender: Woman"], ["Date", "23 November 2026"],
                        ["Source", "'=cmd|' /C calc'!A0"]]
    assert rows[4] == []
    assert rows[5] == ["Answer", "Respondents", "Share (%)"]
    body = rows[6:]
    assert [r[0] for r in body] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rReturn", "Plain", "a=b", ""]
    assert body[0][1:] == ["12", "1.5"] and body[2][1:] == ["", ""]
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS) or is_number(cell), cell


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_without_header_is_just_the_table():
    rows = list(csv.reader(io.StringIO(to_csv(table()).decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Answer", "Respondents", "Share (%)"] and len(rows) == 10


def test_excel_opens_with_the_header_block_text_cells_and_numbers():
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(to_excel(table(), HEADER, sheet="drivers")))
    ws = book["drivers"]
    assert [ws.cell(r, 1).value for r in range(1, 5)] == ["Dataset", "Filters", "Date", "Source"]
    assert ws.cell(1, 1).font.bold and ws["B4"].value == "'=cmd|' /C calc'!A0"
    assert ws.cell(5, 1).value is None
    assert [c.value for c in ws[6]] == ["Answer", "Respondents", "Share (%)"] and ws.cell(6, 1).font.bold
    answers = [ws.cell(r, 1) for r in range(7, 16)]
    # (XML stores a carriage return as a line feed)
    assert [c.value for c in answers[:6]] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tTab", "'\nReturn"]
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", f"{c.coordinate} is a formula"
    assert ws.cell(7, 2).value == 12 and ws.cell(8, 3).value == -2.5 and ws.cell(9, 2).value is None
    assert ws.freeze_panes == "A7"


def test_excel_drops_characters_xml_cannot_hold():
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(to_excel(pd.DataFrame({"a": ["bell\x07 here"]}))))
    assert book.active["A2"].value == "bell here"


SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.4.1.json",
    "width": 300, "title": {"text": "Migrantes por origen", "subtitle": ["Base: 1.234 personas"]},
    "data": {"values": [{"option": "Economía", "share": 0.5}, {"option": "Violencia", "share": 0.25}]},
    "mark": "bar",
    "encoding": {"y": {"field": "option", "type": "nominal"},
                 "x": {"field": "share", "type": "quantitative", "axis": {"format": ".0%"}}},
}


def test_a_chart_renders_as_png():
    png = chart_png(SPEC, "es")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    assert image.width >= 2 * 300  # scale 2


def test_a_chart_renders_as_svg_in_the_language():
    svg = chart_svg(SPEC, "fr").decode("utf-8")
    assert svg.lstrip().startswith("<svg")
    assert "Migrantes por origen" in svg
    assert "50\u202f%" in svg  # French percent format from the locale
