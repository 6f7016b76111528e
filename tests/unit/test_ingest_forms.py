"""Valid XLSForms are accepted (issue 18), new datasets are made from them, and the proposed mapping is
conservative: what it proposes and what the loads make of it."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from core.data import versions
from core.data.codebook import read_codebook
from core.ingest import load
from core.ingest.kobo import write_xlsform
from core.ingest.mapping import guess_country, propose
from core.ingest.problems import IngestError
from core.ingest.xlsform import read_form
from tests.unit.ingest_created import write_survey


def form(tmp_path, survey, choices=(), settings_row=None, name="form.xlsx"):
    return read_form(write_xlsform(tmp_path / name, survey, list(choices), settings_row or {"form_id": "f"}))


def proposal(f, dataset="new_survey") -> dict:
    return yaml.safe_load(propose(f, dataset))


YN = [{"list_name": "yn", "name": "yes", "label": "Yes"}, {"list_name": "yn", "name": "no", "label": "No"}]


# --- forms pyxform accepts ------------------------------------------------------------------------

def test_the_same_name_in_two_groups_is_two_fields(tmp_path):
    f = form(tmp_path, [
        {"type": "begin_group", "name": "a"}, {"type": "select_one yn", "name": "consent", "label": "A"},
        {"type": "end_group"},
        {"type": "begin_group", "name": "b"}, {"type": "select_one yn", "name": "consent", "label": "B"},
        {"type": "end_group"}], YN)
    assert list(f.fields) == ["consent", "b_consent"]
    assert f.fields["b_consent"].column_name == "consent" and f.fields["b_consent"].groups[0].name == "b"


def test_the_same_name_twice_in_one_group_is_still_refused(tmp_path):
    with pytest.raises(IngestError) as e:
        form(tmp_path, [{"type": "select_one yn", "name": "q", "label": "A"},
                        {"type": "select_one yn", "name": "q", "label": "B"}], YN)
    assert e.value.problems[0].key == "field_duplicate"


def test_cascading_selects_with_allow_choice_duplicates(tmp_path):
    choices = [{"list_name": "city", "name": "north", "label": "North", "country": "a"},
               {"list_name": "city", "name": "north", "label": "North", "country": "b"},
               {"list_name": "city", "name": "south", "label": "South", "country": "b"}]
    survey = [{"type": "select_one city", "name": "city", "label": "City", "choice_filter": "country=${c}"}]
    f = form(tmp_path, survey, choices, {"form_id": "f", "allow_choice_duplicates": "yes"})
    assert [c.name for c in f.lists["city"]] == ["north", "south"]
    with pytest.raises(IngestError) as e:
        form(tmp_path, survey, choices, name="strict.xlsx")
    assert e.value.problems[0].key == "choice_duplicate"


def test_the_older_list_name_header(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["select one yn", "q", "Question"])
    choices = book.create_sheet("choices")
    choices.append(["list name", "name", "label"])
    choices.append(["yn", "yes", "Yes"])
    choices.append(["yn", "no", "No"])
    book.save(tmp_path / "old.xlsx")
    f = read_form(tmp_path / "old.xlsx")
    assert [c.name for c in f.choices(f.fields["q"])] == ["yes", "no"]


# --- the proposal ----------------------------------------------------------------------------------

def test_the_interview_date_is_never_an_arrival_or_return_date(tmp_path):
    f = form(tmp_path, [{"type": "start", "name": "start"}, {"type": "today", "name": "today"},
                        {"type": "date", "name": "arrival_date", "label": "When did you arrive?"},
                        {"type": "date", "name": "return_date", "label": "When did you return?"}])
    assert proposal(f)["standard"]["interview_date"] == "today"
    f = form(tmp_path, [{"type": "date", "name": "arrival_date", "label": "When did you arrive?"}], name="b.xlsx")
    assert proposal(f)["standard"]["interview_date"] == "_submission_time"
    assert proposal(f)["standard"]["respondent_id"] == "_uuid"
    assert proposal(f)["fields"]["arrival_date"]["public"] is False


@pytest.mark.parametrize("name, label", [
    ("child_married", "Is any child under 18 in the household married?"),
    ("child_labour", "Do children in the household work to earn money?"),
    ("exp_violence", "Have you experienced violence?"),
    ("detained", "Were you held in detention?"),
    ("exploit", "Were you forced to work without pay?"),
    ("trafficked", "Were you trafficked?"),
    ("health_access", "Could you see a doctor when you needed to?"),
])
def test_protection_type_questions_are_proposed_sensitive_and_not_public(tmp_path, name, label):
    f = form(tmp_path, [{"type": "select_one yn", "name": name, "label": label}], YN)
    entry = proposal(f)["fields"][name]
    assert entry["sensitive"] is True and entry["public"] is False


def test_public_is_proposed_only_for_closed_questions_that_are_not_sensitive(tmp_path):
    f = form(tmp_path, [
        {"type": "select_one yn", "name": "has_documents", "label": "Do you have documents?"},
        {"type": "integer", "name": "hh_size", "label": "How many people live in your household?"},
        {"type": "integer", "name": "nb_children", "label": "How many children?"},
        {"type": "decimal", "name": "income", "label": "Monthly income"},
        {"type": "date", "name": "departure", "label": "Date of departure"},
        {"type": "geopoint", "name": "gps", "label": "Location"},
        {"type": "text", "name": "full_name", "label": "Name"},
        {"type": "text", "name": "phone_number", "label": "Phone"},
        {"type": "select_one yn", "name": "hh_head", "label": "Are you the head of the household?"}], YN)
    fields = proposal(f)["fields"]
    assert fields["has_documents"]["public"] is True
    for name in ("hh_size", "nb_children", "income", "departure", "hh_head"):
        assert fields[name]["public"] is False, name
    for name in ("gps", "full_name", "phone_number"):
        assert fields[name] == "skip", name


def test_country_words_are_recoded_and_answers_with_no_country_kept():
    assert guess_country("syrian", {"en": "Syrian"}) == "SYR"
    assert guess_country("afghan", {}) == "AFG"
    assert guess_country("sudanese", {}) == "SDN"
    assert guess_country("eritrea", {}) == "ERI"
    assert guess_country("stateless", {}) is None


# --- a new dataset from the form, end to end ------------------------------------------------------

def test_a_new_dataset_from_a_survey_unlike_the_core_one(tmp_path):
    form_path, export = write_survey(tmp_path / "wash", n=300)
    text = propose(read_form(form_path), "wash")
    mapping = yaml.safe_load(text)
    assert mapping["standard"] == {"respondent_id": "_uuid", "interview_date": "start", "nationality": "nationality",
                                   "gender": "sex"}
    assert mapping["recode"]["nationality"] == {"syrian": "SYR", "iraqi": "IRQ", "afghan": "AFG", "sudanese": "SDN",
                                                "stateless": "keep", "other": "keep"}
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    data_dir = tmp_path / "data"
    report = load.load(form_path, export, path, dataset="wash", data_dir=data_dir, create=True)
    assert report.created and report.total == 300 and report.version == "v0001"
    assert versions.created(data_dir) == ["wash"]
    assert "wash" in versions.datasets(data_dir)
    folder = data_dir / "wash" / "versions" / "v0001"
    codebook = read_codebook(folder / "codebook.yaml", "wash")
    assert "country_of_interview" not in codebook and "age" not in codebook
    assert codebook.titles["en"] == "WASH and protection (sample)"
    assert [th.id for th in codebook.themes] == ["general", "respondent", "wash", "protection"]
    nationality = codebook["nationality"]
    assert nationality.choice_label("stateless", "fr") == "Stateless" and nationality.choice_label("SYR", "fr") == "Syrie"
    frame = pd.read_parquet(folder / "data.parquet")
    assert set(frame["nationality"].dropna()) <= {"SYR", "IRQ", "AFG", "SDN", "stateless", "other"}
    assert frame["respondent_id"].str.len().eq(36).all()
    assert codebook["wash_consent"].labels["en"] == "Consent to the WASH module"
    assert frame["risks_faced"].isna().all()
    # a later round goes in with load --dataset wash
    again = load.load(form_path, export, path, dataset="wash", data_dir=data_dir)
    assert again.replaced == 300 and again.total == 300
    with pytest.raises(IngestError) as e:
        load.load(form_path, export, path, dataset="wash", data_dir=data_dir, create=True)
    assert e.value.problems[0].key == "dataset_exists"
    assert load.restore("wash", data_dir=data_dir) == "v0001"
    with pytest.raises(versions.VersionError) as caught:
        load.restore("wash", data_dir=data_dir)
    assert caught.value.code == "nothing_to_restore_created"


def test_a_country_answer_left_to_recode_is_refused_with_its_line(tmp_path):
    form_path, export = write_survey(tmp_path / "wash", n=50)
    text = propose(read_form(form_path), "wash").replace("syrian: SYR", "syrian: TODO")
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as e:
        load.load(form_path, export, path, dataset="wash", data_dir=tmp_path / "data", create=True)
    assert [p.key for p in e.value.problems] == ["mapping_country"]
    assert e.value.problems[0].row is not None


@pytest.mark.parametrize("name", ["Core", "1survey", "a", "core", "x" * 41])
def test_a_new_dataset_needs_a_new_valid_name(tmp_path, name):
    form_path, export = write_survey(tmp_path / "wash", n=20)
    path = tmp_path / "mapping.yaml"
    path.write_text(propose(read_form(form_path), "wash").replace("dataset: wash", f"dataset: {name}"),
                    encoding="utf-8")
    with pytest.raises(IngestError) as e:
        load.load(form_path, export, path, dataset=name, data_dir=tmp_path / "data", create=True)
    assert e.value.problems[0].key in ("dataset_name", "dataset_exists")


def test_the_command_line_creates_a_dataset_from_the_proposal_as_it_stands(tmp_path, capsys):
    from scripts import ingest

    form_path, export = write_survey(tmp_path / "wash", n=100)
    data_dir = tmp_path / "data"
    assert ingest.main(["--data-dir", str(data_dir), "propose-mapping", str(form_path)]) == 0
    assert "dataset: wash_protection" in capsys.readouterr().out
    assert ingest.main(["--data-dir", str(data_dir), "create", "wash", str(form_path), str(export), "--check"]) == 0
    assert versions.created(data_dir) == []
    assert ingest.main(["--data-dir", str(data_dir), "create", "wash", str(form_path), str(export)]) == 0
    assert "wash" in capsys.readouterr().out
    assert ingest.main(["--data-dir", str(data_dir), "versions", "--dataset", "wash"]) == 0
    assert "v0001" in capsys.readouterr().out
