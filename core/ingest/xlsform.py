"""Reading an XLSForm (the survey, choices and settings sheets of KoBoToolbox and ODK forms).

Labels come per language from columns such as `label::English (en)`, `label::Français (fr)`,
`label::Español (es)`; `label::en`, `label::French` and a plain `label` (in the settings sheet's
`default_language`) are understood too. Languages the portal does not show are ignored; a language the
portal shows but the form lacks is filled from another (English first) and reported. Labels are kept as
written: they are what a "labels" export holds, so they are what its values are matched against; the
codebook built from them neutralises the ones a spreadsheet would run as formulas (core.ingest.build).

`select_one`/`select_multiple` fields point at a list of the choices sheet; a `begin loop over LIST` is
written out as pyxform does, a group per choice; groups (`begin_group` ...
`end_group`) are kept as the path of each field (export headers may carry it, and top-level groups become
the codebook's themes). A repeat group (`begin_repeat` ... `end_repeat`, nested or inside groups) is kept
as a `Repeat` and as a field of type `repeat` (its number of entries per respondent); the fields inside it
carry the name of their innermost repeat in `Field.repeat`, since their answers are on that repeat's own
export sheet, not the main one (core.ingest.repeats summarises them per respondent).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale

from core import settings
from core.ingest import files
from core.ingest.problems import WARNING, IngestError, Problem, refuse
from core.settings import LANGUAGES

SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"
SELECT_TYPES = ("select_one", "select_multiple")
# XLSForm question types the portal can hold, and the metadata types that can be an interview date.
NUMBER_TYPES = ("integer", "decimal", "range")
REPEAT = "repeat"  # the type of a repeat group's own field: its number of entries
DATE_TYPES = ("date", "today", "start", "end", "datetime")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Choice:
    name: str
    labels: dict[str, str]  # portal language -> label as written
    row: int


@dataclass(frozen=True)
class Group:
    name: str
    labels: dict[str, str]
    row: int


@dataclass(frozen=True)
class Field:
    name: str
    type: str                   # XLSForm base type, e.g. select_one, integer, date, text
    list_name: str | None
    labels: dict[str, str]      # portal language -> label as written (languages the form lacks are absent)
    groups: tuple[Group, ...]   # enclosing groups and repeats, outermost first (a repeat's own field: itself last)
    row: int
    constraint: str = ""
    hxl: str = ""
    # The name as the form writes it, where `name` had to differ: the same name in two groups is valid
    # XLSForm ("consent" in both "respondent" and "wash"); the second is keyed "wash_consent" here, and
    # its export column still reads "wash/consent".
    xml_name: str = ""
    # The innermost repeat group holding the field ("": none), whose export sheet holds its answers; for a
    # field of type `repeat`, the repeat itself.
    repeat: str = ""

    @property
    def select(self) -> bool:
        return self.type in SELECT_TYPES

    @property
    def column_name(self) -> str:
        return self.xml_name or self.name

    @property
    def in_main_sheet(self) -> bool:
        return not self.repeat


@dataclass(frozen=True)
class Repeat:
    """A repeat group: its entries are rows of their own export sheet, linked to their parent's rows."""
    key: str                    # the key of its field in Form.fields
    group: Group                # its name (as the form writes it), labels and row
    groups: tuple[Group, ...]   # the groups and repeats around it, outermost first
    parent: str = ""            # the key of the repeat around it ("": the main sheet)


@dataclass
class Form:
    file: str
    title: str
    form_id: str
    version: str
    fields: dict[str, Field]
    lists: dict[str, list[Choice]]
    languages: list[str]                     # portal languages with labels in the form
    label_columns: dict[str, dict[str, str]]  # sheet -> portal language -> its column header
    default_language: str | None = None
    untagged_labels: bool = False            # a plain `label` column in no declared language (key "")
    problems: list[Problem] = field(default_factory=list)  # warnings found while reading
    repeats: dict[str, Repeat] = field(default_factory=dict)  # key -> repeat group, in form order

    def label(self, labels: dict[str, str], lang: str, fallback: str) -> str:
        """A label in `lang`, else in the form's default language, English, any language, the untagged
        `label` column, else `fallback`. `lang` "" asks for the untagged label first."""
        for candidate in (lang, self.default_language, "en", *self.languages, ""):
            if candidate is not None and labels.get(candidate):
                return labels[candidate]
        return fallback

    @property
    def label_modes(self) -> list[str]:
        """The languages a labels export of this form can be in ("" for its untagged labels)."""
        return [*self.languages, *([""] if self.untagged_labels else [])]

    def choices(self, f: Field) -> list[Choice]:
        return self.lists.get(f.list_name or "", [])


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def _language_names() -> dict[str, str]:
    names = {}
    for lang in LANGUAGES:
        for shown_in in LANGUAGES:
            names[Locale.parse(lang).get_display_name(shown_in).lower()] = lang
        names[lang] = lang
    names.update({"eng": "en", "fra": "fr", "fre": "fr", "spa": "es", "english": "en", "french": "fr",
                  "spanish": "es", "castellano": "es"})
    return names


_LANGUAGE_NAMES = _language_names()


def portal_language(tag: str) -> str | None:
    """The portal language of an XLSForm language tag: "English (en)", "en", "French", "fr-FR" -> "fr"."""
    tag = tag.strip()
    code = re.search(r"\(\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*\)\s*$", tag)
    if code:
        return _LANGUAGE_NAMES.get(code.group(1).lower())
    bare = re.fullmatch(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*", tag)
    if bare:
        return _LANGUAGE_NAMES.get(bare.group(1).lower())
    return _LANGUAGE_NAMES.get(tag.lower())


def _header(cell: str) -> tuple[str, str | None]:
    """`label::English (en)` -> ("label", "English (en)"); `Type ` -> ("type", None)."""
    base, sep, tag = cell.partition("::")
    if not sep:
        base, sep, tag = cell.partition(":")  # an old form's "label:English"
        if not sep or base.strip().lower() not in ("label", "hint"):
            return cell.strip().lower(), None
    return base.strip().lower(), tag.strip()


@dataclass
class _Sheet:
    name: str
    columns: dict[str, int]          # plain column -> index
    labels: dict[str, int]           # portal language -> index of its label column
    label_headers: dict[str, str]    # portal language -> the header as written
    plain_label: int | None
    other_languages: list[str]
    rows: list[tuple[int, list[str]]]

    def get(self, cells: list[str], column: str) -> str:
        i = self.columns.get(column)
        return _clean(cells[i]) if i is not None and i < len(cells) else ""


def _sheet(name: str, rows: list[tuple[int, list[str]]], default_language: str | None) -> _Sheet:
    header_at = next((i for i, (_, cells) in enumerate(rows) if any(c.strip() for c in cells)), None)
    if header_at is None:
        return _Sheet(name, {}, {}, {}, None, [], [])
    headers = rows[header_at][1]
    columns, labels, label_headers, plain, others = {}, {}, {}, None, []
    for i, cell in enumerate(headers):
        base, tag = _header(cell)
        if base == "label" and tag is None:
            plain = i
        elif base == "label":
            lang = portal_language(tag)
            if lang is None:
                others.append(tag)
            elif lang not in labels:
                labels[lang], label_headers[lang] = i, cell.strip()
        elif tag is None and base:
            # older forms write "list name", "choice filter": the same columns as list_name, choice_filter
            base = re.sub(r"\s+", "_", base)
            if base not in columns:
                columns[base] = i
    if plain is not None and default_language and default_language not in labels:
        labels[default_language], label_headers[default_language] = plain, headers[plain].strip()
        plain = None
    return _Sheet(name, columns, labels, label_headers, plain, others, rows[header_at + 1:])


def _labels(sheet: _Sheet, cells: list[str]) -> dict[str, str]:
    out = {}
    for lang, i in sheet.labels.items():
        text = _clean(cells[i]) if i < len(cells) else ""
        if text:
            out[lang] = text
    if sheet.plain_label is not None and sheet.plain_label < len(cells):
        text = _clean(cells[sheet.plain_label])
        if text:
            out.setdefault("", text)  # a label in no declared language: the last fallback
    return out


def _type(raw: str) -> tuple[str, str | None, bool]:
    """("select_one", "yes_no", or_other) from "select_one yes_no or_other" (or "select one yes_no", and
    "select all that apply from" for select_multiple); ("integer", None, False) from "integer"."""
    words = raw.split()
    if not words:
        return "", None, False
    lowered = [w.lower() for w in words]
    if lowered[:4] == ["select", "all", "that", "apply"]:  # the older name of select_multiple
        base, rest = "select_multiple", words[4:]
    elif len(words) >= 2 and lowered[0] in ("select", "begin", "end") and \
            lowered[1] in ("one", "multiple", "group", "repeat"):
        base, rest = f"{lowered[0]}_{lowered[1]}", words[2:]
    else:
        base, rest = lowered[0], words[1:]
    if base not in SELECT_TYPES:
        return base, None, False
    if rest and rest[0].lower() == "from":  # the older "select one from sexes"
        rest = rest[1:]
    or_other = bool(rest) and rest[-1].lower() == "or_other"
    if [w.lower() for w in rest[-3:]] == ["or", "specify", "other"]:  # "... or specify other"
        or_other, rest = True, rest[:-3]
    if or_other:
        rest = rest[:-1] if rest and rest[-1].lower() == "or_other" else rest
    return base, (rest[0] if rest else None), or_other


_LOOP = re.compile(r"begin[\s_]+loop\s+over\s+(\S+)\s*$", re.IGNORECASE)
_END_LOOP = re.compile(r"end[\s_]+loop\s*$", re.IGNORECASE)


def _expand_loops(survey: _Sheet, lists: dict[str, list[Choice]]) -> list[tuple[int, list[str]]]:
    """The survey rows with each `begin loop over LIST` ... `end loop` written out as pyxform does: a group
    named after the loop holding a group per choice, whose questions' labels have `%(label)s` replaced by
    the choice's label. Its answers are columns of the main sheet (`loop/choice/question`), not a repeat."""
    type_at, name_at = survey.columns["type"], survey.columns["name"]
    label_at = [*survey.labels.items(), *([("", survey.plain_label)] if survey.plain_label is not None else [])]
    out: list[tuple[int, list[str]]] = []
    rows = iter(survey.rows)
    for number, cells in rows:
        loop = _LOOP.match(survey.get(cells, "type"))
        if not loop:
            out.append((number, cells))
            continue
        body = []
        for inner in rows:  # a loop holds no loop (pyxform has none either)
            if _END_LOOP.match(survey.get(inner[1], "type")):
                break
            body.append(inner)
        out.append((number, _cells(cells, {type_at: "begin_group"})))
        for choice in lists.get(loop.group(1), []):
            out.append((number, _cells(cells, {type_at: "begin_group", name_at: choice.name})))
            for row, inner in body:
                labels = {i: inner[i].replace("%(label)s", choice.labels.get(lang) or choice.labels.get("", "") or
                                              choice.name) for lang, i in label_at if i < len(inner)}
                out.append((row, _cells(inner, labels)))
            out.append((number, _cells(cells, {type_at: "end_group"})))
        out.append((number, _cells(cells, {type_at: "end_group"})))
    return out


def _cells(cells: list[str], changes: dict[int, str]) -> list[str]:
    out = list(cells) + [""] * (max(changes, default=0) + 1 - len(cells))
    for i, text in changes.items():
        out[i] = text
    return out


def read_form(path: Path, name: str | None = None) -> Form:
    """The XLSForm at `path` (`name`: the file's name as the user knows it). Raises IngestError with every
    error found; warnings are in `Form.problems`."""
    name = files.display_name(path, name)
    files.check_xlsx(path, name, settings.INGEST_MAX_FORM_MB)
    sheets = files.read_sheets(path, name, (SURVEY, CHOICES, SETTINGS))
    if SURVEY not in sheets and not sheets:
        only = files.sheet_names(path, name)
        if len(only) == 1:  # pyxform reads a workbook of one sheet, whatever its name, as the survey
            rows = next(iter(files.read_sheets(path, name, (only[0].lower().strip(),)).values()), [])
            headers = {c.strip().lower() for c in next((cells for _, cells in rows if any(cells)), [])}
            if {"type", "name"} <= headers:
                sheets = {SURVEY: rows}
    if SURVEY not in sheets:
        raise refuse("sheet_missing", file=name, wanted=SURVEY, sheets=", ".join(files.sheet_names(path, name)) or "-")
    problems: list[Problem] = []
    errors: list[Problem] = []

    # settings: title, id, version, default language
    meta = {}
    if SETTINGS in sheets:
        st = _sheet(SETTINGS, sheets[SETTINGS], None)
        for _, cells in st.rows[:1]:
            meta = {k: st.get(cells, k) for k in ("form_title", "form_id", "id_string", "version",
                                                   "default_language", "allow_choice_duplicates")}
    default_language = portal_language(meta.get("default_language") or "") if meta.get("default_language") else None

    allow_duplicates = (meta.get("allow_choice_duplicates") or "").strip().lower() in ("yes", "true", "1")
    survey = _sheet(SURVEY, sheets[SURVEY], default_language)
    for column in ("type", "name"):
        if column not in survey.columns:
            errors.append(Problem("form_column_missing", {"name": column}, file=name, sheet=SURVEY))
    if errors:
        raise IngestError(errors)
    choices_sheet = _sheet(CHOICES, sheets[CHOICES], default_language) if CHOICES in sheets else None

    # choices: lists in order
    lists: dict[str, list[Choice]] = {}
    if choices_sheet is not None and not choices_sheet.columns:  # an empty choices sheet: no lists
        choices_sheet = None
    if choices_sheet is not None:
        name_column = "name" if "name" in choices_sheet.columns else "value"
        if "list_name" not in choices_sheet.columns or name_column not in choices_sheet.columns:
            missing = "list_name" if "list_name" not in choices_sheet.columns else "name"
            raise refuse("form_column_missing", file=name, sheet=CHOICES, name=missing)
        seen: dict[tuple[str, str], int] = {}
        first_rows: dict[tuple[str, str], list[str]] = {}  # a row written twice, the same, is read once
        for number, cells in choices_sheet.rows:
            list_name = choices_sheet.get(cells, "list_name")
            code = choices_sheet.get(cells, name_column)
            if not list_name and not code:
                continue
            if not code:
                errors.append(Problem("choice_name_missing", {"list": list_name}, file=name, sheet=CHOICES,
                                      row=number, column=name_column))
                continue
            if (list_name, code) in seen and allow_duplicates:
                continue  # cascading selects repeat a choice under each parent: one code, its first labels
            if (list_name, code) in seen and first_rows[(list_name, code)] == [c.strip() for c in cells]:
                problems.append(Problem("choice_repeated", {"choice": code, "list": list_name,
                                                            "first_row": str(seen[(list_name, code)])},
                                        file=name, sheet=CHOICES, row=number, column=name_column, level=WARNING))
                continue  # the same row twice: nothing to choose between
            if (list_name, code) in seen:
                errors.append(Problem("choice_duplicate", {"choice": code, "list": list_name,
                                                           "first_row": str(seen[(list_name, code)])},
                                      file=name, sheet=CHOICES, row=number, column=name_column))
                continue
            seen[(list_name, code)] = number
            first_rows[(list_name, code)] = [c.strip() for c in cells]
            lists.setdefault(list_name, []).append(Choice(code, _labels(choices_sheet, cells), number))

    # survey: fields in order, with their groups and repeats
    fields: dict[str, Field] = {}
    repeats: dict[str, Repeat] = {}
    stack: list[tuple[str, Group, str]] = []  # ("group" | "repeat", group, the repeat's key or "")
    names_seen: dict[str, int] = {}  # path (groups/name) -> row

    def key_of(field_name: str) -> tuple[str, str]:
        """(key, xml_name): the same name in another group is valid XLSForm; the second is keyed by its path."""
        if field_name not in fields:
            return field_name, ""
        key = "_".join([*(g.name for _, g, _ in stack), field_name])
        while key in fields:
            key += "_"
        return key, field_name

    def innermost_repeat() -> str:
        return next((k for kind, _, k in reversed(stack) if kind == "repeat"), "")

    for number, cells in _expand_loops(survey, lists):
        raw_type = survey.get(cells, "type")
        field_name = survey.get(cells, "name")
        if not raw_type:
            continue
        base, list_name, or_other = _type(raw_type)
        if base == "begin_group":
            stack.append(("group", Group(field_name or f"group_{number}", _labels(survey, cells), number), ""))
            continue
        if base == "begin_repeat":
            group = Group(field_name or f"repeat_{number}", _labels(survey, cells), number)
            key, xml_name = key_of(group.name)
            groups = tuple(g for _, g, _ in stack)
            repeats[key] = Repeat(key, group, groups, innermost_repeat())
            # its own group last: a top-level repeat is the theme of its count, as of its questions
            fields[key] = Field(name=key, type=REPEAT, list_name=None, labels=group.labels, groups=(*groups, group),
                                row=number, xml_name=xml_name, repeat=key)
            stack.append(("repeat", group, key))
            continue
        if base in ("end_group", "end_repeat"):
            kind = "repeat" if base == "end_repeat" else "group"
            if not stack or stack[-1][0] != kind:
                errors.append(Problem("group_unbalanced", {"type": raw_type}, file=name, sheet=SURVEY,
                                      row=number, column="type"))
            else:
                stack.pop()
            continue
        if not field_name:
            if base not in ("note", "end", "start"):
                errors.append(Problem("field_name_missing", {"type": raw_type}, file=name, sheet=SURVEY,
                                      row=number, column="name"))
            continue
        if not _NAME.fullmatch(field_name):
            if base not in (*SELECT_TYPES, *NUMBER_TYPES, *DATE_TYPES):
                continue  # a text or note the portal never loads (pyxform accepts a name such as "0")
            errors.append(Problem("field_name_invalid", {"name": field_name}, file=name, sheet=SURVEY,
                                  row=number, column="name"))
            continue
        path = "/".join([*(g.name for _, g, _ in stack), field_name])
        if path in names_seen:  # the same name twice in one group: invalid XLSForm
            errors.append(Problem("field_duplicate", {"name": field_name, "first_row": str(names_seen[path])},
                                  file=name, sheet=SURVEY, row=number, column="name"))
            continue
        names_seen[path] = number
        key, xml_name = key_of(field_name)
        if base in SELECT_TYPES:
            if not list_name:
                errors.append(Problem("select_without_list", {"type": raw_type}, file=name, sheet=SURVEY,
                                      row=number, column="type"))
                continue
            if list_name not in lists:
                errors.append(Problem("list_missing", {"list": list_name, "name": field_name}, file=name,
                                      sheet=SURVEY, row=number, column="type"))
                continue
            if or_other and "other" not in {c.name for c in lists[list_name]}:
                lists[list_name] = [*lists[list_name], Choice("other", {"en": "Other", "fr": "Autre",
                                                                        "es": "Otro"}, number)]
        fields[key] = Field(
            name=key, type=base, list_name=list_name, labels=_labels(survey, cells),
            groups=tuple(g for _, g, _ in stack), row=number, constraint=survey.get(cells, "constraint"),
            hxl=survey.get(cells, "hxl"), xml_name=xml_name, repeat=innermost_repeat())
    if stack:
        kind, group, _ = stack[-1]
        errors.append(Problem("group_unclosed", {"name": group.name}, file=name, sheet=SURVEY, row=group.row,
                              column="type"))
    if errors:
        raise IngestError(errors)
    for tag in dict.fromkeys(survey.other_languages):
        problems.append(Problem("language_ignored", {"language": tag}, file=name, sheet=SURVEY, level=WARNING))
    label_columns = {SURVEY: survey.label_headers}
    if choices_sheet is not None:
        label_columns[CHOICES] = choices_sheet.label_headers
    return Form(
        file=name, title=meta.get("form_title") or "", form_id=meta.get("form_id") or meta.get("id_string") or "",
        version=meta.get("version") or "", fields=fields, lists=lists,
        languages=[lang for lang in LANGUAGES if lang in survey.labels], label_columns=label_columns,
        default_language=default_language, problems=problems, untagged_labels=survey.plain_label is not None,
        repeats=repeats,
    )
