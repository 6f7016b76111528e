"""The three shipped codebooks follow data/codebooks/README.md: every label in English, French and
Spanish, unique snake_case codes, declared themes, the standard variables everywhere, and the
variables the rest of the portal relies on by name.

Read from the YAML files directly, so that a slip the loader would tolerate still fails here.
"""

import re
from pathlib import Path

import pytest
import yaml

from core.data.engine import load_codebook

CODEBOOK_DIR = Path(__file__).resolve().parents[2] / "data" / "codebooks"
DATASETS = ("core", "covid", "returns")
LANGUAGES = ("en", "fr", "es")
TYPES = {"id", "single", "multiple", "number", "date", "country", "quarter", "year"}
CODE = re.compile(r"[a-z0-9_]+")

THEMES = {
    "core": ["profiles", "drivers", "journey", "smuggling", "protection", "information", "destinations", "needs"],
    "covid": ["profiles", "awareness", "health", "impacts", "journey_smuggling"],
    "returns": ["profiles", "migration_abroad", "return", "reintegration", "intentions"],
}
PERIODS = {
    "core": ("2017-01-01", "2026-09-30"),
    "covid": ("2020-04-01", "2021-01-31"),
    "returns": ("2021-01-01", "2021-12-31"),
}
# name: (type, public, codes); the same in every dataset.
STANDARD = {
    "respondent_id": ("id", False, None),
    "interview_date": ("date", False, None),
    "interview_quarter": ("quarter", True, None),
    "interview_year": ("year", True, None),
    "country_of_interview": ("country", True, None),
    "region_of_interview": ("single", True, ["west_africa", "north_africa", "east_africa", "southern_africa",
                                             "asia", "latin_america", "europe"]),
    "nationality": ("country", True, None),
    "gender": ("single", True, ["man", "woman", "other"]),
    "age": ("number", False, None),
    "age_band": ("single", True, ["18_24", "25_34", "35_44", "45_54", "55_plus"]),
}
# Core variables other parts of the portal (maps, smuggling and protection pages) use by name:
# name: (type, sensitive, codes or None).
CORE_REQUIRED = {
    "interview_town": ("single", False, None),
    "transit_country_1": ("country", False, None),
    "transit_country_2": ("country", False, None),
    "transit_country_3": ("country", False, None),
    "intended_destination": ("country", False, None),
    "used_smuggler": ("single", True, ["yes", "no"]),
    "amount_paid_usd": ("number", True, None),
    "journey_duration_days": ("number", False, None),
    "incident_types": ("multiple", True, ["death_witnessed", "sexual_violence", "physical_violence", "kidnapping",
                                          "robbery", "detention", "extortion_bribery", "none"]),
    "incident_country": ("country", True, None),
    "perpetrators": ("multiple", True, ["criminal_gangs", "armed_groups", "smugglers", "border_officials",
                                        "military_police", "other_migrants", "local_population", "unknown"]),
    "drivers": ("multiple", False, None),
}


def raw(dataset):
    with (CODEBOOK_DIR / f"{dataset}.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


RAW = {name: raw(name) for name in DATASETS}


def assert_labels(labels, where):
    assert isinstance(labels, dict), where
    for lang in LANGUAGES:
        assert isinstance(labels.get(lang), str) and labels[lang].strip(), f"{where}: no {lang} label"


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_label_is_in_three_languages(dataset):
    book = RAW[dataset]
    assert_labels(book["title"], f"{dataset} title")
    assert_labels(book["description"], f"{dataset} description")
    for theme in book["themes"]:
        assert_labels(theme["label"], f"{dataset} theme {theme['id']}")
    for var in book["variables"]:
        where = f"{dataset}.{var['name']}"
        assert_labels(var["label"], where)
        if "asked" in var:
            assert_labels(var["asked"], f"{where} asked")
        for choice in var.get("choices", []):
            assert_labels(choice["label"], f"{where}.{choice['code']}")


@pytest.mark.parametrize("dataset", DATASETS)
def test_labels_are_translated_not_copied(dataset):
    for var in RAW[dataset]["variables"]:
        labels = var["label"]
        assert labels["fr"] != labels["en"] and labels["es"] != labels["en"], var["name"]
    # Choice labels: some are the same word in two languages (Transport, Documents, Asia) and town
    # names rarely change, but most must differ.
    choices = [c["label"] for v in RAW[dataset]["variables"] if v["name"] != "interview_town"
               for c in v.get("choices", [])]
    translated = [c for c in choices if c["fr"] != c["en"] or c["es"] != c["en"]]
    assert len(translated) / len(choices) > 0.9


@pytest.mark.parametrize("dataset", DATASETS)
def test_names_and_codes_are_unique_snake_case_strings(dataset):
    names = [v["name"] for v in RAW[dataset]["variables"]]
    assert len(names) == len(set(names))
    for var in RAW[dataset]["variables"]:
        assert CODE.fullmatch(var["name"]), var["name"]
        codes = [c["code"] for c in var.get("choices", [])]
        # YAML reads unquoted yes/no/18_24 as booleans and numbers: every code must stay a string.
        assert all(isinstance(code, str) and CODE.fullmatch(code) for code in codes), (var["name"], codes)
        assert len(codes) == len(set(codes)), var["name"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_types_choices_and_flags(dataset):
    for var in RAW[dataset]["variables"]:
        name = var["name"]
        assert var["type"] in TYPES, name
        assert isinstance(var["sensitive"], bool) and isinstance(var["public"], bool), name
        if var["type"] in ("single", "multiple"):
            assert len(var.get("choices", [])) >= 2, name
        else:
            assert "choices" not in var, name
        if var["type"] == "multiple":
            assert len(var["choices"]) <= 62, name  # fits the stored bit mask
        if var["type"] == "number":
            assert var.get("unit"), name
        if var["type"] in ("id", "date"):
            assert var["public"] is False, name


@pytest.mark.parametrize("dataset", DATASETS)
def test_themes(dataset):
    book = RAW[dataset]
    ids = [t["id"] for t in book["themes"]]
    assert ids == THEMES[dataset]
    used = {v["theme"] for v in book["variables"]}
    assert used == set(ids)  # every variable has a declared theme, every theme has variables


@pytest.mark.parametrize("dataset", DATASETS)
def test_dataset_id_and_period(dataset):
    book = RAW[dataset]
    assert book["dataset"] == dataset
    assert (str(book["period"]["start"]), str(book["period"]["end"])) == PERIODS[dataset]


@pytest.mark.parametrize("dataset", DATASETS)
def test_standard_variables_are_present_and_the_same(dataset):
    variables = {v["name"]: v for v in RAW[dataset]["variables"]}
    for name, (vtype, public, codes) in STANDARD.items():
        var = variables[name]
        assert var["type"] == vtype and var["public"] is public and var["theme"] == "profiles", name
        if codes is not None:
            assert [c["code"] for c in var["choices"]] == codes, name
    assert variables["age"]["min"] == 18 and variables["age"]["unit"] == "years"
    # The same question keeps the same labels in every dataset.
    core = {v["name"]: v for v in RAW["core"]["variables"]}
    for name in STANDARD:
        assert variables[name]["label"] == core[name]["label"], name
        assert variables[name].get("choices") == core[name].get("choices"), name


def test_core_has_the_variables_the_portal_uses_by_name():
    variables = {v["name"]: v for v in RAW["core"]["variables"]}
    for name, (vtype, sensitive, codes) in CORE_REQUIRED.items():
        var = variables[name]
        assert var["type"] == vtype and var["sensitive"] is sensitive, name
        if codes is not None:
            assert [c["code"] for c in var["choices"]] == codes, name
    assert variables["interview_town"]["public"] is False
    assert 45 <= len(variables) <= 62  # about 60 questions, with the derived quarter and year


def test_sizes_of_the_modules():
    assert 25 <= len(RAW["covid"]["variables"]) <= 37
    assert 25 <= len(RAW["returns"]["variables"]) <= 37


def test_smuggling_and_protection_are_sensitive():
    for var in RAW["core"]["variables"]:
        if var["theme"] in ("smuggling", "protection"):
            assert var["sensitive"] is True, var["name"]
    for dataset in ("covid", "returns"):
        for var in RAW[dataset]["variables"]:
            if "smuggl" in var["name"] or var["name"] == "incident_types":
                assert var["sensitive"] is True, (dataset, var["name"])


def test_fine_grained_variables_are_not_public():
    # design.md rule 8: quarters not days, age bands not ages, countries not towns, never an id.
    for dataset in DATASETS:
        for var in RAW[dataset]["variables"]:
            if var["name"] in ("respondent_id", "interview_date", "age", "interview_town"):
                assert var["public"] is False, (dataset, var["name"])


def test_paired_questions_list_the_same_codes():
    # The generator (and any reader) picks the main reason among the reasons, the most reliable source
    # among the sources used, and the most urgent need among the needs.
    book = load_codebook("core")
    for many, one in (("drivers", "main_driver"), ("info_sources", "most_reliable_source"),
                      ("needs", "most_urgent_need")):
        assert book[many].codes[: len(book[one].codes)] == book[one].codes


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_loader_accepts_the_codebook(dataset):
    book = load_codebook(dataset)
    assert list(book.variables) == [v["name"] for v in RAW[dataset]["variables"]]
