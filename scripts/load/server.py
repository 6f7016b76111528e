"""A portal process for the load tool: `python -m scripts.serve` from a checkout (this one, or a temporary
`git worktree` of another commit for the baseline), on a free port, with load-only secrets and its own
users file and audit log, so that it touches nothing of a running portal. Its process id is the server's
(scripts.serve runs Streamlit in-process), so /proc/<pid>/stat gives the server's processor time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.settings import GENERATED_DIR
from scripts.health import wait_healthy
from scripts.replicas import free_port

# Not secrets: fixed values for a throw-away server, so that the baseline and the branch publish the
# same perturbed figures (as the attack suite's fixed secret in the Makefile).
LOAD_ENV = {"PORTAL_CKM_SECRET": "load-only-ckm-secret-0123456789-abcdefghijklmnopq",
            "PORTAL_COOKIE_KEY": "load-only-cookie-key-0123456789-abcdefghijklmnopq",
            "PORTAL_WARM_UP": "none"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system processor time of process `pid` so far (/proc/<pid>/stat, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` in MiB (/proc/<pid>/status, VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    sticky = False  # no load balancer in front: no cookie to keep a visit on one process
    replicas = 0  # one process, no HAProxy (the load tool's table says "1 process")

    def __init__(self, root: Path, env: dict[str, str] | None = None, python: str = sys.executable):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="portal-load-"))
        self.log_path = self.dir / "streamlit.log"
        full_env = {**os.environ, **LOAD_ENV, "PORTAL_DATA_DIR": str(GENERATED_DIR.resolve()),
                    "PORTAL_USERS_FILE": str(self.dir / "users.yaml"), "PORTAL_AUDIT_DB": str(self.dir / "audit.sqlite3"),
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [python, "-m", "scripts.serve", f"--server.port={self.port}", "--server.address=127.0.0.1",
             "--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
            cwd=root, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_healthy()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> list[float]:
        """Resident memory of each portal process, MiB."""
        return [rss_mib(self.pid)]

    def _wait_healthy(self, timeout: float = 120.0) -> None:
        try:
            wait_healthy(self.url, self.proc, timeout)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"{e}:\n{self.log_tail()}") from None

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)  # its users file, audit log and log

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def base_tree(ref: str) -> Path:
    """Where the baseline `ref` is checked out: always the same place, since the ids of the widgets app.py
    draws (the sidebar's) are hashes of the main script's path too, and a visit recorded in one place
    replays only in that place."""
    where = Path(tempfile.gettempdir()) / f"portal-load-base-{ref.replace('/', '_')}"
    remove_worktree(where)
    shutil.rmtree(where, ignore_errors=True)
    return where


def worktree(ref: str, where: Path) -> Path:
    """A temporary `git worktree` of `ref` at `where` (detached), with this checkout's virtualenv linked in."""
    from core.settings import ROOT

    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(where), ref], cwd=ROOT, check=True,
                   capture_output=True)
    (where / ".venv").symlink_to((ROOT / ".venv").resolve())
    return where


def remove_worktree(where: Path) -> None:
    from core.settings import ROOT

    subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, capture_output=True)
