"""The synthetic data: deterministic, true to the codebooks, coherent the way a respondent's answers are,
and calibrated to the published 4Mi figures (../shared/reference/4mi-domain.md, sections 2 and 7).

Calibration checks run on the shipped data (default sizes, default seed) and state their tolerance;
where a published figure covers a period or a place, the check uses the same period and place.
"""

import re

import numpy as np
import pandas as pd
import pycountry
import pytest

from core.data import synthetic
from core.data.codebook import quarter_of
from core.data.engine import load_codebook

DATASETS = ("core", "covid", "returns")
CB = {name: load_codebook(name) for name in DATASETS}

# Countries of interview by region, from 4mi-domain.md section 3 (written out here, not taken from the
# generator, so that a wrong table there fails here).
REGION_OF = {
    "west_africa": {"MLI", "NER", "BFA", "GIN", "MRT"},
    "north_africa": {"LBY", "TUN", "MAR"},
    "east_africa": {"KEN", "SOM", "DJI", "ETH", "YEM"},
    "southern_africa": {"ZAF"},
    "asia": {"TUR", "MYS", "IDN", "AFG"},
    "latin_america": {"COL", "PER", "CRI", "MEX"},
    "europe": {"ITA", "GRC", "POL", "DEU", "CHE"},
}
REGION_OF_COUNTRY = {c: region for region, countries in REGION_OF.items() for c in countries}

WEST_CENTRAL_AFRICA = {"SEN", "GMB", "GNB", "GIN", "SLE", "LBR", "CIV", "MLI", "BFA", "GHA", "TGO", "BEN",
                       "NER", "NGA", "CMR", "TCD", "MRT"}
# Countries people cross on the corridors that lead to each region of interview (section 3).
TRANSIT_BY_REGION = {
    "west_africa": WEST_CENTRAL_AFRICA | {"DZA"},
    "north_africa": WEST_CENTRAL_AFRICA | {"DZA", "LBY", "SDN", "ETH", "EGY"},
    "east_africa": {"ETH", "SOM", "DJI", "KEN", "SDN", "UGA"},
    "southern_africa": {"KEN", "TZA", "MOZ", "MWI", "ZMB", "ZWE"},
    "asia": {"IRN", "PAK", "TUR", "THA", "MYS", "IND"},
    "latin_america": {"COL", "ECU", "PER", "PAN", "CRI", "NIC", "HND", "GTM", "BRA", "CHL"},
    "europe": WEST_CENTRAL_AFRICA | {"DZA", "LBY", "SDN", "ETH", "EGY", "IRN", "TUR", "POL", "HUN", "AUT",
                                     "DEU"},
}
ROUTE = ["country_of_departure", "transit_country_1", "transit_country_2", "transit_country_3",
         "country_of_interview"]
EUROPE_RETURNS = {"DEU", "GRC", "AUT", "FRA", "SWE", "GBR", "BGR", "ITA", "NLD", "BEL", "CHE"}


@pytest.fixture(scope="module")
def data():
    """The shipped datasets: default sizes, default seed."""
    return {name: synthetic.generate(name) for name in DATASETS}


@pytest.fixture(scope="module")
def core(data):
    return data["core"]


def chose(frame, var, code, dataset="core"):
    """Respondents who chose `code` in the multiple-choice `var` (False where not asked)."""
    i = CB[dataset][var].codes.index(code)
    return (frame[var].to_numpy(dtype="int64", na_value=0) >> i) & 1 == 1


def incident(frame):
    return frame["perpetrators"].notna().to_numpy()


def between(frame, start, end):
    return frame[(frame["interview_date"] >= start) & (frame["interview_date"] < end)]


def near(observed, target, tolerance, what):
    assert abs(observed - target) <= tolerance, f"{what}: {observed:.3f}, expected {target} ± {tolerance}"


# --- determinism ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", DATASETS)
def test_same_seed_same_frame(dataset):
    pd.testing.assert_frame_equal(synthetic.generate(dataset, n=3000, seed=11),
                                  synthetic.generate(dataset, n=3000, seed=11))


@pytest.mark.parametrize("dataset", DATASETS)
def test_different_seed_different_frame(dataset):
    a = synthetic.generate(dataset, n=3000, seed=11)
    b = synthetic.generate(dataset, n=3000, seed=12)
    assert not a.equals(b)
    assert (a["age"] != b["age"]).mean() > 0.5


def test_chunks_are_deterministic_and_numbered_across_chunks():
    def chunks():
        return list(synthetic.generate_chunks("core", n=2500, seed=3, chunk_rows=1000))

    first, again = chunks(), chunks()
    assert [len(c) for c in first] == [1000, 1000, 500]
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)
    ids = pd.concat(first)["respondent_id"]
    assert ids.tolist() == [f"CORE-{i:07d}" for i in range(1, 2501)]
    # Chunks are drawn from their own streams, not copies of one another.
    assert not first[0]["age"].reset_index(drop=True).equals(first[1]["age"].reset_index(drop=True))


def test_chunks_concatenate_with_the_same_types():
    parts = list(synthetic.generate_chunks("core", n=1500, seed=5, chunk_rows=700))
    whole = pd.concat(parts, ignore_index=True)
    assert list(whole.dtypes) == list(parts[0].dtypes)


def test_default_sizes(data):
    assert {name: len(frame) for name, frame in data.items()} == {"core": 120_000, "covid": 23_000,
                                                                  "returns": 2_046}


def test_every_codebook_question_is_modelled():
    for dataset in DATASETS:
        assert synthetic.unmodelled_variables(dataset) == []


# --- conformity with the codebooks -----------------------------------------------------------------

@pytest.mark.parametrize("dataset", DATASETS)
def test_columns_follow_the_codebook(data, dataset):
    assert list(data[dataset].columns) == list(CB[dataset].variables)


@pytest.mark.parametrize("dataset", DATASETS)
def test_values_have_the_storage_types_and_codes_of_the_codebook(data, dataset):
    frame, cb = data[dataset], CB[dataset]
    for var in cb.variables.values():
        col = frame[var.name]
        if var.type == "id":
            assert col.dtype == "string" and col.is_unique and col.notna().all()
            assert col.str.fullmatch(r"[A-Z]+-\d{7,}").all()
        elif var.type == "single":
            assert isinstance(col.dtype, pd.CategoricalDtype), var.name
            assert list(col.cat.categories) == var.codes, var.name
        elif var.type == "multiple":
            assert col.dtype == "Int64", var.name
            asked = col.dropna()
            assert ((asked >= 1) & (asked < 2 ** len(var.codes))).all(), var.name
        elif var.type == "number":
            assert col.dtype in ("Int64", "Float64"), var.name
            values = col.dropna()
            if var.min is not None:
                assert (values >= var.min).all(), var.name
            if var.max is not None:
                assert (values <= var.max).all(), var.name
        elif var.type == "date":
            assert pd.api.types.is_datetime64_dtype(col), var.name
            assert (col == col.dt.normalize()).all()
            assert col.min().date() >= cb.period_start and col.max().date() <= cb.period_end
        elif var.type == "country":
            assert col.dtype == "string", var.name
            for code in col.dropna().unique():
                assert pycountry.countries.get(alpha_3=code) is not None, (var.name, code)
        elif var.type == "quarter":
            assert col.dtype == "string" and col.notna().all()
            assert set(col.unique()) <= set(cb.quarters())
        elif var.type == "year":
            assert col.dtype == "string" and col.notna().all()
            assert set(col.unique()) <= set(cb.years())


@pytest.mark.parametrize("dataset", DATASETS)
def test_quarter_matches_the_date(data, dataset):
    frame = data[dataset]
    expected = [quarter_of(d) for d in frame["interview_date"].dt.date]
    assert frame["interview_quarter"].tolist() == expected
    assert frame["interview_year"].tolist() == [str(d.year) for d in frame["interview_date"].dt.date]


@pytest.mark.parametrize("dataset", DATASETS)
def test_age_band_matches_age(data, dataset):
    frame = data[dataset]
    bands = pd.cut(frame["age"].astype(int), [17, 24, 34, 44, 54, 200],
                   labels=["18_24", "25_34", "35_44", "45_54", "55_plus"]).astype(str)
    assert (bands == frame["age_band"].astype(str)).all()
    assert frame["age"].min() >= 18


@pytest.mark.parametrize("dataset", DATASETS)
def test_region_matches_the_country_of_interview(data, dataset):
    frame = data[dataset]
    expected = frame["country_of_interview"].map(REGION_OF_COUNTRY)
    assert expected.notna().all(), set(frame["country_of_interview"][expected.isna()])
    assert (expected == frame["region_of_interview"].astype(str)).all()


def test_towns_are_in_the_country_of_interview(core):
    pairs = core.groupby(["country_of_interview", "interview_town"], observed=True).size().index
    for country, town in pairs:
        assert town in synthetic.TOWNS[country], (country, town)


def test_respondent_ids_follow_interview_dates(core):
    assert core["interview_date"].is_monotonic_increasing


# --- fieldwork coverage -------------------------------------------------------------------------------

def test_core_fieldwork_pauses_during_the_covid_module(core):
    assert not ((core["interview_date"] >= "2020-04-01") & (core["interview_date"] <= "2021-01-31")).any()


@pytest.mark.parametrize("countries, first, last", [
    ({"COL", "PER"}, "2019-09-01", None),           # Latin America hub from September 2019
    ({"ITA", "GRC"}, None, "2022-03-31"),           # Italy and Greece until early 2022
    ({"ZAF"}, "2022-10-01", None),                  # South Africa pilot in Q4 2022
    ({"MRT"}, "2024-07-01", None),                  # Atlantic route, Mauritania
    ({"LBY"}, "2017-05-01", None),                  # Libya since May 2017
])
def test_countries_are_covered_when_4mi_was_there(core, countries, first, last):
    dates = core.loc[core["country_of_interview"].isin(countries), "interview_date"]
    assert len(dates) > 0
    if first:
        assert dates.min() >= pd.Timestamp(first)
    if last:
        assert dates.max() <= pd.Timestamp(last)


def test_covid_module_covers_africa_asia_and_latin_america_by_phone(data):
    frame = data["covid"]
    assert set(frame["region_of_interview"].astype(str)) == {"west_africa", "north_africa", "east_africa", "asia",
                                                              "latin_america"}
    assert frame["country_of_interview"].nunique() == 13
    assert (frame["interview_mode"] == "phone").mean() > 0.85


def test_returnees_are_afghans_interviewed_in_afghanistan_in_2021(data):
    frame = data["returns"]
    assert (frame["country_of_interview"] == "AFG").all() and (frame["nationality"] == "AFG").all()
    assert (frame["region_of_interview"] == "asia").all()
    assert (frame["interview_date"].dt.year == 2021).all()
    assert (frame["country_returned_from"] != "AFG").all()


# --- routes --------------------------------------------------------------------------------------------

def test_transit_countries_are_ordered_distinct_and_on_the_corridor(core):
    route = core[ROUTE].astype(object).where(core[ROUTE].notna(), None).to_numpy()
    t = core[["transit_country_1", "transit_country_2", "transit_country_3"]].notna().to_numpy()
    assert not (t[:, 1] & ~t[:, 0]).any() and not (t[:, 2] & ~t[:, 1]).any()
    for row in map(tuple, np.unique(route.astype(str), axis=0)):
        stops = [c for c in row if c != "None"]
        assert len(stops) == len(set(stops)), row
    regions = core["region_of_interview"].astype(str).to_numpy()
    for column in ["transit_country_1", "transit_country_2", "transit_country_3"]:
        values = core[column].to_numpy(dtype=object, na_value=None)
        for region in REGION_OF:
            seen = {v for v in values[regions == region] if v is not None}
            assert seen <= TRANSIT_BY_REGION[region], (region, column, seen - TRANSIT_BY_REGION[region])


def test_routes_are_the_corridors_of_the_reference(core):
    def rows(nationality, interview):
        return core[(core["nationality"] == nationality) & core["country_of_interview"].isin(interview)]

    # Afghanistan -> Iran -> Turkey (-> Greece)
    afghans = rows("AFG", ["TUR", "GRC"])
    assert ((afghans["country_of_departure"] == "IRN") | (afghans["transit_country_1"] == "IRN")).all()
    assert (afghans.loc[afghans["country_of_interview"] == "GRC", ROUTE[1:4]] == "TUR").any(axis=1).all()
    # Eastern route: Ethiopians reach Yemen through Djibouti or Somalia, and are heading for Saudi Arabia.
    eastern = rows("ETH", ["YEM"])
    assert eastern["transit_country_1"].isin(["DJI", "SOM"]).all()
    assert (eastern["intended_destination"] == "SAU").mean() > 0.75
    # Venezuela -> Colombia -> Ecuador -> Peru.
    andean = rows("VEN", ["PER"])
    assert ((andean["transit_country_1"] == "COL") & (andean["transit_country_2"] == "ECU")).all()
    # Central Mediterranean: West Africans in Italy came through Libya.
    cmed = core[core["nationality"].isin(WEST_CENTRAL_AFRICA) & (core["country_of_interview"] == "ITA")]
    assert len(cmed) > 0 and (cmed[ROUTE[1:4]] == "LBY").any(axis=1).all()
    # Southern route: Ethiopians in South Africa came through Kenya, Tanzania and Mozambique.
    southern = rows("ETH", ["ZAF"])
    assert (southern[ROUTE[1:4]].astype(str).agg(">".join, axis=1) == "KEN>TZA>MOZ").all()
    # Northbound: those interviewed in Mexico from South America crossed Panama.
    north = core[core["nationality"].isin(["VEN", "ECU"]) & (core["country_of_interview"] == "MEX")]
    assert (north[ROUTE[1:4]] == "PAN").any(axis=1).all()
    assert (north["intended_destination"] == "USA").mean() > 0.75


def test_every_route_is_a_route_of_the_generator(core):
    known = set()
    for site, routes in synthetic.CORE_ROUTES.items():
        for entry in routes:
            nationality, departure, transits = synthetic._parse_route(entry[0], site)
            known.add((nationality, departure, *transits, *[None] * (3 - len(transits)), site))
    seen = core[["nationality", *ROUTE]].astype(object)
    seen = {tuple(None if pd.isna(v) else v for v in row) for row in seen.drop_duplicates().to_numpy()}
    assert seen <= known


def test_incident_country_is_on_the_route(core):
    had = incident(core)
    assert (core["incident_country"].notna().to_numpy() == had).all()
    on_route = np.zeros(len(core), bool)
    for column in ROUTE:
        on_route |= (core["incident_country"] == core[column]).fillna(False).to_numpy()
    assert on_route[had].all()


# --- skip logic: who was asked what -------------------------------------------------------------------------

def test_smuggling_details_are_asked_of_smuggler_users_only(core):
    used = (core["used_smuggler"] == "yes").to_numpy()
    for name in ("smuggler_contact", "smuggler_services", "amount_paid_usd", "payment_timing",
                 "smuggler_deceived", "smuggler_perception"):
        assert (core[name].notna().to_numpy() == used).all(), name


def test_incident_details_are_asked_of_those_with_an_incident(core):
    none = chose(core, "incident_types", "none")
    had = incident(core)
    assert (none == ~had).all()
    assert (core.loc[none, "incident_types"] == 1 << CB["core"]["incident_types"].codes.index("none")).all()
    for name in ("incident_country", "incident_location_type", "perpetrators", "incident_reported"):
        assert (core[name].notna().to_numpy() == had).all(), name


def test_answers_that_depend_on_each_other_agree(core):
    cb = CB["core"]
    drivers = core["drivers"].to_numpy(dtype="int64")
    main = core["main_driver"].cat.codes.to_numpy()
    assert ((drivers >> main) & 1 == 1).all()  # the main reason is one of the reasons given
    informed = ((core["info_before_departure"] == "yes") | (core["info_during_journey"] == "yes")).to_numpy()
    for name in ("info_sources", "info_channels", "most_reliable_source"):
        assert (core[name].notna().to_numpy() == informed).all(), name
    sources = core.loc[informed, "info_sources"].to_numpy(dtype="int64")
    reliable = core.loc[informed, "most_reliable_source"].cat.codes.to_numpy()
    assert ((sources >> reliable) & 1 == 1).all()  # the most reliable source is one that was used
    assisted = (core["assistance_received"] == "yes").to_numpy()
    for name in ("assistance_types", "assistance_providers"):
        assert (core[name].notna().to_numpy() == assisted).all(), name
    needs = core["needs"].to_numpy(dtype="int64")
    urgent = core["most_urgent_need"].cat.codes.to_numpy()
    named = urgent >= 0
    assert (named == ~chose(core, "needs", "none")).all()
    assert ((needs[named] >> urgent[named]) & 1 == 1).all()
    with_children = chose(core, "travelling_with", "children")
    assert (core.loc[with_children, "has_children"] == "yes").all()
    alone = chose(core, "travelling_with", "alone")
    assert (core.loc[alone, "travelling_with"] == 1 << cb["travelling_with"].codes.index("alone")).all()
    sea = core["country_of_interview"].isin(["ITA", "GRC", "YEM"]).to_numpy()
    assert chose(core, "transport_modes", "boat")[sea].all()  # reached by sea
    # Those already at their intended destination mostly plan to stay.
    there = (core["intended_destination"] == core["country_of_interview"]).to_numpy()
    assert (core.loc[there, "current_intention"] == "stay").mean() > 0.7
    assert (core.loc[~there, "current_intention"] == "stay").mean() < 0.2


def test_covid_skip_logic(data):
    frame = data["covid"]
    phase_2 = (frame["interview_date"] >= "2020-07-01").to_numpy()
    for name in ("covid_driver", "migration_plans_change", "border_crossing_harder", "need_smugglers_more",
                 "smuggler_access_harder", "smuggler_fees_change", "smugglers_riskier_routes"):
        assert (frame[name].notna().to_numpy() == phase_2).all(), name
    measures = (frame["protective_measures"] == "yes").to_numpy()
    assert (frame["measures_taken"].notna().to_numpy() == measures).all()
    assert (frame["no_measures_reasons"].notna().to_numpy() == ~measures).all()
    lost = chose(frame, "covid_impacts", "income_loss", "covid")
    assert (frame.loc[lost, "current_income"].isin(["no_income", "less"])).all()


def test_returns_skip_logic(data):
    frame = data["returns"]
    leaving = frame["remigration_intention"].isin(["within_year", "later"]).to_numpy()
    for name in ("remigration_destination", "remigration_reasons", "would_use_smuggler"):
        assert (frame[name].notna().to_numpy() == leaving).all(), name
    assert (frame["amount_paid_usd"].notna() == (frame["used_smuggler"] == "yes")).all()
    deported = (frame["return_type"] == "deported").to_numpy()
    assert (chose(frame, "return_reasons", "deported", "returns") == deported).all()


# --- relations the reference describes -------------------------------------------------------------------------

def test_smuggler_users_report_more_incidents(core):
    sahel_libya = core["country_of_interview"].isin(["LBY", "NER", "MLI"]).to_numpy()
    used = (core["used_smuggler"] == "yes").to_numpy()
    had = incident(core)
    assert had[sahel_libya & used].mean() > had[sahel_libya & ~used].mean() + 0.2
    # ... and more so the more smuggler services they used (section 2.5, part 3).
    services = np.bitwise_count(core["smuggler_services"].to_numpy(dtype="int64", na_value=0))
    assert had[used & (services >= 5)].mean() > had[used & (services <= 2)].mean()


def test_women_report_more_sexual_violence(core):
    had = incident(core)
    sexual = chose(core, "incident_types", "sexual_violence")
    women = (core["gender"] == "woman").to_numpy()
    men = (core["gender"] == "man").to_numpy()
    assert sexual[had & women].mean() > 2.5 * sexual[had & men].mean()


def test_fees_differ_by_corridor(core):
    used = core[core["used_smuggler"] == "yes"]
    median = used.groupby("country_of_interview")["amount_paid_usd"].median()
    assert median["GRC"] > median["TUR"] > median["YEM"] and median["ITA"] > median["LBY"] > median["COL"]


# --- calibration to published figures (tolerances in points of percentage unless said) --------------------

def test_libya_drivers_2018(core):
    # North Africa snapshot, Libya 2018 data: economic 93%, lack of rights 13%, violence 6%, environment
    # ~1%, 42% citing several factors. Tolerance ±4 (±2 for environment, ±6 for several factors).
    libya = core[(core["country_of_interview"] == "LBY") & (core["interview_date"].dt.year == 2018)]
    near(chose(libya, "drivers", "economic").mean(), 0.93, 0.04, "economic")
    near(chose(libya, "drivers", "lack_of_rights").mean(), 0.13, 0.04, "lack of rights")
    near(chose(libya, "drivers", "violence_insecurity").mean(), 0.06, 0.04, "violence")
    near(chose(libya, "drivers", "environmental").mean(), 0.01, 0.02, "environment")
    several = sum(chose(libya, "drivers", c).astype(int) for c in CB["core"]["drivers"].codes) >= 2
    near(several.mean(), 0.42, 0.06, "several factors")


def test_gender_splits(core, data):
    # Libya snapshots: 54-56% men. LAC Venezuelan sample: ~60% women, mean age 32.8. Returnees: 84% men.
    libya = core[core["country_of_interview"] == "LBY"]
    near((libya["gender"] == "man").mean(), 0.55, 0.04, "men in Libya")
    venezuelans = core[core["country_of_interview"].isin(["COL", "PER"]) & (core["nationality"] == "VEN")]
    near((venezuelans["gender"] == "woman").mean(), 0.60, 0.04, "women among Venezuelans")
    near(venezuelans["age"].mean(), 32.8, 1.0, "mean age of Venezuelans (years)")
    near((data["returns"]["gender"] == "man").mean(), 0.84, 0.03, "men among returnees")


def test_smuggler_use_2017_2019(core):
    # ">two-thirds ... in Libya and half of those surveyed in Burkina Faso, Mali and Niger between 2017 and
    # 2019 used a smuggler". Libya: over 2/3 (and not implausibly more); Sahel: 50% ± 4.
    early = core[core["interview_date"] < "2020-01-01"]
    libya = (early.loc[early["country_of_interview"] == "LBY", "used_smuggler"] == "yes").mean()
    assert 2 / 3 < libya < 0.85, libya
    sahel = early.loc[early["country_of_interview"].isin(["BFA", "MLI", "NER"]), "used_smuggler"]
    near((sahel == "yes").mean(), 0.50, 0.04, "smuggler use in the Sahel")


def test_protection_incidents_libya_niger_mali(core):
    # "Fraught with risk" (Libya, Niger, Mali, June 2017 - February 2018): 68% encountered at least one
    # incident (± 4); incidents in Libya were 44% of all (54% of risks in the 2021 series): 0.40 - 0.56.
    window = between(core, "2017-06-01", "2018-03-01")
    window = window[window["country_of_interview"].isin(["LBY", "NER", "MLI"])]
    near(incident(window).mean(), 0.68, 0.04, "at least one incident")
    in_libya = (window.loc[incident(window), "incident_country"] == "LBY").mean()
    assert 0.40 <= in_libya <= 0.56, in_libya


def test_perpetrator_shares_west_and_north_africa(core):
    # MMC/UNODC 2021 (Libya, Niger, Mali, Tunisia): criminals 24%, armed groups 22%, smugglers 18%, border
    # guards/immigration 17%, military/police 16% of perpetrator mentions. ± 3 each.
    wn = core[core["region_of_interview"].isin(["west_africa", "north_africa"])]
    counts = {code: chose(wn, "perpetrators", code).sum() for code in CB["core"]["perpetrators"].codes}
    total = sum(counts.values())
    for code, target in (("criminal_gangs", 0.24), ("armed_groups", 0.22), ("smugglers", 0.18),
                         ("border_officials", 0.17), ("military_police", 0.16)):
        near(counts[code] / total, target, 0.03, f"share of mentions, {code}")


def test_smugglers_blamed_more_when_money_ran_out(core):
    # Same series, part 2: 57% of mentions of smugglers as perpetrators came from people whose financing
    # was insufficient, 33% from people with enough (± 5).
    wn = core[core["region_of_interview"].isin(["west_africa", "north_africa"])]
    blamed = wn.loc[chose(wn, "perpetrators", "smugglers"), "funds_sufficient"]
    near((blamed == "no").mean(), 0.57, 0.05, "insufficient funds")
    near((blamed == "yes").mean(), 0.33, 0.05, "enough funds")


def test_dangerous_places_named_by_smuggler_users(core):
    # Same series: 73% of smuggler users named at least one dangerous place, 41% of non-users. Checked on
    # West and North Africa from 2021 (the survey's period and places), ± 4.
    recent = core[core["region_of_interview"].isin(["west_africa", "north_africa"])
                  & (core["interview_date"] >= "2021-01-01")]
    used = recent["used_smuggler"] == "yes"
    near((recent.loc[used, "named_dangerous_location"] == "yes").mean(), 0.73, 0.04, "users")
    near((recent.loc[~used, "named_dangerous_location"] == "yes").mean(), 0.41, 0.04, "non-users")


def test_smugglers_as_influencers(core):
    # Mixed Migration Review 2024: smugglers influenced the decision for 4% globally; 0% in Latin America,
    # 2% in Asia, 5% in Eastern/Southern Africa, 7% in West/North Africa; 15% of Nigerians. ± 1.5 (± 3 for
    # Nigerians).
    influenced = pd.Series(chose(core, "decision_influence", "smugglers"), index=core.index)
    region = core["region_of_interview"].astype(str)
    near(influenced.mean(), 0.04, 0.015, "global")
    near(influenced[region.isin(["west_africa", "north_africa"])].mean(), 0.07, 0.015, "West/North Africa")
    near(influenced[region.isin(["east_africa", "southern_africa"])].mean(), 0.05, 0.015, "East/Southern Africa")
    near(influenced[region == "asia"].mean(), 0.02, 0.015, "Asia")
    assert influenced[region == "latin_america"].mean() < 0.01
    near(influenced[core["nationality"] == "NGA"].mean(), 0.15, 0.03, "Nigerians")


def test_information_among_afghans(core):
    # Afghans in Turkey: 47% had information before leaving (± 4). Afghans in Greece: over a third had
    # none before or during; most reliable source family/friends abroad 30%, smugglers 22%, other migrants
    # 12%; social media/messaging apps 87%. The generator gives those Greece figures to Afghans along the
    # whole route, so they are checked on Afghans in Turkey and Greece together (Greece alone is ~600
    # people), ± 4.
    afghans = core[core["nationality"] == "AFG"]
    in_turkey = afghans[afghans["country_of_interview"] == "TUR"]
    near((in_turkey["info_before_departure"] == "yes").mean(), 0.47, 0.04, "information before, Turkey")
    route = afghans[afghans["country_of_interview"].isin(["TUR", "GRC"])]
    none = (route["info_before_departure"] == "no") & (route["info_during_journey"] == "no")
    assert 1 / 3 < none.mean() < 0.42, none.mean()
    informed = route[route["most_reliable_source"].notna()]
    reliable = informed["most_reliable_source"].value_counts(normalize=True)
    near(reliable["family_friends_abroad"], 0.30, 0.04, "reliable: family/friends abroad")
    near(reliable["smugglers"], 0.22, 0.04, "reliable: smugglers")
    near(reliable["other_migrants"], 0.12, 0.04, "reliable: other migrants")
    assert reliable["authorities"] <= 0.02
    near(chose(informed, "info_channels", "social_media_apps").mean(), 0.87, 0.04, "social media")
    ngo = chose(informed, "info_sources", "ngo_un").mean()
    assert 0.08 <= ngo <= 0.17, ngo  # NGOs/UN used by 10-15%


def test_zaranj_istanbul_fee_rises(core):
    # Zaranj -> Istanbul rose from USD 1,500 (Q1 2020) to 2,200 (August 2021). Median paid by Afghans
    # smuggled Afghanistan -> Iran -> Turkey, ± 10%.
    route = core[(core["nationality"] == "AFG") & (core["country_of_departure"] == "AFG")
                 & (core["transit_country_1"] == "IRN") & core["transit_country_2"].isna()
                 & (core["country_of_interview"] == "TUR") & (core["used_smuggler"] == "yes")]
    q1_2020 = route.loc[route["interview_quarter"] == "2020Q1", "amount_paid_usd"].median()
    q3_2021 = route.loc[route["interview_quarter"] == "2021Q3", "amount_paid_usd"].median()
    assert abs(q1_2020 / 1500 - 1) <= 0.10, q1_2020
    assert abs(q3_2021 / 2200 - 1) <= 0.10, q3_2021


def test_assistance_in_latin_america(core):
    # LAC April 2020 (Colombia and Peru): 47% received assistance along the route (± 4).
    venezuelans = core[core["country_of_interview"].isin(["COL", "PER"]) & (core["nationality"] == "VEN")]
    near((venezuelans["assistance_received"] == "yes").mean(), 0.47, 0.04, "assistance")


def test_covid_figures(data):
    # One year into the pandemic (21,449 respondents): reduced access to work 63%, no access to health care
    # 39% (general) and 45% (Covid-19); barriers: money 44%, documents 23%, information 22%, discrimination
    # 19%. Global update #4: loss of income 57%, 29% with no income; need for assistance 86%, receiving 20%;
    # 18% not taking measures in West Africa. ± 3.
    frame = data["covid"]
    for code, target in (("reduced_work", 0.63), ("income_loss", 0.57)):
        near(chose(frame, "covid_impacts", code, "covid").mean(), target, 0.03, code)
    near((frame["health_access_general"] == "no").mean(), 0.39, 0.03, "no health care, general")
    near((frame["health_access_covid"] == "no").mean(), 0.45, 0.03, "no health care, Covid-19")
    for code, target in (("lack_of_money", 0.44), ("no_documents", 0.23), ("no_information", 0.22),
                         ("discrimination", 0.19)):
        near(chose(frame, "health_barriers", code, "covid").mean(), target, 0.03, code)
    near((frame["current_income"] == "no_income").mean(), 0.29, 0.03, "no income")
    near((frame["assistance_needed"] == "yes").mean(), 0.86, 0.03, "needs assistance")
    near((frame["assistance_received"] == "yes").mean(), 0.20, 0.03, "receives assistance")
    west = frame[frame["region_of_interview"] == "west_africa"]
    near((west["protective_measures"] == "no").mean(), 0.18, 0.03, "no measures, West Africa")
    # 77% in Malaysia believed they had access to health care (± 5).
    malaysia = frame[frame["country_of_interview"] == "MYS"]
    near((malaysia["health_access_general"] == "yes").mean(), 0.77, 0.05, "health access, Malaysia")


def test_covid_smuggling_figures(data):
    # Thematic update #1 (Sept 2020): borders harder to cross 47%, more need for smugglers 37% (West Africa
    # 44%, Latin America 46%), smugglers harder to reach 43%, fees up for about half; over 70% in Niger,
    # Malaysia and Tunisia said routes were more dangerous. ± 3 overall, ± 4 by region.
    frame = data["covid"]
    asked = frame[frame["border_crossing_harder"].notna()]
    near((asked["border_crossing_harder"] == "yes").mean(), 0.47, 0.03, "borders harder")
    near((asked["need_smugglers_more"] == "yes").mean(), 0.37, 0.03, "need smugglers more")
    for region, target in (("west_africa", 0.44), ("latin_america", 0.46)):
        in_region = asked[asked["region_of_interview"] == region]
        near((in_region["need_smugglers_more"] == "yes").mean(), target, 0.04, f"need smugglers, {region}")
    near((asked["smuggler_access_harder"] == "yes").mean(), 0.43, 0.03, "smugglers harder to reach")
    near((asked["smuggler_fees_change"] == "increased").mean(), 0.50, 0.04, "fees increased")
    riskier = asked[asked["country_of_interview"].isin(["NER", "MYS", "TUN"])]
    assert (riskier["smugglers_riskier_routes"] == "yes").mean() > 0.70


def test_returns_profile(data):
    # Spotlight on Afghan returnees (2021): returned from Iran 61%, Turkey 19%, Pakistan 11%, Europe 7%,
    # other 2%; Hazara 27%, Tajik 25%, Pashtun 25%; rural 58%; secondary 34%, primary 33%; 62% not working
    # before migrating; mean age 29; 540 of 706 interviews by phone. n = 2,046, so ± 4 (one point of
    # sampling error is 1.1 here), ± 1 year for age. The country returned from is drawn by quota, so it
    # matches to ± 0.5.
    frame = data["returns"]
    origin = frame["country_returned_from"]
    near((origin == "IRN").mean(), 0.61, 0.005, "Iran")
    near((origin == "TUR").mean(), 0.19, 0.005, "Turkey")
    near((origin == "PAK").mean(), 0.11, 0.005, "Pakistan")
    near(origin.isin(EUROPE_RETURNS).mean(), 0.07, 0.005, "Europe")
    near((~origin.isin(EUROPE_RETURNS | {"IRN", "TUR", "PAK"})).mean(), 0.02, 0.005, "other")
    for code, target in (("hazara", 0.27), ("tajik", 0.25), ("pashtun", 0.25)):
        near((frame["ethnicity"] == code).mean(), target, 0.04, code)
    near((frame["area_of_origin"] == "rural").mean(), 0.58, 0.04, "rural")
    near((frame["education"] == "secondary").mean(), 0.34, 0.04, "secondary")
    near((frame["education"] == "primary").mean(), 0.33, 0.04, "primary")
    not_working = frame["employment_before"].isin(["unemployed", "student", "homemaker"]).mean()
    near(not_working, 0.62, 0.04, "not working before migrating")
    near(frame["age"].mean(), 29, 1, "mean age (years)")
    near((frame["interview_mode"] == "phone").mean(), 540 / 706, 0.04, "phone interviews")


def test_ids_are_prefixed_by_dataset(data):
    for name, frame in data.items():
        prefix = {"core": "CORE", "covid": "COVID", "returns": "RET"}[name]
        assert frame["respondent_id"].iloc[0] == f"{prefix}-0000001"
        assert re.fullmatch(rf"{prefix}-\d{{7}}", frame["respondent_id"].iloc[-1])
