"""The route map (pages/map.py): what its layers send to the browser in each tier, the layer and
incident choices and their link, and a click on the map narrowing the shared filters."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from core import disclosure
from core.data.codebook import country_name
from core.figures import map_layers as rm
from core.query import crosstab, flows
from core.query.filters import FilterState
from tests.app.conftest import ROOT, as_role, link, open_app, open_tables, texts

MIN = disclosure.settings().min_count
# Everything a drawn row may carry: names, codes, position, protected count, how to draw it.
ROW_KEYS = {"origin", "destination", "code", "country", "count", "from_lon", "from_lat", "to_lon", "to_lat", "lon",
            "lat", "path", "width", "radius", "color", "color_from", "name", "detail"}


def open_map(query: dict | None = None, role: str | None = None):
    """A link to the map opened in a new browser session, signed in as `role`."""
    return as_role(role, query, page="map")


def deck(at) -> dict:
    [chart] = at.get("deck_gl_json_chart")
    return json.loads(chart.proto.json)


def layers(at) -> dict[str, list[dict]]:
    """Layer id -> the rows it sends, for the portal's data layers (not the basemap's)."""
    return {layer["id"]: layer["data"] for layer in deck(at)["layers"] if layer["id"] not in ("outlines", "borders", "countries", "chosen", "sea")}


def side_tables(at) -> list[pd.DataFrame]:
    """The side panel's tables (core.figures.text.markdown_table), read back as a browser shows them: a
    row per line, cells between the unescaped bars, every escaped mark shown as itself."""
    found = []
    for markdown in at.markdown:
        lines = markdown.value.split("\n")
        if len(lines) < 2 or not lines[0].startswith("| ") or not set(lines[1]) <= set("|:-"):
            continue
        rows = [[re.sub(r"\\(.)", r"\1", cell).strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
                for line in lines[:1] + lines[2:]]
        found.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return found


def click(at, layer: str, row: dict):
    """What the browser sends when a map object is clicked: the chart's selection state."""
    [chart] = at.get("deck_gl_json_chart")
    states = at._tree.get_widget_states()
    selection = {"selection": {"indices": {layer: [0]}, "objects": {layer: [row]}}}
    states.widgets.append(WidgetState(id=chart.proto.id, string_value=json.dumps(selection)))
    at._run(states)
    return at


ALL = {"layers": ["flows", "routes", "incidents", "interviews"]}


def test_public_layers_send_protected_aggregates_only():
    at = open_map(ALL)
    assert not at.exception
    sent = layers(at)
    assert set(sent) == {"flows", "routes", "incidents", "interviews"}
    for layer_id, rows in sent.items():
        assert rows, layer_id
        for row in rows:
            assert set(row) <= ROW_KEYS, (layer_id, set(row) - ROW_KEYS)
            assert row["count"] >= MIN, (layer_id, row)
    # Each arc is a link of the public flows table, with its perturbed (not its exact) count.
    public = flows("core", "origin_interview")
    exact = flows("core", "origin_interview", tier="researcher")
    key = lambda df: {(a, b): n for a, b, n in df[["origin", "destination", "count"]].itertuples(index=False)}  # noqa: E731
    shown = {(r["origin"], r["destination"]): r["count"] for r in sent["flows"]}
    assert shown.items() <= key(public).items()
    assert any(key(exact)[link] != n for link, n in shown.items())
    interviews = {r["code"]: r["count"] for r in sent["interviews"]}
    table = crosstab("core", ["country_of_interview"])
    assert interviews.items() <= dict(zip(table["country_of_interview"], table["count"])).items()
    # The side panel: the top rows of each layer, named, with the same protected counts.
    flows_table = next(df for df in side_tables(at) if df.columns[0] == "Flow")
    assert len(side_tables(at)) == 4  # a table per layer drawn
    assert list(flows_table.columns) == ["Flow", "Respondents", "Share"]
    assert flows_table.iloc[0]["Flow"] == "Venezuela → Colombia"
    top = public.sort_values("count", ascending=False).iloc[0]
    assert flows_table.iloc[0]["Respondents"] == f"{int(top['count']):,}"
    # Nothing that identifies a respondent travels, and no town in the public tier.
    assert "respondent_id" not in json.dumps(deck(at)) and "towns" not in sent


def test_links_under_the_threshold_are_not_drawn_and_the_page_says_so_without_a_number():
    at = open_map({"flow": "interview_destination", "nat": "SOM", "layers": ["flows", "interviews"]})  # small links
    public = flows("core", "interview_destination", filters={"nationality": ["SOM"]})
    exact = flows("core", "interview_destination", filters={"nationality": ["SOM"]}, tier="researcher")
    assert (exact["count"] < MIN).any() and not public["suppressed"].any()  # small links are not even listed
    assert len(layers(at)["flows"]) <= len(public)
    # which links exist is itself a count (docs/disclosure.md rule 11): the note has no number
    assert f"Links with fewer than {MIN} respondents are not drawn." in texts(at)
    assert f"Places with fewer than {MIN} respondents are not drawn" in texts(at)
    # Researchers see every link: nothing is withheld from them.
    researcher = open_map({"flow": "interview_destination", "nat": "SOM"}, role="researcher")
    assert "not drawn" not in texts(researcher)


def test_researchers_get_exact_counts_and_the_towns_layer():
    at = open_map({"flow": "interview_destination", "nat": "SOM"}, role="researcher")
    at.pills(key="map_layers").set_value(["flows", "towns"]).run()
    sent = layers(at)
    somali = {"nationality": ["SOM"]}
    exact = flows("core", "interview_destination", filters=somali, tier="researcher")
    drawable = exact[(exact["origin"] != exact["destination"]) & (exact["origin"] != "_other")]
    assert {(r["origin"], r["destination"]): r["count"] for r in sent["flows"]} == \
        dict(zip(zip(drawable["origin"], drawable["destination"]), drawable["count"]))
    towns = crosstab("core", ["interview_town"], filters=somali, tier="researcher")
    towns = towns[towns["count"] > 0]
    assert {r["code"]: r["count"] for r in sent["towns"]} == dict(zip(towns["interview_town"], towns["count"]))
    assert any(r["count"] < MIN for r in sent["towns"] + sent["flows"])  # nothing withheld


def test_the_public_cannot_ask_for_towns_in_the_link():
    at = open_map({"layers": ["towns", "flows"]})
    assert "towns" not in layers(at) and "flows" in layers(at)
    assert any("towns" in w.value for w in at.warning)


def test_the_incident_choices_narrow_the_incident_layer_and_live_in_the_link():
    at = open_map({"layers": ["incidents"], "incident": "kidnapping", "perp": "smugglers"})
    sent = {r["code"]: r["count"] for r in layers(at)["incidents"]}
    table = crosstab("core", ["incident_country"],
                     filters={"incident_types": ["kidnapping"], "perpetrators": ["smugglers"]})
    assert sent == {c: n for c, n, s in table[["incident_country", "count", "suppressed"]].itertuples(index=False)
                    if not s and n > 0 and c != "_other"}  # "Other countries" has no place on a map
    assert link(at)["incident"] == ["kidnapping"] and link(at)["perp"] == ["smugglers"]
    at.selectbox(key="map_incident").set_value("any").run()
    assert "incident" not in link(at)
    assert sum(r["count"] for r in layers(at)["incidents"]) > sum(sent.values())


def test_flows_switch_kind_and_follow_the_dataset():
    at = open_map({"flow": "interview_destination"})
    assert link(at)["flow"] == ["interview_destination"]
    origins = {r["origin"] for r in layers(at)["flows"]}
    assert "LBY" in origins  # people interviewed in Libya, going on
    at.sidebar.selectbox(key="f_ds").set_value("returns").run()
    assert not at.exception
    assert at.selectbox(key="map_flow").options == ["Nationality → country of interview",
                                                   "Country returned from → country of interview"]
    at.selectbox(key="map_flow").set_value("return_interview").run()
    assert {r["destination"] for r in layers(at)["flows"]} == {"AFG"}
    at.sidebar.selectbox(key="f_ds").set_value("covid").run()  # no destination or route questions
    assert not at.exception and "incidents" not in layers(at)


def test_a_bad_layer_or_flow_in_the_link_is_dropped_with_a_note():
    at = open_map({"flow": "teleport", "layers": ["flows", "bogus"]})
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("teleport" in w for w in warnings) and any("bogus" in w for w in warnings)
    assert set(layers(at)) == {"flows"}


def test_clicking_an_arc_sets_both_filters_and_the_link():
    at = open_map()
    arc = next(r for r in layers(at)["flows"] if r["origin"] == "SDN" and r["destination"] == "LBY")
    click(at, "flows", arc)
    assert not at.exception
    assert link(at)["nat"] == ["SDN"] and link(at)["country"] == ["LBY"]
    assert at.sidebar.selectbox(key="f1_nat").value == "SDN"
    assert "Filter set" in " ".join(str(x.proto) for x in at.get("toast"))
    # The map follows: only Sudanese respondents interviewed in Libya are left.
    assert {(r["origin"], r["destination"]) for r in layers(at)["flows"]} == {("SDN", "LBY")}


@pytest.mark.parametrize("layer, row, param, value", [
    ("interviews", {"code": "NER"}, "country", ["NER"]),
    ("countries", {"code": "ERI"}, "nat", ["ERI"]),  # nobody is interviewed in Eritrea
    ("countries", {"code": "MLI"}, "country", ["MLI"]),
])
def test_clicking_a_place_or_a_country_sets_its_filter(layer, row, param, value):
    at = click(open_map(), layer, row)
    assert not at.exception
    assert link(at)[param] == value


def test_a_forged_click_changes_nothing():
    at = open_map()
    before = link(at)
    click(at, "flows", {"origin": "respondent_id", "destination": "'; DROP TABLE"})
    click(at, "incidents", {"code": "LBY"})
    click(at, "nonsense", {})
    assert not at.exception and link(at) == before


def test_the_map_in_french():
    at = open_app({"lang": "fr", "layers": ["flows", "incidents"]}, page="map")
    assert not at.exception
    assert at.title[0].value == "Carte des routes"
    details = " ".join(r["detail"] for r in layers(at)["flows"])
    assert "Personnes interrogées, Venezuela → Colombie (nationalité → pays d’entretien)\xa0: environ 7\u202f792, " \
           "soit 6,5\xa0% du total · période d’entretien\xa0: T1 2017 – T3 2026 · toutes les personnes interrogées" \
           in details
    assert any(r["name"] == "Soudan → Libye" for r in layers(at)["flows"])


def test_the_outlines_are_fetched_once_from_this_server_and_the_filtered_countries_tinted():
    at = open_map({"country": "LBY", "nat": ["SDN", "ERI"]})  # the public keeps one nationality: SDN
    by_id = {layer["id"]: layer for layer in deck(at)["layers"]}
    url = by_id["outlines"]["data"]
    assert isinstance(url, str) and url.startswith("app/static/geo/countries-en-") and url.endswith(".json")
    served = ROOT / url.replace("app/static/", "static/", 1)
    names = {f["properties"]["code"]: f["properties"]["name"] for f in json.loads(served.read_text())["features"]}
    assert names["LBY"] == "Libya"
    assert sorted(f["properties"]["code"] for f in by_id["chosen"]["data"]["features"]) == ["LBY", "SDN"]
    assert by_id["chosen"]["pickable"] is False and by_id["outlines"]["pickable"] is False
    # The borders: fetched too, drawn by the flows' layer type (flat, two points each: no stroke's PathLayer
    # for the browser to compile before the first frame), under the markers, not clickable.
    borders = by_id["borders"]
    assert borders["@@type"] == by_id["flows"]["@@type"] == "ArcLayer" and by_id["outlines"]["stroked"] is False
    assert borders["numSegments"] == 2 and borders["getHeight"] == 0 and borders["pickable"] is False
    assert borders["data"].startswith("app/static/geo/borders-")
    assert json.loads((ROOT / borders["data"].replace("app/static/", "static/", 1)).read_text())[0].keys() == {"s", "t"}
    assert [layer["id"] for layer in deck(at)["layers"]][:5] == ["sea", "outlines", "chosen", "borders", "countries"]
    # What a click on a country hits: a marker per country, named in the language.
    markers = {row["code"]: row["name"] for row in by_id["countries"]["data"]}
    assert markers["ERI"] == "Eritrea" and len(markers) > 170
    assert len(json.dumps(deck(at))) < 200_000  # the outlines are not in every rerun's message


# -- issue 19: one layer first, the map in words, details on a tap ---------------------------------------


def test_the_map_opens_on_one_layer_and_keeps_the_others_chosen_in_the_link():
    at = open_map()
    assert not at.exception
    assert set(layers(at)) == {"flows"} and at.pills(key="map_layers").value == ["flows"]
    assert link(at)["layers"] == ["flows"]  # in the link even as the default: a shared link keeps it
    at.pills(key="map_layers").set_value(["flows", "incidents"]).run()
    assert set(layers(at)) == {"flows", "incidents"} and link(at)["layers"] == ["flows", "incidents"]
    # A dataset without flows opens on its first layer that it has, still one.
    covid = open_map({"ds": "covid"})
    assert not covid.exception and len(layers(covid)) == 1


def _summary_of(layer_id: str, lang: str, filters: FilterState, **query) -> str:
    """The sentence the page should write for a layer, built here from core's protected tables."""
    scope = rm.scope_of(filters, lang)
    if layer_id == "flows":
        layer = rm.flow_layer(flows("core", query.get("kind", "origin_interview"), filters=filters.query_filters()),
                              lang, "flows", query.get("kind", "origin_interview"), scope)
    else:
        table = crosstab("core", ["country_of_interview"], filters=filters.query_filters())
        layer = rm.place_layer(table, "country_of_interview", lang, layer_id, scope)
    return rm.summary_text(layer, lang)


@pytest.mark.parametrize("lang, words", [("en", "links drawn"), ("fr", "liens tracés"), ("es", "vínculos dibujados")])
def test_a_sentence_says_what_the_map_shows_in_each_language(lang, words):
    at = open_app({"lang": lang}, page="map")
    assert not at.exception
    expected = _summary_of("flows", lang, FilterState("core"))
    assert words in expected and expected in [m.value for m in at.markdown]
    # It follows the filters and the layers: the period and the nationality are in it.
    at = open_app({"lang": lang, "nat": "SDN", "from": "2024Q1", "to": "2024Q4", "layers": ["flows", "interviews"]}, page="map")
    narrowed = FilterState("core", "2024Q1", "2024Q4", {"nationality": ("SDN",)})
    for layer_id in ("flows", "interviews"):
        assert _summary_of(layer_id, lang, narrowed) in [m.value for m in at.markdown], layer_id
    assert any("2024" in m.value and country_name("SDN", lang) in m.value for m in at.markdown)


def _table_counts(df) -> list[int]:
    return [int(re.sub(r"\D", "", v)) for v in df.iloc[:, 1]]


def test_the_table_behind_the_map_holds_only_what_the_map_draws():
    query = {"flow": "interview_destination", "nat": "SOM", "layers": ["flows", "routes", "incidents", "interviews"]}
    at = open_map(query)
    [expander] = [e for e in at.expander if e.label == "The map's figures as a table"]
    assert not expander.dataframe  # drawn once opened (components.figures.tables_box)
    [expander] = [e for e in open_tables(at).expander if e.label == "The map's figures as a table"]
    tables = [df.value for df in expander.dataframe]
    sent = layers(at)
    assert len(tables) == len(sent) == 4
    exact_small = flows("core", "interview_destination", filters={"nationality": ["SOM"]}, tier="researcher")
    assert (exact_small["count"] < MIN).any()  # there are small links to leave out
    for table in tables:
        assert table.columns[1] == "Respondents" and len(table)
        assert min(_table_counts(table)) >= MIN  # the public table has no count under the minimum
    # Row for row, the names and counts the layers draw: nothing the map does not show.
    drawn = sorted((r["name"], r["count"]) for rows in sent.values() for r in rows)
    assert sorted((n, c) for table in tables for n, c in zip(table.iloc[:, 0], _table_counts(table))) == drawn
    # Researchers' table is the exact one, small links included.
    researcher = open_tables(open_map(query, role="researcher"))
    [expander] = [e for e in researcher.expander if e.label == "The map's figures as a table"]
    assert min(min(_table_counts(df.value)) for df in expander.dataframe) < MIN


def test_a_click_or_tap_shows_the_same_text_as_the_tooltip_under_the_map():
    at = open_map()
    assert "Tap or click an arc or a circle: its figures appear here." in texts(at)
    arc = next(r for r in layers(at)["flows"] if r["origin"] == "SDN" and r["destination"] == "LBY")
    click(at, "flows", arc)
    # The panel shows the arc as drawn now (the click narrowed the filters to its ends): what it counts,
    # its protected count, for whom and when, exactly as its tooltip says it.
    [now] = [r for r in layers(at)["flows"] if (r["origin"], r["destination"]) == ("SDN", "LBY")]
    assert now["count"] == arc["count"]  # the same cell, whatever the filters (cell-key perturbation)
    assert now["detail"].startswith(f"Respondents from Sudan interviewed in Libya: about {arc['count']:,}")
    assert "filters: Country of interview: Libya; Nationality: Sudan" in now["detail"]
    assert f"**Sudan → Libya**  \n{now['detail']}" in [m.value for m in at.markdown]
    # A country's marker shows the circles drawn there; a forged text is never shown, only the rows drawn.
    at = click(open_map({"layers": ["interviews"]}), "countries", {"code": "NER", "name": "<script>", "detail": "x"})
    [niger] = [r for r in layers(at)["interviews"] if r["code"] == "NER"]
    assert f"**Niger**  \n{niger['detail']}" in [m.value for m in at.markdown]
    assert "<script>" not in texts(at)


def test_the_tooltip_says_what_is_counted_for_whom_and_when():
    at = open_map({"layers": ["incidents"], "incident": "kidnapping", "gender": "woman", "from": "2025Q2", "to": "2025Q2"})
    tips = [r["detail"] for r in layers(at)["incidents"]]
    assert tips and all(" · interviewed in Q2 2025 · filters: " in tip for tip in tips)
    incidents = "Protection incidents experienced or witnessed during the journey: Kidnapping"
    assert all("Gender: Woman" in tip and incidents in tip for tip in tips)
    assert all(re.search(r"^Respondents who reported an incident in .+: about [\d,]+, ", tip) for tip in tips)
