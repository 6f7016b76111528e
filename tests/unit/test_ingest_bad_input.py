"""Bad files are refused with a message that names the file, sheet, row and column and says what is wrong,
in the user's language, and the data in use are left exactly as they were."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from core import settings
from core.data import versions
from core.ingest import load
from core.ingest.kobo import write_xlsform
from core.ingest.problems import IngestError
from tests.unit.ingest_support import (
    DEFAULT_EXPORT,
    FORM,
    KOBO,
    MAPPING,
    fingerprint,
    prepare,
)

SINGLE = KOBO / "export_xml_single.csv"



@pytest.fixture
def data_dir(first_round, tmp_path):
    """A data directory whose current version is the first round (a copy, for each test)."""
    return Path(shutil.copytree(first_round, tmp_path / "data"))


def refused(data_dir: Path, export: Path, form: Path = FORM, mapping: Path = MAPPING, **kwargs) -> IngestError:
    """Try to load; the load must be refused and change nothing."""
    before = fingerprint(data_dir)
    current = versions.current_version(data_dir, "core")
    with pytest.raises(IngestError) as caught:
        load.load(form, export, mapping, dataset="core", data_dir=data_dir, **kwargs)
    assert fingerprint(data_dir) == before
    assert versions.current_version(data_dir, "core") == current
    error = caught.value
    for lang in ("en", "fr", "es"):
        assert all(message for message in error.messages(lang))
    return error


def rows_of(path: Path = SINGLE) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def write_rows(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def edited(tmp_path: Path, edits: dict[tuple[int, str], str], name: str = "export.csv") -> Path:
    """The single-column fixture with cells changed: (data row index, header) -> new text."""
    rows = rows_of()
    header = rows[0]
    for (row, column), value in edits.items():
        rows[row + 1][header.index(column)] = value
    return write_rows(tmp_path / name, rows)


def only(error: IngestError, key: str):
    found = [p for p in error.problems if p.key == key]
    assert found, [p.key for p in error.problems]
    return found[0]


# --- what the file is ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, key", [
    ("export.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not_xlsx"),
    ("export.xlsx", b"respondent_id,gender\nR-1,man\n", "not_xlsx_text"),
    ("export.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "legacy_xls"),
    ("export.csv", b"%PDF-1.7\n" + b"\0" * 100, "not_text"),
    ("export.csv", b"respondent_id\0gender\n", "not_text_binary"),
    ("export.csv", DEFAULT_EXPORT.read_bytes(), "not_text_workbook"),
    ("export.json", b"{}", "unsupported_extension"),
    ("export.csv", b"", "file_empty"),
])
def test_a_wrong_file_type_behind_a_right_extension(name, content, key, data_dir, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    problem = only(refused(data_dir, path), key)
    assert problem.file == name
    assert name in problem.message("fr") and name in problem.message("es")


def test_a_form_that_is_not_a_workbook(data_dir, tmp_path):
    form = tmp_path / "form.xlsx"
    form.write_text("type,name\ntext,x\n")
    problem = only(refused(data_dir, DEFAULT_EXPORT, form=form), "not_xlsx_text")
    assert problem.file == "form.xlsx"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_workbook(cut, data_dir, tmp_path):
    data = DEFAULT_EXPORT.read_bytes()
    path = tmp_path / "export.xlsx"
    path.write_bytes(data[: int(len(data) * cut)])
    problem = only(refused(data_dir, path), "corrupt_xlsx")
    assert problem.message("en").startswith("export.xlsx: The workbook is damaged or incomplete")


def test_a_corrupt_sheet_inside_a_sound_zip(data_dir, tmp_path):
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(DEFAULT_EXPORT) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = content[: len(content) // 2]  # XML cut in the middle
            out.writestr(item, content)
    only(refused(data_dir, path), "corrupt_xlsx")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return path


def test_a_zip_bomb_is_refused_unopened(data_dir, tmp_path):
    path = _zip(tmp_path / "bomb.xlsx", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                                         "xl/worksheets/sheet1.xml": b"\0" * (60 * 2**20)})
    assert path.stat().st_size < 200_000
    problem = only(refused(data_dir, path), "zip_ratio")
    assert problem.params["member"] == "xl/worksheets/sheet1.xml" and problem.params["ratio"] > 200


def test_unpacked_size_and_member_count_are_limited(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "INGEST_MAX_UNZIPPED_MB", 1)
    big = _zip(tmp_path / "big.xlsx", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                                       "xl/worksheets/sheet1.xml": bytes(range(256)) * 8192})
    assert only(refused(data_dir, big), "zip_bomb").params["limit_mb"] == 1
    monkeypatch.setattr(settings, "INGEST_MAX_ZIP_MEMBERS", 5)
    only(refused(data_dir, DEFAULT_EXPORT), "zip_members")


def test_oversize_files_and_row_counts(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "INGEST_MAX_ROWS", 10)
    assert only(refused(data_dir, SINGLE), "too_many_rows").params["rows"] == 40
    only(refused(data_dir, DEFAULT_EXPORT), "too_many_rows")
    monkeypatch.setattr(settings, "INGEST_MAX_ROWS", 1_000_000)
    monkeypatch.setattr(settings, "INGEST_MAX_FILE_MB", 1)
    big = tmp_path / "big.csv"
    big.write_text(SINGLE.read_text() + "\n" * (2 * 2**20))
    problem = only(refused(data_dir, big), "file_too_large")
    assert problem.message("fr") == "big.csv\u00a0: Le fichier fait 2\u00a0Mo, plus que les 1\u00a0Mo autorisés."


# --- text: encodings and delimiters ------------------------------------------------------------------

def test_text_that_is_not_utf8_names_its_line(data_dir, tmp_path):
    rows = rows_of()
    rows[1][rows[0].index("comments")] = "Ça va"  # before the other accents of the file
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path = tmp_path / "latin.csv"
    path.write_bytes(text.getvalue().encode("cp1252"))
    problem = only(refused(data_dir, path), "not_utf8")
    assert problem.row == 2 and problem.params["byte"] == "0xC7"
    assert "ligne 2" in problem.message("fr") and "cp1252" in problem.message("fr")
    # named, the same file loads
    assert prepare(path, data_dir, encoding="cp1252").report.rows_read == 40


def test_a_character_cut_by_the_end_of_the_file_or_a_read_block_is_named(tmp_path):
    """A file cut inside a character (an upload cut short): the refusal names the cut character's first
    byte and its line. Its position was counted past the end of the file, and reading the byte there failed
    (IndexError; the fuzz test found it). Across the 1 MiB read block, a character cut by the block and then
    broken is named too."""
    from core.ingest.files import detect_encoding
    from core.ingest.problems import IngestError

    cut = tmp_path / "cut.csv"
    cut.write_bytes("a,b\n1,é".encode()[:-1])  # é is C3 A9: the file ends after C3
    with pytest.raises(IngestError) as refused_:
        detect_encoding(cut, "cut.csv")
    problem = refused_.value.problems[0]
    assert (problem.key, problem.row, problem.params["byte"]) == ("not_utf8", 2, "0xC3")

    block = 1 << 20
    across = tmp_path / "across.csv"
    across.write_bytes(b"a\n" + b"x" * (block - 3) + b"\xc3" + b"(\n")  # C3 ends the block; "(" breaks it
    with pytest.raises(IngestError) as refused_:
        detect_encoding(across, "across.csv")
    assert (refused_.value.problems[0].row, refused_.value.problems[0].params["byte"]) == (2, "0xC3")


def test_an_unknown_encoding(data_dir):
    problem = only(refused(data_dir, SINGLE, encoding="klingon-8"), "unknown_encoding")
    assert problem.params["encoding"] == "klingon-8"


def test_a_file_whose_lines_split_no_way(data_dir, tmp_path):
    path = tmp_path / "prose.csv"
    path.write_text("This is not a table\nof any kind; really, it, is not\nat | all\n")
    only(refused(data_dir, path), "no_columns")


def test_a_row_with_a_cell_too_many(data_dir, tmp_path):
    rows = rows_of()
    rows[3].append("extra")
    problem = only(refused(data_dir, write_rows(tmp_path / "ragged.csv", rows)), "ragged_row")
    assert problem.row == 4 and problem.params == {"found": len(rows[0]) + 1, "expected": len(rows[0])}


def test_a_semicolon_delimiter_is_read_and_reported(data_dir, tmp_path):
    path = write_rows(tmp_path / "semi.csv", rows_of(), delimiter=";")
    report = prepare(path, data_dir).report
    assert report.layout["delimiter"] == ";"
    assert any("points-virgules" in m for _, m in report.messages("fr"))


# --- values ----------------------------------------------------------------------------------------------

def test_duplicate_ids_name_every_row(data_dir, tmp_path):
    path = edited(tmp_path, {(2, "respondent_id"): "R-0001", (7, "respondent_id"): "R-0001"})
    problem = only(refused(data_dir, path), "id_duplicate")
    assert problem.rows == (2, 4, 9) and problem.column == "respondent_id" and problem.params["value"] == "R-0001"
    assert problem.message("en") == ("export.csv, rows 2, 4, 9, column “respondent_id”: "
                                     "The respondent id “R-0001” appears more than once.")
    assert problem.message("es") == ("export.csv, filas 2, 4, 9, columna «respondent_id»: "
                                     "El identificador «R-0001» aparece más de una vez.")


def test_a_missing_id(data_dir, tmp_path):
    problem = only(refused(data_dir, edited(tmp_path, {(4, "respondent_id"): "  "})), "id_missing")
    assert problem.row == 6 and problem.column == "respondent_id"


@pytest.mark.parametrize("value", ["15/03/2024", "2024-02-30", "yesterday", "2024-3-1"])
def test_dates_that_do_not_parse(value, data_dir, tmp_path):
    problem = only(refused(data_dir, edited(tmp_path, {(0, "interview_date"): value})), "date_invalid")
    assert (problem.row, problem.column, problem.params["value"]) == (2, "interview_date", value)
    assert f"« {value} » n’est pas une date".replace(" ", "\u00a0", 1).replace(" »", "\u00a0»") in problem.message("fr")


def test_choice_codes_absent_from_the_form(data_dir, tmp_path):
    path = edited(tmp_path, {(1, "gender"): "male", (3, "gender"): "male", (5, "needs"): "food cash"})
    error = refused(data_dir, path)
    gender = next(p for p in error.problems if p.column == "gender")
    assert (gender.key, gender.rows, gender.params) == ("choice_unknown", (3, 5), {"value": "male", "list": "gender"})
    needs = next(p for p in error.problems if p.column == "needs")
    assert needs.params == {"value": "cash", "list": "needs"} and needs.row == 7


def test_a_0_1_option_column_holding_something_else(data_dir, tmp_path):
    rows = rows_of(KOBO / "export_xml_separate_semicolon.csv".replace("", ""))
    rows = list(csv.reader(io.StringIO((KOBO / "export_xml_separate_semicolon.csv").read_text()), delimiter=";"))
    column = rows[0].index("needs/needs/water")
    rows[2][column] = "yes"
    problem = only(refused(data_dir, write_rows(tmp_path / "sep.csv", rows, ";")), "option_invalid")
    assert (problem.row, problem.column, problem.params["value"]) == (3, "needs/needs/water", "yes")


@pytest.mark.parametrize("value, key", [("12,5", "number_invalid"), ("thirty", "number_invalid"),
                                        ("34.5", "number_not_integer"), ("17", "age_below_bands"),
                                        ("nan", "number_invalid")])
def test_numbers(value, key, data_dir, tmp_path):
    problem = only(refused(data_dir, edited(tmp_path, {(0, "age"): value})), key)
    assert problem.row == 2 and problem.column == "age"


def test_a_number_outside_the_mappings_range(data_dir, tmp_path):
    problem = only(refused(data_dir, edited(tmp_path, {(0, "journey_duration_days"): "-3"})), "number_out_of_range")
    assert problem.params == {"minimum": "0", "maximum": "-"}


def test_the_both_layout_must_agree(data_dir, tmp_path):
    rows = list(csv.reader(io.StringIO((KOBO / "export_xml_hxl.csv").read_text())))
    rows[2][rows[0].index("needs/needs")] = "food"  # the 0/1 columns of this row say otherwise
    error = refused(data_dir, write_rows(tmp_path / "both.csv", rows))
    assert only(error, "multiple_disagree").row == 3


def test_a_country_in_no_region(data_dir, tmp_path):
    problem = only(refused(data_dir, edited(tmp_path, {(0, "country_of_interview"): "NG"})), "region_missing")
    assert problem.params == {"country": "NGA"} and problem.column == "country_of_interview"


# --- the form and the mapping ---------------------------------------------------------------------

def _form_rows(path: Path = FORM) -> dict[str, list[dict]]:
    import openpyxl

    book = openpyxl.load_workbook(path)
    out = {}
    for ws in book.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        out[ws.title] = [dict(zip(rows[0], r)) for r in rows[1:]]
    return out


def _write_form(path: Path, sheets: dict[str, list[dict]]) -> Path:
    return write_xlsform(path, sheets["survey"], sheets["choices"], sheets["settings"][0])


def test_a_form_with_a_missing_choices_list(data_dir, tmp_path):
    sheets = _form_rows()
    sheets["choices"] = [c for c in sheets["choices"] if c["list_name"] != "education"]
    form = _write_form(tmp_path / "form.xlsx", sheets)
    problem = only(refused(data_dir, SINGLE, form=form), "list_missing")
    row = next(i for i, r in enumerate(sheets["survey"], start=2) if r["name"] == "education")
    assert (problem.file, problem.sheet, problem.row, problem.column) == ("form.xlsx", "survey", row, "type")
    assert problem.message("fr").startswith("form.xlsx, feuille\u00a0«\u00a0survey\u00a0», ligne".replace(
        "feuille\u00a0", "feuille "))


def test_form_errors_are_all_reported_at_once(data_dir, tmp_path):
    sheets = _form_rows()
    sheets["survey"] += [{"type": "integer", "name": "dup"}] * 2             # a name twice in one group
    sheets["survey"].append({"type": "end_group", "name": "x"})              # closes nothing
    sheets["choices"].append({"list_name": "gender", "name": "man"})         # a choice twice
    error = refused(data_dir, SINGLE, form=_write_form(tmp_path / "form.xlsx", sheets))
    assert {"field_duplicate", "group_unbalanced", "choice_duplicate"} <= {p.key for p in error.problems}


def test_a_form_without_a_survey_sheet(data_dir, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "questions"
    book.save(tmp_path / "form.xlsx")
    problem = only(refused(data_dir, SINGLE, form=tmp_path / "form.xlsx"), "sheet_missing")
    assert problem.params == {"wanted": "survey", "sheets": "questions"}


def test_labels_beginning_like_a_formula_are_neutralised_and_reported(data_dir, tmp_path):
    sheets = _form_rows()
    for row in sheets["survey"]:
        if row["name"] == "education":
            row["label::English (en)"] = '=HYPERLINK("http://x.example","Education")'
    for row in sheets["choices"]:
        if row["name"] == "primary":
            row["label::Español (es)"] = "@Primaria"
    form = _write_form(tmp_path / "form.xlsx", sheets)
    prepared = prepare(SINGLE, data_dir, form=form)
    education = next(v for v in prepared.codebook["variables"] if v["name"] == "education")
    assert education["label"]["en"] == '\'=HYPERLINK("http://x.example","Education")'
    assert education["choices"][1]["label"]["es"] == "'@Primaria"
    warnings = [p for p in prepared.report.problems if p.key == "label_neutralised"]
    assert [(p.sheet, p.column) for p in warnings] == [("survey", "label::English (en)"),
                                                       ("choices", "label::Español (es)")]
    # the values of a labels export are matched against the labels as written
    assert prepared.report.rejected == 0


def test_a_language_the_form_lacks_falls_back_and_is_reported(data_dir, tmp_path):
    sheets = _form_rows()
    for sheet in ("survey", "choices"):
        for row in sheets[sheet]:
            row.pop("label::Español (es)", None)
    prepared = prepare(SINGLE, data_dir, form=_write_form(tmp_path / "form.xlsx", sheets))
    gender = next(v for v in prepared.codebook["variables"] if v["name"] == "gender")
    assert gender["choices"][1]["label"]["es"] == "Woman"
    missing = only(IngestError(prepared.report.problems), "language_missing")
    assert missing.message("es") == "form.xlsx: El formulario no tiene etiquetas en Español: se muestran las de English."


@pytest.mark.parametrize("text, key", [
    ("dataset: core\nstandard: [oops\n", "mapping_yaml"),
    (MAPPING.read_text().replace("gender: gender", "gender: sex"), "mapping_field_unknown"),
    (MAPPING.read_text().replace("  respondent_id: respondent_id\n", ""), "mapping_standard_missing"),
    (MAPPING.read_text().replace("dataset: core", "dataset: elsewhere"), "dataset_unknown"),
    (MAPPING.read_text().replace("  needs: {theme: needs}", "  needs: {theme: needs, colour: red}"), "mapping_key"),
    (MAPPING.read_text().replace("[NA, ZA]", "[NA, ZA, XX]"), "mapping_country"),
    (MAPPING.read_text().replace("  comments: skip", "  comments: {theme: needs}"), "mapping_type_unsupported"),
])
def test_mapping_errors_name_the_line(text, key, data_dir, tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    problem = only(refused(data_dir, SINGLE, mapping=path), key)
    assert problem.file == "mapping.yaml"
    if key not in ("mapping_standard_missing",):
        assert problem.row is not None


def test_rows_with_errors_can_be_left_out_and_listed(data_dir, tmp_path):
    path = edited(tmp_path, {(1, "gender"): "male", (4, "interview_date"): "soon"})
    with pytest.raises(IngestError):
        prepare(path, data_dir)
    prepared = prepare(path, data_dir, skip_invalid=True, replace=True)
    report = prepared.report
    assert (report.rows_read, report.rejected, report.total) == (40, 2, 38)
    assert report.rejected_rows == [{"row": 3, "id": "R-0002"}, {"row": 6, "id": "R-0005"}]
    assert "R-0002" not in set(prepared.frame["respondent_id"])
    assert any(p.key == "rows_rejected" for p in report.problems)


def test_every_row_bad_is_still_a_refusal(data_dir, tmp_path):
    rows = rows_of()
    for row in rows[1:]:
        row[rows[0].index("gender")] = "male"
    refused(data_dir, write_rows(tmp_path / "bad.csv", rows), skip_invalid=True)
