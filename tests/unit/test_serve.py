"""scripts/serve.py's settings: which languages the warm-up visits (PORTAL_WARM_UP)."""

import pytest

from core.settings import LANGUAGES
from scripts.serve import WARM_UP_ENV, warm_up_languages


@pytest.mark.parametrize("value, languages", [
    (None, tuple(LANGUAGES)), ("all", tuple(LANGUAGES)), ("none", ()), ("fr", ("fr",)),
    (" EN, fr ,en", ("en", "fr")),
])
def test_the_warm_up_visits_the_languages_asked(value, languages):
    assert warm_up_languages(value) == languages


@pytest.mark.parametrize("value", ["de", "en,xx", ",", "yes"])
def test_an_unknown_warm_up_value_stops_the_start_with_a_message(value):
    with pytest.raises(SystemExit, match=WARM_UP_ENV):
        warm_up_languages(value)
