"""Data releases (core/data/releases.py): the list of a dataset's releases with their notes and changes,
the recommended citation in every format and language, pinned releases, and protected values that stay
the same for a release whatever is loaded after it."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from core import query, settings
from core.data import engine as engine_module
from core.data import releases, versions
from core.ingest import load
from core.query import export
from tests.unit.ingest_support import DEFAULT_EXPORT, FORM, FORM_V2, MAPPING, MAPPING_V2, ROUND2

DAY = dt.date(2026, 12, 6)
BUILT = settings.GENERATED_DIR  # the built-in data, built at the start of the test session


def _own_data(directory):
    """A data directory of its own with the built-in core data, read by a new engine."""
    directory.mkdir()
    shutil.copy(engine_module.dataset_path(BUILT, "core"),
                engine_module.dataset_path(directory, "core"))
    engine_module.set_engine(None)
    return directory


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    warm = engine_module.get_engine()
    monkeypatch.setattr(settings, "GENERATED_DIR", tmp_path / "data")
    yield _own_data(tmp_path / "data")
    engine_module.set_engine(warm)


def two_rounds(data_dir):
    load.load(FORM, DEFAULT_EXPORT, MAPPING, dataset="core", data_dir=data_dir, notes="  First round.  ")
    return load.load(FORM_V2, ROUND2, MAPPING_V2, dataset="core", data_dir=data_dir, notes="Adds a question.")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Built-in data, then two releases loaded over them (read only by the tests that use it)."""
    warm = engine_module.get_engine()
    with pytest.MonkeyPatch.context() as patch:
        directory = tmp_path_factory.mktemp("releases") / "data"
        patch.setattr(settings, "GENERATED_DIR", directory)
        two_rounds(_own_data(directory))
        yield directory
    engine_module.set_engine(warm)


def test_the_releases_of_a_dataset_with_notes_changes_counts_and_the_current_one(loaded):
    data_dir = loaded
    found = releases.releases("core")
    assert [r.ref for r in found] == ["core@builtin", "core@v0001", "core@v0002"]
    assert [r.current for r in found] == [False, False, True]
    assert [r.notes for r in found] == ["", "First round.", "Adds a question."]
    assert found[0].first and not found[1].first
    assert "would_migrate_again" in found[2].added and "would_migrate_again" not in found[1].added
    assert found[1].period("fr").startswith("T") and "-" not in found[1].period("en")  # quarters, not days
    # public: protected counts, "fewer than 50" for a small release; exact for researchers
    assert releases.respondents(found[1], "researcher", query.total) == versions.info(data_dir, "core", "v0001")["total"]
    assert releases.respondents(found[1], "public", query.total) is None
    assert releases.respondents_text(found[1], "public", "en", query.total) == "Fewer than 50"
    builtin_n = releases.respondents(found[0], "researcher", query.total)
    with versions.pinned("core", None):
        assert releases.respondents(found[0], "public", query.total) == query.total("core", tier="public") != builtin_n


def test_a_reference_names_an_existing_release_or_is_refused(loaded):
    assert releases.resolve("core@v0001").id == "v0001"
    assert releases.newer(releases.resolve("core@v0001")).id == "v0002"
    for bad in ("core@v0009", "core@v1", "nope@builtin", "core", "", "core@v0001; DROP"):
        with pytest.raises(releases.UnknownRelease):
            releases.resolve(bad)


def test_the_citation_as_text_bibtex_and_ris_in_each_language_with_a_doi_when_set(loaded, monkeypatch):
    monkeypatch.setenv("PORTAL_ORGANISATION", "Mixed Migration Centre")
    monkeypatch.setenv("PORTAL_PUBLIC_URL", "https://data.example.org/")
    release = releases.resolve("core@v0001")
    cite = releases.citation(release, "en", accessed=DAY)
    assert cite.text.startswith(f"Mixed Migration Centre ({release.date.year}). ")
    assert "core@v0001" in cite.text and "Accessed December 6, 2026." in cite.text
    assert cite.link == "https://data.example.org/?ds=core&release=core@v0001" and cite.link in cite.text
    assert "author = {{Mixed Migration Centre}}" in cite.bibtex and "version = {core@v0001}" in cite.bibtex
    assert cite.ris.splitlines()[0] == "TY  - DATA" and "ET  - core@v0001" in cite.ris and "Y2  - 2026-12-06" in cite.ris
    assert "DO  - " not in cite.ris and "doi" not in cite.bibtex
    assert "Consulté le 6 décembre 2026" in releases.citation(release, "fr", accessed=DAY).text
    assert "Consultado el 6 de diciembre de 2026" in releases.citation(release, "es", accessed=DAY).text
    monkeypatch.setenv("PORTAL_DOI_CORE", "10.1234/core")
    monkeypatch.setenv("PORTAL_DOI_CORE_V0001", "10.1234/core.v1")
    cite = releases.citation(release, "en", accessed=DAY)
    assert cite.doi == "10.1234/core.v1" and "DOI: 10.1234/core.v1." in cite.text and cite.link == "https://doi.org/10.1234/core.v1"
    assert "DO  - 10.1234/core.v1" in cite.ris and "doi = {10.1234/core.v1}" in cite.bibtex
    assert releases.citation(releases.resolve("core@v0002"), "en").doi == "10.1234/core"  # the dataset's


def test_a_pinned_release_keeps_its_protected_values_after_a_new_release(data_dir, monkeypatch):
    monkeypatch.setattr(engine_module, "KEEP_RELEASES", 2)

    def figures():
        with versions.pinned("core", None):
            return (query.crosstab("core", ["gender"], ["age_band"], tier="public").to_dict("records"),
                    query.total("core", {"region_of_interview": ["north_africa"]}, tier="public"))

    before = figures()
    two_rounds(data_dir)
    assert versions.current_version(data_dir, "core") == "v0002"
    assert figures() == before  # the same engine, two releases later
    engine = engine_module.get_engine()
    engine.dataset("core")
    with versions.pinned("core", "v0001"):
        engine.dataset("core")
    assert len(engine.loaded_releases("core")) == 2  # the least recently used dropped
    engine_module.set_engine(None)
    assert figures() == before  # and in a new process: the noise is keyed on the cells' content


def test_the_command_line_writes_the_release_notes(data_dir):
    from scripts import ingest

    assert ingest.main(["--data-dir", str(data_dir), "load", str(FORM), str(DEFAULT_EXPORT), "--mapping",
                        str(MAPPING), "--dataset", "core", "--notes", "Round 1, Libya only"]) == 0
    assert versions.info(data_dir, "core", "v0001")["notes"] == "Round 1, Libya only"


def test_a_csv_reader_skips_the_header_block_with_its_citation():
    import pandas as pd

    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    data = export.to_csv(table, [export.cite_row("MMC (2026). Title, core@v0001.", "en"), ("Dataset", "Core")])
    assert data.decode("utf-8-sig").splitlines()[0] == 'Cite as,"MMC (2026). Title, core@v0001."'
    assert export.csv_skip_rows(data) == 3 and export.csv_skip_rows(export.to_csv(table)) == 0
    header, back = export.read_csv(data)
    assert export.citation_of(header, "en") == "MMC (2026). Title, core@v0001." and back.equals(table)
