"""One set of secrets for all replicas (core.shared_state.check_secrets, run by scripts/serve.py's warm()
before the server listens): the first replica records a fingerprint of its ckm_secret and cookie key in
the shared PostgreSQL database, and a replica whose secret differs refuses to start, naming it."""

from __future__ import annotations

import psycopg
import pytest

from core import shared_state
from core.shared_state import Database, SecretMismatch, check_secrets, fingerprint
from scripts import serve
from tests.postgres import empty

CKM = "test-only-ckm-secret-0123456789-abcdefghijklmnop"
COOKIE = "a-cookie-key-of-at-least-32-bytes-0123456789"


@pytest.fixture
def shared(pg_url, monkeypatch, tmp_path):
    """A replica's settings: the shared database, its two secrets from the environment, no secrets file."""
    empty(pg_url)
    monkeypatch.setenv("PORTAL_DATABASE_URL", pg_url)
    monkeypatch.setenv("PORTAL_CKM_SECRET", CKM)
    monkeypatch.setenv("PORTAL_COOKIE_KEY", COOKIE)
    monkeypatch.setattr("core.settings.SECRETS_FILE", tmp_path / "no-secrets.toml")
    return pg_url


def recorded(url: str) -> dict[str, str]:
    with psycopg.connect(url) as con:
        return dict(con.execute("SELECT name, fingerprint FROM portal_secrets").fetchall())


def test_the_first_replica_records_fingerprints_never_the_secrets(shared):
    assert check_secrets() == ["ckm_secret", "cookie_key"]
    found = recorded(shared)
    assert found == {"ckm_secret": fingerprint("ckm_secret", CKM), "cookie_key": fingerprint("cookie_key", COOKIE)}
    assert not any(CKM in v or COOKIE in v for v in found.values())
    assert fingerprint("ckm_secret", CKM) != fingerprint("cookie_key", CKM), "labelled per secret"
    assert check_secrets() == [], "a replica with the same secrets starts, recording nothing"


@pytest.mark.parametrize("name, env", [("ckm_secret", "PORTAL_CKM_SECRET"), ("cookie_key", "PORTAL_COOKIE_KEY")])
def test_a_replica_with_another_secret_refuses_to_start(shared, monkeypatch, name, env):
    check_secrets()
    monkeypatch.setenv(env, "another-secret-of-enough-length-0123456789-xyz")
    with pytest.raises(SystemExit) as e:
        check_secrets()
    message = str(e.value)
    assert f"'{name}' ({env}) differs" in message and "README" in message
    other = "cookie_key" if name == "ckm_secret" else "ckm_secret"
    assert f"'{other}'" not in message
    assert recorded(shared)[name] == fingerprint(name, CKM if name == "ckm_secret" else COOKIE), "kept"


def test_a_replica_missing_a_recorded_secret_refuses_to_start(shared, monkeypatch):
    check_secrets()
    monkeypatch.delenv("PORTAL_COOKIE_KEY")
    with pytest.raises(SecretMismatch, match="'cookie_key' .* is not set on this replica"):
        check_secrets()


def test_the_start_up_refuses_before_loading_anything(shared, monkeypatch):
    check_secrets()
    monkeypatch.setenv("PORTAL_CKM_SECRET", "another-secret-of-enough-length-0123456789-xyz")
    monkeypatch.setattr(serve, "ensure_built", lambda: pytest.fail("loaded data before checking the secrets"))
    with pytest.raises(SystemExit, match="ckm_secret"):
        serve.warm()


def test_without_shared_state_nothing_is_checked(monkeypatch):
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    assert shared_state.shared() is None
    assert check_secrets() == []


def test_an_explicit_database_is_checked_too(pg_url, monkeypatch, tmp_path):
    empty(pg_url)
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    monkeypatch.setenv("PORTAL_COOKIE_KEY", COOKIE)
    assert "ckm_secret" in check_secrets(Database(pg_url))
    monkeypatch.setenv("PORTAL_CKM_SECRET", CKM + "-changed")
    with pytest.raises(SecretMismatch):
        check_secrets(Database(pg_url))
