"""The public tier against its attack suite (scripts/attack.py, docs/disclosure.md), at the tests' budget on
the synthetic data and the tests' fixed secret: each attack fails the test when it beats its bar (small
counts recovered no better than a naive guess plus 5 points, no exact extreme value, no empty cell told
from a small one beyond chance, no proof of a 100% sensitive share, no "Other" naming one answer). These
are not timing tests. `make attack` runs the same attacks with a larger budget and prints them."""

from __future__ import annotations

import re

import pytest

from core import disclosure, query
from core.disclosure import TableRefused
from scripts import attack


@pytest.mark.parametrize("name", list(attack.ATTACKS))
def test_attack_holds(name):
    result = attack.ATTACKS[name](attack.QUICK[name])
    assert result.passed, attack.row(result)


def test_the_attacks_can_fail():
    """The scoring is not a test that cannot fail: estimates equal to the truth beat every bar."""
    truths = {i: n for i, n in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 3])}
    result = attack._score("check", "", dict(truths), truths, attack.Public(), 0.0)
    assert result.rate == 1.0 and not result.passed


def test_list_filters_and_ranges_are_refused_in_the_public_tier_only():
    two = {"nationality": ["AFG", "ERI"]}
    with pytest.raises(TableRefused) as refused:
        query.total("core", two)
    assert refused.value.rule == 12 and not re.search(r"\d", str(refused.value).replace("12", ""))
    assert query.total("core", two, tier="researcher") > 0
    quarters = query.categories("core", "interview_quarter")
    with pytest.raises(TableRefused):
        query.total("core", {"interview_quarter": quarters[4:7]})  # an arbitrary range
    year = [q for q in quarters if q.startswith("2023")]
    assert query.total("core", {"interview_quarter": year}) > 0  # a whole year is a group of the codebook
    assert query.total("core", {"gender": query.categories("core", "gender")}) > 0  # every answer: answered


def test_public_distribution_bins_are_fixed():
    with pytest.raises(TableRefused) as refused:
        query.distribution("core", "amount_paid_usd", [0, 1000, 20_000])
    assert refused.value.rule == 12
    fixed = query.distribution("core", "amount_paid_usd")
    assert list(fixed["lower"]) == query.public_bins("core", "amount_paid_usd")
    assert "max" not in query.summary("core", "amount_paid_usd").columns
    assert "sum" not in query.summary("core", "amount_paid_usd").columns


def test_rule_4_refusal_names_the_rule_and_no_figure():
    """A sparse table is refused under rule 4 with a message that holds no share and no count: the old
    message's exact share of hidden cells told, row by row, which "<10" cells were empty."""
    with pytest.raises(TableRefused) as refused:
        query.crosstab("core", ["nationality"], ["intended_destination"], filters={"interview_quarter": ["2024Q1"]})
    assert refused.value.rule == 4
    assert not re.search(r"\d", str(refused.value).replace("50%", ""))
    assert set(refused.value.params) == {"limit"}


def test_rule_4_counts_only_cells_in_shown_rows_and_columns():
    """Nationalities absent from a region are rows of zeros; their margins are "<10" too, so they do not
    refuse a nationality-by-gender table of that region."""
    table = query.crosstab("core", ["nationality"], ["gender"], filters={"region_of_interview": ["north_africa"]})
    assert table["suppressed"].mean() > disclosure.settings().max_suppressed_share
