"""Reference geography for the maps (no Streamlit here): the country outlines and the point each
country's arcs and circles start from, both built by scripts/build_basemap.py from Natural Earth 1:110m
(public domain), and the towns of interview where a dataset has them (data/geo/towns.csv).

Names come in the chosen language from CLDR (core.data.codebook.country_name), never from the files.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
from pathlib import Path

from core.data.codebook import country_name
from core.settings import DATA_DIR

GEO_DIR = DATA_DIR / "geo"
COUNTRIES_FILE = GEO_DIR / "countries-110m.geojson"
POINTS_FILE = GEO_DIR / "country_points.csv"
TOWNS_FILE = GEO_DIR / "towns.csv"
# A dataset variable whose choices are towns with coordinates in TOWNS_FILE.
TOWN_VARIABLE = "interview_town"
_UNCODED = {"Kosovo": "XKX"}  # a Natural Earth shape without an ISO code -> the code core.data.codebook names


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


def _rounded(coordinates, digits: int = 3):
    if isinstance(coordinates[0], (int, float)):
        return [round(c, digits) for c in coordinates]
    return [_rounded(c, digits) for c in coordinates]


@functools.cache
def countries(lang: str) -> dict:
    """The country outlines as a GeoJSON FeatureCollection whose features carry `code` (ISO3, "" for
    the few Natural Earth shapes without one) and `name` in `lang`. Built once per language."""
    features = []
    for feature in _outlines()["features"]:
        code = feature.get("id") or ""
        # Shapes Natural Earth gives no ISO code: named by CLDR where it knows them (Kosovo), else as the file does.
        uncoded = _UNCODED.get(feature["properties"]["name"])
        name = country_name(code or uncoded, lang) if code or uncoded else feature["properties"]["name"]
        geometry = {**feature["geometry"], "coordinates": _rounded(feature["geometry"]["coordinates"])}
        features.append({"type": "Feature", "geometry": geometry, "properties": {"code": code, "name": name}})
    return {"type": "FeatureCollection", "features": features}


@functools.cache
def borders() -> list[dict]:
    """Every edge of the country outlines once, as {"s": [lon, lat], "t": [lon, lat]}: a border two
    countries share, and each coastline, drawn as a line of its own (core.figures.map_layers._basemap
    says why the outlines are not stroked instead). In the order of the outlines' rings."""
    seen, edges = set(), []
    for feature in countries("en")["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for ring in (ring for polygon in polygons for ring in polygon):
            for a, b in zip(ring, ring[1:]):
                edge = (tuple(a), tuple(b)) if tuple(a) <= tuple(b) else (tuple(b), tuple(a))
                if a != b and edge not in seen:
                    seen.add(edge)
                    edges.append({"s": a, "t": b})
    return edges


def write_outlines(lang: str, directory: Path) -> Path:
    """countries(lang) as a compact GeoJSON file in `directory` (write_static)."""
    return write_static(f"countries-{lang}", countries(lang), directory)


def write_borders(directory: Path) -> Path:
    """borders() as a compact JSON file in `directory` (write_static)."""
    return write_static("borders", borders(), directory)


def write_static(name: str, content, directory: Path) -> Path:
    """`content` as a compact JSON file `name`-<hash>.json in `directory`: for a browser to fetch once and
    cache, rather than receive with every rerun. The name carries a hash of the content, so that a
    changed file is a new URL. Written atomically, and only when missing."""
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
    path = directory / f"{name}-{digest}.json"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path
