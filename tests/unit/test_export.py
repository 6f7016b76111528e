"""core.query.export: CSV and Excel files with their header block and no formula a spreadsheet would run,
and charts rendered on the server as PNG and SVG."""

import csv
import io
import re
import zipfile

import pandas as pd
import pytest

from core.query.export import (
    FORMULA_STARTS,
    chart_png,
    chart_svg,
    file_name,
    neutral_frame,
    neutralise,
    release,
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


# --- machine-readable in every language, named for what they are (issue 19) ---------------------------------

def _body(data: bytes) -> list[list[str]]:
    """The table of a CSV download: its rows after the header block's empty line (all of it without one)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return rows[rows.index([]) + 1:] if [] in rows else rows


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _data_columns(rows: list[list[str]]) -> list[int]:
    """Columns whose cells (below the names) are all numbers, ISO dates or empty, with at least one filled."""
    iso = re.compile(r"\d{4}-\d\d-\d\d")
    out = []
    for i in range(len(rows[0])):
        cells = [r[i] for r in rows[1:] if len(r) > i]
        if any(cells) and all(c == "" or _numeric(c) or iso.fullmatch(c) for c in cells):
            out.append(i)
    return out


def _views(lang: str) -> dict[str, bytes]:
    """The CSV files of a few views of the portal, in `lang`: a share chart, a number summary (with its
    intervals and a breakdown), a count trend, a crosstab of shares and one of medians."""
    from core.data.engine import load_codebook
    from core.figures import pivot_view, question
    from core.query import pivot
    from core.query.filters import FilterState

    book = load_codebook("core")
    view = question.View(lang, "public", FilterState())
    files = {}
    for name, by in [("used_smuggler", None), ("amount_paid_usd", None), ("journey_duration_days", "gender"),
                     ("interview_quarter", None), ("nationality", None)]:
        figure = question.build(book[name], book[by] if by else None, view)
        files[f"{name}-{by}"] = to_csv(figure.table, [("Dataset", book.title(lang))])
    for measure, value in [("row_pct", None), ("median", "journey_duration_days")]:
        made, _ = pivot.clean(book, "public", ["gender"], ["age_band"], {})
        p = pivot.build("core", made, measure, "public", value_variable=value)
        files[f"crosstab-{measure}"] = to_csv(pivot_view.download_table(p, lang))
    return files


def test_csv_downloads_have_the_same_data_cells_in_english_french_and_spanish():
    """Only the header block, the column names and the labels are translated: every number (and every
    withheld figure's empty cell) is the same, written with a dot and no thousands separator."""
    english = _views("en")
    for lang in ("fr", "es"):
        other = _views(lang)
        for name, data in english.items():
            en_rows, rows = _body(data), _body(other[name])
            assert len(rows) == len(en_rows) and len(rows[0]) == len(en_rows[0]), name
            columns = _data_columns(en_rows)
            assert columns, name
            for i in columns:
                assert [r[i] for r in rows[1:]] == [r[i] for r in en_rows[1:]], (lang, name, en_rows[0][i])
            assert _data_columns(rows) == columns, (lang, name)
            for i in range(len(rows[0])):  # a column is numbers or text, never numbers with words between them
                cells = [r[i] for r in rows[1:] if r[i]]
                assert i in columns or not any(_numeric(c) for c in cells), (lang, name, rows[0][i])
            assert not any(re.search(r"\d,\d", c) for r in rows for c in r), (lang, name)  # no decimal comma


def test_a_french_csv_has_dot_decimals_whole_numbers_and_iso_dates():
    frame = pd.DataFrame({
        "Âge": [28.0, 35.0, None],                                  # read from a float column
        "Montant (USD)": [1234.5, 20.25, 3.0],
        "Date d’entretien": pd.to_datetime(["2024-03-31", "2025-01-02", None]),
        "Horodatage": pd.to_datetime(["2024-03-31 14:05", "2025-01-02 00:00", None]),
        "Effectif": pd.array([1200, None, 3], dtype="Int64"),
    })
    rows = _body(to_csv(frame, [("Jeu de données", "Enquête principale"), ("Date", "6 décembre 2026")]))
    assert rows[1:] == [["28", "1234.5", "2024-03-31", "2024-03-31T14:05:00", "1200"],
                        ["35", "20.25", "2025-01-02", "2025-01-02T00:00:00", ""],
                        ["", "3", "", "", "3"]]


def test_excel_cells_are_numbers_and_dates_with_formats_for_the_reader():
    from openpyxl import load_workbook

    frame = pd.DataFrame({"Âge": [28.0, 35.0], "Part (%)": [12.5, 3.0],
                          "Date": pd.to_datetime(["2024-03-31", "2025-01-02"])})
    for lang in ("en", "fr", "es"):
        ws = load_workbook(io.BytesIO(to_excel(frame, [("Jeu de données", "x")], lang=lang))).active
        age, share, date = ws["A4"], ws["B4"], ws["C4"]
        assert age.value == 28 and isinstance(age.value, int) and age.number_format == "#,##0"
        assert share.value == 12.5 and share.number_format == "#,##0.0##"
        assert date.is_date and date.value.date().isoformat() == "2024-03-31"
        assert date.number_format == {"en": "d mmm yyyy", "fr": "dd/mm/yyyy", "es": "dd/mm/yyyy"}[lang]


def test_microdata_csvs_read_the_same_in_every_language():
    """A researcher's extract in codes is the same file in every language; with labels, only the label
    columns differ. Ages are whole numbers, dates ISO dates."""
    from core.query import extract
    from core.query.tables import microdata

    columns = ("respondent_id", "interview_date", "age", "gender", "nationality", "amount_paid_usd", "drivers")
    rows = microdata("core", list(columns), tier="researcher", limit=300)
    files = {}
    for lang in ("en", "fr", "es"):
        for labels in (False, True):
            request = extract.Request("core", columns, {}, "csv", lang, labels, "binary", ())
            with zipfile.ZipFile(io.BytesIO(extract.make_file(request, rows, "v0001"))) as archive:
                files[lang, labels] = archive.read("4mi-core_microdata_v0001.csv")
    assert files["fr", False] == files["en", False] == files["es", False]
    table = _body(files["fr", True])
    names = table[0]
    assert [r[names.index("age")] for r in table[1:6]] == [str(int(a)) for a in rows["age"][:5]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r[names.index("interview_date")]) for r in table[1:])
    english = _body(files["en", True])
    assert table[1][names.index("gender")] != english[1][names.index("gender")]  # a label, translated
    for name in ("respondent_id", "interview_date", "age", "amount_paid_usd", "drivers/economic"):
        i = names.index(name)
        assert [r[i] for r in table] == [r[i] for r in english], name


def test_file_names_say_dataset_view_release_and_format_and_differ_per_format():
    assert file_name("core", ["amount_paid_usd"], "2026-09-30", "csv") == "4mi-core_amount-paid-usd_2026-09-30.csv"
    assert file_name("core", ["crosstab", "gender", "age_band", "median", "amount_paid_usd"], "v0003") == \
        "4mi-core_crosstab-gender-age-band-median-amount-paid-usd_v0003"
    names = [file_name("returns", ["microdata"], "v0002", fmt) for fmt in ("csv.zip", "dta.zip", "parquet.zip", "xlsx")]
    assert len(set(names)) == 4 and all(n.startswith("4mi-returns_microdata_v0002.") for n in names)


def test_microdata_downloads_of_each_format_get_their_own_name():
    """Regression: CSV, Parquet and Stata downloads of the microdata were all called `microdata_<dataset>_<day>.zip`."""
    from core.query import extract

    names = {fmt: extract.file_name(extract.Request("core", ("respondent_id",), fmt=fmt), release("core"))
             for fmt in extract.FORMATS}
    assert len(set(names.values())) == len(extract.FORMATS)
    assert names["csv"] == f"4mi-core_microdata_{release('core')}.csv.zip"
    assert names["dta"].endswith(".dta.zip") and names["xlsx"].endswith(".xlsx")


def test_the_release_is_the_loaded_version_else_the_end_of_the_built_in_data(tmp_path, monkeypatch):
    from core import settings
    from core.data.engine import load_codebook

    monkeypatch.setattr(settings, "GENERATED_DIR", tmp_path)
    assert release("core") == load_codebook("core").period_end.isoformat()
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "current.json").write_text('{"version": "v0007"}', encoding="utf-8")
    assert release("core") == "v0007"
