"""Route map: where the respondents of the chosen dataset come from, pass through, were interviewed and
want to go, and where they were harmed, as protected counts on one map; beside it, the top corridors
and places as a table. It opens on one layer (the flows), others are added by the user and kept in the
link. A click or a tap on a country or an arc narrows the shared filters to it and shows its details
under the map (a tooltip needs a mouse); a sentence above the map says what each layer shows, and the
table behind it is one click away (core.figures.map_layers: summary_text, layer_table)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from components.figures import (
    cached,
    caveats,
    data_version,
    how_to_read,
    refused,
    synthetic_banner,
    tables_box,
)
from components.filter_bar import set_filter
from components.question import Refusal
from components.shell import context, put_in_url, seed_from_url
from components.style import MAP_TOP
from core import disclosure
from core.data.engine import load_codebook
from core.data.geo import TOWN_VARIABLE, country_points
from core.disclosure import TableRefused
from core.figures import map_layers as rm
from core.figures.map_layers import place_name
from core.figures.text import count_text, markdown_table
from core.i18n import t
from core.query import flow_kinds, flow_variables
from core.query.filters import FILTER_PARAMS, FilterState, allowed_codes

FLOW_KEY, LAYERS_KEY, INCIDENT_KEY, PERP_KEY, MAP_KEY = "map_flow", "map_layers", "map_incident", "map_perp", "route_map"
_CLICKED, _PICKED = "map_clicked", "map_picked"
ANY = "any"
# The map opens on one layer, the first of these that the dataset has: drawn together, layers hide each other.
DEFAULT_LAYERS = (rm.FLOWS, rm.ROUTES, rm.INTERVIEWS, rm.INCIDENTS)
TOP = 10


def _layers_available(dataset: str, tier: str) -> list[str]:
    codebook = load_codebook(dataset)
    kinds = flow_kinds(dataset)
    out = [rm.FLOWS] if [k for k in kinds if k != "route"] else []
    out += [rm.ROUTES] if "route" in kinds else []
    if "incident_country" in codebook and (tier != "public" or codebook["incident_country"].public):
        out.append(rm.INCIDENTS)
    if "country_of_interview" in codebook:  # a dataset made from a form may have no country question
        out.append(rm.INTERVIEWS)
    if tier != "public" and TOWN_VARIABLE in codebook:
        out.append(rm.TOWNS)  # finer than the public granularity (rule 8)
    return out


def _on_click() -> None:
    """A click on the map: an arc narrows the filters to its ends, a place to its country."""
    ctx = context()
    objects = st.session_state[MAP_KEY]["selection"]["objects"]
    st.session_state.pop(_PICKED, None)
    if ctx is None or not objects:
        return
    layer, rows = next(iter(objects.items()))
    row = rows[0] if rows else {}
    # What the details panel shows: looked up again in the drawn rows, never the browser's text.
    st.session_state[_PICKED] = {"layer": str(layer), **{k: str(row.get(k))[:40] for k in ("origin", "destination", "code")}}
    dataset = ctx.filters.dataset
    if layer == rm.FLOWS and st.session_state.get(FLOW_KEY) in flow_kinds(dataset):
        ends = zip(flow_variables(st.session_state[FLOW_KEY]), (row.get("origin"), row.get("destination")))
    elif layer == rm.INTERVIEWS:
        ends = [("country_of_interview", row.get("code"))]
    elif layer == rm.TOWNS:
        ends = [("country_of_interview", row.get("country"))]
    elif layer == rm.COUNTRIES:
        code = row.get("code")
        options = allowed_codes(ctx.tier)
        variable = "country_of_interview" if code in options(dataset, "country_of_interview") else "nationality"
        ends = [(variable, code)]
    else:
        return  # corridors and incidents have no filter of their own: their tooltip says it all
    options = allowed_codes(ctx.tier)
    applied = []
    for variable, code in ends:
        if variable in FILTER_PARAMS.values() and code in options(dataset, variable):
            set_filter(variable, [code])
            applied.append(f"{load_codebook(dataset)[variable].label(ctx.lang)}: {place_name(code, ctx.lang)}")
    if applied:
        st.session_state[_CLICKED] = "; ".join(applied)


def _controls(lang: str, dataset: str, tier: str) -> tuple[str | None, list[str], dict[str, list[str]]]:
    """The map's own choices (seeded from the link once, then written to it): the kind of flows, the
    layers shown, and the incidents' type and perpetrator. Returns them with the incident filters."""
    codebook = load_codebook(dataset)
    kinds = [k for k in flow_kinds(dataset) if k != "route"]
    available = _layers_available(dataset, tier)
    default_layers = [layer for layer in DEFAULT_LAYERS if layer in available][:1]
    seed_from_url("flow", FLOW_KEY, kinds, lang)
    seed_from_url("layers", LAYERS_KEY, available, lang, multiple=True)
    if st.session_state.get(FLOW_KEY) not in kinds:  # after a dataset switch
        st.session_state[FLOW_KEY] = kinds[0] if kinds else None
    if LAYERS_KEY not in st.session_state:
        st.session_state[LAYERS_KEY] = default_layers
    else:
        st.session_state[LAYERS_KEY] = [layer for layer in st.session_state[LAYERS_KEY] if layer in available]

    left, right = st.columns([3, 2])
    left.pills(t("map.layers", lang), available, key=LAYERS_KEY, selection_mode="multi",
               format_func=lambda layer: t(f"map.layer.{layer}", lang))
    if len(kinds) > 1 and rm.FLOWS in st.session_state[LAYERS_KEY]:
        right.selectbox(t("map.flow_kind", lang), kinds, key=FLOW_KEY,
                        format_func=lambda kind: t(f"map.flow.{kind}", lang))
    layers = list(st.session_state[LAYERS_KEY])
    put_in_url("flow", st.session_state.get(FLOW_KEY) or "", kinds[0] if kinds else "")
    # Always in the link, default or not: a shared link keeps its layers if the default changes (it did:
    # two layers, then one, issue 19), and a story step's "layers: [flows]" stays in its link.
    put_in_url("layers", layers, ())

    incident_filters: dict[str, list[str]] = {}
    if rm.INCIDENTS in layers:
        cols = st.columns(2)
        for col, (param, key, variable) in zip(cols, (("incident", INCIDENT_KEY, "incident_types"),
                                                      ("perp", PERP_KEY, "perpetrators"))):
            var = codebook[variable]
            codes = [ANY, *(c for c in var.codes if c != "none")]
            seed_from_url(param, key, codes, lang)
            any_label = t(f"map.any_{param}", lang)
            choice = col.selectbox(var.label(lang), codes, key=key,
                                   format_func=lambda c, v=var, a=any_label: a if c == ANY else v.choice_label(c, lang))
            put_in_url(param, choice, ANY)
            if choice != ANY:
                incident_filters[variable] = [choice]
    return st.session_state.get(FLOW_KEY), layers, incident_filters


def _table(layer: rm.MapLayer, source: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A layer's top rows as the side panel shows them: names in the language, protected counts."""
    base = source.attrs.get("base") or 0
    top = source[source["count"].fillna(0) > 0].sort_values("count", ascending=False).head(TOP)
    if layer.id in (rm.FLOWS, rm.ROUTES):
        out = pd.DataFrame({t(f"map.col.{layer.id}", lang): [f"{place_name(a, lang)} → {place_name(b, lang)}"
                                                            for a, b in zip(top["origin"], top["destination"])]})
    elif layer.id == rm.TOWNS:
        town = load_codebook(source.attrs["dataset"])[TOWN_VARIABLE]
        out = pd.DataFrame({t("map.col.town", lang): [town.choice_label(c, lang) for c in top[TOWN_VARIABLE]]})
    else:
        out = pd.DataFrame({t("map.col.country", lang): [place_name(c, lang) for c in top.iloc[:, 0]]})
    out[t("map.col.respondents", lang)] = [count_text(n, False, lang) for n in top["count"]]
    out[t("map.col.share", lang)] = [rm.share_text(n / base, lang) if base else "" for n in top["count"]]
    return out


def _details(drawn: list[rm.MapLayer], pick: dict | None, lang: str) -> list[tuple[str, str]]:
    """The (name, details) of what was clicked or tapped, from the rows drawn now: the same text as its
    tooltip. A country's marker shows the circles at that country; nothing for a pick not drawn."""
    if not pick:
        return []
    layer_id, code = pick.get("layer"), pick.get("code")
    found = []
    for layer in drawn:
        rows = layer.rows
        if layer_id in rm.LINK_LAYERS and layer.id == layer_id:
            rows = rows[(rows["origin"] == pick.get("origin")) & (rows["destination"] == pick.get("destination"))]
        elif layer.id not in rm.LINK_LAYERS and layer_id in (layer.id, rm.COUNTRIES):
            rows = rows[rows["code"] == code]
        else:
            continue
        found += list(zip(rows["name"], rows["detail"]))
    if not found and layer_id == rm.COUNTRIES and code in country_points():
        found = [(place_name(code, lang), t("map.details.no_figures", lang, name=place_name(code, lang)))]
    return found


def _details_panel(drawn: list[rm.MapLayer], lang: str) -> None:
    """Under the map: the details of what was clicked or tapped (on a phone, the only way to them)."""
    with st.container(key="map_details", border=True):
        st.markdown(f"**{t('map.details.title', lang)}**")
        found = _details(drawn, st.session_state.get(_PICKED), lang)
        if not found:
            st.caption(t("map.details.help", lang))
        for name, detail in found:
            st.markdown(f"**{name}**  \n{detail}")


def _in_words(drawn: list[rm.MapLayer], words: dict[str, pd.DataFrame], lang: str) -> None:
    """The map's text alternative: the table behind each drawn layer (rm.layer_table), one click away,
    drawn once opened (components.figures.tables_box)."""
    tables_box([(rm.layer_title(layer, lang), words[layer.id]) for layer in drawn], t("map.table.label", lang),
               t("map.table.note", lang), MAP_KEY)


# --- made once per process, shared by every session ------------------------------------------------
# A layer, its tables and the map's JSON depend only on the dataset's loaded version, the tier, the
# language, the filters and the map's choices: they are made once for those and shared (scripts/load:
# making the layers and serialising the map was two thirds of a map rerun).

# Flows under the places, so that a place stays clickable where arcs end.
_ORDER = [rm.ROUTES, rm.FLOWS, rm.INCIDENTS, rm.INTERVIEWS, rm.TOWNS]


@dataclass(frozen=True)
class _Made:
    """A layer of the map as drawn (with the table behind it and its top rows), or why it is refused."""
    layer: rm.MapLayer | None = None
    words: pd.DataFrame | None = None  # rm.layer_table: the map's text alternative
    top: pd.DataFrame | None = None  # _table: the side panel
    refusal: Refusal | None = None


@st.cache_data(max_entries=2048, show_spinner=False)
def _layer(version: str, dataset: str, tier: str, lang: str, layer_id: str, kind: str | None, filters: FilterState,
           incident: tuple) -> _Made:
    query_filters, incident_filters = filters.query_filters(), {k: list(v) for k, v in incident}
    fn, args, asked = {
        rm.FLOWS: lambda: ("flows", (kind,), query_filters),
        rm.ROUTES: lambda: ("flows", ("route",), query_filters),
        rm.INCIDENTS: lambda: ("crosstab", (["incident_country"],), {**query_filters, **incident_filters}),
        rm.INTERVIEWS: lambda: ("crosstab", (["country_of_interview"],), query_filters),
        rm.TOWNS: lambda: ("crosstab", ([TOWN_VARIABLE],), query_filters),
    }[layer_id]()
    try:
        source = cached(fn, dataset, *args, filters=asked, tier=tier)
    except TableRefused as e:
        return _Made(refusal=Refusal(e.rule, e.reason, str(e), dict(e.params)))
    if fn == "flows":
        layer = rm.flow_layer(source, lang, layer_id, kind=kind or "", scope=rm.scope_of(filters, lang))
    else:
        extra = incident_filters if layer_id == rm.INCIDENTS else None
        layer = rm.place_layer(source, args[0][0], lang, layer_id, scope=rm.scope_of(filters, lang, extra))
    return _Made(layer, rm.layer_table(layer, lang), _table(layer, source, lang))


@st.cache_data(max_entries=1024, show_spinner=False)
def _deck_json(version: str, dataset: str, tier: str, lang: str, drawn: tuple[str, ...], kind: str | None,
               filters: FilterState, incident: tuple, chosen: tuple[str, ...]) -> tuple[str, dict | None]:
    """The map (rm.deck) of the layers `drawn`, in that order, as the JSON st.pydeck_chart sends, and its
    tooltip."""
    layers = [_layer(version, dataset, tier, lang, layer_id, kind, filters, incident).layer for layer_id in drawn]
    deck = rm.deck(layers, lang, set(chosen))
    for layer in deck.layers:  # as st.pydeck_chart does before serialising (pandas 3, visgl/deck.gl#9986)
        if isinstance(layer.data, pd.DataFrame):
            layer.data = layer.data.to_dict(orient="records")
    return deck.to_json(), getattr(deck, "_tooltip", None)


class _Deck:
    """A pydeck.Deck already serialised: what st.pydeck_chart reads of one (to_json, layers, _tooltip)."""

    def __init__(self, json: str, tooltip: dict | None) -> None:
        self._json, self._tooltip, self.layers = json, tooltip, []

    def to_json(self) -> str:
        return self._json


@st.fragment
def _map() -> None:
    """The map's choices and all that depends on them: the map, its details, its tables. A fragment: a
    choice here reruns only this (issue 21), and the link follows it (put_in_url); a click on the map
    that sets a filter of the bar reruns the whole page, whose bar and figures follow the filter."""
    ctx = context()
    if ctx is None:
        return
    if st.session_state.get(_CLICKED):  # set by _on_click; a full run shows it (render) and clears it
        st.rerun(scope="app")
    lang, tier, dataset = ctx.lang, ctx.tier, ctx.filters.dataset
    kind, shown, incident_filters = _controls(lang, dataset, tier)
    version, incident = data_version(dataset), tuple(sorted((k, tuple(v)) for k, v in incident_filters.items()))

    layers: list[rm.MapLayer] = []
    tables: list[tuple[rm.MapLayer, pd.DataFrame]] = []  # a layer and its top rows (_table)
    words: dict[str, pd.DataFrame] = {}
    for layer_id in shown:
        made = _layer(version, dataset, tier, lang, layer_id, kind, ctx.filters, incident)
        if made.refusal is not None:
            st.caption(t(f"map.layer.{layer_id}", lang))
            refused(made.refusal.error(), lang, dataset)
            continue
        layers.append(made.layer)
        tables.append((made.layer, made.top))
        words[layer_id] = made.words

    chosen = {code for var in ("country_of_interview", "nationality") for code in ctx.filters.selections.get(var, ())}
    main, side = st.columns([13, 7])
    with main:
        drawn = sorted(layers, key=lambda layer: _ORDER.index(layer.id))
        for layer in drawn:  # what the map shows, in words, before it
            st.markdown(rm.summary_text(layer, lang))
        if not shown:
            st.info(t("map.no_layer", lang), icon=":material/layers:")
        st.space(24)  # room for the chart's toolbar, which Streamlit draws above it, over what is there
        deck = _Deck(*_deck_json(version, dataset, tier, lang, tuple(layer.id for layer in drawn), kind, ctx.filters,
                                 incident, tuple(sorted(chosen))))
        st.pydeck_chart(deck, on_select=_on_click, selection_mode="single-object",
                        key=MAP_KEY, height=rm.MAP_HEIGHT, alt=t("map.alt", lang))
        _details_panel(drawn, lang)
        st.caption(t("map.click_help", lang))
        for layer in drawn:
            st.caption(f"**{t(f'map.layer.{layer.id}', lang)}**: {t(f'map.legend.{layer.id}', lang)}")
        minimum = disclosure.settings().min_count
        if any(layer.hidden is None and layer.id in rm.LINK_LAYERS for layer in layers):
            st.caption(t("map.hidden_links", lang, minimum=minimum))
        if any(layer.hidden is None and layer.id not in rm.LINK_LAYERS for layer in layers):
            st.caption(t("map.hidden_places", lang, minimum=minimum))
        _in_words(drawn, words, lang)
        how_to_read(lang, tier, "map", "map")
    with side, st.container(key=MAP_TOP):  # components.style sets its tables compact
        for layer, top in tables:
            st.markdown(f"**{t(f'map.top.{layer.id}', lang)}**")
            # A Markdown table, not st.dataframe: ten short rows need no grid, and the grid's code (1.2 MB)
            # was loaded and started beside deck.gl's before the map was drawn.
            st.markdown(markdown_table(top))



def render() -> None:
    ctx = context()
    if ctx is None:
        return
    lang, tier, dataset = ctx.lang, ctx.tier, ctx.filters.dataset

    st.title(t("map.title", lang))
    st.markdown(t("map.intro", lang))
    synthetic_banner(lang, dataset)
    if clicked := st.session_state.pop(_CLICKED, None):
        st.toast(t("map.filter_set", lang, filter=clicked), icon=":material/filter_alt:")
    if not _layers_available(dataset, tier):  # a dataset made from a form that asks no country
        st.info(t("map.no_places", lang), icon=":material/location_off:")
        return
    _map()
    st.subheader(t("caveats.title", lang))
    caveats(lang, tier)


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
