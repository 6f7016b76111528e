"""The mapping file: which form fields are the portal's standard variables, which are sensitive or not
public, under which theme each appears, and which are left out. `propose` writes one from a form for
the user to check and edit; `read_mapping` reads it back and checks it against the form.

    dataset: core                       # one of the portal's datasets (core/settings.py DATASETS)
    title: {en: ..., fr: ..., es: ...}  # optional: the dataset's title and description
    description: {en: ..., fr: ..., es: ...}
    period: {start: 2024-01-01, end: 2024-12-31}   # optional: the fieldwork window (else the data's)
    standard:                           # standard variable -> form field
      respondent_id: resp_id
      interview_date: today
      country_of_interview: country
      region_of_interview: region       # or leave it out and give `regions`
      nationality: nationality
      gender: gender
      age: age                          # age_band is made from it with `age_bands`
    age_bands: [18, 25, 35, 45, 55]
    regions:                            # only without a region field: region code -> label and countries
      north_africa: {label: {en: ..., fr: ..., es: ...}, countries: [LBY, TUN]}
    themes:                             # optional: theme id -> label; by default the form's top groups
      smuggling: {en: Smuggling, fr: Trafic de migrants, es: Tráfico de migrantes}
    fields:                             # every other form field: its variable, or `skip`
      used_smuggler: {theme: smuggling, sensitive: true, public: true}
      nationality_other: skip

A field keeps its form name unless `name:` renames it; `type: country` makes a select_one whose choices
are country codes (ISO 3166 alpha-2 or alpha-3) a country variable; `asked: {en, fr, es}`, `unit`, `min`
and `max` are as in data/codebooks/README.md. A form field the mapping does not name is loaded as not
public, with a warning. Under `fields`, a repeat group's name stands for its number of entries per
respondent, and a closed or number question inside it for its summary (core.ingest.repeats); no repeat
question can be a standard variable. Variable names are compared without regard to case (DuckDB's columns).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
import yaml

from core import settings
from core.data import versions
from core.data.codebook import SAFE_LOADER, STANDARD_VARIABLES, builtin_codebook
from core.ingest import files
from core.ingest.problems import WARNING, IngestError, Problem, refuse
from core.ingest.repeats import summary_of
from core.ingest.xlsform import DATE_TYPES, NUMBER_TYPES, SELECT_TYPES, Field, Form
from core.settings import DATASETS, LANGUAGES

# Standard variables read from a form field, and the form types each may come from.
FROM_FIELDS = {
    "respondent_id": None,  # any type: its text is the id
    "interview_date": DATE_TYPES,
    "country_of_interview": ("select_one",),
    "region_of_interview": ("select_one",),
    "nationality": ("select_one",),
    "gender": ("select_one",),
    "age": NUMBER_TYPES,
    "age_band": ("select_one",),
}
# Only the id and the interview date are needed (quarters and years come from it); every other standard
# variable is optional: a one-country survey has no country question, many surveys no nationality.
REQUIRED = ("respondent_id", "interview_date")
# Columns every KoBoToolbox or ODK Central export adds, which may be the id or the interview date though the
# form does not have them: name -> XLSForm type.
EXPORT_META = {"_uuid": "text", "_id": "integer", "KEY": "text", "instanceID": "text", "meta/instanceID": "text",
               "_submission_time": "datetime", "SubmissionDate": "datetime"}
# Answers to a country question that are no country, proposed to be kept as categories of their own.
_NO_COUNTRY_WORDS = {"stateless", "other", "others", "none", "refused", "refuse", "refusetoanswer", "prefernottosay",
                     "prefernottoanswer", "dontknow", "donotknow", "dk", "unknown", "notsure", "noanswer",
                     "doesnotwishtoanswer", "declined", "decline", "autre", "otro", "nsp", "nr", "na"}


class _NoCountry:
    """Answers to a country question that are no country ("stateless", "NoAnswer", "dont_know")."""

    @staticmethod
    def match(text: str) -> bool:
        return re.sub(r"[^a-z]", "", text.lower()) in _NO_COUNTRY_WORDS and country_code(text) is None


NO_COUNTRY = _NoCountry()
KEEP = "keep"  # in `recode`: the answer stays a category of its own
DERIVED = ("interview_quarter", "interview_year")  # always made from interview_date
DEFAULT_AGE_BANDS = (18, 25, 35, 45, 55)
FIELD_KEYS = {"name", "type", "theme", "sensitive", "public", "asked", "unit", "min", "max", "bins"}
TOP_KEYS = {"dataset", "title", "description", "period", "standard", "age_bands", "regions", "themes", "fields",
            "recode"}
GENERAL_THEME = "general"
# Words in a field's name or label that make the proposal call it sensitive (design.md rule 5): protection
# incidents and risks, child protection (child marriage and labour), health.
_SENSITIVE = re.compile(r"smuggl|incident|violen|abuse|kidnap|detain|detention|sexual|rape|perpetrat|traffick|"
                        r"extort|robb|torture|death|died|protection|passeur|trafic|exploit|harass|assault|"
                        r"threat|gbv|sgbv|forced|arrest|marri|child_?lab|labou?r|work_?child|child_?work|"
                        r"health|medical|disab|pregnan|mental|psycho|trauma|injur|beaten|beat_|mistreat|"
                        r"maltrat|abus|explot|salud|sant[eé]", re.IGNORECASE)
# ... and not public: places finer than a country, exact ages and dates (design.md rule 8).
_NOT_PUBLIC = re.compile(r"town|city|village|location|gps|adm[1-5]|district|camp|site|neighbo|name|phone|"
                         r"address|household|hh_|_hh|member", re.IGNORECASE)
# Form types the portal can hold as a variable; the others are left out (text may name people).
LOADABLE = SELECT_TYPES + NUMBER_TYPES + DATE_TYPES
# Metadata a form records by itself: an interview date when mapped so, otherwise left out without a word.
METADATA = ("start", "end", "today", "datetime")


def loadable(f: Field) -> bool:
    """Whether a field can be a variable: a closed, number or date question of the main sheet, or a repeat
    group's count or summary (core.ingest.repeats)."""
    return summary_of(f) is not None if f.repeat else f.type in LOADABLE


def proposed(f: Field) -> bool:
    """Whether the proposal offers the field as a variable (metadata only as a standard variable)."""
    return loadable(f) and f.type not in METADATA


@dataclass(frozen=True)
class Region:
    code: str
    labels: dict[str, str]
    countries: tuple[str, ...]


@dataclass(frozen=True)
class FieldMap:
    field: str
    name: str
    type: str | None = None       # "country" to override; else from the form
    theme: str | None = None
    sensitive: bool = False
    public: bool = False
    asked: dict[str, str] | None = None
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    bins: list[float] | None = None  # a number's fixed public intervals (codebook `bins`)
    line: int | None = None


@dataclass
class Mapping:
    file: str
    dataset: str
    standard: dict[str, str]              # standard variable -> form field
    fields: dict[str, FieldMap | None]    # form field -> its variable, None: skipped
    title: dict[str, str] | None = None
    description: dict[str, str] | None = None
    period: tuple[dt.date, dt.date] | None = None
    age_bands: tuple[int, ...] = DEFAULT_AGE_BANDS
    regions: tuple[Region, ...] = ()
    themes: dict[str, dict[str, str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)   # "standard.gender", "fields.x" -> line in the file
    problems: list[Problem] = field(default_factory=list)  # warnings
    # country field -> its answer -> ISO 3166 alpha-3 code, or None: kept as a category of its own
    recode: dict[str, dict[str, str | None]] = field(default_factory=dict)


def country_code(code: str) -> str | None:
    """ISO 3166 alpha-3 for an alpha-2 or alpha-3 code in any case ("NA", "nam" -> "NAM"), else None."""
    text = code.strip()
    if len(text) == 3:
        found = pycountry.countries.get(alpha_3=text.upper())
    elif len(text) == 2:
        found = pycountry.countries.get(alpha_2=text.upper())
    else:
        return None
    return found.alpha_3 if found else None


def is_country_list(form: Form, f: Field) -> bool:
    choices = form.choices(f)
    return f.type == "select_one" and len(choices) >= 3 and all(country_code(c.name) for c in choices)


# --- proposal ------------------------------------------------------------------------------------------

def _guess(form: Form) -> dict[str, str]:
    """Standard variable -> form field, from names and types (the user checks the result)."""
    def find(patterns, types, exclude=()):
        for pattern in patterns:
            for f in form.fields.values():
                if f.name in exclude or f.repeat or (types and f.type not in types):
                    continue  # a question in a repeat (a household member's age) is no respondent's answer
                if re.search(pattern, f.name, re.IGNORECASE):
                    return f.name
        return None

    guess = {}
    taken: set[str] = set()
    rules = [
        ("respondent_id", [r"^respondent_?id$", r"^resp_?id$", r"^respondent.*_?id$", r"^_?uuid$"], None),
        ("interview_date", [r"interview_?date", r"date_?(of_)?interview", r"^survey_?date$"], ("date", "datetime")),
        ("country_of_interview", [r"country_?(of_)?interview", r"interview_?country", r"^country$"], ("select_one",)),
        ("nationality", [r"nationality", r"citizenship", r"country_?of_?origin"], ("select_one",)),
        ("gender", [r"^gender$", r"^sex$", r"gender|sex"], ("select_one",)),
        ("age", [r"^age$", r"^age_?years$", r"^age"], NUMBER_TYPES),
        ("region_of_interview", [r"region_?(of_)?interview", r"^region$"], ("select_one",)),
        ("age_band", [r"age_?band", r"age_?group"], ("select_one",)),
    ]
    for variable, patterns, types in rules:
        found = find(patterns, types, taken)
        if found is None and variable == "interview_date":
            # the day of the interview as the device recorded it; never another date question (an arrival
            # or a return date is not when the interview took place)
            found = find([r"^today$", r"^start$"], ("today", "start"), taken) or "_submission_time"
        if found is None and variable == "respondent_id":
            found = "_uuid"  # every Kobo export has it (ODK Central: KEY)
        if found:
            guess[variable], taken = found, taken | {found}
    return guess


def export_meta_field(name: str) -> Field | None:
    """A column that Kobo or ODK adds to every export, as a form field (to be the id or the date)."""
    kind = EXPORT_META.get(name)
    return Field(name=name, type=kind, list_name=None, labels={}, groups=(), row=0) if kind else None


_DEMONYM_ENDINGS = ("ian", "ean", "ese", "ish", "ean", "an", "i", "e", "n")


def guess_country(choice_name: str, labels: dict[str, str]) -> str | None:
    """The ISO 3166 alpha-3 code of a country answer written as a word ("syria", "syrian", "Afghan", a
    label "Sudan"), or None when no single country fits; the user checks the proposal."""
    words = {choice_name, *labels.values()}
    for word in words:
        code = country_code(word)
        if code:
            return code
        try:
            found = pycountry.countries.lookup(word.strip())
            return found.alpha_3
        except LookupError:
            pass
    for word in words:
        text = re.sub(r"[^a-z]", "", word.lower())
        stems = {text} | {text[:-len(e)] for e in _DEMONYM_ENDINGS if text.endswith(e) and len(text) - len(e) >= 4}
        matches = set()
        for stem in stems:
            for c in pycountry.countries:
                names = [getattr(c, "common_name", ""), c.name]
                if any(re.sub(r"[^a-z]", "", n.lower()).startswith(stem) for n in names if n):
                    matches.add(c.alpha_3)
        if len(matches) == 1:
            return matches.pop()
    return None


def _theme_of(f: Field) -> str:
    return f.groups[0].name if f.groups else GENERAL_THEME


def _name(name: str) -> str:
    """A field name as a YAML scalar that reads back as the same text (`no`, `False`, `1` are quoted)."""
    return yaml.safe_dump(name, width=10**6).split("\n")[0]


def _flow(mapping: dict) -> str:
    return yaml.safe_dump(mapping, default_flow_style=True, allow_unicode=True, sort_keys=False, width=10**6).strip()


DATASET_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")


def reference_codebook(dataset: str):
    """The codebook whose standard variables' labels and themes a dataset's loads reuse: its own built-in
    one, or for a dataset created from a form, the core survey's (the labels of the standard variables)."""
    return builtin_codebook(dataset if dataset in DATASETS else "core")


def is_sensitive(form: Form, f: Field) -> bool:
    label = " ".join(f.labels.values())
    return bool(_SENSITIVE.search(f.name) or _SENSITIVE.search(label) or
                any(_SENSITIVE.search(g.name) or _SENSITIVE.search(" ".join(g.labels.values())) for g in f.groups))


def proposed_public(form: Form, f: Field, sensitive: bool) -> bool:
    """Public only for a closed question that is not sensitive and not a place finer than a country, a
    name, a phone or a household detail: never free text, GPS, exact dates or numbers (a household size or
    an amount can single a household out). The admin widens it where it is safe."""
    return f.select and not sensitive and not _NOT_PUBLIC.search(f.name)


def country_like(form: Form, f: Field) -> bool:
    """A select_one whose choices are mostly countries (codes or names), e.g. a nationality list with
    `syrian` and `stateless`."""
    choices = form.choices(f)
    if f.type != "select_one" or len(choices) < 3:
        return False
    found = sum(1 for c in choices if guess_country(c.name, c.labels))
    kept = sum(1 for c in choices if NO_COUNTRY.match(c.name))
    return found >= 2 and found + kept >= 0.6 * len(choices)


def proposed_recode(form: Form, f: Field) -> dict[str, str] | None:
    """choice -> ISO alpha-3 code ("keep" for an answer that is no country, "TODO" where none fits) of a
    country question whose choices are not all ISO codes; None when they all are."""
    choices = form.choices(f)
    if all(country_code(c.name) for c in choices):
        return None
    out = {}
    for c in choices:
        if country_code(c.name):
            continue
        out[c.name] = KEEP if NO_COUNTRY.match(c.name) else (guess_country(c.name, c.labels) or "TODO")
    return out


def propose(form: Form, dataset: str) -> str:
    """A mapping for `form` as YAML text, with comments, for the user to check and edit. `dataset` is one of
    the portal's datasets, or the name of a new one (`python -m scripts.ingest create`)."""
    if dataset not in versions.datasets() and not DATASET_NAME.fullmatch(dataset or ""):
        raise refuse("dataset_name", dataset=str(dataset))
    builtin = reference_codebook(dataset)
    created = dataset not in DATASETS
    guess = _guess(form)
    standard_fields = set(guess.values())
    title = {lang: (form.title or form.form_id or dataset) for lang in LANGUAGES} if created else builtin.titles
    lines = [
        f"# Mapping of the form {form.title or form.form_id or form.file!r} ({form.file}) to the portal's "
        f"dataset {dataset!r}.",
        "# Proposed by `python -m scripts.ingest propose-mapping`: check every line, edit, and keep it with "
        "the form.",
        "# The schema is in core/ingest/mapping.py and README.md (Loading real data).",
        f"dataset: {dataset}",
        f"title: {_flow(title)}",
    ]
    if not created:
        lines.append(f"description: {_flow(builtin.descriptions)}")
    lines += [
        "# period: {start: 2024-01-01, end: 2024-12-31}   # the fieldwork window; default: first to last "
        "interview",
        "standard:   # the portal's standard variables: the form field that holds each (only the id and the "
        "date are needed)",
    ]
    for variable in ("respondent_id", "interview_date", "country_of_interview", "region_of_interview",
                     "nationality", "gender", "age", "age_band"):
        if variable in guess:
            note = "   # a column of every Kobo export" if guess[variable] in EXPORT_META else ""
            lines.append(f"  {variable}: {_name(guess[variable])}{note}")
        elif variable == "region_of_interview":
            lines.append("  # region_of_interview: no region field found" +
                         (": give `regions` below" if "country_of_interview" in guess and not created else
                          " (optional: `regions` can group the countries of interview)"))
        elif variable == "age_band":
            lines.append("  # age_band: made from age with age_bands" if "age" in guess else
                         "  # age_band: no field found")
        else:
            lines.append(f"  # {variable}: no field found; name the form field if the survey asks it")
    if "age" in guess and created:  # a survey of its own may ask about children too
        lines.append(f"age_bands: {[0, *DEFAULT_AGE_BANDS]}   # lower bounds: under 18, 18-24, 25-34, 35-44, "
                     "45-54, 55 and over")
    elif "age" in guess:
        lines.append(f"age_bands: {list(DEFAULT_AGE_BANDS)}   # lower bounds: 18-24, 25-34, 35-44, 45-54, 55 and over")
    if "region_of_interview" not in guess and "country_of_interview" in guess and not created:
        lines += _proposed_regions(form, guess.get("country_of_interview"), builtin)
    # Country questions whose answers are not ISO codes: recoded here.
    recodes = {}
    for variable in ("country_of_interview", "nationality"):
        f = form.fields.get(guess.get(variable, ""))
        if f is not None and f.select and (found := proposed_recode(form, f)):
            recodes[f.name] = found
    country_fields = {f.name for f in form.fields.values() if f.name not in standard_fields and
                      f.type == "select_one" and not f.repeat and (is_country_list(form, f) or country_like(form, f))}
    for name in country_fields:
        if (found := proposed_recode(form, form.fields[name])):
            recodes[name] = found
    if recodes:
        lines.append("recode:   # country answers that are not ISO 3166 codes: answer -> code, or keep (a category "
                     "of its own); replace every TODO")
        for name, table in recodes.items():
            lines.append(f"  {_name(name)}: {_flow(table)}")
    offered = [f for f in form.fields.values() if proposed(f) or f.name in standard_fields]
    themes = list(dict.fromkeys(_theme_of(f) for f in offered))
    known = {t.id: t.labels for t in builtin.themes}
    lines.append("themes:   # theme id -> label; by default the form's top-level groups")
    for theme in themes:
        labels = known.get(theme) if not created else None
        if labels is None:
            group = next((g for f in form.fields.values() for g in f.groups[:1] if g.name == theme), None)
            labels = {lang: form.label(group.labels, lang, theme) for lang in LANGUAGES} if group else \
                {"en": "General", "fr": "Général", "es": "General"}
        lines.append(f"  {theme}: {_flow(labels)}")
    lines.append("fields:   # every other form field: its variable (name, type, theme, sensitive, public), or skip")
    # A household member's "Nationality" in a repeat group is renamed beside the respondent's "nationality".
    taken = _reserved(guess)
    for f in form.fields.values():
        if f.name in standard_fields or f.type == "note":
            continue
        if not proposed(f):
            lines.append(f"  {_name(f.name)}: skip   # {_skip_reason(f)}")
            continue
        entry = {"theme": _theme_of(f)}
        variable = _free_name(f.name, taken)
        if variable != f.name:
            entry = {"name": variable, **entry}
        if f.name in country_fields:
            entry["type"] = "country"
        entry["sensitive"] = is_sensitive(form, f)
        entry["public"] = proposed_public(form, f, entry["sensitive"])
        note = _SUMMARY_NOTES.get(summary_of(f), "")
        lines.append(f"  {_name(f.name)}: {_flow(entry)}" + (f"   # {note}" if note else ""))
    return "\n".join(lines) + "\n"


def _reserved(standard) -> set[str]:
    """Variable names taken before the fields': the standard ones. Names are column names, which the query
    engine (DuckDB) compares without regard to case."""
    return {n.casefold() for n in [*standard, *DERIVED, "age_band", "region_of_interview", *STANDARD_VARIABLES]}


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or `name_2` (`name_2_`...) when taken; taken from now on."""
    while name.casefold() in taken:
        name += "_2" if not name.endswith("_2") else "_"
    taken.add(name.casefold())
    return name


_SUMMARY_NOTES = {"count": "repeat group: its number of entries per respondent",
                  "any": "in a repeat group: the answers given in any entry",
                  "sum": "in a repeat group: the sum over the entries"}


def _skip_reason(f: Field) -> str:
    if f.repeat:
        return f"in a repeat group: a {f.type} question is not summarised per respondent"
    if f.type == "text":
        return "free text may name people"
    return "form metadata" if f.type in METADATA else f"type {f.type} is not loaded"


def _proposed_regions(form: Form, country_field: str | None, builtin) -> list[str]:
    from core.data.synthetic import CORE_SITES  # the 4Mi regions of the countries the core survey covers

    regions = builtin["region_of_interview"].choices
    countries: dict[str, list[str]] = {c.code: [] for c in regions}
    unassigned = []
    f = form.fields.get(country_field or "")
    for choice in form.choices(f) if f else []:
        code = country_code(choice.name)
        region = CORE_SITES.get(code, (None,))[0] if code else None
        if region in countries:
            countries[region].append(choice.name)
        elif code:
            unassigned.append(choice.name)
    lines = ["regions:   # region of interview -> its label and the countries of interview in it"]
    for c in regions:
        lines.append(f"  {c.code}: {{label: {_flow(c.labels)}, countries: {_flow(countries[c.code])}}}")
    if unassigned:
        lines.append(f"  # TODO: not in any region yet: {', '.join(unassigned)}")
    return lines


# --- reading ---------------------------------------------------------------------------------------------

def _key_lines(node) -> dict[str, int]:
    """The line of each top-level key and of each key under `standard` and `fields`, for messages."""
    out = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in ("standard", "fields") and \
                    isinstance(value, yaml.MappingNode):
                for sub, _ in value.value:
                    if isinstance(sub, yaml.ScalarNode):
                        out[f"{key.value}.{sub.value}"] = sub.start_mark.line + 1
            if isinstance(key, yaml.ScalarNode):
                out[key.value] = key.start_mark.line + 1
    return out


def _labels(raw, where: str, name: str, line: int | None) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(str(raw.get(lang) or "").strip() for lang in LANGUAGES):
        raise refuse("mapping_labels", file=name, row=line, key=where, languages=", ".join(LANGUAGES))
    return {lang: str(raw[lang]).strip() for lang in LANGUAGES}


def _bool(value, key: str, name: str, line: int | None) -> bool:
    if not isinstance(value, bool):
        raise refuse("mapping_value", file=name, row=line, key=key, value=str(value))
    return value


def _number(value, key: str, name: str, line: int | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse("mapping_value", file=name, row=line, key=key, value=str(value))
    return float(value)


def _bins(value, key: str, name: str, line: int | None) -> list[float] | None:
    """A number's public intervals: a list of increasing numbers."""
    if value is None:
        return None
    edges = [_number(v, key, name, line) for v in value] if isinstance(value, list) else None
    if not edges or any(b >= c for b, c in zip(edges, edges[1:])):
        raise refuse("mapping_value", file=name, row=line, key=key, value=str(value))
    return edges


def read_mapping(path: Path, form: Form, name: str | None = None, dataset: str | None = None) -> Mapping:
    """The mapping file at `path`, checked against `form`. `dataset`, when given, must be the mapping's."""
    name = files.display_name(path, name)
    ext = Path(name).suffix.lower()
    if ext not in files.MAPPING_EXTENSIONS:
        raise refuse("unsupported_extension", file=name, extension=ext or "-",
                     allowed=", ".join(files.MAPPING_EXTENSIONS))
    files.check_size(path, name, settings.INGEST_MAX_FORM_MB)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise refuse("not_utf8", file=name, row=text_line(Path(path).read_bytes(), e.start), encoding="utf-8",
                     byte=f"0x{Path(path).read_bytes()[e.start]:02X}") from None
    return parse_mapping(text, form, name, dataset)


def text_line(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def parse_mapping(text: str, form: Form, name: str = "mapping.yaml", dataset: str | None = None) -> Mapping:
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
        raw = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise refuse("mapping_yaml", file=name, row=mark.line + 1 if mark else None,
                     detail=str(getattr(e, "problem", "") or e)) from None
    if not isinstance(raw, dict):
        raise refuse("mapping_yaml", file=name, detail="not a mapping of keys to values")
    lines = _key_lines(node)
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for key in raw:
        if key not in TOP_KEYS:
            errors.append(Problem("mapping_key", {"key": str(key), "allowed": ", ".join(sorted(TOP_KEYS))},
                                  file=name, row=lines.get(str(key))))
    ds = raw.get("dataset")
    known = versions.datasets()
    if ds not in known and not (ds == dataset and DATASET_NAME.fullmatch(str(ds))):  # or one being created
        raise refuse("dataset_unknown", file=name, row=lines.get("dataset"), dataset=str(ds), known=", ".join(known))
    if dataset is not None and ds != dataset:
        raise refuse("mapping_other_dataset", file=name, row=lines.get("dataset"), found=ds, dataset=dataset)

    title = _labels(raw["title"], "title", name, lines.get("title")) if raw.get("title") else None
    description = _labels(raw["description"], "description", name, lines.get("description")) \
        if raw.get("description") else None
    period = None
    if raw.get("period"):
        p = raw["period"]
        if not isinstance(p, dict):
            raise refuse("mapping_value", file=name, row=lines.get("period"), key="period", value=str(p)[:80])
        try:
            period = (dt.date.fromisoformat(str(p["start"])), dt.date.fromisoformat(str(p["end"])))
        except (TypeError, KeyError, ValueError):
            raise refuse("mapping_value", file=name, row=lines.get("period"), key="period", value=str(p)) from None
        if period[0] > period[1]:
            raise refuse("mapping_value", file=name, row=lines.get("period"), key="period", value=str(p))

    # standard variables
    standard_raw = raw.get("standard") or {}
    if not isinstance(standard_raw, dict):
        raise refuse("mapping_value", file=name, row=lines.get("standard"), key="standard", value=str(standard_raw))
    standard: dict[str, str] = {}
    for variable, field_name in standard_raw.items():
        line = lines.get(f"standard.{variable}")
        if variable not in FROM_FIELDS:
            errors.append(Problem("mapping_standard_unknown", {"variable": str(variable),
                                                                "allowed": ", ".join(FROM_FIELDS)},
                                  file=name, row=line))
            continue
        if field_name is None:
            continue
        f = form.fields.get(str(field_name))
        if f is None and variable in ("respondent_id", "interview_date"):
            f = export_meta_field(str(field_name))  # _uuid, _id, _submission_time...: a column of the export
            if f is not None:
                form.fields[f.name] = f
        if f is None:
            errors.append(Problem("mapping_field_unknown", {"field": str(field_name), "form": form.file},
                                  file=name, row=line))
            continue
        if f.repeat:  # a standard variable has one answer per respondent; an entry of a repeat is not one
            errors.append(Problem("mapping_field_in_repeat", {"field": f.name, "variable": variable,
                                                              "group": form.repeats[f.repeat].group.name},
                                  file=name, row=line))
            continue
        types = FROM_FIELDS[variable]
        if types is not None and f.type not in types:
            errors.append(Problem("mapping_field_type", {"field": f.name, "type": f.type, "variable": variable,
                                                         "expected": ", ".join(types)}, file=name, row=line))
            continue
        if f.name in standard.values():
            errors.append(Problem("mapping_field_twice", {"field": f.name}, file=name, row=line))
            continue
        standard[variable] = f.name
    for variable in REQUIRED:
        if variable not in standard and not any(p.params.get("variable") == variable for p in errors):
            errors.append(Problem("mapping_standard_missing", {"variable": variable}, file=name,
                                  row=lines.get("standard")))

    age_bands = raw.get("age_bands", list(DEFAULT_AGE_BANDS))
    if not (isinstance(age_bands, list) and age_bands and all(isinstance(b, int) and not isinstance(b, bool)
                                                                and b >= 0 for b in age_bands)
            and age_bands == sorted(set(age_bands))):
        errors.append(Problem("mapping_value", {"key": "age_bands", "value": str(age_bands)}, file=name,
                              row=lines.get("age_bands")))
        age_bands = list(DEFAULT_AGE_BANDS)

    regions: list[Region] = []
    if raw.get("regions"):
        if "region_of_interview" in standard:
            errors.append(Problem("mapping_regions_twice", {}, file=name, row=lines.get("regions")))
        elif not isinstance(raw["regions"], dict):
            errors.append(Problem("mapping_value", {"key": "regions", "value": str(raw["regions"])[:80]},
                                  file=name, row=lines.get("regions")))
        else:
            seen_countries: dict[str, str] = {}
            for code, entry in raw["regions"].items():
                if not isinstance(entry, dict) or not isinstance(entry.get("countries") or [], list):
                    errors.append(Problem("mapping_value", {"key": f"regions.{code}", "value": str(entry)[:80]},
                                          file=name, row=lines.get("regions")))
                    continue
                labels = _labels(entry.get("label"), f"regions.{code}.label", name, lines.get("regions"))
                countries = []
                for c in entry.get("countries") or []:
                    # YAML 1.1 reads an unquoted NO (Norway) as false
                    iso3 = country_code("NO" if c is False else str(c))
                    if iso3 is None:
                        errors.append(Problem("mapping_country", {"code": str(c), "key": f"regions.{code}"},
                                              file=name, row=lines.get("regions")))
                    elif iso3 in seen_countries:
                        errors.append(Problem("mapping_country_twice", {"code": str(c), "first": seen_countries[iso3],
                                                                        "second": str(code)},
                                              file=name, row=lines.get("regions")))
                    else:
                        seen_countries[iso3] = str(code)
                        countries.append(iso3)
                regions.append(Region(str(code), labels, tuple(countries)))

    recode: dict[str, dict[str, str | None]] = {}
    recode_raw = raw.get("recode") or {}
    if not isinstance(recode_raw, dict):
        raise refuse("mapping_value", file=name, row=lines.get("recode"), key="recode", value=str(recode_raw)[:80])
    for field_name, table in recode_raw.items():
        f = form.fields.get(str(field_name))
        where = f"recode.{field_name}"
        if f is None or f.type != "select_one" or f.repeat:
            errors.append(Problem("mapping_field_unknown" if f is None else "mapping_value",
                                  {"field": str(field_name), "form": form.file} if f is None else
                                  {"key": where, "value": f.type}, file=name, row=lines.get("recode")))
            continue
        if not isinstance(table, dict):
            errors.append(Problem("mapping_value", {"key": where, "value": str(table)[:80]}, file=name,
                                  row=lines.get("recode")))
            continue
        choices = {c.name for c in form.choices(f)}
        recode[f.name] = {}
        for choice, code in table.items():
            choice = "NO" if choice is False else str(choice)  # YAML 1.1 reads an unquoted NO as false
            if choice not in choices:
                errors.append(Problem("mapping_recode_choice", {"choice": choice, "field": f.name,
                                                                 "list": f.list_name or ""},
                                      file=name, row=lines.get("recode")))
                continue
            if str(code).strip().lower() == KEEP:
                recode[f.name][choice] = None
                continue
            iso3 = country_code("NO" if code is False else str(code))
            if iso3 is None:
                errors.append(Problem("mapping_country", {"code": str(code), "key": f"{where}.{choice}"},
                                      file=name, row=lines.get("recode")))
                continue
            recode[f.name][choice] = iso3

    themes = {}
    themes_raw = raw.get("themes") or {}
    if not isinstance(themes_raw, dict):
        raise refuse("mapping_value", file=name, row=lines.get("themes"), key="themes", value=str(themes_raw)[:80])
    for theme, labels in themes_raw.items():
        themes[str(theme)] = _labels(labels, f"themes.{theme}", name, lines.get("themes"))

    # the other fields
    fields: dict[str, FieldMap | None] = {}
    fields_raw = raw.get("fields") or {}
    if not isinstance(fields_raw, dict):
        raise refuse("mapping_value", file=name, row=lines.get("fields"), key="fields", value=str(fields_raw)[:80])
    for field_name, entry in fields_raw.items():
        line = lines.get(f"fields.{field_name}")
        f = form.fields.get(str(field_name))
        if f is None:
            errors.append(Problem("mapping_field_unknown", {"field": str(field_name), "form": form.file},
                                  file=name, row=line))
            continue
        if f.name in standard.values():
            errors.append(Problem("mapping_field_twice", {"field": f.name}, file=name, row=line))
            continue
        if entry == "skip" or entry is False:
            fields[f.name] = None
            continue
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            errors.append(Problem("mapping_value", {"key": f"fields.{f.name}", "value": str(entry)[:80]},
                                  file=name, row=line))
            continue
        unknown = set(entry) - FIELD_KEYS
        if unknown:
            errors.append(Problem("mapping_key", {"key": ", ".join(sorted(map(str, unknown))),
                                                  "allowed": ", ".join(sorted(FIELD_KEYS))}, file=name, row=line))
            continue
        if not loadable(f):
            errors.append(Problem("mapping_repeat_type" if f.repeat else "mapping_type_unsupported",
                                  {"field": f.name, "type": f.type}, file=name, row=line))
            continue
        override = entry.get("type")
        if override is not None and not (override == "country" and f.type == "select_one" and not f.repeat):
            errors.append(Problem("mapping_value", {"key": f"fields.{f.name}.type", "value": str(override)},
                                  file=name, row=line))
            continue
        try:
            fields[f.name] = FieldMap(
                field=f.name, name=str(entry.get("name") or f.name), type=override,
                theme=str(entry["theme"]) if entry.get("theme") else None,
                sensitive=_bool(entry.get("sensitive", False), f"fields.{f.name}.sensitive", name, line),
                public=_bool(entry.get("public", True), f"fields.{f.name}.public", name, line),
                asked=_labels(entry["asked"], f"fields.{f.name}.asked", name, line) if entry.get("asked") else None,
                unit=str(entry["unit"]) if entry.get("unit") else None,
                min=_number(entry.get("min"), f"fields.{f.name}.min", name, line),
                max=_number(entry.get("max"), f"fields.{f.name}.max", name, line),
                bins=_bins(entry.get("bins"), f"fields.{f.name}.bins", name, line), line=line)
        except IngestError as e:
            errors.extend(e.problems)
    taken = _reserved(standard) | {fm.name.casefold() for fm in fields.values() if fm is not None}
    for f in form.fields.values():
        if f.name not in fields and f.name not in standard.values() and proposed(f):
            warnings.append(Problem("field_unmapped", {"field": f.name}, file=name, level=WARNING))
            fields[f.name] = FieldMap(field=f.name, name=_free_name(f.name, taken), public=False)
    names = _reserved(standard)
    for fm in fields.values():
        if fm is None:
            continue
        if fm.name.casefold() in names:
            errors.append(Problem("mapping_name_clash", {"name": fm.name}, file=name, row=fm.line))
        names.add(fm.name.casefold())
    if errors:
        raise IngestError(errors)
    return Mapping(file=name, dataset=ds, standard=standard, fields=fields, title=title, description=description,
                   period=period, age_bands=tuple(age_bands), regions=tuple(regions), themes=themes, lines=lines,
                   problems=warnings, recode=recode)
