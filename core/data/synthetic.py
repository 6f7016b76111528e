"""Deterministic synthetic survey data, shaped after the published 4Mi topics and figures.

`generate(dataset, n, seed)` returns one DataFrame; `generate_chunks` yields the same rows in chunks of
`CHUNK_ROWS`, so that ten million respondents can be written to storage in bounded memory. Every chunk
draws from its own generator seeded by (seed, dataset, chunk index): the rows of a given (seed, n) are
always the same, and no chunk depends on another.

Columns follow the codebook, in its order, with the storage types the engine reads:
id and country -> pandas "string" (ISO3 for countries); single -> Categorical of the codebook codes;
multiple -> Int64 bit mask (bit i = i-th choice); number -> Int64; date -> datetime64 at midnight;
quarter -> "2019Q3" string; year -> "2019" string. Missing (<NA>) means "not asked".

The answers hang together the way a respondent's would: a route is drawn whole (nationality, country of
departure, ordered transit countries, country of interview) from the corridors that 4Mi covers, and
everything else is drawn conditionally on it and on earlier answers. The figures this is calibrated
to, with their sources, are in ../shared/reference/4mi-domain.md, section 7; tests/unit/test_synthetic.py
checks them. Nothing here is real data: it must always be shown as synthetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.data.codebook import Codebook, Variable, builtin_codebook

DEFAULT_SIZES = {"core": 120_000, "covid": 23_000, "returns": 2_046}
DEFAULT_SEED = 4141
CHUNK_ROWS = 250_000  # rows per chunk: bounded memory, and faster than larger chunks (cache)
# Part of every chunk's seed, so that the datasets do not share random streams.
_DATASET_KEYS = {"core": 1, "covid": 2, "returns": 3}
_ID_PREFIX = {"core": "CORE", "covid": "COVID", "returns": "RET"}

# =====================================================================================================
# Where and when people were interviewed
# =====================================================================================================

# country of interview: (region, first month, last month or None, interviews a month, share of women).
# Coverage follows 4mi-domain.md section 3: Libya from May 2017, Latin America from September 2019,
# Italy and Greece until early 2022, Ukrainians in Poland/Germany/Switzerland, South Africa from Q4 2022,
# Mauritania (Atlantic route) from mid-2024. Women: 45% in Libya, 60% among Venezuelans (section 7).
CORE_SITES = {
    "LBY": ("north_africa", "2017-05", None, 250, 0.45),
    "TUN": ("north_africa", "2020-01", None, 80, 0.35),
    "MAR": ("north_africa", "2022-01", None, 60, 0.30),
    "NER": ("west_africa", "2017-01", None, 120, 0.22),
    "MLI": ("west_africa", "2017-01", None, 120, 0.25),
    "BFA": ("west_africa", "2017-01", None, 50, 0.30),
    "GIN": ("west_africa", "2021-02", None, 30, 0.35),
    "MRT": ("west_africa", "2024-07", None, 100, 0.20),
    "KEN": ("east_africa", "2017-01", None, 60, 0.40),
    "SOM": ("east_africa", "2017-01", None, 60, 0.30),
    "DJI": ("east_africa", "2017-01", None, 50, 0.25),
    "ETH": ("east_africa", "2017-01", None, 50, 0.45),
    "YEM": ("east_africa", "2017-01", None, 40, 0.20),
    "ZAF": ("southern_africa", "2022-10", None, 60, 0.30),
    "TUR": ("asia", "2019-07", None, 100, 0.20),
    "MYS": ("asia", "2019-01", None, 80, 0.38),
    "IDN": ("asia", "2018-07", None, 50, 0.35),
    "COL": ("latin_america", "2019-09", None, 150, 0.60),
    "PER": ("latin_america", "2019-09", None, 100, 0.60),
    "CRI": ("latin_america", "2021-07", None, 60, 0.45),
    "MEX": ("latin_america", "2021-07", None, 80, 0.42),
    "ITA": ("europe", "2017-01", "2022-03", 80, 0.25),
    "GRC": ("europe", "2019-11", "2022-03", 60, 0.30),
    "POL": ("europe", "2022-06", "2024-06", 50, 0.80),
    "DEU": ("europe", "2022-06", "2024-06", 40, 0.75),
    "CHE": ("europe", "2022-06", "2024-06", 30, 0.75),
}
# Core fieldwork stopped in March 2020 and resumed in February 2021; the Covid-19 module ran in between.
CORE_PAUSE = ("2020-03-16", "2021-01-31")

TOWNS = {
    "LBY": {"tripoli": 45, "benghazi": 15, "sabha": 20, "misrata": 10, "zawiya": 10},
    "TUN": {"tunis": 40, "sfax": 30, "medenine": 20, "zarzis": 10},
    "MAR": {"rabat": 35, "casablanca": 30, "oujda": 20, "tangier": 15},
    "NER": {"niamey": 40, "agadez": 50, "zinder": 10},
    "MLI": {"bamako": 50, "gao": 30, "kayes": 20},
    "BFA": {"ouagadougou": 65, "bobo_dioulasso": 35},
    "GIN": {"conakry": 70, "kankan": 30},
    "MRT": {"nouakchott": 60, "nouadhibou": 40},
    "KEN": {"nairobi": 60, "moyale": 25, "garissa": 15},
    "SOM": {"bosaso": 50, "hargeisa": 35, "mogadishu": 15},
    "DJI": {"djibouti_city": 45, "obock": 55},
    "ETH": {"addis_ababa": 50, "shire": 35, "jijiga": 15},
    "YEM": {"aden": 50, "lahj": 30, "mukalla": 20},
    "ZAF": {"johannesburg": 45, "cape_town": 25, "durban": 15, "musina": 15},
    "TUR": {"istanbul": 60, "van": 30, "izmir": 10},
    "MYS": {"kuala_lumpur": 65, "penang": 20, "johor_bahru": 15},
    "IDN": {"jakarta": 45, "medan": 30, "banda_aceh": 25},
    "COL": {"bogota": 35, "cucuta": 25, "medellin": 15, "cali": 12, "necocli": 13},
    "PER": {"lima": 75, "tumbes": 15, "trujillo": 10},
    "CRI": {"san_jose": 60, "paso_canoas": 40},
    "MEX": {"tapachula": 40, "mexico_city": 30, "monterrey": 15, "ciudad_juarez": 15},
    "ITA": {"rome": 35, "palermo": 30, "milan": 20, "ventimiglia": 15},
    "GRC": {"athens": 60, "lesbos": 25, "thessaloniki": 15},
    "POL": {"warsaw": 50, "krakow": 30, "przemysl": 20},
    "DEU": {"berlin": 60, "munich": 40},
    "CHE": {"geneva": 35, "zurich": 45, "basel": 20},
}

# Routes by country of interview: (route, weight, corridor, destinations[, first month[, last month]]).
# A route reads "NAT>T1>T2>T3>SITE": nationality (= country of departure), up to three main transit
# countries in order, country of interview. "MMR/BGD" means Myanmar nationals who set off from
# Bangladesh. Weights are relative within the country of interview (Libya 2018: ~70% West, ~20% East,
# ~10% Central Africans, 4mi-domain.md section 2.6).
CORE_ROUTES = {
    "LBY": [
        ("NGA>NER>LBY", 14, "sahel_north", "eu_libya"),
        ("GHA>BFA>NER>LBY", 6, "sahel_north", "eu_libya"),
        ("CIV>BFA>NER>LBY", 5, "sahel_north", "eu_libya"),
        ("CIV>MLI>DZA>LBY", 3, "sahel_north", "eu_libya"),
        ("MLI>DZA>LBY", 4, "sahel_north", "eu_libya"),
        ("MLI>NER>LBY", 2, "sahel_north", "eu_libya"),
        ("SEN>MLI>NER>LBY", 4, "sahel_north", "eu_libya"),
        ("GIN>MLI>NER>LBY", 5, "sahel_north", "eu_libya"),
        ("GMB>SEN>MLI>NER>LBY", 3, "sahel_north", "eu_libya"),
        ("BFA>NER>LBY", 3, "sahel_north", "eu_libya"),
        ("NER>LBY", 6, "libya_labour", "libya_work"),
        ("CMR>NGA>NER>LBY", 4, "sahel_north", "eu_libya"),
        ("TCD>LBY", 4, "libya_labour", "libya_work"),
        ("SDN>LBY", 7, "horn_north", "horn_europe"),
        ("SDN>TCD>LBY", 4, "horn_north", "horn_europe", "2023-05"),
        ("ERI>SDN>LBY", 5, "horn_north", "horn_europe"),
        ("ETH>SDN>LBY", 3, "horn_north", "horn_europe"),
        ("SOM>ETH>SDN>LBY", 3, "horn_north", "horn_europe"),
        ("EGY>LBY", 2, "libya_labour", "libya_work"),
        ("BGD>EGY>LBY", 1, "bgd_libya", "bgd_italy"),
    ],
    "TUN": [
        ("CIV>MLI>DZA>TUN", 6, "sahel_north", "eu_tunisia"),
        ("GIN>MLI>DZA>TUN", 5, "sahel_north", "eu_tunisia"),
        ("CMR>NGA>NER>DZA>TUN", 3, "sahel_north", "eu_tunisia"),
        ("BFA>NER>DZA>TUN", 2, "sahel_north", "eu_tunisia"),
        ("MLI>DZA>TUN", 2, "sahel_north", "eu_tunisia"),
        ("NGA>NER>LBY>TUN", 2, "sahel_north", "eu_tunisia"),
        ("SDN>LBY>TUN", 5, "horn_north", "horn_europe"),
        ("SDN>TCD>LBY>TUN", 3, "horn_north", "horn_europe", "2023-05"),
        ("ERI>SDN>LBY>TUN", 2, "horn_north", "horn_europe"),
        ("SYR>LBY>TUN", 3, "syria", "syria_north_africa"),
    ],
    "MAR": [
        ("GIN>MLI>DZA>MAR", 6, "sahel_north", "eu_morocco"),
        ("CIV>MLI>DZA>MAR", 5, "sahel_north", "eu_morocco"),
        ("MLI>DZA>MAR", 4, "sahel_north", "eu_morocco"),
        ("SEN>MAR", 3, "sahel_north", "eu_morocco"),
        ("CMR>NGA>NER>DZA>MAR", 3, "sahel_north", "eu_morocco"),
        ("SDN>LBY>DZA>MAR", 3, "horn_north", "eu_morocco"),
    ],
    "NER": [
        ("NGA>NER", 10, "sahel_north", "sahel"),
        ("GHA>BFA>NER", 5, "sahel_north", "sahel"),
        ("CIV>BFA>NER", 4, "sahel_north", "sahel"),
        ("SEN>MLI>BFA>NER", 4, "sahel_north", "sahel"),
        ("GIN>MLI>BFA>NER", 5, "sahel_north", "sahel"),
        ("MLI>NER", 3, "sahel_north", "sahel"),
        ("CMR>NGA>NER", 4, "sahel_north", "sahel"),
        ("BEN>NER", 2, "wa_regional", "wa_regional"),
        ("TGO>BFA>NER", 2, "wa_regional", "wa_regional"),
        ("BFA>NER", 3, "wa_regional", "wa_regional"),
        ("TCD>NER", 2, "wa_regional", "wa_regional"),
        ("NGA>NER", 4, "wa_regional", "wa_regional"),
        ("GIN>MLI>DZA>NER", 2, "expelled", "expelled"),
        ("CIV>MLI>DZA>NER", 1, "expelled", "expelled"),
        ("MLI>DZA>NER", 2, "expelled", "expelled"),
    ],
    "MLI": [
        ("GIN>MLI", 8, "sahel_north", "sahel"),
        ("CIV>MLI", 6, "sahel_north", "sahel"),
        ("SEN>MLI", 5, "sahel_north", "sahel"),
        ("GMB>SEN>MLI", 3, "sahel_north", "sahel"),
        ("BFA>MLI", 3, "sahel_north", "sahel"),
        ("NGA>BEN>BFA>MLI", 2, "sahel_north", "sahel"),
        ("CMR>NGA>NER>MLI", 2, "sahel_north", "sahel"),
        ("SLE>GIN>MLI", 2, "sahel_north", "sahel"),
        ("LBR>CIV>MLI", 1, "sahel_north", "sahel"),
        ("GNB>SEN>MLI", 1, "sahel_north", "sahel"),
        ("GIN>MLI", 4, "wa_regional", "wa_regional"),
        ("BFA>MLI", 2, "wa_regional", "wa_regional"),
        ("CIV>MLI", 2, "wa_regional", "wa_regional"),
    ],
    "BFA": [
        ("GIN>MLI>BFA", 3, "sahel_north", "sahel"),
        ("SEN>MLI>BFA", 3, "sahel_north", "sahel"),
        ("CIV>BFA", 3, "sahel_north", "sahel"),
        ("GHA>BFA", 3, "wa_regional", "wa_regional"),
        ("TGO>BFA", 2, "wa_regional", "wa_regional"),
        ("BEN>BFA", 2, "wa_regional", "wa_regional"),
        ("MLI>BFA", 2, "wa_regional", "wa_regional"),
        ("NER>BFA", 2, "wa_regional", "wa_regional"),
    ],
    "GIN": [
        ("SLE>GIN", 4, "wa_regional", "wa_regional"),
        ("LBR>GIN", 3, "wa_regional", "wa_regional"),
        ("CIV>GIN", 2, "wa_regional", "wa_regional"),
        ("MLI>GIN", 2, "wa_regional", "wa_regional"),
        ("SEN>GIN", 2, "sahel_north", "sahel"),
    ],
    "MRT": [
        ("MLI>MRT", 6, "atlantic", "atlantic"),
        ("SEN>MRT", 5, "atlantic", "atlantic"),
        ("GMB>SEN>MRT", 3, "atlantic", "atlantic"),
        ("GIN>MLI>MRT", 3, "atlantic", "atlantic"),
        ("GIN>SEN>MRT", 2, "atlantic", "atlantic"),
        ("CIV>MLI>MRT", 2, "atlantic", "atlantic"),
    ],
    "KEN": [
        ("ETH>KEN", 12, "southern", "southern"),
        ("SOM>KEN", 5, "southern", "southern"),
        ("SOM>KEN", 4, "horn_regional", "kenya"),
        ("ERI>ETH>KEN", 3, "horn_regional", "kenya"),
        ("SSD>KEN", 2, "horn_regional", "kenya"),
        ("COD>UGA>KEN", 2, "horn_regional", "kenya"),
    ],
    "SOM": [
        ("ETH>SOM", 14, "eastern", "eastern"),
        ("ETH>DJI>SOM", 1, "eastern", "eastern"),
    ],
    "DJI": [
        ("ETH>DJI", 16, "eastern", "eastern"),
        ("SOM>DJI", 2, "eastern", "eastern"),
    ],
    "ETH": [
        ("ERI>ETH", 10, "horn_regional", "ethiopia"),
        ("SOM>ETH", 4, "horn_regional", "ethiopia"),
        ("SSD>ETH", 2, "horn_regional", "ethiopia"),
        ("SDN>ETH", 3, "horn_regional", "ethiopia", "2023-05"),
    ],
    "YEM": [
        ("ETH>DJI>YEM", 10, "eastern", "eastern"),
        ("ETH>SOM>YEM", 10, "eastern", "eastern"),
        ("SOM>YEM", 4, "eastern", "eastern"),
    ],
    "ZAF": [
        ("ETH>KEN>TZA>MOZ>ZAF", 8, "southern", "southern"),
        ("SOM>KEN>TZA>MOZ>ZAF", 4, "southern", "southern"),
        ("ZWE>ZAF", 8, "sa_regional", "south_africa"),
        ("MWI>MOZ>ZAF", 4, "sa_regional", "south_africa"),
        ("MOZ>ZAF", 4, "sa_regional", "south_africa"),
        ("COD>ZMB>ZWE>ZAF", 4, "sa_regional", "south_africa"),
        ("BDI>TZA>MOZ>ZAF", 2, "sa_regional", "south_africa"),
        ("LSO>ZAF", 1, "sa_regional", "south_africa"),
    ],
    "TUR": [
        ("AFG>IRN>TUR", 40, "afghan_west", "afghans_turkey"),
        ("AFG/IRN>TUR", 8, "afghan_west", "afghans_turkey"),
        ("PAK>IRN>TUR", 4, "afghan_west", "afghans_turkey"),
        ("IRN>TUR", 3, "eastmed", "eastmed"),
        ("SYR>TUR", 3, "syria", "eastmed"),
    ],
    "MYS": [
        ("MMR/BGD>MYS", 12, "rohingya", "rohingya"),
        ("MMR>THA>MYS", 6, "rohingya", "rohingya"),
        ("MMR/BGD>THA>MYS", 4, "rohingya", "rohingya"),
        ("BGD>MYS", 5, "asia_labour", "asia_labour"),
        ("BGD>THA>MYS", 3, "asia_labour", "asia_labour"),
        ("IDN>MYS", 3, "asia_labour", "asia_labour"),
        ("MMR>MYS", 3, "asia_labour", "asia_labour"),
    ],
    "IDN": [
        ("AFG>MYS>IDN", 8, "afghan_asia", "afghans_asia"),
        ("AFG>IND>MYS>IDN", 4, "afghan_asia", "afghans_asia"),
        ("MMR/BGD>IDN", 8, "rohingya", "rohingya"),
        ("SOM>MYS>IDN", 2, "afghan_asia", "afghans_asia"),
    ],
    "COL": [
        ("VEN>COL", 40, "andean", "colombia"),
        ("VEN>COL", 8, "northbound", "north_america"),
        ("HTI/CHL>PER>ECU>COL", 3, "northbound", "north_america", "2021-01"),
        ("ECU>COL", 3, "northbound", "north_america", "2021-01"),
    ],
    "PER": [
        ("VEN>COL>ECU>PER", 40, "andean", "peru"),
    ],
    "CRI": [
        ("VEN>COL>PAN>CRI", 15, "northbound", "north_america"),
        ("ECU>COL>PAN>CRI", 4, "northbound", "north_america"),
        ("CHN>ECU>COL>PAN>CRI", 2, "northbound", "north_america", "2023-01"),
        ("NIC>CRI", 6, "central_america", "costa_rica"),
    ],
    "MEX": [
        ("VEN>COL>PAN>GTM>MEX", 12, "northbound", "north_america"),
        ("HTI/BRA>COL>PAN>GTM>MEX", 4, "northbound", "north_america"),
        ("ECU>COL>PAN>GTM>MEX", 3, "northbound", "north_america"),
        ("HND>GTM>MEX", 8, "northbound_ca", "north_america"),
        ("SLV>GTM>MEX", 3, "northbound_ca", "north_america"),
        ("GTM>MEX", 5, "northbound_ca", "north_america"),
        ("NIC>HND>GTM>MEX", 3, "northbound_ca", "north_america"),
        ("CUB>NIC>HND>GTM>MEX", 3, "northbound_ca", "north_america"),
    ],
    "ITA": [
        ("NGA>NER>LBY>ITA", 10, "sahel_north", "eu_italy"),
        ("CIV>MLI>DZA>LBY>ITA", 4, "sahel_north", "eu_italy"),
        ("GIN>MLI>DZA>LBY>ITA", 5, "sahel_north", "eu_italy"),
        ("SEN>MLI>NER>LBY>ITA", 4, "sahel_north", "eu_italy"),
        ("MLI>NER>LBY>ITA", 3, "sahel_north", "eu_italy"),
        ("MLI>DZA>LBY>ITA", 2, "sahel_north", "eu_italy"),
        ("CMR>TCD>LBY>ITA", 2, "sahel_north", "eu_italy"),
        ("ERI>SDN>LBY>ITA", 5, "horn_north", "horn_europe"),
        ("SDN>LBY>ITA", 3, "horn_north", "horn_europe"),
        ("ETH>SDN>LBY>ITA", 3, "horn_north", "horn_europe"),
        ("BGD>EGY>LBY>ITA", 4, "bgd_libya", "bgd_italy"),
        ("TUN>ITA", 5, "maghreb", "maghreb_italy"),
    ],
    "GRC": [
        ("AFG>IRN>TUR>GRC", 30, "afghan_west", "afghans_greece"),
        ("AFG/IRN>TUR>GRC", 8, "afghan_west", "afghans_greece"),
        ("PAK>IRN>TUR>GRC", 3, "afghan_west", "afghans_greece"),
        ("SYR>TUR>GRC", 5, "syria", "eastmed"),
        ("IRQ>TUR>GRC", 3, "eastmed", "eastmed"),
        ("COD>TUR>GRC", 2, "eastmed", "eastmed"),
    ],
    "POL": [("UKR>POL", 1, "ukraine", "ukrainians")],
    "DEU": [
        ("UKR>DEU", 3, "ukraine", "ukrainians"),
        ("UKR>POL>DEU", 4, "ukraine", "ukrainians"),
    ],
    "CHE": [
        ("UKR>CHE", 2, "ukraine", "ukrainians"),
        ("UKR>POL>DEU>CHE", 2, "ukraine", "ukrainians"),
        ("UKR>HUN>AUT>CHE", 1, "ukraine", "ukrainians"),
    ],
}

# Intended final destinations: ISO3 -> weight; "HERE" is the country of interview, "HOME" the country
# of nationality (people planning to go back). The Italy 2016 survey found 30% intending to stay in
# Libya and a third heading for Europe (4mi-domain.md section 2.7).
DESTINATIONS = {
    "eu_libya": {"ITA": 30, "HERE": 22, "FRA": 12, "DEU": 10, "ESP": 5, "GBR": 4, "BEL": 3, "CHE": 2,
                 "NLD": 2, "SWE": 2, "DZA": 3, "USA": 3, "CAN": 2},
    "libya_work": {"HERE": 72, "ITA": 12, "FRA": 5, "DEU": 3, "DZA": 3, "HOME": 5},
    "eu_tunisia": {"ITA": 45, "FRA": 20, "HERE": 12, "DEU": 8, "BEL": 3, "ESP": 3, "CHE": 3, "GBR": 3,
                   "CAN": 3},
    "eu_morocco": {"ESP": 45, "FRA": 20, "HERE": 15, "ITA": 6, "BEL": 4, "DEU": 5, "CAN": 5},
    "sahel": {"LBY": 26, "DZA": 16, "ITA": 16, "FRA": 10, "ESP": 8, "DEU": 5, "MAR": 4, "HERE": 6,
              "TUN": 3, "USA": 3, "CAN": 3},
    "horn_europe": {"DEU": 20, "GBR": 18, "ITA": 10, "NLD": 10, "SWE": 10, "FRA": 8, "NOR": 5, "CHE": 6,
                    "HERE": 5, "CAN": 5, "ISR": 3},
    "eu_italy": {"HERE": 35, "FRA": 18, "DEU": 20, "GBR": 6, "ESP": 5, "BEL": 4, "CHE": 4, "NLD": 3, "SWE": 3,
                 "AUT": 2},
    "bgd_italy": {"ITA": 70, "FRA": 10, "GBR": 8, "PRT": 6, "ESP": 6},
    "maghreb_italy": {"ITA": 45, "FRA": 40, "DEU": 5, "BEL": 5, "CHE": 5},
    "syria_north_africa": {"ITA": 25, "DEU": 30, "SWE": 10, "NLD": 10, "FRA": 10, "HERE": 10, "GBR": 5},
    "wa_regional": {"HERE": 30, "CIV": 15, "SEN": 8, "GHA": 8, "NGA": 6, "MLI": 6, "NER": 5, "BFA": 5,
                    "GIN": 4, "MRT": 5, "GAB": 4, "LBY": 4},
    "expelled": {"HOME": 35, "DZA": 20, "LBY": 12, "ITA": 8, "ESP": 10, "FRA": 10, "HERE": 5},
    "atlantic": {"ESP": 65, "FRA": 12, "HERE": 12, "ITA": 4, "BEL": 3, "DEU": 4},
    "eastern": {"SAU": 85, "YEM": 4, "ARE": 3, "KWT": 2, "OMN": 2, "QAT": 2, "HERE": 2},
    "southern": {"ZAF": 78, "HERE": 6, "MOZ": 2, "TZA": 2, "USA": 4, "GBR": 2, "BWA": 3, "NAM": 3},
    "south_africa": {"HERE": 92, "BWA": 4, "NAM": 2, "GBR": 2},
    "kenya": {"HERE": 45, "ZAF": 18, "USA": 10, "CAN": 8, "GBR": 5, "AUS": 5, "DEU": 5, "SWE": 4},
    "ethiopia": {"HERE": 25, "DEU": 15, "GBR": 12, "USA": 10, "CAN": 10, "NLD": 6, "SWE": 6, "ITA": 6,
                 "ISR": 5, "AUS": 5},
    "afghans_turkey": {"HERE": 40, "DEU": 22, "FRA": 6, "GBR": 7, "GRC": 5, "AUT": 5, "SWE": 4, "NLD": 3,
                       "BEL": 3, "ITA": 2, "CAN": 3},
    "afghans_greece": {"DEU": 32, "HERE": 14, "FRA": 12, "GBR": 9, "AUT": 6, "SWE": 5, "NLD": 5, "BEL": 5,
                       "ITA": 4, "CHE": 4, "CAN": 4},
    "eastmed": {"DEU": 35, "HERE": 15, "FRA": 12, "GBR": 8, "NLD": 6, "SWE": 8, "BEL": 6, "AUT": 5,
                "ITA": 5},
    "afghans_asia": {"AUS": 40, "CAN": 20, "USA": 15, "NZL": 5, "HERE": 12, "MYS": 3, "DEU": 5},
    "rohingya": {"MYS": 75, "IDN": 8, "HERE": 7, "AUS": 4, "USA": 3, "CAN": 3},
    "asia_labour": {"MYS": 85, "SGP": 5, "JPN": 3, "KOR": 3, "AUS": 4},
    "colombia": {"HERE": 62, "PER": 8, "CHL": 6, "ECU": 4, "USA": 12, "ESP": 5, "ARG": 3},
    "peru": {"HERE": 60, "CHL": 20, "ARG": 5, "USA": 6, "ESP": 4, "URY": 3, "BRA": 2},
    "north_america": {"USA": 86, "CAN": 5, "MEX": 6, "HERE": 3},
    "costa_rica": {"HERE": 85, "USA": 8, "PAN": 4, "ESP": 3},
    "ukrainians": {"HERE": 55, "DEU": 12, "CZE": 5, "CHE": 4, "GBR": 5, "CAN": 5, "HOME": 8, "ITA": 3,
                   "ESP": 3},
}

# Crossings by sea or by air between consecutive route countries (decide boat and plane).
SEA_LEGS = {("LBY", "ITA"), ("TUN", "ITA"), ("TUR", "GRC"), ("DJI", "YEM"), ("SOM", "YEM"),
            ("BGD", "MYS"), ("BGD", "IDN"), ("MMR", "THA"), ("BGD", "THA"), ("COL", "PAN")}
AIR_LEGS = {("BGD", "EGY"), ("SEN", "MAR"), ("AFG", "MYS"), ("AFG", "IND"), ("IND", "MYS"),
            ("SOM", "MYS"), ("MYS", "IDN"), ("BGD", "MYS"), ("IDN", "MYS"), ("SYR", "LBY"),
            ("CHN", "ECU"), ("COD", "TUR"), ("HTI", "BRA"), ("CUB", "NIC"), ("UKR", "CHE")}

# How likely the most serious incident happened in a country, relative to the others on the route.
# Libya accounts for about half of all incidents reported in Libya, Niger and Mali (section 7).
DANGER = {"LBY": 9, "YEM": 7, "PAN": 6, "SDN": 4, "MEX": 4, "NER": 2.5, "DZA": 2.5, "IRN": 3, "TCD": 2,
          "MLI": 2, "THA": 3, "TUR": 2, "EGY": 2, "TUN": 2, "BFA": 1.5, "MRT": 1.5, "MAR": 1.5, "SOM": 1.5,
          "TZA": 1.5, "MOZ": 1.5, "ZAF": 2, "GTM": 1.5, "COL": 1.2, "MYS": 1.5, "ZWE": 1.2, "DJI": 1.2,
          "ITA": 0.4, "GRC": 0.8, "POL": 0.2, "DEU": 0.2, "CHE": 0.2, "HUN": 0.5, "AUT": 0.2}

# Where the most serious incident happened, by country (default: the "other" profile).
INCIDENT_PLACES = {
    "desert": {"desert": 35, "city_town": 25, "detention_centre": 15, "checkpoint": 15, "border_area": 10},
    "libya": {"detention_centre": 30, "city_town": 30, "desert": 22, "checkpoint": 10, "sea": 8},
    "sea": {"sea": 45, "border_area": 20, "city_town": 20, "detention_centre": 15},
    "yemen": {"sea": 20, "border_area": 30, "city_town": 20, "detention_centre": 20, "checkpoint": 10},
    "jungle": {"forest_jungle": 75, "border_area": 15, "city_town": 10},
    "border": {"border_area": 45, "city_town": 20, "checkpoint": 15, "detention_centre": 15, "forest_jungle": 5},
    "other": {"city_town": 40, "border_area": 25, "checkpoint": 20, "detention_centre": 15},
}
INCIDENT_PLACE_OF = {"NER": "desert", "DZA": "desert", "SDN": "desert", "TCD": "desert", "MLI": "desert",
                     "MRT": "desert", "EGY": "desert", "LBY": "libya", "ITA": "sea", "GRC": "sea",
                     "YEM": "yemen", "PAN": "jungle", "IRN": "border", "TUR": "border", "THA": "border",
                     "DJI": "border", "MEX": "border", "GTM": "border"}

# Residence status in the country of interview.
LEGAL_STATUS = {
    "default": {"irregular": 55, "regular": 15, "asylum_seeker": 10, "refugee": 8, "dont_know": 12},
    "LBY": {"irregular": 80, "regular": 6, "asylum_seeker": 6, "refugee": 3, "dont_know": 5},
    "TUN": {"irregular": 70, "regular": 10, "asylum_seeker": 12, "refugee": 3, "dont_know": 5},
    "MAR": {"irregular": 70, "regular": 12, "asylum_seeker": 8, "refugee": 4, "dont_know": 6},
    "ecowas": {"regular": 65, "irregular": 22, "dont_know": 13},
    "MRT": {"irregular": 60, "regular": 25, "asylum_seeker": 5, "dont_know": 10},
    "KEN": {"asylum_seeker": 30, "refugee": 30, "irregular": 30, "dont_know": 10},
    "ETH": {"refugee": 70, "asylum_seeker": 10, "irregular": 15, "dont_know": 5},
    "SOM": {"irregular": 85, "regular": 5, "dont_know": 10},
    "DJI": {"irregular": 88, "asylum_seeker": 2, "dont_know": 10},
    "YEM": {"irregular": 92, "asylum_seeker": 2, "dont_know": 6},
    "ZAF": {"irregular": 45, "asylum_seeker": 25, "regular": 15, "refugee": 8, "dont_know": 7},
    "TUR": {"irregular": 72, "asylum_seeker": 10, "regular": 8, "temporary_protection": 5, "dont_know": 5},
    "MYS": {"refugee": 45, "irregular": 40, "regular": 10, "dont_know": 5},
    "IDN": {"refugee": 65, "asylum_seeker": 25, "irregular": 5, "dont_know": 5},
    "COL": {"temporary_protection": 45, "regular": 12, "irregular": 35, "asylum_seeker": 3, "dont_know": 5},
    "PER": {"temporary_protection": 35, "asylum_seeker": 25, "regular": 10, "irregular": 25, "dont_know": 5},
    "CRI": {"asylum_seeker": 40, "irregular": 40, "regular": 10, "dont_know": 10},
    "MEX": {"asylum_seeker": 30, "irregular": 50, "temporary_protection": 10, "dont_know": 10},
    "ITA": {"asylum_seeker": 60, "refugee": 15, "temporary_protection": 10, "irregular": 10, "dont_know": 5},
    "GRC": {"asylum_seeker": 60, "refugee": 20, "irregular": 15, "dont_know": 5},
    "POL": {"temporary_protection": 92, "regular": 5, "dont_know": 3},
    "DEU": {"temporary_protection": 92, "regular": 5, "dont_know": 3},
    "CHE": {"temporary_protection": 92, "regular": 5, "dont_know": 3},
}
ECOWAS = {"BEN", "BFA", "CIV", "CPV", "GHA", "GIN", "GMB", "GNB", "LBR", "MLI", "NER", "NGA", "SEN", "SLE",
          "TGO"}

# =====================================================================================================
# Corridors: how people on each one travel, what it costs and what happens to them
# =====================================================================================================

# Defaults that a corridor overrides; dict-valued entries are merged code by code.
_CORRIDOR_DEFAULTS = dict(
    smug=0.5,            # P(used a smuggler)
    inc=0.45,            # P(at least one protection incident), before smuggler and site effects
    fee_leg=500,         # median smuggler fee per border crossed, USD, at the start of the period
    fee_trend=((2017.0, 1.0), (2026.75, 1.3)),  # (decimal year, multiplier of the fee)
    dur_leg=20,          # median days per border crossed
    age=28.0,            # mean age
    info_before=0.5,     # P(information before leaving)
    info_during=(0.8, 0.4),  # P(information during the journey | before, | none before)
    social_apps=0.7,     # P(social media or messaging apps | got information)
    assist=0.35,         # P(received assistance)
    alone=(0.6, 0.3),    # P(travelling alone | man, | woman)
    sexual_women=0.3,    # P(sexual violence | incident, woman)
    edu={"none": 20, "religious": 5, "primary": 30, "secondary": 30, "vocational": 7, "university": 8},
    emp={"employed": 15, "self_employed": 20, "daily_labour": 25, "unemployed": 25, "student": 10,
         "homemaker": 5},
    drivers={"economic": 0.85, "violence_insecurity": 0.12, "lack_of_rights": 0.08, "personal_family": 0.25,
             "lack_of_services": 0.12, "environmental": 0.03, "covid19": 0.0, "other": 0.02},
    incidents={"death_witnessed": 0.15, "sexual_violence": 0.08, "physical_violence": 0.45,
               "kidnapping": 0.10, "robbery": 0.45, "detention": 0.25, "extortion_bribery": 0.35},
    # Perpetrators in West and North Africa: criminals .24, armed groups .22, smugglers .18, border
    # officials .17, military/police .16 (MMC/UNODC 2021, section 2.5), as weights of a mention.
    perp={"criminal_gangs": 24, "armed_groups": 22, "smugglers": 20.5, "border_officials": 17,
          "military_police": 15.5, "other_migrants": 1, "local_population": 1.2, "unknown": 0.9},
    reliable={"family_friends_origin": 25, "family_friends_abroad": 25, "other_migrants": 15, "smugglers": 10,
              "social_media": 12, "ngo_un": 7, "authorities": 2, "embassies": 1, "media": 3},
    sources={"family_friends_origin": 0.45, "family_friends_abroad": 0.35, "other_migrants": 0.4,
             "smugglers": 0.3, "social_media": 0.35, "ngo_un": 0.06, "authorities": 0.01, "embassies": 0.005,
             "media": 0.1},
    reasons={"jobs": 0.6, "family_friends": 0.3, "safety": 0.25, "rights_asylum": 0.2, "easy_entry": 0.15,
             "language_culture": 0.15, "education": 0.08, "smuggler_advice": 0.03, "services": 0.12,
             "other": 0.02},
    transport={"on_foot": 0.3, "bus_car": 0.8, "truck_pickup": 0.3, "motorbike": 0.1, "train": 0.03,
               "boat": 0.0, "plane": 0.03},
    services={"whole_journey": 0.25, "transport": 0.85, "border_crossing": 0.7, "accommodation": 0.4,
              "food_water": 0.3, "documents": 0.08, "bribing_officials": 0.3, "information": 0.35,
              "protection": 0.1, "employment": 0.04, "money_transfer": 0.05},
    needs={"food": 0.45, "water": 0.2, "shelter": 0.35, "cash": 0.6, "health": 0.3, "legal_documentation": 0.25,
           "information": 0.2, "psychosocial": 0.1, "hygiene": 0.15, "transport": 0.1, "employment": 0.4,
           "protection": 0.1},
)

_WEST_AFRICA_EDU = {"none": 30, "religious": 12, "primary": 28, "secondary": 22, "vocational": 4, "university": 4}
_HORN_EDU = {"none": 35, "religious": 10, "primary": 40, "secondary": 12, "vocational": 1, "university": 2}

CORRIDORS = {
    # West and Central Africans through the Sahel towards North Africa and Europe.
    "sahel_north": dict(
        smug=0.6, inc=0.6, fee_leg=450, dur_leg=40, age=25.5, edu=_WEST_AFRICA_EDU, info_before=0.45,
        info_during=(0.75, 0.35), social_apps=0.55, assist=0.3, alone=(0.65, 0.3), sexual_women=0.33,
        drivers={"economic": 0.96, "violence_insecurity": 0.03, "lack_of_rights": 0.09,
                 "personal_family": 0.3, "lack_of_services": 0.08, "environmental": 0.012},
        incidents={"death_witnessed": 0.3, "physical_violence": 0.55, "kidnapping": 0.2, "robbery": 0.5,
                   "detention": 0.35, "extortion_bribery": 0.5},
        transport={"on_foot": 0.35, "bus_car": 0.85, "truck_pickup": 0.75, "motorbike": 0.15},
        reasons={"jobs": 0.8, "family_friends": 0.25, "rights_asylum": 0.18, "safety": 0.15, "easy_entry": 0.12,
                 "language_culture": 0.15, "education": 0.1, "smuggler_advice": 0.05, "services": 0.1},
        services={"whole_journey": 0.2, "accommodation": 0.5, "bribing_officials": 0.4},
    ),
    # Eritreans, Sudanese, Ethiopians and Somalis through Sudan towards Libya and Europe.
    "horn_north": dict(
        smug=0.88, inc=0.72, fee_leg=1300, dur_leg=70, age=26, info_before=0.4, info_during=(0.7, 0.35),
        social_apps=0.6, assist=0.3, alone=(0.6, 0.3), sexual_women=0.4,
        edu={"none": 15, "religious": 5, "primary": 30, "secondary": 35, "vocational": 5, "university": 10},
        drivers={"economic": 0.8, "violence_insecurity": 0.15, "lack_of_rights": 0.3, "personal_family": 0.2,
                 "lack_of_services": 0.15, "environmental": 0.01},
        incidents={"death_witnessed": 0.4, "physical_violence": 0.65, "kidnapping": 0.35, "robbery": 0.45,
                   "detention": 0.5, "extortion_bribery": 0.5},
        transport={"on_foot": 0.4, "bus_car": 0.7, "truck_pickup": 0.85},
        reasons={"rights_asylum": 0.55, "safety": 0.5, "family_friends": 0.4, "jobs": 0.5},
        services={"whole_journey": 0.35, "accommodation": 0.55, "food_water": 0.45},
    ),
    # Nigeriens, Chadians and Egyptians coming to work in Libya.
    "libya_labour": dict(
        smug=0.5, inc=0.5, fee_leg=350, dur_leg=12, age=27, edu=_WEST_AFRICA_EDU, info_before=0.55,
        social_apps=0.5, assist=0.2, alone=(0.6, 0.3),
        drivers={"economic": 0.98, "violence_insecurity": 0.03, "lack_of_rights": 0.05, "personal_family": 0.2,
                 "environmental": 0.01},
        incidents={"death_witnessed": 0.15, "physical_violence": 0.45, "kidnapping": 0.15, "robbery": 0.5,
                   "detention": 0.35, "extortion_bribery": 0.5},
        transport={"bus_car": 0.7, "truck_pickup": 0.8, "on_foot": 0.2},
        reasons={"jobs": 0.95, "family_friends": 0.3, "easy_entry": 0.2, "language_culture": 0.2},
    ),
    # Bangladeshis flying to Egypt or Libya, then by sea to Italy.
    "bgd_libya": dict(
        smug=0.95, inc=0.7, fee_leg=1800, dur_leg=20, age=27, social_apps=0.8, assist=0.25,
        edu={"none": 10, "religious": 8, "primary": 35, "secondary": 37, "vocational": 3, "university": 7},
        drivers={"economic": 0.97, "personal_family": 0.25},
        incidents={"kidnapping": 0.35, "detention": 0.45, "physical_violence": 0.55, "extortion_bribery": 0.5,
                   "robbery": 0.3},
        transport={"plane": 0.9, "bus_car": 0.6, "truck_pickup": 0.5},
        services={"whole_journey": 0.6, "documents": 0.5, "employment": 0.2},
    ),
    # West Africans expelled from Algeria to Niger.
    "expelled": dict(
        smug=0.4, inc=0.85, fee_leg=400, dur_leg=150, age=27, edu=_WEST_AFRICA_EDU, assist=0.6,
        drivers={"economic": 0.96, "violence_insecurity": 0.04, "lack_of_rights": 0.08, "personal_family": 0.25},
        incidents={"detention": 0.8, "physical_violence": 0.55, "robbery": 0.45, "extortion_bribery": 0.4,
                   "death_witnessed": 0.3, "kidnapping": 0.05},
        transport={"on_foot": 0.7, "truck_pickup": 0.8, "bus_car": 0.7},
    ),
    # Movements within West Africa, largely for work, mostly under free movement.
    "wa_regional": dict(
        smug=0.25, inc=0.28, fee_leg=120, dur_leg=8, age=27, edu=_WEST_AFRICA_EDU, info_before=0.55,
        info_during=(0.7, 0.4), social_apps=0.5, assist=0.2,
        drivers={"economic": 0.95, "violence_insecurity": 0.04, "lack_of_rights": 0.03, "personal_family": 0.3,
                 "lack_of_services": 0.06},
        incidents={"extortion_bribery": 0.6, "robbery": 0.45, "physical_violence": 0.3, "detention": 0.15,
                   "kidnapping": 0.03, "death_witnessed": 0.05},
        transport={"bus_car": 0.9, "motorbike": 0.2, "on_foot": 0.2, "truck_pickup": 0.3},
        reasons={"jobs": 0.85, "family_friends": 0.35, "easy_entry": 0.3, "language_culture": 0.2},
    ),
    # The Atlantic route: to Mauritania, then by boat to the Canary Islands.
    "atlantic": dict(
        smug=0.78, inc=0.45, fee_leg=700, dur_leg=25, age=24, edu=_WEST_AFRICA_EDU, info_before=0.5,
        social_apps=0.6, assist=0.25,
        drivers={"economic": 0.88, "violence_insecurity": 0.1, "lack_of_rights": 0.06, "personal_family": 0.25,
                 "environmental": 0.04},
        incidents={"robbery": 0.4, "extortion_bribery": 0.45, "detention": 0.35, "physical_violence": 0.4,
                   "death_witnessed": 0.2},
        transport={"bus_car": 0.8, "truck_pickup": 0.5, "boat": 0.15},
        reasons={"jobs": 0.8, "family_friends": 0.3, "rights_asylum": 0.1, "easy_entry": 0.2,
                 "smuggler_advice": 0.08},
    ),
    # Tunisians crossing to Italy.
    "maghreb": dict(
        smug=0.92, inc=0.25, fee_leg=1800, dur_leg=4, age=26, social_apps=0.85, assist=0.6,
        edu={"none": 3, "religious": 2, "primary": 25, "secondary": 45, "vocational": 12, "university": 13},
        drivers={"economic": 0.9, "lack_of_rights": 0.15, "personal_family": 0.25, "lack_of_services": 0.2},
        incidents={"death_witnessed": 0.35, "robbery": 0.2, "extortion_bribery": 0.2, "physical_violence": 0.3,
                   "detention": 0.35},
        transport={"bus_car": 0.5, "on_foot": 0.1},
        reasons={"jobs": 0.75, "family_friends": 0.45, "language_culture": 0.3},
    ),
    # Syrians through Turkey or by air to Libya.
    "syria": dict(
        smug=0.8, inc=0.4, fee_leg=1500, dur_leg=25, age=29, social_apps=0.85, assist=0.5,
        edu={"none": 8, "religious": 2, "primary": 30, "secondary": 35, "vocational": 8, "university": 17},
        drivers={"economic": 0.6, "violence_insecurity": 0.65, "lack_of_rights": 0.3, "lack_of_services": 0.3},
        incidents={"detention": 0.4, "physical_violence": 0.4, "robbery": 0.35, "extortion_bribery": 0.45,
                   "kidnapping": 0.15},
        reasons={"rights_asylum": 0.55, "safety": 0.55, "family_friends": 0.45, "jobs": 0.45},
    ),
    # The Eastern route: Ethiopians and Somalis through Djibouti or Somalia to Yemen and Saudi Arabia.
    "eastern": dict(
        smug=0.92, inc=0.7, fee_leg=220, dur_leg=12, age=23, edu=_HORN_EDU, info_before=0.35,
        info_during=(0.6, 0.3), social_apps=0.4, assist=0.25, alone=(0.7, 0.35), sexual_women=0.4,
        drivers={"economic": 0.95, "violence_insecurity": 0.15, "lack_of_rights": 0.1, "personal_family": 0.25,
                 "environmental": 0.08},
        incidents={"death_witnessed": 0.3, "physical_violence": 0.55, "kidnapping": 0.3, "robbery": 0.45,
                   "detention": 0.35, "extortion_bribery": 0.5},
        perp={"criminal_gangs": 20, "armed_groups": 15, "smugglers": 30, "border_officials": 20,
              "military_police": 10, "other_migrants": 2, "local_population": 2, "unknown": 1},
        transport={"on_foot": 0.8, "truck_pickup": 0.6, "bus_car": 0.5},
        reasons={"jobs": 0.95, "family_friends": 0.25, "language_culture": 0.2, "easy_entry": 0.05,
                 "rights_asylum": 0.02, "safety": 0.05},
    ),
    # The Southern route: from the Horn through Kenya, Tanzania and Mozambique to South Africa.
    "southern": dict(
        smug=0.88, inc=0.55, fee_leg=800, dur_leg=20, age=25, edu=_HORN_EDU, info_before=0.4,
        social_apps=0.5, assist=0.25, alone=(0.7, 0.35),
        drivers={"economic": 0.9, "violence_insecurity": 0.15, "personal_family": 0.25},
        incidents={"detention": 0.5, "robbery": 0.45, "physical_violence": 0.45, "extortion_bribery": 0.45,
                   "death_witnessed": 0.25, "kidnapping": 0.1},
        perp={"criminal_gangs": 30, "armed_groups": 5, "smugglers": 25, "border_officials": 15,
              "military_police": 20, "other_migrants": 2, "local_population": 2, "unknown": 1},
        transport={"truck_pickup": 0.85, "on_foot": 0.6, "bus_car": 0.6},
        reasons={"jobs": 0.85, "family_friends": 0.45, "easy_entry": 0.1},
        services={"whole_journey": 0.45, "accommodation": 0.5},
    ),
    # Zimbabweans, Malawians, Mozambicans and Congolese coming to South Africa.
    "sa_regional": dict(
        smug=0.35, inc=0.35, fee_leg=150, dur_leg=3, age=30, info_before=0.55, social_apps=0.7, assist=0.2,
        edu={"none": 5, "religious": 1, "primary": 30, "secondary": 45, "vocational": 9, "university": 10},
        drivers={"economic": 0.95, "violence_insecurity": 0.08, "personal_family": 0.25},
        incidents={"robbery": 0.55, "extortion_bribery": 0.5, "physical_violence": 0.35, "detention": 0.15,
                   "kidnapping": 0.03, "death_witnessed": 0.05},
        sexual_women=0.2,
        perp={"criminal_gangs": 35, "armed_groups": 2, "smugglers": 10, "border_officials": 20,
              "military_police": 25, "other_migrants": 2, "local_population": 4, "unknown": 2},
        reasons={"jobs": 0.9, "family_friends": 0.4, "easy_entry": 0.3},
    ),
    # Refugees from the Horn and the Great Lakes staying in Kenya or Ethiopia, or waiting to move on.
    "horn_regional": dict(
        smug=0.35, inc=0.3, fee_leg=300, dur_leg=10, age=28, info_before=0.45, social_apps=0.55, assist=0.55,
        drivers={"economic": 0.55, "violence_insecurity": 0.45, "lack_of_rights": 0.2, "lack_of_services": 0.25},
        incidents={"robbery": 0.4, "extortion_bribery": 0.4, "detention": 0.3, "physical_violence": 0.35},
        reasons={"safety": 0.5, "rights_asylum": 0.35, "family_friends": 0.35, "jobs": 0.45},
    ),
    # Afghans (and Pakistanis) through Iran to Turkey and on to Greece. Fee Zaranj -> Istanbul:
    # USD 1,500 in Q1 2020, 2,200 in August 2021 (section 2.5): two legs of 750 at the 2020 anchor.
    "afghan_west": dict(
        smug=0.9, inc=0.55, fee_leg=750,
        fee_trend=((2017.0, 0.8), (2020.125, 1.0), (2021.625, 2200 / 1500), (2023.5, 1.6), (2026.75, 1.75)),
        dur_leg=35, age=24,
        edu={"none": 30, "religious": 8, "primary": 22, "secondary": 28, "vocational": 2, "university": 10},
        # Afghans in Turkey: 47% had information before leaving; in Greece over a third had none before
        # or during (sections 2.4 and 7).
        info_before=0.47, info_during=(0.85, 0.31), social_apps=0.87, assist=0.25, alone=(0.55, 0.15),
        drivers={"economic": 0.75, "violence_insecurity": 0.45, "lack_of_rights": 0.2, "personal_family": 0.2,
                 "lack_of_services": 0.15},
        incidents={"death_witnessed": 0.25, "physical_violence": 0.55, "kidnapping": 0.08, "robbery": 0.5,
                   "detention": 0.45, "extortion_bribery": 0.35},
        perp={"criminal_gangs": 12, "armed_groups": 5, "smugglers": 20, "border_officials": 38,
              "military_police": 20, "other_migrants": 2, "local_population": 2, "unknown": 1},
        # Most reliable source, Afghans in Greece: family/friends abroad 30%, smugglers 22%, other
        # migrants 12%, authorities 1% (section 2.4).
        reliable={"family_friends_origin": 15, "family_friends_abroad": 30, "other_migrants": 12,
                  "smugglers": 23.6, "social_media": 10, "ngo_un": 5.5, "authorities": 1, "embassies": 0.5,
                  "media": 4},
        sources={"family_friends_abroad": 0.55, "family_friends_origin": 0.4, "other_migrants": 0.45,
                 "smugglers": 0.45, "ngo_un": 0.08},
        transport={"on_foot": 0.85, "bus_car": 0.85, "truck_pickup": 0.45, "motorbike": 0.15},
        reasons={"rights_asylum": 0.45, "safety": 0.45, "jobs": 0.6, "family_friends": 0.35, "education": 0.15},
        services={"whole_journey": 0.5, "border_crossing": 0.85, "accommodation": 0.5},
    ),
    # Afghans and Somalis flying to Malaysia and on to Indonesia, hoping for resettlement.
    "afghan_asia": dict(
        smug=0.8, inc=0.3, fee_leg=2000, dur_leg=40, age=27, social_apps=0.85, assist=0.5,
        edu={"none": 10, "religious": 5, "primary": 20, "secondary": 40, "vocational": 10, "university": 15},
        drivers={"economic": 0.6, "violence_insecurity": 0.6, "lack_of_rights": 0.5},
        incidents={"detention": 0.5, "robbery": 0.2, "extortion_bribery": 0.35, "physical_violence": 0.2,
                   "death_witnessed": 0.05},
        perp={"criminal_gangs": 10, "armed_groups": 3, "smugglers": 30, "border_officials": 32,
              "military_police": 20, "other_migrants": 2, "local_population": 2, "unknown": 1},
        transport={"bus_car": 0.6, "on_foot": 0.1},
        reasons={"rights_asylum": 0.6, "safety": 0.6, "family_friends": 0.3, "jobs": 0.3, "education": 0.2},
        services={"documents": 0.6, "whole_journey": 0.5},
    ),
    # Rohingya from Myanmar and the camps in Bangladesh, by sea or through Thailand.
    "rohingya": dict(
        smug=0.88, inc=0.6, fee_leg=1100, dur_leg=30, age=25, info_before=0.35, social_apps=0.6, assist=0.35,
        edu={"none": 55, "religious": 20, "primary": 18, "secondary": 6, "vocational": 0.5, "university": 0.5},
        sexual_women=0.35,
        drivers={"economic": 0.55, "violence_insecurity": 0.7, "lack_of_rights": 0.75, "lack_of_services": 0.4},
        incidents={"death_witnessed": 0.35, "physical_violence": 0.5, "kidnapping": 0.3, "robbery": 0.3,
                   "detention": 0.4, "extortion_bribery": 0.45},
        perp={"criminal_gangs": 15, "armed_groups": 5, "smugglers": 38, "border_officials": 18,
              "military_police": 18, "other_migrants": 2, "local_population": 2, "unknown": 2},
        transport={"on_foot": 0.5, "bus_car": 0.4, "truck_pickup": 0.3},
        reasons={"safety": 0.55, "family_friends": 0.45, "jobs": 0.5, "rights_asylum": 0.35,
                 "language_culture": 0.3},
    ),
    # Labour migrants to Malaysia through brokers.
    "asia_labour": dict(
        smug=0.45, inc=0.2, fee_leg=1800, dur_leg=5, age=29, info_before=0.6, social_apps=0.8, assist=0.15,
        edu={"none": 8, "religious": 4, "primary": 35, "secondary": 40, "vocational": 6, "university": 7},
        drivers={"economic": 0.97, "personal_family": 0.2},
        incidents={"extortion_bribery": 0.5, "detention": 0.4, "robbery": 0.2, "physical_violence": 0.2},
        perp={"criminal_gangs": 10, "armed_groups": 1, "smugglers": 25, "border_officials": 32,
              "military_police": 28, "other_migrants": 1, "local_population": 1, "unknown": 2},
        transport={"bus_car": 0.5},
        reasons={"jobs": 0.95, "family_friends": 0.3, "easy_entry": 0.2},
        services={"documents": 0.5, "employment": 0.45, "whole_journey": 0.5},
    ),
    # Venezuelans in Colombia and Peru: mean age 32.8, 60% women (section 2.8).
    "andean": dict(
        smug=0.12, inc=0.3, fee_leg=60, dur_leg=6, age=32.8, info_before=0.7, info_during=(0.85, 0.5),
        social_apps=0.9, assist=0.47, alone=(0.45, 0.2), sexual_women=0.18,
        edu={"none": 2, "religious": 0, "primary": 15, "secondary": 48, "vocational": 15, "university": 20},
        drivers={"economic": 0.85, "violence_insecurity": 0.15, "lack_of_rights": 0.12, "personal_family": 0.25,
                 "lack_of_services": 0.6},
        incidents={"robbery": 0.5, "extortion_bribery": 0.25, "physical_violence": 0.3, "sexual_violence": 0.04,
                   "detention": 0.05, "kidnapping": 0.03, "death_witnessed": 0.05},
        perp={"criminal_gangs": 35, "armed_groups": 20, "smugglers": 5, "border_officials": 10,
              "military_police": 15, "other_migrants": 2, "local_population": 10, "unknown": 3},
        transport={"on_foot": 0.6, "bus_car": 0.9, "truck_pickup": 0.1},
        reasons={"jobs": 0.75, "family_friends": 0.4, "language_culture": 0.35, "easy_entry": 0.35,
                 "services": 0.2, "safety": 0.1, "rights_asylum": 0.05},
        sources={"social_media": 0.6, "family_friends_abroad": 0.5},
    ),
    # Northbound through the Darién, Central America and Mexico towards the United States.
    "northbound": dict(
        smug=0.55, inc=0.62, fee_leg=800, dur_leg=18, age=32, info_before=0.7, info_during=(0.9, 0.6),
        social_apps=0.92, assist=0.5, alone=(0.45, 0.2),
        edu={"none": 3, "religious": 0, "primary": 20, "secondary": 45, "vocational": 12, "university": 20},
        drivers={"economic": 0.85, "violence_insecurity": 0.3, "lack_of_rights": 0.2, "lack_of_services": 0.4},
        incidents={"death_witnessed": 0.4, "robbery": 0.6, "physical_violence": 0.4, "kidnapping": 0.2,
                   "extortion_bribery": 0.55, "detention": 0.25},
        perp={"criminal_gangs": 30, "armed_groups": 20, "smugglers": 15, "border_officials": 10,
              "military_police": 20, "other_migrants": 1, "local_population": 2, "unknown": 2},
        transport={"on_foot": 0.95, "bus_car": 0.9, "train": 0.1},
        reasons={"jobs": 0.85, "family_friends": 0.5, "safety": 0.25, "rights_asylum": 0.15},
        sources={"social_media": 0.7},
    ),
    # Central Americans, Nicaraguans and Cubans through Guatemala to Mexico.
    "northbound_ca": dict(
        smug=0.6, inc=0.45, fee_leg=1500, dur_leg=8, age=28, info_before=0.65, social_apps=0.85, assist=0.45,
        edu={"none": 8, "religious": 0, "primary": 40, "secondary": 38, "vocational": 6, "university": 8},
        drivers={"economic": 0.85, "violence_insecurity": 0.4, "lack_of_rights": 0.1},
        incidents={"extortion_bribery": 0.6, "robbery": 0.5, "kidnapping": 0.2, "physical_violence": 0.35},
        perp={"criminal_gangs": 35, "armed_groups": 10, "smugglers": 15, "border_officials": 12,
              "military_police": 22, "other_migrants": 1, "local_population": 3, "unknown": 2},
        transport={"on_foot": 0.6, "bus_car": 0.9, "train": 0.15, "truck_pickup": 0.3},
        reasons={"jobs": 0.85, "family_friends": 0.6, "safety": 0.35},
    ),
    # Nicaraguans in Costa Rica.
    "central_america": dict(
        smug=0.08, inc=0.12, fee_leg=100, dur_leg=3, age=31, info_before=0.7, social_apps=0.85, assist=0.45,
        edu={"none": 5, "religious": 0, "primary": 30, "secondary": 40, "vocational": 10, "university": 15},
        drivers={"economic": 0.6, "violence_insecurity": 0.2, "lack_of_rights": 0.55},
        reasons={"safety": 0.5, "rights_asylum": 0.5, "jobs": 0.6, "language_culture": 0.4, "easy_entry": 0.4},
    ),
    # Ukrainians who fled the 2022 invasion.
    "ukraine": dict(
        smug=0.01, inc=0.06, fee_leg=300, dur_leg=3, age=38, info_before=0.8, info_during=(0.9, 0.7),
        social_apps=0.9, assist=0.85, alone=(0.5, 0.2),
        edu={"none": 0.5, "religious": 0, "primary": 2, "secondary": 30, "vocational": 25, "university": 42.5},
        emp={"employed": 45, "self_employed": 12, "daily_labour": 3, "unemployed": 12, "student": 10,
             "homemaker": 18},
        drivers={"economic": 0.12, "violence_insecurity": 0.97, "lack_of_rights": 0.1, "personal_family": 0.15,
                 "lack_of_services": 0.15},
        incidents={"death_witnessed": 0.5, "physical_violence": 0.2, "robbery": 0.3, "extortion_bribery": 0.2,
                   "detention": 0.1},
        perp={"criminal_gangs": 20, "armed_groups": 35, "smugglers": 1, "border_officials": 10,
              "military_police": 20, "other_migrants": 4, "local_population": 5, "unknown": 5},
        transport={"train": 0.55, "bus_car": 0.75, "on_foot": 0.1},
        reasons={"safety": 0.85, "family_friends": 0.35, "language_culture": 0.2, "rights_asylum": 0.2,
                 "jobs": 0.2, "easy_entry": 0.45, "services": 0.25},
        needs={"cash": 0.4, "employment": 0.5, "legal_documentation": 0.2, "food": 0.15, "shelter": 0.3,
               "psychosocial": 0.25, "information": 0.3},
    ),
    # Iraqis, Iranians and Congolese through Turkey to Greece.
    "eastmed": dict(
        smug=0.85, inc=0.45, fee_leg=1500, dur_leg=30, age=28, social_apps=0.85, assist=0.5,
        edu={"none": 8, "religious": 2, "primary": 25, "secondary": 40, "vocational": 10, "university": 15},
        drivers={"economic": 0.6, "violence_insecurity": 0.45, "lack_of_rights": 0.4},
        perp={"criminal_gangs": 15, "armed_groups": 5, "smugglers": 20, "border_officials": 35,
              "military_police": 20, "other_migrants": 2, "local_population": 2, "unknown": 1},
        reasons={"rights_asylum": 0.55, "safety": 0.5, "jobs": 0.5, "family_friends": 0.4},
    ),
}

# Extra fee for a sea crossing into the country of interview (USD, before the corridor's trend).
SEA_PREMIUM = {"ITA": 1500, "GRC": 2000, "YEM": 150}
# Site-level effects the corridors alone do not give: smuggler use is over two thirds in Libya and about
# half in the Sahel (section 2.5); Libya and Yemen are the most dangerous places to be interviewed in.
SITE_SMUGGLING = {"LBY": 1.2}
SITE_INCIDENTS = {"LBY": 1.22, "YEM": 1.05, "ITA": 1.15}
SITE_ASSISTANCE = {"ITA": 0.75, "GRC": 0.7, "POL": 0.85, "DEU": 0.85, "CHE": 0.85}

# Reasons for leaving by nationality, over the corridor's (a share of respondents for each code).
NATIONALITY_DRIVERS = {
    "ERI": {"lack_of_rights": 0.7, "economic": 0.7, "violence_insecurity": 0.1},
    "SDN": {"violence_insecurity": 0.2, "economic": 0.85, "lack_of_rights": 0.12},
    "SOM": {"violence_insecurity": 0.3, "environmental": 0.12},
    "SSD": {"violence_insecurity": 0.6},
    "COD": {"violence_insecurity": 0.5},
    "CMR": {"violence_insecurity": 0.15},
    "SYR": {"violence_insecurity": 0.6, "lack_of_rights": 0.3},
    "IRQ": {"violence_insecurity": 0.4},
    "MMR": {"violence_insecurity": 0.7, "lack_of_rights": 0.75, "economic": 0.55},
    "UKR": {"violence_insecurity": 0.97, "economic": 0.12},
    "VEN": {"lack_of_services": 0.6, "lack_of_rights": 0.12},
    "HTI": {"violence_insecurity": 0.45},
    "NIC": {"lack_of_rights": 0.55},
    "HND": {"violence_insecurity": 0.45},
    "SLV": {"violence_insecurity": 0.45},
    "CUB": {"lack_of_rights": 0.35},
}
# The same from a date on: the war in Sudan (April 2023), insecurity in Mali and Burkina Faso, the
# Taliban takeover in Afghanistan (August 2021).
NATIONALITY_DRIVERS_FROM = [
    ("SDN", "2023-04-15", {"violence_insecurity": 0.85}),
    ("MLI", "2022-01-01", {"violence_insecurity": 0.3}),
    ("BFA", "2022-01-01", {"violence_insecurity": 0.4}),
    ("AFG", "2021-08-15", {"violence_insecurity": 0.55, "lack_of_rights": 0.45}),
]
# Covid-19 as a reason for leaving, by date (it was "in some way a factor" for a third in 2020).
COVID_DRIVER = ((2020.0, 0.0), (2020.2, 0.05), (2021.1, 0.18), (2022.0, 0.12), (2023.0, 0.04), (2026.75, 0.02))

# Smugglers influenced the decision to migrate for 4% globally: 0% in Latin America, 2% in Asia, 5% in
# Eastern/Southern Africa, 7% in West/North Africa, 15% of Nigerians (section 2.3).
SMUGGLER_INFLUENCE = {"west_africa": 0.06, "north_africa": 0.06, "east_africa": 0.05, "southern_africa": 0.05,
                      "asia": 0.02, "latin_america": 0.0, "europe": 0.01}
SMUGGLER_INFLUENCE_NGA = 0.15

# =====================================================================================================
# Covid-19 module (April 2020 - January 2021, mostly by phone)
# =====================================================================================================

# country: (region, interviews a month, share of women, mean age); 13 countries across Africa, Asia
# and Latin America (section 2.9).
COVID_SITES = {
    "MLI": ("west_africa", 220, 0.25, 27), "NER": ("west_africa", 220, 0.22, 27),
    "BFA": ("west_africa", 160, 0.3, 27), "LBY": ("north_africa", 260, 0.4, 28),
    "TUN": ("north_africa", 160, 0.35, 28), "KEN": ("east_africa", 160, 0.4, 28),
    "SOM": ("east_africa", 110, 0.3, 25), "ETH": ("east_africa", 110, 0.45, 27),
    "AFG": ("asia", 160, 0.1, 29), "MYS": ("asia", 200, 0.38, 29), "IDN": ("asia", 80, 0.35, 28),
    "COL": ("latin_america", 260, 0.6, 32.8), "PER": ("latin_america", 200, 0.6, 32.8),
}
# Interviews ramped up after the first months (almost 7,000 from April to July 2020, section 2.9).
COVID_MONTHS = {"2020-04": 0.55, "2020-05": 0.75, "2020-06": 0.85}
COVID_PHASE_2 = "2020-07-01"
COVID_NATIONALITIES = {"AFG": {"AFG": 1}}  # other countries: from the core routes active in mid-2020

# Shares of all respondents (section 2.9 and 7): reduced access to work .63, loss of income .57; no
# access to health care for general conditions .39 (.23 in Malaysia, where 77% believed they had
# access), for Covid-19 .45; barriers: money .44, documents .23, information .22, discrimination .19.
COVID_IMPACTS = {"reduced_work": 0.63, "income_loss": 0.57, "less_food": 0.35, "less_services": 0.28,
                 "discrimination": 0.2, "movement_restrictions": 0.45, "detention": 0.03,
                 "cannot_send_remittances": 0.25, "eviction": 0.08}
COVID_BARRIERS = {"lack_of_money": 0.44, "no_documents": 0.23, "no_information": 0.22, "discrimination": 0.19,
                  "language": 0.12, "distance": 0.1, "fear_of_arrest": 0.08, "services_overwhelmed": 0.1}
COVID_NO_HEALTH_ACCESS = {"default": (0.40, 0.46), "MYS": (0.16, 0.25)}  # (general, Covid-19)
# Phase 2 (from July 2020): 47% found borders harder to cross; 37% said smugglers were needed more
# (44% in West Africa, 46% in Latin America); 43% found smugglers harder to reach; about half said
# fees went up; over 70% in Niger, Malaysia and Tunisia said routes became more dangerous.
COVID_NEED_SMUGGLERS = {"west_africa": 0.44, "latin_america": 0.46, "default": 0.27}
COVID_RISKIER_ROUTES = {"NER": 0.72, "MYS": 0.72, "TUN": 0.72, "default": 0.45}
# 18% in West Africa were not taking protective measures (section 2.9).
COVID_NO_MEASURES = {"west_africa": 0.18, "default": 0.1}

# =====================================================================================================
# Returns module (Afghans back in Afghanistan, 2021)
# =====================================================================================================

# Returned from Iran .61, Turkey .19, Pakistan .11, Europe .07, elsewhere .02 (section 2.10).
RETURNED_FROM = {"IRN": 0.61, "TUR": 0.19, "PAK": 0.11, "DEU": 0.022, "GRC": 0.015, "AUT": 0.01,
                 "FRA": 0.006, "SWE": 0.006, "GBR": 0.006, "BGR": 0.005, "IND": 0.006, "ARE": 0.006,
                 "RUS": 0.004, "IDN": 0.004}
EUROPE = {"DEU", "GRC", "AUT", "FRA", "SWE", "GBR", "BGR"}
# Hazara .27, Tajik .25, Pashtun .25 (section 2.10).
ETHNICITY = {"hazara": 0.27, "tajik": 0.25, "pashtun": 0.25, "uzbek": 0.1, "turkmen": 0.04, "baloch": 0.04,
             "other": 0.05}
# Province of interview by where people came back from: the border crossings with Iran are in Herat
# (Islam Qala) and Nimruz (Zaranj), with Pakistan in Nangarhar (Torkham); flights land in Kabul.
PROVINCE_BY_ORIGIN = {
    "IRN": {"kabul": 18, "herat": 32, "balkh": 10, "kunduz": 6, "nangarhar": 4, "kandahar": 8, "nimruz": 22},
    "TUR": {"kabul": 40, "herat": 20, "balkh": 12, "kunduz": 8, "nangarhar": 5, "kandahar": 5, "nimruz": 10},
    "PAK": {"kabul": 15, "herat": 3, "balkh": 7, "kunduz": 10, "nangarhar": 45, "kandahar": 18, "nimruz": 2},
    "europe": {"kabul": 70, "herat": 10, "balkh": 10, "kunduz": 3, "nangarhar": 4, "kandahar": 3, "nimruz": 0},
    "other": {"kabul": 60, "herat": 10, "balkh": 10, "kunduz": 5, "nangarhar": 10, "kandahar": 5, "nimruz": 0},
}
# How strongly each ethnic group is found in each province (then rescaled to the shares above).
ETHNICITY_BY_PROVINCE = {
    "kabul": {"hazara": 3, "tajik": 3, "pashtun": 2, "uzbek": 1, "turkmen": 0.5, "baloch": 0.3, "other": 1},
    "herat": {"hazara": 2, "tajik": 3, "pashtun": 1.5, "uzbek": 0.5, "turkmen": 0.5, "baloch": 0.5, "other": 1},
    "balkh": {"hazara": 1.5, "tajik": 2, "pashtun": 1, "uzbek": 4, "turkmen": 3, "baloch": 0.2, "other": 1},
    "kunduz": {"hazara": 0.5, "tajik": 2, "pashtun": 2, "uzbek": 3, "turkmen": 2, "baloch": 0.2, "other": 1},
    "nangarhar": {"hazara": 0.2, "tajik": 0.8, "pashtun": 6, "uzbek": 0.2, "turkmen": 0.1, "baloch": 0.2,
                  "other": 1},
    "kandahar": {"hazara": 0.5, "tajik": 0.5, "pashtun": 6, "uzbek": 0.2, "turkmen": 0.1, "baloch": 2, "other": 1},
    "nimruz": {"hazara": 1.5, "tajik": 1, "pashtun": 2, "uzbek": 0.2, "turkmen": 0.1, "baloch": 5, "other": 1},
}
RETURNS_MONTHS = {"2021-01": 0.8, "2021-02": 1.2, "2021-03": 1.3, "2021-04": 1.2, "2021-05": 1.0,
                  "2021-06": 1.0, "2021-07": 1.0, "2021-08": 0.4, "2021-09": 0.2, "2021-10": 0.5,
                  "2021-11": 0.8, "2021-12": 0.8}
TALIBAN_TAKEOVER = "2021-08-15"

# =====================================================================================================
# Countries and templates compiled once
# =====================================================================================================


def _parse_route(route: str, site: str) -> tuple[str, str, list[str]]:
    parts = route.split(">")
    if parts[-1] != site:
        raise ValueError(f"route {route!r} does not end in its country of interview {site}")
    nationality, _, departure = parts[0].partition("/")
    transits = parts[1:-1]
    if len(transits) > 3:
        raise ValueError(f"route {route!r} has more than three transit countries")
    return nationality, departure or nationality, transits


def _all_countries() -> list[str]:
    codes = set(CORE_SITES) | set(COVID_SITES) | set(RETURNED_FROM) | {"AFG"} | set(DANGER)
    for site, routes in CORE_ROUTES.items():
        for entry in routes:
            nationality, departure, transits = _parse_route(entry[0], site)
            codes |= {nationality, departure, *transits}
    for weights in DESTINATIONS.values():
        codes |= {c for c in weights if c not in ("HERE", "HOME")}
    return sorted(codes)


COUNTRIES = _all_countries()
_CI = {c: i for i, c in enumerate(COUNTRIES)}
_HERE, _HOME = -2, -3


def _month_index(month: str) -> int:
    year, mon = month.split("-")[:2]
    return int(year) * 12 + int(mon) - 1


def _compile_templates() -> SimpleNamespace:
    rows = []
    sites = list(CORE_SITES)
    corridors = list(CORRIDORS)
    destinations = list(DESTINATIONS)
    for site, routes in CORE_ROUTES.items():
        for entry in routes:
            route, weight, corridor, dest = entry[:4]
            first = _month_index(entry[4]) if len(entry) > 4 else 0
            last = _month_index(entry[5]) if len(entry) > 5 else 10**6
            nationality, departure, transits = _parse_route(route, site)
            path = [departure, *transits, site]
            legs = list(zip(path, path[1:]))
            rows.append(dict(
                site=sites.index(site), nationality=_CI[nationality], departure=_CI[departure],
                transit=[_CI[c] for c in transits] + [-1] * (3 - len(transits)),
                corridor=corridors.index(corridor), dest=destinations.index(dest), weight=weight,
                first=first, last=last, legs=len(legs),
                sea=any(leg in SEA_LEGS for leg in legs), air=any(leg in AIR_LEGS for leg in legs),
            ))
    t = SimpleNamespace(sites=sites, corridors=corridors, destinations=destinations)
    for key in rows[0]:
        setattr(t, key, np.array([r[key] for r in rows]))
    return t


_TEMPLATES = _compile_templates()

# =====================================================================================================
# Sampling helpers (all vectorised over respondents)
# =====================================================================================================


def _choose(rng, weights, n: int) -> np.ndarray:
    """n draws of an index from one vector of weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _quota(rng, weights, n: int) -> np.ndarray:
    """n indices whose shares match the weights as closely as whole counts allow, in random order: for
    a small dataset whose defining split is a published figure."""
    p = np.asarray(weights, dtype=float) / np.sum(weights)
    counts = np.floor(p * n).astype(np.int64)
    counts[np.argsort(counts - p * n, kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(p)), counts))


def _choose_rows(rng, weights: np.ndarray) -> np.ndarray:
    """One index per row of a (rows, k) weight matrix; rows need not sum to one (but must not be 0)."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), weights.shape[1] - 1)


def _bits(rng, p: np.ndarray, common: np.ndarray | None = None, rho: float = 0.0) -> np.ndarray:
    """Independent yes/no per cell with probability p (rows, k); with `common`, each cell reuses the
    row's common uniform with probability rho, which ties the answers of one respondent together
    (a hardship or exposure factor) without changing any item's share."""
    u = rng.random(p.shape, dtype=np.float32)
    if common is not None and rho > 0:
        u = np.where(rng.random(p.shape, dtype=np.float32) < rho, common[:, None], u)
    return u < p


def _mask(bits: np.ndarray) -> np.ndarray:
    packed = np.packbits(bits, axis=1, bitorder="little")
    out = np.zeros(len(bits), dtype=np.int64)
    for byte in range(packed.shape[1]):
        out |= packed[:, byte].astype(np.int64) << (8 * byte)
    return out


def _at_least_one(rng, bits: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rows with no choice get one, drawn from `weights` (a multiple answer must not be empty)."""
    empty = ~bits.any(axis=1)
    if empty.any():
        w = np.broadcast_to(weights, bits.shape)[empty]
        bits[np.flatnonzero(empty), _choose_rows(rng, w)] = True
    return bits


def _gamma_age(rng, mean: np.ndarray) -> np.ndarray:
    shape = 2.2  # a long right tail: few respondents over 55
    return np.clip(np.rint(18 + rng.gamma(shape, (mean - 18) / shape)), 18, 80)


def _age_band(book, age: np.ndarray) -> np.ndarray:
    codes = np.array([book.ix("age_band", x) for x in ("18_24", "25_34", "35_44", "45_54", "55_plus")])
    return codes[np.searchsorted([25, 35, 45, 55], age, side="right")]


def _decimal_year(days: np.ndarray) -> np.ndarray:
    return 1970 + days / 365.2425


def _date_index(date: str) -> int:
    return (dt.date.fromisoformat(date) - dt.date(1970, 1, 1)).days


class _Book:
    """Codebook-aligned lookups: a code's index, and weight dicts as vectors in codebook order."""

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        self._index = {v.name: {c: i for i, c in enumerate(v.codes)} for v in codebook.variables.values()}

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def ix(self, var: str, code: str) -> int:
        try:
            return self._index[var][code]
        except KeyError:
            raise KeyError(f"{self.codebook.dataset}: variable {var!r} has no choice {code!r}") from None

    def k(self, var: str) -> int:
        return len(self._index[var])

    def vec(self, var: str, weights: dict) -> np.ndarray:
        out = np.zeros(self.k(var))
        for code, w in weights.items():
            out[self.ix(var, code)] = w
        return out

    def table(self, var: str, rows: list[dict]) -> np.ndarray:
        return np.stack([self.vec(var, r) for r in rows])


def _months(start: dt.date, end: dt.date) -> np.ndarray:
    return np.arange(start.year * 12 + start.month - 1, end.year * 12 + end.month)


def _month_days(months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First day (days since 1970) and length of each month index (year*12 + month-1)."""
    firsts = np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months], dtype="datetime64[M]")
    start = firsts.astype("datetime64[D]").astype(np.int64)
    length = (firsts + 1).astype("datetime64[D]").astype(np.int64) - start
    return start, length


def _draw_dates(rng, months: np.ndarray, month_of_cell: np.ndarray, cell: np.ndarray,
                window: tuple[int, int]) -> np.ndarray:
    """A day within each drawn cell's month, kept inside the fieldwork window."""
    start, length = _month_days(months)
    m = month_of_cell[cell]
    days = start[m] + np.floor(rng.random(len(cell)) * length[m]).astype(np.int64)
    return np.clip(days, window[0], window[1])


# =====================================================================================================
# Core survey
# =====================================================================================================


def _corridor(name: str) -> dict:
    out = {}
    for key, default in _CORRIDOR_DEFAULTS.items():
        value = CORRIDORS[name].get(key, default)
        if isinstance(default, dict) and key not in ("edu", "emp", "reliable"):
            value = {**default, **value}
        out[key] = value
    return out


_CORE_CACHE: dict[int, tuple[Codebook, SimpleNamespace]] = {}


def _core_tables(book: _Book) -> SimpleNamespace:
    cb = book.codebook
    cached = _CORE_CACHE.get(id(cb))
    if cached is not None and cached[0] is cb:
        return cached[1]
    T = _TEMPLATES
    # Pairs of questions whose answers are picked together rely on listing the same codes in order.
    for first, second in (("drivers", "main_driver"), ("info_sources", "most_reliable_source"),
                          ("needs", "most_urgent_need")):
        if cb[first].codes[: len(cb[second].codes)] != cb[second].codes:
            raise ValueError(f"core codebook: {second!r} must list the codes of {first!r} in the same order")
    c = SimpleNamespace()
    corridors = [_corridor(name) for name in T.corridors]

    # Interview cells: (month, route template), weighted by each site's monthly interviews.
    months = _months(cb.period_start, cb.period_end)
    pause = (_month_index(CORE_PAUSE[0]), _month_index(CORE_PAUSE[1]))
    weights = np.zeros((len(months), len(T.site)))
    for s, (_, first, last, per_month, _) in enumerate(CORE_SITES.values()):
        lo, hi = _month_index(first), _month_index(last) if last else 10**6
        for mi, m in enumerate(months):
            if not lo <= m <= hi:
                continue
            active = (T.site == s) & (T.first <= m) & (T.last >= m)
            if active.any():
                weights[mi, active] = per_month * T.weight[active] / T.weight[active].sum()
    in_pause = (months > pause[0]) & (months <= pause[1])
    weights[in_pause] = 0
    weights[months == pause[0]] *= 0.5  # fieldwork stopped mid-March 2020
    flat = weights.ravel()
    c.cell_p = flat / flat.sum()
    c.months = months
    c.cell_month = np.repeat(np.arange(len(months)), len(T.site))
    c.cell_template = np.tile(np.arange(len(T.site)), len(months))
    c.window = (_date_index(cb.period_start.isoformat()), _date_index(cb.period_end.isoformat()))
    c.pause = (_date_index(CORE_PAUSE[0]), _date_index(CORE_PAUSE[1]))

    # Sites.
    c.site_country = np.array([_CI[s] for s in CORE_SITES])
    c.site_region = np.array([book.ix("region_of_interview", v[0]) for v in CORE_SITES.values()])
    c.site_region_code = np.array([v[0] for v in CORE_SITES.values()])
    c.site_women = np.array([v[4] for v in CORE_SITES.values()])
    c.site_smug = np.array([SITE_SMUGGLING.get(s, 1.0) for s in CORE_SITES])
    c.site_inc = np.array([SITE_INCIDENTS.get(s, 1.0) for s in CORE_SITES])
    c.site_assist = np.array([SITE_ASSISTANCE.get(s, np.nan) for s in CORE_SITES])
    width = max(len(t) for t in TOWNS.values())
    c.town_code = np.full((len(CORE_SITES), width), -1)
    c.town_p = np.zeros((len(CORE_SITES), width))
    for s, site in enumerate(CORE_SITES):
        for j, (town, w) in enumerate(TOWNS[site].items()):
            c.town_code[s, j] = book.ix("interview_town", town)
            c.town_p[s, j] = w
    c.legal_site = book.table("legal_status", [LEGAL_STATUS.get(s, LEGAL_STATUS["default"]) for s in CORE_SITES])
    c.legal_ecowas = book.vec("legal_status", LEGAL_STATUS["ecowas"])
    c.site_ecowas = np.array([s in ("NER", "MLI", "BFA", "GIN") for s in CORE_SITES])
    c.ecowas = np.zeros(len(COUNTRIES), bool)
    c.ecowas[[_CI[x] for x in ECOWAS if x in _CI]] = True

    # Corridors.
    for key in ("smug", "inc", "fee_leg", "dur_leg", "age", "info_before", "social_apps", "assist",
                "sexual_women"):
        setattr(c, key, np.array([float(k[key]) for k in corridors]))
    c.info_during = np.array([k["info_during"] for k in corridors])
    c.alone = np.array([k["alone"] for k in corridors])
    month_mid = months / 12 + 1 / 24  # decimal year at mid-month
    c.fee_trend = np.stack([np.interp(month_mid, *zip(*k["fee_trend"])) for k in corridors])
    for key, var in (("edu", "education"), ("emp", "employment_before"), ("drivers", "drivers"),
                     ("incidents", "incident_types"), ("perp", "perpetrators"),
                     ("reliable", "most_reliable_source"), ("sources", "info_sources"),
                     ("reasons", "destination_reasons"), ("transport", "transport_modes"),
                     ("services", "smuggler_services"), ("needs", "needs")):
        setattr(c, key, book.table(var, [k[key] for k in corridors]))

    # Nationality effects on reasons for leaving.
    k = book.k("drivers")
    c.nat_drivers = np.full((len(COUNTRIES), k), np.nan)
    for nat, probs in NATIONALITY_DRIVERS.items():
        for code, p in probs.items():
            c.nat_drivers[_CI[nat], book.ix("drivers", code)] = p
    c.nat_drivers_from = [(_CI[nat], _date_index(date), probs) for nat, date, probs in NATIONALITY_DRIVERS_FROM]

    # Destinations, with HERE/HOME tokens.
    width = max(len(d) for d in DESTINATIONS.values())
    c.dest_code = np.full((len(DESTINATIONS), width), -1)
    c.dest_p = np.zeros((len(DESTINATIONS), width))
    for d, weights_ in enumerate(DESTINATIONS.values()):
        for j, (code, w) in enumerate(weights_.items()):
            c.dest_code[d, j] = {"HERE": _HERE, "HOME": _HOME}.get(code, _CI.get(code, -1))
            c.dest_p[d, j] = w

    # Countries: danger and the places incidents happen.
    c.danger = np.array([DANGER.get(x, 1.0) for x in COUNTRIES])
    c.sea_premium = np.array([SEA_PREMIUM.get(x, 0.0) for x in COUNTRIES])
    profiles = list(INCIDENT_PLACES)
    place_table = book.table("incident_location_type", [INCIDENT_PLACES[p] for p in profiles])
    c.place_of_country = place_table[[profiles.index(INCIDENT_PLACE_OF.get(x, "other")) for x in COUNTRIES]]
    c.sea_place = book.ix("incident_location_type", "sea")
    c.region_influence = np.array([SMUGGLER_INFLUENCE[r] for r in book.codebook["region_of_interview"].codes])
    _CORE_CACHE[id(cb)] = (cb, c)
    return c


def _yes_no(book: _Book, name: str, flag: np.ndarray) -> np.ndarray:
    return np.where(flag, book.ix(name, "yes"), book.ix(name, "no"))


def _core(rng, n: int, book: _Book) -> dict[str, np.ndarray]:
    """The core survey's answers, one function per section of the questionnaire, run in this order:
    each draws from the same random stream in turn (so the order is part of the data: a new draw goes
    at the end of its section, and changes the data from there on) and may read what earlier sections
    decided about the respondents (`r`). A new question goes into its section's function."""
    c = _core_tables(book)
    a: dict[str, np.ndarray] = {}
    r = SimpleNamespace(n=n)
    for section in (_core_sampling, _core_profile, _core_drivers, _core_smuggling, _core_journey,
                    _core_protection, _core_looking_back, _core_information, _core_destinations, _core_needs):
        section(rng, book, c, r, a)
    return a


def _core_sampling(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """When, where and on which route each respondent was interviewed, and where they come from."""
    T, n = _TEMPLATES, r.n
    cell = rng.choice(len(c.cell_p), size=n, p=c.cell_p)
    days = _draw_dates(rng, c.months, c.cell_month, cell, c.window)
    # March 2020 counts half a month: fold the days after fieldwork stopped back into its first half.
    days = np.where((days > c.pause[0]) & (days <= c.pause[1]), 2 * c.pause[0] - days, days)
    order = np.argsort(days, kind="stable")  # respondent ids follow the interview dates
    cell, days = cell[order], days[order]
    month = c.cell_month[cell]
    tpl = c.cell_template[cell]
    year = _decimal_year(days)
    site = T.site[tpl]
    corr = T.corridor[tpl]
    nat = T.nationality[tpl]
    country = c.site_country[site]
    region_code = c.site_region_code[site]
    a["interview_date"] = days
    a["country_of_interview"] = country
    a["region_of_interview"] = c.site_region[site]
    a["interview_town"] = c.town_code[site, _choose_rows(rng, c.town_p[site])]
    a["nationality"] = nat
    a["country_of_departure"] = T.departure[tpl]
    for i in range(3):
        a[f"transit_country_{i + 1}"] = T.transit[tpl, i]
    r.days, r.month, r.tpl, r.year, r.site, r.corr, r.nat, r.country, r.region_code = days, month, tpl, year, site, corr, nat, country, region_code


def _core_profile(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Profiles: gender, age, marital status, children, education, work before leaving, legal status."""
    G, n = book.ix, r.n
    nat, site, corr = r.nat, r.site, r.corr
    women_share = np.where(nat == _CI["UKR"], 0.78, c.site_women[site])
    u = rng.random(n)
    woman = u < women_share
    other_gender = u > 0.997
    a["gender"] = np.where(other_gender, G("gender", "other"), np.where(woman, G("gender", "woman"),
                                                                        G("gender", "man")))
    woman_like = woman | other_gender
    age = _gamma_age(rng, c.age[corr])
    a["age"] = age
    a["age_band"] = _age_band(book, age)

    p_married = np.select([age < 25, age < 35, age < 45], [0.25, 0.55, 0.68], 0.72) + 0.05 * woman
    u = rng.random(n)
    marital = np.select([u < p_married, u < p_married + 0.05, u < p_married + 0.05 + 0.01 * (age - 18) / 10],
                        [G("marital_status", "married"), G("marital_status", "divorced_separated"),
                         G("marital_status", "widowed")], G("marital_status", "single"))
    a["marital_status"] = marital
    single = marital == G("marital_status", "single")
    has_children = rng.random(n) < np.where(single, 0.12, 0.8)

    girls_schooling = book.vec("education", {"none": 1.3, "religious": 1.1, "primary": 1, "secondary": 0.9,
                                             "vocational": 0.8, "university": 0.8})
    edu = _choose_rows(rng, c.edu[corr] * np.where(woman[:, None], girls_schooling, 1))
    a["education"] = edu
    emp_weights = c.emp[corr].copy()
    codes_emp = ["employed", "self_employed", "daily_labour", "unemployed", "student", "homemaker"]
    e = {code: G("employment_before", code) for code in codes_emp}
    uni = edu == G("education", "university")
    emp_weights[:, e["employed"]] *= np.where(uni, 2.5, 1)
    emp_weights[:, e["daily_labour"]] *= np.where(uni, 0.3, np.where(woman, 0.6, 1))
    emp_weights[:, e["homemaker"]] *= np.where(woman, 5, 0.1)
    emp_weights[:, e["student"]] *= np.where(age < 25, 2.5, 0.3)
    a["employment_before"] = _choose_rows(rng, emp_weights)

    legal_weights = np.where((c.site_ecowas[site] & c.ecowas[nat])[:, None], c.legal_ecowas, c.legal_site[site])
    a["legal_status"] = _choose_rows(rng, legal_weights)
    r.woman, r.woman_like, r.marital, r.has_children = woman, woman_like, marital, has_children


def _core_drivers(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Drivers: the reasons for leaving, the main one, and who influenced the decision."""
    G, n = book.ix, r.n
    nat, days, year, corr = r.nat, r.days, r.year, r.corr
    p_drivers = c.drivers[corr].copy()
    override = c.nat_drivers[nat]
    p_drivers = np.where(np.isnan(override), p_drivers, override)
    for nat_i, since, probs in c.nat_drivers_from:
        rows = (nat == nat_i) & (days >= since)
        for code, p in probs.items():
            p_drivers[rows, G("drivers", code)] = p
    p_drivers[:, G("drivers", "covid19")] = np.interp(year, *zip(*COVID_DRIVER))
    drivers = _at_least_one(rng, _bits(rng, p_drivers), p_drivers)
    a["drivers"] = _mask(drivers)
    # The main reason is one of the reasons given, economic ones first where they are given.
    priority = book.vec("main_driver", {"economic": 3, "violence_insecurity": 4, "lack_of_rights": 3,
                                        "personal_family": 1, "lack_of_services": 1.5, "environmental": 1,
                                        "covid19": 1, "other": 0.5})
    a["main_driver"] = _choose_rows(rng, drivers * priority)

    p_own = 0.5
    smuggler_influence = np.where(nat == _CI["NGA"], SMUGGLER_INFLUENCE_NGA,
                                  c.region_influence[a["region_of_interview"]])
    p_influence = np.tile(book.vec("decision_influence", {
        "family_origin": 0.45, "family_abroad": 0.3, "friends": 0.2, "other_migrants": 0.12,
        "community_leaders": 0.05, "social_media": 0.1}), (n, 1))
    p_influence[:, G("decision_influence", "smugglers")] = smuggler_influence / (1 - p_own)
    own = rng.random(n) < p_own
    influence = _bits(rng, p_influence) & ~own[:, None]
    influence[:, G("decision_influence", "own_decision")] = own
    a["decision_influence"] = _mask(_at_least_one(rng, influence, book.vec(
        "decision_influence", {"family_origin": 1})))


def _core_smuggling(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Smuggling: whether a smuggler was used, the services, the amount paid, contact and payment."""
    T, n = _TEMPLATES, r.n
    corr, site, tpl, country, month, nat, region_code = r.corr, r.site, r.tpl, r.country, r.month, r.nat, r.region_code
    smuggler = rng.random(n) < np.minimum(c.smug[corr] * c.site_smug[site], 0.97)
    a["used_smuggler"] = _yes_no(book, "used_smuggler", smuggler)
    services = _at_least_one(rng, _bits(rng, c.services[corr]), book.vec("smuggler_services", {"transport": 1}))
    services &= smuggler[:, None]
    a["smuggler_services"] = np.where(smuggler, _mask(services), -1)
    n_services = services.sum(axis=1)

    fee_median = (c.fee_leg[corr] * T.legs[tpl] + c.sea_premium[country]) * c.fee_trend[corr, month]
    fee = np.round(fee_median * np.exp(0.35 * rng.standard_normal(n)), -1)
    a["amount_paid_usd"] = np.where(smuggler, np.maximum(fee, 10), np.nan)
    a["smuggler_contact"] = np.where(smuggler, _choose_rows(rng, np.tile(book.vec("smuggler_contact", {
        "in_person_origin": 30, "in_person_transit": 35, "phone_social_media": 12, "family_friends": 15,
        "approached": 8}), (n, 1)) * np.where(
        (region_code == "latin_america")[:, None] | (nat == _CI["AFG"])[:, None],
        book.vec("smuggler_contact", {"phone_social_media": 3}) + 1, 1)), -1)
    a["payment_timing"] = np.where(smuggler, _choose(rng, book.vec("payment_timing", {
        "before_departure": 35, "along_route": 35, "on_arrival": 10, "combination": 20}), n), -1)
    r.smuggler, r.n_services = smuggler, n_services


def _core_journey(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """The journey: transport, with whom, financing and whether it sufficed, duration, accommodation."""
    G, T, n = book.ix, _TEMPLATES, r.n
    corr, tpl, woman_like, marital, has_children, smuggler = r.corr, r.tpl, r.woman_like, r.marital, r.has_children, r.smuggler
    transport = _bits(rng, c.transport[corr])
    transport[:, G("transport_modes", "boat")] |= T.sea[tpl]
    transport[:, G("transport_modes", "plane")] |= T.air[tpl] & (rng.random(n) < 0.95)
    a["transport_modes"] = _mask(_at_least_one(rng, transport, book.vec("transport_modes", {"bus_car": 1})))

    alone = rng.random(n) < np.where(woman_like, c.alone[corr, 1], c.alone[corr, 0])
    p_with = np.tile(book.vec("travelling_with", {"partner": 0.0, "children": 0.0, "other_family": 0.3,
                                                  "friends": 0.35, "other_migrants": 0.3}), (n, 1))
    p_with[:, G("travelling_with", "partner")] = np.where(marital == G("marital_status", "married"), 0.55, 0.02)
    p_with[:, G("travelling_with", "children")] = np.where(has_children, np.where(woman_like, 0.7, 0.3), 0)
    with_whom = _bits(rng, p_with) & ~alone[:, None]
    with_whom[:, G("travelling_with", "alone")] = alone
    with_whom = _at_least_one(rng, with_whom, book.vec("travelling_with", {"friends": 1, "other_migrants": 1}))
    a["travelling_with"] = _mask(with_whom)
    has_children |= with_whom[:, G("travelling_with", "children")]
    a["has_children"] = _yes_no(book, "has_children", has_children)

    p_fin = np.tile(book.vec("financing", {"savings": 0.55, "family_origin": 0.35, "family_abroad": 0.2,
                                           "loan": 0.15, "sold_assets": 0.15, "other": 0.03}), (n, 1))
    long_journey = T.legs[tpl] >= 2
    p_fin[:, G("financing", "work_en_route")] = np.where(long_journey & (c.dur_leg[corr] >= 20), 0.4, 0.1)
    financing = _at_least_one(rng, _bits(rng, p_fin), book.vec("financing", {"savings": 1}))
    a["financing"] = _mask(financing)
    borrowed = financing[:, G("financing", "loan")] | financing[:, G("financing", "work_en_route")]
    u = rng.random(n)
    p_short = 0.3 + 0.25 * borrowed + 0.12 * smuggler
    a["funds_sufficient"] = np.select([u < p_short, u < p_short + 0.1], [G("funds_sufficient", "no"),
                                                                         G("funds_sufficient", "dont_know")],
                                      G("funds_sufficient", "yes"))
    funds_short = a["funds_sufficient"] == G("funds_sufficient", "no")
    funds_unknown = a["funds_sufficient"] == G("funds_sufficient", "dont_know")

    duration = c.dur_leg[corr] * T.legs[tpl] ** 0.9 * np.where(financing[:, G("financing", "work_en_route")],
                                                               1.6, 1)
    a["journey_duration_days"] = np.maximum(np.rint(duration * np.exp(0.75 * rng.standard_normal(n))), 1)

    p_accommodation = np.tile(book.vec("accommodation", {"rented_hotel": 0.3, "family_friends": 0.3,
                                                         "camps_shelters": 0.25, "informal_settlements": 0.15,
                                                         "outdoors": 0.25}), (n, 1))
    p_accommodation[:, G("accommodation", "smuggler_houses")] = np.where(smuggler, 0.45, 0)
    p_accommodation[:, G("accommodation", "workplace")] = np.where(
        financing[:, G("financing", "work_en_route")], 0.5, 0.03)
    a["accommodation"] = _mask(_at_least_one(rng, _bits(rng, p_accommodation), book.vec(
        "accommodation", {"rented_hotel": 1, "family_friends": 1, "outdoors": 1})))
    r.funds_short, r.funds_unknown = funds_short, funds_unknown


def _core_protection(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Protection risks: incidents, where they happened, perpetrators, reporting, dangerous places."""
    G, T, n = book.ix, _TEMPLATES, r.n
    corr, site, smuggler, n_services, woman_like, tpl, country, nat, funds_short, funds_unknown = r.corr, r.site, r.smuggler, r.n_services, r.woman_like, r.tpl, r.country, r.nat, r.funds_short, r.funds_unknown
    # Smuggler users report more incidents, and more so the more services they bought (section 2.5).
    p_incident = c.inc[corr] * c.site_inc[site] * np.where(smuggler, 1.18 + 0.04 * (n_services - 3), 0.78)
    incident = rng.random(n) < np.clip(p_incident, 0, 0.97)
    inc_rows = np.flatnonzero(incident)
    m = len(inc_rows)
    p_types = c.incidents[corr[inc_rows]].copy()
    sexual = G("incident_types", "sexual_violence")
    p_types[:, sexual] = np.where(woman_like[inc_rows], c.sexual_women[corr[inc_rows]], p_types[:, sexual])
    none_bit = G("incident_types", "none")
    p_types[:, none_bit] = 0
    types = _at_least_one(rng, _bits(rng, p_types), p_types)
    incident_mask = np.full(n, 1 << none_bit, dtype=np.int64)
    incident_mask[inc_rows] = _mask(types)
    a["incident_types"] = incident_mask

    route = np.stack([T.departure[tpl], *(T.transit[tpl, i] for i in range(3)), country], axis=1)[inc_rows]
    route_weights = np.where(route >= 0, c.danger[np.maximum(route, 0)], 0) * [0.3, 1, 1, 1, 1]
    where = route[np.arange(m), _choose_rows(rng, route_weights)]
    incident_country = np.full(n, -1)
    incident_country[inc_rows] = where
    a["incident_country"] = incident_country
    place_weights = c.place_of_country[where].copy()
    place_weights[:, c.sea_place] *= T.sea[tpl[inc_rows]]
    place_weights[place_weights.sum(axis=1) == 0, G("incident_location_type", "city_town")] = 1
    place = np.full(n, -1)
    place[inc_rows] = _choose_rows(rng, place_weights)
    a["incident_location_type"] = place

    # Perpetrators: one or two per respondent. Smugglers are named far more by smuggler users, more
    # when their money ran out (57% of such mentions vs 33% with enough funds) and by Eritreans (36%).
    perp_w = c.perp[corr[inc_rows]].copy()
    by_smugglers = G("perpetrators", "smugglers")
    ri = inc_rows
    perp_w[:, by_smugglers] *= (np.where(smuggler[ri], 1.0, 0.12) * np.where(funds_short[ri], 1.35, np.where(
        funds_unknown[ri], 1.1, 0.9)) * np.where(nat[ri] == _CI["ERI"], 1.8, 1))
    first = _choose_rows(rng, perp_w)
    perp_w2 = perp_w.copy()
    perp_w2[np.arange(m), first] = 0
    second = _choose_rows(rng, perp_w2)
    two = rng.random(m) < 0.35
    perpetrators = np.full(n, -1, dtype=np.int64)
    perpetrators[ri] = (1 << first) | np.where(two, 1 << second, 0)
    a["perpetrators"] = perpetrators
    smuggler_blamed = np.zeros(n, bool)
    smuggler_blamed[ri] = (first == by_smugglers) | (two & (second == by_smugglers))

    a["incident_reported"] = np.where(incident, _choose(rng, book.vec("incident_reported", {
        "authorities": 5, "un_ngo": 12, "community": 13, "not_reported": 70}), n), -1)
    # Smuggler users name a dangerous place more often: 73% against 41% (section 2.5); having had an
    # incident makes it likelier still, with the same overall shares.
    target = np.where(smuggler, 0.73, 0.41) * np.where(corr == T.corridors.index("ukraine"), 0.4, 1)
    p_incident_c = np.clip(p_incident, 0, 0.97)
    q_incident = np.minimum(target + (1 - target) * 0.5, target / p_incident_c)
    q_none = np.clip((target - q_incident * p_incident_c) / (1 - p_incident_c), 0, 1)
    a["named_dangerous_location"] = _yes_no(book, "named_dangerous_location",
                                       rng.random(n) < np.where(incident, q_incident, q_none))
    r.incident, r.smuggler_blamed = incident, smuggler_blamed


def _core_looking_back(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Looking back, in the light of the incidents: the smuggler's deception and how smugglers are
    seen (smuggling), the journey's total cost and how it compared with what was expected (journey)."""
    G, T, n = book.ix, _TEMPLATES, r.n
    smuggler, smuggler_blamed, incident, corr, tpl, month, woman = r.smuggler, r.smuggler_blamed, r.incident, r.corr, r.tpl, r.month, r.woman
    u = rng.random(n)
    p_deceived = np.where(smuggler_blamed, 0.7, 0.25 + 0.15 * incident)
    a["smuggler_deceived"] = np.where(smuggler, np.select(
        [u < p_deceived, u < p_deceived + 0.12], [G("smuggler_deceived", "yes"), G("smuggler_deceived", "dont_know")],
        G("smuggler_deceived", "no")), -1)
    perception = np.tile(book.vec("smuggler_perception", {"helped": 25, "service_provider": 35, "criminal": 20,
                                                          "mixed": 15, "dont_know": 5}), (n, 1))
    perception[:, G("smuggler_perception", "criminal")] *= np.where(smuggler_blamed, 5, 1)
    a["smuggler_perception"] = np.where(smuggler, _choose_rows(rng, perception), -1)

    cost = np.where(smuggler, a["amount_paid_usd"] * rng.uniform(1.15, 1.9, n),
                    c.fee_leg[corr] * T.legs[tpl] * 0.45 * c.fee_trend[corr, month]
                    * np.exp(0.6 * rng.standard_normal(n)))
    a["total_cost_usd"] = np.maximum(np.round(cost, -1), 0)

    u = rng.random(n)
    p_harder = 0.42 + 0.28 * incident + 0.05 * woman
    a["journey_expectation"] = np.select(
        [u < p_harder, u < p_harder + 0.22, u < p_harder + 0.27],
        [G("journey_expectation", "harder"), G("journey_expectation", "as_expected"),
         G("journey_expectation", "easier")], G("journey_expectation", "no_expectations"))


def _core_information(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Access to information: before and during the journey, sources, channels, needs."""
    G, n = book.ix, r.n
    corr, smuggler, incident = r.corr, r.smuggler, r.incident
    before = rng.random(n) < c.info_before[corr]
    during = rng.random(n) < np.where(before, c.info_during[corr, 0], c.info_during[corr, 1])
    informed = before | during
    a["info_before_departure"] = _yes_no(book, "info_before_departure", before)
    a["info_during_journey"] = _yes_no(book, "info_during_journey", during)
    reliable_w = c.reliable[corr].copy()
    reliable_w[:, G("most_reliable_source", "smugglers")] *= np.where(smuggler, 1.0, 0.3)
    reliable = _choose_rows(rng, reliable_w)
    a["most_reliable_source"] = np.where(informed, reliable, -1)
    sources = _bits(rng, c.sources[corr])
    # Source codes are listed in the same order in both questions, so the reliable one is among them.
    sources[np.arange(n), reliable] = True
    a["info_sources"] = np.where(informed, _mask(sources), -1)
    p_channels = np.tile(book.vec("info_channels", {"in_person": 0.5, "phone_call": 0.45,
                                                    "internet_websites": 0.2, "tv_radio": 0.1,
                                                    "printed": 0.03}), (n, 1))
    p_channels[:, G("info_channels", "social_media_apps")] = c.social_apps[corr]
    channels = _at_least_one(rng, _bits(rng, p_channels), book.vec("info_channels", {"in_person": 1}))
    a["info_channels"] = np.where(informed, _mask(channels), -1)
    p_needs_info = np.tile(book.vec("info_needs", {"routes": 0.35, "risks": 0.45, "costs": 0.3,
                                                   "legal_rules": 0.3, "jobs": 0.3, "services": 0.2,
                                                   "destination_life": 0.25}), (n, 1))
    p_needs_info[:, G("info_needs", "risks")] += 0.15 * incident
    info_needs = _bits(rng, p_needs_info)
    none_needed = rng.random(n) < np.where(before, 0.15, 0.06)
    info_needs &= ~none_needed[:, None]
    info_needs[:, G("info_needs", "none")] = none_needed
    a["info_needs"] = _mask(_at_least_one(rng, info_needs, book.vec("info_needs", {"risks": 1})))


def _core_destinations(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Destinations and intentions."""
    G, T, n = book.ix, _TEMPLATES, r.n
    tpl, country, nat, corr, incident = r.tpl, r.country, r.nat, r.corr, r.incident
    dest_key = T.dest[tpl]
    drawn = c.dest_code[dest_key, _choose_rows(rng, c.dest_p[dest_key])]
    dest = np.where(drawn == _HERE, country, np.where(drawn == _HOME, nat, drawn))
    # A destination list shared by several nationalities may name the respondent's own country: read
    # it as staying where they are, unless the list meant going home.
    dest = np.where((dest == nat) & (drawn != _HOME), country, dest)
    a["intended_destination"] = dest
    influenced = (a["decision_influence"] >> G("decision_influence", "smugglers")) & 1
    p_reasons = c.reasons[corr].copy()
    p_reasons[:, G("destination_reasons", "smuggler_advice")] += 0.3 * influenced
    a["destination_reasons"] = _mask(_at_least_one(rng, _bits(rng, p_reasons), p_reasons))
    a["destination_changed"] = _yes_no(book, "destination_changed",
                                  rng.random(n) < 0.15 + 0.1 * (T.legs[tpl] >= 3) + 0.1 * incident)
    at_destination = dest == country
    going_home = dest == nat
    staying = book.vec("current_intention", {"stay": 80, "continue": 5, "return_origin": 5, "dont_know": 10})
    returning = book.vec("current_intention", {"return_origin": 80, "stay": 5, "dont_know": 15})
    moving_on = book.vec("current_intention", {"continue": 70, "stay": 10, "return_origin": 7, "dont_know": 13})
    a["current_intention"] = _choose_rows(rng, np.where(at_destination[:, None], staying,
                                                        np.where(going_home[:, None], returning, moving_on)))
    harder = a["journey_expectation"] == G("journey_expectation", "harder")
    u = rng.random(n)
    p_again = 0.58 - 0.2 * incident - 0.08 * harder
    a["would_migrate_again"] = np.select([u < p_again, u < p_again + 0.15],
                                         [G("would_migrate_again", "yes"), G("would_migrate_again", "dont_know")],
                                         G("would_migrate_again", "no"))
    u = rng.random(n)
    p_recommend = 0.32 - 0.15 * incident
    a["would_recommend"] = np.select([u < p_recommend, u < p_recommend + 0.15],
                                     [G("would_recommend", "yes"), G("would_recommend", "dont_know")],
                                     G("would_recommend", "no"))


def _core_needs(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Needs and assistance."""
    G, n = book.ix, r.n
    corr, country, region_code, incident, site = r.corr, r.country, r.region_code, r.incident, r.site
    p_needs = c.needs[corr].copy()
    p_needs[:, G("needs", "protection")] += np.where(country == _CI["LBY"], 0.15, 0) + 0.1 * incident
    p_needs[:, G("needs", "legal_documentation")] += np.where(region_code == "europe", 0.25, 0)
    p_needs[:, G("needs", "psychosocial")] += 0.08 * incident
    needs = _bits(rng, p_needs)
    no_needs = rng.random(n) < 0.05
    needs &= ~no_needs[:, None]
    needs = _at_least_one(rng, needs, p_needs + book.vec("needs", {"cash": 1})) & ~no_needs[:, None]
    needs[:, G("needs", "none")] = no_needs
    a["needs"] = _mask(needs)
    urgency = book.vec("most_urgent_need", {"food": 3, "water": 1.5, "shelter": 2, "cash": 3, "health": 2,
                                            "legal_documentation": 1.5, "information": 1, "psychosocial": 1,
                                            "hygiene": 1, "transport": 1, "employment": 2, "protection": 1.5})
    # Need codes are the same list in both questions, "none" last and absent from the urgent one.
    urgent_w = needs[:, : book.k("most_urgent_need")] * urgency
    urgent_w[no_needs] = 1
    a["most_urgent_need"] = np.where(no_needs, -1, _choose_rows(rng, urgent_w))

    p_assist = np.where(np.isnan(c.site_assist[site]), c.assist[corr], c.site_assist[site])
    assisted = rng.random(n) < p_assist
    a["assistance_received"] = _yes_no(book, "assistance_received", assisted)
    p_types_assist = np.tile(book.vec("assistance_types", {
        "food": 0.6, "water": 0.3, "shelter": 0.3, "cash": 0.35, "health": 0.3, "legal_documentation": 0.15,
        "information": 0.35, "psychosocial": 0.08, "hygiene": 0.3, "transport": 0.1}), (n, 1))
    assist_types = _at_least_one(rng, _bits(rng, p_types_assist), p_types_assist)
    a["assistance_types"] = np.where(assisted, _mask(assist_types), -1)
    p_providers = np.tile(book.vec("assistance_providers", {
        "un_agencies": 0.3, "ngos": 0.55, "red_cross_crescent": 0.2, "authorities": 0.1,
        "religious_organisations": 0.15, "local_population": 0.15, "other_migrants": 0.1}), (n, 1))
    p_providers[:, G("assistance_providers", "authorities")] += np.where(region_code == "europe", 0.4, 0)
    providers = _at_least_one(rng, _bits(rng, p_providers), p_providers)
    a["assistance_providers"] = np.where(assisted, _mask(providers), -1)


# =====================================================================================================
# Covid-19 module
# =====================================================================================================


def _covid_nationalities() -> dict[str, dict[str, float]]:
    """Nationalities by country of interview: the core routes active in mid-2020, else the table."""
    mid_2020 = _month_index("2020-06")
    out = dict(COVID_NATIONALITIES)
    for site in COVID_SITES:
        if site in out:
            continue
        weights: dict[str, float] = {}
        for entry in CORE_ROUTES[site]:
            first = _month_index(entry[4]) if len(entry) > 4 else 0
            if first <= mid_2020:
                nationality = _parse_route(entry[0], site)[0]
                weights[nationality] = weights.get(nationality, 0) + entry[1]
        out[site] = weights
    return out


def _covid(rng, n: int, book: _Book) -> dict[str, np.ndarray]:
    """The Covid-19 module's answers, one function per section of its questionnaire, run in this order
    (the order is part of the data, as in `_core`); `c` holds the interview sites, `r` what earlier
    sections decided about the respondents. A new question goes into its section's function."""
    c = SimpleNamespace(sites=list(COVID_SITES))
    a: dict[str, np.ndarray] = {}
    r = SimpleNamespace(n=n)
    for section in (_covid_sampling, _covid_profile, _covid_awareness, _covid_health, _covid_impacts,
                    _covid_journey_smuggling):
        section(rng, book, c, r, a)
    return a


def _covid_sampling(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """When and where each respondent was interviewed, and their nationality."""
    cb, G, n, sites = book.codebook, book.ix, r.n, c.sites
    months = _months(cb.period_start, cb.period_end)
    factor = np.array([COVID_MONTHS.get(f"{m // 12:04d}-{m % 12 + 1:02d}", 1.0) for m in months])
    per_month = np.array([v[1] for v in COVID_SITES.values()])
    weights = (factor[:, None] * per_month[None, :]).ravel()
    cell = rng.choice(len(weights), size=n, p=weights / weights.sum())
    window = (_date_index(cb.period_start.isoformat()), _date_index(cb.period_end.isoformat()))
    days = _draw_dates(rng, months, np.repeat(np.arange(len(months)), len(sites)), cell, window)
    order = np.argsort(days, kind="stable")
    cell, days = cell[order], days[order]
    site = cell % len(sites)
    region_code = np.array([v[0] for v in COVID_SITES.values()])[site]
    country = np.array([_CI[s] for s in sites])[site]
    a["interview_date"] = days
    a["country_of_interview"] = country
    a["region_of_interview"] = np.array([G("region_of_interview", v[0]) for v in COVID_SITES.values()])[site]

    nationalities = _covid_nationalities()
    width = max(len(v) for v in nationalities.values())
    nat_code = np.full((len(sites), width), -1)
    nat_p = np.zeros((len(sites), width))
    for s, site_code in enumerate(sites):
        for j, (code, w) in enumerate(nationalities[site_code].items()):
            nat_code[s, j], nat_p[s, j] = _CI[code], w
    nat = nat_code[site, _choose_rows(rng, nat_p[site])]
    a["nationality"] = nat
    r.days, r.site, r.region_code, r.country, r.nat = days, site, region_code, country, nat


def _covid_profile(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Profiles: gender, age, how they were interviewed, their situation and time in the country."""
    G, n = book.ix, r.n
    days, site, region_code, country, nat = r.days, r.site, r.region_code, r.country, r.nat
    women = np.array([v[2] for v in COVID_SITES.values()])[site]
    u = rng.random(n)
    woman = u < women
    a["gender"] = np.where(u > 0.997, G("gender", "other"), np.where(woman, G("gender", "woman"), G("gender", "man")))
    age = _gamma_age(rng, np.array([v[3] for v in COVID_SITES.values()])[site])
    a["age"] = age
    a["age_band"] = _age_band(book, age)

    phase_2 = days >= _date_index(COVID_PHASE_2)
    a["interview_mode"] = np.where(rng.random(n) < np.where(phase_2, 0.12, 0.0), G("interview_mode", "in_person"),
                                   G("interview_mode", "phone"))
    returned = country == nat
    latin = region_code == "latin_america"
    situation = np.tile(book.vec("current_situation", {"on_the_move": 35, "at_destination": 25, "stranded": 38,
                                                       "returned": 2}), (n, 1))
    situation[latin] = book.vec("current_situation", {"on_the_move": 15, "at_destination": 65, "stranded": 20})
    situation[returned] = book.vec("current_situation", {"returned": 1})
    a["current_situation"] = _choose_rows(rng, situation)
    stranded = a["current_situation"] == G("current_situation", "stranded")
    a["time_in_country"] = _choose(rng, book.vec("time_in_country", {
        "under_3_months": 20, "3_to_12_months": 35, "1_to_2_years": 25, "over_2_years": 20}), n)
    r.phase_2, r.latin, r.stranded = phase_2, latin, stranded


def _covid_awareness(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Awareness and information: symptoms known, sources, protective measures taken or why not."""
    G, n, region_code = book.ix, r.n, r.region_code
    a["covid_symptoms_known"] = _choose(rng, book.vec("covid_symptoms_known", {"yes": 70, "partly": 20, "no": 10}), n)
    p_sources = np.tile(book.vec("covid_info_sources", {
        "tv_radio": 0.45, "social_media": 0.55, "internet": 0.2, "family_friends": 0.35, "authorities": 0.15,
        "ngo_un": 0.15, "health_workers": 0.12, "community_leaders": 0.08}), (n, 1))
    info_sources = _bits(rng, p_sources)
    no_info = rng.random(n) < 0.04
    info_sources &= ~no_info[:, None]
    info_sources = _at_least_one(rng, info_sources, p_sources) & ~no_info[:, None]
    info_sources[:, G("covid_info_sources", "none")] = no_info
    a["covid_info_sources"] = _mask(info_sources)
    p_no_measures = np.where(region_code == "west_africa", COVID_NO_MEASURES["west_africa"],
                             COVID_NO_MEASURES["default"])
    measures = rng.random(n) >= p_no_measures
    a["protective_measures"] = np.where(measures, G("protective_measures", "yes"), G("protective_measures", "no"))
    p_taken = np.tile(book.vec("measures_taken", {"hand_washing": 0.8, "masks": 0.65, "distancing": 0.5,
                                                  "avoid_crowds": 0.45, "stay_home": 0.3, "sanitiser": 0.25}), (n, 1))
    a["measures_taken"] = np.where(measures, _mask(_at_least_one(rng, _bits(rng, p_taken), p_taken)), -1)
    p_why = np.tile(book.vec("no_measures_reasons", {"no_information": 0.3, "cannot_afford": 0.4,
                                                     "crowded_housing": 0.3, "must_work": 0.35,
                                                     "not_at_risk": 0.2, "other": 0.05}), (n, 1))
    a["no_measures_reasons"] = np.where(~measures, _mask(_at_least_one(rng, _bits(rng, p_why), p_why)), -1)


def _covid_health(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Access to health care, in general and for Covid-19, and the barriers. Draws the respondent's
    hardship that the impacts share: one respondent's answers move together (a common hardship
    draw), while each item keeps its published share."""
    G, n, site = book.ix, r.n, r.site
    hardship = rng.random(n)
    no_access = np.array([COVID_NO_HEALTH_ACCESS.get(s, COVID_NO_HEALTH_ACCESS["default"]) for s in c.sites])[site]
    dont_know = 0.07
    for name, column in (("health_access_general", 0), ("health_access_covid", 1)):
        u = np.where(rng.random(n) < 0.6, hardship, rng.random(n))
        a[name] = np.select([u < no_access[:, column], u < no_access[:, column] + dont_know],
                            [G(name, "no"), G(name, "dont_know")], G(name, "yes"))
    barriers = _bits(rng, np.tile(book.vec("health_barriers", COVID_BARRIERS), (n, 1)), hardship, 0.5)
    barriers[:, G("health_barriers", "none")] = ~barriers.any(axis=1)
    a["health_barriers"] = _mask(barriers)
    r.hardship = hardship


def _covid_impacts(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Impacts and needs: what changed, income, needs, assistance needed and received."""
    G, n, hardship = book.ix, r.n, r.hardship
    impacts = _bits(rng, np.tile(book.vec("covid_impacts", COVID_IMPACTS), (n, 1)), hardship, 0.6)
    impacts[:, G("covid_impacts", "none")] = ~impacts.any(axis=1)
    a["covid_impacts"] = _mask(impacts)
    # 57% lost income, and 29% had none left (section 2.9).
    lost = impacts[:, G("covid_impacts", "income_loss")]
    u = rng.random(n)
    a["current_income"] = np.where(
        lost, np.where(u < 0.45, G("current_income", "no_income"), G("current_income", "less")),
        np.select([u < 0.08, u < 0.16, u < 0.92], [G("current_income", "no_income"), G("current_income", "less"),
                                                   G("current_income", "same")], G("current_income", "more")))
    u = np.where(rng.random(n) < 0.5, hardship, rng.random(n))
    a["needs_change"] = np.select([u < 0.62, u < 0.92], [G("needs_change", "increased"), G("needs_change", "same")],
                                  G("needs_change", "decreased"))
    p_needs = np.tile(book.vec("covid_needs", {"cash": 0.6, "food": 0.5, "shelter": 0.25, "health": 0.2,
                                               "masks_hygiene": 0.3, "information": 0.15, "employment": 0.35,
                                               "legal": 0.1, "psychosocial": 0.08}), (n, 1))
    a["covid_needs"] = _mask(_at_least_one(rng, _bits(rng, p_needs, hardship, 0.4), p_needs))
    # Need for assistance 86%, receiving it 20% (section 2.8).
    a["assistance_needed"] = np.where(rng.random(n) < 0.86, G("assistance_needed", "yes"), G("assistance_needed", "no"))
    a["assistance_received"] = np.where(rng.random(n) < 0.20, G("assistance_received", "yes"),
                                        G("assistance_received", "no"))


def _covid_journey_smuggling(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Journeys and smuggling: asked from July 2020 (phase 2)."""
    G, n = book.ix, r.n
    phase_2, stranded, region_code, latin, site = r.phase_2, r.stranded, r.region_code, r.latin, r.site

    def phase_2_only(values):
        return np.where(phase_2, values, -1)

    a["covid_driver"] = phase_2_only(np.where(rng.random(n) < 0.35, G("covid_driver", "yes"), G("covid_driver", "no")))
    plans = np.tile(book.vec("migration_plans_change", {"no_change": 40, "delayed": 27, "changed_destination": 10,
                                                        "stay": 13, "return": 10}), (n, 1))
    plans[stranded, G("migration_plans_change", "delayed")] *= 2
    a["migration_plans_change"] = phase_2_only(_choose_rows(rng, plans))

    def yes_no_dk(name, p_yes, p_dk=0.15):
        u = rng.random(n)
        return phase_2_only(np.select([u < p_yes, u < p_yes + p_dk], [G(name, "yes"), G(name, "dont_know")],
                                      G(name, "no")))

    a["border_crossing_harder"] = yes_no_dk("border_crossing_harder", 0.47)
    p_need = np.select([region_code == "west_africa", latin], [COVID_NEED_SMUGGLERS["west_africa"],
                                                               COVID_NEED_SMUGGLERS["latin_america"]],
                       COVID_NEED_SMUGGLERS["default"])
    a["need_smugglers_more"] = yes_no_dk("need_smugglers_more", p_need)
    a["smuggler_access_harder"] = yes_no_dk("smuggler_access_harder", 0.43)
    a["smuggler_fees_change"] = phase_2_only(_choose(rng, book.vec("smuggler_fees_change", {
        "increased": 50, "same": 18, "decreased": 5, "dont_know": 27}), n))
    p_riskier = np.array([COVID_RISKIER_ROUTES.get(s, COVID_RISKIER_ROUTES["default"]) for s in c.sites])[site]
    a["smugglers_riskier_routes"] = yes_no_dk("smugglers_riskier_routes", p_riskier, 0.12)


# =====================================================================================================
# Returns module
# =====================================================================================================


def _conditional(row_p: np.ndarray, affinity: np.ndarray, col_p: np.ndarray, rounds: int = 200) -> np.ndarray:
    """P(column | row) that keeps the affinity pattern and gives the column shares `col_p` overall
    (iterative proportional fitting of the joint table)."""
    joint = affinity * row_p[:, None]
    joint /= joint.sum()
    for _ in range(rounds):
        joint *= (col_p / np.maximum(joint.sum(axis=0), 1e-12))[None, :]
        joint *= (row_p / np.maximum(joint.sum(axis=1), 1e-12))[:, None]
    return joint / joint.sum(axis=1, keepdims=True)


def _returns(rng, n: int, book: _Book) -> dict[str, np.ndarray]:
    """The Returns module's answers, one function per section of its questionnaire, run in this order
    (the order is part of the data, as in `_core`); `c` holds the groups of countries returned from,
    in the order of every per-group table, `r` what earlier sections decided about the respondents.
    A new question goes into its section's function."""
    c = SimpleNamespace(groups=["IRN", "TUR", "PAK", "europe", "other"])
    a: dict[str, np.ndarray] = {}
    r = SimpleNamespace(n=n)
    for section in (_returns_sampling, _returns_profile, _returns_migration_abroad, _returns_return,
                    _returns_reintegration, _returns_intentions):
        section(rng, book, c, r, a)
    return a


def _returns_sampling(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """When each respondent was interviewed: all in Afghanistan, all Afghans."""
    cb, G, n = book.codebook, book.ix, r.n
    months = _months(cb.period_start, cb.period_end)
    weights = np.array([RETURNS_MONTHS.get(f"{m // 12:04d}-{m % 12 + 1:02d}", 1.0) for m in months])
    cell = _choose(rng, weights, n)
    window = (_date_index(cb.period_start.isoformat()), _date_index(cb.period_end.isoformat()))
    days = np.sort(_draw_dates(rng, months, np.arange(len(months)), cell, window))
    after_takeover = days >= _date_index(TALIBAN_TAKEOVER)
    a["interview_date"] = days
    a["country_of_interview"] = np.full(n, _CI["AFG"])
    a["region_of_interview"] = np.full(n, G("region_of_interview", "asia"))
    a["nationality"] = np.full(n, _CI["AFG"])
    r.after_takeover = after_takeover


def _returns_profile(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Profiles: gender, age, interview mode, province, ethnicity, area of origin, education, marital
    status. The country returned from (migration abroad) is drawn here, as it decides the province."""
    G, n = book.ix, r.n
    cb, groups = book.codebook, c.groups
    # 84% men, mean age 29 (section 2.10).
    u = rng.random(n)
    woman = u < 0.16
    a["gender"] = np.where(u > 0.998, G("gender", "other"), np.where(woman, G("gender", "woman"), G("gender", "man")))
    age = _gamma_age(rng, np.full(n, 29.0))
    a["age"] = age
    a["age_band"] = _age_band(book, age)
    # 540 of 706 interviews were by phone (section 2.10).
    a["interview_mode"] = np.where(rng.random(n) < 540 / 706, G("interview_mode", "phone"),
                                   G("interview_mode", "in_person"))

    origins = list(RETURNED_FROM)
    origin = np.array([_CI[o] for o in origins])[_quota(rng, list(RETURNED_FROM.values()), n)]
    a["country_returned_from"] = origin
    from_iran, from_turkey, from_pakistan = origin == _CI["IRN"], origin == _CI["TUR"], origin == _CI["PAK"]
    from_europe = np.isin(origin, [_CI[x] for x in EUROPE])
    group = np.select([from_iran, from_turkey, from_pakistan, from_europe], [0, 1, 2, 3], 4)
    group_p = np.array([RETURNED_FROM["IRN"], RETURNED_FROM["TUR"], RETURNED_FROM["PAK"],
                        sum(RETURNED_FROM[x] for x in EUROPE), 0.0])
    group_p[4] = 1 - group_p[:4].sum()
    province_table = book.table("province", [PROVINCE_BY_ORIGIN[g] for g in groups])
    province = _choose_rows(rng, province_table[group])
    a["province"] = province
    province_p = group_p @ (province_table / province_table.sum(axis=1, keepdims=True))
    affinity = book.table("ethnicity", [ETHNICITY_BY_PROVINCE[p] for p in cb["province"].codes])
    ethnicity_given = _conditional(province_p, affinity, book.vec("ethnicity", ETHNICITY))
    a["ethnicity"] = _choose_rows(rng, ethnicity_given[province])
    # 58% rural (section 2.10).
    a["area_of_origin"] = np.where(rng.random(n) < 0.58, G("area_of_origin", "rural"), G("area_of_origin", "urban"))
    # Secondary 34%, primary 33% (section 2.10); women less schooled.
    edu_p = np.tile(book.vec("education", {"none": 16, "religious": 5, "primary": 34, "secondary": 36,
                                           "vocational": 2, "university": 7}), (n, 1))
    edu_p[woman] *= book.vec("education", {"none": 2, "religious": 1, "primary": 0.9, "secondary": 0.7,
                                           "vocational": 1, "university": 0.7})
    a["education"] = _choose_rows(rng, edu_p)
    p_married = np.select([age < 25, age < 35], [0.3, 0.65], 0.8)
    u = rng.random(n)
    a["marital_status"] = np.select([u < p_married, u < p_married + 0.02, u < p_married + 0.04],
                                    [G("marital_status", "married"), G("marital_status", "divorced_separated"),
                                     G("marital_status", "widowed")], G("marital_status", "single"))
    r.woman, r.origin, r.group, r.from_europe = woman, origin, group, from_europe


def _returns_migration_abroad(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Migration abroad: reasons for leaving, work before, time, legal status and work abroad, smuggling
    and incidents, by the group of countries returned from."""
    G, n = book.ix, r.n
    woman, group = r.woman, r.group
    # 62% were not working before they left (section 2.10).
    p_drivers = np.tile(book.vec("drivers", {"economic": 0.85, "violence_insecurity": 0.4, "lack_of_rights": 0.12,
                                             "personal_family": 0.15, "lack_of_services": 0.15,
                                             "environmental": 0.05, "covid19": 0.03, "other": 0.02}), (n, 1))
    drivers = _at_least_one(rng, _bits(rng, p_drivers), p_drivers)
    a["drivers"] = _mask(drivers)
    emp_p = np.tile(book.vec("employment_before", {"employed": 10, "self_employed": 10, "daily_labour": 18,
                                                   "unemployed": 48, "student": 8, "homemaker": 6}), (n, 1))
    a["employment_before"] = _choose_rows(rng, emp_p)
    time_abroad = np.stack([
        book.vec("time_abroad", {"under_6_months": 25, "6_to_12_months": 25, "1_to_2_years": 25,
                                 "2_to_5_years": 18, "over_5_years": 7}),   # Iran
        book.vec("time_abroad", {"under_6_months": 35, "6_to_12_months": 30, "1_to_2_years": 20,
                                 "2_to_5_years": 12, "over_5_years": 3}),   # Turkey
        book.vec("time_abroad", {"under_6_months": 5, "6_to_12_months": 10, "1_to_2_years": 15,
                                 "2_to_5_years": 30, "over_5_years": 40}),  # Pakistan
        book.vec("time_abroad", {"under_6_months": 3, "6_to_12_months": 10, "1_to_2_years": 22,
                                 "2_to_5_years": 45, "over_5_years": 20}),  # Europe
        book.vec("time_abroad", {"under_6_months": 15, "6_to_12_months": 25, "1_to_2_years": 30,
                                 "2_to_5_years": 20, "over_5_years": 10}),
    ])
    a["time_abroad"] = _choose_rows(rng, time_abroad[group])
    legal = np.stack([
        book.vec("legal_status_abroad", {"irregular": 80, "regular": 8, "refugee": 6, "asylum_seeker": 1, "dont_know": 5}),
        book.vec("legal_status_abroad", {"irregular": 85, "asylum_seeker": 8, "regular": 3, "dont_know": 4}),
        book.vec("legal_status_abroad", {"refugee": 40, "irregular": 40, "regular": 12, "dont_know": 8}),
        book.vec("legal_status_abroad", {"asylum_seeker": 65, "irregular": 25, "refugee": 5, "dont_know": 5}),
        book.vec("legal_status_abroad", {"regular": 40, "irregular": 45, "dont_know": 15}),
    ])
    a["legal_status_abroad"] = _choose_rows(rng, legal[group])
    a["work_abroad"] = _choose_rows(rng, np.stack([
        book.vec("work_abroad", {"regular_work": 8, "informal_work": 72, "no_work": 20}),
        book.vec("work_abroad", {"regular_work": 5, "informal_work": 65, "no_work": 30}),
        book.vec("work_abroad", {"regular_work": 15, "informal_work": 65, "no_work": 20}),
        book.vec("work_abroad", {"regular_work": 10, "informal_work": 30, "no_work": 60}),
        book.vec("work_abroad", {"regular_work": 35, "informal_work": 45, "no_work": 20}),
    ])[group])
    p_smuggler = np.array([0.7, 0.95, 0.2, 0.98, 0.3])[group]
    smuggler = rng.random(n) < p_smuggler
    a["used_smuggler"] = np.where(smuggler, G("used_smuggler", "yes"), G("used_smuggler", "no"))
    fee_median = np.array([400, 1800, 100, 6500, 2500])[group]
    a["amount_paid_usd"] = np.where(smuggler, np.maximum(np.round(
        fee_median * np.exp(0.4 * rng.standard_normal(n)), -1), 10), np.nan)
    p_incident = np.array([0.5, 0.6, 0.25, 0.55, 0.3])[group] * np.where(smuggler, 1.1, 0.8)
    incident = rng.random(n) < p_incident
    p_types = np.tile(book.vec("incident_types", {"death_witnessed": 0.15, "sexual_violence": 0.04,
                                                  "physical_violence": 0.5, "kidnapping": 0.05, "robbery": 0.4,
                                                  "detention": 0.55, "extortion_bribery": 0.4}), (n, 1))
    p_types[woman, G("incident_types", "sexual_violence")] = 0.25
    types = _at_least_one(rng, _bits(rng, p_types), p_types)
    types[:, G("incident_types", "none")] = False
    a["incident_types"] = np.where(incident, _mask(types), 1 << G("incident_types", "none"))
    r.smuggler = smuggler


def _returns_return(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """The return: how (deported, pressured, voluntary, assisted), why, and the help received."""
    G, n = book.ix, r.n
    group, from_europe = r.group, r.from_europe
    return_type = np.stack([
        book.vec("return_type", {"deported": 55, "voluntary": 25, "pressured": 18, "assisted": 2}),
        book.vec("return_type", {"deported": 70, "voluntary": 15, "pressured": 13, "assisted": 2}),
        book.vec("return_type", {"voluntary": 50, "pressured": 35, "deported": 12, "assisted": 3}),
        book.vec("return_type", {"assisted": 45, "deported": 35, "voluntary": 20}),
        book.vec("return_type", {"voluntary": 55, "deported": 25, "pressured": 15, "assisted": 5}),
    ])
    rtype = _choose_rows(rng, return_type[group])
    a["return_type"] = rtype
    deported = rtype == G("return_type", "deported")
    p_reasons = np.tile(book.vec("return_reasons", {"no_legal_status": 0.3, "no_work": 0.3, "covid19": 0.12,
                                                    "family_reasons": 0.25, "discrimination": 0.15,
                                                    "missed_home": 0.12, "health": 0.05, "other": 0.03}), (n, 1))
    p_reasons[:, G("return_reasons", "asylum_rejected")] = np.where(from_europe, 0.55, 0)
    reasons = _bits(rng, p_reasons)
    reasons[:, G("return_reasons", "deported")] = deported
    a["return_reasons"] = _mask(_at_least_one(rng, reasons, p_reasons))
    assisted = rtype == G("return_type", "assisted")
    p_help = np.tile(book.vec("return_assistance", {"cash": 0.2, "food": 0.2, "transport": 0.15, "shelter": 0.08,
                                                    "health": 0.1, "livelihood": 0.05, "information": 0.1}), (n, 1))
    p_help[assisted] = book.vec("return_assistance", {"cash": 0.9, "food": 0.2, "transport": 0.6, "shelter": 0.2,
                                                      "health": 0.15, "livelihood": 0.35, "information": 0.4})
    help_ = _bits(rng, p_help)
    help_[:, G("return_assistance", "none")] = ~help_.any(axis=1)
    a["return_assistance"] = _mask(help_)


def _returns_reintegration(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Reintegration: work and income now, debt, challenges and support needed."""
    G, n = book.ix, r.n
    smuggler, after_takeover = r.smuggler, r.after_takeover
    hardship = rng.random(n)
    a["employment_now"] = _choose(rng, book.vec("employment_now", {
        "employed": 8, "self_employed": 12, "daily_labour": 30, "unemployed": 42, "student": 3, "homemaker": 5}), n)
    u = np.where(rng.random(n) < 0.6, hardship, rng.random(n))
    a["income_sufficient"] = np.select([u < 0.58, u < 0.88], [G("income_sufficient", "no"),
                                                              G("income_sufficient", "partly")],
                                       G("income_sufficient", "yes"))
    debt = rng.random(n) < 0.45 + 0.2 * smuggler
    a["has_debt"] = np.where(debt, G("has_debt", "yes"), G("has_debt", "no"))
    p_challenges = np.tile(book.vec("reintegration_challenges", {
        "no_jobs": 0.75, "housing": 0.3, "stigma": 0.1, "no_documents": 0.15, "services": 0.25,
        "no_family_support": 0.1}), (n, 1))
    p_challenges[:, G("reintegration_challenges", "debt")] = np.where(debt, 0.75, 0.02)
    p_challenges[:, G("reintegration_challenges", "insecurity")] = np.where(after_takeover, 0.6, 0.4)
    challenges = _bits(rng, p_challenges, hardship, 0.4)
    challenges[:, G("reintegration_challenges", "none")] = ~challenges.any(axis=1)
    a["reintegration_challenges"] = _mask(challenges)
    p_support = np.tile(book.vec("support_needed", {
        "cash": 0.6, "employment": 0.6, "vocational_training": 0.3, "business_support": 0.25, "housing": 0.25,
        "health": 0.2, "education": 0.1, "legal_documents": 0.1, "psychosocial": 0.08}), (n, 1))
    a["support_needed"] = _mask(_at_least_one(rng, _bits(rng, p_support, hardship, 0.3), p_support))
    r.debt = debt


def _returns_intentions(rng, book: _Book, c: SimpleNamespace, r: SimpleNamespace, a: dict) -> None:
    """Intentions: leaving again, where to, why, and with a smuggler or not."""
    G, n = book.ix, r.n
    after_takeover, origin, debt, smuggler = r.after_takeover, r.origin, r.debt, r.smuggler
    # More want to leave again after the takeover of August 2021.
    intention = np.where(after_takeover[:, None],
                         book.vec("remigration_intention", {"within_year": 55, "later": 15, "no": 15, "dont_know": 15}),
                         book.vec("remigration_intention", {"within_year": 40, "later": 20, "no": 25, "dont_know": 15}))
    choice = _choose_rows(rng, intention)
    a["remigration_intention"] = choice
    leaving = (choice == G("remigration_intention", "within_year")) | (choice == G("remigration_intention", "later"))
    destinations = ["IRN", "TUR", "PAK", "DEU", "GBR", "FRA", "GRC", "AUT", "CAN", "USA"]
    dest_p = np.array([45, 25, 10, 6, 3, 2, 2, 2, 3, 2], dtype=float)
    # People tend to go back where they were, if they go again.
    same = rng.random(n) < 0.5
    dest = np.array([_CI[d] for d in destinations])[_choose(rng, dest_p, n)]
    a["remigration_destination"] = np.where(leaving, np.where(same, origin, dest), -1)
    p_why = np.tile(book.vec("remigration_reasons", {"economic": 0.85, "lack_of_rights": 0.15, "family_abroad": 0.2,
                                                     "lack_of_services": 0.2, "other": 0.03}), (n, 1))
    p_why[:, G("remigration_reasons", "violence_insecurity")] = np.where(after_takeover, 0.7, 0.45)
    p_why[:, G("remigration_reasons", "debt")] = np.where(debt, 0.45, 0.02)
    a["remigration_reasons"] = np.where(leaving, _mask(_at_least_one(rng, _bits(rng, p_why), p_why)), -1)
    u = rng.random(n)
    a["would_use_smuggler"] = np.where(leaving, np.select(
        [u < 0.45 + 0.2 * smuggler, u < 0.7 + 0.1 * smuggler], [G("would_use_smuggler", "yes"),
                                                               G("would_use_smuggler", "dont_know")],
        G("would_use_smuggler", "no")), -1)


_GENERATORS = {"core": _core, "covid": _covid, "returns": _returns}

# =====================================================================================================
# From answers to the stored frame
# =====================================================================================================


def _strings(values: pa.Array) -> pd.arrays.ArrowStringArray:
    return pd.arrays.ArrowStringArray(values.cast(pa.large_string()))


def _country_column(index: np.ndarray):
    missing = index < 0
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(np.where(missing, 0, index).astype(np.int32), mask=missing), pa.array(COUNTRIES))
    return _strings(dictionary)


def _quarter_column(days: np.ndarray):
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    quarters = months // 3
    lo = int(quarters.min())
    labels = [f"{1970 + q // 4}Q{q % 4 + 1}" for q in range(lo, int(quarters.max()) + 1)]
    return _strings(pa.DictionaryArray.from_arrays(pa.array((quarters - lo).astype(np.int32)), pa.array(labels)))


def _year_column(days: np.ndarray):
    years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    lo = int(years.min())
    labels = [str(y) for y in range(lo, int(years.max()) + 1)]
    return _strings(pa.DictionaryArray.from_arrays(pa.array((years - lo).astype(np.int32)), pa.array(labels)))


def _id_column(prefix: str, first: int, n: int, width: int):
    numbers = pa.array(np.arange(first + 1, first + n + 1, dtype=np.int64)).cast(pa.string())
    return _strings(pc.binary_join_element_wise(prefix + "-", pc.utf8_lpad(numbers, width, "0"), ""))


def _fallback(var: Variable, rng, a: dict, n: int):
    """Answers for a question the generator does not model yet (added to a codebook later): plausible
    noise of the right type, so that the new question shows up everywhere at once."""
    if var.type == "single":
        return rng.integers(0, len(var.codes), n)
    if var.type == "multiple":
        bits = rng.random((n, len(var.codes))) < 0.25
        return _mask(bits)
    if var.type == "number":
        lo = var.min if var.min is not None else 0
        hi = var.max if var.max is not None else lo + 100
        return np.rint(rng.uniform(lo, hi, n))
    if var.type == "country":
        return a.get("nationality", np.full(n, _CI["AFG"]))
    if var.type == "date":
        return a["interview_date"]
    raise ValueError(f"cannot make up answers for {var.name!r} of type {var.type!r}")


def _frame(codebook: Codebook, a: dict, rng, first: int, width: int) -> pd.DataFrame:
    n = len(a["interview_date"])
    prefix = _ID_PREFIX.get(codebook.dataset, codebook.dataset.upper())
    columns = {}
    for var in codebook.variables.values():
        if var.type == "id":
            columns[var.name] = _id_column(prefix, first, n, width)
            continue
        if var.type in ("quarter", "year"):
            make = _quarter_column if var.type == "quarter" else _year_column
            columns[var.name] = make(a["interview_date"])
            continue
        values = a.get(var.name)
        if values is None:
            values = _fallback(var, rng, a, n)
        if var.type == "date":
            columns[var.name] = values.astype("datetime64[D]").astype("datetime64[us]")
        elif var.type == "single":
            columns[var.name] = pd.Categorical.from_codes(
                values.astype(np.int16), dtype=pd.CategoricalDtype(var.codes, ordered=False))
        elif var.type == "multiple":
            values = values.astype(np.int64)
            columns[var.name] = pd.arrays.IntegerArray(np.where(values < 0, 0, values), values < 0)
        elif var.type == "number":
            values = values.astype(float)
            missing = np.isnan(values)
            columns[var.name] = pd.arrays.IntegerArray(np.where(missing, 0, np.rint(values)).astype(np.int64),
                                                       missing)
        elif var.type == "country":
            columns[var.name] = _country_column(values)
        else:
            raise ValueError(f"{codebook.dataset}: unknown type {var.type!r} of {var.name!r}")
    return pd.DataFrame(columns)


# =====================================================================================================
# Public API
# =====================================================================================================


def generate_chunks(dataset: str, n: int | None = None, seed: int = DEFAULT_SEED,
                    chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The rows of `generate(dataset, n, seed)`, `chunk_rows` at a time (for writing large sizes)."""
    if dataset not in _GENERATORS:
        raise KeyError(f"unknown dataset {dataset!r}; known: {', '.join(_GENERATORS)}")
    n = DEFAULT_SIZES[dataset] if n is None else int(n)
    if n < 1:
        raise ValueError("n must be at least 1")
    codebook = builtin_codebook(dataset)
    book = _Book(codebook)
    width = max(7, len(str(n)))
    for index, first in enumerate(range(0, n, chunk_rows)):
        size = min(chunk_rows, n - first)
        rng = np.random.default_rng([seed, _DATASET_KEYS[dataset], index])
        answers = _GENERATORS[dataset](rng, size, book)
        yield _frame(codebook, answers, rng, first, width)


def generate(dataset: str, n: int | None = None, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """A synthetic dataset of `n` respondents (default: the size of the published dataset), one column
    per codebook variable in codebook order. Same (dataset, n, seed), same frame."""
    frames = list(generate_chunks(dataset, n, seed))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def unmodelled_variables(dataset: str) -> list[str]:
    """Codebook variables this generator fills with type-correct noise because it does not model them."""
    book = _Book(builtin_codebook(dataset))
    answers = _GENERATORS[dataset](np.random.default_rng(0), 50, book)
    return [v.name for v in book.codebook.variables.values()
            if v.type not in ("id", "quarter", "year") and v.name not in answers]
