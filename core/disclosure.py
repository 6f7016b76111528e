"""Public-tier disclosure control: design.md rules 1 to 10, with their numbers in data/disclosure.toml.

Every number the public tier shows passes through this module. The query engine hands it exact
aggregates (counts with the raw sum of their records' keys, or the values behind a mean); it returns
what the public may see, or raises TableRefused with the rule that refused and why.

The cell-key method (rule 1)
----------------------------
* Record key: a keyed BLAKE2b hash of the respondent id (key derived from the server's secret),
  reduced modulo `key_range`. It depends on the id and the secret only, so it is stable across
  releases, and it is never stored with the data or sent anywhere.
* Cell key: the sum of the cell's record keys modulo `key_range`. The same set of respondents gives the
  same cell key whatever query produced the cell (other filters, other dimensions), so it gets the same
  noise: subtracting one table from another gives back perturbed differences, not the small cell.
* Perturbation table: one row per count (0 to `max_count_row`, larger counts cycle through the rows
  from `cycle_start`), one column per cell key. Built by `build_ptable` (see its docstring) from the
  secret at start-up, in memory only.

Rules, as applied here (numbers from data/disclosure.toml [thresholds]):
  2. min_count: a perturbed count under it is suppressed ("<10"); zeros too.
  3. min_population: a table whose perturbed population is under it is refused.
  4. max_suppressed_share: a table of two or more variables is refused when more than this share of its
     cells in shown rows and columns (one-way margins of at least min_count) would be "<10".
  5. max_variables / max_variables_sensitive: variables across rows and columns; filters do not count.
     sensitive_extreme_base / sensitive_extreme_band: a sensitive share of 0% or 100% on a base under
     sensitive_extreme_base is shown as "under/over band%".
  6. min_percentage_base: percentages from perturbed counts, only on a perturbed base at least this.
  7. min_contributors, dominance_n, dominance_k: means need min_contributors (protected) contributors
     and the dominance_n largest values under dominance_k of the total; magnitude_digits: a public mean's
     significant digits; quartiles are read off the protected distribution over fixed intervals; never
     a sum, a minimum or a maximum.
  8. min_category_size, tiny_category_share, merge_partner_share: categories with fewer respondents in
     the whole dataset (protected counts), or single-choice answers under tiny_category_share of those
     who answered, merge into "Other", which must hold two answers; a lone small answer whose neighbours
     are all over merge_partner_share is withheld (`public_categories`). Decided once per data version.
  9. Nothing row-level: the query API refuses microdata to the public tier (core/query/tables.py).
 10. The secret, record keys and perturbation table stay in this process: nothing here returns them
     in a result.
 11. Every public decision is made from protected values: rule 4 from what the table shows, rule 7's
     flag from the protected count, rule 8 from protected whole-dataset counts, rule 5's band from
     protected counts and bases; refusals name the rule and what to change, never a share or a count.
 12. The public query space is bounded (core/query/tables.py): one category, every category, or a year's
     quarters per filter; number questions in fixed intervals (core.query.public_bins).
docs/disclosure.md explains the design and the attacks it is tested against (scripts/attack.py).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import DISCLOSURE_SETTINGS, ckm_secret

OTHER_CODE = "_other"  # core.data.codebook.OTHER (this module imports nothing from the codebook)


class TableRefused(Exception):
    """The public rules refuse this table. `rule` is design.md's rule number; `reason` a stable key
    (for translated messages); `params` the numbers the message uses; str() is the English message."""

    def __init__(self, rule: int, reason: str, message: str, **params):
        super().__init__(message)
        self.rule = rule
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class Settings:
    key_range: int
    max_count_row: int
    cycle_start: int
    noise_values: tuple[int, ...]
    noise_probabilities: tuple[float, ...]
    noise_values_count_1: tuple[int, ...]
    noise_probabilities_count_1: tuple[float, ...]
    min_count: int
    min_population: int
    max_suppressed_share: float
    max_variables: int
    max_variables_sensitive: int
    sensitive_extreme_base: int
    sensitive_extreme_band: int
    min_percentage_base: int
    min_contributors: int
    dominance_n: int
    dominance_k: float
    min_category_size: int
    tiny_category_share: float
    merge_partner_share: float
    magnitude_digits: int


def load_settings(path: Path = DISCLOSURE_SETTINGS) -> Settings:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    flat = {**raw["cell_key"], **raw["thresholds"]}
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in flat.items()}
    return Settings(**fields)


@functools.cache
def settings() -> Settings:
    return load_settings()


# --- rule 1: the cell-key method -------------------------------------------------------------

def _subkey(secret: bytes, purpose: str) -> bytes:
    """Independent keys for the record keys and the table, both derived from the one secret."""
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


def record_keys(respondent_ids: Sequence[str], secret: bytes, key_range: int) -> np.ndarray:
    """Each respondent's record key in [0, key_range): a keyed hash of the id, so stable across
    releases and impossible to recompute without the secret."""
    key = _subkey(secret, "record-key")[:32]
    digests = (
        hashlib.blake2b(str(rid).encode(), key=key, digest_size=8).digest() for rid in respondent_ids
    )
    raw = np.frombuffer(b"".join(digests), dtype="<u8")
    return (raw % np.uint64(key_range)).astype(np.int64)


def _slot_counts(values: Sequence[int], probabilities: Sequence[float], key_range: int) -> dict[int, int]:
    """How many of the key_range cell keys get each noise value: the target probabilities, rounded by
    largest remainder, then nudged so that the row's noise sums to exactly zero."""
    exact = {v: p * key_range for v, p in zip(values, probabilities)}
    slots = {v: int(x) for v, x in exact.items()}
    for v in sorted(exact, key=lambda v: exact[v] - slots[v], reverse=True)[: key_range - sum(slots.values())]:
        slots[v] += 1
    total = sum(v * n for v, n in slots.items())
    # +1 and 0 are in every distribution: trade slots between them until the mean is exactly 0.
    while total != 0:
        step = -1 if total > 0 else 1
        giver, taker = (1, 0) if total > 0 else (0, 1)
        slots[giver] -= 1
        slots[taker] += 1
        total += step
    return slots


def build_ptable(secret: bytes, rules: Settings) -> np.ndarray:
    """The perturbation table: int8 noise, shape (max_count_row + 1, key_range).

    Procedure, for each count c:
      * c = 0: all zero (zero stays zero).
      * c = 1: noise from noise_values_count_1 (never below -1, so never negative), else noise_values.
      * The row holds exactly round(p * key_range) cell keys for each noise value p (largest
        remainder), adjusted so the row's noise sums to zero: the noise is exactly zero-mean over keys.
      * The row's values are shuffled by a generator seeded from a keyed hash of (secret, c), so the
        noise of a cell depends on its key, differently for each count, and cannot be rebuilt without
        the secret.
    """
    table = np.zeros((rules.max_count_row + 1, rules.key_range), dtype=np.int8)
    seed_key = _subkey(secret, "ptable")
    for count in range(1, rules.max_count_row + 1):
        if count == 1:
            values, probabilities = rules.noise_values_count_1, rules.noise_probabilities_count_1
        else:
            values, probabilities = rules.noise_values, rules.noise_probabilities
        slots = _slot_counts(values, probabilities, rules.key_range)
        row = np.repeat(np.array(list(slots), dtype=np.int8), list(slots.values()))
        seed = int.from_bytes(hmac.new(seed_key, count.to_bytes(4, "big"), hashlib.sha256).digest()[:8], "big")
        table[count] = np.random.default_rng(seed).permutation(row)
    return table


@functools.lru_cache(maxsize=4)
def _shared_ptable(secret: bytes, rules: Settings) -> np.ndarray:
    """The table of a secret and settings, built once per process and read-only: every engine (one per
    data directory, and a new one after each load or restore of a version) holds the same ~3 MB table
    instead of building its own (~0.1 CPU-s)."""
    table = build_ptable(secret, rules)
    table.flags.writeable = False
    return table


class CellKeyPerturbation:
    """Perturbs counts from their cell keys; holds the table in memory, never returns it."""

    def __init__(self, secret: bytes | None = None, rules: Settings | None = None):
        self.settings = rules or settings()
        self._secret = secret if secret is not None else ckm_secret()
        self._ptable = _shared_ptable(self._secret, self.settings)

    def record_keys(self, respondent_ids: Sequence[str]) -> np.ndarray:
        return record_keys(respondent_ids, self._secret, self.settings.key_range)

    def _rows(self, counts: np.ndarray) -> np.ndarray:
        rules = self.settings
        period = rules.max_count_row + 1 - rules.cycle_start
        return np.where(counts <= rules.max_count_row, counts, rules.cycle_start + (counts - rules.cycle_start) % period)

    def perturb(self, counts, key_sums) -> np.ndarray:
        """Perturbed counts, given exact counts and the raw sums of their records' keys."""
        counts = np.asarray(counts, dtype=np.int64)
        cell_keys = np.asarray(key_sums, dtype=np.int64) % self.settings.key_range
        noise = self._ptable[self._rows(counts), cell_keys].astype(np.int64)
        return np.where(counts == 0, 0, counts + noise)


# --- rules 2 to 8 ----------------------------------------------------------------------------

def suppressed(perturbed: np.ndarray, rules: Settings | None = None) -> np.ndarray:
    """Rule 2: which perturbed counts are shown as "<10" (zeros included: a zero is disclosive too)."""
    rules = rules or settings()
    return np.asarray(perturbed) < rules.min_count


def check_variables(variables: Sequence, rules: Settings | None = None) -> None:
    """Rule 5: the number of variables across rows and columns of one public table."""
    rules = rules or settings()
    sensitive = [v.name for v in variables if v.sensitive]
    limit = rules.max_variables_sensitive if sensitive else rules.max_variables
    if len(variables) > limit:
        if sensitive:
            message = (f"A public table may combine at most {limit} variables when one of them is "
                       f"sensitive ({', '.join(sensitive)}); this one has {len(variables)}.")
        else:
            message = f"A public table may combine at most {limit} variables; this one has {len(variables)}."
        raise TableRefused(5, "too_many_variables", message, limit=limit, given=len(variables),
                           sensitive=sensitive)


def check_population(perturbed_population: int, rules: Settings | None = None) -> None:
    """Rule 3: refuse tables over too few people."""
    rules = rules or settings()
    if perturbed_population < rules.min_population:
        raise TableRefused(
            3, "population_too_small",
            f"Fewer than {rules.min_population} respondents match these filters: widen the filters "
            "(a longer period, more countries or groups).",
            minimum=rules.min_population,
        )


def check_sparsity(is_suppressed: np.ndarray, rules: Settings | None = None) -> None:
    """Rule 4: refuse a table when most of its cells would be shown as "<10".

    Decided on what the table would show and nothing else (rule 11): every cell of the grid counts,
    an empty one like a small one, so the refusal tells no more than the table would have, and nothing
    about which cells are empty. The message names the rule and what to change, never a share."""
    rules = rules or settings()
    hidden = np.asarray(is_suppressed, dtype=bool)
    if hidden.size and float(hidden.mean()) > rules.max_suppressed_share:
        raise TableRefused(
            4, "too_sparse",
            f"More than {rules.max_suppressed_share:.0%} of this table's cells would be hidden: use "
            "fewer or coarser variables, or wider filters.",
            limit=rules.max_suppressed_share,
        )


def share_flags(counts, bases, sensitive: bool, rules: Settings | None = None):
    """Rules 5 and 6 for percentages computed from protected counts.

    Returns (share, flag): share is count/base where it may be shown, else NaN; flag is "" when
    shown, "suppressed" (the count is "<10"), "base_too_small" (base under min_percentage_base or
    itself suppressed), "under_band" / "over_band" (a sensitive share within sensitive_extreme_band
    of 0% or 100% on a base under sensitive_extreme_base, shown as "under 5%" / "over 95%"). Where a
    band is shown, the count behind it must not be (see `banded`).
    """
    rules = rules or settings()
    counts = np.asarray(counts, dtype=float)  # NaN where suppressed
    bases = np.asarray(bases, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = counts / bases
    flag = np.full(share.shape, "", dtype=object)
    flag[np.isnan(counts)] = "suppressed"
    small_base = np.isnan(bases) | (bases < rules.min_percentage_base)
    flag[small_base] = "base_too_small"
    if sensitive:
        band = banded(counts, bases, rules)
        flag[band == "over_band"] = "over_band"
        flag[(band == "under_band") & (flag == "")] = "under_band"
    share = np.where(flag == "", np.minimum(share, 1.0), np.nan)
    return share, flag


def banded(counts, bases, rules: Settings | None = None) -> np.ndarray:
    """Rule 5's band for a sensitive answer, from protected counts and protected bases only: where the
    base is under sensitive_extreme_base, a count within sensitive_extreme_band percent of the base
    ("over_band") or of zero ("under_band"). A whole small group reporting the same experience is a
    disclosure, so there neither the share nor the count nor (for a count) the exact base is shown:
    "43 of 43" would say 100%. Returns "" / "over_band" / "under_band" per cell."""
    rules = rules or settings()
    counts = np.asarray(counts, dtype=float)
    bases = np.asarray(bases, dtype=float)
    band = rules.sensitive_extreme_band / 100
    out = np.full(counts.shape, "", dtype=object)
    small = ~np.isnan(bases) & (bases < rules.sensitive_extreme_base)
    with np.errstate(invalid="ignore"):
        out[small & ~np.isnan(counts) & (counts >= (1 - band) * bases)] = "over_band"
        out[small & ~np.isnan(counts) & (counts <= band * bases)] = "under_band"
    return out


# --- rule 7: sums, means and quantiles ---------------------------------------------------------

def magnitude_flag(contributors: float, top: float, abs_total: float, rules: Settings | None = None) -> str:
    """Rule 7 for one group: "" when its mean may be shown, else why not. `contributors` is the
    protected count (NaN where it is "<10"), so the flag says no more about the group's size than the
    count does; `top` is the sum of the dominance_n largest absolute values, `abs_total` the sum of all."""
    rules = rules or settings()
    if np.isnan(contributors) or contributors < rules.min_contributors:
        return "too_few_contributors"
    if abs_total > 0 and top >= rules.dominance_k * abs_total:
        return "dominated"
    return ""


def magnitude_allowed(values: np.ndarray, rules: Settings | None = None) -> str:
    """Rule 7 for one group's exact values (researchers' checks, tests): `magnitude_flag` on them."""
    values = np.asarray(values, dtype=float)
    values = np.abs(values[~np.isnan(values)])
    top = float(np.sort(values)[-(rules or settings()).dominance_n:].sum()) if len(values) else 0.0
    return magnitude_flag(float(len(values)), top, float(values.sum()), rules)


def round_magnitude(x: float, digits: int | None = None) -> float:
    """Public means keep `magnitude_digits` significant digits: a shown figure should not move by one
    respondent's exact value."""
    digits = digits or settings().magnitude_digits
    if x == 0 or np.isnan(x):
        return x
    return float(f"{x:.{digits}g}")


def binned_quantiles(edges: Sequence[float], counts, probabilities: Sequence[float]) -> list[float]:
    """Quantiles read off a protected distribution: `counts` per interval [edges[i], edges[i+1]) as
    shown to the public (NaN for "<10", taken as none), linear inside the interval. A quantile that falls
    in the last, open interval, or in an interval the public sees as "<10", is NaN: no public quantile
    is ever a respondent's value, a minimum or a maximum, and each is what anyone could compute from the
    distribution the page shows."""
    counts = np.nan_to_num(np.asarray(counts, dtype=float), nan=0.0)
    total = counts.sum()
    out = []
    for p in probabilities:
        if total <= 0:
            out.append(np.nan)
            continue
        target = p * total
        cumulative = np.cumsum(counts)
        i = int(np.searchsorted(cumulative, target, side="left"))
        if i >= len(edges) - 1 or counts[i] <= 0:  # the open top interval, or a hidden one
            out.append(np.nan)
            continue
        before = cumulative[i] - counts[i]
        lo, hi = edges[i], edges[i + 1]
        out.append(lo + (hi - lo) * (target - before) / counts[i])
    return out


# --- rule 8: the public categories of a variable, decided once per data version -----------------

@dataclass(frozen=True)
class PublicCategories:
    """What the public sees of one categorical variable: `shown` codes in display order (OTHER last
    when some are merged), `merged` the codes shown as OTHER, `withheld` the codes whose respondents
    are left out of every public figure (a lone tiny category with no small neighbour to merge with)."""

    shown: tuple[str, ...]
    merged: frozenset[str] = frozenset()
    withheld: frozenset[str] = frozenset()


def public_categories(sizes: dict[str, int], respondents: int, kind: str,
                      rules: Settings | None = None) -> PublicCategories:
    """Rule 8, from protected (perturbed) whole-dataset counts per category, in display order.

    `kind`: "single" (answers that exclude each other), "country" (the same, with many categories),
    "multiple" (options of a multiple-choice question), or "time" (quarters and years: never merged,
    the time axis stays whole). A category is small under min_category_size respondents, or, for a
    single-choice answer, under tiny_category_share of those who answered: inside any filtered or
    crossed table such a category's cells are mostly a handful of people beside large siblings, the
    setting of the averaging attack (docs/disclosure.md). Small categories merge into OTHER. OTHER must
    hold at least two answers and be no small category itself, so the next smallest answers join it,
    as long as each is under merge_partner_share of respondents; if that cannot be had (gender "other"
    beside "man" and "woman"), the small answers are withheld: their respondents are left out of the
    public tier's figures everywhere (for a multiple-choice option: the option is not shown), so that
    no public figure depends on them at all."""
    rules = rules or settings()
    if kind == "time":
        return PublicCategories(tuple(sizes))
    threshold = rules.min_category_size
    if kind == "single":
        threshold = max(threshold, rules.tiny_category_share * respondents)
    small = [c for c, n in sizes.items() if n < threshold]
    empty = {c for c in small if sizes[c] <= 0}
    merged = [c for c in small if c not in empty]
    if merged:
        rest = sorted((c for c in sizes if c not in small), key=lambda c: (sizes[c], c))
        while (len(merged) < 2 or sum(sizes[c] for c in merged) < threshold) and len(rest) > 2 \
                and sizes[rest[0]] < rules.merge_partner_share * respondents:
            merged.append(rest.pop(0))
    if not merged or len(merged) < 2 or sum(sizes[c] for c in merged) < threshold:
        # No OTHER: what is small is withheld (an empty category too: a perturbed zero may be one person).
        return PublicCategories(tuple(c for c in sizes if c not in small and c not in merged), frozenset(),
                                frozenset([*small, *merged]))
    hidden = {*merged, *empty}
    return PublicCategories(tuple(c for c in sizes if c not in hidden) + (OTHER_CODE,), frozenset(hidden))
