"""The route map: flows, corridors, incidents and interview places as pydeck layers over the portal's own
country outlines, built from core.query's protected aggregates only.

What reaches the browser: per link or per place, its names in the chosen language, its codes, its
position, its protected count and share, and how to draw it. Links and places whose count is withheld
(public tier, rule 2) or that have no position ("Other", a link from a country to itself) are not
drawn; `MapLayer.hidden` says whether some may have been withheld, for the page to say so (never how
many: which links exist is itself a count, design.md rule 11).

In words, from the same drawn rows: each row's `detail` says what its number counts, for whom and when
(`tip_text`, the tooltip and the page's details panel), `summary_text` says in one sentence what a layer
shows, and `layer_table` is the table behind it (the map's text alternative). None of them holds a figure
the map does not draw, nor how many rows were withheld.

No tile server is asked for anything unless a deployment sets PORTAL_MAP_BASEMAP (see BASEMAP_ENV).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pydeck as pdk

from core import disclosure
from core.data.codebook import OTHER, country_name, quarter_label
from core.data.engine import load_codebook
from core.data.geo import borders, countries, country_points, town_points, write_borders, write_outlines
from core.i18n import fmt_int, fmt_pct, punct, t, tn
from core.pages import MAP_LAYERS
from core.query.filters import FilterState
from core.settings import ROOT

# Layer ids: the keys of a selection's objects, and of the page's layer switch.
# The layers one can switch on (core/pages.py MAP_LAYERS, which stories are checked against) and the base.
FLOWS, ROUTES, INCIDENTS, INTERVIEWS, TOWNS = MAP_LAYERS
COUNTRIES = "countries"
LINK_LAYERS = (FLOWS, ROUTES)
# "carto" draws Carto's light vector basemap under the layers (a request per tile to a third party).
BASEMAP_ENV = "PORTAL_MAP_BASEMAP"
# Served by Streamlit at app/static/ (server.enableStaticServing in .streamlit/config.toml).
STATIC_DIR = ROOT / "static"

# Colour ramps, light to dark (ColorBrewer YlOrRd for flows, Blues for interviews, Reds for harm).
_RAMPS = {
    FLOWS: ((254, 217, 118), (253, 141, 60), (227, 26, 28), (128, 0, 38)),
    ROUTES: ((102, 194, 164), (35, 139, 69), (0, 68, 27)),
    INCIDENTS: ((252, 146, 114), (222, 45, 38), (103, 0, 13)),
    INTERVIEWS: ((107, 174, 214), (33, 113, 181), (8, 48, 107)),
    TOWNS: ((8, 48, 107),),
}
LAND, BORDER, CHOSEN, SEA = (238, 236, 230), (180, 176, 168), (198, 219, 239), (242, 247, 251)
TOOLTIP = {"html": "<b>{name}</b><br/>{detail}",
           "style": {"backgroundColor": "#1f2937", "color": "white", "fontSize": "13px", "maxWidth": "320px"}}


def _colour(share: float, ramp: tuple, alpha: int = 230) -> list[int]:
    """A colour along `ramp` for a value's share of the layer's largest (0..1)."""
    if len(ramp) == 1:
        return [*ramp[0], alpha]
    x = min(max(share, 0.0), 1.0) * (len(ramp) - 1)
    i = min(int(x), len(ramp) - 2)
    f = x - i
    return [round(a + (b - a) * f) for a, b in zip(ramp[i], ramp[i + 1])] + [alpha]


def _scaled(counts: pd.Series) -> pd.Series:
    """Counts on a square-root scale from 0 to 1, so that a few big links do not hide the rest."""
    top = float(counts.max()) if len(counts) else 0.0
    return (counts.astype(float) / top).pow(0.5) if top > 0 else counts.astype(float) * 0


def share_text(share: float, lang: str) -> str:
    """A share of a map's total, to one decimal; "under 0.1%" rather than a misleading 0.0%."""
    if 0 < share < 0.0005:
        return t("figures.under_band", lang, share=fmt_pct(0.001, lang, 1))
    return fmt_pct(share, lang, 1)


@dataclass(frozen=True)
class Scope:
    """Whom and when a map's figures count, in words: the period of interview, and the filters in force
    (with the incident layer's own choices) or that there are none."""
    when: str
    whom: str

    def text(self) -> str:
        return " · ".join(part for part in (self.when, self.whom) if part)


NO_SCOPE = Scope("", "")


def scope_of(filters: FilterState, lang: str, extra: Mapping[str, Sequence[str]] | None = None) -> Scope:
    """The Scope of a map drawn with these filters; `extra`: a layer's own filters (variable -> codes)."""
    codebook = load_codebook(filters.dataset)
    quarters = filters.quarters()
    when = ""
    if quarters:
        choice = filters.period_choice()
        whole_year = len(quarters) > 1 and len(choice) == 4 and all(q.startswith(choice) for q in quarters)
        if len(quarters) == 1:
            when = t("map.when_in", lang, period=quarter_label(quarters[0], lang))
        elif whole_year and (filters.start is not None or filters.end is not None):
            when = t("map.when_in", lang, period=choice)
        else:
            when = t("map.when_range", lang, start=quarter_label(quarters[0], lang),
                     end=quarter_label(quarters[-1], lang))
    chosen = {**filters.selections, **(extra or {})}
    items = [t("charts.filter_item", lang, variable=codebook[name].label(lang),
               values=", ".join(codebook[name].choice_label(c, lang) for c in codes))
             for name, codes in chosen.items() if codes]
    whom = t("map.whom", lang, filters=punct("; ", lang).join(items)) if items else t("map.whom_all", lang)
    return Scope(when, whom)


@dataclass
class MapLayer:
    """One layer's drawable rows (a DataFrame of aggregates) and what was left out."""
    id: str
    rows: pd.DataFrame
    # 0: nothing withheld (researchers). None: links or places under the minimum are not drawn (public
    # tier); how many is not known here: a public table does not tell a withheld count from a zero.
    hidden: int | None = 0
    unplaced: list[str] = field(default_factory=list)  # codes with no position ("Other", self-links)
    tier: str = ""  # whose counts: "public" ones are perturbed (core.query.tables), others exact
    base: int = 0  # the respondents of the layer's table, the shares' base
    kind: str = ""  # a FLOWS layer's kind of flow (core.query.flow_kinds)
    scope: Scope = field(default_factory=lambda: NO_SCOPE)


def count_phrase(count: int, tier: str, lang: str) -> str:
    """A drawn count in words: the public's are perturbed ("about 40"), the researchers' exact."""
    return t("map.about", lang, n=int(count)) if tier == "public" else fmt_int(int(count), lang)


def what_text(layer_id: str, lang: str, first: str, second: str = "", kind: str = "origin_interview") -> str:
    """What a row of a layer counts, with its place names: "Respondents who travelled Niger → Libya"."""
    key = f"map.what.{kind}" if layer_id == FLOWS else f"map.what.{layer_id}"
    return t(key, lang, a=first, b=second)


def tip_text(what: str, count: int, share: float | None, tier: str, lang: str, scope: Scope = NO_SCOPE) -> str:
    """A drawn row's details, as its tooltip and the details panel say them: what is counted, the
    protected count (and share of the layer's respondents), for whom and when."""
    figure = count_phrase(count, tier, lang)
    if share is not None:
        figure = t("map.tip_share", lang, respondents=figure, share=share_text(share, lang))
    return " · ".join(part for part in (t("map.tip", lang, what=what, figure=figure), scope.text()) if part)


def place_name(code: str, lang: str) -> str:
    """A place of a map layer, table or click: a country (core.data.codebook.country_name) or "Other"."""
    return t("map.other_countries", lang) if code == OTHER else country_name(code, lang)


def flow_layer(table: pd.DataFrame, lang: str, layer_id: str = FLOWS, kind: str = "origin_interview",
               scope: Scope = NO_SCOPE) -> MapLayer:
    """Links (core.query.flows of this `kind`) as rows to draw: from and to positions, width, colours,
    tooltip (what the count is, for the `scope`)."""
    points = country_points()
    tier = table.attrs.get("tier", "")  # core.query sets it; "public" counts are perturbed
    shown = table[~table["suppressed"]]
    drawable = shown["origin"].isin(points) & shown["destination"].isin(points) & (shown["origin"] != shown["destination"])
    rows = shown[drawable].copy()
    base = table.attrs.get("base") or 0
    scale = _scaled(rows["count"])
    ramp = _RAMPS[layer_id]
    rows = pd.DataFrame({
        "origin": rows["origin"], "destination": rows["destination"],
        "count": rows["count"].astype(int),
        "from_lon": [points[c][0] for c in rows["origin"]], "from_lat": [points[c][1] for c in rows["origin"]],
        "to_lon": [points[c][0] for c in rows["destination"]], "to_lat": [points[c][1] for c in rows["destination"]],
        "width": (1 + 8 * scale).round(1),
        "color": [_colour(s, ramp) for s in scale],
        # the faint end is where people come from: the arc's direction
        "color_from": [_colour(s, ramp, 40) for s in scale],
        "name": [f"{place_name(a, lang)} → {place_name(b, lang)}" for a, b in zip(rows["origin"], rows["destination"])],
        "detail": [tip_text(what_text(layer_id, lang, place_name(a, lang), place_name(b, lang), kind), n,
                            n / base if base else None, tier, lang, scope)
                   for a, b, n in zip(rows["origin"], rows["destination"], rows["count"])],
    })
    unplaced = [f"{a}>{b}" for a, b in shown.loc[~drawable, ["origin", "destination"]].itertuples(index=False)]
    hidden = None if tier == "public" else int(table["suppressed"].sum())
    return MapLayer(layer_id, rows.reset_index(drop=True), hidden=hidden, unplaced=unplaced, tier=tier, base=base,
                    kind=kind if layer_id == FLOWS else "", scope=scope)


def place_layer(table: pd.DataFrame, column: str, lang: str, layer_id: str, scope: Scope = NO_SCOPE) -> MapLayer:
    """Counts by country (a core.query.crosstab over a country variable) as circles, or by town
    (layer TOWNS, the codes of core.data.geo.TOWN_VARIABLE); tooltips for the `scope`."""
    tier = table.attrs.get("tier", "")  # core.query sets it; "public" counts are perturbed
    if layer_id == TOWNS:
        towns = town_points()
        position = {code: (lon, lat) for code, (_, lon, lat) in towns.items()}
        choice = load_codebook(table.attrs["dataset"])[column]
        name = lambda code: choice.choice_label(code, lang)  # noqa: E731
    else:
        position = country_points()
        name = lambda code: place_name(code, lang)  # noqa: E731
    counts = table[~table["suppressed"] & (table["count"].fillna(0) > 0)]
    placed = counts[column].isin(position)
    rows = counts[placed]
    base = table.attrs.get("base") or 0
    scale = _scaled(rows["count"])
    biggest = 14 if layer_id == TOWNS else 22
    out = pd.DataFrame({
        "code": rows[column].astype(str),
        "count": rows["count"].astype(int),
        "lon": [position[c][0] for c in rows[column]], "lat": [position[c][1] for c in rows[column]],
        "radius": (3 + biggest * scale).round(1),
        "color": [_colour(s, _RAMPS[layer_id], 190) for s in scale],
        "name": [name(c) for c in rows[column]],
        "detail": [tip_text(what_text(layer_id, lang, name(c)), n, n / base if base else None, tier, lang, scope)
                   for c, n in zip(rows[column], rows["count"])],
    })
    if layer_id == TOWNS:
        out["country"] = [towns[c][0] for c in out["code"]]
    return MapLayer(layer_id, out.reset_index(drop=True), hidden=None if table["suppressed"].any() else 0,
                    unplaced=list(counts.loc[~placed, column].astype(str)), tier=tier, base=base, scope=scope)


def layer_title(layer: MapLayer, lang: str) -> str:
    """A layer's name, with its kind of flow: "Flows, Nationality → country of interview"."""
    title = t(f"map.layer.{layer.id}", lang)
    return f"{title}, {t(f'map.flow.{layer.kind}', lang)}" if layer.kind else title


def summary_text(layer: MapLayer, lang: str, top: int = 3) -> str:
    """One sentence saying what a drawn layer shows, from its drawn (protected) rows only: how many links
    or places are drawn, the largest, and, where some may be withheld, that those under the minimum
    are not drawn (never how many: design.md rule 11)."""
    what = "links" if layer.id in LINK_LAYERS else "places"
    scope = ", ".join(part for part in (layer.scope.when, layer.scope.whom) if part)
    head = f"{layer_title(layer, lang)} ({scope})" if scope else layer_title(layer, lang)
    rows = layer.rows.sort_values("count", ascending=False, kind="stable")
    if rows.empty:
        text = t("map.summary_none", lang, layer=head)
    else:
        largest = ", ".join(f"{name} ({count_phrase(n, layer.tier, lang)})"
                            for name, n in zip(rows["name"].head(top), rows["count"].head(top)))
        text = t("map.summary", lang, layer=head, drawn=tn(f"map.drawn.{what}", len(rows), lang), top=largest)
    if layer.hidden is None:
        text = t("map.summary_withheld", lang, summary=text,
                 withheld=t(f"map.withheld.{what}", lang, minimum=disclosure.settings().min_count))
    return t("map.summary_end", lang, summary=text)


def layer_table(layer: MapLayer, lang: str) -> pd.DataFrame:
    """The table behind a drawn layer, largest first: the same rows, names and protected counts as the
    map draws (nothing that is not drawn), with each one's share of the layer's respondents."""
    rows = layer.rows.sort_values("count", ascending=False, kind="stable")
    column = {FLOWS: "map.col.flows", ROUTES: "map.col.routes", TOWNS: "map.col.town"}.get(layer.id, "map.col.country")
    return pd.DataFrame({
        t(column, lang): list(rows["name"]),
        t("map.col.respondents", lang): [fmt_int(int(n), lang) for n in rows["count"]],
        t("map.col.share", lang): [share_text(n / layer.base, lang) if layer.base else "" for n in rows["count"]],
    })


@functools.cache
def _static_url(write, *args) -> str | None:
    """Where the browser fetches a file of the map from, once `write(*args, directory)` has written it
    (core.data.geo: write_outlines, write_borders): Streamlit's static serving on this server, relative,
    so that a base URL path is kept. None when the file cannot be written."""
    try:
        path = write(*args, STATIC_DIR / "geo")
    except OSError:
        return None
    return path.relative_to(ROOT).as_posix().replace("static/", "app/static/", 1)


def _basemap(lang: str, chosen: set[str]) -> list[pdk.Layer]:
    """The country outlines and their borders (fetched once by the browser), the countries in the filters
    tinted, and a small marker per country to click. The outlines are not pickable: a pickable GeoJSON
    or polygon layer stops Streamlit 1.67 from reporting any click on the map (seen in Chromium, every
    layer).

    The borders are flat, two-point arcs (geo.borders), drawn by the flows' own layer type, not by
    stroking the outlines (a PathLayer). Before its first frame a browser compiles the shaders of each
    layer type on the map; without a GPU (software WebGL, as in this project's Chromium) that takes
    0.4-0.7 s a type, and the stroke was 1.1 s of the 2.3 s deck.gl took to draw the default map (Streamlit
    alone, medians of 6). Looked at side by side, the two maps are the same."""
    outlines = countries(lang)
    land = pdk.Layer("GeoJsonLayer", _static_url(write_outlines, lang) or outlines, id="outlines", stroked=False,
                     filled=True, get_fill_color=[*LAND, 255], pickable=False)
    lines = pdk.Layer("ArcLayer", _static_url(write_borders) or borders(), id="borders", get_source_position="s",
                      get_target_position="t", get_source_color=[*BORDER, 255], get_target_color=[*BORDER, 255],
                      get_width=0.6, width_units="'pixels'", get_height=0, num_segments=2, pickable=False)
    tinted = [f for f in outlines["features"] if f["properties"]["code"] in chosen]
    chosen_layer = [pdk.Layer("GeoJsonLayer", {"type": "FeatureCollection", "features": tinted}, id="chosen",
                              stroked=False, filled=True, get_fill_color=[*CHOSEN, 220], pickable=False)] if tinted else []
    points = country_points()
    markers = pd.DataFrame({"code": list(points), "lon": [p[0] for p in points.values()],
                            "lat": [p[1] for p in points.values()],
                            "name": [country_name(c, lang) for c in points], "detail": ""})
    marker_layer = pdk.Layer("ScatterplotLayer", markers, id=COUNTRIES, get_position=["lon", "lat"], get_radius=2.5,
                             radius_units="'pixels'", get_fill_color=[*BORDER, 255], pickable=True,
                             auto_highlight=True, highlight_color=[31, 95, 153, 200], radius_min_pixels=2.5)
    return [land, *chosen_layer, lines, marker_layer]


def _deck_layer(layer: MapLayer) -> pdk.Layer:
    # A string argument is an accessor for pydeck ("@@=..."); a constant string goes in quotes.
    common = dict(id=layer.id, pickable=True, auto_highlight=True)
    if layer.id == FLOWS:
        return pdk.Layer("ArcLayer", layer.rows, get_source_position=["from_lon", "from_lat"],
                         get_target_position=["to_lon", "to_lat"], get_source_color="color_from",
                         get_target_color="color", get_width="width", width_units="'pixels'", get_height=0.4,
                         **common)
    if layer.id == ROUTES:
        rows = layer.rows.assign(path=[[[a, b], [c, d]] for a, b, c, d in
                                       layer.rows[["from_lon", "from_lat", "to_lon", "to_lat"]].itertuples(index=False)])
        return pdk.Layer("PathLayer", rows.drop(columns=["from_lon", "from_lat", "to_lon", "to_lat", "color_from"]),
                         get_path="path", get_color="color", get_width="width", width_units="'pixels'",
                         cap_rounded=True, **common)
    return pdk.Layer("ScatterplotLayer", layer.rows, get_position=["lon", "lat"], get_radius="radius",
                     radius_units="'pixels'", get_fill_color="color", stroked=True, get_line_color=[255, 255, 255, 220],
                     line_width_min_pixels=1, **common)


def _mercator(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(max(min(lat, 80.0), -80.0)) / 2))


# The server does not know how wide the browser draws the map: the view is framed for the narrowest
# (a phone's 390-pixel screen less the page's margins), so that nothing drawn is cut off there; a wider
# screen shows more of the world around it.
FRAME_WIDTH, MAP_HEIGHT = 350, 520
MIN_ZOOM = -1.0  # below deck.gl's default of 0: a phone needs the whole width of the Americas to Asia


def framed(positions: list[list[float]], width: int = FRAME_WIDTH, height: int = MAP_HEIGHT) -> pdk.ViewState:
    """A view that shows every position on a map of about `width` x `height` pixels (Web Mercator,
    512-pixel world at zoom 0), with a margin; a lone place is shown with its region around it."""
    if not positions:
        return pdk.ViewState(longitude=20, latitude=15, zoom=round(math.log2(0.9 * width / 512), 2),
                             min_zoom=MIN_ZOOM)
    lons, lats = [p[0] for p in positions], [p[1] for p in positions]
    west, east = min(lons), max(lons)
    south, north = _mercator(min(lats)), _mercator(max(lats))
    span_x = max(east - west, 30.0) / 360
    span_y = max(north - south, 0.5) / (2 * math.pi)
    zoom = math.log2(min(0.8 * width / 512 / span_x, 0.8 * height / 512 / span_y))
    latitude = math.degrees(2 * math.atan(math.exp((north + south) / 2)) - math.pi / 2)
    return pdk.ViewState(longitude=(west + east) / 2, latitude=latitude, zoom=round(max(MIN_ZOOM, min(zoom, 4.5)), 2),
                         min_zoom=MIN_ZOOM)


def deck(layers: list[MapLayer], lang: str, chosen: set[str]) -> pdk.Deck:
    """The map: the country outlines (filtered countries tinted), then the layers in the order given,
    framed on the places drawn."""
    positions = []
    for layer in layers:
        rows = layer.rows
        if {"from_lon", "to_lon"} <= set(rows):
            positions += rows[["from_lon", "from_lat"]].to_numpy().tolist() + rows[["to_lon", "to_lat"]].to_numpy().tolist()
        elif "lon" in rows:
            positions += rows[["lon", "lat"]].to_numpy().tolist()
    view = framed(positions)
    provider = os.environ.get(BASEMAP_ENV, "").strip().lower()
    basemap = {"map_provider": "carto", "map_style": "light"} if provider == "carto" else {"map_provider": None}
    # wider than the world: zoomed out for a phone, the world is narrower than a desktop's map
    sea = pdk.Layer("PolygonLayer", [{"polygon": [[-540, -85], [540, -85], [540, 85], [-540, 85]]}], id="sea",
                    get_polygon="polygon", get_fill_color=[*SEA, 255], stroked=False, pickable=False)
    return pdk.Deck(layers=[sea, *_basemap(lang, chosen), *(_deck_layer(layer) for layer in layers)],
                    initial_view_state=view, tooltip=TOOLTIP, **basemap)

