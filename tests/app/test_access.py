"""Researcher access on the real router: a visitor's request, the admin's approval (with its one-time
password), the researcher's terms, microdata of the dataset granted only, and the public tier again
with a message once the clock passes the expiry; a refusal; bad input changing nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from core.auth.audit import AuditLog
from core.auth.grants import Grants
from core.data.engine import dataset_name
from core.i18n import fmt_date, t
from tests.app.conftest import as_role, go, open_app, sign_in, texts

TODAY = dt.date(2027, 1, 10)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    def move(day: dt.date) -> None:
        monkeypatch.setenv("PORTAL_NOW", f"{day.isoformat()}T12:00:00Z")
    move(TODAY)
    return move


def ask(lang: str = "en", **change):
    """Fill in and send the request form as a visitor; the AppTest after the run."""
    at = open_app({"lang": lang}, page="access")
    fields = {"access_name": "Ana Ruiz", "access_organisation": "Univ. of Dakar", "access_email": "ana@example.org",
              "access_purpose": "Routes through Niger"} | change
    at.multiselect(key="access_datasets").set_value(fields.pop("datasets", ["core"])).run()
    for key, value in fields.items():
        (at.text_area if key == "access_purpose" else at.text_input)(key=key).input(value)
    at.date_input(key="access_until").set_value(TODAY + dt.timedelta(days=90))
    at.checkbox(key="access_terms").check()
    next(b for b in at.button if b.key and b.key.startswith("FormSubmitter:access_request")).click()
    return at.run()


def decide(request_id: int, *, approve: bool, expires=None, datasets=("core",), reason: str = ""):
    at = as_role("admin")
    go(at, "admin")
    key = f"grants_{request_id}"
    if approve:
        at.multiselect(key=f"{key}_datasets").set_value(list(datasets))
        at.date_input(key=f"{key}_expires").set_value(expires)
    else:
        at.text_input(key=f"{key}_reason").input(reason)
    label = t("grants.approve" if approve else "grants.refuse", "en")
    next(b for b in at.button if b.label == label and b.key and key in b.key).click()
    return at.run()


def test_request_approval_microdata_expiry_back_to_public(users, clock):
    at = ask()
    assert not at.exception
    (request,) = Grants().pending()
    assert at.success[0].value == t("access.sent", "en", id=request.id, email="ana@example.org")

    at = decide(request.id, approve=True, expires=TODAY + dt.timedelta(days=30))
    assert at.success[0].value.startswith(f"Request {request.id} approved: the account ana is made")
    password = at.code[0].value  # the one-time password, shown once
    assert users.verify_password("ana", password) is not None

    # First sign-in: the terms, then the microdata of the dataset granted, and not of another.
    at = open_app()
    sign_in(at, "ana", password)
    assert at.title[0].value == t("grants.terms_title", "en") and not at.dataframe
    at.button(key="grants_accept_terms").click().run()
    go(at, "microdata")
    assert at.title[0].value == "Microdata" and len(at.dataframe) == 1
    log = AuditLog().entries()
    (view,) = log[log.action == "view"].itertuples()
    assert (view.username, view.grant_id) == ("ana", Grants().grants("ana")[0].id)
    at.selectbox(key="f_ds").set_value("covid").run()
    assert not at.dataframe and t("grants.none", "en", dataset=dataset_name("covid", "en")) in texts(at)

    # The day after the last day: the public tier with a message, no rows, the expiry in the audit log.
    clock(TODAY + dt.timedelta(days=31))
    at.selectbox(key="f_ds").set_value("core").run()
    assert not at.dataframe
    ended = t("grants.ended", "en", dataset=dataset_name("core", "en"), date=fmt_date(TODAY + dt.timedelta(days=30), "en"))
    assert ended in [w.value for w in at.warning]
    assert list(AuditLog().entries(action="expire")["subject"]) == ["ana"]


def test_a_refused_request_makes_no_account(users):
    ask()
    (request,) = Grants().pending()
    at = decide(request.id, approve=False, reason="")
    assert at.error[0].value == t("grants.error.no_reason", "en")
    assert Grants().get_request(request.id).status == "pending"
    at = decide(request.id, approve=False, reason="Not a research use")
    assert at.success[0].value == t("grants.refused", "en", id=request.id)
    assert Grants().get_request(request.id).status == "refused" and users.get_user("ana") is None


def test_a_missing_field_is_refused_in_the_visitors_language():
    at = ask("fr", access_organisation="  ")
    field = t("access.field.organisation", "fr")
    assert [e.value for e in at.error] == [t("grants.error.missing", "fr", field=field)]
    assert Grants().requests() == [] and AuditLog().entries(action="request").empty


def test_an_expiry_in_the_past_changes_nothing(users):
    ask()
    (request,) = Grants().pending()
    at = decide(request.id, approve=True, expires=TODAY - dt.timedelta(days=1))
    field = t("grants.field.expires", "en")
    assert at.error[0].value == t("grants.error.date_past", "en", field=field)
    assert Grants().get_request(request.id).status == "pending" and users.get_user("ana") is None
    assert Grants().grants("ana") == []
