"""Server-side login sessions: who is signed in, checked on every rerun, ended for good on logout.

streamlit-authenticator 0.4.2 only writes and reads a login cookie: a JWT {"username", "exp_date"}
signed HS256 with our cookie key (models/cookie_model.py). It cannot revoke one, it has no idle or
absolute timeout, and it would sign a disabled user back in from an old cookie. This module holds what
the library lacks; components/auth.py only moves values between it and st.session_state.

A session (`Session`) is checked by `touch()` on every rerun and refused (SessionEnded, with `code`) when:
  unknown_user      the user is no longer in the store;
  disabled          the user is disabled;
  revoked           it was issued at or before the user's `sessions_valid_after` (set on logout,
                    disable, role change and password reset, persisted in the user store, so that it
                    holds after a restart and across processes);
  role_changed      the store's role differs from the session's (belt and braces: set_role revokes too);
  absolute_timeout  more than `absolute_timeout` (8 h, env PORTAL_SESSION_MAX_HOURS) since login;
  idle_timeout      more than `idle_timeout` (30 min, env PORTAL_SESSION_IDLE_MINUTES) since the last
                    rerun of any session riding on the same login cookie;
  store_unavailable the users file cannot be read (fail closed).
`resume()` turns a login cookie into a session (a reload or a new tab), with the same checks, plus
invalid_cookie (bad signature or claims, no cookie key, or an issue time that does not fit the
configured expiry) and cookie_expired.

Logout revocation. Logout sets the user's `sessions_valid_after` to now: the cookie of the session
that logged out, a copy of it replayed later, and the user's other sessions and devices are all
refused from then on. (There is no per-cookie deny-list: it would have to be persisted and pruned for
little gain; signing out everywhere is the price, and it is what a shared-computer user wants anyway.)

When was a cookie issued? The JWT carries no issue time, only `exp_date`, which the library computes as
`(datetime.now() + timedelta(days=cookie_expiry_days)).timestamp()`, on naive local time. Given the
expiry days it was made with, `cookie_issued_at()` inverts that: it tries the times t near
`exp_date - days` (every 15 minutes within 3 hours, since a daylight-saving change between issue and
expiry shifts naive arithmetic by the zone's offset change), keeps those for which the library's
formula gives back `exp_date`, and takes the earliest. That is exact outside DST switch hours, and never
later than the truth, so a cookie is never taken as newer than a revocation that followed it.
The expiry days are ours (`CookieSettings.expiry_days`: the absolute timeout, so that a cookie never
outlives its session), and the cookie's name carries them (`portal_login_28800s` for 8 hours), so that
after a change of timeout older cookies are not read at all rather than misdated.

Idle time across tabs: `issue_cookie()` makes the new cookie's exact `exp_date` (the library's formula)
and `attach_cookie()` keys a last-seen registry with it, so
a new tab resuming the same cookie inherits the idle clock. The registry is in memory by default: after a
restart it is empty and a cookie's last activity counts as its issue time, so cookies older than the idle
timeout then need a new login. With PORTAL_DATABASE_URL set (several replicas, core/shared_state.py) it
is PostgreSQL's `session_seen` table, shared by every replica: a visitor sent to another replica keeps
their idle clock, and a logout on one replica (sessions_valid_after, in the shared user store) ends the
sessions on all of them at their next rerun.

Wiring, in components/auth.py (session keys written by streamlit-authenticator: name,
authentication_status, username, email, roles, logout, init; ours: portal_session):

  per process (st.cache_resource):
    cookie = cookie_settings()                    # MissingSecret: public tier only, offer no login
    manager = SessionManager(UserStore(), policy=SessionPolicy.from_env(), cookie=cookie)
  per run, in app.py before st.navigation:
    s = st.session_state;  session = s.get("portal_session")
    try:
        if session is not None:
            session = manager.touch(session)
        elif not s.get("logout") and isinstance(token := st.context.cookies.get(cookie.name), str):
            session = manager.resume(token)
    except SessionEnded as e:
        end(e.code)                               # see below; tell the user for the timeouts/revoked
    else:
        if session: s["portal_session"] = session and set authentication_status=True, username, name,
                    roles=[session.role] (the role the pages use is session.role, from the store)
  login form (ours, not auth.login(): its form cannot be throttled and strips passwords, and its
  cookie login skips these checks):
    user = manager.authenticate(username, password, st.context.ip_address)   # LoginRefused(code, wait)
    (behind a reverse proxy, ip_address is the proxy's: pass the client address from its header instead)
    set authentication_status=True, username=user.username, name, email, roles=[user.role]
    s["portal_session"] = manager.start(user)     # in the form's callback, before the page draws
    token, exp_date, s["portal_session"] = manager.issue_cookie(s["portal_session"])   # later in that rerun
    _cookie_writer().set(cookie.name, token, expires_at=...)   # the library's cookie manager, its write
                                                  # only; drawn again, unchanged, for a few seconds (auth.py)
  logout button:
    manager.logout(s["portal_session"]); end(None)
  end(code):
    s["portal_session"] = None; s["logout"] = True (the library's own flag: its get_cookie() then returns
    False, so nothing signs in again from the stale cookie in this browser session); name, username,
    authentication_status, email, roles = None; _cookie_writer().delete(cookie.name).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import jwt

from core import settings
from core.auth.throttle import Throttle, ThrottlePolicy
from core.auth.users import User, UserError, UserStore, normalize_username
from core.settings import MissingSecret, secret
from core.shared_state import Database

COOKIE_PREFIX = "portal_login"
IDLE_ENV = "PORTAL_SESSION_IDLE_MINUTES"
ABSOLUTE_ENV = "PORTAL_SESSION_MAX_HOURS"
# A cookie that claims to be from the future beyond this is refused rather than trusted.
CLOCK_SKEW = 60.0


class SessionEnded(Exception):
    """The session (or cookie) is no longer valid. `code`: see the module docstring."""

    def __init__(self, code: str, message: str | None = None):
        super().__init__(message or code)
        self.code = code


class LoginRefused(Exception):
    """A login attempt refused. `code`: "throttled" (not checked: wait first), "bad_credentials"
    (wrong name or password, or a disabled user; deliberately not told apart) or "unavailable" (the
    users file cannot be read). `wait`: seconds before the next attempt is allowed (0 when none)."""

    def __init__(self, code: str, wait: float = 0.0):
        super().__init__(f"{code} (wait {wait:.0f} s)" if wait else code)
        self.code = code
        self.wait = wait


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: float = 30 * 60
    absolute_timeout: float = 8 * 3600

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SessionPolicy:
        environ = os.environ if environ is None else environ
        return cls(idle_timeout=_positive(environ, IDLE_ENV, cls.idle_timeout / 60) * 60,
                   absolute_timeout=_positive(environ, ABSOLUTE_ENV, cls.absolute_timeout / 3600) * 3600)


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, not {raw!r}")
    return value


@dataclass(frozen=True)
class CookieSettings:
    name: str
    key: str = field(repr=False)
    expiry_days: float


def cookie_settings(policy: SessionPolicy | None = None) -> CookieSettings:
    """The login cookie's name, signing key (secret `cookie_key` / env PORTAL_COOKIE_KEY, at least 32
    bytes, else MissingSecret) and expiry (the absolute timeout, in days, also in the name)."""
    key = secret("cookie_key", env="PORTAL_COOKIE_KEY")
    if len(key.encode("utf-8")) < 32:
        raise MissingSecret("The secret 'cookie_key' must be at least 32 bytes long.")
    policy = policy or SessionPolicy.from_env()
    return CookieSettings(name=cookie_name(policy.absolute_timeout), key=key,
                          expiry_days=policy.absolute_timeout / 86400)


def cookie_name(lifetime: float) -> str:
    """The login cookie's name, which carries its lifetime: cookie_issued_at() must know the expiry a
    cookie was made with, and a cookie from before a change of timeout must not be read with the new one."""
    return f"{COOKIE_PREFIX}_{round(lifetime)}s"


def library_exp_date(issued_at: float, expiry_days: float) -> float:
    """The `exp_date` streamlit-authenticator 0.4.2 puts in a cookie issued at `issued_at`
    (CookieModel._set_exp_date: `datetime.now() + timedelta(days=...)`, naive local time)."""
    return (datetime.fromtimestamp(issued_at) + timedelta(days=expiry_days)).timestamp()


def cookie_issued_at(exp_date: float, expiry_days: float) -> float | None:
    """When a library cookie with this `exp_date` was issued (earliest fit), or None if none fits."""
    base = exp_date - expiry_days * 86400
    fits = [t for t in (base + k * 900 for k in range(-12, 13))
            if abs(library_exp_date(t, expiry_days) - exp_date) < 1e-3]
    return min(fits) if fits else None


@dataclass(frozen=True)
class Session:
    username: str
    name: str
    role: str
    issued_at: float  # epoch seconds
    last_seen: float
    cookie_exp: float | None = None  # the login cookie's exp_date: which cookie this session rides on


class _MemorySeen:
    """The last activity of each login cookie, (username, exp_date) -> time, in this process's memory."""

    def __init__(self):
        self._seen: dict[tuple[str, float], float] = {}
        self._lock = threading.Lock()

    def get(self, username: str, cookie_exp: float) -> float | None:
        with self._lock:
            return self._seen.get((username, cookie_exp))

    def seen(self, username: str, cookie_exp: float, now: float) -> None:
        """Move the cookie's last activity to `now` (never backwards)."""
        with self._lock:
            key = (username, cookie_exp)
            self._seen[key] = max(now, self._seen.get(key, now))

    def forget(self, username: str) -> None:
        with self._lock:
            for key in [k for k in self._seen if k[0] == username]:
                del self._seen[key]

    def prune(self, before: float) -> None:
        with self._lock:
            for key in [k for k, seen in self._seen.items() if seen < before]:
                del self._seen[key]


_SEEN_SCHEMA = """
CREATE TABLE IF NOT EXISTS session_seen (
    username   TEXT NOT NULL,
    cookie_exp DOUBLE PRECISION NOT NULL,
    last_seen  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (username, cookie_exp)
);
CREATE INDEX IF NOT EXISTS session_seen_by_time ON session_seen (last_seen);
"""


class _SharedSeen:
    """The same registry in PostgreSQL's `session_seen` table, shared by every replica."""

    def __init__(self, url: str):
        self.db = Database(url)
        self.db.ensure("session_seen", lambda con: con.script(_SEEN_SCHEMA))

    def get(self, username: str, cookie_exp: float) -> float | None:
        with self.db.connect() as con:
            row = con.execute("SELECT last_seen FROM session_seen WHERE username = ? AND cookie_exp = ?",
                              (username, cookie_exp)).fetchone()
        return None if row is None else row[0]

    def seen(self, username: str, cookie_exp: float, now: float) -> None:
        with self.db.connect() as con:
            con.execute("INSERT INTO session_seen (username, cookie_exp, last_seen) VALUES (?, ?, ?) "
                        "ON CONFLICT (username, cookie_exp) DO UPDATE "
                        "SET last_seen = GREATEST(session_seen.last_seen, EXCLUDED.last_seen)",
                        (username, float(cookie_exp), now))

    def forget(self, username: str) -> None:
        with self.db.connect() as con:
            con.execute("DELETE FROM session_seen WHERE username = ?", (username,))

    def prune(self, before: float) -> None:
        with self.db.connect() as con:
            con.execute("DELETE FROM session_seen WHERE last_seen < ?", (before,))


class SessionManager:
    """One per process, shared by all Streamlit sessions (thread-safe). `database`: a postgresql:// URL
    for the idle registry shared by replicas; default PORTAL_DATABASE_URL when set, else memory."""

    def __init__(self, users: UserStore, *, policy: SessionPolicy | None = None,
                 throttle: Throttle | None = None, cookie: CookieSettings | None = None,
                 clock: Callable[[], float] | None = None, database: str | None = None):
        self.users = users
        self.policy = policy or SessionPolicy()
        database = database if database is not None else settings.database_url()
        self.throttle = throttle or Throttle(ThrottlePolicy.from_env(), database=database)
        self.cookie = cookie
        # The store stamps sessions_valid_after with its clock: both must read the same time.
        self.clock = clock or users.clock
        self._last_seen = _SharedSeen(database) if database else _MemorySeen()

    def authenticate(self, username: str, password: str, address: str | None = None) -> User:
        """The user behind a login form's submission, or LoginRefused. Throttled per username and address."""
        username = normalize_username(username) if isinstance(username, str) else ""
        wait = self.throttle.check(username, address)
        if wait > 0:
            raise LoginRefused("throttled", wait)
        try:
            user = self.users.verify_password(username, password)
        except UserError as e:  # a damaged users file: nobody logs in until it is repaired
            raise LoginRefused("unavailable") from e
        if user is None:
            raise LoginRefused("bad_credentials", self.throttle.record_failure(username, address))
        self.throttle.record_success(username, address)
        return user

    def start(self, user: User, *, cookie_exp: float | None = None) -> Session:
        """A new session for a user who just proved their password; `cookie_exp` is the exp_date of
        the login cookie set for it (None when no cookie was set)."""
        now = self.clock()
        session = Session(username=user.username, name=user.name, role=user.role, issued_at=now,
                          last_seen=now)
        return session if cookie_exp is None else self.attach_cookie(session, cookie_exp)

    def attach_cookie(self, session: Session, cookie_exp: float) -> Session:
        """The session, riding from now on on the login cookie with this exp_date (a cookie set just
        after start(), as the sign-in form does): tabs resumed from that cookie share its idle clock."""
        now = self.clock()
        # Entries idle past the timeout are refused anyway; dropping them keeps the registry small.
        self._last_seen.prune(now - self.policy.idle_timeout)
        self._last_seen.seen(session.username, cookie_exp, now)
        return replace(session, cookie_exp=cookie_exp, last_seen=now)

    def issue_cookie(self, session: Session) -> tuple[str, float, Session]:
        """A login cookie for a session just started: its JWT, in streamlit-authenticator's format
        ({"username", "exp_date"}, HS256, the library's expiry formula, so that resume() and the library
        read it alike), its exp_date, and the session riding on it (see attach_cookie)."""
        if self.cookie is None:
            raise SessionEnded("invalid_cookie", "no cookie key configured")
        exp_date = library_exp_date(self.clock(), self.cookie.expiry_days)
        token = jwt.encode({"username": session.username, "exp_date": exp_date}, self.cookie.key, algorithm="HS256")
        return token, exp_date, self.attach_cookie(session, exp_date)

    def resume(self, token: str) -> Session:
        """A session from a login cookie's JWT (a reload, a new tab), or SessionEnded."""
        if not isinstance(token, str) or not token or self.cookie is None:
            raise SessionEnded("invalid_cookie")
        try:
            claims = jwt.decode(token, self.cookie.key, algorithms=["HS256"])
        except jwt.InvalidTokenError as e:
            raise SessionEnded("invalid_cookie", str(e)) from e
        username, exp_date = claims.get("username"), claims.get("exp_date")
        if (not isinstance(username, str) or isinstance(exp_date, bool)
                or not isinstance(exp_date, int | float) or not math.isfinite(exp_date)):
            raise SessionEnded("invalid_cookie", "unexpected claims")
        now = self.clock()
        if exp_date <= now:
            raise SessionEnded("cookie_expired")
        issued_at = cookie_issued_at(float(exp_date), self.cookie.expiry_days)
        if issued_at is None or issued_at > now + CLOCK_SKEW:
            raise SessionEnded("invalid_cookie", "the issue time does not fit the configured expiry")
        user = self._user(username)
        if user is None:
            raise SessionEnded("unknown_user")
        last_seen = self._last_seen.get(user.username, exp_date)
        last_seen = issued_at if last_seen is None else last_seen
        session = Session(username=user.username, name=user.name, role=user.role, issued_at=issued_at,
                          last_seen=last_seen, cookie_exp=exp_date)
        return self._touch(session, user, now)

    def touch(self, session: Session) -> Session:
        """Check a session on a rerun; returns it with last_seen moved to now, or raises SessionEnded."""
        return self._touch(session, self._user(session.username), self.clock())

    def logout(self, session: Session) -> None:
        """End this session, its cookie and every other session of the user, for good."""
        try:
            self.users.end_sessions(session.username)
        except UserError as e:
            if e.code != "unknown_user":  # a user removed meanwhile has no sessions left to end
                raise
        self._last_seen.forget(session.username)

    def check(self, session: Session, user: User | None, now: float) -> None:
        """Raise SessionEnded if `session` is not valid for `user` (from the store) at `now`."""
        if user is None:
            raise SessionEnded("unknown_user")
        if user.disabled:
            raise SessionEnded("disabled")
        if session.issued_at <= user.sessions_valid_after.timestamp():
            raise SessionEnded("revoked")
        if user.role != session.role:
            raise SessionEnded("role_changed")
        if now - session.issued_at > self.policy.absolute_timeout:
            raise SessionEnded("absolute_timeout")
        last_seen = session.last_seen
        if session.cookie_exp is not None:
            seen = self._last_seen.get(session.username, session.cookie_exp)
            last_seen = last_seen if seen is None else max(last_seen, seen)
        if now - last_seen > self.policy.idle_timeout:
            raise SessionEnded("idle_timeout")

    def _user(self, username: str) -> User | None:
        try:
            return self.users.get_user(username)
        except UserError as e:  # fail closed: a damaged users file signs everybody out
            raise SessionEnded("store_unavailable", str(e)) from e

    def _touch(self, session: Session, user: User | None, now: float) -> Session:
        self.check(session, user, now)
        if session.cookie_exp is not None:
            self._last_seen.seen(session.username, session.cookie_exp, now)
        return replace(session, name=user.name, last_seen=now)
