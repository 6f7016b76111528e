"""The load tool's portal behind HAProxy: `scripts/replicas.py`'s HAProxy in front of N portal processes of this
checkout (what `make serve REPLICAS=N` starts), with the load tool's throwaway secrets, users file and audit
log, and, when Debian's PostgreSQL is installed, a throwaway PostgreSQL cluster for their shared state
(`tests/postgres.py`'s: a Unix socket in a temporary directory, no TCP port), else the embedded state.

It offers what the load tool asks of a server (scripts/load/server.py's Server): `url` (HAProxy's), `cpu()` (the
processor time of every portal process, summed: /proc/<pid>/stat), `rss()` (each process's resident memory),
`sticky` (a simulated visitor first GETs the page for HAProxy's `portal_replica` cookie and sends it with its
websocket's upgrade, as a browser does), and `proxy_cpu()` (HAProxy's own).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.settings import GENERATED_DIR
from scripts.load.replay import page_cookies
from scripts.load.server import LOAD_ENV, cpu_seconds, rss_mib
from scripts.replicas import STICKY_COOKIE, Cluster, find_haproxy, free_port, free_ports

SERVE_ARGS = ["--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]


class SharedState:
    """A throwaway PostgreSQL cluster for the replicas' shared state (tests/postgres.py's start_cluster), or
    None where PostgreSQL is not installed: `url` is then None and `why` says so."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.why = ""
        self._stop: list[str] | None = None
        self._env: dict = {}
        self.base = Path(tempfile.mkdtemp(prefix="portal-load-pg-"))
        try:
            import pytest

            from tests.postgres import start_cluster
        except ImportError as e:  # the dev requirements (make load installs them)
            self.why = f"no PostgreSQL fixture ({e})"
            return
        try:
            self.url, self._stop, self._env = start_cluster(self.base)
        except (pytest.skip.Exception, pytest.fail.Exception) as e:  # not installed: it says why
            self.why = str(e.msg if hasattr(e, "msg") else e).split(" Install")[0]
        except (OSError, subprocess.CalledProcessError) as e:
            self.why = f"PostgreSQL did not start ({e})"

    @property
    def label(self) -> str:
        return "PostgreSQL (a throwaway cluster)" if self.url else f"embedded (SQLite, files): {self.why}"

    def stop(self) -> None:
        if self._stop is not None:
            from core import shared_state

            shared_state.close()
            subprocess.run(self._stop, capture_output=True, env=self._env)
            self._stop = None
        shutil.rmtree(self.base, ignore_errors=True)


class Replicas:
    """HAProxy and `count` portal processes of this checkout, started on free ports of 127.0.0.1."""

    sticky = True

    def __init__(self, count: int, database_url: str | None = None):
        haproxy = find_haproxy()
        if haproxy is None:
            raise RuntimeError("HAProxy is not installed (sudo apt-get install haproxy): the replicas mode needs it. "
                               "--replicas none measures one process without it.")
        self.replicas = count
        self.database_url = database_url
        self.dir = Path(tempfile.mkdtemp(prefix="portal-load-replicas-"))
        env = {**LOAD_ENV, "PORTAL_DATA_DIR": str(GENERATED_DIR.resolve()),
               "PORTAL_USERS_FILE": str(self.dir / "users.yaml"), "PORTAL_AUDIT_DB": str(self.dir / "audit.sqlite3")}
        if database_url:
            env["PORTAL_DATABASE_URL"] = database_url
        self.cluster = Cluster(count, free_port(), free_ports(count), "127.0.0.1", self.dir, haproxy, SERVE_ARGS,
                               env=env)
        try:
            self.cluster.start()
        except BaseException as e:
            self.stop()
            if isinstance(e, RuntimeError):
                raise RuntimeError(f"{e}:\n{self.log_tail()}") from None
            raise
        cookies = page_cookies(self.url) or ""
        if f"{STICKY_COOKIE}=" not in cookies:  # a visit would not stay on the process that holds its session
            self.stop()
            raise RuntimeError(f"HAProxy set no {STICKY_COOKIE} cookie on the page (cookies: {cookies or 'none'})")

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.cluster.replicas]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def proxy_cpu(self) -> float:
        return cpu_seconds(self.cluster.proxy.pid) if self.cluster.proxy else 0.0

    def rss(self) -> list[float]:
        return [rss_mib(pid) for pid in self.pids]

    def db_connections(self) -> int | None:
        """The connections the portal processes hold open to the shared PostgreSQL database (None: embedded)."""
        if not self.database_url:
            return None
        # In a process of its own: this one is locust's, whose gevent patches the sockets psycopg would wait on.
        query = ("import psycopg, sys\nwith psycopg.connect(sys.argv[1], autocommit=True) as con:\n"
                 "    print(con.execute('SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND pid <> pg_backend_pid()').fetchone()[0])")
        found = subprocess.run([sys.executable, "-c", query, self.database_url], capture_output=True, text=True,
                               timeout=30)
        return int(found.stdout) if found.returncode == 0 else None

    def log_tail(self, n: int = 20) -> str:
        return "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-n:])
                         for p in sorted(self.dir.glob("*.log")))

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cluster.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Replicas:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
