"""The audit log: every page of microdata a researcher is shown and every file they take away (with the
access grant it used), the life of access grants (request, approve, refuse, grant, extend, expire,
terms), and the data loads and restores.

One SQLite file (PORTAL_AUDIT_DB, default var/audit.sqlite3, git-ignored), written through the stdlib
`sqlite3` module, so that any SQLite tool can read it and nothing else is needed to run the portal. With
PORTAL_DATABASE_URL set (several replicas, core/shared_state.py) the same table, written with the same SQL,
lives in PostgreSQL instead.

Append-only twice over:
- this API can only add an entry (`record`) and read entries (`entries`, `usernames`, `datasets`);
- the database itself refuses to change the past: triggers RAISE on every UPDATE and DELETE of the
  table, whatever program opens the file (in PostgreSQL, on TRUNCATE too).

Safe for the server's threads (and for several processes): every call opens its own connection, WAL
lets readers go on while one writer appends, and a busy timeout makes concurrent writers wait their
turn instead of failing. Timestamps are UTC, ISO 8601 with microseconds and a "Z", so that they sort
and compare as text; they come from core.settings.now() (PORTAL_NOW moves the clock in tests).

Columns beyond the microdata ones: `subject` (the account an action concerns: the researcher granted,
refused or expired), `grant_id` (the grant a view or download used, or the grant acted on) and `detail`
(free text: a reason, an expiry date, a version). A log written before they existed is migrated when
it is first opened (the table is rebuilt with the wider list of actions; no entry changes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from core import settings
from core.settings import ROOT
from core.shared_state import Connection, Database

__all__ = ["ACTIONS", "AUDIT_ENV", "AuditLog", "COLUMNS", "default_path"]

AUDIT_ENV = "PORTAL_AUDIT_DB"
# view, download: microdata; request ... terms: access grants (core.auth.grants); load, restore: data updates.
ACTIONS = ("view", "download", "request", "approve", "refuse", "grant", "extend", "expire", "terms", "load",
           "restore")
DATA_ACTIONS = ("view", "download")
COLUMNS = ("id", "timestamp", "username", "role", "action", "dataset", "filters", "columns", "rows", "format",
           "subject", "grant_id", "detail")
_TABLE = f"""
CREATE TABLE IF NOT EXISTS audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT    NOT NULL,
    username  TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ({', '.join(f"'{a}'" for a in ACTIONS)})),
    dataset   TEXT    NOT NULL,
    filters   TEXT    NOT NULL,
    columns   TEXT    NOT NULL,
    rows      INTEGER NOT NULL CHECK (rows >= 0),
    format    TEXT,
    subject   TEXT,
    grant_id  INTEGER,
    detail    TEXT
);"""
_SCHEMA = _TABLE + """
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (timestamp);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (username, timestamp);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END;
"""
# The same refusals in PostgreSQL: a trigger function, for rows changed or deleted and for TRUNCATE.
_POSTGRES_SCHEMA = _TABLE + """
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (timestamp);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (username, timestamp);
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: entries cannot be %',
        CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END;
END $$;
CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""


def default_path() -> Path:
    """Read at call time, so that tests and servers can point the log elsewhere."""
    return Path(os.environ.get(AUDIT_ENV) or ROOT / "var" / "audit.sqlite3")


def _now() -> str:
    return settings.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_OLD_COLUMNS = ("id", "timestamp", "username", "role", "action", "dataset", "filters", "columns", "rows", "format")


def _migrate(con: sqlite3.Connection | Connection) -> None:
    """A log from before grants (no `subject` column, actions view and download only): rebuilt, in one
    transaction, with every entry kept as it was."""
    have = [r[1] for r in con.execute("PRAGMA table_info(audit)")]
    if not have or "subject" in have:
        return
    old = ", ".join(_OLD_COLUMNS)
    con.execute("BEGIN IMMEDIATE")
    try:
        if "subject" in [r[1] for r in con.execute("PRAGMA table_info(audit)")]:  # migrated meanwhile
            con.execute("ROLLBACK")
            return
        con.execute("DROP TRIGGER IF EXISTS audit_no_update")
        con.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        con.execute("ALTER TABLE audit RENAME TO audit_before_grants")
        con.execute(_TABLE.replace("IF NOT EXISTS ", ""))
        con.execute(f"INSERT INTO audit ({old}) SELECT {old} FROM audit_before_grants ORDER BY id")
        con.execute("DROP TABLE audit_before_grants")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


class AuditLog:
    """The audit log in `location`: a SQLite file (default: PORTAL_AUDIT_DB, else var/audit.sqlite3), or the
    PostgreSQL database of a postgresql:// URL (default when PORTAL_DATABASE_URL is set), created with its
    table and triggers on first use. Cheap to create."""

    def __init__(self, location: Path | str | None = None):
        if location is None:
            location = settings.database_url() or default_path()
        self.db = Database(location)
        self.path = self.db.path  # None in PostgreSQL
        if self.db.postgres:
            self.db.ensure("audit", lambda con: con.script(_POSTGRES_SCHEMA))
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            _migrate(con)
            con.script(_SCHEMA)

    def _connect(self) -> contextlib.AbstractContextManager[Connection]:
        return self.db.connect()

    # -- writing: the only way in ------------------------------------------------------------------

    def record(self, *, username: str, role: str, action: str, dataset: str,
               filters: Mapping[str, Sequence[str]] | None, columns: Sequence[str], rows: int,
               format: str | None = None, subject: str | None = None, grant_id: int | None = None,
               detail: str | None = None) -> int:
        """Append one entry; its id. `filters` and `columns` are stored as JSON (filters with sorted keys,
        so that the same filter reads the same). A view or a download names its dataset; the other
        actions may leave it empty (a request for several datasets names them in `detail`)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
        if not username or not role or (action in DATA_ACTIONS and not dataset):
            raise ValueError("an audit entry needs a username, a role and a dataset")
        entry = (_now(), str(username), str(role), action, str(dataset or ""),
                 json.dumps({k: list(v) for k, v in sorted((filters or {}).items()) if v}, ensure_ascii=False),
                 json.dumps(list(columns), ensure_ascii=False), int(rows), format, subject,
                 None if grant_id is None else int(grant_id), detail)
        with self._connect() as con:
            return con.insert(
                "INSERT INTO audit (timestamp, username, role, action, dataset, filters, columns, rows, format, "
                "subject, grant_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entry)

    def event(self, action: str, *, username: str, role: str, dataset: str = "", subject: str | None = None,
              grant_id: int | None = None, detail: str | None = None) -> int:
        """Append an entry that is not a view of rows: a grant's life, a data load (no filters, no rows)."""
        return self.record(username=username, role=role, action=action, dataset=dataset, filters=None,
                           columns=(), rows=0, subject=subject, grant_id=grant_id, detail=detail)

    # -- reading -----------------------------------------------------------------------------------

    def entries(self, *, username: str | None = None, dataset: str | None = None,
                start: dt.date | None = None, end: dt.date | None = None, action: str | None = None,
                limit: int | None = None) -> pd.DataFrame:
        """Entries, newest first, filtered by user, dataset, action and UTC dates (`start` and `end`
        both included). `filters` and `columns` come back decoded (a dict, a list)."""
        where, params = [], []
        for column, value in (("username", username), ("dataset", dataset), ("action", action)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if start is not None:
            where.append("timestamp >= ?")
            params.append(start.isoformat())
        if end is not None:
            where.append("timestamp < ?")
            params.append((end + dt.timedelta(days=1)).isoformat())
        sql = f"SELECT {', '.join(COLUMNS)} FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as con:
            found = con.execute(sql, params).fetchall()
        table = pd.DataFrame(found, columns=list(COLUMNS))
        table["filters"] = table["filters"].map(json.loads)
        table["columns"] = table["columns"].map(json.loads)
        return table.astype({"id": "int64", "rows": "int64", "grant_id": "Int64"})

    def usernames(self) -> list[str]:
        return self._distinct("username")

    def datasets(self) -> list[str]:
        return self._distinct("dataset")

    def _distinct(self, column: str) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM audit ORDER BY 1")]


def as_table(entries: pd.DataFrame) -> pd.DataFrame:
    """Entries as a flat table for a file or a screen: filters and columns back to JSON text."""
    out = entries.copy()
    out["filters"] = out["filters"].map(lambda f: json.dumps(f, ensure_ascii=False))
    out["columns"] = out["columns"].map(lambda c: ", ".join(c))
    return out
