"""Codebooks: the one description of each dataset's variables, their types, themes and labels.

The schema is documented in data/codebooks/README.md. Everything that shows or queries data reads
variables from here, so a question added to a codebook appears everywhere without new code.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
import yaml
from babel import Locale

from core import settings
from core.settings import DATASETS, LANGUAGES

TYPES = ("id", "single", "multiple", "number", "date", "country", "quarter", "year")
# Types whose values are categories that can be rows, columns or filters of a table.
CATEGORICAL = ("single", "multiple", "country", "quarter", "year")
STANDARD_VARIABLES = (
    "respondent_id", "interview_date", "interview_quarter", "interview_year", "country_of_interview",
    "region_of_interview", "nationality", "gender", "age", "age_band",
)
REQUIRED_VARIABLES = ("respondent_id", "interview_date", "interview_quarter", "interview_year")
# libyaml's safe loader when PyYAML has it (ten times faster than the pure-Python one), else that one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Types a theme page draws a chart for (components/question.py says which chart for which type).
CHARTED = ("single", "multiple", "country", "number", "quarter", "year")
# What a chart is broken down by first, in this order; then the dataset's other single-choice questions.
STANDARD_BREAKDOWNS = ("gender", "age_band", "region_of_interview", "country_of_interview", "nationality",
                       "interview_quarter")
# Code of the category that rule 8 merges small categories into; never a real choice code.
OTHER = "_other"
OTHER_LABELS = {"en": "Other", "fr": "Autre", "es": "Otro"}


class CodebookError(ValueError):
    """A codebook file does not follow the schema in data/codebooks/README.md."""


@dataclass(frozen=True)
class Choice:
    code: str
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    theme: str
    labels: dict[str, str]
    sensitive: bool = False
    public: bool = True
    choices: tuple[Choice, ...] = ()
    asked: dict[str, str] | None = None
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    # A number question's fixed public intervals (rule 12): increasing lower edges, the last one open.
    bins: tuple[float, ...] = ()

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.choices]

    @property
    def categorical(self) -> bool:
        return self.type in CATEGORICAL

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]

    def choice_label(self, code: str, lang: str) -> str:
        """The label of one category code in `lang`, for every categorical type."""
        if code == OTHER:
            return OTHER_LABELS.get(lang, OTHER_LABELS["en"])
        if self.type == "country":
            # a country question's answers that are no country ("stateless", "other") have choices of their own
            kept = next((c for c in self.choices if c.code == code), None)
            return kept.label(lang) if kept else country_name(code, lang)
        if self.type == "quarter":
            return quarter_label(code, lang)
        if self.type == "year":
            return code
        for c in self.choices:
            if c.code == code:
                return c.label(lang)
        return code


@dataclass(frozen=True)
class Theme:
    id: str
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]


@dataclass(frozen=True)
class Codebook:
    dataset: str
    titles: dict[str, str]
    descriptions: dict[str, str]
    period_start: dt.date
    period_end: dt.date
    themes: tuple[Theme, ...]
    variables: dict[str, Variable] = field(default_factory=dict)

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles["en"]

    def description(self, lang: str) -> str:
        return self.descriptions.get(lang) or self.descriptions["en"]

    def __getitem__(self, name: str) -> Variable:
        try:
            return self.variables[name]
        except KeyError:
            raise KeyError(f"{self.dataset} has no variable {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.variables

    def by_theme(self, theme: str) -> list[Variable]:
        return [v for v in self.variables.values() if v.theme == theme]

    def quarters(self) -> list[str]:
        return quarters_between(self.period_start, self.period_end)

    def years(self) -> list[str]:
        return [str(y) for y in range(self.period_start.year, self.period_end.year + 1)]

    def period_codes(self, var: Variable) -> list[str]:
        """Every code of a quarter or year variable over the codebook's period, in time order."""
        return self.quarters() if var.type == "quarter" else self.years()


def quarter_of(date: dt.date) -> str:
    return f"{date.year}Q{(date.month - 1) // 3 + 1}"


def quarters_between(start: dt.date, end: dt.date) -> list[str]:
    out, year, quarter = [], start.year, (start.month - 1) // 3 + 1
    last = quarter_of(end)
    while True:
        out.append(f"{year}Q{quarter}")
        if out[-1] == last:
            return out
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def quarter_label(code: str, lang: str) -> str:
    """'2020Q1' -> 'Q1 2020' / 'T1 2020' / 'T1 2020', with the quarter abbreviation from CLDR."""
    year, quarter = code.split("Q")
    abbreviation = Locale.parse(lang).quarters["format"]["abbreviated"][int(quarter)]
    return f"{abbreviation} {year}"


# Codes in use for places ISO 3166 leaves out, with their CLDR territory (Kosovo: XKX, as UN agencies, the
# World Bank and Kobo's country lists write it).
_USER_CODES = {"XKX": "XK"}


@functools.lru_cache(maxsize=4096)
def country_name(iso3: str, lang: str) -> str:
    """A country's name in `lang`: the one place the portal names a country (filters, charts, map,
    downloads, codebooks made from a survey's form all come here). From CLDR through Babel, ISO 3166
    alpha-3 to alpha-2 through pycountry; the code itself if unknown, never a name from another source
    (pycountry's English names are not CLDR's: "Türkiye" and "Turkey" would both appear)."""
    alpha_2 = _USER_CODES.get(iso3)
    if alpha_2 is None:
        country = pycountry.countries.get(alpha_3=iso3)
        if country is None:
            return iso3
        alpha_2 = country.alpha_2
    return Locale.parse(lang).territories.get(alpha_2, iso3)


def is_country_code(code: str) -> bool:
    return pycountry.countries.get(alpha_3=code) is not None


def _labels(raw, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise CodebookError(f"{where}: labels must be a mapping of {', '.join(LANGUAGES)}")
    missing = [lang for lang in LANGUAGES if not str(raw.get(lang) or "").strip()]
    if missing:
        raise CodebookError(f"{where}: missing label in {', '.join(missing)}")
    return {lang: str(raw[lang]) for lang in LANGUAGES}


def _date(raw, where: str) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise CodebookError(f"{where}: {raw!r} is not a date (YYYY-MM-DD)") from None


def parse_codebook(raw: dict, dataset: str) -> Codebook:
    """Validate a codebook mapping (as read from YAML) and build the Codebook."""
    if not isinstance(raw, dict) or "variables" not in raw:
        raise CodebookError(f"{dataset}: not a codebook (no 'variables')")
    themes = tuple(Theme(t["id"], _labels(t.get("label"), f"{dataset}: theme {t.get('id')}"))
                   for t in raw.get("themes", []))
    theme_ids = {t.id for t in themes}
    variables: dict[str, Variable] = {}
    for entry in raw["variables"]:
        name = entry.get("name")
        where = f"{dataset}: variable {name!r}"
        if not name or name in variables:
            raise CodebookError(f"{where}: missing or duplicate name")
        vtype = entry.get("type")
        if vtype not in TYPES:
            raise CodebookError(f"{where}: type {vtype!r} is not one of {', '.join(TYPES)}")
        if entry.get("theme") not in theme_ids:
            raise CodebookError(f"{where}: theme {entry.get('theme')!r} is not declared")
        choices = tuple(
            Choice(str(c["code"]), _labels(c.get("label"), f"{where}, choice {c.get('code')!r}"))
            for c in entry.get("choices") or []
        )
        if vtype in ("single", "multiple") and not choices:
            raise CodebookError(f"{where}: a {vtype} choice question needs choices")
        codes = [c.code for c in choices]
        if len(set(codes)) != len(codes) or OTHER in codes:
            raise CodebookError(f"{where}: choice codes must be unique and not {OTHER!r}")
        if vtype == "multiple" and len(codes) > 62:
            raise CodebookError(f"{where}: at most 62 choices fit the stored bit mask")
        bins = entry.get("bins") or ()
        if bins and (vtype != "number" or not all(isinstance(b, (int, float)) for b in bins)
                     or any(b >= c for b, c in zip(bins, bins[1:]))):
            raise CodebookError(f"{where}: bins must be increasing numbers, for a number question")
        variables[name] = Variable(
            name=name, type=vtype, theme=entry["theme"],
            labels=_labels(entry.get("label"), where),
            sensitive=bool(entry.get("sensitive", False)), public=bool(entry.get("public", True)),
            choices=choices,
            asked=_labels(entry["asked"], f"{where}, asked") if entry.get("asked") else None,
            unit=entry.get("unit"), min=entry.get("min"), max=entry.get("max"),
            bins=tuple(float(b) for b in bins),
        )
    # A dataset made from a survey's form has only the standard variables the survey asks (core/ingest);
    # the id and the interview date (and the periods made from it) every dataset has.
    missing = [v for v in REQUIRED_VARIABLES if v not in variables]
    if missing:
        raise CodebookError(f"{dataset}: standard variables missing: {', '.join(missing)}")
    period = raw.get("period") or {}
    return Codebook(
        dataset=dataset,
        titles=_labels(raw.get("title"), f"{dataset}: title"),
        descriptions=_labels(raw.get("description"), f"{dataset}: description"),
        period_start=_date(period.get("start"), f"{dataset}: period start"),
        period_end=_date(period.get("end"), f"{dataset}: period end"),
        themes=themes,
        variables=variables,
    )


def codebook_path(dataset: str, directory: Path | None = None) -> Path:
    return (directory or settings.CODEBOOK_DIR) / f"{dataset}.yaml"


@functools.lru_cache(maxsize=32)
def read_codebook(path: Path, dataset: str) -> Codebook:
    """The codebook in one YAML file, cached by path: a built-in codebook, or a loaded version's (a
    version's files never change once written, core/data/versions.py)."""
    with Path(path).open(encoding="utf-8") as f:
        return parse_codebook(yaml.load(f, Loader=SAFE_LOADER), dataset)  # noqa: S506 - a safe loader


def builtin_codebook(dataset: str) -> Codebook:
    """The codebook shipped in settings.CODEBOOK_DIR (read when called, so that a test can point it at
    codebooks of its own; clear the cache after): what the synthetic data are generated from."""
    if dataset not in DATASETS:
        raise KeyError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    return read_codebook(_builtin_path(os.fspath(settings.CODEBOOK_DIR), dataset), dataset)


@functools.lru_cache(maxsize=64)
def _builtin_path(directory: str, dataset: str) -> Path:
    return codebook_path(dataset, Path(directory))


def questions(codebook: Codebook, theme: str, tier: str) -> list[Variable]:
    """The questions of a theme that have a chart, those the tier may see."""
    return [v for v in codebook.by_theme(theme) if v.type in CHARTED and (tier != "public" or v.public)]


def breakdowns(codebook: Codebook, tier: str) -> list[str]:
    """What a chart can be broken down by: the standard variables, then every single-choice question
    the tier may see."""
    names = [n for n in STANDARD_BREAKDOWNS if n in codebook]
    names += [v.name for v in codebook.variables.values()
              if v.type == "single" and v.name not in names and (tier != "public" or v.public)]
    return names
