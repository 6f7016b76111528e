"""Reference geography for the maps (no Streamlit here): the country outlines and the point each
country's arcs and circles start from, both built by scripts/build_basemap.py from Natural Earth 1:110m
(public domain), and the towns of interview where a dataset has them (data/geo/towns.csv).

Names come in the chosen language from CLDR (core.codebook.country_name), never from the files.
"""

from __future__ import annotations

import csv
import functools
import json

from core.codebook import country_name
from core.settings import DATA_DIR

GEO_DIR = DATA_DIR / "geo"
COUNTRIES_FILE = GEO_DIR / "countries-110m.geojson"
POINTS_FILE = GEO_DIR / "country_points.csv"
TOWNS_FILE = GEO_DIR / "towns.csv"
# A dataset variable whose choices are towns with coordinates in TOWNS_FILE.
TOWN_VARIABLE = "interview_town"


@functools.cache
def country_points() -> dict[str, tuple[float, float]]:
    """ISO 3166 alpha-3 code -> (longitude, latitude) of a point inside the country."""
    with POINTS_FILE.open(encoding="utf-8") as f:
        return {row["iso3"]: (float(row["lon"]), float(row["lat"])) for row in csv.DictReader(f)}


@functools.cache
def town_points() -> dict[str, tuple[str, float, float]]:
    """Town code (a choice of TOWN_VARIABLE) -> (ISO3 country, longitude, latitude)."""
    with TOWNS_FILE.open(encoding="utf-8") as f:
        return {row["code"]: (row["iso3"], float(row["lon"]), float(row["lat"])) for row in csv.DictReader(f)}


@functools.cache
def _outlines() -> dict:
    with COUNTRIES_FILE.open(encoding="utf-8") as f:
        return json.load(f)


@functools.cache
def countries(lang: str) -> dict:
    """The country outlines as a GeoJSON FeatureCollection whose features carry `code` (ISO3, "" for
    the few Natural Earth shapes without one) and `name` in `lang`. Built once per language."""
    features = []
    for feature in _outlines()["features"]:
        code = feature.get("id") or ""
        name = country_name(code, lang) if code else feature["properties"]["name"]
        features.append({"type": "Feature", "geometry": feature["geometry"],
                         "properties": {"code": code, "name": name}})
    return {"type": "FeatureCollection", "features": features}
