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

One Throttle per process, shared by every session (st.cache_resource in the wrapper); thread-safe. The
counters live in memory: a restart forgets them, which costs an attacker a restart they cannot cause.
IPv6 addresses count per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
    def __init__(self, policy: ThrottlePolicy | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.policy = policy or ThrottlePolicy()
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        # Beyond this many failures the delay is at its cap anyway, so older ones need not be kept.
        self._keep = max(self.policy.free_failures, self.policy.free_failures_per_address) + 64

    def check(self, username: str | None, address: str | None) -> float:
        """Seconds to wait before this attempt is allowed; 0 when it is allowed now."""
        with self._lock:
            return self._wait(username, address, self.clock())

    def record_failure(self, username: str | None, address: str | None) -> float:
        """Count a failed login; returns the wait it imposes on the next attempt."""
        with self._lock:
            now = self.clock()
            for key in self._keys(username, address):
                times = self._failures.setdefault(key, deque(maxlen=self._keep))
                times.append(now)
            if len(self._failures) > self.policy.max_tracked:
                self._shrink(now)
            return self._wait(username, address, now)

    def record_success(self, username: str | None, address: str | None = None) -> None:
        with self._lock:
            key = username_key(username)
            if key:
                self._failures.pop(key, None)

    def tracked(self) -> int:
        """How many keys are held (for tests and monitoring)."""
        with self._lock:
            return len(self._failures)

    def _keys(self, username: str | None, address: str | None) -> list[str]:
        return [k for k in (username_key(username), address_key(address)) if k]

    def _wait(self, username: str | None, address: str | None, now: float) -> float:
        wait = 0.0
        for key in self._keys(username, address):
            free = self.policy.free_failures if key.startswith("user:") else self.policy.free_failures_per_address
            wait = max(wait, self._key_wait(key, free, now))
        return wait

    def _key_wait(self, key: str, free: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= self.policy.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < free:
            return 0.0
        delay = min(self.policy.first_delay * 2.0 ** (len(times) - free), self.policy.max_delay)
        return max(0.0, times[-1] + delay - now)

    def _shrink(self, now: float) -> None:
        stale = [k for k, t in self._failures.items() if not t or now - t[-1] >= self.policy.window]
        for key in stale:
            del self._failures[key]
        excess = len(self._failures) - int(self.policy.max_tracked * 0.9)
        if excess > 0:
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]:
                del self._failures[key]
