"""Property-based and fuzz tests over malformed files (hypothesis, a bounded number of examples): whatever
the bytes, a load either succeeds or is refused with messages in every language, never crashes, and a
refused load leaves the data in use exactly as they were."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ingest import load
from core.ingest.problems import IngestError
from tests.unit.ingest_support import DEFAULT_EXPORT, FORM, KOBO, MAPPING, fingerprint

FUZZ = settings(max_examples=int(os.environ.get("PORTAL_FUZZ_EXAMPLES", 25)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
SINGLE = KOBO / "export_xml_single.csv"



class Attempt:
    """Check files against a data directory holding the first round (`prepare`: what `load` does before it
    writes anything; writing is tested in test_ingest_versions.py) and check the outcome."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.before = fingerprint(data_dir)

    def __call__(self, form: Path = FORM, export: Path = DEFAULT_EXPORT, mapping: Path = MAPPING, **kwargs):
        try:
            return load.prepare(form, export, mapping, dataset="core", data_dir=self.data_dir, **kwargs)
        except IngestError as e:
            for lang in ("en", "fr", "es"):
                messages = e.messages(lang)
                assert messages and all(m.strip() for m in messages)
            assert all(p.file for p in e.problems), "every problem names its file"
            return None
        finally:
            assert fingerprint(self.data_dir) == self.before, "the data in use changed"


@pytest.fixture
def attempt(first_round, tmp_path):
    return Attempt(Path(shutil.copytree(first_round, tmp_path / "data")))


def mutate(data: bytes, edits: list[tuple[int, int]], cut: float | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    if cut is not None:
        out = out[: max(1, int(len(out) * cut))]
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8)
CUT = st.none() | st.floats(0.01, 0.99)


@FUZZ
@given(edits=EDITS, cut=CUT, source=st.sampled_from([SINGLE, KOBO / "export_xml_separate_semicolon.csv",
                                                      KOBO / "export_labels_es_single.csv"]))
def test_mangled_csv_bytes(attempt, tmp_path, edits, cut, source):
    path = tmp_path / "export.csv"
    path.write_bytes(mutate(source.read_bytes(), edits, cut))
    attempt(export=path)


@FUZZ
@given(edits=EDITS, cut=CUT, which=st.sampled_from(["export", "form"]))
def test_mangled_workbook_bytes(attempt, tmp_path, edits, cut, which):
    source = DEFAULT_EXPORT if which == "export" else FORM
    path = tmp_path / f"{which}.xlsx"
    path.write_bytes(mutate(source.read_bytes(), edits, cut))
    attempt(**{which: path})


CELL = st.one_of(
    st.sampled_from(["", "NA", "n/a", "=cmd|' /C calc'!A0", "+1", "-", "@x", "0", "1", "yes", "man", "R-0001",
                     "2024-02-30", "2024-03-01", "1e9", "nan", "ça", "\u202e", "\x00", "a\nb", '"', ";", "\t"]),
    st.text(max_size=12),
)


@FUZZ
@given(cells=st.lists(st.lists(CELL, min_size=1, max_size=30), min_size=1, max_size=12),
       keep_header=st.booleans(), delimiter=st.sampled_from([",", ";", "\t"]))
def test_random_cells_under_a_real_header(attempt, tmp_path, cells, keep_header, delimiter):
    header = next(csv.reader(io.StringIO(SINGLE.read_text(encoding="utf-8"))))
    rows = [header if keep_header else [c[:5] for c in header[: len(cells[0])]]]
    rows += [(row + [""] * len(header))[: len(rows[0])] for row in cells]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path = tmp_path / "export.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8", errors="replace"))
    attempt(export=path)


YAML_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.sampled_from(["core", "skip", "NA", "gender", "country",
                                                                        "profiles", "", "2024-01-01"]) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10)


@FUZZ
@given(path=st.lists(st.sampled_from(["standard", "fields", "regions", "themes", "period", "age_bands", "title",
                                      "gender", "needs", "age", "north_africa", "countries", "label", "en", "theme",
                                      "sensitive", "type", "dataset"]), min_size=1, max_size=3),
       value=YAML_VALUE)
def test_mappings_with_odd_values(attempt, tmp_path, path, value):
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    node = mapping
    for key in path[:-1]:
        if not isinstance(node.get(key) if isinstance(node, dict) else None, dict):
            if isinstance(node, dict):
                node[key] = {}
            else:
                break
        node = node[key]
    if isinstance(node, dict):
        node[path[-1]] = value
    out = tmp_path / "mapping.yaml"
    out.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    attempt(export=SINGLE, mapping=out)


@FUZZ
@given(sheet=st.sampled_from(["survey", "choices", "settings"]), row=st.integers(0, 60), column=st.integers(0, 6),
       value=st.one_of(CELL, st.sampled_from(["begin_group", "end_group", "begin_repeat", "select_one",
                                              "select_multiple nowhere", "select_one gender or_other", "integer",
                                              "name with space", "_other", "label::Klingon (tlh)"])))
def test_forms_with_odd_cells(attempt, tmp_path, sheet, row, column, value):
    import openpyxl

    book = openpyxl.load_workbook(FORM)
    ws = book[sheet]
    cell = ws.cell(row=1 + row % ws.max_row, column=1 + column % ws.max_column)
    cell.value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", value) or None  # what a workbook can hold
    path = tmp_path / "form.xlsx"
    book.save(path)
    attempt(form=path, export=SINGLE)
