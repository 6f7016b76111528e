"""The route map in words (core/figures/map_layers.py): what a tooltip and the details panel say about a
drawn link or place, the sentence that says what a layer shows, the table behind it, and the view framed
for a phone. All of it from the drawn (protected) rows only: a link withheld under the minimum, or one
that does not exist, changes nothing that is said."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from core import disclosure
from core.data.codebook import OTHER, quarter_label
from core.data.engine import load_codebook
from core.data.geo import country_points
from core.figures import map_layers as rm
from core.query.filters import FilterState

MIN = disclosure.settings().min_count
QUARTERS = load_codebook("core").quarters()


def _flows(rows, tier="public", base=1250):
    table = pd.DataFrame(rows, columns=["origin", "destination", "count", "suppressed"])
    table.attrs.update(base=base, dataset="core", tier=tier)
    return table


def _places(rows, tier="public", base=1000):
    table = pd.DataFrame(rows, columns=["country_of_interview", "count", "suppressed"])
    table.attrs.update(base=base, dataset="core", tier=tier)
    return table


WOMEN_2026Q3 = FilterState("core", "2026Q3", "2026Q3", {"gender": ("woman",)})


def test_the_tooltip_says_what_is_counted_for_whom_and_when():
    scope = rm.scope_of(WOMEN_2026Q3, "en")
    assert scope == rm.Scope("interviewed in Q3 2026", "filters: Gender: Woman")
    layer = rm.flow_layer(_flows([("NER", "LBY", 40, False)]), "en", rm.ROUTES, scope=scope)
    assert layer.rows["detail"][0] == ("Respondents who travelled Niger → Libya: about 40, 3.2% of the total"
                                       " · interviewed in Q3 2026 · filters: Gender: Woman")
    # Researchers' counts are exact: no "about".
    exact = rm.flow_layer(_flows([("NER", "LBY", 7, False)], tier="researcher"), "en", rm.FLOWS,
                          "interview_destination", scope)
    assert exact.rows["detail"][0].startswith("Respondents interviewed in Niger who intend to go to Libya: 7, 0.6%")


@pytest.mark.parametrize("lang, expected", [
    ("en", "Respondents from Sudan interviewed in Libya: about 7,792, 6.5% of the total"
           " · interviewed in Q3 2026 · filters: Gender: Woman"),
    ("fr", "Personnes interrogées, Soudan → Libye (nationalité → pays d’entretien)\xa0: environ 7\u202f792, soit "
           "6,5\xa0% du total · période d’entretien\xa0: T3 2026 · filtres\xa0: Genre\xa0: Femme"),
    ("es", "Personas encuestadas de Sudán entrevistadas en Libia: alrededor de 7792, el 6,5\xa0% del total"
           " · período de entrevista: T3 2026 · filtros: Género: Mujer"),
])
def test_the_tooltip_in_each_language(lang, expected):
    layer = rm.flow_layer(_flows([("SDN", "LBY", 7792, False)], base=120_000), lang, rm.FLOWS, "origin_interview",
                          rm.scope_of(WOMEN_2026Q3, lang))
    assert layer.rows["detail"][0] == expected


def test_the_period_and_the_filters_in_words():
    everything = rm.scope_of(FilterState("core"), "en")
    assert everything == rm.Scope(f"interviewed {quarter_label(QUARTERS[0], 'en')} – {quarter_label(QUARTERS[-1], 'en')}",
                                  "all respondents")
    assert rm.scope_of(FilterState("core", "2024Q1", "2024Q4"), "en").when == "interviewed in 2024"
    assert rm.scope_of(FilterState("core", "2023Q2", "2024Q1"), "en").when == "interviewed Q2 2023 – Q1 2024"
    with_incident = rm.scope_of(FilterState("core", selections={"nationality": ("SDN",)}), "en",
                                {"incident_types": ["kidnapping"]})
    assert with_incident.whom == ("filters: Nationality: Sudan; Protection incidents experienced or witnessed during"
                                  " the journey: Kidnapping")
    assert rm.count_phrase(7792, "public", "fr") == "environ 7\u202f792" and rm.count_phrase(7792, "researcher", "en") == "7,792"


def test_the_summary_says_what_a_layer_shows_and_never_how_many_were_withheld():
    rows = [("VEN", "COL", 7788, False), ("VEN", "PER", 5725, False), ("ETH", "SOM", 5021, False),
            ("AFG", "TUR", 40, False)]
    layer = rm.flow_layer(_flows(rows), "en", rm.FLOWS, "origin_interview", rm.scope_of(WOMEN_2026Q3, "en"))
    assert rm.summary_text(layer, "en") == (
        "Flows, Nationality → country of interview (interviewed in Q3 2026, filters: Gender: Woman): 4 links drawn;"
        " the largest: Venezuela → Colombia (about 7,788), Venezuela → Peru (about 5,725), Ethiopia → Somalia"
        f" (about 5,021); links with fewer than {MIN} respondents are not drawn.")
    places = rm.place_layer(_places([("LBY", 400, False), ("NER", 12, False)]), "country_of_interview", "es",
                            rm.INTERVIEWS)
    assert rm.summary_text(places, "es") == "Entrevistas: 2 lugares dibujados; los mayores: Libia (alrededor de 400), " \
                                            "Níger (alrededor de 12)."
    empty = rm.place_layer(_places([("LBY", None, True)]), "country_of_interview", "fr", rm.INCIDENTS)
    assert rm.summary_text(empty, "fr") == (f"Incidents\xa0: rien à tracer\xa0; les lieux comptant moins de {MIN} "
                                            "personnes interrogées ne sont pas tracés.")
    # Researchers see every link: nothing is said to be withheld.
    exact = rm.flow_layer(_flows([("VEN", "COL", 3, False)], tier="researcher"), "en", rm.FLOWS, "origin_interview")
    assert rm.summary_text(exact, "en") == "Flows, Nationality → country of interview: 1 link drawn; the largest: " \
                                           "Venezuela → Colombia (3)."


def test_a_withheld_or_empty_link_changes_nothing_that_is_said():
    """Whether a "<10" link exists (a withheld row in the table) or not at all, the tooltips, the summary
    and the table are the same: none of them tells a withheld count from a zero (docs/disclosure.md rule 11)."""
    shown = [("SDN", "LBY", 400, False), ("NGA", "NER", 100, False), (OTHER, "LBY", 30, False)]
    scope = rm.scope_of(WOMEN_2026Q3, "en")
    with_small = rm.flow_layer(_flows([*shown, ("ERI", "LBY", None, True)]), "en", rm.FLOWS, scope=scope)
    without = rm.flow_layer(_flows(shown), "en", rm.FLOWS, scope=scope)
    assert rm.summary_text(with_small, "en") == rm.summary_text(without, "en")
    assert rm.layer_table(with_small, "en").equals(rm.layer_table(without, "en"))
    assert with_small.rows["detail"].tolist() == without.rows["detail"].tolist()
    for place_rows in ([("LBY", 400, False), ("ERI", None, True)], [("LBY", 400, False), ("ERI", 0, False)]):
        layer = rm.place_layer(_places(place_rows), "country_of_interview", "en", rm.INTERVIEWS)
        assert rm.summary_text(layer, "en").startswith("Interviews: 1 place drawn; the largest: Libya (about 400)")


def test_the_table_behind_a_layer_is_its_drawn_rows_largest_first():
    rows = [("NGA", "NER", 100, False), ("SDN", "LBY", 400, False), ("ERI", "LBY", None, True),
            (OTHER, "LBY", 30, False), ("LBY", "LBY", 200, False)]
    layer = rm.flow_layer(_flows(rows, base=1000), "fr", rm.ROUTES)
    table = rm.layer_table(layer, "fr")
    assert table.to_dict("list") == {"Couloir": ["Soudan → Libye", "Nigeria → Niger"],
                                     "Personnes interrogées": ["400", "100"], "Part": ["40,0\xa0%", "10,0\xa0%"]}


def _x(lon: float, zoom: float) -> float:
    return (lon + 180) / 360 * 512 * 2 ** zoom


@pytest.mark.parametrize("codes", [("VEN", "COL", "MYS", "AFG", "ZAF"), ("MEX", "IDN"), ("LBY", "NER")])
def test_the_view_fits_a_phone_wide_map(codes):
    """At 390 pixels wide the map is about 350 wide: every drawn place is inside it, however far apart."""
    points = country_points()
    positions = [list(points[c]) for c in codes]
    view = rm.framed(positions)
    centre = _x(view.longitude, view.zoom)
    assert all(abs(_x(lon, view.zoom) - centre) <= rm.FRAME_WIDTH / 2 for lon, _ in positions), view.zoom
    assert view.zoom >= rm.MIN_ZOOM and math.isfinite(view.zoom)
