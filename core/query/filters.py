"""The shared filters: what a view is filtered on, checked against the codebook and the caller's tier,
and written to and read from a URL's query parameters so that a copied link reproduces the view.

    ?ds=core&from=2023Q1&to=2024Q4&region=north_africa&nat=SDN&nat=ERI&gender=woman&age=18_24

One parameter per filter, repeated for several values; a filter left empty (all) or a period left at the
dataset's whole span is not written. Values are codebook codes, never labels, so a link works in every
language. Reading a link never fails: an unknown parameter, a value that is not a code of the dataset,
or a code the tier may not filter on (a small category in the public tier, design.md rule 8) is dropped
and reported back, for the page to say so.

The public tier's query space is bounded (design.md rule 12, docs/disclosure.md): one answer per
filter, and a period that is a single quarter, a single year or everything. A public link with more
(shared by a researcher, or from before the rule) keeps the first answer of each filter and drops the
rest, and a period that is neither is dropped: each with a note, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.data import versions
from core.data.codebook import OTHER
from core.data.engine import load_codebook
from core.query.tables import categories
from core.settings import DATASETS

DATASET_PARAM, START_PARAM, END_PARAM = "ds", "from", "to"
PERIOD_VARIABLE = "interview_quarter"
# URL parameter -> standard variable (core.data.codebook.STANDARD_VARIABLES), in the filter bar's order.
FILTER_PARAMS = {
    "region": "region_of_interview",
    "country": "country_of_interview",
    "nat": "nationality",
    "gender": "gender",
    "age": "age_band",
}
PARAMS = (DATASET_PARAM, START_PARAM, END_PARAM, *FILTER_PARAMS)

# codes a tier may filter `variable` of `dataset` on, in display order
Options = Callable[[str, str], Sequence[str]]


def allowed_codes(tier: str) -> Options:
    """The filter options of a tier: core.query's categories, at public granularity for the public.
    "_other" stays valid in every tier where the public tier has it, so that a public link works for a
    signed-in researcher too. Its `public` attribute tells make_state to bound the choice (rule 12)."""

    def options(dataset: str, variable: str) -> list[str]:
        codes = categories(dataset, variable, tier)
        if tier != "public" and OTHER not in codes and OTHER in categories(dataset, variable, "public"):
            codes.append(OTHER)
        return codes

    options.public = tier == "public"  # the public tier's query space is bounded (rule 12)
    return options


@dataclass(frozen=True)
class FilterState:
    dataset: str = DATASETS[0]
    start: str | None = None  # first quarter kept; None: from the first quarter of the dataset
    end: str | None = None  # last quarter kept; None: to the last
    # variable -> chosen codes, only for filters with a choice, in FILTER_PARAMS order
    selections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __hash__(self):  # usable as a cache key
        return hash((self.dataset, self.start, self.end, tuple(self.selections.items())))

    def quarters(self) -> list[str]:
        """The quarters in the chosen period."""
        quarters = load_codebook(self.dataset).quarters()
        first = quarters.index(self.start) if self.start in quarters else 0
        last = quarters.index(self.end) if self.end in quarters else len(quarters) - 1
        return quarters[first:last + 1]

    def query_filters(self) -> dict[str, list[str]]:
        """The filters as core.query takes them."""
        out = {var: list(codes) for var, codes in self.selections.items()}
        if self.start is not None or self.end is not None:
            out[PERIOD_VARIABLE] = self.quarters()
        return out

    def period_choice(self) -> str:
        """The period as the public tier chooses it: "" (all), a year ("2024") or a quarter ("2024Q1");
        the first quarter's code for any other range (researchers)."""
        if self.start is None and self.end is None:
            return ""
        quarters = self.quarters()
        if len(quarters) > 1 and len({q[:4] for q in quarters}) == 1:
            return quarters[0][:4]
        return quarters[0]

    def active(self) -> int:
        """How many filters narrow the view (the period counts as one)."""
        return len(self.selections) + (self.start is not None or self.end is not None)

    def to_params(self) -> dict[str, list[str]]:
        params = {DATASET_PARAM: [self.dataset]}
        if self.start is not None:
            params[START_PARAM] = [self.start]
        if self.end is not None:
            params[END_PARAM] = [self.end]
        by_variable = {v: p for p, v in FILTER_PARAMS.items()}
        for var, codes in self.selections.items():
            params[by_variable[var]] = list(codes)
        return params


def period_bounds(dataset: str, choice: str) -> tuple[str | None, str | None]:
    """The (start, end) quarters of a public period choice: "" (all), a year or a quarter."""
    if not choice:
        return None, None
    quarters = [q for q in load_codebook(dataset).quarters() if q.startswith(choice)]
    return (quarters[0], quarters[-1]) if quarters else (None, None)


def _public_period(quarters: list[str], first: int, last: int) -> bool:
    """Rule 12: a single quarter, a single year (as much of it as the dataset covers), or everything."""
    chosen = quarters[first:last + 1]
    if first == last or chosen == quarters:
        return True
    year = chosen[0][:4]
    return chosen == [q for q in quarters if q.startswith(year)]


def make_state(dataset: str, start: str | None, end: str | None,
               selections: Mapping[str, Iterable[str]], options: Options) -> tuple[FilterState, list[tuple[str, str]]]:
    """A FilterState with only what `dataset` and the tier's `options` allow; the (parameter, value)
    pairs left out. A period bound at the dataset's first or last quarter is the same as none. With
    the public tier's options (rule 12) each filter keeps its first answer, and a period that is not a
    quarter, a year or everything is dropped."""
    public = getattr(options, "public", False)
    dropped: list[tuple[str, str]] = []
    quarters = load_codebook(dataset).quarters()
    bounds = []
    for param, value, edge in ((START_PARAM, start, quarters[0]), (END_PARAM, end, quarters[-1])):
        if value is not None and value not in quarters:
            dropped.append((param, value))
            value = None
        bounds.append(None if value == edge else value)
    if bounds[0] and bounds[1] and quarters.index(bounds[0]) > quarters.index(bounds[1]):
        dropped += [(START_PARAM, bounds[0]), (END_PARAM, bounds[1])]
        bounds = [None, None]
    first = quarters.index(bounds[0]) if bounds[0] else 0
    last = quarters.index(bounds[1]) if bounds[1] else len(quarters) - 1
    if public and not _public_period(quarters, first, last):
        dropped += [(p, v) for p, v in zip((START_PARAM, END_PARAM), bounds) if v]
        bounds = [None, None]
    kept: dict[str, tuple[str, ...]] = {}
    codebook = load_codebook(dataset)
    for param, var in FILTER_PARAMS.items():
        wanted = list(dict.fromkeys(selections.get(var, ())))
        if not wanted:
            continue
        if var not in codebook:  # a standard variable this dataset (made from a form) does not have
            dropped += [(param, code) for code in wanted]
            continue
        allowed = list(options(dataset, var))
        dropped += [(param, code) for code in wanted if code not in allowed]
        codes = tuple(code for code in allowed if code in wanted)  # in display order
        if public and len(codes) > 1:
            first = next(c for c in wanted if c in codes)
            dropped += [(param, code) for code in codes if code != first]
            codes = (first,)
        if codes:
            kept[var] = codes
    return FilterState(dataset, bounds[0], bounds[1], kept), dropped


def from_params(params: Mapping[str, Sequence[str]], options: Options,
                ignore: Iterable[str] = ()) -> tuple[FilterState, list[tuple[str, str]]]:
    """The filters of a link's query parameters (each a list of values) and the (parameter, value)
    pairs dropped: unknown parameters (except those in `ignore`, read by someone else), unknown
    datasets, quarters, codes, and codes the tier may not use."""
    dropped: list[tuple[str, str]] = []
    for name, values in params.items():
        if name not in PARAMS and name not in ignore:
            dropped += [(name, v) for v in values]
    dataset_values = list(params.get(DATASET_PARAM, ()))
    dataset = dataset_values[-1] if dataset_values else DATASETS[0]
    if dataset not in versions.datasets():  # the built-in datasets and those created from a form
        dropped.append((DATASET_PARAM, dataset))
        dataset = DATASETS[0]

    def single(name: str) -> str | None:
        values = list(params.get(name, ()))
        dropped.extend((name, v) for v in values[:-1] if v != values[-1])
        return values[-1] if values else None

    start, end = single(START_PARAM), single(END_PARAM)
    selections = {var: params.get(param, ()) for param, var in FILTER_PARAMS.items()}
    state, more = make_state(dataset, start, end, selections, options)
    return state, dropped + more
