"""core.auth.audit: an append-only log in a real SQLite file, or in PostgreSQL (PORTAL_DATABASE_URL): each
test that takes `log` runs on both. The database itself refuses to change or delete an entry; threads
append concurrently without losing one; queries filter by user, dataset, action and dates."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import threading

import psycopg
import pytest

from core.auth import audit
from core.auth.audit import AuditLog
from tests.postgres import empty


def entry(**changes) -> dict:
    return {"username": "alice", "role": "researcher", "action": "view", "dataset": "core",
            "filters": {"gender": ["woman"], "age_band": []}, "columns": ["respondent_id", "gender"],
            "rows": 50, **changes}


@pytest.fixture
def log(tmp_path, backend) -> AuditLog:
    """The embedded SQLite file, then a PostgreSQL schema (tests/conftest.py `backend`)."""
    return AuditLog(backend or tmp_path / "var" / "audit.sqlite3")


@pytest.fixture
def sqlite_log(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "var" / "audit.sqlite3")


def test_an_entry_reads_back_with_its_fields(log):
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    first = log.record(**entry(action="download", rows=44_532, format="dta"))
    found = log.entries()
    assert list(found["id"]) == [first]
    row = found.iloc[0]
    assert (row.username, row.role, row.action, row.dataset, row.rows, row.format) == (
        "alice", "researcher", "download", "core", 44_532, "dta")
    assert row.filters == {"gender": ["woman"]}  # empty filters are not filters
    assert row.columns == ["respondent_id", "gender"]
    assert row.timestamp.endswith("Z")
    assert dt.datetime.fromisoformat(row.timestamp.rstrip("Z")) >= before.replace(microsecond=0)


def test_the_file_is_a_real_sqlite_database_in_wal_mode(sqlite_log):
    log = sqlite_log
    log.record(**entry())
    with sqlite3.connect(log.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT count(*) FROM audit").fetchone()[0] == 1


@pytest.mark.parametrize("statement", [
    "UPDATE audit SET rows = 0",
    "UPDATE audit SET username = 'someone-else' WHERE id = 1",
    "DELETE FROM audit",
    "DELETE FROM audit WHERE id = 1",
])
def test_the_database_refuses_to_change_the_past(log, statement):
    log.record(**entry())
    # Another program than the portal, straight to the database.
    con = psycopg.connect(log.db.url) if log.db.postgres else sqlite3.connect(log.path)
    try:
        with pytest.raises((sqlite3.DatabaseError, psycopg.DatabaseError), match="append-only"):
            con.execute(statement)
            con.commit()
    finally:
        con.close()
    assert len(log.entries()) == 1 and log.entries().iloc[0].rows == 50


def test_postgresql_refuses_to_truncate_the_log_too(pg_url):
    empty(backend := pg_url)
    log = AuditLog(backend)
    log.record(**entry())
    with psycopg.connect(backend) as con, pytest.raises(psycopg.DatabaseError, match="append-only"):
        con.execute("TRUNCATE audit")
    assert len(AuditLog(backend).entries()) == 1


def test_the_database_url_puts_the_log_in_postgresql(pg_url, monkeypatch):
    empty(backend := pg_url)
    monkeypatch.setenv("PORTAL_DATABASE_URL", backend)
    AuditLog().record(**entry(username="from-the-url"))
    assert AuditLog().path is None
    assert list(AuditLog(backend).entries()["username"]) == ["from-the-url"]


def test_the_triggers_survive_reopening(sqlite_log):
    log = sqlite_log
    log.record(**entry())
    again = AuditLog(log.path)  # CREATE ... IF NOT EXISTS: the triggers stay
    with sqlite3.connect(again.path) as con:
        triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert triggers == {"audit_no_update", "audit_no_delete"}


def test_the_api_only_appends_and_reads():
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"record", "event", "entries", "usernames", "datasets"}


@pytest.mark.parametrize("bad", [{"action": "edit"}, {"username": ""}, {"dataset": ""}, {"rows": -1}])
def test_a_bad_entry_is_refused_and_nothing_is_written(log, bad):
    with pytest.raises((ValueError, sqlite3.IntegrityError, psycopg.IntegrityError)):
        log.record(**entry(**bad))
    assert log.entries().empty


def test_threads_append_concurrently_without_losing_an_entry(log):
    threads, per_thread = 8, 25
    errors = []

    def work(i):
        try:
            for j in range(per_thread):
                log.record(**entry(username=f"user{i}", rows=j))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    found = log.entries()
    assert len(found) == threads * per_thread
    assert sorted(found["id"]) == list(range(1, threads * per_thread + 1))
    for i in range(threads):
        assert sorted(found[found.username == f"user{i}"]["rows"]) == list(range(per_thread))


def test_queries_filter_by_user_dataset_action_and_dates(log, monkeypatch):
    moments = iter(["2026-01-01T09:00:00.000000Z", "2026-01-02T23:59:59.999999Z", "2026-01-03T00:00:00.000000Z",
                    "2026-02-01T12:00:00.000000Z"])
    monkeypatch.setattr(audit, "_now", lambda: next(moments))
    log.record(**entry())
    log.record(**entry(username="bob", dataset="covid", action="download", format="csv"))
    log.record(**entry(dataset="returns"))
    log.record(**entry(username="bob"))
    assert list(log.entries()["id"]) == [4, 3, 2, 1]  # newest first
    assert list(log.entries(username="bob")["id"]) == [4, 2]
    assert list(log.entries(dataset="core")["id"]) == [4, 1]
    assert list(log.entries(action="download")["id"]) == [2]
    # dates are whole UTC days, both ends included
    assert list(log.entries(start=dt.date(2026, 1, 2), end=dt.date(2026, 1, 2))["id"]) == [2]
    assert list(log.entries(start=dt.date(2026, 1, 2))["id"]) == [4, 3, 2]
    assert list(log.entries(end=dt.date(2026, 1, 3))["id"]) == [3, 2, 1]
    assert list(log.entries(username="bob", start=dt.date(2026, 1, 3))["id"]) == [4]
    assert list(log.entries(limit=2)["id"]) == [4, 3]
    assert log.usernames() == ["alice", "bob"]
    assert log.datasets() == ["core", "covid", "returns"]


def test_the_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "elsewhere.sqlite3"))
    assert AuditLog().path == tmp_path / "elsewhere.sqlite3"
    assert (tmp_path / "elsewhere.sqlite3").exists()


def test_the_log_exports_as_csv_through_core_export(log):
    from core.query.export import to_csv

    log.record(**entry())
    log.record(**entry(columns=["=HYPERLINK(\"http://x\")"]))
    lines = list(csv.reader(io.StringIO(to_csv(audit.as_table(log.entries()), [("Audit", "test")]).decode("utf-8-sig"))))
    assert lines[0] == ["Audit", "test"] and lines[2] == list(audit.COLUMNS)
    assert lines[3][7] == "'=HYPERLINK(\"http://x\")"  # neutralised: a spreadsheet shows it as text
    assert lines[4][2] == "alice" and lines[4][7] == "respondent_id, gender" and lines[4][6] == '{"gender": ["woman"]}'
