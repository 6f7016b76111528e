"""Every layout Kobo exports the same submissions in gives the same data: XML values or labels in each
language, multiple choice in one column, in 0/1 columns or both, with or without groups in the headers,
an HXL row, commas, semicolons or tabs, XLSX or CSV (fixtures: tests/fixtures/make_fixtures.py)."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest

from core.ingest import files
from core.ingest.reader import _split_labels
from tests.unit.ingest_support import DEFAULT_EXPORT, EXPORTS, KOBO, main_sheet, prepare


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return prepare(DEFAULT_EXPORT, tmp_path_factory.mktemp("data"))


def test_the_fixtures_cover_every_layout():
    assert len(EXPORTS) >= 7
    names = " ".join(EXPORTS)
    for part in ("xml", "labels_en", "labels_fr", "labels_es", "both", "single", "separate", "hxl", "semicolon",
                 "tab", ".xlsx", ".csv"):
        assert part in names


@pytest.mark.parametrize("export", EXPORTS)
def test_every_layout_gives_the_same_data(export, reference, tmp_path):
    got = prepare(KOBO / export, tmp_path)
    expected, codebook = reference.frame, reference.codebook
    if export.endswith(".csv"):  # a CSV export cannot hold the repeat group: left out, and said so
        expected = main_sheet(expected)
        codebook = {**codebook, "variables": [v for v in codebook["variables"] if v["name"] != "companions"]}
        assert [p.key for p in got.report.problems if p.level == "warning"] == ["repeat_not_in_export"]
    pd.testing.assert_frame_equal(got.frame, expected)
    assert got.codebook == codebook
    assert got.report.rows_read == 40 and got.report.rejected == 0
    assert not [p for p in got.report.problems if p.level == "error"]


def test_layouts_are_recognised_and_reported(tmp_path):
    layouts = {name: prepare(KOBO / name, tmp_path).report.layout for name in EXPORTS}
    assert layouts["export_xml_both.xlsx"] == {"headers": "xml", "multiple": "both", "delimiter": "", "encoding": "",
                                               "sheet": "4Mi core survey (sample)", "hxl": "no"}
    assert layouts["export_xml_separate_semicolon.csv"]["delimiter"] == ";"
    assert layouts["export_xml_separate_semicolon.csv"]["multiple"] == "separate"
    assert layouts["export_labels_fr_separate_tab.csv"]["headers"] == "fr"
    assert layouts["export_labels_fr_separate_tab.csv"]["delimiter"] == "\t"
    assert layouts["export_labels_es_single.csv"]["headers"] == "es"
    assert layouts["export_labels_es_single.csv"]["multiple"] == "single"
    assert layouts["export_xml_hxl.csv"]["hxl"] == "yes"
    report = prepare(KOBO / "export_xml_separate_semicolon.csv", tmp_path).report
    assert "export_xml_separate_semicolon.csv: Columns are separated by semicolons (;)." in [
        m for _, m in report.messages("en")]


def test_values_follow_the_portals_conventions(reference):
    df = reference.frame.set_index("respondent_id")
    first = df.loc["R-0001"]
    # Namibia's alpha-2 code "NA" is a country, not a missing value
    assert first["nationality"] == "NAM"
    assert df.loc["R-0002", "country_of_interview"] == "NAM"
    assert df.loc["R-0002", "region_of_interview"] == "southern_africa"
    assert first["interview_quarter"] == "2024Q1" and first["interview_year"] == "2024"
    assert str(first["interview_date"].date()) == "2024-03-01"
    assert first["age"] == 34 and first["age_band"] == "25_34"
    # multiple choice: a bit mask in the order of the form's list (on_foot, bus_car, truck_pickup, boat, plane)
    assert first["transport_modes"] == 0b11010
    assert pd.isna(first["amount_paid_usd"]) and first["used_smuggler"] == "no"
    assert reference.frame["amount_paid_usd"].dtype == "Float64"
    assert reference.frame["age"].dtype == "Int64"
    assert set(reference.frame.columns) >= {"interview_quarter", "interview_year", "age_band", "region_of_interview"}
    assert "respondent_name" not in reference.frame and "comments" not in reference.frame


def test_the_codebook_has_the_forms_labels_in_three_languages(reference):
    cb = {v["name"]: v for v in reference.codebook["variables"]}
    transport = cb["transport_modes"]
    assert transport["label"] == {"en": "Means of transport used", "fr": "Moyens de transport utilisés",
                                  "es": "Medios de transporte utilizados"}
    assert [c["code"] for c in transport["choices"]] == ["on_foot", "bus_car", "truck_pickup", "boat", "plane"]
    assert transport["choices"][2]["label"]["fr"] == "Camion / pick-up"
    assert cb["used_smuggler"]["sensitive"] is True and cb["respondent_id"]["public"] is False
    assert cb["transit_country"]["type"] == "country" and "choices" not in cb["transit_country"]
    assert [t["id"] for t in reference.codebook["themes"]] == ["profiles", "journey", "smuggling", "protection", "needs"]
    assert cb["age_band"]["choices"][0]["label"] == {"en": "18-24", "fr": "18-24 ans", "es": "18-24 años"}
    assert reference.codebook["period"] == {"start": "2024-01-12", "end": "2024-06-25"}


def test_labels_with_spaces_are_split_longest_first():
    table = {"Agua": "water", "Atención de salud": "health", "Atención": "care", "Salud": "x"}
    assert _split_labels("Agua Atención de salud", table) == ["Agua", "Atención de salud"]
    assert _split_labels("Atención Agua", table) == ["Atención", "Agua"]
    assert _split_labels("Agua Nada", table) is None


@pytest.mark.parametrize("encoding, bom", [("utf-8-sig", b""), ("utf-16", b""), ("cp1252", b"")])
def test_encodings_are_recognised_or_declared(encoding, bom, tmp_path, reference):
    text = (KOBO / "export_xml_single.csv").read_text(encoding="utf-8")
    path = tmp_path / "export.csv"
    path.write_bytes(bom + text.replace("R-0001", "R-0001é").encode(encoding))
    declared = "cp1252" if encoding == "cp1252" else None
    got = prepare(path, tmp_path / "data", encoding=declared)
    assert got.frame["respondent_id"].iloc[0] == "R-0001é"
    pd.testing.assert_frame_equal(got.frame.iloc[1:].reset_index(drop=True),
                                  main_sheet(reference.frame).iloc[1:].reset_index(drop=True))
    expected = {"utf-8-sig": "utf-8", "utf-16": "utf-16", "cp1252": "cp1252"}[encoding]
    assert got.report.layout["encoding"] == expected


def test_utf16_is_detected_from_its_byte_order_mark(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "a\tb\n1\t2\n".encode("utf-16-le"))
    assert files.detect_encoding(path, "x.csv") == "utf-16"
    raw = files.read_csv(path, "x.csv")
    assert raw.headers == ["a", "b"] and raw.columns[0].to_pylist() == ["1"]


def test_cells_of_a_workbook_read_as_an_export_writes_them():
    import datetime as dt

    assert files.cell_text(12.0) == "12" and files.cell_text(12.5) == "12.5"
    assert files.cell_text(dt.datetime(2024, 3, 1)) == "2024-03-01"
    assert files.cell_text(dt.datetime(2024, 3, 1, 9, 30)) == "2024-03-01T09:30:00"
    assert files.cell_text(None) == "" and files.cell_text(True) == "1" and files.cell_text("NA") == "NA"


def test_a_form_in_one_untagged_language_and_its_labels_export(tmp_path, reference):
    """Many forms have a plain `label` column only: its labels serve every language, and a labels export
    of it reads as well as the XML one."""
    import openpyxl

    from core.ingest.kobo import Layout, write_export, write_xlsform
    from core.ingest.xlsform import read_form

    book = openpyxl.load_workbook(KOBO / "form.xlsx")
    sheets = {}
    for ws in book.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        sheets[ws.title] = [dict(zip(rows[0], r)) for r in rows[1:]]
    for sheet in ("survey", "choices"):
        for row in sheets[sheet]:
            row["label"] = row.pop("label::English (en)", None)
            row.pop("label::Français (fr)", None)
            row.pop("label::Español (es)", None)
    sheets["settings"][0].pop("default_language")
    form = write_xlsform(tmp_path / "form.xlsx", sheets["survey"], sheets["choices"], sheets["settings"][0])
    parsed = read_form(form)
    assert parsed.languages == [] and parsed.untagged_labels
    xml = pd.read_csv(KOBO / "export_xml_single.csv", dtype=str, keep_default_na=False)
    export = write_export(tmp_path / "labels.csv", parsed, {c: xml[c].tolist() for c in xml.columns
                                                            if c in parsed.fields}, Layout(values="", multiple="both"))
    got = prepare(export, tmp_path / "data", form=form)
    pd.testing.assert_frame_equal(got.frame, main_sheet(reference.frame))
    education = next(v for v in got.codebook["variables"] if v["name"] == "education")
    assert education["label"] == dict.fromkeys(("en", "fr", "es"), "Highest level of education")
    keys = [p.key for p in got.report.problems]
    assert "labels_untagged" in keys and "header_mode_labels_untagged" in keys and "language_missing" not in keys


def test_a_labels_export_whose_header_cells_hold_line_breaks(tmp_path):
    """Kobo's label exports keep a long question's line breaks in its header cell."""
    import csv

    rows = list(csv.reader((KOBO / "export_labels_es_single.csv").open(encoding="utf-8")))
    rows[0] = [h.replace(" ", "\n", 1) if " " in h else h for h in rows[0]]
    path = tmp_path / "labels.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    raw = files.read_export(path)
    assert raw.num_rows == len(rows) - 1
    assert any("\n" in h for h in raw.headers)
    report = prepare(path, tmp_path / "data").report
    assert report.added == len(rows) - 1
