"""The guided tour of the portal: an ordered list of steps, each a page to open, the part of it to
point at, and (in the message catalogues) a title and a text, "tour.<id>.title" and "tour.<id>.text".
The tour's state is the number of the step on show, in the link (`?tour=3`), so that a tour can be
followed, skipped (the parameter removed) or restarted (step 1), and a step can be shared.

`theme` stands for a theme page of the chosen dataset (the components pick which one); a step is in a
role's tour when that role may open its page (core/pages.py: the microdata explorer for researchers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.auth.access import can_open

THEME = "theme"


@dataclass(frozen=True)
class TourStep:
    id: str
    page: str  # a page id, or THEME
    target: str  # the part of the page pointed at (components/tour.py TARGETS)
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # the page's own link parameters


TOUR = (
    TourStep("welcome", "overview", "title"),
    TourStep("filters", "overview", "filters"),
    TourStep("map", "map", "map", {"layers": ("flows", "routes", "interviews")}),
    TourStep("layers", "map", "map_layers", {"layers": ("flows", "routes", "interviews")}),
    TourStep("chart", THEME, "chart", {"q": ("@first",)}),
    TourStep("breakdown", THEME, "breakdown", {"q": ("@first",), "by": ("gender",)}),
    TourStep("howto", THEME, "howto", {"q": ("@first",), "by": ("gender",)}),
    TourStep("crosstab", "crosstab", "picker", {"rows": ("gender",), "cols": ("age_band",), "measure": ("row_pct",)}),
    TourStep("downloads", "crosstab", "downloads", {"rows": ("gender",), "cols": ("age_band",), "measure": ("row_pct",)}),
    TourStep("share", "crosstab", "share", {"rows": ("gender",), "cols": ("age_band",), "measure": ("row_pct",)}),
    TourStep("stories", "stories", "stories"),
    TourStep("present", "stories", "present"),
    TourStep("microdata", "microdata", "microdata"),
)


def steps_for(role: str | None) -> tuple[TourStep, ...]:
    """The tour of a role: the steps whose page it may open."""
    return tuple(step for step in TOUR if step.page == THEME or can_open(step.page, role))


def step_number(value: str | None, role: str | None) -> int | None:
    """The step a link's `?tour=` names (1-based), or None (no tour, or a number out of range)."""
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and 1 <= number <= len(steps_for(role)) else None


def advance(number: int, role: str | None) -> int | None:
    """The step after `number`; None at the end (the tour is over)."""
    return number + 1 if number < len(steps_for(role)) else None


def back(number: int) -> int:
    return max(1, number - 1)


def restart() -> int:
    return 1
