"""What one replica of the portal keeps and does with the shared state, as the router and pages do it:
sign in (throttled), resume a login cookie, sign out, write an audit row, serve a dataset's current version.

`Replica()` runs in the calling process; `python -m tests.replica` runs one in a process of its own (as a
replica on another machine would be, with its own caches and memory), answering one JSON request per line
on stdin with one JSON line on stdout. The settings come from the environment: PORTAL_DATABASE_URL,
PORTAL_DATA_DIR, PORTAL_COOKIE_KEY, PORTAL_TEST_BCRYPT_COST.
"""

from __future__ import annotations

import json
import subprocess
import sys

from core.auth.audit import AuditLog
from core.auth.sessions import LoginRefused, SessionEnded, SessionManager, SessionPolicy, cookie_settings
from core.auth.users import UserStore
from core.data.engine import Engine


class Replica:
    def __init__(self, data_dir=None):
        self.sessions = SessionManager(UserStore(), policy=SessionPolicy(), cookie=cookie_settings())
        self.engine = Engine(data_dir)  # default: PORTAL_DATA_DIR
        self.audit = AuditLog()

    def sign_in(self, username: str, password: str, address: str) -> dict:
        try:
            user = self.sessions.authenticate(username, password, address)
        except LoginRefused as e:
            return {"refused": e.code, "wait": e.wait}
        token, _, _ = self.sessions.issue_cookie(self.sessions.start(user))
        return {"token": token}

    def resume(self, token: str) -> dict:
        try:
            return {"username": self.sessions.resume(token).username}
        except SessionEnded as e:
            return {"ended": e.code}

    def sign_out(self, token: str) -> dict:
        self.sessions.logout(self.sessions.resume(token))
        return {}

    def add_user(self, username: str, password: str, role: str) -> dict:
        self.sessions.users.add_user(username, password, role=role)
        return {}

    def view(self, username: str, dataset: str) -> dict:
        return {"id": self.audit.record(username=username, role="researcher", action="view", dataset=dataset,
                                        filters=None, columns=["respondent_id"], rows=1)}

    def version(self, dataset: str) -> dict:
        return {"version": self.engine.dataset(dataset).version}


class RemoteReplica:
    """A replica in a process of its own, with the same methods as Replica (each answers a dict)."""

    def __init__(self, env: dict, cwd):
        self.process = subprocess.Popen([sys.executable, "-m", "tests.replica"], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def __getattr__(self, op: str):
        def call(*args):
            self.process.stdin.write(json.dumps([op, *args]) + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
            if not answer:
                raise RuntimeError(f"the replica process ended (exit code {self.process.wait()})")
            found = json.loads(answer)
            if "error" in found:
                raise RuntimeError(found["error"])
            return found
        return call

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def main() -> None:
    replica = Replica()
    for line in sys.stdin:
        op, *args = json.loads(line)
        try:
            answer = getattr(replica, op)(*args)
        except Exception as e:  # reported to the test, which fails with it
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
