"""The audit log of microdata: every page of rows a researcher is shown and every file they take away.

One SQLite file (PORTAL_AUDIT_DB, default var/audit.sqlite3, git-ignored), written through the stdlib
`sqlite3` module, so that any SQLite tool can read it and nothing else is needed to run the portal.

Append-only twice over:
- this API can only add an entry (`record`) and read entries (`entries`, `usernames`, `datasets`);
- the database itself refuses to change the past: triggers RAISE on every UPDATE and DELETE of the
  table, whatever program opens the file.

Safe for the server's threads (and for several processes): every call opens its own connection, WAL
lets readers go on while one writer appends, and a busy timeout makes concurrent writers wait their
turn instead of failing. Timestamps are UTC, ISO 8601 with microseconds and a "Z", so that they sort
and compare as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd

from core.settings import ROOT

__all__ = ["ACTIONS", "AUDIT_ENV", "AuditLog", "COLUMNS", "default_path"]

AUDIT_ENV = "PORTAL_AUDIT_DB"
ACTIONS = ("view", "download")
COLUMNS = ("id", "timestamp", "username", "role", "action", "dataset", "filters", "columns", "rows", "format")
_BUSY_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT    NOT NULL,
    username  TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ('view', 'download')),
    dataset   TEXT    NOT NULL,
    filters   TEXT    NOT NULL,
    columns   TEXT    NOT NULL,
    rows      INTEGER NOT NULL CHECK (rows >= 0),
    format    TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (timestamp);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (username, timestamp);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END;
"""


def default_path() -> Path:
    """Read at call time, so that tests and servers can point the log elsewhere."""
    return Path(os.environ.get(AUDIT_ENV) or ROOT / "var" / "audit.sqlite3")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    """The audit log in the SQLite file `path` (default: PORTAL_AUDIT_DB, else var/audit.sqlite3),
    created with its tables and triggers on first use. Cheap to create."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: sqlite3 connections must not be shared between threads.
        con = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(_BUSY_SECONDS * 1000)}")
            yield con
        finally:
            con.close()

    # -- writing: the only way in ------------------------------------------------------------------

    def record(self, *, username: str, role: str, action: str, dataset: str,
               filters: Mapping[str, Sequence[str]] | None, columns: Sequence[str], rows: int,
               format: str | None = None) -> int:
        """Append one entry; its id. `filters` and `columns` are stored as JSON (filters with sorted keys,
        so that the same filter reads the same)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
        if not username or not role or not dataset:
            raise ValueError("an audit entry needs a username, a role and a dataset")
        entry = (_now(), str(username), str(role), action, str(dataset),
                 json.dumps({k: list(v) for k, v in sorted((filters or {}).items()) if v}, ensure_ascii=False),
                 json.dumps(list(columns), ensure_ascii=False), int(rows), format)
        with self._connect() as con:
            cursor = con.execute(
                "INSERT INTO audit (timestamp, username, role, action, dataset, filters, columns, rows, format) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", entry)
            return int(cursor.lastrowid)

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
        return table.astype({"id": "int64", "rows": "int64"})

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
