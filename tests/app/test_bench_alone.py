"""Streamlit alone (scripts/bench_alone.py), which scripts/bench_browser.py times beside the portal's pages:
each figure on a page of its own, the map's deck the same as the map page's default one."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from core.settings import ROOT

ALONE = str(ROOT / "scripts" / "bench_alone.py")


def test_one_vega_chart_and_nothing_else():
    at = AppTest.from_file(ALONE, default_timeout=60).run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 1 and not at.get("deck_gl_json_chart")


def test_the_maps_deck_alone_is_the_map_pages_default_deck():
    at = AppTest.from_file(ALONE, default_timeout=60)
    at.query_params["figure"] = "deck"
    at.run()
    assert not at.exception
    [chart] = at.get("deck_gl_json_chart")
    ids = [layer["id"] for layer in json.loads(chart.proto.json)["layers"]]
    assert ids == ["sea", "outlines", "borders", "countries", "flows"], ids
