"""The message catalogues are complete and consistent in every language, and core.i18n picks the
language, finds messages and formats numbers and dates as CLDR says."""

import dataclasses
import datetime as dt
import re
import string
from types import SimpleNamespace

import numpy as np
import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from core import disclosure, i18n
from core.i18n import (
    CLDR_UNITS,
    STRICT_ENV,
    MissingMessage,
    catalogue_path,
    fmt_date,
    fmt_decimal,
    fmt_int,
    fmt_pct,
    language_name,
    negotiate_language,
    punct,
    read_catalogue,
    refusal_message,
    t,
    tn,
    with_unit,
)
from core.settings import LANGUAGES, ROOT

KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
NBSP, NNBSP = "\u00a0", "\u202f"


def _entries(lang: str) -> dict:
    with catalogue_path(lang).open("rb") as f:
        po = read_po(f, locale=lang, abort_invalid=True)
    return {(m.id[0] if m.pluralizable else m.id): m for m in po if m.id}


ENTRIES = {lang: _entries(lang) for lang in LANGUAGES}
EN = ENTRIES["en"]
OTHERS = [lang for lang in LANGUAGES if lang != "en"]


def _forms(message) -> tuple[str, ...]:
    return tuple(message.string) if message.pluralizable else (message.string,)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture
def strict(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv(STRICT_ENV, raising=False)


@pytest.fixture
def french_lacks(monkeypatch):
    """French catalogue without some keys, as after an English string was added but not translated."""
    def remove(*keys):
        real = i18n.catalogues()
        fr = dataclasses.replace(real["fr"], messages={
            k: v for k, v in real["fr"].messages.items() if k not in keys})
        monkeypatch.setattr(i18n, "catalogues", lambda: {**real, "fr": fr})
    return remove


# --- the catalogues --------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_header_declares_the_language_and_its_gettext_plural_rule(lang):
    with catalogue_path(lang).open("rb") as f:
        po = read_po(f, locale=lang, abort_invalid=True)
    assert po.mime_headers and dict(po.mime_headers)["Language"] == lang
    assert po.num_plurals == get_plural(lang).num_plurals
    assert po.plural_expr == get_plural(lang).plural_expr


@pytest.mark.parametrize("lang", LANGUAGES)
def test_keys_are_stable_ids_and_unique(lang):
    ids = re.findall(r'^msgid "(.+)"$', catalogue_path(lang).read_text(encoding="utf-8"), re.MULTILINE)
    assert len(ids) == len(set(ids)), f"duplicate keys: {sorted({k for k in ids if ids.count(k) > 1})}"
    bad = [k for k in ids if not KEY.match(k)]
    assert not bad, f"keys must be dotted lower-case ids like 'filters.period', not sentences: {bad}"


@pytest.mark.parametrize("lang", OTHERS)
def test_every_english_key_is_in_the_language_and_no_other(lang):
    missing = sorted(set(EN) - set(ENTRIES[lang]))
    orphans = sorted(set(ENTRIES[lang]) - set(EN))
    assert not missing, f"{catalogue_path(lang).relative_to(ROOT)} lacks: {missing}"
    assert not orphans, f"{catalogue_path(lang).relative_to(ROOT)} has keys English does not: {orphans}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(lang):
    fuzzy = sorted(k for k, m in ENTRIES[lang].items() if m.fuzzy)
    empty = sorted(k for k, m in ENTRIES[lang].items() if not all(f.strip() for f in _forms(m)))
    assert not fuzzy, f"fuzzy in {lang}: {fuzzy}"
    assert not empty, f"empty in {lang}: {empty}"


@pytest.mark.parametrize("lang", OTHERS)
def test_placeholders_and_plurality_match_english(lang):
    for key, en in EN.items():
        if key not in ENTRIES[lang]:
            continue  # reported by the test above
        other = ENTRIES[lang][key]
        assert other.pluralizable == en.pluralizable, f"{key}: plural in one language only"
        en_names = set().union(*map(_placeholders, _forms(en)))
        names = set().union(*map(_placeholders, _forms(other)))
        assert names == en_names, f"{key} in {lang}: placeholders {names} instead of {en_names}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_messages_have_one_form_per_plural_category(lang):
    expected = get_plural(lang).num_plurals
    for key, m in ENTRIES[lang].items():
        if m.pluralizable:
            assert len(m.string) == expected, f"{key} in {lang}: {len(m.string)} forms, not {expected}"
            assert all("{n}" in form for form in m.string[1:]), f"{key}: a plural form hides the count"


def test_every_message_parses_as_a_format_string():
    for lang in LANGUAGES:
        for key, m in ENTRIES[lang].items():
            for form in _forms(m):
                list(string.Formatter().parse(form))  # raises on an unbalanced brace
                assert all(name and name.isidentifier() for name in _placeholders(form)), (lang, key)


def test_french_punctuation_has_no_breaking_space_before_it():
    # A plain space lets the browser wrap a line just before ":" or "%", which French typography forbids.
    for key, m in ENTRIES["fr"].items():
        for form in _forms(m):
            assert not re.search(r" [:;!?%»]|« ", form), f"fr {key}: use a no-break space: {form!r}"


def test_spanish_percent_sign_has_no_breaking_space_before_it():
    for key, m in ENTRIES["es"].items():
        for form in _forms(m):
            assert " %" not in form, f"es {key}: use a no-break space before %: {form!r}"


def test_fuzzy_and_untranslated_entries_are_not_used(tmp_path):
    po = tmp_path / "messages.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
        '#, fuzzy\nmsgid "a.guess"\nmsgstr "Devinette"\n\n'
        'msgid "a.todo"\nmsgstr ""\n\n'
        'msgid "a.ok"\nmsgstr "Bien"\n', encoding="utf-8")
    catalogue = read_catalogue(po, "fr")
    assert dict(catalogue.messages) == {"a.ok": "Bien"}
    assert [catalogue.plural(n) for n in (0, 1, 2)] == [0, 0, 1]


# --- messages --------------------------------------------------------------------------------

def test_t_gives_the_message_in_the_language():
    assert t("nav.overview", "en") == "Overview"
    assert t("nav.overview", "fr") == "Vue d’ensemble"
    assert t("nav.overview", "es") == "Resumen"


def test_t_fills_placeholders_and_formats_numbers_for_the_language():
    assert t("filters.dropped", "en", param="gender", value="xyz") == (
        "A filter value in the link was not recognised and was dropped: gender=xyz")
    assert t("disclosure.population_too_small", "fr", minimum=1000).startswith(f"Moins de 1{NNBSP}000 ")
    assert t("disclosure.too_many_cells", "es", limit=250_000).endswith(
        "(más de 250.000): use menos variables o variables menos detalladas.")


def test_a_message_missing_in_a_language_falls_back_to_english(lenient, french_lacks):
    french_lacks("nav.map")
    assert t("nav.map", "fr") == "Route map"
    assert t("nav.overview", "fr") == "Vue d’ensemble"


def test_an_unknown_key_shows_as_itself(lenient):
    assert t("no.such.key", "fr") == "no.such.key"
    assert tn("no.such.key", 3, "es") == "no.such.key"


def test_an_unsupported_language_falls_back_to_english(lenient):
    assert t("nav.map", "de") == "Route map"
    assert tn("figures.respondents", 1234, "de") == "1,234 respondents"


def test_a_missing_parameter_leaves_the_placeholder(lenient):
    assert t("filters.dropped", "en", param="gender").endswith("gender={value}")


def test_strict_mode_raises_on_a_missing_key(strict, french_lacks):
    with pytest.raises(MissingMessage, match="no.such.key"):
        t("no.such.key", "en")
    french_lacks("nav.map")
    with pytest.raises(MissingMessage, match="nav.map"):
        t("nav.map", "fr")


def test_strict_mode_raises_on_a_missing_parameter_or_language_or_wrong_kind(strict):
    with pytest.raises(MissingMessage, match="value"):
        t("filters.dropped", "en", param="gender")
    with pytest.raises(MissingMessage, match="unsupported"):
        t("nav.map", "de")
    with pytest.raises(MissingMessage, match="tn"):
        t("figures.respondents", "en")
    with pytest.raises(MissingMessage, match=r"t\(\)"):
        tn("nav.map", 2, "en")


@pytest.mark.parametrize(("lang", "n", "expected"), [
    ("en", 0, "0 respondents"), ("en", 1, "1 respondent"), ("en", 2, "2 respondents"),
    ("fr", 0, "0 personne interrogée"), ("fr", 1, "1 personne interrogée"),
    ("fr", 2, "2 personnes interrogées"), ("fr", 12345, f"12{NNBSP}345 personnes interrogées"),
    ("es", 0, "0 personas encuestadas"), ("es", 1, "1 persona encuestada"),
    ("es", 1234, "1234 personas encuestadas"), ("es", 12345, "12.345 personas encuestadas"),
])
def test_tn_picks_the_plural_form_of_the_language(lang, n, expected):
    assert tn("figures.respondents", n, lang) == expected


def test_placeholders_may_be_named_like_the_arguments():
    assert t("filters.dropped", "en", param="lang", value="xx").endswith("lang=xx")


def test_tn_accepts_other_parameters():
    assert tn("auth.too_many_attempts", 30, "es") == (
        "Demasiados intentos fallidos. Vuelva a intentarlo dentro de 30 segundos.")


# --- refusals of the public tier ---------------------------------------------------------------

def _refusals() -> list[disclosure.TableRefused]:
    s = disclosure.settings()
    v = SimpleNamespace
    calls = [
        lambda: disclosure.check_population(s.min_population - 1),
        lambda: disclosure.check_sparsity(np.array([True, True, True, False])),
        lambda: disclosure.check_variables([v(name=f"v{i}", sensitive=False) for i in range(4)]),
        lambda: disclosure.check_variables([v(name="violence", sensitive=True), v(name="a", sensitive=False),
                                            v(name="b", sensitive=False)]),
    ]
    refused = []
    for call in calls:
        with pytest.raises(disclosure.TableRefused) as e:
            call()
        refused.append(e.value)
    return refused


def test_every_refusal_reason_in_core_has_a_message():
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "core").glob("*.py"))
    reasons = set(re.findall(r'TableRefused\(\s*\d+,\s*"(\w+)"', sources))
    assert {"population_too_small", "too_sparse", "too_many_variables"} <= reasons
    assert not [r for r in reasons if f"disclosure.{r}" not in EN]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_refusals_read_in_every_language_with_their_figures(strict, lang):
    for refused in _refusals():
        message = refusal_message(refused.reason, refused.params, lang, label=str.upper)
        assert "{" not in message, message
    population, sparse, _, sensitive = _refusals()
    assert fmt_int(disclosure.settings().min_population, lang) in refusal_message(
        population.reason, population.params, lang)
    assert fmt_pct(disclosure.settings().max_suppressed_share, lang) in refusal_message(sparse.reason, sparse.params, lang)
    assert "VIOLENCE" in refusal_message(sensitive.reason, sensitive.params, lang, label=str.upper)


# --- the choice of language ------------------------------------------------------------------

@pytest.mark.parametrize(("query", "browser", "expected"), [
    ("fr", "es-ES", "fr"),           # the link wins
    ("ES", None, "es"),              # case does not matter
    ("fr-CA", None, "fr"),
    ("de", "es-419", "es"),          # an unsupported ?lang= is ignored
    ("", "fr-FR", "fr"),
    (None, "fr_FR", "fr"),
    (None, "en-GB", "en"),
    (None, "de-DE", "en"),           # nothing supported: English
    (None, None, "en"),
    (None, "", "en"),
    ("xx", "zz", "en"),
    (None, "de-DE,de;q=0.9,es;q=0.7,fr;q=0.8", "fr"),  # an Accept-Language list, by preference
    (None, "fr;q=0,es", "es"),
])
def test_negotiate_language(query, browser, expected):
    assert negotiate_language(query, browser) == expected


def test_each_language_is_named_in_itself():
    assert [language_name(lang) for lang in LANGUAGES] == ["English", "Français", "Español"]


# --- numbers and dates (CLDR through Babel) ----------------------------------------------------

@pytest.mark.parametrize(("n", "lang", "expected"), [
    (12345, "en", "12,345"), (12345, "fr", f"12{NNBSP}345"), (12345, "es", "12.345"),
    (1234, "en", "1,234"), (1234, "fr", f"1{NNBSP}234"),
    (1234, "es", "1234"),            # CLDR: Spanish groups from five digits (minimumGroupingDigits 2)
    (1234567, "es", "1.234.567"), (0, "fr", "0"), (-12345, "en", "-12,345"),
    (np.int64(12345), "fr", f"12{NNBSP}345"), (12.6, "en", "13"),
])
def test_fmt_int(n, lang, expected):
    assert fmt_int(n, lang) == expected


@pytest.mark.parametrize(("x", "lang", "digits", "expected"), [
    (0.256, "en", 0, "26%"), (0.256, "fr", 0, f"26{NBSP}%"), (0.256, "es", 0, f"26{NBSP}%"),
    (0.2563, "en", 1, "25.6%"), (0.2563, "fr", 1, f"25,6{NBSP}%"), (0.05, "es", 0, f"5{NBSP}%"),
    (1.0, "en", 0, "100%"), (0.0, "fr", 1, f"0,0{NBSP}%"),
])
def test_fmt_pct(x, lang, digits, expected):
    assert fmt_pct(x, lang, digits) == expected


@pytest.mark.parametrize(("x", "lang", "digits", "expected"), [
    (1234.5, "en", 2, "1,234.50"), (1234.5, "fr", 2, f"1{NNBSP}234,50"),
    (1234.5, "es", 2, "1234,50"), (12345.5, "es", 1, "12.345,5"),
    (2.71828, "en", None, "2.718"), (2.5, "fr", None, "2,5"),
])
def test_fmt_decimal(x, lang, digits, expected):
    assert fmt_decimal(x, lang, digits) == expected


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "Mar 5, 2024"), ("fr", "5 mars 2024"), ("es", "5 mar 2024"),
])
def test_fmt_date(lang, expected):
    assert fmt_date(dt.date(2024, 3, 5), lang) == expected


def test_fmt_date_long():
    assert fmt_date(dt.date(2024, 3, 5), "es", "long") == "5 de marzo de 2024"


@pytest.mark.parametrize(("formatted", "value", "unit", "lang", "expected"), [
    ("35", 35, "days", "en", "35 days"), ("35", 35, "days", "fr", f"35{NBSP}jours"), ("35", 35, "days", "es", "35 días"),
    ("1", 1, "days", "en", "1 day"), ("1", 1, "days", "es", "1 día"),
    ("1,5", 1.5, "years", "fr", f"1,5{NBSP}an"),     # CLDR: French takes the singular below 2 (spaces as CLDR has them)
    ("28", 28, "years", "fr", "28 ans"), ("28", 28, "years", "es", "28 años"),
    ("1234", 1234, "days", "es", "1234 días"),      # the portal's number kept (Babel alone writes 1.234)
    ("18–99", 99, "years", "fr", "18–99 ans"),       # a span, in the plural of its last number
    ("3", 3, "duration-month", "fr", f"3{NBSP}mois"),  # a CLDR id in a codebook
    ("350", 350, "USD", "fr", "350 USD"),           # a currency code, and any unit CLDR does not know: as given
    ("350", 350, "sacks", "es", "350 sacks"), ("350", 350, None, "fr", "350"),
])
def test_with_unit(formatted, value, unit, lang, expected):
    assert with_unit(formatted, value, unit, lang) == expected


def test_every_unit_of_the_codebooks_is_written_in_each_language():
    """A unit of the shipped codebooks is either one CLDR knows (then written in each language) or a
    currency code: never an English word left in a French or Spanish page."""
    from core.data.codebook import DATASETS, builtin_codebook
    units = {v.unit for name in DATASETS for v in builtin_codebook(name).variables.values() if v.unit}
    assert units
    for unit in units:
        if unit in CLDR_UNITS:
            assert with_unit("2", 2, unit, "fr") != f"2 {unit}"
        else:
            assert re.fullmatch("[A-Z]{3}", unit), f"{unit}: not a CLDR unit (core.i18n.CLDR_UNITS) nor a currency code"


@pytest.mark.parametrize("fmt", [fmt_int, fmt_pct, fmt_decimal])
def test_a_missing_figure_is_not_formatted(fmt):
    with pytest.raises(ValueError, match="missing"):
        fmt(float("nan"), "en")


@pytest.mark.parametrize(("mark", "lang", "expected"), [
    ("; ", "fr", f"{NNBSP}; "), (": ", "fr", f"{NNBSP}: "), ("; ", "en", "; "), (": ", "es", ": "), (", ", "fr", ", "),
])
def test_punct(mark, lang, expected):
    assert punct(mark, lang) == expected
