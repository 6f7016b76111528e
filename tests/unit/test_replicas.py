"""Two replicas on one PostgreSQL database (PORTAL_DATABASE_URL), as behind a load balancer: this test's
process is one, `python -m tests.replica` in a process of its own (its own memory and caches) the other.
What one does, the other sees at once or within seconds, with no restart: a new user, a sign-out, guesses
at a password, audit rows, a new data release; and a replica with another ckm_secret refuses to start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from core import settings
from core.auth.audit import AuditLog
from core.data import engine as engine_module
from core.data import versions
from core.settings import ROOT
from tests.postgres import empty
from tests.replica import RemoteReplica, Replica
from tests.unit.ingest_support import load_first_round

COOKIE = "a-cookie-key-shared-by-every-replica-0123456789"
PASSWORD = "Quiet-harbour-2026!zk"


@pytest.fixture(scope="module")
def replicas(pg_url, tmp_path_factory):
    """(this process's replica, the other process's, the shared data directory), on an emptied schema."""
    empty(pg_url)
    data_dir = tmp_path_factory.mktemp("shared") / "data"
    data_dir.mkdir()
    shutil.copy(engine_module.dataset_path(settings.GENERATED_DIR, "core"),
                engine_module.dataset_path(data_dir, "core"))
    # A first wait of a minute: the attempt after five failures arrives within it on any machine.
    env = {**os.environ, "PORTAL_DATABASE_URL": pg_url, "PORTAL_DATA_DIR": str(data_dir),
           "PORTAL_COOKIE_KEY": COOKIE, "PORTAL_TEST_BCRYPT_COST": "4", "PORTAL_THROTTLE_FIRST_WAIT_SECONDS": "60"}
    saved = {k: os.environ.get(k) for k in ("PORTAL_DATABASE_URL", "PORTAL_COOKIE_KEY", "PORTAL_TEST_BCRYPT_COST",
                                            "PORTAL_THROTTLE_FIRST_WAIT_SECONDS")}
    os.environ.update({k: env[k] for k in saved})
    other = RemoteReplica(env, ROOT)
    try:
        yield Replica(data_dir), other, data_dir
    finally:
        other.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_a_user_added_on_one_replica_signs_in_on_the_other(replicas):
    here, there, _ = replicas
    there.add_user("amina", PASSWORD, "researcher")
    token = here.sign_in("amina", PASSWORD, "198.51.100.1")["token"]
    assert there.resume(token) == {"username": "amina"}


def test_a_sign_out_on_one_replica_ends_the_session_on_the_other(replicas):
    here, there, _ = replicas
    here.add_user("bruno", PASSWORD, "researcher")
    token = there.sign_in("bruno", PASSWORD, "198.51.100.2")["token"]
    assert here.resume(token) == {"username": "bruno"}
    here.sign_out(token)
    assert there.resume(token) == {"ended": "revoked"}, "the other replica no longer accepts the cookie"


def test_guesses_sent_to_both_replicas_are_throttled_together(replicas):
    here, there, _ = replicas
    for i in range(4):  # four free failures, spread over the two
        answer = (here if i % 2 else there).sign_in("chloe", "wrong-guess-number-" + str(i), f"203.0.113.{i}")
        assert answer == {"refused": "bad_credentials", "wait": 0.0}
    fifth = here.sign_in("chloe", "wrong-guess-number-5", "203.0.113.9")
    assert fifth["refused"] == "bad_credentials" and fifth["wait"] > 0
    sixth = there.sign_in("chloe", "wrong-guess-number-6", "203.0.113.10")
    assert sixth["refused"] == "throttled", "the other replica makes the guesser wait too"


def test_each_replica_writes_to_the_one_audit_log(replicas):
    here, there, _ = replicas
    mine = here.view("amina", "core")["id"]
    theirs = there.view("bruno", "core")["id"]
    entries = AuditLog().entries()
    assert {mine, theirs} <= set(entries["id"])
    assert set(entries[entries["id"].isin([mine, theirs])]["username"]) == {"amina", "bruno"}


def test_a_release_loaded_through_one_replica_is_served_by_both(replicas):
    here, there, data_dir = replicas
    assert here.version("core") == there.version("core") == {"version": None}
    load_first_round(data_dir)  # this replica loads a release (the admin page or scripts.ingest)
    assert here.version("core") == {"version": "v0001"}
    # The other replica follows within versions.POINTER_SECONDS: wait on what it serves, not on a clock.
    deadline = time.monotonic() + 30 * versions.POINTER_SECONDS
    while there.version("core") != {"version": "v0001"} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert there.version("core") == {"version": "v0001"}


def test_a_replica_with_another_ckm_secret_refuses_to_start(replicas, pg_url):
    from core.shared_state import check_secrets

    check_secrets()  # the first replica's secrets are recorded at its start
    env = {**os.environ, "PORTAL_DATABASE_URL": pg_url, "PORTAL_COOKIE_KEY": COOKIE,
           "PORTAL_CKM_SECRET": "another-ckm-secret-0123456789-abcdefghijklmnop"}
    started = subprocess.run([sys.executable, "-c", "from scripts.serve import warm; warm()"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode != 0
    assert "'ckm_secret' (PORTAL_CKM_SECRET) differs" in started.stderr and "README" in started.stderr
