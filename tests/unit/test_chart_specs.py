"""Every kind of chart the portal draws is valid Vega-Lite. The pages send specs made without Altair's
schema check (`charts.spec`, the crosstab's `to_dict(validate=False)`: the check cost more than half of
making a chart); this is where a spec that breaks the schema is caught instead: each chart function of
core/figures/charts.py, reached through the questions that use it, and each of the crosstab's views,
validated by Altair against Vega-Lite's JSON schema."""

from __future__ import annotations

import functools

import pytest

from core import query
from core.data.engine import load_codebook
from core.figures import charts, coverage, pivot_view, question
from core.pages import CROSSTAB_VIEWS
from core.query import pivot
from core.query.filters import FilterState
from tests.unit.test_figure_languages import _one_of_each_type  # the pyramid, then a question of each type

# Every function of charts.py that draws a chart.
CHART_KINDS = {"share_bars", "grouped_share_bars", "small_multiples", "share_trend", "count_trend",
               "grouped_count_trend", "pyramid", "quartile_ranges", "histogram"}
# No breakdown, a few groups (grouped bars), many groups (small multiples), quarters (trends).
BREAKDOWNS = (None, "gender", "region_of_interview", question.PERIOD_VARIABLE)


def test_every_kind_of_chart_is_valid_vega_lite(monkeypatch):
    drawn = set()

    def recording(name, fn):
        @functools.wraps(fn)
        def draw(*args, **kwargs):
            drawn.add(name)
            return fn(*args, **kwargs)
        return draw

    assert CHART_KINDS <= set(dir(charts))
    for name in CHART_KINDS:
        monkeypatch.setattr(charts, name, recording(name, getattr(charts, name)))
    book = load_codebook("core")
    view = question.View("en", "researcher", FilterState())
    made = 0
    for var in _one_of_each_type("core"):
        for by in BREAKDOWNS:
            if var is None and by is not None:
                continue
            figure = question.build(var, book[by] if by else None, view)
            if figure.chart is not None:
                spec = charts.finish(figure.chart, "en").to_dict(validate=True)  # raises on a schema error
                assert spec == charts.spec(figure.chart, "en")  # the same spec, only not checked
                made += 1
    assert drawn == CHART_KINDS, CHART_KINDS - drawn
    assert made >= len(CHART_KINDS)


@pytest.mark.parametrize("view", [v for v in CROSSTAB_VIEWS if v != "table"])
def test_every_crosstab_chart_is_valid_vega_lite(view):
    layout, dropped = pivot.clean(load_codebook("core"), "public", ["gender"], ["age_band"], {})
    assert not dropped
    chart = pivot_view.chart(pivot.build("core", layout, "row_pct", "public"), view, "en")
    chart.to_dict(validate=True)  # raises on a schema error


def test_the_overview_coverage_is_valid_vega_lite():
    book = load_codebook("core")
    table = query.crosstab("core", ["region_of_interview"], ["interview_year"], tier="public")
    rows = coverage.data(table, book, "region_of_interview", "fr")
    chart = coverage.chart(rows, book, "region_of_interview", "fr")
    assert charts.finish(chart, "fr").to_dict(validate=True) == charts.spec(chart, "fr")
