"""core.query.extract and the export formats it adds to core.query.export: microdata files that read back with
pandas as the same rows (CSV, Parquet, Excel, Stata with its value labels), each with the data
dictionary of its columns in the chosen language; Excel's row limit refused; every download in the
audit log; sorting and paging of core.query.microdata on the server."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.auth.audit import AuditLog
from core.data.engine import load_codebook
from core.query import export, extract, microdata, total

COLUMNS = ("respondent_id", "interview_date", "gender", "age", "nationality", "interview_town", "drivers")
FILTERS = {"gender": ["woman"], "region_of_interview": ["north_africa"]}


def request(**changes) -> extract.Request:
    return extract.Request(**{"dataset": "core", "columns": COLUMNS, "filters": FILTERS, "fmt": "csv", "lang": "en",
                              "labels": False, "layout": "binary", "header": (("Dataset", "Core"),), **changes})


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return microdata("core", list(COLUMNS), filters=FILTERS, tier="researcher")


STEM = "4mi-core_microdata_r1"  # export.file_name, release "r1"


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_csv_download_is_a_plain_table_of_the_same_rows_with_its_dictionary(rows):
    files = unzip(extract.make_file(request(), rows, "r1"))
    assert list(files) == [f"{STEM}.csv", f"{STEM}_dictionary.csv"]
    back = pd.read_csv(io.BytesIO(files[f"{STEM}.csv"]), encoding="utf-8-sig", dtype={"age": "Int64"})
    assert list(back["respondent_id"]) == list(rows["respondent_id"])
    assert (back["gender"] == "woman").all()
    assert list(back["age"]) == list(rows["age"])
    options = load_codebook("core")["drivers"].codes
    assert [c for c in back.columns if c.startswith("drivers/")] == [f"drivers/{c}" for c in options]
    chose = [c is not None and options[0] in c for c in rows["drivers"]]
    assert list(back[f"drivers/{options[0]}"].fillna(-1) == 1) == chose
    dictionary = files[f"{STEM}_dictionary.csv"].decode("utf-8-sig")
    assert dictionary.startswith("Dataset,Core\r\nRows," + str(len(rows)))
    assert "woman = Woman" in dictionary and "Date of interview" in dictionary


def test_labels_in_the_chosen_language_and_the_codes_layout(rows):
    files = unzip(extract.make_file(request(lang="fr", labels=True, layout="codes"), rows, "r1"))
    back = pd.read_csv(io.BytesIO(files[f"{STEM}.csv"]), encoding="utf-8-sig")
    assert (back["gender"] == "Femme").all()
    assert "drivers" in back.columns and not any(c.startswith("drivers/") for c in back.columns)
    var = load_codebook("core")["drivers"]
    first = next(i for i, c in enumerate(rows["drivers"]) if c)
    assert back["drivers"][first] == "; ".join(var.choice_label(c, "fr") for c in rows["drivers"][first])
    assert f"{STEM}_dictionnaire.csv" in files
    assert "Question,Type,Thème" in files[f"{STEM}_dictionnaire.csv"].decode("utf-8-sig")
    codes = extract.for_file(rows, load_codebook("core"), "fr", False, "codes")
    assert codes["drivers"][first] == " ".join(rows["drivers"][first])  # as KoBoToolbox exports them


def test_a_stata_file_reads_back_with_its_value_and_variable_labels(rows):
    files = unzip(extract.make_file(request(fmt="dta", lang="es"), rows, "r1"))
    with pd.io.stata.StataReader(io.BytesIO(files[f"{STEM}.dta"])) as reader:
        labelled = reader.read()
        value_labels = reader.value_labels()
        variable_labels = reader.variable_labels()
    coded = pd.read_stata(io.BytesIO(files[f"{STEM}.dta"]), convert_categoricals=False)
    book = load_codebook("core")
    assert list(labelled["respondent_id"]) == list(rows["respondent_id"])
    assert (labelled["gender"] == book["gender"].choice_label("woman", "es")).all()
    assert (coded["gender"] == book["gender"].codes.index("woman") + 1).all()
    assert value_labels["gender"] == {i: c.label("es") for i, c in enumerate(book["gender"].choices, start=1)}
    assert variable_labels["gender"] == book["gender"].label("es")
    assert list(labelled["nationality"]) == [book["nationality"].choice_label(c, "es") for c in rows["nationality"]]
    assert list(labelled["interview_date"].dt.date) == list(rows["interview_date"].dt.date)
    assert list(coded["age"]) == list(rows["age"].astype(float))
    # multiple choice: name_1, name_2... as 0/1, the option in the variable label, missing when not asked
    n = len(book["drivers"].codes)
    assert [c for c in coded.columns if c.startswith("drivers_")] == [f"drivers_{i}" for i in range(1, n + 1)]
    assert variable_labels["drivers_1"].endswith(book["drivers"].choice_label(book["drivers"].codes[0], "es"))
    asked = rows["drivers"].notna().to_numpy()
    assert coded["drivers_1"][~asked].isna().all()
    assert set(coded["drivers_1"][asked]) <= {0, 1}
    assert f"{STEM}_diccionario.csv" in files


def test_stata_refuses_names_it_cannot_hold():
    with pytest.raises(ValueError, match="Stata"):
        export.to_stata(pd.DataFrame({"drivers/economic": [1]}))
    with pytest.raises(ValueError, match="Stata"):
        export.to_stata(pd.DataFrame({"x" * 33: [1]}))


def test_a_parquet_file_keeps_types_and_its_header(rows):
    import pyarrow.parquet as pq

    files = unzip(extract.make_file(request(fmt="parquet"), rows, "r1"))
    table = pq.read_table(io.BytesIO(files[f"{STEM}.parquet"]))
    back = table.to_pandas()
    assert list(back["respondent_id"]) == list(rows["respondent_id"])
    assert pd.api.types.is_datetime64_any_dtype(back["interview_date"])
    assert b"Core" in table.schema.metadata[b"portal.header"]


def test_an_excel_download_has_a_data_sheet_and_a_dictionary_sheet(rows):
    data = extract.make_file(request(fmt="xlsx", labels=True, lang="fr"), rows.head(200), "r1")
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert list(sheets) == ["données", "dictionnaire"]
    assert list(sheets["données"]["respondent_id"]) == list(rows.head(200)["respondent_id"])
    assert (sheets["données"]["gender"] == "Femme").all()


def test_excel_refuses_more_rows_than_a_worksheet_holds():
    limit = export.EXCEL_MAX_ROWS
    fits = pd.DataFrame({"a": np.zeros(limit - 1, dtype=np.int8)})
    assert export.excel_rows(fits) == limit
    too_many = pd.DataFrame({"a": np.zeros(limit, dtype=np.int8)})
    with pytest.raises(export.TooManyRows) as refused:
        export.to_excel(too_many)
    assert refused.value.rows == limit and refused.value.limit == limit - 1
    with pytest.raises(export.TooManyRows):  # the header block counts
        export.to_excel(fits, [("Dataset", "Core")])


def test_text_cells_are_neutralised_in_csv_but_kept_in_parquet():
    rows = pd.DataFrame({"respondent_id": ["=1+1", "CORE-2"]})
    book = load_codebook("core")
    data = unzip(extract.make_file(request(columns=("respondent_id",)), rows, "r1"))
    assert "'=1+1" in data[f"{STEM}.csv"].decode("utf-8-sig")
    parquet = unzip(extract.make_file(request(columns=("respondent_id",), fmt="parquet"), rows, "r1"))
    assert pd.read_parquet(io.BytesIO(parquet[f"{STEM}.parquet"]))["respondent_id"][0] == "=1+1"
    assert book["respondent_id"].type == "id"


def test_the_dictionary_lists_every_column_of_the_file(rows):
    book = load_codebook("core")
    for layout in extract.LAYOUTS:
        table = extract.for_file(rows, book, "en", False, layout)
        dictionary = extract.dictionary(rows, book, "en", layout, labels=False)
        assert list(dictionary["Column"]) == list(table.columns)
    stata, _, _ = extract.for_stata(rows, book, "en", "binary")
    assert list(extract.dictionary(rows, book, "en", "binary", labels=False, stata=True)["Column"]) == list(stata.columns)


def test_a_download_is_written_to_the_audit_log(tmp_path, rows):
    log = AuditLog(tmp_path / "audit.sqlite3")
    data = extract.download(request(fmt="dta"), username="alice", role="researcher", release="r1", audit=log)
    assert data
    found = log.entries()
    assert len(found) == 1
    e = found.iloc[0]
    assert (e.username, e.role, e.action, e.dataset, e.format, e.rows) == (
        "alice", "researcher", "download", "core", "dta", total("core", FILTERS, tier="researcher"))
    assert e.filters == FILTERS and e.columns == list(COLUMNS)


def test_the_public_tier_cannot_download(tmp_path):
    log = AuditLog(tmp_path / "audit.sqlite3")
    with pytest.raises(PermissionError):
        extract.download(request(), username="x", role="public", release="r1", audit=log)
    assert log.entries().empty


def test_the_column_search_looks_in_questions_and_answers():
    book = load_codebook("core")
    everything = extract.choosable(book, "en")
    assert sum(len(v) for v in everything.values()) == len(book.variables) - 1  # all but the id
    assert list(everything) == [th.id for th in book.themes if th.id in everything]
    found = extract.choosable(book, "fr", "econom")  # "Raisons économiques", accents ignored
    assert "drivers" in found.get("drivers", [])
    assert extract.choosable(book, "en", "no such words at all") == {}


def test_microdata_pages_and_sorts_on_the_server():
    whole = microdata("core", ["age"], filters=FILTERS)
    page = microdata("core", ["age"], filters=FILTERS, limit=50, offset=100, sort="age", descending=True)
    expected = whole.sort_values(["age", "respondent_id"], ascending=[False, True], na_position="last",
                                 kind="stable").iloc[100:150]
    assert list(page["respondent_id"]) == list(expected["respondent_id"])
    assert list(microdata("core", ["age"], filters=FILTERS, limit=5)["respondent_id"]) == \
        list(whole["respondent_id"][:5])
    with pytest.raises(ValueError):
        microdata("core", ["drivers"], sort="drivers", limit=5)
    with pytest.raises(KeyError):
        microdata("core", ["age"], sort="no_such_variable", limit=5)
    with pytest.raises(PermissionError):
        microdata("core", ["age"], tier="public", sort="age", limit=5)
