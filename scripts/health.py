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


# An init script (Playwright's add_init_script) that counts, per document, what the page and its server say
# about script runs on Streamlit's websocket (/_stcore/stream): each rerun the page asks for (a BackMsg with
# `rerun_script`, field 11, sent at connection, after each widget change and by each page link), each run
# the server starts (a ForwardMsg with `new_session`, field 4) and each it finishes (`script_finished`,
# field 6: FINISHED_EARLY_FOR_RERUN, 2, is a run cut short by another). Only the top-level field numbers
# of the protobuf messages are read (streamlit/proto/{Back,Forward}Msg.proto, Streamlit 1.67).
# window.__runs: {seq, request, start, finish}: the sequence number of the last of each; requests: the seq of
# each request (for what a settle that timed out saw); reports: [seq, kind] of each value a component (an
# iframe) reports to the page ("true", or the value's type), after which Streamlit asks for a rerun. The login
# cookie's writer (streamlit-authenticator's cookie manager) reports `true` once it has written the cookie:
# see Portal.sign_in.
RUNS_JS = """(() => {
    if (window.__runs) return;
    const runs = window.__runs = {seq: 0, request: 0, start: 0, finish: 0, requests: [], reports: []};
    const bytes = d => d instanceof ArrayBuffer ? new Uint8Array(d)
        : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
    const fields = b => {  // {field number: varint value, or true for any other wire type}
        const out = {};
        let i = 0;
        const varint = () => { let v = 0, m = 1, c; do { c = b[i++]; v += (c & 127) * m; m *= 128; } while (c & 128); return v; };
        while (i < b.length) {
            const tag = varint(), type = tag % 8, number = Math.floor(tag / 8);
            if (type === 0) out[number] = varint();
            else if (type === 2) { const n = varint(); i += n; out[number] = true; }
            else if (type === 1 || type === 5) { i += type === 1 ? 8 : 4; out[number] = true; }
            else break;
        }
        return out;
    };
    const note = what => { runs.seq += 1; runs[what] = runs.seq; };
    window.addEventListener('message', e => {
        const d = e.data;
        if (window === window.top && d && d.isStreamlitMessage && d.type === 'streamlit:setComponentValue')
            runs.reports.push([runs.seq, d.value === true ? 'true' : d.value === null ? 'null' : typeof d.value]);
    });
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.__stream = String(args[0]).includes('/_stcore/stream');
            if (this.__stream) this.addEventListener('message', e => {
                const b = bytes(e.data);
                if (!b) return;
                const f = fields(b);
                if (4 in f) note('start');
                if (6 in f && f[6] !== 2) note('finish');
            });
        }
        send(data) {
            const b = this.__stream && bytes(data);
            if (b && 11 in fields(b)) { note('request'); runs.requests.push(runs.seq); }
            return super.send(data);
        }
    };
})()"""

# For page.wait_for_function(SETTLED_JS, arg=[since, report]) on a page with RUNS_JS: the app is connected, and
# every rerun the page has asked for has been run to its end and drawn (a run started after the last request,
# and finished after that start). With `since` (a window.__runs.seq read before an action) a request must also
# have been made after it; with `report` (a kind, as in `reports`) a component must have reported a value of
# that kind after `since`, and the page asked for a rerun after the last report.
# (Not the cookie itself: a cookie an iframe writes reaches the page's document.cookie some time later, so the
# request its report causes can leave before the page sees it.)
SETTLED_JS = """([since, report]) => {
    const app = document.querySelector("[data-testid='stApp']"), runs = window.__runs;
    if (!runs || !app || app.getAttribute('data-test-connection-state') !== 'CONNECTED'
            || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (!(runs.request > 0 && runs.start > runs.request && runs.finish > runs.start)) return false;
    if (runs.request <= (since || 0)) return false;  // no request since (runs.request: the last one's seq)
    if (!report) return true;
    const last = runs.reports.length ? runs.reports[runs.reports.length - 1][0] : Infinity;
    return runs.reports.some(([seq, kind]) => seq >= (since || 0) && kind === report) && runs.request > last;
}"""

# For page.wait_for_function(QUIET_JS, arg=[quiet_ms, id]): the app is connected and its script has been idle for
# `quiet_ms`, counted from the first call with a new `id`. A wait on time, not on a state: only for the load
# recorder (scripts/load/record.py), which must catch every message a step causes, however late.
QUIET_JS = """([quiet, id]) => {
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
