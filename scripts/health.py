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


MAP_CANVAS = "[data-testid='stDeckGlJsonChart'] canvas"  # the route map's canvas (st.pydeck_chart)
# For page.wait_for_function(MAP_DRAWN_JS, arg=[MAP_CANVAS, [r, g, b]]): a route map has drawn, on its
# canvas, both the country outlines (at least 500 pixels of the land colour `[r, g, b]`,
# core.figures.map_layers.LAND) and a layer (at least 30 strongly coloured pixels: the layers' colour ramps;
# the sea, land, borders, markers and a chosen country's tint are all greyish or pale). deck.gl puts its
# canvas on the page before it draws anything, and the outlines arrive by a fetch of their own: a visible
# canvas is not yet the map. The canvas is copied at most 400 x 300 pixels into a 2D canvas to be read
# (Chromium copies what is on screen, without preserveDrawingBuffer).
MAP_DRAWN_JS = """([selector, land]) => {
    const map = document.querySelector(selector);
    if (!map || !map.width || !map.height) return false;
    const w = Math.min(map.width, 400), h = Math.min(map.height, 300);
    const copy = document.createElement('canvas');
    copy.width = w; copy.height = h;
    const ctx = copy.getContext('2d', {willReadFrequently: true});
    ctx.drawImage(map, 0, 0, w, h);
    const d = ctx.getImageData(0, 0, w, h).data;
    let ground = 0, layer = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] < 200) continue;
        const r = d[i], g = d[i + 1], b = d[i + 2];
        if (Math.abs(r - land[0]) < 4 && Math.abs(g - land[1]) < 4 && Math.abs(b - land[2]) < 4) ground++;
        else if (Math.max(r, g, b) - Math.min(r, g, b) > 60) layer++;
    }
    return ground >= 500 && layer >= 30;
}"""
