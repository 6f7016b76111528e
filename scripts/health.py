"""Knowing when a Streamlit server, and a page in a browser, are ready: one place for the scripts that start
servers (serve, replicas, bench_browser, load) and for the browser tests (tests/e2e/conftest.py)."""

from __future__ import annotations

import subprocess
import time
import urllib.request


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether the Streamlit server at `url` answers its health check with "ok"."""
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=timeout) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Wait until the server at `url` answers its health check (only that: no page is requested, so a fresh
    server stays fresh). RuntimeError, saying which, when `proc` (the server) exits first or after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not healthy(url, timeout=1.0):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer on {url} within {timeout:.0f} s")
        time.sleep(0.2)  # a starting process has no event to wait on


# For Playwright's page.wait_for_function(SETTLED_JS, arg=[quiet_ms, id]): the app is connected and its script
# has been idle for `quiet_ms`, counted from the first call with a new `id` (so that a rerun the last action is
# about to cause is waited for, not missed).
SETTLED_JS = """([quiet, id]) => {
    const app = document.querySelector("[data-testid='stApp']");
    const now = performance.now();
    if (window.__settleId !== id) { window.__settleId = id; window.__busyAt = now; }
    if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED'
            || app.getAttribute('data-test-script-state') !== 'notRunning') {
        window.__busyAt = now;
        return false;
    }
    return now - window.__busyAt >= quiet;
}"""
