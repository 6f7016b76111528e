"""The round trip: the synthetic core data written as a Kobo export with the form and mapping of their
codebook, loaded again, give the same tables, public (perturbed: the same record keys) and exact."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from core import query
from core.data import engine as engine_module
from core.data import synthetic
from core.data.codebook import builtin_codebook
from core.data.engine import Engine, dataset_path
from core.data.store import write_dataset
from core.disclosure import TableRefused
from core.ingest import load
from core.ingest.kobo import Layout, write_sample

N = 4000


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """(engine on the synthetic rows, engine on the same rows after a Kobo round trip)."""
    frame = synthetic.generate("core", n=N, seed=77)
    original = tmp_path_factory.mktemp("original")
    write_dataset(frame, dataset_path(original, "core"), synthetic=True, provenance={"test": "roundtrip"})
    files = write_sample(tmp_path_factory.mktemp("kobo"), builtin_codebook("core"), frame, Layout())
    loaded = tmp_path_factory.mktemp("loaded")
    report = load.load(*files, dataset="core", data_dir=loaded)
    assert (report.total, report.rejected) == (N, 0)
    return Engine(original), Engine(loaded)


def same(engines, fn, *args, **kwargs):
    results = []
    for engine in engines:
        previous = engine_module.get_engine()
        engine_module.set_engine(engine)
        try:
            results.append(fn("core", *args, **kwargs))
        except TableRefused as e:
            results.append(("refused", e.rule, e.reason))
        finally:
            engine_module.set_engine(previous)
    if isinstance(results[0], pd.DataFrame):
        # in the same order (summary() leaves the order of its groups to DuckDB's threads)
        a, b = (r.loc[r.astype(str).sort_values(list(r.columns)).index].reset_index(drop=True) for r in results)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_categorical=False)
    else:
        assert results[0] == results[1]
    return results[0]


def test_the_codebook_comes_back(engines):
    original, loaded = (e.dataset("core").codebook for e in engines)
    assert list(loaded.variables) == [v for v in original.variables]  # a group per theme, in codebook order
    for name, var in original.variables.items():
        got = loaded[name]
        assert (got.type, got.theme, got.sensitive, got.public, got.codes) == \
               (var.type, var.theme, var.sensitive, var.public, var.codes), name
        assert got.labels == var.labels and [c.labels for c in got.choices] == [c.labels for c in var.choices]
    assert (loaded.period_start, loaded.period_end) == (original.period_start, original.period_end)
    assert not engines[1].dataset("core").synthetic


def test_the_rows_come_back(engines):
    original, loaded = (e.query(f"SELECT * EXCLUDE (_rkey), _rkey FROM {engine_module.ident(e.dataset('core').table)} "
                                "ORDER BY respondent_id") for e in engines)
    pd.testing.assert_frame_equal(original, loaded, check_dtype=False, check_categorical=False)


PAIRS = [(["nationality"], ["gender"]), (["region_of_interview"], ["age_band"]), (["drivers"], ["gender"]),
         (["incident_types"], []), (["interview_quarter"], ["used_smuggler"]), (["needs"], ["region_of_interview"])]


@pytest.mark.parametrize("tier", ["public", "researcher"])
@pytest.mark.parametrize("rows, columns", PAIRS)
def test_the_same_crosstabs(engines, rows, columns, tier):
    same(engines, query.crosstab, rows, columns, tier=tier)
    same(engines, query.crosstab, rows, columns, filters={"gender": ["woman"]}, tier=tier)


@pytest.mark.parametrize("variable", ["used_smuggler", "transport_modes", "country_of_interview"])
def test_the_same_shares_and_summaries(engines, variable):
    same(engines, query.shares, variable, by=["gender"])
    same(engines, query.summary, "amount_paid_usd", by=["region_of_interview"])
    same(engines, query.total, {"age_band": ["18_24", "25_34"]})


def test_every_layout_of_a_sample_gives_the_same_rows(tmp_path):
    frame = synthetic.generate("core", n=300, seed=5)
    codebook = builtin_codebook("core")
    frames = []
    for i, layout in enumerate(itertools.islice([Layout(), Layout(values="fr", multiple="separate", groups=False),
                                                 Layout(values="es", multiple="single", format="xlsx", hxl=True),
                                                 Layout(multiple="single", delimiter=";")], 4)):
        files = write_sample(tmp_path / str(i), codebook, frame, layout)
        frames.append(load.prepare(*files, dataset="core", data_dir=tmp_path / f"d{i}").frame)
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)
