"""The Overview's coverage figure (core/figures/coverage.py): what its chart sends and says, with no page."""

from __future__ import annotations

import pandas as pd

from core.data.engine import load_codebook
from core.figures import charts, coverage
from core.i18n import t

BOOK = load_codebook("core")
PLACE = "region_of_interview"


def table() -> pd.DataFrame:
    """A protected crosstab of region and year as core.query returns it: a withheld cell, a region
    nobody was interviewed in, and one with a count in the thousands."""
    regions = BOOK[PLACE].codes
    return pd.DataFrame({
        PLACE: [regions[0], regions[0], regions[1], regions[1], regions[2], regions[2]],
        "interview_year": [2023, 2024, 2023, 2024, 2023, 2024],
        "count": [1234, 40, 7, 55, 0, 0],
        "suppressed": [False, False, True, False, False, False],
    })


def sent(spec: dict) -> list[dict]:
    return [row for values in spec["datasets"].values() for row in values]


def test_a_withheld_count_is_sent_as_nothing_and_an_empty_region_not_at_all():
    rows = coverage.data(table(), BOOK, PLACE, "en")
    spec = charts.spec(coverage.chart(rows, BOOK, PLACE, "en"), "en")
    values = sent(spec)
    assert len(values) == 4  # the third region (no one interviewed) is left out
    withheld = [v for v in values if v["text"] == "<10"]
    assert len(withheld) == 1 and withheld[0]["count"] is None
    assert {v["region"] for v in values} == {BOOK[PLACE].choice_label(c, "en") for c in BOOK[PLACE].codes[:2]}


def test_a_withheld_cell_is_drawn_grey_not_left_blank():
    """A withheld cell has no count to colour it: it showed blank, which on a phone (no numbers written)
    looked like no cell. A grey ground under every cell shows it, with its tooltip saying "<10"."""
    rows = coverage.data(table(), BOOK, PLACE, "en")
    spec = charts.spec(coverage.chart(rows, BOOK, PLACE, "en"), "en")
    ground, cells = spec["layer"][0], spec["layer"][1]
    assert ground["mark"]["type"] == "rect" and ground["mark"]["color"] == coverage.WITHHELD
    assert "color" not in ground.get("encoding", {})  # every row: nothing filters the withheld one out
    assert cells["encoding"]["color"]["field"] == "count"
    assert [t["field"] for t in ground["encoding"]["tooltip"]] == ["region", "year", "text"]


def test_the_legend_counts_in_the_readers_language():
    """The legend's numbers were written with format "d" outside the language's locale: 1234 in French."""
    rows = coverage.data(table(), BOOK, PLACE, "fr")
    spec = charts.spec(coverage.chart(rows, BOOK, PLACE, "fr"), "fr")
    assert spec["config"]["locale"]["number"]["thousands"] == "\u202f"
    legends = [layer["encoding"]["color"]["legend"] for layer in spec["layer"] if "legend" in layer["encoding"].get("color", {})]
    assert [legend["format"] for legend in legends] == [",d"]
    assert any(v["text"] == "1\u202f234" for v in sent(spec))


def test_the_summary_names_the_largest_shown_cell_in_each_language():
    for lang in ("en", "fr", "es"):
        rows = coverage.data(table(), BOOK, PLACE, lang)
        assert coverage.summary(rows, lang) == t("overview.coverage_summary", lang, region=BOOK[PLACE].choice_label(
            BOOK[PLACE].codes[0], lang), year="2023", count=rows["text"].iloc[0])


def test_all_withheld_says_so():
    withheld = table().assign(suppressed=True)
    assert coverage.summary(coverage.data(withheld, BOOK, PLACE, "es"), "es") == t("figures.summary.withheld", "es")
