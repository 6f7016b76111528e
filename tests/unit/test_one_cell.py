"""No chart that compares nothing: a table of one cell (one row and one column) is written as a table,
not drawn (core.figures.charts.one_cell, applied by the crosstab's charts and the Overview's coverage)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.engine import load_codebook
from core.figures import pivot_view
from core.figures.charts import one_cell
from core.query import pivot


@pytest.mark.parametrize(("rows", "cols", "single"), [
    (["Asia"], ["2021"], True),                                  # one cell
    ([], [], True),                                              # nothing at all
    (["Asia", "Asia"], ["2021", "2021"], True),                  # the same cell twice is still one
    (["Asia", "Europe"], ["2021", "2021"], False),               # two rows: something to compare
    (["Asia", "Asia"], ["2021", "2022"], False),                 # two columns
    (["Asia", None], ["2021", "2021"], False),                   # a missing label is a row of its own
])
def test_one_cell(rows, cols, single):
    data = pd.DataFrame({"row": rows, "column": cols}, dtype=object)
    assert one_cell(data, "row", "column") is single


def _pivot(dataset, rows, cols, measure="count"):
    layout, dropped = pivot.clean(load_codebook(dataset), "public", rows, cols, {})
    assert not dropped
    return pivot.build(dataset, layout, measure, "public")


def test_a_crosstab_of_one_cell_has_no_chart():
    # The Returns module: one region (Asia), one year (2021), the case its Overview drew as a heatmap.
    p = _pivot("returns", ["region_of_interview"], ["interview_year"])
    assert len(pivot_view.chart_data(p, "en")) == 1
    assert pivot_view.no_chart(p, "en") == "one_cell"
    for view in ("heatmap", "stacked", "grouped"):
        assert pivot_view.chart(p, view, "en") is None
    # The table still says the figure.
    table = pivot_view.display_table(p, "en")
    assert list(table["Region of interview"]) == ["Asia", "Total"]


def test_a_crosstab_with_something_to_compare_is_drawn():
    p = _pivot("core", ["gender"], ["age_band"], measure="row_pct")
    assert pivot_view.no_chart(p, "en") is None
    spec = pivot_view.chart(p, "heatmap", "en").to_dict()
    legend_title = spec["layer"][0]["encoding"]["color"]["title"]
    assert legend_title == "Row %"  # not "Row % (%)"
