"""core.query.distribution: respondents per interval of a number, exact for researchers with edges they
choose, protected like a crosstab's counts for the public, over the question's fixed intervals."""

import numpy as np
import pandas as pd
import pytest

from core.data.engine import dataset_path
from core.disclosure import TableRefused
from core.query import distribution
from core.settings import GENERATED_DIR

EDGES = [0, 500, 1000, 2000, 5000]


@pytest.fixture(scope="module")
def paid():
    df = pd.read_parquet(dataset_path(GENERATED_DIR, "core"), columns=["amount_paid_usd", "gender", "nationality"])
    return df.dropna(subset=["amount_paid_usd"])


def test_researcher_counts_are_the_rows_in_each_interval(paid):
    d = distribution("core", "amount_paid_usd", EDGES, tier="researcher")
    assert list(d.columns) == ["lower", "upper", "count", "suppressed"]
    assert list(d["lower"]) == EDGES and np.isnan(d["upper"].iloc[-1])
    index = np.searchsorted(EDGES[1:], paid["amount_paid_usd"].to_numpy(), side="right")
    expected = np.bincount(index, minlength=len(EDGES))
    assert list(d["count"]) == list(expected)
    assert d.attrs["base"] == len(paid)


def test_filters_apply(paid):
    women = paid[paid["gender"] == "woman"]
    d = distribution("core", "amount_paid_usd", EDGES, filters={"gender": ["woman"]}, tier="researcher")
    assert int(d["count"].sum()) == len(women)


def test_public_counts_are_perturbed_bounded_and_small_ones_hidden():
    public = distribution("core", "amount_paid_usd")
    edges = list(public["lower"])
    assert edges == [0, 250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000]  # the codebook's bins
    # the public tier's respondents: gender "other" is withheld (rule 8)
    exact = distribution("core", "amount_paid_usd", edges, filters={"gender": ["man", "woman"]}, tier="researcher")
    shown = ~public["suppressed"]
    assert (public.loc[shown, "count"] >= 10).all()
    assert (abs(public.loc[shown, "count"] - exact.loc[shown, "count"]) <= 2).all()
    # A narrow population: small intervals are withheld, not sent.
    narrow = distribution("core", "amount_paid_usd", filters={"nationality": ["AFG"], "gender": ["woman"],
                                                               "interview_year": ["2024"]})
    assert narrow["suppressed"].any()
    assert narrow.loc[narrow["suppressed"], "count"].isna().all()


def test_public_edges_are_not_the_callers():
    with pytest.raises(TableRefused) as e:
        distribution("core", "amount_paid_usd", EDGES)
    assert e.value.rule == 12
    assert distribution("core", "amount_paid_usd", EDGES, tier="researcher")["count"].sum() > 0


def test_public_refuses_a_small_population():
    with pytest.raises(TableRefused) as e:
        distribution("core", "amount_paid_usd",
                     filters={"country_of_interview": ["CHE"], "gender": ["woman"], "age_band": ["55_plus"],
                              "interview_quarter": ["2024Q1"]})
    assert e.value.rule == 3


@pytest.mark.parametrize("edges", [[], [5, 5], [10, 0], [0, float("inf")], list(range(100))])
def test_edges_are_checked(edges):
    with pytest.raises(ValueError):
        distribution("core", "amount_paid_usd", edges, tier="researcher")


def test_only_number_variables_and_public_ones_for_the_public():
    with pytest.raises(ValueError):
        distribution("core", "gender")
    with pytest.raises(PermissionError):
        distribution("core", "age")
    assert distribution("core", "age", [18, 30, 50], tier="researcher")["count"].sum() > 0
