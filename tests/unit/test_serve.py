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


def test_a_malformed_proxy_list_stops_the_start_and_uvicorn_trusts_no_header(monkeypatch):
    """core.auth.proxies alone decides whom X-Forwarded-For is believed from: uvicorn's own handling
    (which trusts loopback peers unless FORWARDED_ALLOW_IPS says otherwise) is turned off."""
    from core.auth.proxies import TRUSTED_PROXIES_ENV
    from scripts.serve import check_proxies

    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "10.0.0.1, proxy.local")
    with pytest.raises(SystemExit, match="proxy.local"):
        check_proxies()
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "127.0.0.1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    check_proxies()
    import uvicorn

    assert uvicorn.Config(app=None).forwarded_allow_ips == ""
