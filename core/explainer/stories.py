"""Curated stories for trainers: files in data/stories/*.yaml, each an ordered list of steps, a step
being a page of the portal with its link's parameters (the filters, a theme page's breakdown and
question, the map's layers, a crosstab's layout) and a short text in the three languages. No code per
story: a story is a file, checked here against the codebooks and the pages' link parameters when it
is loaded, so that a story that would open a page the portal does not have, or name a variable, an
answer or a parameter it does not know, fails with a message naming the file and the step.

    id: afghan_returns                      # the file's name, data/stories/afghan_returns.yaml
    title: {en: ..., fr: ..., es: ...}
    summary: {en: ..., fr: ..., es: ...}
    steps:
      - page: return                        # a page id: overview, map, crosstab, ... or a theme id
        params: {ds: returns, q: return_type, by: country_returned_from}
        title: {en: ..., fr: ..., es: ...}
        text: {en: ..., fr: ..., es: ...}
        tier: researcher                    # optional: the step needs a signed-in researcher

Since a step is a page and a link, every step is a shareable link (`Step.link`):
/return?ds=returns&q=return_type&by=country_returned_from&story=afghan_returns&step=2
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import yaml

from core.auth.access import PAGE_ROLES, has_role
from core.data.codebook import OTHER, breakdowns, questions
from core.data.engine import load_codebook
from core.pages import CROSSTAB_VIEWS, MAP_LAYERS, PAGES, RESEARCHER_LAYERS, THEME_PARAMS
from core.query.filters import DATASET_PARAM, allowed_codes, from_params
from core.query.filters import PARAMS as LINK_FILTERS
from core.query.pivot import MEASURES, NUMBER_MEASURES, fields, number_fields
from core.query.tables import flow_kinds
from core.settings import DATASETS, LANGUAGES, ROOT

STORIES_DIR = ROOT / "data" / "stories"
TIERS = ("public", "researcher")
# The link parameters that belong to the explainer itself, on every page.
STORY_PARAM, STEP_PARAM, PRESENT_PARAM, TOUR_PARAM = "story", "step", "present", "tour"
EXPLAINER_PARAMS = (STORY_PARAM, STEP_PARAM, PRESENT_PARAM, TOUR_PARAM)

# The pages a step may open (those a signed-in researcher may open: a story is shown to the public or to
# researchers) and their own link parameters, from the page registry. Every theme page of the step's
# dataset takes THEME_PARAMS.
PAGE_PARAMS: dict[str, tuple[str, ...]] = {page.id: page.params for page in PAGES if has_role("researcher", page.role)}
SINGLE_VALUED = ("flow", "incident", "perp", "measure", "value", "view", "by", "q")


class StoryError(ValueError):
    """A story file that cannot be used, with what is wrong and where."""


@dataclass(frozen=True)
class Step:
    page: str
    params: Mapping[str, tuple[str, ...]]  # the page's link parameters, each a list of values
    title: Mapping[str, str]
    text: Mapping[str, str]
    tier: str = "public"

    @property
    def dataset(self) -> str:
        return (self.params.get(DATASET_PARAM) or (DATASETS[0],))[-1]

    def query(self, story: str, number: int, **extra: str) -> dict[str, list[str]]:
        """The step's link parameters, with the story and its (1-based) step number."""
        out = {k: list(v) for k, v in self.params.items()}
        out.update({STORY_PARAM: [story], STEP_PARAM: [str(number)]})
        out.update({k: [v] for k, v in extra.items()})
        return out

    def link(self, story: str, number: int, **extra: str) -> str:
        path = "" if self.page == "overview" else self.page
        return f"/{path}?{urlencode(self.query(story, number, **extra), doseq=True)}"

    def open_to(self, tier: str) -> bool:
        return self.tier == "public" or tier != "public"


@dataclass(frozen=True)
class Story:
    id: str
    title: Mapping[str, str]
    summary: Mapping[str, str]
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def step(self, number: int) -> Step:
        """Step `number`, counted from 1 (as in links)."""
        return self.steps[number - 1]


def _texts(value, where: str, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or any(not isinstance(value.get(lang), str) or not value[lang].strip()
                                             for lang in LANGUAGES):
        raise StoryError(f"{where}: `{what}` needs a text in each of {', '.join(LANGUAGES)}")
    return {lang: value[lang].strip() for lang in LANGUAGES}


def _values(value) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    return tuple(str(v) for v in values)


def page_params(page: str, dataset: str) -> tuple[str, ...] | None:
    """The link parameters of a page of `dataset` (None: no such page)."""
    if page in PAGE_PARAMS:
        return PAGE_PARAMS[page]
    if page in {th.id for th in load_codebook(dataset).themes}:
        return THEME_PARAMS
    return None


def check_step(page: str, params: Mapping[str, Sequence[str]], tier: str) -> list[str]:
    """What is wrong with a step (empty: nothing): the page, its parameters and their values, for the
    tier the step is shown to."""
    problems: list[str] = []
    dataset = (list(params.get(DATASET_PARAM, ())) or [DATASETS[0]])[-1]
    if dataset not in DATASETS:
        return [f"unknown dataset {dataset!r} (one of {', '.join(DATASETS)})"]
    own = page_params(page, dataset)
    if own is None:
        themes = ", ".join(th.id for th in load_codebook(dataset).themes)
        return [f"unknown page {page!r} (one of {', '.join(PAGE_PARAMS)}, or a theme of {dataset}: {themes})"]
    if PAGE_ROLES.get(page) and tier == "public":
        problems.append(f"the page {page!r} needs a signed-in researcher: mark the step `tier: researcher`")
    for name, values in params.items():
        if name not in LINK_FILTERS and name not in own:
            problems.append(f"unknown parameter {name!r} for the page {page!r} "
                            f"(filters: {', '.join(LINK_FILTERS)}; the page's own: {', '.join(own) or 'none'})")
        elif name in SINGLE_VALUED and len(values) > 1:
            problems.append(f"parameter {name!r} takes one value, not {len(values)}")
    _, dropped = from_params({k: v for k, v in params.items() if k in LINK_FILTERS}, allowed_codes(tier))
    problems += [f"filter {name}={value!r} is not a code of {dataset} that the {tier} tier may filter on"
                 for name, value in dropped]
    codebook = load_codebook(dataset)
    def one_of(name: str, value: str, allowed: Sequence[str]) -> None:
        if value not in allowed:
            problems.append(f"{name}={value!r} is not one of {', '.join(allowed) or '(none here)'}"
                        + (" in the public tier (mark the step `tier: researcher`?)" if tier == "public" else ""))

    get = lambda name: list(params.get(name, ()))  # noqa: E731
    for value in get("by"):
        one_of("by", value, breakdowns(codebook, tier))
    for value in get("q"):
        one_of("q", value, [v.name for v in questions(codebook, page, tier)])
    for value in get("flow"):
        one_of("flow", value, [k for k in flow_kinds(dataset) if k != "route"])
    for value in get("layers"):
        one_of("layers", value, [x for x in MAP_LAYERS if tier != "public" or x not in RESEARCHER_LAYERS])
    for name, var_name in (("incident", "incident_types"), ("perp", "perpetrators")):
        for value in get(name):
            one_of(name, value, [c for c in codebook[var_name].codes if c != "none"] if var_name in codebook else [])
    categorical = [v.name for v in fields(codebook, tier)]
    for name in ("rows", "cols", "filt"):
        for value in get(name):
            one_of(name, value, categorical)
    for value in get("fcat"):
        name, _, code = value.partition(":")
        if name not in get("filt"):
            problems.append(f"fcat={value!r}: {name!r} is not a crosstab filter (`filt`) of this step")
        elif name in codebook and code not in (*codebook[name].codes, OTHER):
            problems.append(f"fcat={value!r}: {code!r} is not an answer of {name!r}")
    for value in get("measure"):
        one_of("measure", value, MEASURES)
    for value in get("value"):
        one_of("value", value, [v.name for v in number_fields(codebook, tier)])
        if not set(get("measure")) & set(NUMBER_MEASURES):
            problems.append("`value` needs a `measure` of median or mean")
    for value in get("view"):
        one_of("view", value, CROSSTAB_VIEWS)
    return problems


def parse_story(path: Path) -> Story:
    """One story file, checked; StoryError says what is wrong, in which file and step."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise StoryError(f"{path.name}: cannot be read as YAML: {e}") from e
    if not isinstance(raw, Mapping):
        raise StoryError(f"{path.name}: a story is a mapping with id, title, summary and steps")
    if raw.get("id") != path.stem:
        raise StoryError(f"{path.name}: `id` must be the file's name, {path.stem!r} (found {raw.get('id')!r})")
    unknown = set(raw) - {"id", "title", "summary", "steps"}
    if unknown:
        raise StoryError(f"{path.name}: unknown key(s) {', '.join(sorted(unknown))}")
    title, summary = _texts(raw.get("title"), path.name, "title"), _texts(raw.get("summary"), path.name, "summary")
    if not isinstance(raw.get("steps"), list) or not raw["steps"]:
        raise StoryError(f"{path.name}: `steps` must be a list of at least one step")
    steps = []
    for number, item in enumerate(raw["steps"], start=1):
        where = f"{path.name}, step {number}"
        if not isinstance(item, Mapping) or "page" not in item:
            raise StoryError(f"{where}: a step is a mapping with page, params, title and text")
        unknown = set(item) - {"page", "params", "title", "text", "tier"}
        if unknown:
            raise StoryError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        tier = item.get("tier", "public")
        if tier not in TIERS:
            raise StoryError(f"{where}: tier {tier!r} is not one of {', '.join(TIERS)}")
        params_raw = item.get("params") or {}
        if not isinstance(params_raw, Mapping):
            raise StoryError(f"{where}: `params` is a mapping of link parameters")
        params = {str(k): _values(v) for k, v in params_raw.items()}
        clash = set(params) & set(EXPLAINER_PARAMS)
        if clash:
            raise StoryError(f"{where}: {', '.join(sorted(clash))} are set by the story itself, not by a step")
        problems = check_step(str(item["page"]), params, tier)
        if problems:
            raise StoryError(f"{where}: " + "; ".join(problems))
        steps.append(Step(str(item["page"]), params, _texts(item.get("title"), where, "title"),
                          _texts(item.get("text"), where, "text"), tier))
    return Story(path.stem, title, summary, tuple(steps))


@functools.cache
def load_all(directory: Path = STORIES_DIR) -> tuple[dict[str, Story], tuple[str, ...]]:
    """The stories of `directory` that are right, by id, in the files' order (alphabetical), and the
    errors of those that are not: a wrong file is left out, it does not take the portal down."""
    found: dict[str, Story] = {}
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            found[path.stem] = parse_story(path)
        except StoryError as e:
            errors.append(str(e))
    return found, tuple(errors)


def load_stories(directory: Path = STORIES_DIR) -> dict[str, Story]:
    """Every story of `directory`, by id, in the files' order (alphabetical). Raises StoryError for
    the first file that is wrong (tests use it: every shipped story must load)."""
    found, errors = load_all(directory)
    if errors:
        raise StoryError(errors[0])
    return found


def step_of(stories: Mapping[str, Story], story: str | None, step: str | None) -> tuple[Story, int] | None:
    """The story and step number a link names (`?story=...&step=...`), or None when it names none
    that exists."""
    if story not in stories:
        return None
    try:
        number = int(step) if step is not None else 1
    except ValueError:
        return None
    if not 1 <= number <= len(stories[story].steps):
        return None
    return stories[story], number
