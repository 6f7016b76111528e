"""The crosstab builder for everyone (issue 19): the field picker's colours meet WCAG AA, a table of one
cell is written as a table, not drawn (the crosstab and the Returns module's Overview), and the page
has its skip link and its result in a container of its own."""

from __future__ import annotations

import pytest

from components.field_picker import COLOURS, CONTRAST_PAIRS
from core.i18n import t
from tests.app.conftest import as_role, texts
from tests.app.test_crosstab import open_builder


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(("fg", "bg", "minimum"), CONTRAST_PAIRS)
def test_picker_colours_meet_wcag_aa(fg, bg, minimum):
    assert contrast(COLOURS[fg], COLOURS[bg]) >= minimum, (fg, bg)


def test_every_picker_colour_is_checked():
    checked = {name for fg, bg, _ in CONTRAST_PAIRS for name in (fg, bg)}
    assert checked == set(COLOURS)


def _components(at) -> list[str]:
    return [c.proto.component_name.rsplit(".", 1)[-1] for c in at.get("bidi_component")]


def test_a_one_cell_crosstab_is_a_table_not_a_chart():
    at = open_builder({"ds": "returns", "rows": "region_of_interview", "cols": "interview_year", "view": "heatmap"})
    assert t("figures.one_cell", "en") in texts(at)
    assert len(at.dataframe) == 1
    assert not at.get("vega_lite_chart") and not at.get("arrow_vega_lite_chart")


def test_a_crosstab_with_two_rows_is_drawn():
    at = open_builder({"rows": "gender", "cols": "age_band", "view": "heatmap"})
    assert t("figures.one_cell", "en") not in texts(at)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_the_returns_overview_writes_its_one_cell_coverage_as_a_table():
    at = as_role(None, {"ds": "returns"})
    assert not at.exception, at.exception
    assert t("figures.one_cell", "en") in texts(at)
    [table] = at.table
    region, year, count = list(table.value.iloc[0])
    assert (region, year) == ("Asia", "2021") and count.replace(",", "").isdigit()
    assert not at.get("arrow_vega_lite_chart") and not at.get("vega_lite_chart")


def test_the_core_overview_still_draws_its_coverage():
    at = as_role(None)
    assert not at.exception, at.exception
    assert t("figures.one_cell", "en") not in texts(at)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_the_builder_has_its_skip_link_and_scroll_helper():
    at = open_builder({"rows": "gender"})
    names = _components(at)
    assert names.count("portal_skip_link") == 2 and names.count("portal_field_picker") == 1, names
