"""A throwaway PostgreSQL server for the tests of the shared state (core/shared_state.py), from Debian's
`postgresql` package: one cluster per test process (each pytest-xdist worker has its own), in a temporary
directory, listening on a Unix socket in that directory only (no TCP port to clash over), stopped and
deleted at the end of the session.

Fixtures (registered in tests/conftest.py):
    postgres_server   session scope: the server's base URL (database `portal`);
    pg_url            module scope: a URL whose search_path is a fresh schema of the test module's own;
    backend_location  a parametrised helper's building block: see `empty`.

PostgreSQL's programs are looked for at $PORTAL_POSTGRES_BIN if set, else in Debian's
/usr/lib/postgresql/<version>/bin (the newest), else on PATH. Without them the tests that use it are skipped, unless PORTAL_REQUIRE_E2E=1 (CI), where
they fail instead: CI installs `postgresql` as it installs Chromium (.ci/run).

A test module's tests share its schema; `empty(url)` removes every row of it between tests (with the
append-only triggers switched off for that one statement, as only a superuser can), which costs
milliseconds where a schema per test would cost its tables' creation every time.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

REQUIRE_ENV = "PORTAL_REQUIRE_E2E"


BIN_ENV = "PORTAL_POSTGRES_BIN"  # another directory of initdb and pg_ctl (or a missing one, to try the skip)


def _binaries() -> Path | None:
    wanted = os.environ.get(BIN_ENV)
    if wanted:
        return Path(wanted) if (Path(wanted) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _unavailable(message: str):
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} {REQUIRE_ENV}=1 is set, so the PostgreSQL tests are required, not skipped.",
                    pytrace=False)
    pytest.skip(f"{message} Install Debian's postgresql to run them. (Set {REQUIRE_ENV}=1 to make this a failure.)")


def start_cluster(base: Path) -> tuple[str, list[str], dict]:
    """initdb and pg_ctl start in `base`; the base URL, and how to stop it."""
    bindir = _binaries()
    if bindir is None:
        _unavailable("PostgreSQL's initdb was not found (/usr/lib/postgresql/*/bin).")
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("Running as root, and there is no postgres user to run the server as.")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, env=env)
    options = (f"-k {base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
               f"-c full_page_writes=off -c max_connections=200")
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"),
                    "-w", "-t", "60", "start"], check=True, capture_output=True, env=env)
    stop = [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    url = f"postgresql://postgres@/postgres?host={quote(str(base))}"
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE DATABASE portal")
    return url.replace("/postgres?", "/portal?"), stop, env


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of this test process; its URL (database `portal`, superuser `postgres`)."""
    base = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    stop = None
    try:
        url, stop, env = start_cluster(base)
        yield url
    finally:
        from core import shared_state

        shared_state.close()
        if stop is not None:
            subprocess.run(stop, capture_output=True, env=env)
        shutil.rmtree(base, ignore_errors=True)


def schema_url(server: str, schema: str) -> str:
    return f"{server}&options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="module")
def pg_url(postgres_server):
    """A URL on a fresh schema of this test module's own (its search_path): the module's tests share it."""
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    url = schema_url(postgres_server, schema)
    yield url
    from core import shared_state

    shared_state.close(url)
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


def empty(url: str) -> None:
    """Remove every row of the schema's tables (the audit log's append-only triggers held off for this
    session only: session_replication_role needs a superuser, which the tests are and the portal is not)."""
    import psycopg

    from core.data import versions

    versions.forget_pointers()
    with psycopg.connect(url, autocommit=True) as con:
        tables = [r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        if tables:
            with con.transaction():
                con.execute("SET LOCAL session_replication_role = replica")
                con.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
