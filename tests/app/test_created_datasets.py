"""Datasets created from a survey's form (issue 18): each gets theme pages, crosstab, map and microdata like
the built-in ones; every page opens in the public and researcher tiers without an error, and the public
tier shows only public questions and no respondent's row."""

from __future__ import annotations

import pytest

from core import settings
from core.data import versions
from core.i18n import t
from core.ingest import load
from core.ingest.mapping import propose
from core.ingest.xlsform import read_form
from tests.app.conftest import as_role, go, module_data, pages, texts, use_module_data
from tests.unit.ingest_created import write_survey
from tests.unit.ingest_support import FORM, KOBO


def create(directory, name, form, export, tmp_path):
    mapping = tmp_path / f"{name}.yaml"
    mapping.write_text(propose(read_form(form), name), encoding="utf-8")
    return load.load(form, export, mapping, dataset=name, data_dir=directory, create=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The two created datasets beside the built-in ones, made once for the module."""
    def build(directory, tmp):
        create(directory, "sample", FORM, KOBO / "export_xml_single.csv", tmp)
        create(directory, "wash", *write_survey(tmp / "wash"), tmp)

    return module_data(tmp_path_factory, build)


@pytest.fixture(autouse=True)
def data_dir(built, monkeypatch):
    return use_module_data(built, monkeypatch)


def test_created_datasets_are_offered_beside_the_builtin_ones():
    assert versions.datasets() == (*settings.DATASETS, "sample", "wash")
    at = as_role(None)
    assert at.sidebar.selectbox(key="f_ds").options == ["4Mi core survey", "Covid-19 module", "Returns module",
                                                       "4Mi core survey (sample)", "WASH and protection (sample)"] \
        or len(at.sidebar.selectbox(key="f_ds").options) == 5


@pytest.mark.parametrize("role", [None, "researcher"])
@pytest.mark.parametrize("dataset", ["sample", "wash"])
def test_every_page_of_a_created_dataset_opens(dataset, role):
    at = as_role(role, {"ds": dataset})
    visited = pages(at)
    assert {"overview", "crosstab", "map"} <= set(visited)
    if role:
        assert "microdata" in visited
    themes = {"wash": {"respondent", "wash"}, "sample": {"profiles", "journey", "needs"}}[dataset]
    assert themes <= set(visited), visited
    for page in visited:
        go(at, page)
        assert not at.exception, (dataset, page, at.exception)
        if page != "stories":  # the built-in stories are written for the built-in data
            assert not at.error, (dataset, page, [e.value for e in at.error])
        assert at.query_params.get("ds") in (dataset, [dataset]), (page, at.query_params)


def test_the_public_tier_shows_only_public_questions_of_a_created_dataset():
    at = go(as_role(None, {"ds": "wash"}), "wash")
    shown = texts(at)
    assert "Sources of drinking water" in shown
    assert "Litres of water a day" not in shown  # a number: not public unless the admin says so
    at = go(as_role(None, {"ds": "wash"}), "respondent")
    assert "How many people live in your household?" not in texts(at)  # a household number
    at = go(as_role(None, {"ds": "wash"}), "protection")
    assert not at.exception
    assert "Is a child in your household married?" not in texts(at)  # sensitive: not public
    at = go(as_role("researcher", {"ds": "wash"}), "protection")
    assert "Is a child in your household married?" in texts(at)


def test_a_created_dataset_without_a_country_question_says_the_map_has_no_places():
    at = go(as_role(None, {"ds": "wash"}), "map")
    assert not at.exception
    assert t("map.no_places", "en") in texts(at)  # nationalities alone draw no flow: it needs a country of interview
