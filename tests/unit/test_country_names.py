"""One name per country in each language (issue 19): every path that labels a country (the filter bar and
charts through the codebook, the map's outlines, layers and tables, downloads, codebooks made from a form)
names it through core.data.codebook.country_name, CLDR's name; and no text of the portal calls a country by
another name ("Turkey" beside "Türkiye")."""

from __future__ import annotations

import re
from collections import defaultdict

import pycountry
import pytest
import yaml
from babel.messages.pofile import read_po

from core.data.codebook import OTHER, country_name
from core.data.engine import load_codebook
from core.data.geo import countries
from core.figures.map_layers import place_name
from core.query import categories
from core.settings import DATA_DIR, DATASETS, LANGUAGES, ROOT

# Names a country went by, or goes by outside CLDR, that a codebook or a message could still carry.
FORMER_NAMES = {"Turkey": "TUR", "Swaziland": "SWZ", "Burma": "MMR", "Ivory Coast": "CIV", "Cape Verde": "CPV",
                "Czech Republic": "CZE", "Macedonia": "MKD", "Côte d'Ivoire": "CIV", "Zaire": "COD"}


def _labels(lang: str) -> dict[str, set[str]]:
    """Every name the portal gives a country code in `lang`, by the paths that name one."""
    names: dict[str, set[str]] = defaultdict(set)
    for country in pycountry.countries:
        names[country.alpha_3].add(country_name(country.alpha_3, lang))
    for feature in countries(lang)["features"]:
        if feature["properties"]["code"]:
            names[feature["properties"]["code"]].add(feature["properties"]["name"])
    for dataset in DATASETS:
        book = load_codebook(dataset)
        for var in book.variables.values():
            if var.type != "country":
                continue
            for code in categories(dataset, var.name, tier="researcher"):
                if code != OTHER:
                    names[code].add(var.choice_label(code, lang))
                    names[code].add(place_name(code, lang))
    return names


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_country_has_one_name_and_a_name_one_country(lang):
    names = _labels(lang)
    assert {code: found for code, found in names.items() if len(found) > 1} == {}
    codes: dict[str, set[str]] = defaultdict(set)
    for code, found in names.items():
        for name in found:
            codes[name].add(code)
    # A code not in ISO 3166 is named by itself: that is no second name. Every other name is one country's.
    assert {name: found for name, found in codes.items() if len(found) > 1} == {}


@pytest.mark.parametrize("lang, code, name", [
    ("en", "TUR", "Türkiye"), ("fr", "TUR", "Turquie"), ("es", "TUR", "Turquía"),
    ("en", "XKX", "Kosovo"), ("fr", "CIV", "Côte d’Ivoire"), ("es", "DEU", "Alemania")])
def test_names_are_cldrs(lang, code, name):
    assert country_name(code, lang) == name


def test_the_map_names_kosovo_as_cldr_does():
    for lang in LANGUAGES:
        uncoded = {f["properties"]["name"] for f in countries(lang)["features"] if not f["properties"]["code"]}
        assert country_name("XKX", lang) in uncoded


def _texts(obj):
    """The {en, fr, es} texts of a codebook or story, with their language."""
    if isinstance(obj, dict):
        if set(LANGUAGES) <= set(obj) and all(isinstance(obj[lang], str) for lang in LANGUAGES):
            yield from ((lang, obj[lang]) for lang in LANGUAGES)
        else:
            for value in obj.values():
                yield from _texts(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _texts(value)


def _english_other_names() -> dict[str, str]:
    """English names of a country that are not CLDR's (pycountry's ISO names, former names) -> code."""
    other = dict(FORMER_NAMES)
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "common_name", None), getattr(country, "official_name", None)):
            if name and name != country_name(country.alpha_3, "en"):
                other.setdefault(name, country.alpha_3)
    return other


def _portal_texts():
    for path in sorted((DATA_DIR / "codebooks").glob("*.yaml")) + sorted((DATA_DIR / "stories").glob("*.yaml")):
        for lang, text in _texts(yaml.safe_load(path.read_text(encoding="utf-8"))):
            yield path.name, lang, text
    for lang in LANGUAGES:
        with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            for message in read_po(f):
                if message.id and message.string:
                    strings = message.string if isinstance(message.string, tuple) else (message.string,)
                    yield f"{lang}:{message.id}", lang, " ".join(strings)


def _other_names_in(text: str) -> list[str]:
    other = _english_other_names()
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(other, key=len, reverse=True))) + r")(?!\w)")
    return [hit.group(1) for hit in pattern.finditer(text)]


def test_the_scan_finds_another_name_and_not_cldrs():
    assert _other_names_in("returned from Iran, Turkey, Pakistan, Côte d'Ivoire and the Congo") == \
        ["Turkey", "Côte d'Ivoire", "Congo"]  # CLDR: Türkiye, Côte d’Ivoire, Congo - Brazzaville
    assert _other_names_in("returned from Iran, Türkiye, Pakistan and Côte d’Ivoire") == []


def test_no_codebook_story_or_message_calls_a_country_by_another_name():
    """Regression: the Returns codebook's description said "Turkey" where every label says "Türkiye"."""
    found = [(where, name) for where, lang, text in _portal_texts() if lang == "en" for name in _other_names_in(text)]
    assert found == []
    assert "Türkiye" in load_codebook("returns").description("en")
