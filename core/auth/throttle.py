"""Throttling of failed logins, per username and per client address (OWASP ASVS 6.1.1, 6.3.1).

It slows a guesser down and never locks anyone out for good, unlike streamlit-authenticator's
`max_login_attempts` (a counter that never decays, or never fires):

* each key (a username, an address) keeps the times of its failed logins of the last `window`
  (15 minutes); older failures are forgotten, so the wait decays by itself;
* with n failures in the window and n >= `free` (5 per username, 20 per address, since an address may be
  a shared NAT or proxy), the next attempt must wait `first_delay` x 2^(n - free) seconds after the last
  failure, capped at `max_delay` (15 minutes): 2 s, 4 s, 8 s, ... 15 min (`first_delay` is 2 s; an
  operator may raise it with PORTAL_THROTTLE_FIRST_WAIT_SECONDS);
* a successful login clears its username's failures (not the address's: logging in to one's own account
  must not reset the count of someone guessing other accounts from the same place);
* unknown usernames are counted like real ones, so the wait does not tell which names exist.

Usage, on a login form's submit: `wait = throttle.check(u, addr)`; if wait > 0, refuse without checking
the password (and without counting); else check it and call record_success or record_failure.

One Throttle per process, shared by every session (st.cache_resource in the wrapper); thread-safe. By
default the counters live in memory: a restart forgets them, which costs an attacker a restart they cannot
cause. With PORTAL_DATABASE_URL set (several replicas behind a load balancer, core/shared_state.py) they
live in PostgreSQL's `throttle_failures` table instead, with wall-clock times, so that guesses sent to
every replica count together; the policy is the same code.
IPv6 addresses count per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from core import settings
from core.shared_state import Database

FIRST_WAIT_ENV = "PORTAL_THROTTLE_FIRST_WAIT_SECONDS"


@dataclass(frozen=True)
class ThrottlePolicy:
    window: float = 15 * 60
    free_failures: int = 5
    free_failures_per_address: int = 20
    first_delay: float = 2.0
    max_delay: float = 15 * 60
    # Bounds memory when someone sprays random usernames: past it, the stalest keys are dropped first.
    max_tracked: int = 100_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ThrottlePolicy:
        raw = (os.environ if environ is None else environ).get(FIRST_WAIT_ENV)
        if not raw:
            return cls()
        try:
            first = float(raw)
        except ValueError:
            first = 0.0
        if not 0 < first <= cls.max_delay:
            raise ValueError(f"{FIRST_WAIT_ENV} must be a positive number of seconds, at most {cls.max_delay:.0f}, not {raw!r}")
        return cls(first_delay=first)


def username_key(username: str | None) -> str | None:
    username = (username or "").strip().lower()
    return f"user:{username}" if username else None


def address_key(address: str | None) -> str | None:
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"addr:{address}"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


class Throttle:
    """`database`: a postgresql:// URL to share the counters with other replicas; default
    PORTAL_DATABASE_URL when set, else this process's memory. `clock`: seconds; wall-clock time when shared
    (replicas on several machines), monotonic time in memory."""

    def __init__(self, policy: ThrottlePolicy | None = None, *, clock: Callable[[], float] | None = None,
                 database: str | None = None):
        self.policy = policy or ThrottlePolicy()
        database = database if database is not None else settings.database_url()
        self.clock = clock or (time.time if database else time.monotonic)
        self._lock = threading.Lock()
        # Beyond this many failures the delay is at its cap anyway, so older ones need not be kept.
        keep = max(self.policy.free_failures, self.policy.free_failures_per_address) + 64
        self._failures = _SharedFailures(database, self.policy) if database else _MemoryFailures(self.policy, keep)

    def check(self, username: str | None, address: str | None) -> float:
        """Seconds to wait before this attempt is allowed; 0 when it is allowed now."""
        with self._lock:
            return self._wait(username, address, self.clock())

    def record_failure(self, username: str | None, address: str | None) -> float:
        """Count a failed login; returns the wait it imposes on the next attempt."""
        with self._lock:
            now = self.clock()
            self._failures.add(self._keys(username, address), now)
            return self._wait(username, address, now)

    def record_success(self, username: str | None, address: str | None = None) -> None:
        with self._lock:
            key = username_key(username)
            if key:
                self._failures.clear(key)

    def tracked(self) -> int:
        """How many keys are held (for tests and monitoring)."""
        with self._lock:
            return self._failures.tracked(self.clock())

    def _keys(self, username: str | None, address: str | None) -> list[str]:
        return [k for k in (username_key(username), address_key(address)) if k]

    def _wait(self, username: str | None, address: str | None, now: float) -> float:
        keys = self._keys(username, address)
        found = self._failures.recent(keys, now)
        wait = 0.0
        for key in keys:
            free = self.policy.free_failures if key.startswith("user:") else self.policy.free_failures_per_address
            wait = max(wait, self._key_wait(found.get(key, ()), free, now))
        return wait

    def _key_wait(self, times: Sequence[float], free: int, now: float) -> float:
        """The wait imposed by one key's failures within the window (oldest first)."""
        if len(times) < free:
            return 0.0
        delay = min(self.policy.first_delay * 2.0 ** (len(times) - free), self.policy.max_delay)
        return max(0.0, times[-1] + delay - now)


class _MemoryFailures:
    """The failures of each key in this process's memory (the embedded default)."""

    def __init__(self, policy: ThrottlePolicy, keep: int):
        self.policy = policy
        self.keep = keep
        self._failures: dict[str, deque[float]] = {}

    def recent(self, keys: Sequence[str], now: float) -> dict[str, Sequence[float]]:
        """Each key's failure times within the window, oldest first; older ones are forgotten."""
        found = {}
        for key in keys:
            times = self._failures.get(key)
            if times is None:
                continue
            while times and now - times[0] >= self.policy.window:
                times.popleft()
            if not times:
                del self._failures[key]
                continue
            found[key] = times
        return found

    def add(self, keys: Sequence[str], now: float) -> None:
        for key in keys:
            self._failures.setdefault(key, deque(maxlen=self.keep)).append(now)
        if len(self._failures) > self.policy.max_tracked:
            self._shrink(now)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def tracked(self, now: float) -> int:
        return len(self._failures)

    def _shrink(self, now: float) -> None:
        stale = [k for k, t in self._failures.items() if not t or now - t[-1] >= self.policy.window]
        for key in stale:
            del self._failures[key]
        excess = len(self._failures) - int(self.policy.max_tracked * 0.9)
        if excess > 0:
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]:
                del self._failures[key]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS throttle_failures (
    key TEXT NOT NULL,
    at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS throttle_failures_by_key ON throttle_failures (key, at);
CREATE INDEX IF NOT EXISTS throttle_failures_by_time ON throttle_failures (at);
"""


class _SharedFailures:
    """The failures of each key in PostgreSQL, one row per key and failure (epoch seconds), seen by every
    replica. Rows older than the window are deleted on every write, so the table holds the last window's."""

    def __init__(self, url: str, policy: ThrottlePolicy):
        self.policy = policy
        self.db = Database(url)
        self.db.ensure("throttle", lambda con: con.script(_SCHEMA))

    def recent(self, keys: Sequence[str], now: float) -> dict[str, Sequence[float]]:
        found: dict[str, list[float]] = {}
        if not keys:
            return found
        with self.db.connect() as con:
            rows = con.execute("SELECT key, at FROM throttle_failures WHERE key = ANY(?) AND at > ? ORDER BY at",
                               (list(keys), now - self.policy.window)).fetchall()
        for key, at in rows:
            found.setdefault(key, []).append(at)
        return found

    def add(self, keys: Sequence[str], now: float) -> None:
        with self.db.connect() as con, con.transaction():
            for key in keys:
                con.execute("INSERT INTO throttle_failures (key, at) VALUES (?, ?)", (key, now))
            con.execute("DELETE FROM throttle_failures WHERE at <= ?", (now - self.policy.window,))

    def clear(self, key: str) -> None:
        with self.db.connect() as con:
            con.execute("DELETE FROM throttle_failures WHERE key = ?", (key,))

    def tracked(self, now: float) -> int:
        with self.db.connect() as con:
            return int(con.execute("SELECT count(DISTINCT key) FROM throttle_failures WHERE at > ?",
                                   (now - self.policy.window,)).fetchone()[0])
