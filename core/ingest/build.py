"""From a form and its mapping to the portal's variables: what each variable is, how it is read from the
export (`VarPlan`), and the codebook written with the data (the schema of data/codebooks/README.md).

Labels come in the three languages from the form; a language the form lacks, or a label left empty,
falls back (core.ingest.xlsform.Form.label) and is reported. A label that a spreadsheet would run as a
formula (it begins with = + - @, a tab or a carriage return) is neutralised with core.query.export.neutralise,
the same rule as every download (a leading apostrophe, so that it reads as text), and reported with its
place: the portal shows the label as written with that apostrophe, and never hands a formula on.
Standard variables keep the portal's own labels and public flags (those of the built-in codebook), so that
filters read the same whatever the form called them, and ids, dates and exact ages stay out of the public tier.

A repeat group is kept summarised per respondent (core.ingest.repeats): its number of entries, and its
closed and number questions as the answers given in any entry and the sum over the entries, labelled so in
the codebook ("... (sum over the entries of ...)"), with `asked` saying whom the summary covers. An export
that cannot hold repeats (CSV: the main sheet only) leaves them out of the load, with a warning per group.

When a round is appended to an earlier version (`base`), every variable keeps its type and its choices
keep their order, new choices coming after the old ones: the stored multiple-choice bit masks of earlier
respondents stay valid. Variables of the earlier version that the new form lacks are kept (missing for
the new respondents); new ones are missing for the earlier respondents.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from core.data.codebook import OTHER, Codebook
from core.i18n import language_name, t
from core.ingest.mapping import GENERAL_THEME, Mapping, country_code, reference_codebook
from core.ingest.problems import INFO, WARNING, IngestError, Problem, row_problems
from core.ingest.repeats import ANY, COUNT, summary_of
from core.ingest.xlsform import CHOICES, DATE_TYPES, NUMBER_TYPES, SURVEY, Field, Form
from core.query.export import neutralise
from core.settings import DATASETS, LANGUAGES

MAX_MULTIPLE_CHOICES = 62  # bits of the stored mask (core.data.codebook)


@dataclass
class VarPlan:
    name: str
    type: str                              # the codebook type
    theme: str
    labels: dict[str, str]
    sensitive: bool = False
    public: bool = True
    field: str | None = None               # the form field read; None: made from others, or kept
    derive: str | None = None              # "quarter", "year", "age_band", "region"
    codes: list[str] = dataclasses.field(default_factory=list)
    choice_labels: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    by_name: dict[str, str] = dataclasses.field(default_factory=dict)    # form choice name -> code
    by_label: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)  # language -> label as written -> code
    integer: bool = False
    asked: dict[str, str] | None = None
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    bins: list[float] | None = None
    repeat: str | None = None              # the repeat group whose sheet holds the answers summarised
    summary: str | None = None             # how: "count", "any", "sum" (core.ingest.repeats)


@dataclass
class Plan:
    dataset: str
    variables: list[VarPlan]
    themes: dict[str, dict[str, str]]      # theme id -> labels, in order
    age_bands: tuple[int, ...]
    regions: dict[str, str]                # country (ISO3) -> region code, when derived
    problems: list[Problem]                # warnings
    period: tuple[dt.date, dt.date] | None = None  # the mapping's fieldwork window: dates outside are errors

    def __getitem__(self, name: str) -> VarPlan:
        return next(v for v in self.variables if v.name == name)

    def read(self) -> list[VarPlan]:
        """The variables read from a column of the export's main sheet (in form order)."""
        return [v for v in self.variables if v.field is not None and v.repeat is None]

    def summaries(self) -> list[VarPlan]:
        """The variables summarised from repeat groups' sheets (in form order)."""
        return [v for v in self.variables if v.field is not None and v.repeat is not None]


class _Labels:
    """Labels in the three languages, with what fell back or was neutralised remembered for the report."""

    def __init__(self, form: Form):
        self.form = form
        self.missing: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.problems: list[Problem] = []

    def of(self, labels: dict[str, str], fallback: str, sheet: str, row: int) -> dict[str, str]:
        out = {}
        for lang in LANGUAGES:
            if not labels.get(lang) and lang in self.form.languages:
                self.missing[(sheet, lang)].append(row)
            text = self.form.label(labels, lang, fallback)
            safe = neutralise(text)
            if safe != text:
                self.problems.append(Problem(
                    "label_neutralised", {"label": text[:60]}, file=self.form.file, sheet=sheet, row=row,
                    column=self.form.label_columns.get(sheet, {}).get(lang, "label"), level=WARNING))
            out[lang] = safe
        return out

    def report(self) -> list[Problem]:
        out = list(self.problems)
        if not self.form.languages:  # only a plain `label` column, or none
            out.append(Problem("labels_untagged", {}, file=self.form.file, level=WARNING))
            return out
        used = self.form.default_language or ("en" if "en" in self.form.languages else self.form.languages[0])
        for lang in LANGUAGES:
            if lang not in self.form.languages:
                out.append(Problem("language_missing", {"language": language_name(lang),
                                                        "fallback": language_name(used)},
                                   file=self.form.file, level=WARNING))
        for (sheet, lang), rows in self.missing.items():
            out.append(row_problems("labels_missing", rows, file=self.form.file, sheet=sheet,
                                    column=self.form.label_columns.get(sheet, {}).get(lang), level=WARNING,
                                    language=language_name(lang)))
        return out


def _age_band_codes(bands: tuple[int, ...]) -> list[tuple[str, dict[str, str]]]:
    out = []
    for i, low in enumerate(bands):
        if i + 1 < len(bands):
            high = bands[i + 1] - 1
            out.append((f"{low}_{high}", {lang: t("ingest.age_band", lang, low=str(low), high=str(high))
                                          for lang in LANGUAGES}))
        else:
            out.append((f"{low}_plus", {lang: t("ingest.age_band_last", lang, low=str(low)) for lang in LANGUAGES}))
    return out


def _theme(f: Field) -> str:
    return f.groups[0].name if f.groups else GENERAL_THEME


def _summarised(form: Form, f: Field, plan: VarPlan) -> None:
    """A repeat group's count or summary: its type, and a label and `asked` that say what it holds."""
    plan.repeat, plan.summary = f.repeat, summary_of(f)
    plan.type = "multiple" if plan.summary == ANY else "number"
    group = form.repeats[f.repeat].group
    names = {lang: neutralise(form.label(group.labels, lang, group.name)) for lang in LANGUAGES}
    plan.labels = {lang: t(f"ingest.repeat.label_{plan.summary}", lang, label=plan.labels[lang], group=names[lang])
                   for lang in LANGUAGES}
    if plan.summary != COUNT and plan.asked is None:  # its base: respondents with an answer in some entry
        plan.asked = {lang: t("ingest.repeat.asked", lang, group=names[lang]) for lang in LANGUAGES}


def _repeat_notes(form: Form, variables: list[VarPlan], in_export: bool) -> list[Problem]:
    """What becomes of each repeat group, said in the report: its summaries (or, from an export that cannot
    hold repeats, that they are left out) and its questions that are not summarised."""
    out = []
    for key, repeat in form.repeats.items():
        kept = [v.name for v in variables if v.repeat == key]
        if kept:
            out.append(Problem("repeat_summarised" if in_export else "repeat_not_in_export",
                               {"n": len(kept), "group": repeat.group.name, "names": ", ".join(kept)},
                               file=form.file, sheet=SURVEY, row=repeat.group.row, level=INFO if in_export else WARNING))
        left = [f.name for f in form.fields.values() if f.repeat == key and summary_of(f) is None and
                f.type not in ("note", "calculate")]
        if left:
            out.append(Problem("repeat_not_summarised", {"n": len(left), "group": repeat.group.name,
                                                         "names": ", ".join(left)},
                               file=form.file, sheet=SURVEY, row=repeat.group.row, level=INFO))
    return out


def build_plan(form: Form, mapping: Mapping, base: Codebook | None = None, repeats: bool = True) -> Plan:
    """The variables the form and mapping give (merged with `base`, the codebook of the version a round is
    appended to). `repeats`: whether the export can hold repeat groups (an XLSX can, a CSV cannot: their
    summaries are then left out, and said so). Raises IngestError with every error found."""
    builtin = reference_codebook(mapping.dataset)
    labels = _Labels(form)
    errors: list[Problem] = []
    variables: list[VarPlan] = []
    role = {field_name: variable for variable, field_name in mapping.standard.items()}

    def choices_of(f: Field, kind: str, plan: VarPlan) -> None:
        choices = form.choices(f)
        if not choices:
            errors.append(Problem("list_empty", {"list": f.list_name}, file=form.file, sheet=SURVEY, row=f.row,
                                  column="type"))
            return
        if kind == "multiple" and len(choices) > MAX_MULTIPLE_CHOICES:
            errors.append(Problem("list_too_long", {"list": f.list_name, "n": len(choices),
                                                    "limit": MAX_MULTIPLE_CHOICES},
                                  file=form.file, sheet=SURVEY, row=f.row, column="type"))
            return
        recode = mapping.recode.get(f.name, {})
        for c in choices:
            if kind == "country":
                if c.name in recode:  # the mapping's code, or None: an answer that is no country, kept
                    code = recode[c.name] or c.name
                    if recode[c.name] is None and code not in plan.choice_labels:
                        plan.choice_labels[code] = labels.of(c.labels, c.name, CHOICES, c.row)
                else:
                    code = country_code(c.name)
                if code is None:
                    errors.append(Problem("country_choice", {"choice": c.name, "list": f.list_name, "field": f.name},
                                          file=form.file, sheet=CHOICES, row=c.row, column="name"))
                    continue
            else:
                code = c.name
                if code == OTHER:
                    errors.append(Problem("choice_reserved", {"choice": c.name}, file=form.file, sheet=CHOICES,
                                          row=c.row, column="name"))
                    continue
                if kind == "multiple" and any(ch.isspace() for ch in code):
                    errors.append(Problem("choice_space", {"choice": c.name, "list": f.list_name}, file=form.file,
                                          sheet=CHOICES, row=c.row, column="name"))
                    continue
                if code not in plan.choice_labels:
                    plan.codes.append(code)
                    plan.choice_labels[code] = labels.of(c.labels, c.name, CHOICES, c.row)
            plan.by_name[c.name] = code
            for lang in form.label_modes:
                text = c.labels.get(lang)
                if text:
                    plan.by_label.setdefault(lang, {}).setdefault(text, code)

    for f in form.fields.values():
        variable = role.get(f.name)
        fm = mapping.fields.get(f.name)
        if variable is None and fm is None:
            continue  # skipped, or a type the portal does not hold
        if variable is not None:
            kind = {"respondent_id": "id", "interview_date": "date", "age": "number",
                    "country_of_interview": "country", "nationality": "country"}.get(variable, "single")
            standard = builtin[variable]  # its labels and flags are the portal's, whatever the form says
            plan = VarPlan(name=variable, type=kind, theme=_theme(f), labels=dict(standard.labels),
                           sensitive=standard.sensitive, public=standard.public, field=f.name,
                           unit=standard.unit if kind == "number" else None)
        else:
            if f.repeat:
                kind = "multiple" if summary_of(f) == ANY else "number"
            elif f.type == "select_multiple":
                kind = "multiple"
            elif f.type == "select_one":
                kind = "country" if fm.type == "country" else "single"
            elif f.type in NUMBER_TYPES:
                kind = "number"
            elif f.type in DATE_TYPES:
                kind = "date"
            else:  # refused by read_mapping already
                continue
            plan = VarPlan(name=fm.name, type=kind, theme=fm.theme or _theme(f),
                           labels=labels.of(f.labels, f.name, SURVEY, f.row), sensitive=fm.sensitive,
                           public=fm.public, field=f.name, asked=fm.asked, unit=fm.unit, min=fm.min, max=fm.max,
                           bins=fm.bins)
        plan.integer = f.type == "integer" or summary_of(f) == COUNT
        if f.repeat:
            _summarised(form, f, plan)
        if kind in ("single", "multiple", "country"):
            choices_of(f, kind, plan)
        variables.append(plan)
        if variable == "interview_date":
            for derived, dtype in (("interview_quarter", "quarter"), ("interview_year", "year")):
                variables.append(VarPlan(name=derived, type=dtype, theme=plan.theme,
                                         labels=dict(builtin[derived].labels), derive=dtype))
        if variable == "age" and "age_band" not in mapping.standard:
            band = VarPlan(name="age_band", type="single", theme=plan.theme, labels=dict(builtin["age_band"].labels),
                           derive="age_band")
            for code, text in _age_band_codes(mapping.age_bands):
                band.codes.append(code)
                band.choice_labels[code] = text
            variables.append(band)
        if variable == "country_of_interview" and "region_of_interview" not in mapping.standard and mapping.regions:
            region = VarPlan(name="region_of_interview", type="single", theme=plan.theme,
                             labels=dict(builtin["region_of_interview"].labels), derive="region")
            for r in mapping.regions:
                region.codes.append(r.code)
                region.choice_labels[r.code] = {lang: neutralise(r.labels[lang]) for lang in LANGUAGES}
            variables.append(region)
    if errors:
        raise IngestError(errors)

    problems = [*labels.report(), *_repeat_notes(form, variables, repeats)]
    if not repeats:  # left out of this load; a round appended to a version that has them keeps them
        variables = [v for v in variables if v.repeat is None]
    themes = _themes(form, mapping, variables, builtin)
    if base is not None:
        variables, themes = _merge(variables, themes, base, mapping.file)
    regions = {country: r.code for r in mapping.regions for country in r.countries}
    return Plan(dataset=mapping.dataset, variables=variables, themes=themes, age_bands=mapping.age_bands,
                regions=regions, problems=[*form.problems, *mapping.problems, *problems], period=mapping.period)


def _themes(form: Form, mapping: Mapping, variables: list[VarPlan], builtin: Codebook) -> dict[str, dict[str, str]]:
    known = {th.id: th.labels for th in builtin.themes} if mapping.dataset in DATASETS else {}
    groups = {f.groups[0].name: f.groups[0] for f in form.fields.values() if f.groups}
    themes = {}
    for v in variables:
        if v.theme in themes:
            continue
        if v.theme in mapping.themes:
            themes[v.theme] = mapping.themes[v.theme]
        elif v.theme in known:
            themes[v.theme] = dict(known[v.theme])
        elif v.theme in groups:
            g = groups[v.theme]
            themes[v.theme] = {lang: neutralise(form.label(g.labels, lang, g.name)) for lang in LANGUAGES}
        else:
            themes[v.theme] = {lang: t("ingest.theme_general", lang) for lang in LANGUAGES}
    return themes


def _merge(variables: list[VarPlan], themes: dict, base: Codebook, mapping_file: str):
    """The plan of a round appended to `base`: types kept, old choices first, old variables kept."""
    errors = []
    names = {v.name for v in variables}
    for v in variables:
        if v.name not in base:
            continue
        old = base[v.name]
        if old.type != v.type:
            errors.append(Problem("type_changed", {"variable": v.name, "old": old.type, "new": v.type},
                                  file=mapping_file))
            continue
        if v.type in ("single", "multiple"):
            new_codes = [c for c in v.codes if c not in old.codes]
            labels = {c.code: dict(c.labels) for c in old.choices}
            labels.update(v.choice_labels)
            v.codes = [*old.codes, *new_codes]
            v.choice_labels = labels
            if v.type == "multiple" and len(v.codes) > MAX_MULTIPLE_CHOICES:
                errors.append(Problem("list_too_long", {"list": v.name, "n": len(v.codes),
                                                        "limit": MAX_MULTIPLE_CHOICES}, file=mapping_file))
    if errors:
        raise IngestError(errors)
    for old in base.variables.values():
        if old.name in names:
            continue
        variables.append(VarPlan(
            name=old.name, type=old.type, theme=old.theme, labels=dict(old.labels), sensitive=old.sensitive,
            public=old.public, codes=list(old.codes), choice_labels={c.code: dict(c.labels) for c in old.choices},
            asked=old.asked, unit=old.unit, min=old.min, max=old.max, bins=list(old.bins) or None))
        if old.theme not in themes:
            themes[old.theme] = dict(next(th.labels for th in base.themes if th.id == old.theme))
    return variables, themes


def codebook_dict(plan: Plan, mapping: Mapping, form: Form, period: tuple[dt.date, dt.date]) -> dict:
    """The codebook of the loaded data, as written to the version's codebook.yaml."""
    builtin = reference_codebook(plan.dataset)
    if plan.dataset not in DATASETS:  # a dataset created from the form: its own title, never the core's
        builtin = dataclasses.replace(builtin, titles={lang: plan.dataset for lang in LANGUAGES})
    title = mapping.title or ({lang: neutralise(form.title) for lang in LANGUAGES} if form.title else builtin.titles)
    description = mapping.description or {
        lang: t("ingest.default_description", lang, form=neutralise(form.title or form.form_id or form.file))
        for lang in LANGUAGES}
    variables = []
    for v in plan.variables:
        entry = {"name": v.name, "type": v.type, "theme": v.theme, "label": v.labels, "sensitive": v.sensitive,
                 "public": v.public}
        if v.type in ("single", "multiple"):
            entry["choices"] = [{"code": c, "label": v.choice_labels[c]} for c in v.codes]
        elif v.type == "country" and v.choice_labels:  # answers kept as categories of their own
            entry["choices"] = [{"code": c, "label": labels} for c, labels in v.choice_labels.items()]
        for key in ("asked", "unit", "min", "max", "bins"):
            if getattr(v, key) is not None:
                entry[key] = getattr(v, key)
        variables.append(entry)
    return {
        "dataset": plan.dataset, "title": dict(title), "description": dict(description),
        "period": {"start": period[0].isoformat(), "end": period[1].isoformat()},
        "themes": [{"id": theme, "label": labels} for theme, labels in plan.themes.items()],
        "variables": variables,
    }
