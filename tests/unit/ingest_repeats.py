"""A household survey with repeat groups, to load in tests (issue 18): household members in a group (a name,
a sex, an age, an income, needs, a date of birth) with their trips nested inside (a means of transport,
days on the road), and a top-level repeat of incidents. Its exports are written as Kobo writes them: an
XLSX with a sheet per repeat group (linked by _index and _parent_index), or a CSV of the main sheet only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from core.ingest.kobo import Layout, write_export, write_xlsform
from core.ingest.xlsform import read_form

SEXES, MODES, NEEDS = ["female", "male"], ["bus", "boat", "foot"], ["food", "water", "shelter"]


def _label(text: str) -> dict:
    return {"label::English (en)": text}


SURVEY = [
    {"type": "start", "name": "start"}, {"type": "today", "name": "today"},
    {"type": "begin_group", "name": "respondent", **_label("About you")},
    {"type": "select_one sex", "name": "sex", **_label("Sex")},
    {"type": "end_group", "name": "respondent"},
    {"type": "begin_group", "name": "household", **_label("Your household")},
    {"type": "integer", "name": "hh_rooms", **_label("Rooms")},
    {"type": "begin_repeat", "name": "members", **_label("Household members")},
    {"type": "text", "name": "member_name", **_label("Name")},
    {"type": "select_one sex", "name": "member_sex", **_label("Sex of the member")},
    {"type": "integer", "name": "age", **_label("Age of the member")},  # no respondent's age
    {"type": "decimal", "name": "income", **_label("Income last month (USD)")},
    {"type": "select_multiple needs", "name": "member_needs", **_label("Needs of the member")},
    {"type": "date", "name": "birth", **_label("Date of birth")},
    {"type": "begin_repeat", "name": "trips", **_label("Trips")},
    {"type": "select_one mode", "name": "trip_mode", **_label("Means of transport")},
    {"type": "integer", "name": "trip_days", **_label("Days on the road")},
    {"type": "end_repeat", "name": "trips"},
    {"type": "end_repeat", "name": "members"},
    {"type": "end_group", "name": "household"},
    {"type": "begin_repeat", "name": "incidents", **_label("Incidents")},
    {"type": "select_one yn", "name": "reported", **_label("Reported to the police?")},
    {"type": "end_repeat", "name": "incidents"},
]
CHOICES = [{"list_name": "sex", "name": c, **_label(c.title())} for c in SEXES] + \
    [{"list_name": "mode", "name": c, **_label(c.title())} for c in MODES] + \
    [{"list_name": "needs", "name": c, **_label(c.title())} for c in NEEDS] + \
    [{"list_name": "yn", "name": c, **_label(c.title())} for c in ("yes", "no")]


def submissions(n: int = 60, seed: int = 5) -> dict:
    """Kobo's stored values: per field a value per submission; per top-level repeat group, each
    submission's entries (a nested repeat's entries inside its parent entry). Some respondents have no
    member, some members no trip, and some answers are left empty."""
    rng = np.random.default_rng(seed)

    def maybe(value: str) -> str:
        return value if rng.random() < 0.85 else ""

    def trip() -> dict:
        return {"trip_mode": maybe(MODES[int(rng.integers(0, 3))]), "trip_days": maybe(str(int(rng.integers(1, 20))))}

    def member(i: int) -> dict:
        needs = [x for x in NEEDS if rng.random() < 0.4]
        return {"member_name": f"Person {i}", "member_sex": maybe(SEXES[int(rng.integers(0, 2))]),
                "age": maybe(str(int(rng.integers(0, 80)))), "income": maybe(f"{rng.uniform(0, 300):.2f}"),
                "member_needs": " ".join(needs), "birth": "2001-02-03",
                "trips": [trip() for _ in range(int(rng.integers(0, 3)))]}

    days = [dt.date(2024, 3, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 90, n)]
    return {
        "today": [d.isoformat() for d in days],
        "sex": [SEXES[int(x)] for x in rng.integers(0, 2, n)],
        "hh_rooms": [str(int(x)) for x in rng.integers(1, 5, n)],
        "members": [[member(i) for _ in range(int(rng.integers(0, 5)))] for i in range(n)],
        "incidents": [[{"reported": maybe("yes" if rng.random() < 0.3 else "no")}
                       for _ in range(int(rng.integers(0, 3)))] for _ in range(n)],
    }


XLSX = Layout(format="xlsx")


def write_household(directory: Path, layout: Layout = XLSX, data: dict | None = None,
                    name: str = "export") -> tuple[Path, Path]:
    """(form.xlsx, the export in `layout`) of the household survey."""
    directory.mkdir(parents=True, exist_ok=True)
    form = write_xlsform(directory / "form.xlsx", SURVEY, CHOICES,
                         {"form_title": "Households (sample)", "form_id": "households", "version": "1"})
    export = write_export(directory / f"{name}.{layout.format}", read_form(form), data or submissions(), layout)
    return form, export
