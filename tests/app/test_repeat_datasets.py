"""A dataset created from a survey with repeat groups (issue 18): its theme page shows the repeat groups'
summaries per respondent (numbers of entries, answers given in any entry, sums) in the researcher tier,
only the public ones in the public tier, with no error."""

from __future__ import annotations

import pytest

from core.ingest import load
from core.ingest.mapping import propose
from core.ingest.xlsform import read_form
from tests.app.conftest import as_role, go, module_data, texts, use_module_data
from tests.unit.ingest_repeats import write_household


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The households dataset beside the built-in ones, made once for the module."""
    def build(directory, tmp):
        form, export = write_household(tmp / "households")
        mapping = tmp / "mapping.yaml"
        mapping.write_text(propose(read_form(form), "households"), encoding="utf-8")
        load.load(form, export, mapping, dataset="households", data_dir=directory, create=True)

    return module_data(tmp_path_factory, build)


@pytest.fixture(autouse=True)
def data_dir(built, monkeypatch):
    return use_module_data(built, monkeypatch)


@pytest.mark.parametrize("role", [None, "researcher"])
def test_the_theme_page_of_a_repeat_group_opens(role):
    at = go(as_role(role, {"ds": "households"}), "household")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    assert "Means of transport (in any entry of “Trips”)" in shown  # a closed summary: public
    counted = "Number of “Household members” entries" in shown  # a number: not public unless the admin says so
    assert counted == (role == "researcher")
