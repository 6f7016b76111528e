"""A survey unlike the core one, to create datasets from in tests (issue 18): a one-country WASH-and-
protection form in English only, with no id or date question (the export's `_uuid` and
`_submission_time` are those), a nationality list of words (`syrian`, `stateless`, `other`) recoded in
the mapping, the same name in two groups, a select_multiple, numbers, a question nobody answers, and a
household-size number the proposal must keep out of the public tier."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from core.ingest.kobo import write_xlsform

NATIONALITIES = ["syrian", "iraqi", "afghan", "sudanese", "stateless", "other"]


def write_survey(directory: Path, n: int = 600, seed: int = 18) -> tuple[Path, Path]:
    """(form.xlsx, export.csv) of the survey, `n` submissions."""
    directory.mkdir(parents=True, exist_ok=True)
    survey = [
        {"type": "start", "name": "start"}, {"type": "end", "name": "end"},
        {"type": "begin_group", "name": "respondent", "label": "About you"},
        {"type": "select_one nat", "name": "nationality", "label": "What is your nationality?"},
        {"type": "select_one sex", "name": "sex", "label": "Sex"},
        {"type": "integer", "name": "hh_size", "label": "How many people live in your household?"},
        {"type": "text", "name": "phone", "label": "Phone number"},
        {"type": "select_one yn", "name": "consent", "label": "Consent"},
        {"type": "end_group", "name": "respondent"},
        {"type": "begin_group", "name": "wash", "label": "Water and sanitation"},
        {"type": "select_multiple src", "name": "water_source", "label": "Sources of drinking water"},
        {"type": "select_one yn", "name": "consent", "label": "Consent to the WASH module"},  # same name, other group
        {"type": "decimal", "name": "litres", "label": "Litres of water a day"},
        {"type": "end_group", "name": "wash"},
        {"type": "begin_group", "name": "protection", "label": "Protection"},
        {"type": "select_one yn", "name": "child_marriage", "label": "Is a child in your household married?"},
        {"type": "select_one yn", "name": "child_work", "label": "Does a child in your household work?"},
        {"type": "select_multiple risk", "name": "risks_faced", "label": "Risks faced (nobody answered)"},
        {"type": "end_group", "name": "protection"},
    ]
    choices = [{"list_name": "nat", "name": c, "label": c.title()} for c in NATIONALITIES]
    choices += [{"list_name": "sex", "name": c, "label": c.title()} for c in ("male", "female")]
    choices += [{"list_name": "yn", "name": c, "label": c.title()} for c in ("yes", "no")]
    choices += [{"list_name": "src", "name": c, "label": c.replace("_", " ").title()}
                for c in ("piped", "well", "truck", "bottled")]
    choices += [{"list_name": "risk", "name": c, "label": c.title()} for c in ("theft", "violence")]
    form = write_xlsform(directory / "form.xlsx", survey, choices,
                         {"form_title": "WASH and protection (sample)", "form_id": "wash_protection",
                          "version": "1"})
    rng = np.random.default_rng(seed)
    headers = ["start", "end", "respondent/nationality", "respondent/sex", "respondent/hh_size", "respondent/phone",
               "respondent/consent", "wash/water_source", *(f"wash/water_source/{c}" for c in
                                                              ("piped", "well", "truck", "bottled")),
               "wash/consent", "wash/litres", "protection/child_marriage", "protection/child_work",
               "protection/risks_faced", "_id", "_uuid", "_submission_time", "_index"]
    rows = []
    for i in range(n):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 330)))
        chosen = [c for c in ("piped", "well", "truck", "bottled") if rng.random() < 0.4] or ["well"]
        rows.append([f"{day}T09:00:00", f"{day}T09:40:00", NATIONALITIES[int(rng.integers(0, 6))],
                     "male" if rng.random() < 0.5 else "female", str(int(rng.integers(1, 12))), "",
                     "yes", " ".join(chosen), *("1" if c in chosen else "0" for c in ("piped", "well", "truck", "bottled")),
                     "yes" if rng.random() < 0.9 else "no", f"{rng.uniform(5, 60):.1f}",
                     "yes" if rng.random() < 0.1 else "no", "yes" if rng.random() < 0.2 else "no", "",
                     str(1000 + i), f"0000{i:04d}-aaaa-4bbb-8ccc-{i:012d}", f"{day}T10:02:03", str(i + 1)])
    export = directory / "export.csv"
    with open(export, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        writer.writerows(rows)
    return form, export
