"""The offline basemap in data/geo/ and the script that rebuilds it (scripts/build_basemap.py)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tarfile

import pytest
from shapely.geometry import Point, shape

from core.data.synthetic import COUNTRIES
from scripts import build_basemap as bb


@pytest.fixture(scope="module")
def countries():
    return json.loads(bb.GEOJSON.read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def points():
    with bb.POINTS.open(encoding="utf-8") as f:
        return {row["iso3"]: (float(row["lon"]), float(row["lat"])) for row in csv.DictReader(f)}


def test_the_shipped_map_has_every_country_once(countries):
    assert len(countries) == 176
    ids = [f["id"] for f in countries if f["id"]]
    assert len(ids) == len(set(ids)) == 173 and "ATA" not in ids
    assert {f["properties"]["name"] for f in countries if not f["id"]} == {"N. Cyprus", "Somaliland", "Kosovo"}
    for f in countries:
        geometry = f["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1], f["id"]
                # No jump across the map: a flat map would draw it as a band around the world.
                assert all(abs(b[0] - a[0]) < 180 for a, b in zip(ring, ring[1:])), f["id"]
        lon0, lat0, lon1, lat1 = shape(geometry).bounds
        assert -180 <= lon0 <= lon1 <= 200 and -90 <= lat0 <= lat1 <= 90


def test_every_country_of_the_data_has_a_point(points):
    assert [c for c in COUNTRIES if c not in points] == []


def test_points_lie_inside_their_country(countries, points):
    for f in countries:
        if f["id"]:
            assert shape(f["geometry"]).contains(Point(points[f["id"]])), f["id"]


def test_decoding_follows_the_topojson_specification():
    # Two squares sharing the edge x=1: arc 0 is that edge, walked up; the right square walks it down.
    topology = {
        "type": "Topology", "transform": {"scale": [1, 1], "translate": [0, 0]},
        "arcs": [[[1, 0], [0, 1]], [[1, 1], [-1, 0], [0, -1], [1, 0]], [[1, 0], [1, 0], [0, 1], [-1, 0]]],
        "objects": {"countries": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "id": "250", "properties": {"name": "Left"}, "arcs": [[0, 1]]},
            {"type": "MultiPolygon", "id": "999", "properties": {"name": "Right"}, "arcs": [[[2, ~0]]]},
        ]}},
    }
    left, right = bb.features(topology)
    assert left["id"] == "FRA" and right["id"] == ""
    assert left["geometry"]["coordinates"] == [[(1, 0), (1, 1), (0, 1), (0, 0), (1, 0)]]
    assert right["geometry"]["coordinates"] == [[[(1, 0), (2, 0), (2, 1), (1, 1), (1, 0)]]]
    assert shape(left["geometry"]).area == shape(right["geometry"]).area == 1


def test_a_tarball_that_is_not_the_published_one_is_refused(tmp_path):
    payload = json.dumps({"type": "Topology"}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(bb.MEMBER)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    forged = tmp_path / "world-atlas-2.0.2.tgz"
    forged.write_bytes(buffer.getvalue())
    with pytest.raises(SystemExit, match="integrity"):
        bb.fetch(forged)
    assert gzip.decompress(forged.read_bytes())  # a real gzip: refused for its digest, not its format
