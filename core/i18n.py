"""Translated messages, the choice of language, and numbers and dates formatted for it (no Streamlit here).

Messages live in one gettext catalogue per language, locales/<lang>/LC_MESSAGES/messages.po, read with
Babel at start-up (no compile step). Their msgids are stable keys ("filters.period"), so that English
wording can change without breaking French and Spanish; the English text is the en catalogue. Messages
use named str.format placeholders ("{n}"); numbers passed as parameters are formatted for the language.
Numbers, percentages and dates go through Babel (CLDR), as country names and quarters do in core.data.codebook.

A message missing in a language falls back to English, then to its key. With PORTAL_I18N_STRICT=1, a
missing message or parameter raises instead, so that tests find what users would only see as a key.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import gettext
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.units import UnknownUnitError, format_unit

from core.settings import LANGUAGES, ROOT

__all__ = [
    "DEFAULT_LANGUAGE", "LOCALES_DIR", "STRICT_ENV", "MissingMessage", "Catalogue", "catalogue_path",
    "read_catalogue", "catalogues", "negotiate_language", "t", "tn", "refusal_message",
    "fmt_int", "fmt_decimal", "fmt_pct", "fmt_date", "language_name", "with_unit", "punct",
]

LOCALES_DIR = ROOT / "locales"
DEFAULT_LANGUAGE = "en"
STRICT_ENV = "PORTAL_I18N_STRICT"

Message = str | tuple[str, ...]  # a plural message has one form per plural category of its language


class MissingMessage(KeyError):
    """Strict mode: a key or a placeholder's parameter is missing, or a message is used as the wrong kind."""


@dataclass(frozen=True)
class Catalogue:
    lang: str
    messages: Mapping[str, Message]
    num_plurals: int
    plural: Callable[[int], int]  # count -> index of the plural form, from the Plural-Forms header


def catalogue_path(lang: str, directory: Path = LOCALES_DIR) -> Path:
    return directory / lang / "LC_MESSAGES" / "messages.po"


def read_catalogue(path: Path, lang: str) -> Catalogue:
    """The usable messages of one PO file. Fuzzy and untranslated entries are left out, as gettext
    does, so that they fall back to English rather than show a guess."""
    with path.open("rb") as f:
        po = read_po(f, locale=lang, ignore_obsolete=True, abort_invalid=True)
    messages: dict[str, Message] = {}
    for m in po:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, tuple | list):
            forms = tuple(m.string)
            if all(forms):
                messages[m.id[0]] = forms
        elif m.string:
            messages[m.id] = m.string
    # c2py is what gettext itself uses to evaluate a Plural-Forms expression safely.
    return Catalogue(lang, messages, po.num_plurals, gettext.c2py(po.plural_expr))


@functools.cache
def catalogues(directory: Path = LOCALES_DIR) -> dict[str, Catalogue]:
    return {lang: read_catalogue(catalogue_path(lang, directory), lang) for lang in LANGUAGES}


def _strict() -> bool:
    # Read on every call, so that a test can switch it with monkeypatch.setenv.
    return os.environ.get(STRICT_ENV) == "1"


# --- the choice of language ------------------------------------------------------------------

def _supported(tag: str) -> str | None:
    """The supported language of a locale tag ("fr-FR", "fr_FR", "ES-419"), if any."""
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def _preferred_tags(value: str) -> list[str]:
    """Tags of a browser locale, or of an Accept-Language list, most preferred first."""
    weighted = []
    for position, item in enumerate(value.split(",")):
        tag, _, rest = item.partition(";")
        weight = 1.0
        if rest.strip().startswith("q="):
            try:
                weight = float(rest.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag.strip() and tag.strip() != "*" and weight > 0:
            weighted.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate_language(query_value: str | None, browser_locale: str | None) -> str:
    """The portal's language: `?lang=` when it names a supported language, else the browser locale's
    language when supported ("fr-FR" -> "fr"), else English."""
    if query_value:
        lang = _supported(query_value)
        if lang:
            return lang
    for tag in _preferred_tags(browser_locale or ""):
        lang = _supported(tag)
        if lang:
            return lang
    return DEFAULT_LANGUAGE


def language_name(code: str) -> str:
    """A language named in itself, as a language picker shows it: English, Français, Español."""
    name = Locale.parse(code).get_display_name(code)
    return name[:1].upper() + name[1:]


# --- messages --------------------------------------------------------------------------------

def _lookup(key: str, lang: str) -> tuple[Message, str]:
    """The message and the language it was found in (which decides its plural rule)."""
    cats = catalogues()
    if lang not in cats:
        if _strict():
            raise MissingMessage(f"unsupported language {lang!r}; one of {', '.join(cats)}")
        lang = DEFAULT_LANGUAGE
    if key in cats[lang].messages:
        return cats[lang].messages[key], lang
    if _strict():
        raise MissingMessage(f"no message {key!r} in {catalogue_path(lang).relative_to(ROOT)}")
    return cats[DEFAULT_LANGUAGE].messages.get(key, key), DEFAULT_LANGUAGE


class _Params(dict):
    def __missing__(self, name: str) -> str:
        if _strict():
            raise MissingMessage(f"no value for the placeholder {{{name}}}")
        return "{" + name + "}"


def _shown(value, lang: str):
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return fmt_int(value, lang)
    if isinstance(value, float | Decimal):
        return fmt_decimal(value, lang)
    return value


def _format(message: str, lang: str, params: Mapping) -> str:
    if not params and "{" not in message:
        return message
    values = _Params({name: _shown(value, lang) for name, value in params.items()})
    try:
        return message.format_map(values)
    except (ValueError, IndexError, AttributeError):
        # A translator's stray brace must not take a page down; strict mode reports it.
        if _strict():
            raise
        return message


def t(key: str, lang: str, /, **params) -> str:
    """The message `key` in `lang`, its placeholders filled from `params`.

    Ints and floats are formatted for the language (12 345 in French); pass shares through fmt_pct
    first. Parameters the message does not use are ignored.
    """
    message, found_in = _lookup(key, lang)
    if isinstance(message, tuple):
        if _strict():
            raise MissingMessage(f"{key!r} has plural forms: use tn()")
        message = message[0]
    return _format(message, lang if found_in == lang else DEFAULT_LANGUAGE, params)


def tn(key: str, n: int, lang: str, /, **params) -> str:
    """The plural message `key` in the form the language uses for the count `n`, with `{n}` set to n."""
    message, found_in = _lookup(key, lang)
    if isinstance(message, tuple):
        index = catalogues()[found_in].plural(int(n))
        message = message[min(index, len(message) - 1)]
    elif _strict():
        raise MissingMessage(f"{key!r} has no plural forms: use t()")
    params.setdefault("n", n)
    return _format(message, lang if found_in == lang else DEFAULT_LANGUAGE, params)


# Parameters of core.disclosure.TableRefused that are shares, shown as percentages.
_SHARE_PARAMS = {"too_sparse": ("limit",)}


def refusal_message(reason: str, params: Mapping, lang: str,
                    label: Callable[[str], str] | None = None) -> str:
    """Why the public tier refused a table, from core.disclosure.TableRefused's `reason` and `params`.
    `label` turns a variable's name into its label in `lang`, for the sensitive variables of rule 5."""
    if lang not in LANGUAGES and not _strict():
        lang = DEFAULT_LANGUAGE  # as t() falls back, so that figures and words agree
    values = dict(params)
    for name in _SHARE_PARAMS.get(reason, ()):
        if name in values:
            values[name] = fmt_pct(values[name], lang)
    key = f"disclosure.{reason}"
    if "variable" in values and label:
        values["variable"] = label(values["variable"])
    if reason == "too_many_variables" and values.get("sensitive"):
        key = "disclosure.too_many_variables_sensitive"
        names: Iterable[str] = values["sensitive"]
        values["variables"] = format_list([label(v) if label else v for v in names], locale=lang)
    return t(key, lang, **values)


def punct(mark: str, lang: str) -> str:
    """A separator such as "; " or ": " written in code rather than in a message, as `lang` writes it:
    French puts a narrow no-break space before ; : ! ? (as its catalogue does), the others nothing."""
    return ("\u202f" + mark) if lang == "fr" and mark[:1] in ";:!?" else mark


# --- numbers and dates -------------------------------------------------------------------------

# CLDR's minimumGroupingDigits, which Babel 2.18 does not apply: Spanish writes 1234 but 12.345.
_MIN_GROUPING_DIGITS = {"es": 2}


def _grouped(x, lang: str) -> bool:
    return abs(x) >= 10 ** (2 + _MIN_GROUPING_DIGITS.get(lang, 1))


def _number(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        # A missing figure has a reason (suppressed, base too small): the caller shows that instead.
        raise ValueError("cannot format a missing value; show why it is missing instead")
    return x


def _with_fraction_digits(pattern, digits: int):
    pattern = copy.copy(pattern)
    pattern.frac_prec = (digits, digits)
    return pattern


def fmt_int(n, lang: str) -> str:
    """A whole number for `lang`: 12,345 / 12 345 (narrow no-break space) / 12.345."""
    n = round(_number(n))
    return format_decimal(n, locale=lang, group_separator=_grouped(n, lang))


def fmt_decimal(x, lang: str, digits: int | None = None) -> str:
    """A decimal number for `lang`: `digits` fraction digits, else up to 3 as the locale's pattern has."""
    x = _number(x)
    pattern = Locale.parse(lang).decimal_formats[None]
    if digits is not None:
        pattern = _with_fraction_digits(pattern, digits)
    return format_decimal(x, format=pattern, locale=lang, group_separator=_grouped(x, lang))


def fmt_pct(x, lang: str, digits: int = 0) -> str:
    """A share (0.25) as a percentage for `lang`: 25% / 25 % / 25 % (no-break spaces)."""
    x = _number(x)
    pattern = _with_fraction_digits(Locale.parse(lang).percent_formats[None], digits)
    return format_percent(x, format=pattern, locale=lang, group_separator=_grouped(x * 100, lang))


# A codebook's unit as CLDR names it: codebooks write units in English, as their authors would. A CLDR id
# ("duration-month") works too. Any other unit (a currency code such as USD, a team's own) is written as given.
CLDR_UNITS = {"days": "duration-day", "weeks": "duration-week", "months": "duration-month",
              "years": "duration-year", "hours": "duration-hour", "km": "length-kilometer"}


def with_unit(formatted: str, value, unit: str | None, lang: str) -> str:
    """A number already formatted for `lang` (`formatted`; `value` is the number, or the last of a span
    such as "18–99") followed by its unit in `lang`'s words and grammatical number, from CLDR through
    Babel: 35 days / 35 jours / 1 día / 1,5 an. A unit CLDR does not know is written as given (350 USD)."""
    if not unit:
        return formatted
    try:
        text = format_unit(_number(value), CLDR_UNITS.get(unit, unit), locale=lang)
    except UnknownUnitError:
        return t("charts.amount", lang, value=formatted, unit=unit)
    # Babel wrote the number its own way (it groups 4 digits in Spanish, the portal does not): ours instead.
    return text.replace(format_decimal(value, locale=lang), formatted, 1)


def fmt_date(d: dt.date, lang: str, format: str = "medium") -> str:
    """A date for `lang` in a CLDR format ("short", "medium", "long", "full"): Mar 5, 2024 / 5 mars 2024."""
    return format_date(d, format=format, locale=lang)
