"""Rebuild the offline basemap in data/geo/ from Natural Earth 1:110m admin-0 countries (public domain),
as the npm package world-atlas carries them in TopoJSON.

    python -m scripts.build_basemap              # downloads world-atlas from the npm registry
    python -m scripts.build_basemap --tarball world-atlas-2.0.2.tgz

Writes, both committed so that the portal needs no network:
  data/geo/countries-110m.geojson   one Feature per country but Antarctica: id = ISO 3166-1 alpha-3 (""
                                    where Natural Earth has none: N. Cyprus, Somaliland, Kosovo),
                                    properties.name; rings crossing the antimeridian continue past 180
  data/geo/country_points.csv       iso3, lon, lat: where a country's arcs start and end, and its
                                    circles sit. The centroid of its largest polygon (France's mainland,
                                    not the mean of mainland and Guiana), or, when that centroid falls
                                    outside the polygon or in the sea (a crescent-shaped country), the
                                    polygon's pole of inaccessibility; points for countries too small
                                    for the 1:110m map come from EXTRA_POINTS.

The outlines are drawn, not measured: quantization leaves a few self-intersections (Russia, Fiji,
Sudan, Antarctica) that a map does not show, and they are kept as they are.

The TopoJSON decoding follows the specification (github.com/topojson/topojson-specification): arcs are
delta-encoded, quantized positions; a negative arc index -i-1 is arc i reversed; consecutive arcs of a
ring share their joining position. No maintained Python package decodes TopoJSON without GDAL, and the
40 lines below are all this one file needs. Shapely (dev requirement) computes the points.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

import pycountry
from shapely.geometry import shape
from shapely.ops import polylabel

from core.settings import DATA_DIR

PACKAGE, VERSION = "world-atlas", "2.0.2"
TARBALL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
# The registry's integrity string for that version: what is downloaded must be that file.
INTEGRITY = "sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ=="
MEMBER = "package/countries-110m.json"
GEO_DIR = DATA_DIR / "geo"
GEOJSON = GEO_DIR / "countries-110m.geojson"
POINTS = GEO_DIR / "country_points.csv"
# Antarctica (ISO numeric 010): nobody is interviewed there, and a ring around the pole has no flat drawing.
DROPPED = {"010"}
# Countries the 1:110m map leaves out, at their capital (lon, lat).
EXTRA_POINTS = {"SGP": (103.82, 1.35), "MLT": (14.51, 35.90), "BHR": (50.58, 26.23)}


def fetch(tarball: Path | None) -> dict:
    data = tarball.read_bytes() if tarball else urllib.request.urlopen(TARBALL, timeout=60).read()
    algorithm, _, expected = INTEGRITY.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{PACKAGE}-{VERSION}: integrity check failed ({algorithm} {digest})")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return json.load(tar.extractfile(MEMBER))


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, 5), round(y * sy + ty, 5)))
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs: list) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i in indexes:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        out.extend(points[1:] if out else points)
    return out


def unwrap(ring_: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A ring that crosses the antimeridian (Russia's Chukotka, Fiji) jumps from 180 to -180; a flat
    map would draw that jump as a band across the world. Its western points continue past 180 instead."""
    jumps = any(abs(b[0] - a[0]) > 180 for a, b in zip(ring_, ring_[1:]))
    return [(x + 360 if x < 0 else x, y) for x, y in ring_] if jumps else ring_


def features(topology: dict, name: str = "countries") -> list[dict]:
    arcs = decode_arcs(topology)
    out = []
    for geometry in topology["objects"][name]["geometries"]:
        if geometry.get("id") in DROPPED:
            continue
        kind = geometry["type"]
        # Quantization leaves a few rings of fewer than 4 positions (a speck off North Korea): not areas.
        if kind == "Polygon":
            coordinates = [unwrap(r) for r in (ring(i, arcs) for i in geometry["arcs"]) if len(r) >= 4]
        elif kind == "MultiPolygon":
            coordinates = [rings for rings in ([unwrap(r) for r in (ring(i, arcs) for i in polygon) if len(r) >= 4]
                                               for polygon in geometry["arcs"]) if rings]
        else:
            continue
        country = pycountry.countries.get(numeric=geometry.get("id") or "000")
        out.append({"type": "Feature", "id": country.alpha_3 if country else "",
                    "properties": {"name": geometry["properties"]["name"]},
                    "geometry": {"type": kind, "coordinates": coordinates}})
    return out


def label_point(feature: dict) -> tuple[float, float]:
    geometry = shape(feature["geometry"])
    largest = max(getattr(geometry, "geoms", [geometry]), key=lambda p: p.area)
    point = largest.centroid
    if not largest.contains(point):
        point = polylabel(largest, tolerance=0.05)
    return round(point.x, 3), round(point.y, 3)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tarball", type=Path, help=f"a downloaded {PACKAGE}-{VERSION}.tgz (else fetched)")
    args = p.parse_args(argv)
    countries = features(fetch(args.tarball))
    GEO_DIR.mkdir(parents=True, exist_ok=True)
    collection = {"type": "FeatureCollection",
                  "source": f"Natural Earth 1:110m admin-0 countries (public domain), via npm {PACKAGE}@{VERSION}",
                  "features": countries}
    GEOJSON.write_text(json.dumps(collection, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    points = {f["id"]: label_point(f) for f in countries if f["id"]}
    points.update({k: v for k, v in EXTRA_POINTS.items() if k not in points})
    with POINTS.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["iso3", "lon", "lat"])
        writer.writerows([iso3, *points[iso3]] for iso3 in sorted(points))
    print(f"{GEOJSON.relative_to(DATA_DIR.parent)}: {len(countries)} countries; "
          f"{POINTS.relative_to(DATA_DIR.parent)}: {len(points)} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
