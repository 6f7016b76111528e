"""The codebook loader refuses files that break the schema, with a message naming the place."""

import copy
import datetime as dt

import pytest

from core.data.codebook import (
    STANDARD_VARIABLES,
    CodebookError,
    country_name,
    parse_codebook,
    quarter_label,
    quarters_between,
)

L = {"en": "x", "fr": "x", "es": "x"}


def minimal():
    variables = [{"name": n, "type": "single" if n in ("gender", "age_band", "region_of_interview") else
                  {"respondent_id": "id", "interview_date": "date", "interview_quarter": "quarter",
                   "interview_year": "year", "age": "number"}.get(n, "country"),
                  "theme": "profiles", "label": dict(L)} for n in STANDARD_VARIABLES]
    for v in variables:
        if v["type"] == "single":
            v["choices"] = [{"code": "a", "label": dict(L)}, {"code": "b", "label": dict(L)}]
    return {"dataset": "t", "title": dict(L), "description": dict(L),
            "period": {"start": "2020-02-01", "end": "2020-12-31"},
            "themes": [{"id": "profiles", "label": dict(L)}], "variables": variables}


def test_minimal_codebook_parses():
    cb = parse_codebook(minimal(), "t")
    assert list(cb.variables) == list(STANDARD_VARIABLES)
    assert cb.quarters() == ["2020Q1", "2020Q2", "2020Q3", "2020Q4"]
    assert cb.years() == ["2020"]
    assert cb["gender"].codes == ["a", "b"]


def gender(raw):
    return next(v for v in raw["variables"] if v["name"] == "gender")


@pytest.mark.parametrize("breakage, message", [
    (lambda raw: gender(raw)["label"].pop("fr"), "missing label in fr"),
    (lambda raw: gender(raw).update(type="likert"), "is not one of"),
    (lambda raw: gender(raw).update(theme="nowhere"), "is not declared"),
    (lambda raw: gender(raw)["choices"].append({"code": "a", "label": dict(L)}), "unique"),
    (lambda raw: gender(raw).update(choices=[]), "needs choices"),
    (lambda raw: raw["variables"].pop(0), "standard variables missing: respondent_id"),
    (lambda raw: raw["period"].update(start="someday"), "is not a date"),
])
def test_broken_codebooks_are_refused_with_the_place_named(breakage, message):
    raw = copy.deepcopy(minimal())
    breakage(raw)
    with pytest.raises(CodebookError, match=message):
        parse_codebook(raw, "t")


def test_country_and_quarter_labels_come_from_cldr():
    assert country_name("CIV", "fr") == "Côte d’Ivoire"
    assert country_name("DEU", "es") == "Alemania"
    assert country_name("XXX", "en") == "XXX"
    assert quarter_label("2020Q1", "en") == "Q1 2020"
    assert quarter_label("2020Q3", "fr") == "T3 2020"
    assert quarters_between(dt.date(2019, 11, 5), dt.date(2020, 2, 1)) == [
        "2019Q4", "2020Q1"]
