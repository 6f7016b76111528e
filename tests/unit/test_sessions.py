"""Server-side sessions: timeouts, revocation, and login cookies that cannot sign anyone back in."""

import contextlib
import importlib.util
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core import settings as core_settings
from core.auth.sessions import (
    CookieSettings,
    LoginRefused,
    SessionEnded,
    SessionManager,
    SessionPolicy,
    cookie_issued_at,
    cookie_name,
    cookie_settings,
    library_exp_date,
)
from core.auth.throttle import Throttle
from core.auth.users import UserStore
from core.settings import MissingSecret

GOOD = "violet-harbour-kettle-42"
OTHER = "Tr4in-at-dawn-to-Kassala"
KEY = "k" * 24 + "-a-test-cookie-key-0123456789"
T0 = 1_750_000_000.0
MIN, HOUR = 60.0, 3600.0
EXPIRY_DAYS = 8 / 24


class FakeClock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock, backend):
    """users.yaml, then PostgreSQL (tests/conftest.py `backend`): every test taking it runs on both."""
    store = UserStore(backend or tmp_path / "users.yaml", bcrypt_cost=4, clock=clock)
    store.add_user("alice", GOOD, role="researcher", name="Alice Abebe")
    clock.advance(1)
    return store


@pytest.fixture
def manager(store, clock, backend):
    cookie = CookieSettings(name=cookie_name(8 * HOUR), key=KEY, expiry_days=EXPIRY_DAYS)
    return SessionManager(store, throttle=Throttle(clock=clock, database=backend), cookie=cookie, database=backend)


def library_cookie(username: str, issued_at: float, expiry_days: float = EXPIRY_DAYS, key: str = KEY):
    """The token streamlit-authenticator 0.4.2 sets (CookieModel.set_cookie), issued at `issued_at`."""
    exp_date = (datetime.fromtimestamp(issued_at) + timedelta(days=expiry_days)).timestamp()
    return jwt.encode({"username": username, "exp_date": exp_date}, key, algorithm="HS256"), exp_date


def login(manager, clock, password=GOOD):
    """What the wrapper does on a successful form submit: authenticate, set the cookie, start."""
    user = manager.authenticate("alice", password, "10.0.0.1")
    token, exp_date = library_cookie(user.username, clock.now)
    return manager.start(user, cookie_exp=exp_date), token


def ended(code, action):
    with pytest.raises(SessionEnded) as e:
        action()
    assert e.value.code == code


# -- settings ------------------------------------------------------------------------------------

def test_policy_defaults_and_environment():
    assert SessionPolicy.from_env({}) == SessionPolicy(idle_timeout=30 * MIN, absolute_timeout=8 * HOUR)
    policy = SessionPolicy.from_env({"PORTAL_SESSION_IDLE_MINUTES": "10",
                                     "PORTAL_SESSION_MAX_HOURS": "2.5"})
    assert policy == SessionPolicy(idle_timeout=10 * MIN, absolute_timeout=2.5 * HOUR)


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan", "inf"])
def test_policy_refuses_nonsense(value):
    with pytest.raises(ValueError, match="PORTAL_SESSION_IDLE_MINUTES"):
        SessionPolicy.from_env({"PORTAL_SESSION_IDLE_MINUTES": value})


def test_cookie_settings_need_a_long_key(tmp_path, monkeypatch):
    monkeypatch.setattr(core_settings, "SECRETS_FILE", tmp_path / "absent.toml")
    monkeypatch.delenv("PORTAL_COOKIE_KEY", raising=False)
    with pytest.raises(MissingSecret):
        cookie_settings()
    monkeypatch.setenv("PORTAL_COOKIE_KEY", "some_key")  # the library's default key, and too short
    with pytest.raises(MissingSecret, match="32 bytes"):
        cookie_settings()
    monkeypatch.setenv("PORTAL_COOKIE_KEY", KEY)
    cookie = cookie_settings(SessionPolicy(absolute_timeout=8 * HOUR))
    assert cookie == CookieSettings(name="portal_login_28800s", key=KEY, expiry_days=EXPIRY_DAYS)
    assert KEY not in repr(cookie)
    assert cookie_settings(SessionPolicy(absolute_timeout=4 * HOUR)).name != cookie.name, \
        "a cookie made for another lifetime is not even read"


# -- logging in ------------------------------------------------------------------------------------

def test_authenticate(manager, store):
    assert manager.authenticate(" Alice ", GOOD, "10.0.0.1") == store.get_user("alice")
    for username, password in [("alice", OTHER), ("nobody", GOOD)]:
        with pytest.raises(LoginRefused) as e:
            manager.authenticate(username, password, "10.0.0.1")
        assert e.value.code == "bad_credentials" and e.value.wait == 0
    store.disable("alice")
    with pytest.raises(LoginRefused) as e:
        manager.authenticate("alice", GOOD, "10.0.0.1")
    assert e.value.code == "bad_credentials", "a disabled account looks like a wrong password"


def test_authenticate_is_throttled_then_recovers(manager, store, clock, monkeypatch):
    for _ in range(4):
        with pytest.raises(LoginRefused):
            manager.authenticate("alice", OTHER, "10.0.0.1")
    with pytest.raises(LoginRefused) as e:
        manager.authenticate("alice", OTHER, "10.0.0.1")
    assert (e.value.code, e.value.wait) == ("bad_credentials", 2)

    def no_bcrypt(*args):
        raise AssertionError("a throttled attempt must not reach bcrypt")

    monkeypatch.setattr(store, "verify_password", no_bcrypt)
    with pytest.raises(LoginRefused) as e:
        manager.authenticate("alice", GOOD, "192.0.2.7")  # right password, other address: still wait
    assert (e.value.code, e.value.wait) == ("throttled", 2)
    monkeypatch.undo()
    clock.advance(2)
    assert manager.authenticate("alice", GOOD, "192.0.2.7").username == "alice"
    assert manager.throttle.check("alice", None) == 0, "a success clears the username's failures"


# -- checking a session on every rerun ---------------------------------------------------------------

def test_a_fresh_session_is_valid_and_keeps_the_store_role(manager, clock):
    session, _ = login(manager, clock)
    assert (session.username, session.name, session.role) == ("alice", "Alice Abebe", "researcher")
    clock.advance(5 * MIN)
    touched = manager.touch(session)
    assert touched.last_seen == clock.now and touched.issued_at == session.issued_at


def test_idle_timeout(manager, clock):
    session, _ = login(manager, clock)
    clock.advance(29 * MIN)
    session = manager.touch(session)
    clock.advance(30 * MIN + 1)
    ended("idle_timeout", lambda: manager.touch(session))


def test_absolute_timeout_despite_activity(manager, clock):
    session, _ = login(manager, clock)
    for _ in range(16):
        clock.advance(29 * MIN)
        session = manager.touch(session)
    clock.advance(20 * MIN)  # 8 h 4 min after login
    ended("absolute_timeout", lambda: manager.touch(session))


@pytest.mark.parametrize("change, code", [
    (lambda s: s.disable("alice"), "disabled"),
    (lambda s: s.set_role("alice", "admin"), "revoked"),
    (lambda s: s.reset_password("alice", OTHER), "revoked"),
    (lambda s: s.end_sessions("alice"), "revoked"),
])
def test_account_changes_end_sessions_at_once(manager, store, clock, change, code):
    session, _ = login(manager, clock)
    clock.advance(1)
    change(store)
    ended(code, lambda: manager.touch(session))


def test_disable_then_enable_does_not_revive_old_sessions(manager, store, clock):
    session, _ = login(manager, clock)
    clock.advance(1)
    store.disable("alice")
    store.enable("alice")
    ended("revoked", lambda: manager.touch(session))


def by_hand(store: UserStore, sql: str) -> None:
    """An operator's change straight to the users table (PostgreSQL)."""
    with store.db.connect() as con:
        con.execute(sql)


def test_a_user_removed_from_the_file_is_signed_out(manager, store, clock):
    session, _ = login(manager, clock)
    if store.db:
        by_hand(store, "DELETE FROM users WHERE username = 'alice'")
    else:
        doc = yaml.safe_load(store.path.read_text())
        del doc["users"]["alice"]
        store.path.write_text(yaml.safe_dump(doc))
    ended("unknown_user", lambda: manager.touch(session))


def test_a_role_edited_by_hand_is_noticed(manager, store, clock):
    session, _ = login(manager, clock)
    if store.db:
        by_hand(store, "UPDATE users SET role = 'admin' WHERE username = 'alice'")
    else:
        store.path.write_text(store.path.read_text().replace("role: researcher", "role: admin"))
    ended("role_changed", lambda: manager.touch(session))


# -- logout and the login cookie -------------------------------------------------------------------

def test_logout_ends_the_session_and_its_cookie_for_good(manager, clock):
    session, token = login(manager, clock)
    clock.advance(1)
    other_tab = manager.resume(token)
    assert other_tab.issued_at == pytest.approx(session.issued_at, abs=1e-3)
    clock.advance(1)
    manager.logout(session)
    ended("revoked", lambda: manager.touch(session))
    ended("revoked", lambda: manager.touch(other_tab))
    clock.advance(60)
    ended("revoked", lambda: manager.resume(token))  # the replayed cookie


def test_revocation_survives_a_restart(manager, store, clock):
    session, token = login(manager, clock)
    clock.advance(1)
    manager.logout(session)
    restarted = SessionManager(UserStore(store.path or store.db.url, clock=clock), cookie=manager.cookie)
    ended("revoked", lambda: restarted.resume(token))


def test_a_new_login_after_logout_works(manager, clock):
    session, _ = login(manager, clock)
    clock.advance(1)
    manager.logout(session)
    clock.advance(1)
    session, token = login(manager, clock)
    assert manager.touch(session).username == "alice"
    clock.advance(1)
    assert manager.resume(token).username == "alice"


def test_a_new_tab_inherits_the_idle_clock_of_its_cookie(manager, clock):
    session, token = login(manager, clock)
    clock.advance(20 * MIN)
    manager.touch(session)  # activity in the first tab
    clock.advance(25 * MIN)  # 45 min after login, 25 min idle
    assert manager.resume(token).last_seen == clock.now
    clock.advance(31 * MIN)
    ended("idle_timeout", lambda: manager.resume(token))


def test_after_a_restart_a_cookie_counts_as_idle_since_its_issue(manager, store, clock):
    _, token = login(manager, clock)
    restarted = SessionManager(store, cookie=manager.cookie)
    clock.advance(10 * MIN)
    assert restarted.resume(token).username == "alice"
    clock.advance(31 * MIN)
    ended("idle_timeout", lambda: SessionManager(store, cookie=manager.cookie).resume(token))


def test_cookie_of_a_disabled_or_changed_user_is_refused(manager, store, clock):
    _, token = login(manager, clock)
    clock.advance(1)
    store.disable("alice")
    ended("disabled", lambda: manager.resume(token))


def test_absolute_timeout_applies_to_cookies(store, clock):
    cookie = CookieSettings(name=cookie_name(24 * HOUR), key=KEY, expiry_days=1.0)
    manager = SessionManager(store, cookie=cookie)  # a cookie that outlives the session
    token, _ = library_cookie("alice", clock.now, expiry_days=1.0)
    for _ in range(16):
        clock.advance(29 * MIN)
        manager.resume(token)
    clock.advance(20 * MIN)  # 8 h 4 min after login, 20 min idle
    ended("absolute_timeout", lambda: manager.resume(token))


@pytest.mark.parametrize("make_token, code", [
    (lambda now: library_cookie("alice", now, key="another-key-of-the-same-length-0123456789")[0],
     "invalid_cookie"),
    (lambda now: "not.a.jwt", "invalid_cookie"),
    (lambda now: "", "invalid_cookie"),
    (lambda now: object(), "invalid_cookie"),  # AppTest's st.context.cookies hands out MagicMocks
    (lambda now: jwt.encode({"username": "alice", "exp_date": now + 3600}, None, algorithm="none"),
     "invalid_cookie"),
    (lambda now: jwt.encode({"username": "alice", "exp_date": "tomorrow"}, KEY, algorithm="HS256"),
     "invalid_cookie"),
    (lambda now: jwt.encode({"username": "alice", "exp_date": True}, KEY, algorithm="HS256"),
     "invalid_cookie"),
    (lambda now: jwt.encode({"exp_date": now + 3600}, KEY, algorithm="HS256"), "invalid_cookie"),
    (lambda now: library_cookie("alice", now - 9 * HOUR)[0], "cookie_expired"),
    (lambda now: library_cookie("alice", now + 2 * HOUR)[0], "invalid_cookie"),  # issued in the future
    (lambda now: library_cookie("nobody", now)[0], "unknown_user"),
])
def test_bad_cookies_are_refused(manager, clock, make_token, code):
    ended(code, lambda: manager.resume(make_token(clock.now)))


def test_no_cookie_key_no_cookie_login(store, clock):
    token, _ = library_cookie("alice", clock.now)
    ended("invalid_cookie", lambda: SessionManager(store).resume(token))


# -- the cookie's issue time -----------------------------------------------------------------------

def test_issue_time_is_exact_in_utc():
    for days in (EXPIRY_DAYS, 1.0, 30.0):
        for issued in (T0, T0 + 0.123456, 1_800_000_000.5):
            assert cookie_issued_at(library_exp_date(issued, days), days) == pytest.approx(issued, abs=1e-5)


@contextlib.contextmanager
def local_time_in_paris():
    """A server whose local time has daylight saving, as the library's naive datetime sees it."""
    if not Path("/usr/share/zoneinfo/Europe/Paris").exists():
        pytest.skip("no tz database")
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


SPRING_2025 = 1_743_296_400.0  # 2025-03-30 01:00 UTC, clocks go 02:00 -> 03:00 in Paris
AUTUMN_2025 = 1_761_440_400.0  # 2025-10-26 01:00 UTC, clocks go 03:00 -> 02:00


@local_time_in_paris()
def test_issue_time_across_daylight_saving_is_never_later_than_the_truth():
    gaps = []
    for days in (EXPIRY_DAYS, 1.0, 30.0):
        for switch in (SPRING_2025, AUTUMN_2025):
            # issued just before a switch, or expiring just after one
            for issued in [switch + k * 601.3 for k in range(-12, 13)] + \
                          [switch - days * 86400 + k * 601.3 for k in range(-12, 13)]:
                derived = cookie_issued_at(library_exp_date(issued, days), days)
                assert derived <= issued + 1e-3
                gaps.append(issued - derived)
    assert max(gaps) == pytest.approx(3600, abs=1e-3), "in the repeated autumn hour: one hour early"
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0, abs=1e-3), "exact otherwise"


@settings(max_examples=300, deadline=None)
@given(issued=st.floats(1_735_689_600, 1_798_761_600),  # 2025 and 2026
       days=st.sampled_from([EXPIRY_DAYS, 0.5, 1.0, 7.0, 30.0]))
def test_issue_time_property(issued, days):
    with local_time_in_paris():
        derived = cookie_issued_at(library_exp_date(issued, days), days)
    assert derived is not None
    assert issued - 3600 - 1e-3 <= derived <= issued + 1e-3


def test_the_library_still_builds_its_cookie_as_we_assume():
    """If streamlit-authenticator changes its cookie, cookie_issued_at() and resume() must change too."""
    spec = importlib.util.find_spec("streamlit_authenticator")
    source = (Path(spec.origin).parent / "models" / "cookie_model.py").read_text()
    assert "return (datetime.now() + timedelta(days=self.cookie_expiry_days)).timestamp()" in source
    assert "jwt.encode({'username': st.session_state['username'],\n            'exp_date': self.exp_date}" in source
    assert "jwt.decode(self.token, self.cookie_key, algorithms=['HS256'])" in source
    assert "if st.session_state['logout']:\n            return False" in source


def test_a_damaged_users_file_fails_closed(manager, store, clock):
    session, token = login(manager, clock)
    if store.db:  # a row no check lets in: a password kept in clear, put there by hand
        by_hand(store, "UPDATE users SET password_hash = 'plaintext-password'")
    else:
        store.path.write_text("users: [\n")
    ended("store_unavailable", lambda: manager.touch(session))
    ended("store_unavailable", lambda: manager.resume(token))
    with pytest.raises(LoginRefused) as e:
        manager.authenticate("alice", GOOD)
    assert e.value.code == "unavailable"


def test_an_issued_cookie_is_the_library_s_and_resumes_the_same_session(manager, clock):
    session = manager.start(manager.authenticate("alice", GOOD, "10.0.0.1"))
    token, exp_date, riding = manager.issue_cookie(session)
    # The very cookie streamlit-authenticator 0.4.2 would write for this login at this time.
    assert (token, exp_date) == library_cookie(session.username, clock.now)
    assert riding.cookie_exp == exp_date and riding.issued_at == session.issued_at
    clock.advance(60)
    resumed = manager.resume(token)
    assert (resumed.username, resumed.role, resumed.cookie_exp) == (session.username, session.role, exp_date)
    # Tabs on the same cookie share the idle clock.
    clock.advance(manager.policy.idle_timeout - 30)
    manager.touch(resumed)
    clock.advance(60)
    manager.touch(riding)
