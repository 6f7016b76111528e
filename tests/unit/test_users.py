"""The user store: validation, hashing, atomic writes, verification without a timing oracle. Each test that
takes `store` runs on both backends: users.yaml, then PostgreSQL's users table (tests/conftest.py `backend`)."""

import os
import stat
import threading
from datetime import UTC, datetime

import bcrypt
import pytest
import yaml

from core.auth import users as users_module
from core.auth.users import TEST_COST_ENV, UserError, UserStore, check_password, is_common_password
from core.settings import ROOT
from tests.postgres import empty

GOOD = "violet-harbour-kettle-42"
OTHER = "Tr4in-at-dawn-to-Kassala"
T0 = 1_750_000_000.0


class FakeClock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock, backend):
    return UserStore(backend or tmp_path / "var" / "users.yaml", bcrypt_cost=4, clock=clock)


@pytest.fixture
def yaml_store(tmp_path, clock):
    return UserStore(tmp_path / "var" / "users.yaml", bcrypt_cost=4, clock=clock)


@pytest.fixture
def alice(store):
    return add_alice(store)


def add_alice(store):
    return store.add_user("alice", GOOD, role="researcher", name="Alice Abebe", email="alice@example.org")


def same_place(store: UserStore) -> str:
    """Where `store` keeps its users, for another store (another process or replica) on them."""
    return store.db.url if store.db else store.path


def snapshot(store: UserStore):
    """Everything the store holds, as written: the file (bytes, inode, time), or the table's rows."""
    if store.db is not None:
        with store.db.connect() as con:
            return con.execute("SELECT * FROM users ORDER BY username").fetchall() or None
    path = store.path
    if not path.exists():
        return None
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


def test_add_user_keeps_only_a_bcrypt_hash_in_a_private_file(yaml_store):
    store, alice = yaml_store, add_alice(yaml_store)
    text = store.path.read_text()
    assert GOOD not in text
    assert alice.password_hash.startswith("$2b$04$") and alice.password_hash in text
    assert bcrypt.checkpw(GOOD.encode(), alice.password_hash.encode())
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert (alice.username, alice.name, alice.email, alice.role, alice.disabled) == (
        "alice", "Alice Abebe", "alice@example.org", "researcher", False)
    moment = datetime.fromtimestamp(T0, UTC)
    assert alice.created_at == alice.updated_at == alice.sessions_valid_after == moment
    assert store.get_user("alice") == alice, "what is read back is what was written"
    assert GOOD not in repr(alice) and alice.password_hash not in repr(alice)


def test_the_default_cost_is_12(tmp_path, monkeypatch):
    monkeypatch.delenv(TEST_COST_ENV, raising=False)
    store = UserStore(tmp_path / "users.yaml")
    assert store.bcrypt_cost == users_module.BCRYPT_COST == 12
    assert store.add_user("carol", GOOD, role="admin").password_hash.startswith("$2b$12$")


def test_the_test_cost_must_be_sane(tmp_path, monkeypatch):
    monkeypatch.setenv(TEST_COST_ENV, "3")
    with pytest.raises(ValueError, match=TEST_COST_ENV):
        UserStore(tmp_path / "users.yaml")


def test_the_file_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_USERS_FILE", str(tmp_path / "elsewhere.yaml"))
    assert UserStore().path == tmp_path / "elsewhere.yaml"
    monkeypatch.delenv("PORTAL_USERS_FILE")
    assert UserStore().path == ROOT / "var" / "users.yaml"


@pytest.mark.parametrize("username", ["ab", "a" * 33, "al ice", "alice!", "élise", "", "a/b"])
def test_bad_usernames_are_refused(store, username):
    with pytest.raises(UserError) as e:
        store.add_user(username, GOOD, role="researcher")
    assert e.value.code == "invalid_username"
    assert snapshot(store) is None


def test_usernames_are_lower_cased_as_at_login(store):
    assert store.add_user(" Bob.Lee_2 ", GOOD, role="researcher").username == "bob.lee_2"
    assert store.get_user("BOB.LEE_2").username == "bob.lee_2"


PASSWORD_64_CHARS = "night-train-left-agadez-at-four-with-ninety-two-people-aboard-ok"
PASSWORD_72_BYTES = "абвгдежзийклмнопрстуфхцчшщ" + "-Kassala-2019-xq7zr5"  # 26 x 2 + 20 bytes


@pytest.mark.parametrize("password, reason", [
    ("short-pass1", "too_short"),
    (PASSWORD_64_CHARS + "!", "too_long"),
    ("ж" * 37, "too_long"),  # 37 characters but 74 bytes: bcrypt would refuse or truncate
    (PASSWORD_72_BYTES + "x", "too_long"),
    ("tab\tinside-the-password", "control_character"),
    (" leading-space-pass", "edge_whitespace"),
    ("trailing-space-pass ", "edge_whitespace"),
    ("alice-loves-lichens", "contains_username"),
    ("password1234", "common"),
    ("Password2024!", "common"),
    ("P@ssw0rd2024", "common"),
    ("qwertyuiop12", "common"),
    ("123456789012", "common"),
    ("abcabcabcabc", "common"),
    ("aaaaaaaaaaaa", "common"),
    ("iloveyou1234", "common"),
    ("correcthorsebatterystaple", "common"),
    ("MixedMigration1", "common"),
    ("1q2w3e4r5t6y", "common"),
    ("passwordpassword", "common"),
    ("Dragon1234567", "common"),
    ("zyxwvutsrqponm", "common"),
])
def test_weak_passwords_are_refused_with_a_reason(store, password, reason):
    with pytest.raises(UserError) as e:
        store.add_user("alice", password, role="researcher")
    assert e.value.code == "weak_password"
    assert e.value.params["reason"] == reason
    assert password not in str(e.value)
    assert snapshot(store) is None


@pytest.mark.parametrize("password", [
    GOOD, OTHER, "exactly12chr", "correct horse battery staples in Niamey",
    PASSWORD_64_CHARS, PASSWORD_72_BYTES,
])
def test_reasonable_passwords_are_accepted(password):
    check_password(password, "alice")
    assert not is_common_password(password)


def test_the_boundaries_are_in_characters_and_bytes():
    assert len(PASSWORD_64_CHARS) == 64
    assert len(PASSWORD_72_BYTES.encode()) == 72


def test_the_common_list_is_shipped_and_lower_case():
    words = users_module._common_passwords()
    assert len(words) >= 300
    assert all(w == w.lower() for w in words)


@pytest.mark.parametrize("change, code", [
    (lambda s: s.add_user("alice", OTHER, role="admin"), "user_exists"),
    (lambda s: s.add_user("bob", "password1234", role="admin"), "weak_password"),
    (lambda s: s.add_user("bob", OTHER, role="owner"), "invalid_role"),
    (lambda s: s.add_user("bob", OTHER, role="admin", email="not-an-email"), "invalid_email"),
    (lambda s: s.add_user("bob", OTHER, role="admin", name="  "), "invalid_name"),
    (lambda s: s.set_role("alice", "owner"), "invalid_role"),
    (lambda s: s.set_role("bob", "admin"), "unknown_user"),
    (lambda s: s.disable("bob"), "unknown_user"),
    (lambda s: s.enable("bob"), "unknown_user"),
    (lambda s: s.reset_password("alice", "short"), "weak_password"),
    (lambda s: s.reset_password("bob", OTHER), "unknown_user"),
    (lambda s: s.end_sessions("bob"), "unknown_user"),
])
def test_a_refused_change_leaves_the_file_as_it_was(store, alice, change, code):
    before = snapshot(store)
    with pytest.raises(UserError) as e:
        change(store)
    assert e.value.code == code
    assert snapshot(store) == before


def test_a_failed_write_leaves_the_file_as_it_was(yaml_store, monkeypatch):
    store = yaml_store
    add_alice(store)
    before = snapshot(store)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(users_module.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.set_role("alice", "admin")
    assert snapshot(store) == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["users.yaml", "users.yaml.lock"]


def test_verify_password(store, alice):
    assert store.verify_password("alice", GOOD) == alice
    assert store.verify_password(" ALICE ", GOOD) == alice
    assert store.verify_password("alice", OTHER) is None
    assert store.verify_password("alice", GOOD + " ") is None
    assert store.verify_password("nobody", GOOD) is None
    assert store.verify_password("alice", "") is None
    assert store.verify_password("alice", "x" * 100) is None, "no ValueError from bcrypt's 72-byte limit"
    assert store.verify_password(None, GOOD) is None
    assert store.verify_password("alice", None) is None
    store.disable("alice")
    assert store.verify_password("alice", GOOD) is None


def test_verify_runs_bcrypt_exactly_once_whatever_the_outcome(store, alice, monkeypatch):
    calls = []
    real = bcrypt.checkpw

    def counting(password, hashed):
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(users_module.bcrypt, "checkpw", counting)
    store.add_user("dora", OTHER, role="researcher")
    store.disable("dora")
    for username, password in [("alice", GOOD), ("alice", OTHER), ("nobody", GOOD), ("dora", OTHER),
                               ("alice", "x" * 100), ("", "")]:
        calls.clear()
        store.verify_password(username, password)
        assert len(calls) == 1, (username, password)
        assert calls[0].startswith(b"$2b$04$"), "the dummy hash has the store's cost"


def test_session_cut_off_moves_on_disable_role_change_reset_and_logout(store, alice, clock):
    for step, change in enumerate([lambda: store.set_role("alice", "admin"),
                                   lambda: store.disable("alice"),
                                   lambda: store.reset_password("alice", OTHER),
                                   lambda: store.end_sessions("alice")], start=1):
        clock.now = T0 + step * 10
        user = change()
        assert user.sessions_valid_after == user.updated_at == datetime.fromtimestamp(clock.now, UTC)
        assert store.get_user("alice") == user
    clock.now = T0 + 100
    assert store.enable("alice").sessions_valid_after == datetime.fromtimestamp(T0 + 40, UTC)


def test_a_change_that_changes_nothing_does_not_write(store, alice, clock):
    before = snapshot(store)
    clock.now = T0 + 10
    assert store.set_role("alice", "researcher") == alice
    assert store.enable("alice") == alice
    assert snapshot(store) == before


def test_the_cut_off_never_moves_backwards(store, alice, clock):
    clock.now = T0 - 3600  # the clock was stepped back
    assert store.end_sessions("alice").sessions_valid_after == alice.sessions_valid_after


def test_reset_password(store, alice):
    store.reset_password("alice", OTHER)
    assert store.verify_password("alice", GOOD) is None
    assert store.verify_password("alice", OTHER) is not None


def test_credentials_for_streamlit_authenticator(store, alice):
    store.add_user("erin", OTHER, role="admin", name="Erin E")
    store.add_user("frank", OTHER, role="admin")
    store.disable("frank")
    creds = store.credentials_for_authenticator()
    assert creds == {"usernames": {
        "alice": {"name": "Alice Abebe", "email": "alice@example.org", "password": alice.password_hash,
                  "roles": ["researcher"]},
        "erin": {"name": "Erin E", "email": None, "password": store.get_user("erin").password_hash,
                 "roles": ["admin"]},
    }}
    creds["usernames"]["alice"]["failed_login_attempts"] = 3  # what the library does to it
    assert "failed_login_attempts" not in store.credentials_for_authenticator()["usernames"]["alice"]


def test_list_users_is_sorted_and_another_store_sees_changes(store, alice):
    other = UserStore(same_place(store), bcrypt_cost=4)
    other.add_user("aaron", OTHER, role="admin")
    assert [u.username for u in store.list_users()] == ["aaron", "alice"]
    other.disable("alice")
    assert store.get_user("alice").disabled


@pytest.mark.parametrize("content", [
    "users: [\n",
    "- a list\n",
    "version: 2\nusers: {}\n",
    "users: {alice: nonsense}\n",
    "users:\n  alice: {role: researcher, disabled: false, password_hash: plaintext-password,"
    " created_at: '2025-01-01T00:00:00+00:00', updated_at: '2025-01-01T00:00:00+00:00',"
    " sessions_valid_after: '2025-01-01T00:00:00+00:00'}\n",
    "users:\n  alice: {role: owner, disabled: false, password_hash: '$2b$04$" + "a" * 53 + "',"
    " created_at: '2025-01-01T00:00:00+00:00', updated_at: '2025-01-01T00:00:00+00:00',"
    " sessions_valid_after: '2025-01-01T00:00:00+00:00'}\n",
    "users:\n  Alice: {role: admin, disabled: false, password_hash: '$2b$04$" + "a" * 53 + "',"
    " created_at: '2025-01-01T00:00:00+00:00', updated_at: '2025-01-01T00:00:00+00:00',"
    " sessions_valid_after: 'yesterday'}\n",
])
def test_a_damaged_file_is_refused_not_guessed(yaml_store, content):
    store = yaml_store
    store.path.parent.mkdir(parents=True)
    store.path.write_text(content)
    with pytest.raises(UserError) as e:
        store.get_user("alice")
    assert e.value.code == "store_corrupt"
    with pytest.raises(UserError):
        store.add_user("bob", OTHER, role="admin")
    assert store.path.read_text() == content


def test_a_hand_written_file_with_unquoted_timestamps_loads(yaml_store):
    store = yaml_store
    store.path.parent.mkdir(parents=True)
    hashed = bcrypt.hashpw(GOOD.encode(), bcrypt.gensalt(4)).decode()
    store.path.write_text(yaml.safe_dump({"users": {"gina": {
        "role": "admin", "disabled": False, "password_hash": hashed,
        "created_at": datetime(2025, 1, 1), "updated_at": datetime(2025, 1, 1),
        "sessions_valid_after": datetime(2025, 1, 1)}}}))
    gina = store.verify_password("gina", GOOD)
    assert gina.name == "gina" and gina.sessions_valid_after == datetime(2025, 1, 1, tzinfo=UTC)


def test_concurrent_writers_lose_nothing(store):
    errors = []

    def add(i):
        try:
            UserStore(same_place(store), bcrypt_cost=4).add_user(f"user{i}", OTHER, role="researcher")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [u.username for u in store.list_users()] == [f"user{i}" for i in range(8)]
    assert store.db or not [p for p in os.listdir(store.path.parent) if p.endswith(".tmp")]


def test_a_failed_change_in_postgresql_leaves_the_row_as_it_was(pg_url, clock, monkeypatch):
    """A change is one transaction: when it fails after its UPDATE ran, the row is as it was."""
    from core import shared_state

    empty(pg_url)
    store = UserStore(pg_url, bcrypt_cost=4, clock=clock)
    add_alice(store)
    before = snapshot(store)
    execute = shared_state.Connection.execute

    def fails_after_the_update(self, sql, params=()):
        cursor = execute(self, sql, params)
        if sql.startswith("UPDATE users"):
            raise OSError("connection lost")
        return cursor

    monkeypatch.setattr(shared_state.Connection, "execute", fails_after_the_update)
    with pytest.raises(OSError):
        store.set_role("alice", "admin")
    monkeypatch.undo()
    assert snapshot(store) == before and store.get_user("alice").role == "researcher"


def test_the_database_url_puts_the_users_in_postgresql(pg_url, tmp_path, monkeypatch):
    empty(pg_url)
    monkeypatch.setenv("PORTAL_USERS_FILE", str(tmp_path / "users.yaml"))
    monkeypatch.setenv("PORTAL_DATABASE_URL", pg_url)
    UserStore(bcrypt_cost=4).add_user("hana", OTHER, role="admin")
    assert UserStore().path is None and UserStore().location.startswith("PostgreSQL")
    assert UserStore(pg_url).get_user("hana").role == "admin"
    assert not (tmp_path / "users.yaml").exists()
