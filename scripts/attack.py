"""The public tier's attack suite: each attack tries, through the public Python API only (core.query with
tier="public", the functions the pages call), to learn what the public tier must not give away, and is
scored against the exact figures of the researcher tier. `make attack` prints every attack's recovery
rate beside its naive baseline and its bar; tests/privacy/ runs the same attacks with a smaller budget
and fails when one beats its bar. docs/disclosure.md gives the design they test and the figures.

    python -m scripts.attack                  # every attack, full budget, the configured secret
    python -m scripts.attack --quick          # the tests' budget
    python -m scripts.attack --noise 5        # the W-sum attack and the users' cost at a wider ptable

Scoring: a small count is a true count from 1 to 9; an attack "recovers" it when its best estimate,
rounded, equals it. The naive baseline is the best constant guess (the commonest true value among the
targets, a guess that knows their distribution). Bars (the issue's): small counts no better than naive
plus 5 points; no exact extreme value; no empty cell told from a small one beyond chance; no proof of a
100% sensitive share; no "Other" naming one answer.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import disclosure, query
from core.data.codebook import OTHER
from core.data.engine import get_engine
from core.disclosure import TableRefused
from core.query import UnknownFilter

try:  # the public categories decided once per version (rule 8); older portals had none
    from core.query.tables import _public as decided_public
except ImportError:
    decided_public = None

DATASET = "core"
MARGIN = 0.05  # how far above its naive baseline a recovery rate may go


@dataclass
class Result:
    attack: str
    what: str
    targets: int
    recovered: int
    naive: float  # the naive baseline's rate
    bar: float  # the highest rate that passes
    queries: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.recovered / self.targets if self.targets else 0.0

    @property
    def passed(self) -> bool:
        return self.rate <= self.bar + 1e-9


# --- the public API, as an outsider calls it (refusals are answers too) -----------------------------

class Public:
    """The public tier's functions, counting queries; a refused or unknown query returns None."""

    def __init__(self, dataset: str = DATASET):
        self.dataset = dataset
        self.queries = 0

    def _call(self, fn: Callable, *args, **kwargs):
        self.queries += 1
        try:
            return fn(self.dataset, *args, tier="public", **kwargs)
        except (TableRefused, UnknownFilter):
            return None

    def refusal(self, fn: Callable, *args, **kwargs) -> TableRefused | None:
        self.queries += 1
        try:
            fn(self.dataset, *args, tier="public", **kwargs)
        except TableRefused as e:
            return e
        except UnknownFilter:
            return None
        return None

    def total(self, filters) -> float | None:
        return self._call(query.total, filters=filters)

    def crosstab(self, rows, filters=None) -> pd.DataFrame | None:
        return self._call(query.crosstab, list(rows), filters=filters)

    def shares(self, variable, by=(), filters=None):
        return self._call(query.shares, variable, by=list(by), filters=filters)

    def flows(self, kind, filters=None):
        return self._call(query.flows, kind, filters=filters)

    def summary(self, variable, by=(), filters=None):
        return self._call(query.summary, variable, by=list(by), filters=filters)

    def distribution(self, variable, edges=None, filters=None):
        return self._call(query.distribution, variable, edges, filters=filters)


@functools.cache
def exact_table(dataset: str, rows: tuple[str, ...]) -> dict[tuple, int]:
    """Exact counts (researcher tier) per cell, to score with."""
    df = query.crosstab(dataset, list(rows), tier="researcher")
    return {tuple(r[:-1]): int(r[-1]) for r in df[[*rows, "count"]].itertuples(index=False)}


def exact_count(dataset: str, filters: dict[str, str]) -> int:
    rows = tuple(sorted(filters))
    return exact_table(dataset, rows).get(tuple(filters[r] for r in rows), 0)


def naive_rate(truths: Sequence[int]) -> float:
    """The best constant guess's rate: the commonest value among the targets."""
    if not truths:
        return 0.0
    return Counter(truths).most_common(1)[0][1] / len(truths)


def _value(df: pd.DataFrame | None, where: dict[str, str]) -> float | None:
    """A shown count of one cell of a public table (None where withheld or refused)."""
    if df is None:
        return None
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k].astype(str) == v).to_numpy()
    hit = df.loc[mask, "count"]
    if hit.empty or pd.isna(hit.iloc[0]):
        return None
    return float(hit.iloc[0])


def _cells(df: pd.DataFrame | None, names: Sequence[str]) -> dict[tuple[str, ...], float | None]:
    """Every shown count of a public table by its cell's codes, as `_value` reads them one at a time (the
    first row of a cell; None where withheld): for an attack that reads most cells of a table, where a
    `_value` per cell scanned the whole table each time."""
    if df is None:
        return {}
    cells: dict[tuple[str, ...], float | None] = {}
    for *key, n in zip(*(df[k].astype(str) for k in names), df["count"]):
        cells.setdefault(tuple(key), None if pd.isna(n) else float(n))
    return cells


def _codes(variable: str, tier: str = "researcher") -> list[str]:
    return query.categories(DATASET, variable, tier=tier)


def _small_targets(rows: tuple[str, str], limit: int, seed: int = 7) -> list[tuple[str, str, int]]:
    """Cells of a two-way table with a true count from 1 to 9, a fixed sample."""
    cells = [(a, b, n) for (a, b), n in exact_table(DATASET, rows).items() if 1 <= n <= 9]
    rng = np.random.default_rng(seed)
    rng.shuffle(cells)
    return cells[:limit]


def _balanced(truths: dict, seed: int = 5) -> dict:
    """As many empty targets (truth 0) as non-empty ones (truth 1), a fixed sample: so that the naive
    baseline is a coin, and an attack that tells them apart shows."""
    ones = [k for k, v in truths.items() if v]
    zeros = [k for k, v in truths.items() if not v]
    rng = np.random.default_rng(seed)
    n = min(len(ones), len(zeros))
    keep = [ones[i] for i in rng.permutation(len(ones))[:n]] + [zeros[i] for i in rng.permutation(len(zeros))[:n]]
    return {k: truths[k] for k in keep}


def _score(attack: str, what: str, estimates: dict, truths: dict, api: Public, start: float, bar_margin=MARGIN,
           note: str = "") -> Result:
    truth = list(truths.values())
    naive_value = Counter(truth).most_common(1)[0][0] if truth else 0
    hits = sum(1 for key, n in truths.items()
               if (round(estimates[key]) if estimates.get(key) is not None else naive_value) == n)
    naive = naive_rate(truth)
    return Result(attack, what, len(truth), hits, naive, naive + bar_margin, api.queries, time.perf_counter() - start, note)


# --- 1 and 2: averaging over many supersets (list filters) ------------------------------------------

def averaging_lists(budget: int, rows=("nationality", "interview_quarter"), name="averaging") -> Result:
    """total(A ∪ B) − total(B) for many different B: A a cell's nationality in its quarter, B other
    nationalities of the same quarter (list filters), the estimates averaged. A bounded query space
    refuses every list, and the attacker is left with the naive guess."""
    start, api = time.perf_counter(), Public()
    a_var, b_var = rows
    targets = _small_targets(rows, budget)
    others = [c for c in _codes(a_var, "public") if c != OTHER]
    estimates, truths = {}, {}
    for a, b, n in targets:
        truths[(a, b)] = n
        found = []
        for other in [c for c in others if c != a][:40]:
            union = api.total({a_var: [a, other], b_var: [b]})
            alone = api.total({a_var: [other], b_var: [b]})
            if union is not None and alone is not None:
                found.append(union - alone)
        estimates[(a, b)] = float(np.mean(found)) if found else None
    return _score(name, f"small cells of {' x '.join(rows)} (list filters)", estimates, truths, api, start)


def averaging_lists_sensitive(budget: int) -> Result:
    """The same on a sensitive table: a small cell of incident type x nationality, as the respondents
    reporting that incident among its nationality and one other, minus among the other alone, for every
    other nationality (list filters)."""
    start, api = time.perf_counter(), Public()
    targets = _small_targets(("incident_types", "nationality"), budget)
    others = [c for c in _codes("nationality", "public") if c != OTHER]
    estimates, truths = {}, {}
    for incident, nat, n in targets:
        truths[(incident, nat)] = n
        found = []
        for other in [c for c in others if c != nat][:40]:
            union = api.total({"incident_types": [incident], "nationality": [nat, other]})
            alone = api.total({"incident_types": [incident], "nationality": [other]})
            if union is not None and alone is not None:
                found.append(union - alone)
        estimates[(incident, nat)] = float(np.mean(found)) if found else None
    return _score("averaging, sensitive", "small cells of incident type x nationality (list filters)", estimates,
                  truths, api, start)


# --- 3: extreme values through the caller's bin edges -----------------------------------------------

def extreme_values(budget: int) -> Result:
    """The largest amount paid to smugglers in a group, by bisection on the top edge of a distribution
    (a bin the public shows as non-empty holds the maximum), then the public summary's figures: the
    attack recovers the maximum when its estimate equals the exact one."""
    start, api = time.perf_counter(), Public()
    variable = "amount_paid_usd"
    groups = [c for c in _codes("region_of_interview", "public") if c != OTHER][:budget]
    estimates, truths = {}, {}
    for g in groups:
        filters = {"region_of_interview": [g]}
        exact = query.summary(DATASET, variable, filters=filters, tier="researcher").iloc[0]
        truths[g] = float(exact["max"])
        lo, hi = 0.0, 100_000.0
        for _ in range(20):
            mid = (lo + hi) / 2
            dist = api.distribution(variable, [0.0, mid], filters=filters)
            if dist is None:
                break
            top = dist.iloc[-1]
            if top["suppressed"] and pd.isna(top["count"]):
                hi = mid
            else:
                lo = mid
        else:
            estimates[g] = lo
            continue
        summary = api.summary(variable, filters=filters)
        shown = [] if summary is None else [summary.iloc[0].get(c) for c in ("max", "p75", "mean")]
        estimates[g] = next((float(v) for v in shown if v is not None and not pd.isna(v)), None)
    hits = sum(1 for g, m in truths.items() if estimates.get(g) is not None and abs(estimates[g] - m) < 0.5)
    return Result("extreme values", "exact maximum of amount paid per region", len(truths), hits, 0.0, 0.0,
                  api.queries, time.perf_counter() - start)


# --- 4: the refusal as an oracle -------------------------------------------------------------------

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def refusal_oracle(budget: int) -> Result:
    """A refusal that states how many of a table's cells would be hidden tells, row by row, whether its
    "<10" cells are empty: for each "<10" cell of nationality x gender in a quarter, the one-way table
    of its row (gender, filtered on the nationality and the quarter) is asked for, and a refusal's
    share of hidden non-empty cells read back. Scored: "<10" cells told empty or not, against always
    guessing the commoner of the two."""
    start, api = time.perf_counter(), Public()
    exact = exact_table(DATASET, ("nationality", "interview_quarter", "gender"))
    sizes = exact_table(DATASET, ("nationality",))
    # nationalities of a few hundred respondents: a quarter of them is a small table, rarely refused
    nats = [c for c in _codes("nationality", "public") if c != OTHER and 300 <= sizes.get((c,), 0) <= 3000]
    nats = nats[:max(3, budget // 2)]
    quarters = _codes("interview_quarter", "public")[-8:]
    genders = _codes("gender", "public")
    truths, estimates = {}, {}
    for nat, quarter in itertools.product(nats, quarters):
        shown = api.crosstab(["gender"], {"nationality": [nat], "interview_quarter": [quarter]})
        refusal = api.refusal(query.crosstab, ["gender"], filters={"nationality": [nat], "interview_quarter": [quarter]})
        hidden = [] if shown is None else [g for g in genders if _value(shown, {"gender": g}) is None]
        if shown is None:
            hidden = genders
        share = None
        if refusal is not None:
            m = _NUMBER.search(str(refusal))
            share = float(m.group(1)) / 100 if m and refusal.rule == 4 else None
        for g in hidden:
            truths[(nat, quarter, g)] = int(exact.get((nat, quarter, g), 0) > 0)
            if share is not None:
                estimates[(nat, quarter, g)] = 1 if share > 0 else 0
    return _score("refusal oracle", "'<10' cells told empty or not", estimates, _balanced(truths), api, start)


# --- 5: which links a map lists --------------------------------------------------------------------

def map_existence(budget: int) -> Result:
    """A link the public map lists but does not count ("<10") exists; one it leaves out does not; and
    "N links not drawn" counts them. Scored: pairs of countries whose public count is not shown, told
    empty or not, against the commoner of the two."""
    start, api = time.perf_counter(), Public()
    kind = "origin_interview"
    exact = exact_table(DATASET, ("nationality", "country_of_interview"))
    truths, estimates = {}, {}
    quarters = _codes("interview_quarter", "public")[-max(2, budget // 10):]
    nats = [c for c in _codes("nationality", "public") if c != OTHER]
    countries = [c for c in _codes("country_of_interview", "public") if c != OTHER]
    for quarter in quarters:
        filters = {"interview_quarter": [quarter]}
        links = api.flows(kind, filters)
        if links is None:
            continue
        listed = {(a, b): bool(s) for a, b, s in links[["origin", "destination", "suppressed"]].itertuples(index=False)}
        hidden_count = links.attrs.get("hidden")
        exact_q = query.crosstab(DATASET, ["nationality", "country_of_interview"], filters=filters, tier="researcher")
        exact_q = {(a, b): int(n) for a, b, n in exact_q[["nationality", "country_of_interview", "count"]].itertuples(index=False)}
        for a, b in itertools.product(nats, countries):
            if (a, b) in listed and not listed[(a, b)]:
                continue  # shown with its count: not a target
            truths[(quarter, a, b)] = int(exact_q.get((a, b), 0) > 0)
            if (a, b) in listed or hidden_count is not None:
                estimates[(quarter, a, b)] = int((a, b) in listed)
    del exact
    return _score("map existence", "unshown links told empty or not", estimates, _balanced(truths), api, start)


def map_profiles(budget: int) -> Result:
    """The size of a small link within a quarter from the filter profiles under which the map lists it:
    the profiles (answers to questions asked of everyone, one category per filter) are refined one
    question at a time wherever the link is still listed; the number of finest profiles listing it is a
    lower bound of its size, exact once every member has a profile of their own."""
    start, api = time.perf_counter(), Public()
    kind = "origin_interview"
    codebook = get_engine().dataset(DATASET).codebook
    ws = [v.name for v in codebook.variables.values() if v.type == "single" and v.public and v.asked is None
          and v.name != "nationality"][:5]
    quarters = _codes("interview_quarter", "public")[-max(1, budget // 40):]
    estimates, truths = {}, {}
    for quarter in quarters:
        exact = query.crosstab(DATASET, ["nationality", "country_of_interview"], filters={"interview_quarter": [quarter]},
                               tier="researcher")
        small = {(a, b): int(n) for a, b, n in exact[["nationality", "country_of_interview", "count"]].itertuples(index=False)
                 if 1 <= n <= 9}
        frontier: list[tuple[dict, set]] = [({"interview_quarter": [quarter]}, set(small))]
        for w in ws:
            refined = []
            for filters, wanted in frontier:
                for code in _codes(w, "public"):
                    links = api.flows(kind, {**filters, w: [code]})
                    listed = wanted & (set() if links is None else set(zip(links["origin"], links["destination"])))
                    if listed:
                        refined.append(({**filters, w: [code]}, listed))
            frontier = refined
        counts = Counter(link for _, listed in frontier for link in listed)
        for link, n in small.items():
            truths[(quarter, *link)] = n
            estimates[(quarter, *link)] = float(counts[link]) if counts[link] else None
    return _score("map profiles", "small links' sizes from listing profiles", estimates, truths, api, start)


# --- 6: the sensitive band -------------------------------------------------------------------------

def sensitive_band(budget: int) -> Result:
    """A group whose share of a sensitive answer is shown as a band ("over 95%") must not give away its
    count beside its base (85 of 85), in shares or in a crosstab's counts beside its totals. Scored:
    groups proven exactly 100% (a shown count equal to its shown base, on a base under the band's)."""
    start, api = time.perf_counter(), Public()
    rules = disclosure.settings()
    sensitive = [v.name for v in get_engine().dataset(DATASET).codebook.variables.values()
                 if v.sensitive and v.public and v.categorical][:max(2, budget // 5)]
    proofs, groups = 0, 0
    for variable in sensitive:
        for quarter in _codes("interview_quarter", "public")[-6:]:
            filters = {"interview_quarter": [quarter]}
            res = api.shares(variable, by=["nationality"], filters=filters)
            if res is not None:
                small = res[res["base"].astype("Float64").fillna(1e9) < rules.sensitive_extreme_base]
                groups += len(small)
                proofs += int(((small["count"] == small["base"]) & small["count"].notna()).sum())
            table = api.crosstab(["nationality", variable], filters)
            totals = api.crosstab(["nationality"], {**filters, variable: _codes(variable, "public")})
            if table is not None and totals is not None:
                merged = table.merge(totals[["nationality", "count"]].rename(columns={"count": "total"}), on="nationality")
                small = merged[merged["total"].astype("Float64").fillna(1e9) < rules.sensitive_extreme_base]
                groups += len(small)
                proofs += int(((small["count"] == small["total"]) & small["count"].notna()).sum())
    return Result("sensitive band", "groups proven 100% (count = base, base < 100)", groups, proofs, 0.0, 0.0,
                  api.queries, time.perf_counter() - start)


# --- 7: "Other" ------------------------------------------------------------------------------------

def other_category(budget: int) -> Result:
    """An "Other" holding one answer names it; a country merged at one end of a flow but shown in
    another table differs between views. Scored: variables whose "Other" is a single answer, and
    countries a flow merges at one end that the same variable's crosstab shows (or the reverse)."""
    start, api = time.perf_counter(), Public()
    ds = get_engine().dataset(DATASET)
    if decided_public is not None:
        decided = decided_public(ds).categories
        singles = [name for name, d in decided.items() if OTHER in d.shown and len(d.merged - _empty(name)) < 2]
    else:  # before rule 8 was decided once per version: small categories by exact size
        decided = {v.name: v for v in ds.codebook.variables.values() if v.categorical and v.public}
        singles = [name for name, v in decided.items()
                   if len(disclosure.small_categories(get_engine().category_sizes(ds, v)) - _empty(name)) == 1]
    inconsistent = 0
    for kind in query.flow_kinds(DATASET):
        links = api.flows(kind)
        if links is None or kind == "route":
            continue
        a_var, b_var = query.flow_variables(kind)
        for side, var in (("origin", a_var), ("destination", b_var)):
            shown = set(api.crosstab([var])[var].astype(str))
            inconsistent += len(set(links[side]) - shown)
    return Result("Other", "single-answer Others and inconsistent merges", len(decided), len(singles) + inconsistent,
                  0.0, 0.0, api.queries, time.perf_counter() - start, note=", ".join(singles))


def _empty(variable: str) -> set[str]:
    sizes = get_engine().category_sizes(get_engine().dataset(DATASET), get_engine().dataset(DATASET).codebook[variable])
    return {c for c, n in sizes.items() if n == 0}


# --- 8: number summaries ---------------------------------------------------------------------------

def number_summaries(budget: int) -> Result:
    """Quartiles and means of small groups that give away a precise figure: for amount paid by nationality
    in a year (groups under 30 contributors), every shown quartile or mean compared with the group's exact
    one. A hit is a shown figure equal to the exact one where that has more than two significant digits
    (1,160 is a person's amount; 1,200 is a coarse figure many people's amounts round to)."""
    start, api = time.perf_counter(), Public()
    variable = "amount_paid_usd"
    shown, hits = 0, 0
    for year in _codes("interview_year", "public")[-max(2, budget // 10):]:
        filters = {"interview_year": [year]}
        public = api.summary(variable, by=["nationality"], filters=filters)
        if public is None:
            continue
        exact = query.summary(DATASET, variable, by=["nationality"], filters=filters, tier="researcher")
        exact = exact.set_index("nationality")
        for _, r in public.iterrows():
            if r["nationality"] not in exact.index or int(exact.loc[r["nationality"], "contributors"]) >= 30:
                continue
            for col in ("p25", "median", "p75", "mean"):
                if pd.isna(r[col]):
                    continue
                shown += 1
                value = float(exact.loc[r["nationality"], col])
                hits += int(value == float(r[col]) and disclosure.round_magnitude(value, 2) != value)
    return Result("number summaries", "precise figures of groups under 30 equal to their exact figure", shown, hits,
                  0.0, MARGIN, api.queries, time.perf_counter() - start)


# --- 9: averaging with single-category filters (parent minus siblings, W-sums) ----------------------

def w_sum(budget: int, w_count: int = 60, engine_note: str = "") -> Result:
    """A small cell of nationality x gender, over the whole dataset or within a period (a quarter or a
    year): its nationality's total minus the other genders, once directly and once for each third
    question W (the quarter, the year, the country of interview, every other question asked of
    everyone) as the sum over W's answers of the same difference; the estimates averaged, each weighted
    by the inverse of its number of noisy terms. Only single-category filters."""
    start, api = time.perf_counter(), Public()
    codebook = get_engine().dataset(DATASET).codebook
    public_genders = set(_codes("gender", "public"))
    # Third questions asked of everyone, so that a sum over their answers is the whole group.
    ws = [v.name for v in codebook.variables.values() if v.categorical and v.type != "multiple" and v.public
          and v.asked is None and v.name not in ("gender", "nationality")][:w_count]
    cells = [(None, a, None, g, n) for (a, g), n in exact_table(DATASET, ("nationality", "gender")).items() if 1 <= n <= 9]
    for period_var in ("interview_quarter", "interview_year"):
        exact = exact_table(DATASET, ("nationality", period_var, "gender"))
        cells += [(period_var, a, p, g, n) for (a, p, g), n in exact.items() if 1 <= n <= 9]
    rng = np.random.default_rng(11)
    whole, within = [c for c in cells if c[0] is None], [c for c in cells if c[0] is not None]
    rng.shuffle(within)
    cells = (whole + within)[:budget]
    estimates, truths = {}, {}
    for period_var, nat, period, gender, n in cells:
        key = (period_var, nat, period, gender)
        truths[key] = n
        filters = {"nationality": [nat], **({period_var: [period]} if period_var else {})}
        siblings = [g for g in public_genders if g != gender]
        found, weights = [], []  # each estimate weighted by the inverse of its number of noisy terms
        total = api.total(filters)
        parts = [_value(api.crosstab(["gender"], filters), {"gender": g}) for g in siblings]
        if total is not None and all(p is not None for p in parts):
            found.append(total - sum(parts))
            weights.append(1 / (1 + len(parts)))
        for w in [w for w in ws if w not in filters]:
            by_w = api.crosstab([w], filters)
            by_gw = api.crosstab(["gender", w], filters)
            if by_w is None or by_gw is None:
                continue
            estimate, ok = 0.0, True
            terms = 0
            wholes, parts_gw = _cells(by_w, [w]), _cells(by_gw, ["gender", w])
            for code in by_w[w].astype(str):
                whole = wholes.get((code,))
                if whole is None:  # "<10" for the whole answer: its part of the target is taken as none
                    continue
                sib = [parts_gw.get((g, code)) for g in siblings]
                if any(x is None for x in sib):
                    ok = False
                    break
                estimate += whole - sum(sib)
                terms += 1 + len(siblings)
            if ok and terms:
                found.append(estimate)
                weights.append(1 / terms)
        estimates[key] = max(0.0, float(np.average(found, weights=weights))) if found else None
    return _score("W-sum", f"small cells of nationality x gender (x period), single filters{engine_note}",
                  estimates, truths, api, start)


# --- the cost to users of a ptable ------------------------------------------------------------------

def user_cost(tables: int = 40) -> dict[str, float]:
    """Mean and 95th percentile absolute error of shown counts and of shown shares (percentage points)
    over public two-way tables of the default data: each public single-choice question by gender, by age
    band and by region."""
    codebook = get_engine().dataset(DATASET).codebook
    names = [v.name for v in codebook.variables.values() if v.type == "single" and v.public][:tables]
    count_err, share_err = [], []
    for name in names:
        for by in ("gender", "age_band", "region_of_interview"):
            if by == name:
                continue
            try:
                pub = query.shares(DATASET, name, by=[by], tier="public")
            except TableRefused:
                continue
            # the truth of the public tier's respondents (without withheld categories, rule 8)
            ex = query.shares(DATASET, name, by=[by], filters=public_universe(), tier="researcher")
            merged = pub.merge(ex, on=[by, name], suffixes=("", "_x"))
            ok = merged["count"].notna()
            count_err += list((merged.loc[ok, "count"].astype(float) - merged.loc[ok, "count_x"].astype(float)).abs())
            ok = merged["share"].notna()
            share_err += list(100 * (merged.loc[ok, "share"].astype(float) - merged.loc[ok, "share_x"].astype(float)).abs())
    return {"count_mean": float(np.mean(count_err)), "count_p95": float(np.percentile(count_err, 95)),
            "share_mean_pp": float(np.mean(share_err)), "share_p95_pp": float(np.percentile(share_err, 95))}


def public_universe() -> dict[str, list[str]]:
    """Researchers' filters keeping the public tier's respondents: the shown categories of every variable
    with a withheld one."""
    decided = decided_public(get_engine().dataset(DATASET)).categories
    codebook = get_engine().dataset(DATASET).codebook
    return {n: list(d.shown) for n, d in decided.items() if d.withheld and codebook[n].type != "multiple"}


def wide_noise_settings(width: int) -> disclosure.Settings:
    """The default settings with a ptable of noise -width..+width: a discretised triangle, zero-mean."""
    rules = disclosure.settings()
    values = list(range(-width, width + 1))
    weights = np.array([width + 1 - abs(v) for v in values], dtype=float)
    fields = {f: getattr(rules, f) for f in rules.__dataclass_fields__}
    fields.update(noise_values=tuple(values), noise_probabilities=tuple(weights / weights.sum()),
                  )  # a count of 1 keeps the default's noise (never below zero, zero-mean)
    return disclosure.Settings(**fields)


ATTACKS = {
    "averaging": averaging_lists,
    "averaging, sensitive": averaging_lists_sensitive,
    "extreme values": extreme_values,
    "refusal oracle": refusal_oracle,
    "map existence": map_existence,
    "map profiles": map_profiles,
    "sensitive band": sensitive_band,
    "Other": other_category,
    "number summaries": number_summaries,
    "W-sum": w_sum,
}
QUICK = {"averaging": 25, "averaging, sensitive": 10, "extreme values": 4, "refusal oracle": 12,
         "map existence": 10, "map profiles": 25, "sensitive band": 5, "Other": 1, "number summaries": 20, "W-sum": 20}
FULL = {"averaging": 100, "averaging, sensitive": 20, "extreme values": 7, "refusal oracle": 40,
        "map existence": 40, "map profiles": 80, "sensitive band": 15, "Other": 1, "number summaries": 40, "W-sum": 150}


def row(r: Result) -> str:
    verdict = "holds" if r.passed else "BEATS ITS BAR"
    return (f"{r.attack:22} {r.recovered:>5}/{r.targets:<5} {r.rate:7.1%}   naive {r.naive:6.1%}   bar {r.bar:6.1%}   "
            f"{r.queries:>6} queries {r.seconds:6.1f} s   {verdict}   {r.what}{' (' + r.note + ')' if r.note else ''}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.attack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the tests' budget")
    parser.add_argument("--only", action="append", help="run only this attack (repeat)")
    parser.add_argument("--noise", type=int, action="append",
                        help="also run the W-sum attack and the users' cost with a ptable of noise ±N")
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else FULL
    failed = 0
    print(f"{'attack':22} {'recovered':>11}   {'rate':>7}   naive baseline   bar   queries   time   verdict")
    for name, attack in ATTACKS.items():
        if args.only and name not in args.only:
            continue
        r = attack(budget[name])
        failed += not r.passed
        print(row(r), flush=True)
    if args.noise:
        from core.data.engine import Engine, set_engine
        from core.disclosure import CellKeyPerturbation
        from core.settings import ckm_secret

        widths = [2, *args.noise]
        print("\nptable width: W-sum recovery and the users' cost (absolute error of shown counts, and of shares in points)")
        for width in widths:
            rules = disclosure.settings() if width == 2 else wide_noise_settings(width)
            set_engine(Engine(perturbation=CellKeyPerturbation(ckm_secret(), rules)))
            exact_table.cache_clear()
            r = w_sum(budget["W-sum"], engine_note=f", noise ±{width}")
            cost = user_cost()
            print(f"±{width}: W-sum {r.recovered}/{r.targets} = {r.rate:.1%} (naive {r.naive:.1%})   counts: mean "
                  f"{cost['count_mean']:.2f}, p95 {cost['count_p95']:.1f}   shares: mean {cost['share_mean_pp']:.3f} pp, "
                  f"p95 {cost['share_p95_pp']:.3f} pp", flush=True)
        set_engine(None)
    print(f"\n{failed} attack(s) beat their bar" if failed else "\nevery attack held")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
