"""Test set-up shared by every suite: a fixed disclosure secret, and the default data built."""

import os

# A fixed secret, so that perturbed figures are the same on every machine that runs the tests; set
# before anything reads it (the engine reads it when it first loads a dataset).
os.environ["PORTAL_CKM_SECRET"] = "test-only-ckm-secret-0123456789-abcdefghijklmnop"


def pytest_sessionstart(session):
    # `make test` builds the data first; a bare `pytest` on a fresh clone builds them here, once: in the
    # main process, before it starts the parallel workers (pytest-xdist), not in each worker.
    if hasattr(session.config, "workerinput"):
        return
    from core.data.store import ensure_built

    ensure_built()


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _own_audit_log(tmp_path, monkeypatch):
    """Every test its own audit log (and the grants in it) and no operator's terms file: tests never
    share access requests, grants or audit entries, and never read var/."""
    monkeypatch.setenv("PORTAL_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("PORTAL_TERMS_FILE", str(tmp_path / "terms.toml"))
    monkeypatch.delenv("PORTAL_NOW", raising=False)


# -- the shared state's two backends (core/shared_state.py) -------------------------------------------------

from tests.postgres import empty, pg_url, postgres_server  # noqa: E402,F401  (fixtures)


@pytest.fixture(params=["embedded", "postgres"])
def backend(request):
    """Each test that takes it runs twice: None (the embedded default: SQLite, files, memory), then the URL
    of a PostgreSQL schema of its module's own, emptied for the test (tests/postgres.py)."""
    if request.param == "embedded":
        yield None
        return
    url = request.getfixturevalue("pg_url")
    empty(url)
    yield url
