"""The corpus of real forms written by others (tests/fixtures/real; sources and licences in
tests/fixtures/README.md): every form pyxform accepts is accepted, and each becomes a new dataset from the
proposed mapping as it stands, with an export in one of Kobo's layouts, nothing lost (issue 18)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from core.data import versions
from core.data.codebook import read_codebook
from core.ingest import load
from core.ingest.mapping import propose
from core.ingest.problems import IngestError
from core.ingest.xlsform import read_form
from tests.unit.ingest_corpus import PYXFORM, PYXFORM_REFUSES, corpus

SLOW_FOR_PYXFORM = {"UCL_Biomass_Plot_Form.xlsx"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every corpus form created as a dataset of its own in one data directory."""
    tmp = tmp_path_factory.mktemp("corpus")
    out = {}
    for name, form, export in corpus(tmp):
        mapping = tmp / f"{name}.yaml"
        mapping.write_text(propose(read_form(form), name), encoding="utf-8")
        out[name] = (form, export, load.load(form, export, mapping, dataset=name, data_dir=tmp / "data", create=True))
    return tmp / "data", out


@pytest.mark.parametrize("path", PYXFORM, ids=lambda p: p.name)
def test_every_form_pyxform_accepts_is_accepted(path):
    from pyxform.xls2xform import convert

    if path.name in SLOW_FOR_PYXFORM:  # pyxform 4.5.0 takes a minute and a half on it, and accepts it
        accepted_by_pyxform = True
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                convert(xlsform=str(path), validate=False)
                accepted_by_pyxform = True
            except Exception:  # noqa: BLE001 - pyxform's own errors are of several classes
                accepted_by_pyxform = False
    assert accepted_by_pyxform == (path.name not in PYXFORM_REFUSES)
    try:
        form = read_form(path)
    except IngestError:
        assert not accepted_by_pyxform, path.name  # a refusal, with its place, is fine where pyxform refuses
        return
    assert propose(form, "corpus_form").startswith("# Mapping")


def test_the_corpus_covers_pyxform_formpack_and_unhcr(loaded):
    _, out = loaded
    assert len([n for n in out if n.startswith("c_formpack_")]) == 5
    assert "c_unhcr_mena" in out
    assert len(out) >= 25


def test_each_form_of_the_corpus_becomes_a_dataset_with_nothing_lost(loaded):
    data_dir, out = loaded
    assert set(versions.created(data_dir)) == set(out)
    for name, (_, _, report) in out.items():
        assert report.created and report.rows_read == report.added == report.total == 120, name
        assert not [p for p in report.problems if p.key.startswith("column_missing")], name
        folder = data_dir / name / "versions" / report.version
        codebook = read_codebook(folder / "codebook.yaml", name)
        frame = pd.read_parquet(folder / "data.parquet")
        for var in codebook.variables.values():
            assert frame[var.name].notna().any(), (name, var.name)  # every loaded question has answers
        assert frame["respondent_id"].is_unique


def test_the_real_submissions_of_kobotoolbox_are_kept(loaded):
    data_dir, out = loaded
    _, _, report = out["c_formpack_grouped_translated"]
    frame = pd.read_parquet(data_dir / "c_formpack_grouped_translated" / "versions" / report.version / "data.parquet")
    assert "6d1b903a-6d50-4504-bd7b-76c1a5098ed9" in set(frame["respondent_id"])
    codebook = read_codebook(data_dir / "c_formpack_grouped_translated" / "versions" / report.version /
                             "codebook.yaml", "c_formpack_grouped_translated")
    fluid = codebook["Do_you_have_body_flu_intracellular_space"]
    assert fluid.choice_label("yes__and_some_", "es") == "Sí, y algún espacio extracelular"
    assert fluid.choice_label("yes__and_some_", "en") == "Yes, and some extracellular space"


def test_the_real_nested_repeats_of_kobotoolbox_are_counted_per_respondent(loaded):
    """formpack's bird-nest survey: trees, their nests and the nests' eggs, three repeat groups deep."""
    data_dir, out = loaded
    name = "c_formpack_nested_grouped_repeatable"
    folder = data_dir / name / "versions" / out[name][2].version
    frame = pd.read_parquet(folder / "data.parquet").set_index("respondent_id")
    first = frame.loc["f16d9a3f-0892-413e-81d4-758ab188ea0b"]
    assert (first["group_tree"], first["group_nest"], first["group_egg"]) == (2, 3, 6)
    assert first["How_many_eggs_are_in_the_nest"] == 6  # 3 + 1 + 2, summed over the nests
    second = frame.loc["790af158-7b24-4651-b584-27bf65b9e397"]
    assert (second["group_tree"], second["group_nest"], second["group_egg"]) == (1, 1, 1)
    codebook = read_codebook(folder / "codebook.yaml", name)
    trees = codebook["What_kind_of_tree_is_this"]
    assert trees.type == "multiple" and {c.code for c in trees.choices} == {"pine", "oak", "maple", "spruce"}
    assert first["What_kind_of_tree_is_this"] == sum(1 << trees.codes.index(c) for c in ("pine", "spruce"))
    assert codebook["group_egg"].label("en") == "Number of “For each egg” entries"


def test_the_unhcr_form_recodes_its_nationalities(loaded):
    data_dir, out = loaded
    _, _, report = out["c_unhcr_mena"]
    codebook = read_codebook(data_dir / "c_unhcr_mena" / "versions" / report.version / "codebook.yaml", "c_unhcr_mena")
    nationality = codebook["nationality"]
    assert nationality.type == "country" and nationality.choice_label("SYR", "en") == "Syria"
    assert {c.code for c in nationality.choices} == {"stateless", "other", "NoAnswer"}
