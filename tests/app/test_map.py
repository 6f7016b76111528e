"""The route map (pages/map.py): what its layers send to the browser in each tier, the layer and
incident choices and their link, and a click on the map narrowing the shared filters."""

from __future__ import annotations

import json

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from core import disclosure
from core.query import crosstab, flows
from tests.app.conftest import ROOT, as_role, link, open_app, texts

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
    return {layer["id"]: layer["data"] for layer in deck(at)["layers"] if layer["id"] not in ("outlines", "countries", "chosen", "sea")}


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
    flows_table = at.dataframe[0].value
    assert list(flows_table.columns) == ["Flow", "Respondents", "Share"]
    assert flows_table.iloc[0]["Flow"] == "Venezuela → Colombia"
    top = public.sort_values("count", ascending=False).iloc[0]
    assert flows_table.iloc[0]["Respondents"] == f"{int(top['count']):,}"
    # Nothing that identifies a respondent travels, and no town in the public tier.
    assert "respondent_id" not in json.dumps(deck(at)) and "towns" not in sent


def test_links_under_the_threshold_are_not_drawn_and_the_page_says_so_without_a_number():
    at = open_map({"flow": "interview_destination", "nat": "SOM"})  # a narrow view with small links
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
    assert "7\u202f792 personnes interrogées, soit 6,5\xa0% du total" in details
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
    # What a click on a country hits: a marker per country, named in the language.
    markers = {row["code"]: row["name"] for row in by_id["countries"]["data"]}
    assert markers["ERI"] == "Eritrea" and len(markers) > 170
    assert len(json.dumps(deck(at))) < 200_000  # the outlines are not in every rerun's message
