"""Data releases through the real router: the page in every tier and language, the citation every
download carries (read back from each file), pinned links before and after a new release, and a link to
a release that does not exist."""

from __future__ import annotations

import io
import json
import zipfile
from xml.etree import ElementTree

import pandas as pd
import pytest
import streamlit
from openpyxl import load_workbook
from streamlit.delta_generator import DeltaGenerator

from components.shell import SHARE_KEY
from core import query
from core.data import releases
from core.data.codebook import questions
from core.data.engine import dataset_name, load_codebook
from core.i18n import t, tn
from core.ingest import load
from core.query import export
from tests.app.conftest import as_role, go, link, open_app, open_downloads, own_data_dir, texts
from tests.unit.ingest_support import DEFAULT_EXPORT, FORM, MAPPING


@pytest.mark.parametrize("role, lang", [(None, "en"), ("researcher", "fr"), ("admin", "es")])
def test_the_releases_page_in_every_tier_and_language(role, lang):
    at = as_role(role, {"lang": lang}, page="releases")
    assert not at.exception, at.exception
    assert at.title[0].value == t("nav.releases", lang)
    shown = texts(at)
    tier = "public" if role is None else "researcher"
    for dataset in ("core", "covid", "returns"):
        assert dataset_name(dataset, lang) in shown and f"**{dataset}@builtin**" in shown
        [release] = releases.releases(dataset)
        count = releases.respondents(release, tier, query.total)
        assert tn("releases.respondents_n", count, lang) in shown
    exact = releases.respondents(releases.releases("returns")[0], "researcher", query.total)
    assert (tn("releases.respondents_n", exact, lang) in shown) == (role is not None)  # never raw in public
    assert (t("releases.approximate", lang) in shown) == (role is None)
    codes = [c.value for c in at.code]
    assert releases.citation(releases.resolve("covid@builtin"), lang).text in codes
    assert any(c.startswith("@misc{4mi_core_builtin_") for c in codes) and any(c.startswith("TY  - DATA") for c in codes)


@pytest.fixture
def files(monkeypatch) -> dict:
    """The file makers the page hands to its download buttons, by key: what a click would run."""
    found = {}
    for owner, name in ((DeltaGenerator, "download_button"), (streamlit, "download_button")):
        original = getattr(owner, name)

        def capture(*args, _original=original, **kwargs):
            found[kwargs.get("key")] = kwargs.get("data", args[2] if len(args) > 2 else None)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, capture)
    return found


def made(maker) -> bytes:
    return maker() if callable(maker) else maker


def test_every_download_carries_the_citation_read_back_from_the_file(files):
    at = open_app({"lang": "fr"}, page="smuggling")
    assert not at.exception, at.exception
    first = questions(load_codebook("core"), "smuggling", "public")[0]
    open_downloads(at, f"q_core_smuggling_{first.name}")
    cite = releases.cite_current("core", "fr", origin="").text
    assert cite.startswith("Mixed Migration Centre") and "core@builtin" in cite
    key = next(k for k in files if k and k.endswith("_csv"))[:-len("_csv")]
    header, _ = export.read_csv(made(files[f"{key}_csv"]))
    assert header[0] == (t("cite.label", "fr"), cite)
    sheet = load_workbook(io.BytesIO(made(files[f"{key}_xlsx"]))).active
    assert (sheet["A1"].value, sheet["B1"].value) == (t("cite.label", "fr"), cite)
    assert export.png_text(made(files[f"{key}_png"]))["Source"] == cite
    svg = ElementTree.fromstring(made(files[f"{key}_svg"]))
    assert svg.find("{http://www.w3.org/2000/svg}desc").text == cite
    assert svg.find(".//{http://purl.org/dc/terms/}bibliographicCitation").text == cite

    at = as_role("researcher", {"lang": "fr", "ds": "returns", "from": "2021Q1", "to": "2021Q1"})  # few rows
    go(at, "microdata")
    cite = releases.cite_current("returns", "fr", origin="").text
    for fmt in ("csv", "parquet", "dta", "xlsx"):
        data = made(files[f"md_download_{fmt}"])
        if fmt == "xlsx":
            sheet = load_workbook(io.BytesIO(data)).worksheets[1]  # the dictionary
            assert (sheet["A1"].value, sheet["B1"].value) == (t("cite.label", "fr"), cite)
            continue
        archive = zipfile.ZipFile(io.BytesIO(data))
        data_file, dictionary = archive.namelist()
        header, _ = export.read_csv(archive.read(dictionary))
        assert header[0] == (t("cite.label", "fr"), cite)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            meta = pq.read_schema(io.BytesIO(archive.read(data_file))).metadata
            assert meta[export.CITATION_KEY.encode()].decode() == cite
            assert json.loads(meta[b"portal.header"])[0] == [t("cite.label", "fr"), cite]
        if fmt == "dta":
            raw = archive.read(data_file)
            assert b"note1\0" in raw and cite.encode() in raw
            assert not pd.read_stata(io.BytesIO(raw)).empty  # still a file Stata readers open


def overview_count(at) -> str | None:
    found = [m.value for m in at.metric if m.label == t("overview.respondents", "en")]
    return found[0] if found else None


def shared(at):
    """The app with "Share this view" open: its links are drawn by the run its opening causes."""
    at.session_state[SHARE_KEY] = True
    return at.run()


def test_a_pinned_link_shows_its_release_before_and_after_a_new_one(tmp_path, monkeypatch):
    data_dir = own_data_dir(tmp_path, monkeypatch)
    pinned = {"lang": "en", "ds": "core", "release": "core@builtin"}
    before = open_app(pinned)
    assert not before.exception and overview_count(before) is not None
    assert not [i for i in before.info if "A newer release exists" in i.value]  # it is the current one
    load.load(FORM, DEFAULT_EXPORT, MAPPING, dataset="core", data_dir=data_dir, notes="Round one")

    after = open_app(pinned)
    assert not after.exception, after.exception
    assert overview_count(after) == overview_count(before)  # the same protected figure
    note = t("pin.note", "en", release="X", newer="Y").split("X")[0]
    assert any(i.value.startswith(note) and "core@builtin" in i.value and "core@v0001" in i.value for i in after.info)
    assert link(after)["release"] == ["core@builtin"]
    codes = [c.value for c in shared(after).code]
    assert any("release=core@builtin" in c for c in codes)  # the share popover's pinned link

    # A theme figure's files, made on their own thread, are of the pinned release too (the current one
    # has too few respondents for public figures: its chart would be refused).
    found = {}
    original = streamlit.download_button

    def capture(label, data, *args, **kwargs):
        found[kwargs["key"]] = data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", capture)
    go(after, "smuggling")
    key = "q_core_smuggling_used_smuggler"
    open_downloads(after, key)
    assert not after.exception, after.exception
    assert b"<svg" in found[f"{key}_svg"]()
    assert "core@builtin" in export.read_csv(found[f"{key}_csv"]())[0][0][1]  # its citation

    current = open_app({"lang": "en", "ds": "core"})
    assert overview_count(current) is None  # the new release has too few respondents for public figures
    assert any("release=core@v0001" in c for c in [c.value for c in shared(current).code])
    after.button(key="pin_current").click().run()  # back to the current release
    assert "release" not in link(after) and overview_count(after) is None


def test_a_link_to_a_release_that_does_not_exist_is_refused_in_the_users_language():
    at = open_app({"lang": "es", "release": "core@v0042"})
    assert not at.exception
    assert t("pin.unknown", "es", release="core@v0042") in [w.value for w in at.warning]
    assert "release" not in link(at) and "pinned_release" not in texts(at)
    # the current data are shown, as without the parameter
    assert at.metric[0].value == open_app({"lang": "es"}).metric[0].value
