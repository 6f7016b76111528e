"""The command-line tool: propose a mapping, check, load, list versions, restore, write a template; messages
in the chosen language; exit code 2 and nothing changed on any error. The ingest limits are documented."""

from __future__ import annotations

import re

import pytest

from core import settings
from core.data import versions
from core.settings import ROOT
from scripts import ingest as cli
from tests.unit.ingest_support import (
    DEFAULT_EXPORT,
    FORM,
    FORM_V2,
    KOBO,
    MAPPING,
    MAPPING_V2,
    ROUND2,
    fingerprint,
)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_then_load_then_versions_then_restore(capsys, tmp_path):
    data = tmp_path / "data"
    code, out, err = run(capsys, "--data-dir", data, "check", FORM, DEFAULT_EXPORT, "--mapping", MAPPING,
                         "--dataset", "core")
    assert code == 0 and not err
    assert "Respondents added                      40" in out and out.rstrip().endswith(
        "Checked: nothing was written. Run `load` with the same files to load them.")
    assert versions.current_version(data, "core") is None

    code, out, _ = run(capsys, "--data-dir", data, "--lang", "fr", "load", FORM, DEFAULT_EXPORT, "--mapping", MAPPING,
                       "--dataset", "core")
    assert code == 0 and "Chargé\u00a0: la version v0001 de core est désormais utilisée." in out
    code, out, _ = run(capsys, "--data-dir", data, "--lang", "es", "load", FORM_V2, ROUND2, "--mapping", MAPPING_V2,
                       "--dataset", "core")
    assert code == 0 and "Personas reemplazadas (ya cargadas)  5" in out

    code, out, _ = run(capsys, "--data-dir", data, "versions", "--dataset", "core")
    lines = out.splitlines()
    assert lines[0].split() == ["VERSION", "CREATED", "(UTC)", "RESPONDENTS", "ADDED", "REPLACED", "REJECTED", "EXPORT"]
    assert lines[1].startswith("* v0002") and "round2_xml_both.xlsx" in lines[1]
    assert lines[2].startswith("  v0001") and lines[-1] == "Version v0002 is in use."

    code, out, _ = run(capsys, "--data-dir", data, "restore", "--dataset", "core")
    assert (code, out.strip()) == (0, "core: version v0001 is in use again.")
    assert versions.current_version(data, "core") == "v0001"


def test_a_refused_load_prints_every_problem_in_the_language_and_changes_nothing(capsys, tmp_path):
    data = tmp_path / "data"
    run(capsys, "--data-dir", data, "load", FORM, DEFAULT_EXPORT, "--mapping", MAPPING, "--dataset", "core")
    before = fingerprint(data)
    bad = tmp_path / "export.csv"
    bad.write_text((KOBO / "export_xml_single.csv").read_text().replace("R-0003", "R-0001"))
    code, out, err = run(capsys, "--data-dir", data, "--lang", "fr", "load", FORM, bad, "--mapping", MAPPING,
                         "--dataset", "core")
    assert code == cli.EXIT_ERROR and not out
    assert err.splitlines() == [
        "erreur\u00a0: export.csv, lignes 2, 4, colonne «\u00a0respondent_id\u00a0»\u00a0: "
        "L’identifiant «\u00a0R-0001\u00a0» apparaît plus d’une fois.",
        "Rien n’a été modifié.",
    ]
    assert fingerprint(data) == before
    code, out, err = run(capsys, "--data-dir", data, "load", FORM, bad, "--mapping", MAPPING, "--dataset", "core",
                         "--skip-invalid")
    assert code == 0 and "rejected: row 2 (respondent R-0001)" in out and "rejected: row 4 (respondent R-0001)" in out


def test_propose_mapping_writes_a_new_file_only(capsys, tmp_path):
    out_file = tmp_path / "mapping.yaml"
    code, out, _ = run(capsys, "propose-mapping", FORM, "--dataset", "core", "--out", out_file)
    assert code == 0 and "check it and edit it" in out
    assert "standard:" in out_file.read_text()
    code, _, err = run(capsys, "--lang", "es", "propose-mapping", FORM, "--dataset", "core", "--out", out_file)
    assert code == cli.EXIT_ERROR and "ya existe" in err
    code, out, _ = run(capsys, "propose-mapping", FORM, "--dataset", "core")
    assert code == 0 and out.startswith("# Mapping of the form")


def test_template_writes_a_form_and_mapping_that_load(capsys, tmp_path):
    form = tmp_path / "returns.xlsx"
    code, out, _ = run(capsys, "template", form, "--dataset", "returns")
    assert code == 0 and form.exists() and form.with_suffix(".yaml").exists()
    from core.ingest.xlsform import read_form

    assert "respondent_id" in read_form(form).fields


def test_restore_errors_and_usage_errors(capsys, tmp_path):
    code, _, err = run(capsys, "--data-dir", tmp_path, "restore", "--dataset", "covid")
    assert code == cli.EXIT_ERROR and "no earlier version to restore" in err
    code, _, err = run(capsys, "load", FORM)
    assert code == cli.EXIT_ERROR and "python -m scripts.ingest --help" in err
    code, _, err = run(capsys, "--data-dir", tmp_path, "load", FORM, DEFAULT_EXPORT, "--mapping", MAPPING,
                       "--dataset", "covid")
    assert code == cli.EXIT_ERROR and "This mapping is for the dataset “core”, not “covid”." in err


def test_every_ingest_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = (ROOT / "core" / "settings.py").read_text(encoding="utf-8")
    names = re.findall(r'"(PORTAL_INGEST_[A-Z_]+)"', source)
    assert len(names) == 7
    for name in names:
        assert name in readme, f"{name} is not in README.md"
        attribute = name.removeprefix("PORTAL_")
        assert getattr(settings, attribute) >= 1


def test_a_setting_from_the_environment_must_be_a_positive_number(monkeypatch):
    monkeypatch.setenv("PORTAL_INGEST_MAX_ROWS", "many")
    with pytest.raises(ValueError, match="PORTAL_INGEST_MAX_ROWS must be a whole number"):
        settings._env_int("PORTAL_INGEST_MAX_ROWS", 5)
    monkeypatch.setenv("PORTAL_INGEST_MAX_ROWS", "25")
    assert settings._env_int("PORTAL_INGEST_MAX_ROWS", 5) == 25
