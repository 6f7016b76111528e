"""The admin page's data updates, through the real router: only admins reach them; an upload is checked
(the report in the user's language) before it can be loaded; a refused check changes nothing; the portal
serves a loaded version at once, with every page working on it; versions can be restored."""

from __future__ import annotations

import pytest

from core.data import engine, versions
from core.i18n import t
from tests.app.conftest import as_role, go, own_data_dir, pages, texts
from tests.unit.ingest_support import DEFAULT_EXPORT, FORM, KOBO, MAPPING

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """A data directory of the test's own (conftest.own_data_dir)."""
    directory = own_data_dir(tmp_path, monkeypatch)
    yield directory
    engine.set_engine(None)


def admin_page(query: dict | None = None):
    at = as_role("admin", query)
    return go(at, "admin")


def upload(at, form=FORM, export=DEFAULT_EXPORT, mapping=MAPPING):
    at.file_uploader(key="ingest_form").set_value((form.name, form.read_bytes(), XLSX))
    at.file_uploader(key="ingest_export").set_value(
        (export.name, export.read_bytes(), XLSX if export.suffix == ".xlsx" else "text/csv"))
    if mapping is not None:
        at.file_uploader(key="ingest_mapping").set_value((mapping.name, mapping.read_bytes(), "application/yaml"))
    return at.run()


def test_only_admins_have_data_updates():
    for role in (None, "researcher"):
        assert "admin" not in pages(as_role(role))
    at = admin_page()
    assert not at.exception
    assert t("ingest.ui.title", "en") in [h.value for h in at.header]
    assert {u.key for u in at.get("file_uploader")} >= {"ingest_form", "ingest_export", "ingest_mapping"}
    assert t("ingest.current_builtin", "en") in texts(at)


def test_check_then_load_and_the_portal_serves_the_new_version(data_dir):
    at = upload(admin_page())
    assert at.button(key="ingest_check").disabled is False
    assert t("ingest.ui.check_first", "en") in texts(at)
    assert not [b for b in at.button if b.key == "ingest_load"]  # nothing to load before a check
    at.button(key="ingest_check").click().run()
    assert not at.exception
    shown = texts(at)
    assert t("ingest.ui.report", "en") in shown
    assert t("ingest.ui.summary_line", "en", label=t("ingest.report.added", "en"), value="40") in shown
    assert versions.current_version(data_dir, "core") is None  # a check writes nothing
    at.text_area(key="ingest_notes").input("Round 1: Libya and Niger.")
    at.button(key="ingest_load").click().run()
    assert not at.exception
    assert t("ingest.ui.loaded", "en", version="v0001", dataset=t("dataset.core", "en")) in [s.value for s in at.success]
    assert versions.info(data_dir, "core", "v0001")["notes"] == "Round 1: Libya and Niger."  # the release notes
    assert versions.current_version(data_dir, "core") == "v0001"
    info = versions.info(data_dir, "core", "v0001")
    assert info["by"] == "root" and info["files"]["export"]["name"] == DEFAULT_EXPORT.name
    assert t("ingest.current_version", "en", version="v0001") in texts(at)
    # the same running portal serves it: the synthetic-data banner is gone for the core survey
    go(at, "overview")
    assert not at.exception
    assert t("banner.synthetic", "en") not in [w.value for w in at.warning]


def test_a_refused_check_shows_every_problem_in_the_users_language_and_changes_nothing(data_dir, tmp_path):
    bad = tmp_path / "export.csv"
    bad.write_text((KOBO / "export_xml_single.csv").read_text().replace("R-0003", "R-0001"), encoding="utf-8")
    at = upload(admin_page({"lang": "fr"}), export=bad)
    at.button(key="ingest_check").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors[0] == t("ingest.ui.refused", "fr")
    assert errors[1] == ("export.csv, lignes 2, 4, colonne «\u00a0respondent_id\u00a0»\u00a0: L’identifiant "
                         "«\u00a0R-0001\u00a0» apparaît plus d’une fois.")
    assert not [b for b in at.button if b.key == "ingest_load"]
    assert not (data_dir / "core").exists() or versions.current_version(data_dir, "core") is None


def test_without_a_mapping_the_proposal_is_shown_to_edit(data_dir):
    at = upload(admin_page(), mapping=None)
    assert not at.exception
    area = next(a for a in at.text_area if a.key.startswith("ingest_mapping_text_"))
    assert "standard:" in area.value and "respondent_name: skip" in area.value
    # as proposed, Namibia has no region yet: the check says so, naming the column
    at.button(key="ingest_check").click().run()
    assert any("NAM" in e.value and "country_of_interview" in e.value for e in at.error)
    area = next(a for a in at.text_area if a.key.startswith("ingest_mapping_text_"))
    area.set_value(area.value.replace("countries: [ZA]", "countries: [ZA, NA]")).run()
    assert t("ingest.ui.check_first", "en") in texts(at)  # an edit asks for a new check
    at.button(key="ingest_check").click().run()
    assert [b for b in at.button if b.key == "ingest_load"] and not at.exception


def test_changing_an_option_after_a_check_asks_for_a_new_one(data_dir):
    at = upload(admin_page())
    at.button(key="ingest_check").click().run()
    assert [b for b in at.button if b.key == "ingest_load"]
    at.checkbox(key="ingest_replace").check().run()
    assert not [b for b in at.button if b.key == "ingest_load"]
    assert t("ingest.ui.check_first", "en") in texts(at)


def test_versions_are_listed_and_restored(data_dir):
    from core.ingest import load

    load.load(FORM, DEFAULT_EXPORT, MAPPING, dataset="core", data_dir=data_dir)
    at = admin_page({"lang": "es"})
    assert not at.exception
    table = next(d for d in at.dataframe if "version" in d.value.columns)
    assert list(table.value["version"]) == ["v0001"] and list(table.value["current"]) == [True]
    assert at.selectbox(key="ingest_restore_to").options == [t("ingest.ui.builtin", "es")]
    at.button(key="ingest_restore").click().run()
    assert not at.exception
    assert t("ingest.ui.restored_builtin", "es") in [s.value for s in at.success]
    assert versions.current_version(data_dir, "core") is None


@pytest.mark.parametrize("role", [None, "admin"])
def test_every_page_works_on_a_loaded_dataset(data_dir, role):
    """A loaded dataset has its own codebook (40 respondents, fewer questions): no page may break on it."""
    from core.ingest import load

    load.load(FORM, DEFAULT_EXPORT, MAPPING, dataset="core", data_dir=data_dir)
    at = as_role(role)
    visited = list(pages(at))
    assert {"overview", "map", "about", "profiles", "journey", "smuggling"} <= set(visited)
    for page in visited:
        go(at, page)
        assert not at.exception, (page, at.exception)


def test_an_admin_creates_a_new_dataset_from_a_form_and_its_export(data_dir, tmp_path):
    from tests.unit.ingest_created import write_survey

    form, export = write_survey(tmp_path / "wash", n=200)
    at = admin_page()
    at.selectbox(key="ingest_dataset").set_value("").run()
    at.text_input(key="ingest_new_name").input("wash").run()
    upload(at, form=form, export=export, mapping=None)
    proposal = at.text_area(key=next(a.key for a in at.text_area if a.key.startswith("ingest_mapping_text"))).value
    assert "dataset: wash" in proposal and "respondent_id: _uuid" in proposal
    at.button(key="ingest_check").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="ingest_load").click().run()
    assert not at.exception
    assert "wash" in versions.datasets()
    assert at.selectbox(key="ingest_dataset").value == "wash"
    assert versions.current_version(data_dir, "wash") == "v0001"


def test_a_refused_check_offers_to_load_anyway(data_dir, tmp_path):
    import csv

    rows = list(csv.reader((KOBO / "export_xml_single.csv").open(encoding="utf-8")))
    rows[0] = [h if h in ("respondent_id", "interview_date") else f"x_{h}" for h in rows[0]]
    export = tmp_path / "other.csv"
    with export.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    at = upload(admin_page(), export=export)
    at.button(key="ingest_check").click().run()
    assert t("ingest.ui.refused", "en") in [e.value for e in at.error]
    at.checkbox(key="ingest_force").check().run()
    at.button(key="ingest_check").click().run()
    assert not at.exception
    at.button(key="ingest_load").click().run()
    assert versions.current_version(data_dir, "core") == "v0001"
