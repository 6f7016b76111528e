"""The portal through HAProxy in front of two processes (`make serve REPLICAS=2`, scripts/replicas.py): a visit
draws the Overview, its JavaScript arrives compressed, the visitor is kept on one process by a cookie, and one
Ctrl-C stops HAProxy and every process. Then a researcher through HAProxy with the two processes on one
PostgreSQL (tests/postgres.py): signs in, sees microdata, signs out, and neither process accepts the login
cookie any more."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from scripts.replicas import STICKY_COOKIE, find_haproxy, free_ports, port_free
from tests.e2e.conftest import ALICE, REQUIRE_ENV, ROOT, START_TIMEOUT, Portal, _free_port
from tests.postgres import empty

pytestmark = pytest.mark.e2e


class Replicas:
    """`python -m scripts.replicas` in a process of its own: what Portal needs of a server (url, log_tail)."""

    def __init__(self, workdir, users_file, replicas: int = 2, env: dict | None = None):
        self.port, first = _free_port(), free_ports(replicas)
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir = workdir / "run"
        self.ports = [self.port, *range(first, first + replicas)]
        self.log_path = workdir / "replicas.log"
        env = {**os.environ, "PORTAL_USERS_FILE": str(users_file), "PORTAL_AUDIT_DB": str(workdir / "audit.sqlite3"),
               "PORTAL_COOKIE_KEY": "e2e-replicas-cookie-key-0123456789-abcdefghijkl", "PORTAL_WARM_UP": "none",
               "PORTAL_TEST_BCRYPT_COST": "4", "PYTHONUNBUFFERED": "1", **(env or {})}
        env.pop("PORTAL_TRUSTED_PROXIES", None)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.replicas", "--replicas", str(replicas), "--port", str(self.port),
             "--replica-port", str(first), "--bind", "127.0.0.1", "--run-dir", str(self.run_dir),
             "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        # The script starts HAProxy once every process answers its health check, and says so.
        deadline = time.monotonic() + START_TIMEOUT
        while "Portal ready at" not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"scripts.replicas did not start (exit {self.proc.poll()}):\n{self.log_tail()}")
            time.sleep(0.2)  # polling a process that has no event to wait on

    def log_tail(self, n: int = 40) -> str:
        logs = [self.log_path, *sorted(self.run_dir.glob("*.log"))]
        return "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-n:])
                         for p in logs if p.exists())

    def interrupt(self) -> int:
        """Ctrl-C to the script alone (its children have process groups of their own); its exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        self._log.close()


def _need_haproxy() -> None:
    if find_haproxy() is None:
        message = "HAProxy is not installed (apt-get install haproxy); .ci/run installs it."
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} {REQUIRE_ENV}=1 is set, so this test is required.", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def replicas(tmp_path, users_file, chromium_path):
    _need_haproxy()
    server = Replicas(tmp_path, users_file)
    yield server
    server.stop()


def test_the_portal_through_haproxy_in_front_of_two_processes(replicas, new_context):
    portal = Portal(replicas)
    page = new_context().new_page()
    scripts = []
    page.on("response", lambda r: scripts.append(r) if "/static/js/index." in r.url else None)
    portal.open(page, "/")
    expect(portal.title(page)).to_have_text("Mixed-migration data portal")
    expect(portal.current(portal.main(page)).get_by_test_id("stVegaLiteChart").first).to_be_visible()

    # Streamlit's main bundle, which it serves uncompressed, came through HAProxy compressed.
    assert scripts, "the page loaded no main bundle"
    bundle = scripts[0]
    assert bundle.all_headers().get("content-encoding") in ("gzip", "deflate"), bundle.all_headers()
    assert bundle.request.sizes()["responseBodySize"] < len(bundle.body()) / 2

    # The visitor is kept on one process: HAProxy's cookie names one of the two.
    sticky = [c for c in page.context.cookies() if c["name"] == STICKY_COOKIE]
    assert [c["value"] for c in sticky] in (["portal1"], ["portal2"]), page.context.cookies()
    assert sticky[0]["httpOnly"]

    # One Ctrl-C stops HAProxy and both processes: every port is free again.
    assert replicas.interrupt() == 0, replicas.log_tail()
    assert all(port_free(p) for p in replicas.ports), replicas.log_tail()
    with pytest.raises(OSError):
        urllib.request.urlopen(replicas.url + "/_stcore/health", timeout=2)


@pytest.fixture
def replicas_on_postgres(tmp_path, chromium_path, pg_url):
    """Two processes behind HAProxy sharing one PostgreSQL schema (PORTAL_DATABASE_URL), the researcher a user
    of its `users` table only: their users file does not exist, so that nothing of this test works on the
    embedded state the two processes also share on one machine. pg_url skips the test where PostgreSQL is
    not installed (fails in CI)."""
    _need_haproxy()
    from core.auth.users import UserStore

    empty(pg_url)
    UserStore(pg_url, bcrypt_cost=4).add_user(ALICE.username, ALICE.password, role=ALICE.role, name=ALICE.name)
    server = Replicas(tmp_path, tmp_path / "no-users.yaml", env={"PORTAL_DATABASE_URL": pg_url})
    yield server
    server.stop()


def test_a_researcher_through_haproxy_on_postgresql_signs_out_of_every_process(replicas_on_postgres, new_context):
    portal = Portal(replicas_on_postgres)
    page = portal.open(new_context().new_page(), "/")
    login = portal.sign_in(page, ALICE)
    expect(portal.sidebar(page).get_by_text("Signed in as Alice Martin (Researcher)")).to_be_visible()
    [sticky] = [c["value"] for c in page.context.cookies() if c["name"] == STICKY_COOKIE]
    other = {"portal1": "portal2", "portal2": "portal1"}[sticky]

    portal.nav_link(page, "Microdata").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Microdata")
    expect(portal.glide_cells(page).first).to_have_text(re.compile(r"^CORE-\d{7}$"))

    def on_the_other_process():
        """A new browser holding the login cookie, sent by HAProxy's cookie to the process that did not sign in."""
        context = new_context()
        context.add_cookies([{"name": login["name"], "value": login["value"], "url": portal.base},
                             {"name": STICKY_COOKIE, "value": other, "url": portal.base}])
        there = portal.open(context.new_page(), "/microdata")
        assert [c["value"] for c in context.cookies() if c["name"] == STICKY_COOKIE] == [other]
        return there

    # Control: before the sign-out, the other process accepts the cookie (the same cookie key, the same users).
    there = on_the_other_process()
    expect(portal.title(there)).to_have_text("Microdata")
    expect(portal.sidebar(there).get_by_text("Signed in as Alice Martin (Researcher)")).to_be_visible()

    portal.sidebar(page).get_by_role("button", name="Sign out").click()
    portal.settle(page)
    expect(portal.sidebar(page).get_by_text("You have signed out.")).to_be_visible()
    portal.assert_restricted(page, "Microdata")

    # The sign-out, recorded in PostgreSQL, holds on the other process too: the cookie no longer signs in there.
    portal.assert_restricted(on_the_other_process(), "Microdata")
