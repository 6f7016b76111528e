"""Access requests and grants (core.auth.grants): request, approval, refusal, expiry with a moved clock,
extension, the before-grants migration, terms once per grant, and one dataset not opening another. Each
test that takes `grants` runs on both backends: the embedded SQLite file and users.yaml, then PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from core.auth.audit import AuditLog
from core.auth.grants import ALL, GrantError, Grants, terms_text
from core.auth.users import UserStore

KNOWN = ("core", "covid", "returns")
TODAY = dt.date(2027, 1, 10)


@pytest.fixture
def clock(monkeypatch):
    def move(day: dt.date) -> None:
        monkeypatch.setenv("PORTAL_NOW", f"{day.isoformat()}T12:00:00Z")
    move(TODAY)
    return move


@pytest.fixture
def location(tmp_path, backend):
    """Where the audit log and grants live: a SQLite file, then PostgreSQL (tests/conftest.py `backend`)."""
    return backend or tmp_path / "audit.sqlite3"


@pytest.fixture
def store(tmp_path, backend) -> UserStore:
    return UserStore(backend or tmp_path / "users.yaml", bcrypt_cost=4)


@pytest.fixture
def grants(store, location, clock) -> Grants:
    return Grants(location, users=store)


def ask(grants: Grants, **change):
    fields = dict(name="Ana Ruiz", organisation="Univ. of Dakar", email="ana@example.org",
                  purpose="Routes through Niger", datasets=["core"], until=TODAY + dt.timedelta(days=90),
                  terms_accepted=True, known=KNOWN) | change
    return grants.request(**fields)


def actions(grants: Grants) -> list[str]:
    return list(reversed(grants.audit.entries()["action"]))


def test_request_approval_expiry_and_extension(grants, store, clock):
    request = ask(grants)
    assert [r.id for r in grants.pending()] == [request.id]
    approval = grants.approve(request.id, admin="root", expires=TODAY + dt.timedelta(days=30),
                              datasets=["core"], known=KNOWN)
    user = store.verify_password(approval.username, approval.password)
    assert (user.role, user.email, approval.username) == ("researcher", "ana@example.org", "ana")
    assert grants.pending() == [] and grants.get_request(request.id).status == "approved"
    # Terms first, then microdata, until the last day included.
    assert grants.access("ana", "researcher", "core").tier == "public"
    assert [g.id for g in grants.terms_due("ana")] == [approval.grants[0].id]
    grants.accept_terms("ana", [approval.grants[0].id])
    assert grants.access("ana", "researcher", "core").tier == "researcher"
    assert grants.access("ana", "researcher", "core").grant_id == approval.grants[0].id
    clock(TODAY + dt.timedelta(days=30))
    assert grants.access("ana", "researcher", "core").tier == "researcher"
    clock(TODAY + dt.timedelta(days=31))
    ended = grants.access("ana", "researcher", "core")
    assert (ended.tier, ended.ended.id) == ("public", approval.grants[0].id)
    grants.access("ana", "researcher", "core")  # the expiry is recorded once
    extended = grants.extend(approval.grants[0].id, TODAY + dt.timedelta(days=60), admin="root")
    assert grants.access("ana", "researcher", "core").tier == "researcher"
    assert extended.terms_accepted_at  # extending a grant does not ask for its terms again
    assert actions(grants) == ["request", "terms", "approve", "grant", "terms", "expire", "extend"]


def test_a_second_approval_extends_the_account_without_a_new_password(grants):
    first = grants.approve(ask(grants).id, admin="root", expires=TODAY, datasets=["core"], known=KNOWN)
    second = grants.approve(ask(grants, email="ANA@example.org", datasets=["covid"]).id, admin="root",
                            expires=TODAY, datasets=["covid"], known=KNOWN)
    assert (second.username, second.password) == (first.username, None)
    assert {g.dataset for g in grants.grants("ana")} == {"core", "covid"}


def test_a_grant_for_one_dataset_does_not_open_another(grants):
    approval = grants.approve(ask(grants).id, admin="root", expires=TODAY, datasets=["core"], known=KNOWN)
    grants.accept_terms("ana", [g.id for g in approval.grants])
    assert grants.access("ana", "researcher", "core").tier == "researcher"
    other = grants.access("ana", "researcher", "covid")
    assert (other.tier, other.grant, other.ended) == ("public", None, None)
    assert grants.access("root", "admin", "covid").tier == "admin"
    assert grants.access(None, None, "core").tier == "public"


def test_a_refusal_needs_a_reason_and_creates_no_account(grants, store):
    request = ask(grants)
    with pytest.raises(GrantError) as e:
        grants.refuse(request.id, admin="root", reason="  ")
    assert e.value.code == "no_reason" and grants.get_request(request.id).status == "pending"
    refused = grants.refuse(request.id, admin="root", reason="Not a research use")
    assert (refused.status, refused.reason) == ("refused", "Not a research use")
    assert store.list_users() == []
    with pytest.raises(GrantError) as e:
        grants.approve(request.id, admin="root", expires=TODAY, datasets=["core"], known=KNOWN)
    assert e.value.code == "already_decided"


@pytest.mark.parametrize("change, code", [
    ({"name": " "}, "missing"), ({"purpose": ""}, "missing"), ({"email": "ana-at-example"}, "invalid_email"),
    ({"datasets": []}, "no_dataset"), ({"datasets": ["nope"]}, "unknown_dataset"),
    ({"until": TODAY - dt.timedelta(days=1)}, "date_past"), ({"until": None}, "missing"),
    ({"terms_accepted": False}, "terms_not_accepted"), ({"organisation": "x" * 201}, "too_long"),
])
def test_a_bad_request_is_refused_and_nothing_is_recorded(grants, change, code):
    with pytest.raises(GrantError) as e:
        ask(grants, **change)
    assert e.value.code == code
    assert grants.requests() == [] and grants.audit.entries().empty


def test_an_expiry_in_the_past_changes_nothing(grants, store):
    request = ask(grants)
    with pytest.raises(GrantError) as e:
        grants.approve(request.id, admin="root", expires=TODAY - dt.timedelta(days=1), datasets=["core"],
                       known=KNOWN)
    assert (e.value.code, e.value.params) == ("date_past", {"field": "expires"})
    assert grants.get_request(request.id).status == "pending" and store.list_users() == []
    assert grants.grants() == []


def test_researchers_from_before_grants_keep_every_dataset(location, store, clock):
    store.add_user("alice", "Researcher-pass-2026!x", role="researcher")
    store.add_user("root", "Admin-pass-2026-xyz!q", role="admin")
    grants = Grants(location, users=store)
    (kept,) = grants.grants()
    assert (kept.username, kept.dataset, kept.expires_on, kept.kind) == ("alice", ALL, None, "before-grants")
    assert grants.terms_due("alice") == []
    for dataset in (*KNOWN, "made-later"):
        assert grants.access("alice", "researcher", dataset).tier == "researcher"
    store.add_user("carol", "Quiet-river-2026!zz", role="researcher")  # after the migration: no grant
    Grants(location, users=store)  # the migration runs once
    assert [g.username for g in grants.grants()] == ["alice"]
    assert grants.access("carol", "researcher", "core").tier == "public"


def test_terms_are_accepted_once_per_grant(grants):
    approval = grants.approve(ask(grants, datasets=["core", "covid"]).id, admin="root", expires=TODAY,
                              datasets=["core", "covid"], known=KNOWN)
    core, covid = approval.grants
    assert {g.id for g in grants.terms_due("ana")} == {core.id, covid.id}
    assert [g.id for g in grants.accept_terms("ana", [core.id])] == [core.id]
    assert grants.accept_terms("ana", [core.id]) == []  # already accepted: not recorded again
    assert [g.id for g in grants.terms_due("ana")] == [covid.id]
    with pytest.raises(GrantError):
        grants.accept_terms("someone", [covid.id])
    assert actions(grants).count("terms") == 2  # with the request, then the core grant's


def test_terms_come_from_the_operator_file_else_the_catalogue(tmp_path, monkeypatch):
    assert "Core" in terms_text("core", "fr", "Core") and terms_text("core", "fr", "x") != terms_text("core", "en", "x")
    path = tmp_path / "terms.toml"
    path.write_text('[default]\nen = "Default for {dataset}."\n[core]\nen = "Core only."\n', encoding="utf-8")
    monkeypatch.setenv("PORTAL_TERMS_FILE", str(path))
    assert terms_text("core", "en", "Core") == "Core only."
    assert terms_text("covid", "en", "COVID") == "Default for COVID."
    assert "COVID" in terms_text("covid", "es", "COVID")  # no Spanish text in the file: the portal's own


def test_an_old_audit_log_is_migrated_with_its_entries(tmp_path):
    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, username TEXT NOT NULL,
            role TEXT NOT NULL, action TEXT NOT NULL CHECK (action IN ('view', 'download')), dataset TEXT NOT NULL,
            filters TEXT NOT NULL, columns TEXT NOT NULL, rows INTEGER NOT NULL CHECK (rows >= 0), format TEXT);
        INSERT INTO audit (timestamp, username, role, action, dataset, filters, columns, rows, format)
            VALUES ('2026-01-01T00:00:00.000000Z', 'alice', 'researcher', 'download', 'core', '{}', '[]', 3, 'csv');
    """)
    con.close()
    log = AuditLog(path)
    log.event("load", username="root", role="admin", dataset="core", detail="version 2")
    found = log.entries()
    assert list(found["action"]) == ["load", "download"] and found["rows"].iloc[1] == 3
    with pytest.raises(sqlite3.DatabaseError):
        with log._connect() as c:
            c.execute("UPDATE audit SET rows = 0")
