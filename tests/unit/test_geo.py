"""Reference geography (core/data/geo.py) and the map's layer rows (core/figures/map_layers.py, Streamlit-free
functions): every place the data can name has a position, and only drawable, protected rows are kept."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.data import synthetic
from core.data.codebook import OTHER, is_country_code
from core.data.engine import load_codebook
from core.data.geo import TOWN_VARIABLE, borders, countries, country_points, town_points
from core.figures import map_layers as rm


def test_every_country_and_town_the_codebooks_can_name_has_a_position():
    points, towns = country_points(), town_points()
    town_var = load_codebook("core")[TOWN_VARIABLE]
    assert set(town_var.codes) == set(towns)
    for code, (iso3, lon, lat) in towns.items():
        assert is_country_code(iso3) and -180 <= lon <= 180 and -90 <= lat <= 90, code
    # Each town is in the country the synthetic data interview it in.
    for site, site_towns in synthetic.TOWNS.items():
        assert {towns[t][0] for t in site_towns} == {site}, site
    assert all(is_country_code(c) for c in points)


@pytest.mark.parametrize("lang, name", [("en", "Côte d’Ivoire"), ("fr", "Côte d’Ivoire"), ("es", "Côte d’Ivoire")])
def test_country_outlines_are_named_in_the_language(lang, name):
    by_code = {f["properties"]["code"]: f["properties"]["name"] for f in countries(lang)["features"]}
    assert by_code["CIV"] == name
    assert by_code["DEU"] == {"en": "Germany", "fr": "Allemagne", "es": "Alemania"}[lang]


def _flows(rows, base=1000):
    table = pd.DataFrame(rows, columns=["origin", "destination", "count", "suppressed"])
    table.attrs.update(base=base, dataset="core")
    return table


def test_flow_rows_leave_out_withheld_unplaced_and_self_links():
    table = _flows([("SDN", "LBY", 400, False), ("ERI", "LBY", None, True), (OTHER, "LBY", 30, False),
                    ("LBY", "LBY", 200, False), ("NGA", "NER", 100, False)])
    layer = rm.flow_layer(table, "en")
    assert list(zip(layer.rows["origin"], layer.rows["destination"])) == [("SDN", "LBY"), ("NGA", "NER")]
    assert layer.hidden == 1 and layer.unplaced == [f"{OTHER}>LBY", "LBY>LBY"]
    biggest, smaller = layer.rows.to_dict("records")
    assert biggest["width"] > smaller["width"] and biggest["color"] != smaller["color"]
    # The arc fades in from where people come from.
    assert biggest["color_from"][:3] == biggest["color"][:3] and biggest["color_from"][3] < biggest["color"][3]
    assert biggest["name"] == "Sudan → Libya"
    assert biggest["detail"] == "Respondents from Sudan interviewed in Libya: 400, 40.0% of the total"
    assert (biggest["from_lon"], biggest["from_lat"]) == country_points()["SDN"]


def test_place_rows_for_towns_carry_their_country():
    table = pd.DataFrame({"interview_town": ["tripoli", "agadez", "sabha"], "count": [50, 3, 0],
                          "suppressed": [False, False, False]})
    table.attrs.update(base=53, dataset="core")
    layer = rm.place_layer(table, "interview_town", "fr", rm.TOWNS)
    assert list(layer.rows["code"]) == ["tripoli", "agadez"]  # nobody in Sabha: no circle
    assert list(layer.rows["country"]) == ["LBY", "NER"]
    assert layer.rows["name"].tolist() == ["Tripoli", "Agadez"]
    assert layer.rows["detail"][1] == "Personnes interrogées (Agadez, lieu d’entretien)\xa0: 3, soit 5,7\xa0% du total"


def test_a_tiny_share_is_not_shown_as_zero():
    assert rm.share_text(0.0001, "en") == "under 0.1%"
    assert rm.share_text(0.25, "es") == "25,0\xa0%"


def test_sizes_are_in_pixels_at_every_zoom():
    """pydeck reads a string argument as an accessor: the units must reach deck.gl as constants."""
    flows = rm.flow_layer(_flows([("SDN", "LBY", 400, False)]), "en")
    places = rm.place_layer(pd.DataFrame({"country_of_interview": ["LBY"], "count": [40], "suppressed": [False]}),
                            "country_of_interview", "en", rm.INTERVIEWS)
    spec = json.loads(rm.deck([flows, places], "en", set()).to_json())
    by_id = {layer["id"]: layer for layer in spec["layers"]}
    assert by_id["flows"]["widthUnits"] == "pixels" and by_id["interviews"]["radiusUnits"] == "pixels"


def test_no_tile_server_unless_a_deployment_asks(monkeypatch):
    layer = rm.flow_layer(_flows([("SDN", "LBY", 400, False)]), "en")
    monkeypatch.delenv(rm.BASEMAP_ENV, raising=False)
    spec = rm.deck([layer], "en", set()).to_json()
    assert "carto" not in spec.lower() and "mapbox" not in spec.lower()
    monkeypatch.setenv(rm.BASEMAP_ENV, "carto")
    assert "carto" in rm.deck([layer], "en", set()).to_json().lower()


def _edges(geometry: dict) -> set[tuple]:
    """A polygon's or multipolygon's edges, each as its two ends in order (whichever way it was drawn)."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return {tuple(sorted((tuple(a), tuple(b)))) for polygon in polygons for ring in polygon
            for a, b in zip(ring, ring[1:]) if a != b}


def test_the_borders_are_every_edge_of_the_outlines_once():
    edges = [tuple(sorted((tuple(e["s"]), tuple(e["t"])))) for e in borders()]
    assert len(set(edges)) == len(edges)  # a border two countries share is drawn once
    shapes = [f["geometry"] for f in countries("fr")["features"]]  # the same shapes in every language
    assert set(edges) == set().union(*map(_edges, shapes))
    by_code = {f["properties"]["code"]: f["geometry"] for f in countries("fr")["features"]}
    assert _edges(by_code["FRA"]) & _edges(by_code["ESP"])  # the Pyrenees: shared, so drawn once
