"""Questions nobody answered (skip logic, or new in a round): every page of every tier shows "no answers
yet" where the question's chart, table or map layer would be, and nothing breaks (issue 18)."""

from __future__ import annotations

import csv

import pytest

from core.i18n import t
from core.ingest import load
from tests.app.conftest import as_role, go, module_data, pages, texts, use_module_data
from tests.unit.ingest_support import FORM, KOBO, MAPPING

EMPTY = ("transport_modes", "journey_duration_days", "transit_country", "used_smuggler", "amount_paid_usd",
         "incident_types")


def write_export_with_empty_questions(path):
    with open(KOBO / "export_xml_single.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for name in EMPTY:
            row[name] = ""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The core survey with the unanswered questions loaded as its current version, once for the module."""
    def build(directory, tmp):
        load.load(FORM, write_export_with_empty_questions(tmp / "empty.csv"), MAPPING, dataset="core",
                  data_dir=directory)

    return module_data(tmp_path_factory, build)


@pytest.fixture(autouse=True)
def data_dir(built, monkeypatch):
    return use_module_data(built, monkeypatch)


@pytest.mark.parametrize("role", [None, "researcher"])
def test_every_page_works_with_unanswered_questions(role):
    at = as_role(role)
    for page in pages(at):
        go(at, page)
        assert not at.exception, (page, at.exception)
        if page != "stories":  # the built-in stories are written for the synthetic data: left out, said so
            assert not at.error, (page, [e.value for e in at.error])


@pytest.mark.parametrize("role", [None, "researcher"])
@pytest.mark.parametrize("page", ["journey", "smuggling"])
def test_a_theme_page_says_no_answers_yet(role, page):
    at = go(as_role(role), page)
    assert not at.exception
    assert t("disclosure.no_answers", "en") in texts(at)


@pytest.mark.parametrize("role", [None, "researcher"])
def test_the_crosstab_of_an_unanswered_question_says_no_answers_yet(role):
    at = as_role(role, {"rows": "transport_modes", "cols": "gender"}, page="crosstab")
    assert not at.exception
    assert t("disclosure.no_answers", "en") in texts(at)
