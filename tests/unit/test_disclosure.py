"""The disclosure module on its own: the perturbation table's procedure and the rules' checks."""

import dataclasses
import re

import numpy as np
import pytest

from core import disclosure
from core.disclosure import CellKeyPerturbation, TableRefused, build_ptable, load_settings

SECRET = b"a-test-secret-that-is-long-enough-0123456789"
S = load_settings()


@pytest.fixture(scope="module")
def ptable():
    return build_ptable(SECRET, S)


def test_ptable_shape_and_bounds(ptable):
    assert ptable.shape == (S.max_count_row + 1, S.key_range)
    assert np.abs(ptable).max() <= 2
    assert (ptable[0] == 0).all(), "zero stays zero"
    counts = np.arange(S.max_count_row + 1)[:, None]
    assert ((counts + ptable) >= 0).all(), "no count becomes negative"


def test_ptable_rows_are_exactly_zero_mean(ptable):
    assert (ptable[1:].astype(int).sum(axis=1) == 0).all()


def test_ptable_follows_the_configured_distribution(ptable):
    for count in (2, 10, 100, S.max_count_row):
        values, freq = np.unique(ptable[count], return_counts=True)
        observed = dict(zip(values.tolist(), (freq / S.key_range).tolist()))
        for v, p in zip(S.noise_values, S.noise_probabilities):
            assert observed[v] == pytest.approx(p, abs=2 / S.key_range)
    values, freq = np.unique(ptable[1], return_counts=True)
    assert set(values.tolist()) <= set(S.noise_values_count_1)


def test_noise_depends_on_the_cell_key_not_only_on_the_count(ptable):
    # Unlike a "10-5 rule" table, a row holds several noise values, and rows for different counts
    # are shuffled independently.
    assert len(np.unique(ptable[50])) == 5
    assert not np.array_equal(ptable[50], ptable[51])
    assert np.mean(ptable[50] == ptable[51]) < 0.5


def test_ptable_depends_on_the_secret(ptable):
    other = build_ptable(b"another-secret-that-is-long-enough-987654321", S)
    assert not np.array_equal(ptable, other)
    assert np.array_equal(ptable, build_ptable(SECRET, S)), "same secret, same table"


def test_perturbations_of_one_secret_share_a_read_only_table_and_another_secret_has_its_own(ptable):
    # Engines share the table of their secret (built once per process); none can change it for the others.
    one, two = CellKeyPerturbation(SECRET, S), CellKeyPerturbation(SECRET, S)
    assert one._ptable is two._ptable and np.array_equal(one._ptable, ptable)
    with pytest.raises(ValueError):
        one._ptable[5, 7] = 0
    other = CellKeyPerturbation(b"another-secret-that-is-long-enough-987654321", S)
    assert not np.array_equal(other._ptable, ptable)
    counts, keys = np.full(S.key_range, 60), np.arange(S.key_range)
    assert np.array_equal(one.perturb(counts, keys), 60 + ptable[60])
    assert not np.array_equal(other.perturb(counts, keys), one.perturb(counts, keys))


def test_record_keys_are_stable_keyed_and_in_range():
    ids = [f"CORE-{i:07d}" for i in range(5000)]
    keys = disclosure.record_keys(ids, SECRET, S.key_range)
    assert keys.min() >= 0 and keys.max() < S.key_range
    assert np.array_equal(keys, disclosure.record_keys(ids, SECRET, S.key_range))
    assert not np.array_equal(keys, disclosure.record_keys(ids, SECRET + b"x", S.key_range))
    # Roughly uniform: every eighth of the key range gets its share.
    hist = np.histogram(keys, bins=8, range=(0, S.key_range))[0]
    assert hist.min() > 5000 / 8 * 0.8


def test_perturb_cycles_large_counts_and_keeps_zero():
    ckm = CellKeyPerturbation(SECRET, S)
    counts = np.array([0, 0, 5, 1000, 10_000, 123_456])
    keys = np.array([17, 4000, 99, 12345, 777, 2048])
    out = ckm.perturb(counts, keys)
    assert out[0] == 0 and out[1] == 0
    assert (np.abs(out - counts) <= 2).all()
    assert np.array_equal(out, ckm.perturb(counts, keys + S.key_range)), "keys are taken modulo the range"


def test_suppression_threshold():
    assert disclosure.suppressed(np.array([0, 9, 10, 11])).tolist() == [True, True, False, False]


def test_variable_limits():
    V = dataclasses.make_dataclass("V", ["name", "sensitive"])
    plain = [V("a", False), V("b", False), V("c", False)]
    disclosure.check_variables(plain)
    with pytest.raises(TableRefused) as e:
        disclosure.check_variables([*plain, V("d", False)])
    assert e.value.rule == 5 and "at most 3" in str(e.value)
    with pytest.raises(TableRefused) as e:
        disclosure.check_variables([V("a", False), V("b", False), V("violence", True)])
    assert e.value.rule == 5 and "violence" in str(e.value)


def test_population_and_sparsity_rules():
    disclosure.check_population(50)
    with pytest.raises(TableRefused) as e:
        disclosure.check_population(49)
    assert e.value.rule == 3 and re.search(r"Fewer than 50", str(e.value))
    disclosure.check_sparsity(np.array([True, False, True, False]))  # half hidden: shown
    with pytest.raises(TableRefused) as e:
        disclosure.check_sparsity(np.array([True, True, False]))
    assert e.value.rule == 4 and e.value.params == {"limit": 0.5}
    assert not re.search(r"\d", str(e.value).replace("50%", ""))  # no share, no count (rule 11)


def test_share_flags():
    counts = np.array([np.nan, 20, 40, 40, 40])
    bases = np.array([100, 25, 40, 40, 200])
    share, flag = disclosure.share_flags(counts, bases, sensitive=True)
    assert flag.tolist() == ["suppressed", "base_too_small", "over_band", "over_band", ""]
    assert np.isnan(share[:4]).all() and share[4] == pytest.approx(0.2)
    share, flag = disclosure.share_flags(counts, bases, sensitive=False)
    assert flag.tolist() == ["suppressed", "base_too_small", "", "", ""]
    assert share[2] == 1.0


def test_magnitude_rule():
    assert disclosure.magnitude_allowed(np.arange(9) + 1.0) == "too_few_contributors"
    assert disclosure.magnitude_allowed(np.array([1.0] * 10 + [10_000, 10_000])) == "dominated"
    assert disclosure.magnitude_allowed(np.arange(20) + 100.0) == ""
    assert disclosure.round_magnitude(1234.567) == 1200
    assert disclosure.round_magnitude(1234.567, 3) == 1230
    # decided on the protected count: a "<10" (NaN) group is too small whatever its true size
    assert disclosure.magnitude_flag(np.nan, 1.0, 100.0) == "too_few_contributors"
    assert disclosure.magnitude_flag(12.0, 95.0, 100.0) == "dominated"


def test_quantiles_come_from_the_protected_distribution():
    edges = [0, 100, 200, 500]
    # of 60 shown: 25% (15) is 5/20 into [100, 200), the median (30) at its top; 75% in the open top
    assert disclosure.binned_quantiles(edges, [10, 20, np.nan, 30], [0.25, 0.5]) == [125.0, 200.0]
    assert np.isnan(disclosure.binned_quantiles(edges, [10, 20, np.nan, 30], [0.75])[0])  # the open top
    assert np.isnan(disclosure.binned_quantiles(edges, [np.nan] * 4, [0.5])[0])


def test_public_categories():
    decide = disclosure.public_categories
    # a small answer beside big ones: merged with the next smallest small-ish one into "Other"
    got = decide({"a": 5000, "b": 3000, "c": 400, "d": 70, "e": 0}, 8470, "single")
    assert got.shown == ("a", "b", "_other") and got.merged == {"c", "d", "e"} and not got.withheld
    # a lone tiny answer beside large ones (gender "other"): withheld, never an "Other" of one answer
    got = decide({"man": 75000, "woman": 44000, "other": 355}, 119355, "single")
    assert got.shown == ("man", "woman") and got.withheld == {"other"} and not got.merged
    # countries: only the 100-respondent minimum, and two small ones make an "Other"
    got = decide({"A": 5000, "B": 300, "C": 99, "D": 98}, 5497, "country")
    assert got.shown == ("A", "B", "_other") and got.merged == {"C", "D"}
    # time is never merged
    assert decide({"2020": 5, "2021": 500}, 505, "time").shown == ("2020", "2021")


def test_every_setting_is_documented():
    """A number in data/disclosure.toml that the module's docstring does not explain is a number
    nobody can review."""
    doc = disclosure.__doc__
    for field in dataclasses.fields(S):
        assert field.name in doc or field.name.startswith("noise_"), field.name
