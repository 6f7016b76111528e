"""Repeat groups are kept, summarised per respondent, and never dropped silently (issue 18): a repeat's
number of entries, its closed questions as the answers given in any entry, its numbers as the sum over the
entries, through nested repeats; text and dates are not summarised, and the report says so. A CSV export
(the main sheet only) leaves them out with a warning; an XLSX export without a repeat's sheet is refused
unless forced. Fixture: tests/unit/ingest_repeats.py."""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core.ingest import load, repeats
from core.ingest.kobo import Layout
from core.ingest.mapping import parse_mapping, propose
from core.ingest.problems import IngestError
from core.ingest.xlsform import REPEAT, read_form
from scripts import ingest as cli
from tests.unit.ingest_repeats import MODES, NEEDS, SEXES, XLSX, submissions, write_household

DATA = submissions()


def create(tmp_path, layout=XLSX, data=None, mapping_text=None, edit=None, **kwargs):
    form, export = write_household(tmp_path / "files", layout, data)
    if edit is not None:
        edit(export)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping_text or propose(read_form(form), "households"), encoding="utf-8")
    return load.prepare(form, export, mapping, dataset="households", data_dir=tmp_path / "data", create=True,
                        **kwargs)


def expected(data: dict) -> pd.DataFrame:
    """The summaries worked out from the submissions themselves, one row per respondent."""
    rows = []
    for members, incidents in zip(data["members"], data["incidents"]):
        trips = [trip for m in members for trip in m["trips"]]
        rows.append({
            "members": len(members), "trips": len(trips), "incidents": len(incidents),
            "member_sex": {m["member_sex"] for m in members if m["member_sex"]} or None,
            "age_2": sum(int(m["age"]) for m in members if m["age"]) if any(m["age"] for m in members) else None,
            "income": sum(float(m["income"]) for m in members if m["income"]) if any(m["income"] for m in members)
            else None,
            "member_needs": set().union(*[m["member_needs"].split() for m in members]) or None,
            "trip_mode": {x["trip_mode"] for x in trips if x["trip_mode"]} or None,
            "trip_days": sum(int(x["trip_days"]) for x in trips if x["trip_days"]) if any(x["trip_days"] for x in trips)
            else None,
            "reported": {x["reported"] for x in incidents if x["reported"]} or None,
        })
    return pd.DataFrame(rows)


def chosen(mask, codes: list[str]) -> set[str] | None:
    return None if pd.isna(mask) else {c for i, c in enumerate(codes) if int(mask) >> i & 1}


@pytest.fixture(scope="module")
def household(tmp_path_factory):
    return create(tmp_path_factory.mktemp("household"))


# --- the form ---------------------------------------------------------------------------------------

def test_the_form_keeps_its_repeats_nested_and_in_groups(tmp_path):
    form = read_form(write_household(tmp_path)[0])
    assert {k: (r.parent, [g.name for g in r.groups]) for k, r in form.repeats.items()} == {
        "members": ("", ["household"]), "trips": ("members", ["household", "members"]), "incidents": ("", [])}
    assert form.fields["members"].type == REPEAT and form.fields["members"].repeat == "members"
    assert form.fields["income"].repeat == "members" and form.fields["trip_days"].repeat == "trips"
    assert form.fields["hh_rooms"].repeat == "" and form.fields["sex"].in_main_sheet
    summaries = {name: repeats.summary_of(form.fields[name]) for name in
                 ("members", "member_sex", "member_needs", "income", "member_name", "birth", "hh_rooms")}
    assert summaries == {"members": "count", "member_sex": "any", "member_needs": "any", "income": "sum",
                         "member_name": None, "birth": None, "hh_rooms": None}


def test_the_proposal_summarises_repeats_and_says_what_it_leaves_out(tmp_path):
    form = read_form(write_household(tmp_path)[0])
    text = propose(form, "households")
    assert "  age: skip" not in text and "  age: {name: age_2, theme: household" in text  # no clash with `age`
    assert "# age:" in text  # a member's age is no respondent's age: the standard age is not guessed from it
    assert "  members: {theme: household, sensitive: false, public: false}   # repeat group: its number of entries" in text
    assert "  birth: skip   # in a repeat group: a date question is not summarised per respondent" in text
    assert "  income: {theme: household, sensitive: false, public: false}   # in a repeat group: the sum" in text
    assert "  incidents: {theme: incidents, sensitive: true, public: false}" in text


def test_a_mapping_cannot_take_a_standard_variable_or_a_date_from_a_repeat(tmp_path):
    form = read_form(write_household(tmp_path)[0])
    base = "dataset: households\nstandard: {respondent_id: _uuid, interview_date: today, gender: member_sex}\n"
    unmapped = parse_mapping(base.replace(", gender: member_sex", ""), form, dataset="households").fields["age"]
    assert unmapped.name == "age_2"  # a member's age, left unmapped, is renamed beside the standard `age`
    with pytest.raises(IngestError) as refused:
        parse_mapping(base + "fields: {birth: {theme: household}}\n", form, dataset="households")
    assert {p.key for p in refused.value.problems} == {"mapping_field_in_repeat", "mapping_repeat_type"}
    assert "inside the repeat group “members”" in " ".join(refused.value.messages("en"))


def test_variable_names_differing_only_in_case_clash(tmp_path):
    form = read_form(write_household(tmp_path)[0])
    with pytest.raises(IngestError) as refused:
        parse_mapping("dataset: households\nstandard: {respondent_id: _uuid, interview_date: today}\n"
                      "fields: {members: {}, income: {name: Members}}\n", form, dataset="households")
    assert [p.key for p in refused.value.problems] == ["mapping_name_clash"]


# --- the load ---------------------------------------------------------------------------------------

def test_each_respondent_gets_the_summaries_of_their_entries(household):
    frame, want = household.frame, expected(DATA)
    assert len(frame) == 60 and household.report.rejected == 0
    for name in ("members", "trips", "incidents"):  # counts: 0 when none, never missing
        assert frame[name].dtype == "Int64" and frame[name].tolist() == want[name].tolist(), name
    assert (frame["members"] == 0).any() and (frame["trips"] == 0).any()
    codes = {"member_sex": SEXES, "member_needs": NEEDS, "trip_mode": MODES, "reported": ["yes", "no"]}
    for name, choices in codes.items():
        assert [chosen(m, choices) for m in frame[name]] == want[name].tolist(), name
    for name in ("age_2", "trip_days"):  # integers summed: Int64, missing where no entry answered
        assert frame[name].dtype == "Int64"
        assert [None if pd.isna(x) else int(x) for x in frame[name]] == [
            None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x) for x in want[name]], name
    got = frame["income"].astype(float).to_numpy()
    assert np.allclose(got, want["income"].astype(float).to_numpy(), equal_nan=True)
    assert "member_name" not in frame and "birth" not in frame


def test_the_codebook_says_what_each_summary_holds(household):
    cb = {v["name"]: v for v in household.codebook["variables"]}
    assert cb["members"]["type"] == "number" and cb["members"]["label"]["en"] == "Number of “Household members” entries"
    assert cb["members"]["label"]["fr"] == "Nombre d’entrées «\u00a0Household members\u00a0»"
    assert "asked" not in cb["members"]
    assert cb["income"]["label"]["en"] == "Income last month (USD) (sum over the entries of “Household members”)"
    assert cb["trip_mode"]["type"] == "multiple" and [c["code"] for c in cb["trip_mode"]["choices"]] == MODES
    assert cb["trip_mode"]["label"]["es"] == "Means of transport (en alguna entrada «Trips»)"
    assert cb["trip_mode"]["asked"]["en"] == "Respondents with an answer in at least one entry of “Trips”"
    assert cb["incidents"]["sensitive"] and cb["reported"]["sensitive"]


def test_the_report_says_what_became_of_each_repeat(household):
    messages = [m for _, m in household.report.messages("en")]
    assert "form.xlsx, sheet “survey”, row 9: The repeat group “members” is kept as 5 variables per respondent: " \
           "members, member_sex, age_2, income, member_needs." in messages
    assert "form.xlsx, sheet “survey”, row 9: 2 questions of the repeat group “members” are not summarised per " \
           "respondent (only closed and number questions are): member_name, birth." in messages
    assert any(m.startswith("export.xlsx, sheet “trips”: ") and m.endswith("entries of the repeat group “trips” read.")
               for m in messages)


def test_a_labels_export_gives_the_same_summaries(household, tmp_path):
    got = create(tmp_path, Layout(format="xlsx", values="en", multiple="single"))
    pd.testing.assert_frame_equal(got.frame, household.frame)


def test_a_csv_export_leaves_the_repeats_out_and_says_so(household, tmp_path):
    got = create(tmp_path, Layout(format="csv"))
    assert not {"members", "trips", "income", "trip_mode"} & set(got.frame.columns)
    pd.testing.assert_frame_equal(got.frame, household.frame[list(got.frame.columns)])
    warnings = [m for level, m in got.report.messages("fr") if level == "warning" and "CSV" in m]
    assert len(warnings) == 3  # one per repeat group
    assert "Le groupe répété «\u00a0members\u00a0» n’est pas chargé (5 variables\u00a0: members, member_sex, " \
           "age_2, income, member_needs)\u00a0: un export CSV ne contient que la feuille principale." in warnings[0]


def _drop_sheet(title: str):
    def edit(export):
        book = openpyxl.load_workbook(export)
        del book[title]
        book.save(export)
    return edit


def test_an_xlsx_export_without_a_repeats_sheet_is_refused_unless_forced(tmp_path):
    with pytest.raises(IngestError) as refused:
        create(tmp_path, edit=_drop_sheet("trips"))
    assert [p.key for p in refused.value.problems] == ["repeat_sheet_missing"]
    assert "no sheet for the repeat group “trips” (its other sheets: members, incidents)" in str(refused.value)
    assert "repeat_sheet_missing" in load.FORCEABLE
    forced = create(tmp_path / "forced", edit=_drop_sheet("trips"), force=True)
    assert forced.frame["trips"].isna().all() and forced.frame["trip_mode"].isna().all()
    assert forced.frame["members"].notna().all()
    assert "repeat_sheet_forced" in [p.key for p in forced.report.problems if p.level == "warning"]


def test_a_nested_repeat_needs_its_parents_sheet_to_reach_the_respondent(tmp_path):
    mapping = propose(read_form(write_household(tmp_path / "form")[0]), "households")
    for name in ("members", "member_sex", "age", "income", "member_needs"):  # only the trips are kept
        mapping = "\n".join(line if not line.startswith(f"  {name}: ") else f"  {name}: skip"
                            for line in mapping.splitlines()) + "\n"
    got = create(tmp_path, mapping_text=mapping)
    assert got.frame["trips"].tolist() == expected(DATA)["trips"].tolist()
    with pytest.raises(IngestError) as refused:
        create(tmp_path / "cut", mapping_text=mapping, edit=_drop_sheet("members"))
    assert "the repeat group “members”" in str(refused.value)


def _edit_cells(title: str, header: str, change):
    def edit(export):
        book = openpyxl.load_workbook(export)
        ws = book[title]
        column = [c.value for c in ws[1]].index(header) + 1
        for row in range(2, ws.max_row + 1):
            ws.cell(row, column).value = change(row, ws.cell(row, column).value)
        book.save(export)
    return edit


def test_entries_that_link_to_no_respondent_are_left_out_with_their_rows_named(tmp_path):
    got = create(tmp_path, edit=_edit_cells("incidents", "_parent_index", lambda row, v: 999 if row == 2 else v))
    orphan = next(p for p in got.report.problems if p.key == "repeat_orphans")
    assert (orphan.level, orphan.sheet, orphan.row, orphan.column) == ("warning", "incidents", 2, "_parent_index")
    assert int(got.frame["incidents"].sum()) == sum(map(len, DATA["incidents"])) - 1


def test_a_repeat_sheet_without_its_link_column_is_refused(tmp_path):
    def edit(export):
        book = openpyxl.load_workbook(export)
        book["incidents"].delete_cols([c.value for c in book["incidents"][1]].index("_parent_index") + 1)
        book.save(export)

    with pytest.raises(IngestError) as refused:
        create(tmp_path, edit=edit, force=True)
    assert [(p.key, p.sheet) for p in refused.value.problems] == [("repeat_link_missing", "incidents")]


def test_a_bad_value_in_an_entry_is_placed_and_rejects_its_respondent(tmp_path):
    edit = _edit_cells("members", "household/members/income", lambda row, v: "lots" if row == 3 else v)
    with pytest.raises(IngestError) as refused:
        create(tmp_path, edit=edit)
    (problem,) = refused.value.problems
    assert (problem.key, problem.sheet, problem.row, problem.column) == (
        "number_invalid", "members", 3, "household/members/income")
    got = create(tmp_path / "skip", edit=edit, skip_invalid=True)
    assert got.report.rejected == 1 and len(got.frame) == 59


def test_long_repeat_names_are_found_on_kobos_shortened_sheets():
    name = "household_members_and_their_documents"
    assert repeats.kobo_sheet_name(name) == "household_members_and_their_..." == name[:28] + "..."
    assert repeats.find_sheet(name, ["Main", name[:28] + "..."]) == name[:28] + "..."
    assert repeats.find_sheet("a:b", ["Main", "A_B"]) == "A_B" and repeats.find_sheet("x", ["Main"]) is None


def test_create_from_the_command_line_keeps_the_repeats(capsys, tmp_path):
    form, export = write_household(tmp_path / "files")
    code = cli.main(["--data-dir", str(tmp_path / "data"), "create", "households", str(form), str(export)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "The repeat group “trips” is kept as 3 variables per respondent: trips, trip_mode, trip_days." in out
    from core.data import versions
    from core.data.codebook import read_codebook

    version = versions.current_version(tmp_path / "data", "households")
    folder = tmp_path / "data" / "households" / "versions" / version
    codebook = read_codebook(folder / "codebook.yaml", "households")
    assert codebook["trips"].type == "number" and codebook["trip_mode"].type == "multiple"
    frame = pd.read_parquet(folder / "data.parquet")
    assert frame["members"].tolist() == expected(DATA)["members"].tolist()


def test_pyxforms_loop_over_a_list_is_a_group_per_choice_of_the_main_sheet():
    """`begin loop over LIST` (pyxform's real test form loop.xlsx) is no repeat: pyxform writes it out as a
    group per choice, whose answers are columns of the main sheet."""
    from tests.unit.ingest_corpus import REAL

    form = read_form(REAL / "pyxform" / "loop.xlsx")
    assert not form.repeats
    assert form.fields["available_toilet_types"].type == "select_multiple"  # "select all that apply from"
    loop = [f for f in form.fields.values() if f.column_name == "number"]
    assert [[g.name for g in f.groups] for f in loop] == [
        ["loop_toilet_types", c] for c in ("pit_latrine_with_slab", "open_pit_latrine", "bucket_system")]
    assert loop[2].labels["en"] == "How many Bucket system are on the premises?"
    assert all(f.in_main_sheet for f in loop)
