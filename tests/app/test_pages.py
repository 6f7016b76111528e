"""Every page in every role, through the real router: who reaches what, in which language, with which
filters, and what the public tier is sent."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from core import settings
from core.auth.access import ROLES, can_open
from core.i18n import fmt_int, t
from core.pages import PAGES
from core.query import categories, crosstab, total
from tests.app.conftest import (
    PASSWORDS,
    ROOT,
    as_role,
    go,
    link,
    open_app,
    pages,
    restricted_pages,
    sign_in,
    texts,
)

PAGE_IDS = [page.id for page in PAGES]


# --- routing: every page x every role -----------------------------------------------------------

@pytest.mark.parametrize("role", [None, *ROLES])
@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_page_in_every_role(role, page):
    at = as_role(role)
    assert not at.exception
    if can_open(page.id, role):
        go(at, page.id)
        assert not at.exception, at.exception
        assert at.title[0].value == t(page.heading, "en")
        # in the menu, under its section
        assert t(page.title, "en") in [link.value for link in at.sidebar.page_link]
        assert t("auth.forbidden", "en") not in texts(at)
    else:
        # Not in the menu, and its URL shows only what role it needs (and the sign-in form to the
        # anonymous), never the page's module.
        assert page.id not in pages(at) and page.id in restricted_pages(at)
        assert t(page.title, "en") not in [link.value for link in at.sidebar.page_link]
        with pytest.raises(KeyError):
            go(at, page.id)
        at = as_role(role, page=page.id)
        assert not at.exception, at.exception
        assert [e.value for e in at.title] == [t(page.heading, "en")]
        needed = t(f"auth.role.{page.role}", "en")
        if role is None:
            assert [e.value for e in at.info] == [t("auth.needs_sign_in", "en", role=needed)]
            assert at.main.text_input(key="signin_username")
        else:
            assert [e.value for e in at.warning] == [t("auth.needs_role", "en", role=needed)]
        assert not at.dataframe and not at.metric and not at.main.selectbox


@pytest.mark.parametrize("page", [p.module for p in PAGES if p.role])
def test_internal_pages_check_the_role_again(page):
    """Defence in depth: an internal page drawn without the role (a routing mistake) refuses."""

    def script(page_name):
        import importlib

        from components.shell import PageContext, set_context
        from core.query.filters import FilterState

        set_context(PageContext("en", None, FilterState()))
        importlib.import_module(f"pages.{page_name}").render()

    at = AppTest.from_function(script, args=(page,), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth.forbidden", "en")]
    assert not at.get("arrow_data_frame") and not at.dataframe and not at.title


@pytest.mark.parametrize("page", sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "__init__"))
def test_page_modules_hand_over_to_the_router_when_run_directly(page):
    """What a fresh server does for GET /<page> before the router has run (the `pages/` trap): the
    file is run as a script. It draws nothing and hands the visit to the router (components.shell
    hand_to_router); a module without that line would leave a blank page there."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60).run()
    assert not at.exception
    assert at.session_state["portal_handed_over"] is True
    assert not at.main.children or all(not getattr(c, "children", None) for c in at.main.children.values())
    assert not at.title and not at.dataframe and not at.metric


# --- the Overview ---------------------------------------------------------------------------------

def test_overview_shows_protected_headline_figures_for_the_public():
    at = open_app()
    assert not at.exception
    respondents = at.metric[0]
    assert respondents.label == "Respondents"
    assert respondents.value == fmt_int(total("core", tier="public"), "en")
    assert "synthetic" in texts(at)
    assert t("caveats.not_representative", "en") in texts(at)


def test_overview_follows_the_dataset_and_filters_of_the_link():
    at = open_app({"ds": "covid", "gender": "woman", "region": ["north_africa", "west_africa"]})
    assert not at.exception
    # the public tier keeps one answer per filter (docs/disclosure.md rule 12): the first, with a note
    filters = {"gender": ["woman"], "region_of_interview": ["north_africa"]}
    assert at.metric[0].value == fmt_int(total("covid", filters=filters, tier="public"), "en")
    assert at.sidebar.selectbox(key="f_ds").value == "covid"
    assert at.sidebar.selectbox(key="f1_region").value == "north_africa"
    assert t("filters.dropped", "en", param="region", value="west_africa") in [w.value for w in at.warning]


def test_the_coverage_chart_sends_only_protected_aggregates():
    """Design rule 9, at the level of what Streamlit sends: the chart's data are the public crosstab."""
    at = open_app({"ds": "core"})
    [chart] = at.get("vega_lite_chart")
    sent = [pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pandas() for d in chart.proto.datasets]
    assert len(sent) == 1 and len(sent[0]) <= 7 * 10
    public = crosstab("core", ["region_of_interview"], ["interview_year"], tier="public")
    exact = crosstab("core", ["region_of_interview"], ["interview_year"], tier="researcher")
    shown = sent[0]["count"].dropna().astype(int)
    assert set(shown) <= set(public["count"].dropna().astype(int))
    # Withheld cells carry no number, and the exact counts differ from what was sent.
    assert sent[0]["count"].isna().sum() == public["suppressed"].sum()
    assert (public["count"] != exact["count"]).any()
    assert "respondent_id" not in json.dumps(chart.proto.spec)


def test_a_refused_population_says_why():
    # One small country, women aged 55 and over, in one quarter: under the public minimum population.
    at = open_app({"country": "CHE", "gender": "woman", "age": "55_plus", "from": "2024Q1", "to": "2024Q1"})
    assert not at.exception
    assert not at.metric
    assert t("disclosure.refused_title", "en") in texts(at)


# --- languages --------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, locale, lang", [
    ({"lang": "fr"}, None, "fr"),
    ({}, "es-ES", "es"),
    ({}, "fr-CA", "fr"),
    ({"lang": "es"}, "fr-FR", "es"),
    ({}, "de-DE", "en"),
])
def test_the_language_comes_from_the_link_then_the_browser(query, locale, lang):
    at = open_app(query, locale=locale)
    assert at.title[0].value == t("app.title", lang)
    assert at.metric[0].label == t("overview.respondents", lang)
    assert at.sidebar.selectbox(key="ui_lang").value == lang
    assert link(at)["lang"] == [lang]


def test_the_language_picker_switches_everything_and_the_link():
    at = open_app()
    at.sidebar.selectbox(key="ui_lang").set_value("fr").run()
    assert at.title[0].value == t("app.title", "fr")
    assert at.sidebar.selectbox(key="f1_region").label == "Région de l'entretien"
    assert at.metric[0].value == fmt_int(total("core", tier="public"), "fr")
    assert link(at)["lang"] == ["fr"]
    go(at, "about")
    assert at.title[0].value == t("nav.about", "fr")


def test_codebook_labels_follow_the_language():
    at = open_app({"lang": "es", "nat": "SDN"})
    nationality = at.sidebar.selectbox(key="f1_nat")
    assert nationality.label == "Nacionalidad"
    assert nationality.value == "SDN"
    assert "Sudán" in nationality.options


# --- filters and links -------------------------------------------------------------------------------

def test_invalid_link_values_are_dropped_with_a_note():
    at = open_app({"lang": "de", "ds": "core", "gender": ["woman", "xyz"], "nat": "ZZZ", "foo": "1",
                   "from": "2099Q1"})
    assert not at.exception
    notes = [w.value for w in at.warning]
    for param, value in [("lang", "de"), ("gender", "xyz"), ("nat", "ZZZ"), ("foo", "1"), ("from", "2099Q1")]:
        assert t("filters.dropped", "en", param=param, value=value) in notes
    # What was valid is kept; the link is rewritten without what was dropped.
    assert link(at)["gender"] == ["woman"]
    assert "foo" not in link(at) and "nat" not in link(at)
    assert at.metric[0].value == fmt_int(total("core", filters={"gender": ["woman"]}, tier="public"), "en")


def test_an_unknown_dataset_falls_back_with_a_note():
    at = open_app({"ds": "nope"})
    assert not at.exception
    assert t("filters.dropped", "en", param="ds", value="nope") in [w.value for w in at.warning]
    assert at.sidebar.selectbox(key="f_ds").value == "core"


def test_the_note_goes_once_the_user_changes_the_filters():
    at = open_app({"gender": "xyz"})
    assert at.warning and any("xyz" in w.value for w in at.warning)
    at.sidebar.button_group(key="f1_gender").set_value("man").run()
    assert not any("xyz" in w.value for w in at.warning)


def test_changing_a_filter_rewrites_the_link():
    at = open_app()
    at.sidebar.selectbox(key="f1_nat").set_value("AFG").run()
    at.sidebar.selectbox(key="f_when").set_value("2022").run()
    assert link(at)["nat"] == ["AFG"]
    assert link(at)["from"] == ["2022Q1"] and link(at)["to"] == ["2022Q4"]
    filters = {"nationality": ["AFG"], "interview_quarter": ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]}
    assert at.metric[0].value == fmt_int(total("core", filters=filters, tier="public"), "en")


def test_filters_persist_across_pages_and_follow_a_dataset_switch():
    at = open_app({"nat": "AFG"})
    go(at, "about")
    assert at.sidebar.selectbox(key="f1_nat").value == "AFG"
    assert link(at)["nat"] == ["AFG"]
    at.sidebar.selectbox(key="f_ds").set_value("returns").run()
    # Afghans are in the Returns module too: the filter stays; the period is that of the new dataset.
    assert at.sidebar.selectbox(key="f1_nat").value == "AFG"
    assert at.sidebar.selectbox(key="f_when").value == ""


def test_public_filters_offer_public_granularity_only():
    public = open_app().sidebar.selectbox(key="f1_nat").options
    small = [c for c in categories("core", "nationality", "researcher") if c not in categories("core", "nationality")]
    assert small, "the synthetic data have small nationalities, merged into Other for the public"
    assert "Other" in public
    at = as_role("researcher")
    researcher = at.sidebar.multiselect(key="f_nat").options
    assert len(researcher) > len(public) - 1
    # A small category in a public link is dropped with a note, not queried.
    at = open_app({"nat": small[0]})
    assert t("filters.dropped", "en", param="nat", value=small[0]) in [w.value for w in at.warning]


# --- sign-in, sessions, throttling -----------------------------------------------------------------

def test_a_researcher_signs_in_and_out():
    at = open_app()
    assert "microdata" not in pages(at)
    sign_in(at, "alice")
    assert not at.exception
    assert "microdata" in pages(at) and "admin" not in pages(at)
    assert t("auth.signed_in_as", "en", name="Alice", role=t("auth.role.researcher", "en")) in texts(at)
    go(at, "microdata")
    assert at.title[0].value == "Microdata"
    assert len(at.dataframe) == 1 and at.dataframe[0].value["respondent_id"].str.startswith("CORE-").all()
    at.sidebar.button(key="signout").click().run()
    assert "microdata" not in pages(at)
    assert t("auth.signed_out", "en") in texts(at)
    assert not at.dataframe


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong():
    at = open_app()
    sign_in(at, "alice", "not-her-password")
    assert [e.value for e in at.sidebar.error] == [t("auth.wrong_credentials", "en")]
    sign_in(at, "nobody", "whatever")
    assert [e.value for e in at.sidebar.error] == [t("auth.wrong_credentials", "en")]
    assert "microdata" not in pages(at)


def test_repeated_failures_are_throttled_then_the_user_gets_in(monkeypatch):
    # A first wait longer than any run of this test on a busy machine (2 s by default).
    monkeypatch.setenv("PORTAL_THROTTLE_FIRST_WAIT_SECONDS", "60")
    at = open_app()
    for _ in range(5):
        sign_in(at, "bob", "wrong-password")
        assert [e.value for e in at.sidebar.error] == [t("auth.wrong_credentials", "en")]
    sign_in(at, "bob")  # the right password, too soon: not even checked
    [error] = at.sidebar.error
    assert error.value.startswith("Too many failed attempts")
    assert "microdata" not in pages(at)
    # Not locked out for good: once the wait is over, the right password works.
    from components.auth import session_manager

    session_manager().throttle.record_success("bob")  # as if the wait had elapsed; the clock is not ours here
    sign_in(at, "bob")
    assert "microdata" in pages(at)


def test_no_password_hint_and_the_password_field_is_cleared():
    at = open_app()
    sign_in(at, "alice", "wrong")
    assert at.sidebar.text_input(key="signin_password").value == ""
    assert at.sidebar.text_input(key="signin_password").proto.type == 1  # PASSWORD
    assert "hint" not in texts(at).lower()


def test_a_disabled_user_loses_access_at_the_next_interaction(users):
    at = as_role("researcher")
    go(at, "microdata")
    assert at.dataframe
    users.disable("alice")
    at.run()
    assert "microdata" not in pages(at)
    assert not at.dataframe
    assert t("auth.signed_out_elsewhere", "en") in texts(at)


def test_a_role_change_takes_effect_at_once(users):
    at = as_role("admin")
    assert "admin" in pages(at)
    users.set_role("root", "researcher")
    at.run()
    assert "admin" not in pages(at)


def test_without_a_cookie_key_the_public_tier_works_and_no_sign_in_is_offered(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_COOKIE_KEY")
    monkeypatch.setattr(settings, "SECRETS_FILE", tmp_path / "none.toml")
    at = open_app()
    assert not at.exception
    assert at.metric
    assert not [i for i in at.sidebar.text_input if i.key == "signin_username"]
    assert t("auth.login_unavailable", "en") in texts(at)


def test_a_short_cookie_key_is_refused_like_a_missing_one(monkeypatch):
    monkeypatch.setenv("PORTAL_COOKIE_KEY", "too-short")
    at = open_app()
    assert not [i for i in at.sidebar.text_input if i.key == "signin_username"]


def test_a_missing_disclosure_secret_gives_a_clear_message(monkeypatch, tmp_path):
    from core.data import engine

    monkeypatch.delenv("PORTAL_CKM_SECRET")
    monkeypatch.setattr(settings, "SECRETS_FILE", tmp_path / "none.toml")
    engine.set_engine(None)
    at = open_app()
    assert not at.exception
    assert not at.metric
    assert [e.value for e in at.error] == [t("app.not_configured", "en")]


def test_passwords_are_not_kept_in_session_state():
    at = open_app()
    sign_in(at, "alice")
    state = {k: at.session_state[k] for k in ("signin_password",)}
    assert PASSWORDS["alice"] not in json.dumps(state, default=str)


@pytest.mark.parametrize("env, value", [("PORTAL_SESSION_IDLE_MINUTES", "0.01"),
                                        ("PORTAL_SESSION_MAX_HOURS", "0.0002")])
def test_idle_and_absolute_timeouts_sign_out(monkeypatch, env, value):
    """Sessions end after the idle or the absolute timeout (30 minutes and 8 hours by default; here
    0.6 and 0.72 seconds), and the user is told."""
    import time

    monkeypatch.setenv(env, value)
    at = as_role("researcher")
    assert "microdata" in pages(at)
    time.sleep(float(value) * (60 if env.endswith("MINUTES") else 3600) + 0.2)
    at.run()
    assert "microdata" not in pages(at)
    assert t("auth.session_expired", "en") in texts(at)


def _cookie_writes(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.json_args) for el in at.get("component_instance")
            if el.proto.component_name.endswith("cookie_manager") and json.loads(el.proto.json_args)["method"] != "getAll"]


def test_the_login_cookie_write_stays_drawn_unchanged_then_goes(monkeypatch):
    """The cookie manager's first report reruns the script at once: a write drawn only once could be
    removed before it ran (seen in Chromium). It is drawn again, with the same arguments, for a while."""
    import components.auth as auth

    at = as_role("researcher")
    [first] = _cookie_writes(at)
    assert first["method"] == "set" and first["cookie"].startswith("portal_login_")
    at.run()
    assert _cookie_writes(at) == [first]
    monkeypatch.setattr(auth, "COOKIE_WRITE_SECONDS", 0.0)
    at.session_state[auth.COOKIE_WRITE] = {**at.session_state[auth.COOKIE_WRITE], "until": 0.0}
    at.run()
    at.run()
    assert _cookie_writes(at) == []
    at.sidebar.button(key="signout").click().run()
    assert [w["method"] for w in _cookie_writes(at)] == ["delete"]


# --- the accessibility statement -----------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_the_about_page_has_an_accessibility_statement_with_a_way_to_report(lang, monkeypatch):
    from core import settings

    at = open_app({"lang": lang}, page="about")
    assert t("about.a11y.title", lang) in [h.value for h in at.header]
    shown = texts(at)
    assert t("about.a11y.body", lang) in shown and t("about.a11y.gap.grid", lang) in shown
    assert t("about.a11y.report_operator", lang) in shown  # no contact set: the operator is named
    monkeypatch.setattr(settings, "CONTACT", "access@example.org")
    at.run()
    assert t("about.a11y.report", lang, contact="access@example.org") in texts(at)


def test_a_fragment_run_keeps_the_pinned_release():
    """A fragment's own run (the crosstab builder, the map) does not run the router, and after an idle
    moment Streamlit runs it in a new thread, whose context pins nothing: a pinned link's crosstab showed
    the current release after its first choice. `context()`, which every page and fragment calls first,
    pins the session's releases again. A new thread's context is an empty contextvars.Context."""

    def script():
        import contextvars

        import streamlit as st

        from components.shell import PageContext, context, set_context
        from core.data import versions
        from core.query.filters import FilterState

        set_context(PageContext("en", None, FilterState(), pins=(("core", "v0001"),)))

        def fragment_run():
            context()
            return versions.pins()

        st.write(repr(contextvars.Context().run(fragment_run)))

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == [repr({"core": "v0001"})]
