"""Nothing lost without a word (issue 18): an export whose headers or answers do not match the form is
refused, not loaded with every respondent's answers replaced by empty ones; only force=True (--force,
"Load anyway") loads it, with the report saying what was left missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.ingest import load
from core.ingest.problems import WARNING
from scripts import ingest
from tests.unit.ingest_support import FORM, MAPPING
from tests.unit.test_ingest_bad_input import SINGLE, refused, rows_of, write_rows

ARABIC = {"education": "التعليم", "transport_modes": "وسائل النقل", "journey_duration_days": "مدة الرحلة",
          "transit_country": "بلد العبور", "used_smuggler": "استخدم مهربا", "amount_paid_usd": "المبلغ المدفوع",
          "incident_types": "أنواع الحوادث", "needs": "الاحتياجات", "gender": "الجنس", "age": "العمر",
          "nationality": "الجنسية", "country_of_interview": "بلد المقابلة"}


@pytest.fixture
def data_dir(first_round, tmp_path):
    return Path(shutil.copytree(first_round, tmp_path / "data"))


def arabic_headers(tmp_path: Path) -> Path:
    """Headers as labels in a language the form lacks (Arabic); the id and date columns keep their names."""
    rows = rows_of()
    rows[0] = [ARABIC.get(h, h) for h in rows[0]]
    return write_rows(tmp_path / "labels_ar.csv", rows)


def test_headers_in_a_language_the_form_lacks_are_refused_not_loaded_empty(data_dir, tmp_path):
    error = refused(data_dir, arabic_headers(tmp_path))
    missing = {p.params["field"] for p in error.problems if p.key == "column_missing_mapped"}
    assert missing == set(ARABIC)
    assert "--force" in error.messages("en")[0]


def test_another_forms_export_sharing_the_id_and_date_columns_is_refused(data_dir, tmp_path):
    rows = [["respondent_id", "interview_date", "water_source", "latrine_type"]]
    rows += [[f"R-{i:04d}", "2024-03-01", "well", "pit"] for i in range(1, 41)]
    error = refused(data_dir, write_rows(tmp_path / "wash.csv", rows))
    keys = {p.key for p in error.problems}
    assert "column_missing_mapped" in keys
    assert len([p for p in error.problems if p.key == "column_missing_mapped"]) >= 6


def test_answers_mostly_not_in_the_list_refuse_the_load_even_when_invalid_rows_may_be_skipped(data_dir, tmp_path):
    rows = rows_of()
    col = rows[0].index("education")
    for row in rows[1:]:
        row[col] = "التعليم الثانوي"
    error = refused(data_dir, write_rows(tmp_path / "edu.csv", rows), skip_invalid=True)
    [problem] = [p for p in error.problems if p.key == "column_mostly_unknown"]
    assert problem.column == "education" and problem.params["n"] == len(rows) - 1
    for lang in ("en", "fr", "es"):
        assert "education" in problem.message(lang)


def test_a_few_answers_not_in_the_list_are_still_row_errors(data_dir, tmp_path):
    rows = rows_of()
    col = rows[0].index("education")
    rows[1][col] = "doctorate"
    error = refused(data_dir, write_rows(tmp_path / "edu.csv", rows))
    assert [p.key for p in error.problems] == ["choice_unknown"]


def test_force_loads_it_and_says_what_was_left_missing(data_dir, tmp_path):
    report = load.load(FORM, arabic_headers(tmp_path), MAPPING, dataset="core", data_dir=data_dir,
                       replace=True, force=True)
    forced = [p for p in report.problems if p.key == "column_missing_forced"]
    assert forced and all(p.level == WARNING for p in forced)
    frame = pd.read_parquet(data_dir / "core" / "versions" / report.version / "data.parquet")
    assert frame["education"].isna().all() and frame["respondent_id"].notna().all()


def test_the_command_line_refuses_then_loads_with_force(data_dir, tmp_path, capsys):
    export = arabic_headers(tmp_path)
    args = ["--data-dir", str(data_dir), "load", str(FORM), str(export), "--mapping", str(MAPPING),
            "--dataset", "core", "--replace"]
    assert ingest.main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert ingest.main([*args, "--force"]) == 0
    assert "v0002" in capsys.readouterr().out


def test_an_export_with_every_column_present_loads_as_before(data_dir):
    report = load.load(FORM, SINGLE, MAPPING, dataset="core", data_dir=data_dir, replace=True)
    assert not [p for p in report.problems if p.key.startswith("column_missing")]
