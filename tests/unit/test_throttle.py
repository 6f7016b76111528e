"""Login throttling: exponential waits that decay, per username and per address, never a lock-out. Tests
that take `fresh` run on both backends: this process's memory, then PostgreSQL (several replicas)."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.auth.throttle import FIRST_WAIT_ENV, Throttle, ThrottlePolicy, address_key


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def in_memory(**policy):
    clock = FakeClock()
    return Throttle(ThrottlePolicy(**policy), clock=clock), clock


@pytest.fixture
def fresh(backend):
    """A factory of (throttle, its clock) on this test's backend (tests/conftest.py `backend`)."""
    def make(**policy):
        clock = FakeClock()
        return Throttle(ThrottlePolicy(**policy), clock=clock, database=backend), clock
    return make


def test_five_free_failures_then_doubling_waits_up_to_the_cap(fresh):
    throttle, clock = fresh()
    for _ in range(4):
        assert throttle.record_failure("alice", "10.0.0.1") == 0
    assert throttle.check("alice", "10.0.0.1") == 0
    waits = []
    for _ in range(12):
        clock.advance(throttle.check("alice", "10.0.0.1"))
        assert throttle.check("alice", "10.0.0.1") == 0
        waits.append(throttle.record_failure("alice", "10.0.0.1"))
    assert waits[:9] == [2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert max(waits) <= 900


def test_an_operator_may_raise_the_first_wait():
    assert ThrottlePolicy.from_env({}) == ThrottlePolicy()
    throttle = Throttle(ThrottlePolicy.from_env({FIRST_WAIT_ENV: "30"}), clock=FakeClock())
    waits = [throttle.record_failure("alice", None) for _ in range(7)]
    assert waits == [0, 0, 0, 0, 30, 60, 120]
    for bad in ("0", "-5", "soon", "1000"):
        with pytest.raises(ValueError, match=FIRST_WAIT_ENV):
            ThrottlePolicy.from_env({FIRST_WAIT_ENV: bad})


def test_the_wait_counts_down(fresh):
    throttle, clock = fresh()
    for _ in range(6):
        throttle.record_failure("alice", None)
    assert throttle.check("alice", None) == 4
    clock.advance(3)
    assert throttle.check("alice", None) == 1
    clock.advance(1)
    assert throttle.check("alice", None) == 0


def test_failures_older_than_the_window_are_forgotten(fresh):
    throttle, clock = fresh()
    for _ in range(5):
        throttle.record_failure("alice", "10.0.0.1")
    clock.advance(15 * 60)
    assert throttle.check("alice", "10.0.0.1") == 0
    assert throttle.tracked() == 0, "forgotten, not just ignored"
    assert throttle.record_failure("alice", "10.0.0.1") == 0, "the count starts again"


def test_never_locked_out_for_good(fresh):
    """However long someone keeps guessing, the real user waits at most 15 minutes."""
    throttle, clock = fresh()
    for _ in range(200):
        throttle.record_failure("alice", "10.0.0.1")
        clock.advance(1)
    assert 0 < throttle.check("alice", "192.0.2.7") <= 15 * 60
    clock.advance(15 * 60)
    assert throttle.check("alice", "192.0.2.7") == 0


def test_a_success_clears_the_username_but_not_the_address(fresh):
    throttle, clock = fresh(free_failures_per_address=6)
    for _ in range(5):
        throttle.record_failure("alice", "10.0.0.1")
    assert throttle.check("alice", "192.0.2.7") == 2
    throttle.record_success("alice", "10.0.0.1")
    assert throttle.check("alice", "192.0.2.7") == 0
    assert throttle.record_failure("mallory", "10.0.0.1") == 2, "the address still has its 5 + 1 failures"


def test_one_address_guessing_many_usernames_is_slowed_down(fresh):
    throttle, clock = fresh()
    for i in range(19):
        assert throttle.record_failure(f"user{i}", "198.51.100.9") == 0
    assert throttle.record_failure("user19", "198.51.100.9") == 2
    assert throttle.check("someone-else", "198.51.100.9") == 2
    assert throttle.check("someone-else", "198.51.100.10") == 0


def test_usernames_are_counted_as_the_login_form_reads_them(fresh):
    throttle, clock = fresh()
    for name in ["Alice", " alice", "ALICE ", "alice", "aLiCe"]:
        throttle.record_failure(name, None)
    assert throttle.check("alice", None) == 2
    assert throttle.check("", None) == 0 and throttle.check(None, None) == 0


def test_ipv6_addresses_count_per_64_block():
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "addr:2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "addr:192.0.2.1"
    assert address_key(None) is None and address_key("") is None
    assert address_key("proxy-says-unknown") == "addr:proxy-says-unknown"


def test_memory_stays_bounded_when_names_are_sprayed():
    throttle, clock = in_memory(max_tracked=100)
    for i in range(1000):
        throttle.record_failure(f"random{i}", None)
        clock.advance(0.01)
    assert throttle.tracked() <= 100


def test_thread_safe_counting(fresh):
    throttle, clock = fresh(free_failures=400)

    def hammer():
        for _ in range(50):
            throttle.record_failure("alice", None)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert throttle.check("alice", None) == 2, "all 400 failures were counted"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 400), st.sampled_from(["fail", "success", "check"]),
                          st.sampled_from(["alice", "bob"]), st.sampled_from(["10.0.0.1", "10.0.0.2", None])),
                max_size=60))
def test_waits_stay_bounded_and_always_end(steps):
    throttle, clock = in_memory()
    for advance, action, username, address in steps:
        clock.advance(advance)
        if action == "fail":
            wait = throttle.record_failure(username, address)
        elif action == "success":
            throttle.record_success(username, address)
            wait = throttle.check(username, address)
        else:
            wait = throttle.check(username, address)
        assert 0 <= wait <= 15 * 60
    clock.advance(15 * 60)
    for username in ("alice", "bob"):
        for address in ("10.0.0.1", "10.0.0.2", None):
            assert throttle.check(username, address) == 0


def test_replicas_count_guesses_together(pg_url):
    """Two replicas' throttles on one database: guesses sent to both count as one series."""
    from tests.postgres import empty

    empty(pg_url)
    clock = FakeClock()
    one, two = (Throttle(clock=clock, database=pg_url) for _ in range(2))
    for i in range(4):
        (one if i % 2 else two).record_failure("alice", "203.0.113.5")
    assert two.record_failure("alice", "203.0.113.5") == 2
    assert one.check("alice", None) == 2, "the other replica makes the same guesser wait"
    one.record_success("alice")
    assert two.check("alice", None) == 0


def test_the_database_url_shares_the_counters(pg_url, monkeypatch):
    from tests.postgres import empty

    empty(pg_url)
    monkeypatch.setenv("PORTAL_DATABASE_URL", pg_url)
    for _ in range(5):
        Throttle().record_failure("bob", None)
    assert 0 < Throttle().check("bob", None) <= 2, "wall-clock times, shared"
