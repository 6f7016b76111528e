"""Real forms written by others, created as datasets (tests/fixtures/real): every page of each opens in
the public and researcher tiers with no error, and the public tier shows no respondent's id and no
question that is not public (issue 18)."""

from __future__ import annotations

import pandas as pd
import pytest

from core import settings
from core.data import engine
from core.data.engine import load_codebook
from core.ingest import load
from core.ingest.mapping import propose
from core.ingest.xlsform import read_form
from tests.app.conftest import as_role, go, open_tables, pages
from tests.unit.ingest_corpus import corpus

# one form of each source, and the largest of pyxform's
SHOWN = ("c_unhcr_mena", "c_formpack_grouped_translated", "c_formpack_long_unicode_labels", "c_xlsform_spec_test",
         "c_ucl_biomass_plot_form")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus_pages")
    directory = tmp / "data"
    directory.mkdir()
    for name in settings.DATASETS:
        engine.dataset_path(directory, name).symlink_to(engine.dataset_path(settings.GENERATED_DIR, name))
    ids = {}
    for name, form, export in corpus(tmp, only=SHOWN):
        mapping = tmp / f"{name}.yaml"
        mapping.write_text(propose(read_form(form), name), encoding="utf-8")
        load.load(form, export, mapping, dataset=name, data_dir=directory, create=True)
        frame = pd.read_parquet(next((directory / name / "versions").glob("v*/data.parquet")))
        ids[name] = set(frame["respondent_id"])
    assert set(ids) == set(SHOWN)
    return directory, ids


@pytest.fixture(scope="module")
def corpus_engine(built):
    """One engine over the corpus's data directory for the module: it loads each dataset once, as a
    server would, instead of once per test."""
    return engine.Engine(built[0])


@pytest.fixture(autouse=True)
def data_dir(built, corpus_engine, monkeypatch):
    monkeypatch.setattr(settings, "GENERATED_DIR", built[0])
    engine.set_engine(corpus_engine)  # tests/app/conftest.py puts the shared engine back afterwards
    yield built[0]


def _shown_cells(at) -> set[str]:
    cells = set()
    for frame in at.dataframe:
        value = frame.value
        if isinstance(value, pd.DataFrame):
            cells |= {str(v) for v in value.to_numpy().ravel()}
    return cells


@pytest.mark.parametrize("role", [None, "researcher"])
@pytest.mark.parametrize("dataset", SHOWN)
def test_every_page_of_a_real_form_opens(built, dataset, role):
    at = as_role(role, {"ds": dataset})
    visited = pages(at)
    codebook = load_codebook(dataset)
    assert {th.id for th in codebook.themes} <= set(visited)
    for page in visited:
        go(at, page)
        assert not at.exception, (dataset, page, at.exception)
        if page != "stories":  # the built-in stories are written for the built-in data
            assert not at.error, (dataset, page, [e.value for e in at.error])
        if role is None:
            open_tables(at)  # the tables under the charts are drawn once opened
            assert not at.exception, (dataset, page, at.exception)
            assert not (_shown_cells(at) & built[1][dataset]), (dataset, page)  # no respondent's id (rule 9)
            hidden = {v.label("en") for v in codebook.variables.values() if not v.public}
            assert not {s.value for s in at.subheader} & hidden, (dataset, page)
