"""Loading is versioned and atomic: a new round is appended (respondents recognised by id, never counted
twice, their record keys unchanged), a version is swapped in only when written and checked, a running
engine serves it from its next query, and earlier versions can be restored. Tests about the pointer to the current
version (those taking `backend`) run with it in current.json, then in PostgreSQL."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from core import query, settings
from core.auth.audit import AuditLog
from core.data import engine as engine_module
from core.data import versions
from core.data.codebook import builtin_codebook
from core.data.engine import RKEY, Engine, ident, load_codebook
from core.ingest import load
from core.ingest.problems import IngestError
from tests.unit.ingest_support import (
    DEFAULT_EXPORT,
    FORM,
    FORM_V2,
    KOBO,
    MAPPING,
    MAPPING_V2,
    ROUND2,
    fingerprint,
    load_first_round,
)


@pytest.fixture
def data_dir(tmp_path, request, monkeypatch):
    """A data directory; which version is current is kept in current.json, and, for a test that also takes
    `backend` (tests/conftest.py), then in PostgreSQL (PORTAL_DATABASE_URL, several replicas)."""
    if "backend" in request.fixturenames and request.getfixturevalue("backend"):
        monkeypatch.setenv("PORTAL_DATABASE_URL", request.getfixturevalue("backend"))
    directory = tmp_path / "data"
    directory.mkdir()
    # the built-in synthetic file, as a deployment has it (built at the start of the test session)
    shutil.copy(engine_module.dataset_path(settings.GENERATED_DIR, "core"),
                engine_module.dataset_path(directory, "core"))
    return directory


def append_round2(data_dir, **kwargs) -> load.Report:
    return load.load(FORM_V2, ROUND2, MAPPING_V2, dataset="core", data_dir=data_dir, **kwargs)


def keys(engine: Engine) -> pd.Series:
    ds = engine.dataset("core")
    rows = engine.query(f"SELECT respondent_id::VARCHAR AS id, {RKEY} AS k FROM {ident(ds.table)}")
    return rows.set_index("id")["k"]


def test_a_first_load_replaces_the_builtin_data_for_a_running_engine(data_dir, backend):
    engine = Engine(data_dir)
    assert engine.dataset("core").synthetic and engine.dataset("core").version is None
    report = load_first_round(data_dir)
    assert (report.version, report.mode, report.added, report.total) == ("v0001", "new", 40, 40)
    ds = engine.dataset("core")  # the same engine, no restart
    assert (ds.version, ds.rows, ds.synthetic) == ("v0001", 40, False)
    assert ds.codebook.title("fr") == "Enquête 4Mi principale (échantillon)"
    assert "education" in ds.codebook and "needs" in ds.codebook
    assert versions.source(data_dir, "core").parquet.parent.name == "v0001"
    previous = engine_module.get_engine()
    engine_module.set_engine(engine)
    try:
        table = query.crosstab("core", ["gender"], tier="researcher")
        assert int(table["count"].sum()) == 40
        assert load_codebook("core").title("en") == "4Mi core survey (sample)"  # pages read the loaded codebook
    finally:
        engine_module.set_engine(previous)


def test_a_new_round_is_appended_and_nobody_is_counted_twice(data_dir):
    load_first_round(data_dir)
    engine = Engine(data_dir)
    before = engine.query(f"SELECT * FROM {ident(engine.dataset('core').table)}").set_index("respondent_id")
    report = append_round2(data_dir)
    assert (report.mode, report.base, report.version) == ("append", "v0001", "v0002")
    assert (report.rows_read, report.added, report.replaced, report.rejected, report.total) == (20, 15, 5, 0, 55)
    ds = engine.dataset("core")
    after = engine.query(f"SELECT * FROM {ident(ds.table)}").set_index("respondent_id")
    assert ds.rows == 55 and after.index.is_unique
    again = [f"R-{i:04d}" for i in range(6, 11)]
    new_answers = pd.read_excel(ROUND2, dtype=str).set_index("profiles/respondent_id")
    for rid in again:  # their row is the new round's
        assert str(after.loc[rid, "interview_date"].date()) == new_answers.loc[rid, "profiles/interview_date"][:10]
    kept = before.index.difference(again)
    for column in ("gender", "needs", "transport_modes", "age"):
        pd.testing.assert_series_equal(after.loc[kept, column], before.loc[kept, column], check_dtype=False)
    # a question of the second form only: not asked in the first round
    assert after.loc[kept, "would_migrate_again"].isna().all()
    assert after.loc[again, "would_migrate_again"].notna().all()
    # a choice added by the second form comes after the old ones: old bit masks keep their meaning
    assert ds.codebook["needs"].codes[-1] == "cash"
    assert ds.codebook["needs"].codes[:6] == ["food", "water", "shelter", "health", "legal_documentation",
                                              "information"]


def test_record_keys_of_respondents_do_not_change_between_versions(data_dir):
    load_first_round(data_dir)
    engine = Engine(data_dir)
    first = keys(engine)
    append_round2(data_dir)
    second = keys(engine)
    shared = first.index.intersection(second.index)
    assert len(shared) == 40
    assert (first[shared] == second[shared]).all()
    # a keyed hash of the id: the same as the engine gives any respondent with that id
    expected = engine.perturbation.record_keys(list(second.index))
    assert np.array_equal(second.to_numpy(), expected)


def test_restore_goes_back_a_version_then_to_the_builtin_data(data_dir, backend):
    load_first_round(data_dir)
    append_round2(data_dir)
    engine = Engine(data_dir)
    assert engine.dataset("core").rows == 55
    assert load.restore("core", data_dir=data_dir) == "v0001"
    assert engine.dataset("core").rows == 40
    assert load.restore("core", "v0002", data_dir=data_dir) == "v0002"
    assert engine.dataset("core").rows == 55
    assert load.restore("core", builtin=True, data_dir=data_dir) is None
    ds = engine.dataset("core")
    assert ds.synthetic and ds.version is None and ds.codebook == builtin_codebook("core")
    assert [v["version"] for v in versions.history(data_dir, "core")] == ["v0001", "v0002"]  # all kept
    with pytest.raises(versions.VersionError) as e:
        load.restore("core", data_dir=data_dir)
    assert e.value.code == "nothing_to_restore"
    with pytest.raises(versions.VersionError) as e:
        load.restore("core", "v0009", data_dir=data_dir)
    assert e.value.code == "unknown_version" and e.value.params["known"] == "v0001, v0002"
    # The loads and the restores that happened are in the audit log (tests/conftest.py: the test's own);
    # the refused restores are not.
    log = AuditLog().entries()
    assert list(reversed(log["action"])) == ["load", "load", "restore", "restore", "restore"]
    assert list(reversed(log["detail"])) == ["version v0001", "version v0002", "version v0001", "version v0002",
                                             "built-in synthetic data"]


def test_a_load_that_fails_while_writing_leaves_everything_as_it_was(data_dir, monkeypatch, backend):
    load_first_round(data_dir)
    before = fingerprint(data_dir)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(load, "_check_written", broken)
    with pytest.raises(OSError, match="disk full"):
        append_round2(data_dir)
    assert fingerprint(data_dir) == before
    assert not list((data_dir / "core").glob("staging-*"))
    assert versions.current_version(data_dir, "core") == "v0001"


def test_a_version_that_does_not_read_back_is_not_swapped_in(data_dir, monkeypatch):
    load_first_round(data_dir)
    before = fingerprint(data_dir)

    def corrupt(frames, path, **kwargs):  # a writer that loses rows
        path.write_bytes(b"PAR1 not parquet")
        return path

    monkeypatch.setattr(load, "write_dataset", corrupt)
    with pytest.raises(Exception):  # noqa: B017 - whatever the reader raises
        append_round2(data_dir)
    assert fingerprint(data_dir) == before


def test_a_check_is_refused_at_commit_when_the_data_changed_meanwhile(data_dir, backend):
    load_first_round(data_dir)
    prepared = load.prepare(FORM_V2, ROUND2, MAPPING_V2, dataset="core", data_dir=data_dir)
    load.restore("core", builtin=True, data_dir=data_dir)
    with pytest.raises(IngestError) as e:
        load.commit(prepared)
    assert e.value.problems[0].key == "changed_meanwhile"
    assert versions.current_version(data_dir, "core") is None


def test_replace_starts_the_dataset_again(data_dir):
    load_first_round(data_dir)
    report = append_round2(data_dir, replace=True)
    assert (report.mode, report.base, report.added, report.replaced, report.total) == ("new", None, 20, 0, 20)


def test_a_round_cannot_change_a_variables_type(data_dir, tmp_path):
    load_first_round(data_dir)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING_V2.read_text().replace("transit_country: {type: country, theme: journey}",
                                                      "transit_country: {theme: journey}"))
    with pytest.raises(IngestError) as e:
        load.load(FORM_V2, ROUND2, mapping, dataset="core", data_dir=data_dir)
    problem = e.value.problems[0]
    assert problem.key == "type_changed" and problem.params == {"variable": "transit_country", "old": "country",
                                                               "new": "single"}


def test_each_version_records_how_it_was_made(data_dir):
    load_first_round(data_dir)
    append_round2(data_dir)
    folder = versions.version_dir(data_dir, "core", "v0002")
    assert sorted(p.name for p in folder.iterdir()) == ["codebook.yaml", "data.parquet", "mapping.yaml", "version.json"]
    info = json.loads((folder / "version.json").read_text())
    assert info["files"]["export"]["name"] == "round2_xml_both.xlsx" and len(info["files"]["form"]["sha256"]) == 64
    assert (info["added"], info["replaced"], info["base"]) == (15, 5, "v0001")
    assert (folder / "mapping.yaml").read_text() == MAPPING_V2.read_text()
    rows = load.describe_versions("core", "fr", data_dir)
    assert [(r["version"], r["current"], r["respondents"]) for r in rows] == [("v0002", True, 55), ("v0001", False, 40)]
    assert rows[0]["mode"] == "une nouvelle vague ajoutée à la version v0001"


def test_the_synthetic_data_are_not_rebuilt_over_a_loaded_version(data_dir):
    from core.data.store import ensure_built

    load_first_round(data_dir)
    engine_module.dataset_path(data_dir, "core").unlink()
    assert ensure_built(data_dir, ["core"]) == []
    assert Engine(data_dir).dataset("core").rows == 40


def test_the_fixture_mapping_is_what_the_proposal_gives_once_checked(tmp_path):
    """The proposal for the sample form loads once its TODOs are done (here: Namibia's region)."""
    from core.ingest.mapping import propose
    from core.ingest.xlsform import read_form

    text = propose(read_form(FORM), "core")
    assert "respondent_id: respondent_id" in text and "transit_country: {theme: journey, type: country" in text
    assert "respondent_name: skip" in text and "used_smuggler: {theme: smuggling, sensitive: true" in text
    text = text.replace("countries: [ZA]", "countries: [ZA, NA]")
    mapping = tmp_path / "proposed.yaml"
    mapping.write_text(text)
    report = load.prepare(FORM, KOBO / "export_xml_single.csv", mapping, dataset="core", data_dir=tmp_path).report
    assert report.total == 40 and not [p for p in report.problems if p.level == "error"]
    assert MAPPING.exists()


def test_what_a_killed_load_left_behind_is_cleared_by_the_next_one(data_dir):
    load_first_round(data_dir)
    left = versions.dataset_dir(data_dir, "core") / "staging-killed"
    left.mkdir()
    (left / "data.parquet").write_bytes(b"half")
    append_round2(data_dir)
    assert not left.exists() and versions.current_version(data_dir, "core") == "v0002"


def test_restore_goes_back_to_the_version_in_use_before_never_to_one_rolled_back(data_dir, backend):
    """v1, v2; v2 rolled back to v1; v3 loaded over v1: a plain restore goes back to v1, not to v2."""
    load_first_round(data_dir)
    append_round2(data_dir)
    assert load.restore("core", data_dir=data_dir) == "v0001"
    report = load.load(FORM, DEFAULT_EXPORT, MAPPING, dataset="core", data_dir=data_dir, replace=True)
    assert report.version == "v0003"
    assert versions.info(data_dir, "core", "v0003")["previous"] == "v0001"
    assert load.restore("core", data_dir=data_dir) == "v0001"
    assert load.restore("core", data_dir=data_dir) is None  # v1 was loaded over the built-in data


def test_the_command_line_restore_names_the_version_it_went_back_to(data_dir, capsys, backend):
    from scripts import ingest

    load_first_round(data_dir)
    append_round2(data_dir)
    assert ingest.main(["--data-dir", str(data_dir), "restore", "--dataset", "core"]) == 0
    assert "v0001" in capsys.readouterr().out


def test_with_shared_state_the_current_version_is_the_one_in_postgresql(pg_url, data_dir, monkeypatch):
    """Several replicas: the pointer they all follow is PostgreSQL's row, current.json only its mirror."""
    from tests.postgres import empty

    empty(pg_url)
    monkeypatch.setenv("PORTAL_DATABASE_URL", pg_url)
    load_first_round(data_dir)
    manifest = versions.dataset_dir(data_dir, "core") / versions.MANIFEST
    assert json.loads(manifest.read_text())["version"] == "v0001"
    manifest.unlink()
    versions.forget_pointers()
    assert versions.current_version(data_dir, "core") == "v0001"
    versions.restore(data_dir, "core", builtin=True)
    assert versions.current_version(data_dir, "core") is None, "a replica's own switch is seen at once"
