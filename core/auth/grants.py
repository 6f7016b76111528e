"""Researcher access asked for and granted in the portal: access requests, grants per dataset with an
expiry, and the terms of use accepted once per grant.

Three plain-SQL tables in the audit log's database (core.auth.audit: its SQLite file, PORTAL_AUDIT_DB, or
PostgreSQL with PORTAL_DATABASE_URL, written with the same SQL), beside the append-only `audit` table, which records every step (request, approve, refuse, grant, extend, expire,
terms):

  access_requests  what a visitor asked for on the "Researcher access" page: name, organisation,
                   e-mail, purpose, the datasets wanted, the date access is needed until, the terms
                   accepted; then the decision (approved or refused with a reason) and the account.
  grants           one row per account and dataset: from when, until which day (inclusive, UTC), who
                   granted it, when its terms were accepted. Dataset "*" is every dataset, present and
                   future: the "before-grants" grant (below).
  grants_meta      the store's own facts (when the before-grants migration ran).

Tiers. An admin queries every dataset at the admin tier; a researcher the researcher tier of a dataset
only while a grant of it is unexpired and its terms accepted, and the public tier otherwise (with the
grant that ended, for the message: `access`). The clock is core.settings.now() (PORTAL_NOW in tests).

Migration. The first time the tables are made, every researcher already in the user store gets a
"before-grants" grant on every dataset, with no end and terms taken as accepted: nobody loses access
silently when grants arrive. An admin gives such a grant an end with `python -m scripts.users extend
GRANT DATE` (README, "Researcher access").

Approval creates the researcher's account (users.py, with a one-time password to hand over, as the
admin page does) or, when an account has the request's e-mail, adds the grants to it. Every refused
operation raises GrantError with a stable `code` (for translated messages) and changes nothing.

No Streamlit here: the request form is pages/access.py, the admin's screens components/grants.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core import settings
from core.auth.audit import AuditLog
from core.auth.users import UserError, UserStore, generate_password, normalize_username
from core.i18n import t

ALL = "*"  # a grant of every dataset (the before-grants grant)
BEFORE_GRANTS = "before-grants"
TERMS_ENV = "PORTAL_TERMS_FILE"
# What a request asks for, in the form's order: the message key of each is access.field.<name>.
FIELDS = ("name", "organisation", "email", "purpose", "datasets", "until", "terms")
LIMITS = {"name": 100, "organisation": 200, "email": 254, "purpose": 2000}
# The message key naming each field of a request or decision, for "please fill in ..." messages.
FIELD_KEYS = {"name": "access.field.name", "organisation": "access.field.organisation",
              "email": "access.field.email", "purpose": "access.field.purpose",
              "datasets": "access.field.datasets", "until": "access.field.until",
              "terms": "access.field.terms", "expires": "grants.field.expires"}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # newlines are fine in a purpose

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at   TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    organisation TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    purpose      TEXT    NOT NULL,
    datasets     TEXT    NOT NULL,
    until        TEXT    NOT NULL,
    lang         TEXT    NOT NULL,
    terms_accepted_at TEXT NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
    decided_at   TEXT,
    decided_by   TEXT,
    reason       TEXT,
    username     TEXT
);
CREATE TABLE IF NOT EXISTS grants (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    username     TEXT    NOT NULL,
    dataset      TEXT    NOT NULL,
    granted_at   TEXT    NOT NULL,
    expires_on   TEXT,
    granted_by   TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('request', 'direct', 'before-grants')),
    request_id   INTEGER REFERENCES access_requests (id),
    terms_accepted_at TEXT,
    expiry_recorded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS grants_by_user ON grants (username, dataset);
CREATE TABLE IF NOT EXISTS grants_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class GrantError(Exception):
    """A refused request, decision or grant; nothing was changed. `code` is stable (message key
    grants.error.<code>), `params` fill the message.

    Codes: missing (field), too_long (field, max), invalid_text (field), invalid_email, no_dataset,
    unknown_dataset (dataset), terms_not_accepted, date_past (field), unknown_request (id),
    already_decided (id), no_reason, account_disabled (username), not_researcher (username),
    unknown_user (username), unknown_grant (id).
    """

    def __init__(self, code: str, **params):
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        """The refusal in `lang` (the field named in it too)."""
        params = dict(self.params)
        if "field" in params:
            params["field"] = t(FIELD_KEYS.get(params["field"], "access.field.name"), lang)
        return t(f"grants.error.{self.code}", lang, **params)


@dataclass(frozen=True)
class Request:
    id: int
    created_at: str
    name: str
    organisation: str
    email: str
    purpose: str
    datasets: tuple[str, ...]
    until: dt.date
    lang: str
    status: str
    decided_at: str | None
    decided_by: str | None
    reason: str | None
    username: str | None


@dataclass(frozen=True)
class Grant:
    id: int
    username: str
    dataset: str  # ALL for every dataset
    granted_at: str
    expires_on: dt.date | None  # the last day of access (UTC), None: no end
    granted_by: str
    kind: str
    request_id: int | None
    terms_accepted_at: str | None

    def covers(self, dataset: str) -> bool:
        return self.dataset in (ALL, dataset)

    def expired(self, today: dt.date) -> bool:
        return self.expires_on is not None and self.expires_on < today


@dataclass(frozen=True)
class Access:
    """What a signed-in person (or a visitor) gets of one dataset now."""
    tier: str  # core.query's tier: public, researcher or admin
    grant: Grant | None = None  # the grant in use (researchers)
    ended: Grant | None = None  # back at the public tier: the grant of this dataset that expired last
    terms_due: bool = False  # a grant exists, its terms not yet accepted

    @property
    def grant_id(self) -> int | None:
        return self.grant.id if self.grant else None


@dataclass(frozen=True)
class Approval:
    username: str
    password: str | None  # the one-time password of a new account; None when the account existed
    grants: tuple[Grant, ...]


def today() -> dt.date:
    return settings.now().date()


def _stamp() -> str:
    return settings.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clean(field: str, value, *, multiline: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise GrantError("missing", field=field)
    if len(text) > LIMITS[field]:
        raise GrantError("too_long", field=field, max=LIMITS[field])
    if _CONTROL.search(text) or (not multiline and "\n" in text):
        raise GrantError("invalid_text", field=field)
    return text


def _check_datasets(datasets: Iterable[str] | None, known: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(d for d in (datasets or ()) if d))
    if not chosen:
        raise GrantError("no_dataset")
    for dataset in chosen:
        if dataset not in known:
            raise GrantError("unknown_dataset", dataset=dataset)
    return chosen


def _check_future(day, field: str) -> dt.date:
    if isinstance(day, dt.datetime):
        day = day.date()
    if not isinstance(day, dt.date):
        raise GrantError("missing", field=field)
    if day < today():
        raise GrantError("date_past", field=field)
    return day


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


class Grants:
    """Requests and grants in the audit log's database at `location` (default: the audit log's, see
    core.auth.audit.AuditLog), for the users of `users` (default: UserStore()). Cheap to create; the tables
    are made on first use."""

    def __init__(self, location: Path | str | None = None, users: UserStore | None = None):
        self.audit = AuditLog(location)
        self.path = self.audit.path
        self.users = users if users is not None else UserStore()
        self.audit.db.ensure("grants", lambda con: con.script(_SCHEMA))
        with self.audit._connect() as con:
            self._migrate(con)

    # -- migration -----------------------------------------------------------------------------

    def _migrate(self, con) -> None:
        if con.execute("SELECT 1 FROM grants_meta WHERE key = 'migrated_at'").fetchone():
            return
        with con.transaction(lock="grants migration"):
            if con.execute("SELECT 1 FROM grants_meta WHERE key = 'migrated_at'").fetchone():
                return
            now = _stamp()
            researchers = [u.username for u in self.users.list_users() if u.role == "researcher"]
            for username in researchers:
                con.execute("INSERT INTO grants (username, dataset, granted_at, expires_on, granted_by, kind, "
                            "terms_accepted_at) VALUES (?, ?, ?, NULL, ?, ?, ?)",
                            (username, ALL, now, BEFORE_GRANTS, BEFORE_GRANTS, now))
            con.execute("INSERT INTO grants_meta (key, value) VALUES ('migrated_at', ?)", (now,))
        for username in researchers:
            self.audit.event("grant", username=BEFORE_GRANTS, role="system", dataset=ALL, subject=username,
                             detail="access held before grants existed: every dataset, no end")

    # -- requests ------------------------------------------------------------------------------

    def request(self, *, name: str, organisation: str, email: str, purpose: str, datasets: Iterable[str],
                until, terms_accepted: bool, known: Sequence[str], lang: str = "en") -> Request:
        """Record a visitor's request (`known`: the datasets that exist); GrantError if a field is
        missing or wrong, in the form's order, with nothing recorded."""
        name = _clean("name", name)
        organisation = _clean("organisation", organisation)
        email = _clean("email", email)
        if not _EMAIL.fullmatch(email):
            raise GrantError("invalid_email")
        purpose = _clean("purpose", purpose, multiline=True)
        chosen = _check_datasets(datasets, known)
        until = _check_future(until, "until")
        if terms_accepted is not True:
            raise GrantError("terms_not_accepted")
        now = _stamp()
        with self.audit._connect() as con:
            request_id = con.insert(
                "INSERT INTO access_requests (created_at, name, organisation, email, purpose, datasets, until, "
                "lang, terms_accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, name, organisation, email, purpose, json.dumps(chosen), until.isoformat(), lang, now))
        self.audit.event("request", username=email, role="public", dataset=",".join(chosen),
                         detail=f"request {request_id}: {name} ({organisation}), until {until.isoformat()}; "
                                f"terms accepted")
        self.audit.event("terms", username=email, role="public", dataset=",".join(chosen),
                         detail=f"request {request_id}: terms of use accepted with the request")
        return self.get_request(request_id)

    def get_request(self, request_id: int) -> Request:
        with self.audit._connect() as con:
            row = con.execute(f"SELECT {_REQUEST_COLUMNS} FROM access_requests WHERE id = ?",
                              (int(request_id),)).fetchone()
        if row is None:
            raise GrantError("unknown_request", id=request_id)
        return _request(row)

    def requests(self, status: str | None = None) -> list[Request]:
        """Requests, oldest first; `status`: pending, approved or refused."""
        sql = f"SELECT {_REQUEST_COLUMNS} FROM access_requests"
        params: tuple = ()
        if status:
            sql += " WHERE status = ?"
            params = (status,)
        with self.audit._connect() as con:
            return [_request(r) for r in con.execute(sql + " ORDER BY id", params)]

    def pending(self) -> list[Request]:
        return self.requests("pending")

    def _pending(self, request_id) -> Request:
        try:
            request = self.get_request(int(request_id))
        except (TypeError, ValueError):
            raise GrantError("unknown_request", id=request_id) from None
        if request.status != "pending":
            raise GrantError("already_decided", id=request.id)
        return request

    def approve(self, request_id: int, *, admin: str, expires, datasets: Iterable[str],
                known: Sequence[str]) -> Approval:
        """Approve a pending request: grants of `datasets` until `expires` (inclusive) to the account of
        the request's e-mail, made now (with a one-time password) when there is none."""
        request = self._pending(request_id)
        chosen = _check_datasets(datasets, known)
        expires = _check_future(expires, "expires")
        account = self._account_for(request.email)
        password = None
        if account is None:
            username = self._new_username(request.email)
            password = generate_password(username)
            try:
                account = self.users.add_user(username, password, role="researcher", name=request.name[:100],
                                              email=request.email)
            except UserError as e:
                raise GrantError("account_failed", username=username, reason=e.code) from e
        with self.audit._connect() as con, con.transaction():
            updated = con.execute(
                "UPDATE access_requests SET status = 'approved', decided_at = ?, decided_by = ?, username = ? "
                "WHERE id = ? AND status = 'pending'", (_stamp(), admin, account.username, request.id)).rowcount
            if not updated:
                raise GrantError("already_decided", id=request.id)
            ids = [self._insert(con, account.username, d, expires, admin, "request", request.id) for d in chosen]
        self.audit.event("approve", username=admin, role="admin", dataset=",".join(chosen),
                         subject=account.username,
                         detail=f"request {request.id}; until {expires.isoformat()}; "
                                + ("account created" if password else "existing account"))
        grants = tuple(self.get_grant(i) for i in ids)
        for g in grants:
            self.audit.event("grant", username=admin, role="admin", dataset=g.dataset, subject=g.username,
                             grant_id=g.id, detail=f"until {expires.isoformat()}; request {request.id}")
        return Approval(account.username, password, grants)

    def refuse(self, request_id: int, *, admin: str, reason: str) -> Request:
        request = self._pending(request_id)
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise GrantError("no_reason")
        with self.audit._connect() as con:
            updated = con.execute(
                "UPDATE access_requests SET status = 'refused', decided_at = ?, decided_by = ?, reason = ? "
                "WHERE id = ? AND status = 'pending'", (_stamp(), admin, reason[:2000], request.id)).rowcount
        if not updated:
            raise GrantError("already_decided", id=request.id)
        self.audit.event("refuse", username=admin, role="admin", dataset=",".join(request.datasets),
                         subject=request.email, detail=f"request {request.id}: {reason[:2000]}")
        return self.get_request(request.id)

    # -- grants --------------------------------------------------------------------------------

    def grant(self, username: str, datasets: Iterable[str], expires, *, admin: str,
              known: Sequence[str]) -> list[Grant]:
        """Grants made directly (the command line), to an existing researcher account."""
        user = self._researcher(username)
        chosen = _check_datasets(datasets, known)
        expires = _check_future(expires, "expires")
        with self.audit._connect() as con, con.transaction():
            ids = [self._insert(con, user.username, d, expires, admin, "direct", None) for d in chosen]
        grants = [self.get_grant(i) for i in ids]
        for g in grants:
            self.audit.event("grant", username=admin, role="admin", dataset=g.dataset, subject=g.username,
                             grant_id=g.id, detail=f"until {expires.isoformat()}")
        return grants

    def extend(self, grant_id: int, expires, *, admin: str) -> Grant:
        """A new last day for a grant (expired or not); its terms stay accepted."""
        grant = self.get_grant(grant_id)
        expires = _check_future(expires, "expires")
        with self.audit._connect() as con:
            con.execute("UPDATE grants SET expires_on = ?, expiry_recorded = 0 WHERE id = ?",
                        (expires.isoformat(), grant.id))
        before = grant.expires_on.isoformat() if grant.expires_on else "no end"
        self.audit.event("extend", username=admin, role="admin", dataset=grant.dataset, subject=grant.username,
                         grant_id=grant.id, detail=f"{before} -> {expires.isoformat()}")
        return self.get_grant(grant.id)

    def get_grant(self, grant_id) -> Grant:
        try:
            key = int(grant_id)
        except (TypeError, ValueError):
            raise GrantError("unknown_grant", id=grant_id) from None
        with self.audit._connect() as con:
            row = con.execute(f"SELECT {_GRANT_COLUMNS} FROM grants WHERE id = ?", (key,)).fetchone()
        if row is None:
            raise GrantError("unknown_grant", id=grant_id)
        return _grant(row)

    def grants(self, username: str | None = None) -> list[Grant]:
        """Every grant (of one account), oldest first; expiries that passed are recorded on the way."""
        sql, params = f"SELECT {_GRANT_COLUMNS} FROM grants", ()
        if username:
            sql, params = sql + " WHERE username = ?", (normalize_username(username),)
        with self.audit._connect() as con:
            found = [_grant(r) for r in con.execute(sql + " ORDER BY id", params)]
        self._record_expiries([g for g in found if g.expired(today())])
        return found

    def access(self, username: str | None, role: str | None, dataset: str) -> Access:
        """The tier of `dataset` for this account now, with the grant it uses or the one that ended."""
        if role == "admin":
            return Access("admin")
        if role != "researcher" or not username:
            return Access("public")
        day = today()
        mine = [g for g in self.grants(username) if g.covers(dataset)]
        live = [g for g in mine if not g.expired(day)]
        usable = [g for g in live if g.terms_accepted_at]
        if usable:  # the one that lasts longest
            return Access("researcher", grant=max(usable, key=lambda g: (g.expires_on or dt.date.max, g.id)))
        ended = [g for g in mine if g.expired(day)]
        return Access("public", ended=max(ended, key=lambda g: (g.expires_on, g.id)) if ended else None,
                      terms_due=bool(live))

    # -- terms of use --------------------------------------------------------------------------

    def terms_due(self, username: str) -> list[Grant]:
        """The account's unexpired grants whose terms it has not accepted yet (shown at sign-in)."""
        day = today()
        return [g for g in self.grants(username) if not g.terms_accepted_at and not g.expired(day)]

    def accept_terms(self, username: str, grant_ids: Iterable[int]) -> list[Grant]:
        """Accept the terms of these grants of `username` (once: a grant already accepted is left)."""
        username = normalize_username(username)
        accepted = []
        for grant_id in grant_ids:
            grant = self.get_grant(grant_id)
            if grant.username != username:
                raise GrantError("unknown_grant", id=grant_id)
            with self.audit._connect() as con:
                changed = con.execute("UPDATE grants SET terms_accepted_at = ? WHERE id = ? AND "
                                      "terms_accepted_at IS NULL", (_stamp(), grant.id)).rowcount
            if changed:
                self.audit.event("terms", username=username, role="researcher", dataset=grant.dataset,
                                 subject=username, grant_id=grant.id, detail="terms of use accepted")
                accepted.append(self.get_grant(grant.id))
        return accepted

    # -- internals -----------------------------------------------------------------------------

    def _record_expiries(self, expired: list[Grant]) -> None:
        for grant in expired:
            with self.audit._connect() as con:
                first = con.execute("UPDATE grants SET expiry_recorded = 1 WHERE id = ? AND expiry_recorded = 0",
                                    (grant.id,)).rowcount
            if first:
                self.audit.event("expire", username="portal", role="system", dataset=grant.dataset,
                                 subject=grant.username, grant_id=grant.id,
                                 detail=f"ended after {grant.expires_on.isoformat()}")

    @staticmethod
    def _insert(con, username: str, dataset: str, expires: dt.date, admin: str, kind: str,
                request_id: int | None) -> int:
        return con.insert(
            "INSERT INTO grants (username, dataset, granted_at, expires_on, granted_by, kind, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (username, dataset, _stamp(), expires.isoformat(), admin, kind, request_id))

    def _researcher(self, username: str):
        user = self.users.get_user(username) if isinstance(username, str) else None
        if user is None:
            raise GrantError("unknown_user", username=username)
        if user.role != "researcher":
            raise GrantError("not_researcher", username=user.username)
        if user.disabled:
            raise GrantError("account_disabled", username=user.username)
        return user

    def _account_for(self, email: str):
        matches = [u for u in self.users.list_users() if (u.email or "").lower() == email.lower()]
        if not matches:
            return None
        user = matches[0]
        if user.disabled:
            raise GrantError("account_disabled", username=user.username)
        if user.role != "researcher":
            raise GrantError("not_researcher", username=user.username)
        return user

    def _new_username(self, email: str) -> str:
        base = re.sub(r"[^a-z0-9._-]+", ".", email.split("@")[0].lower()).strip(".-_")[:28] or "researcher"
        base = base if len(base) >= 3 else f"{base}.researcher"[:28]
        taken = {u.username for u in self.users.list_users()}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}{n}"
        return name


_REQUEST_COLUMNS = ("id, created_at, name, organisation, email, purpose, datasets, until, lang, status, "
                    "decided_at, decided_by, reason, username")
_GRANT_COLUMNS = "id, username, dataset, granted_at, expires_on, granted_by, kind, request_id, terms_accepted_at"


def _request(row) -> Request:
    (id_, created, name, org, email, purpose, datasets, until, lang, status, decided_at, decided_by, reason,
     username) = row
    return Request(int(id_), created, name, org, email, purpose, tuple(json.loads(datasets)),
                   dt.date.fromisoformat(until), lang, status, decided_at, decided_by, reason, username)


def _grant(row) -> Grant:
    id_, username, dataset, granted_at, expires_on, granted_by, kind, request_id, terms = row
    return Grant(int(id_), username, dataset, granted_at, _date(expires_on), granted_by, kind,
                 None if request_id is None else int(request_id), terms)


# -- terms of use ------------------------------------------------------------------------------------


def terms_file() -> Path:
    """The operator's terms (TOML): PORTAL_TERMS_FILE, else var/terms.toml. Read at call time."""
    return Path(os.environ.get(TERMS_ENV) or settings.ROOT / "var" / "terms.toml")


def _overrides() -> dict:
    try:
        with terms_file().open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}


def terms_text(dataset: str, lang: str, title: str) -> str:
    """The terms of use of a dataset (`title`: its name in `lang`): the operator's text for the dataset,
    else their default text, else the portal's own (message grants.terms.default). In the file:

        [default]            # every dataset without its own
        en = "..."           # {dataset} is replaced by the dataset's name
        [core]
        fr = "..."
    """
    found = _overrides()
    for section in (dataset, "default"):
        text = (found.get(section) or {}).get(lang) if isinstance(found.get(section), dict) else None
        if isinstance(text, str) and text.strip():
            return text.replace("{dataset}", title)
    return t("grants.terms.default", lang, dataset=title)
