"""scripts/health.py: what the scripts and the browser tests wait on before they use a server."""

import http.server
import socket
import subprocess
import sys
import threading

import pytest

from scripts.health import healthy, wait_healthy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_port_is_not_healthy_and_an_exited_server_is_named():
    url = f"http://127.0.0.1:{_free_port()}"
    assert not healthy(url, timeout=0.5)
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match="exited with 3"):
        wait_healthy(url, proc, timeout=30)
    with pytest.raises(RuntimeError, match="did not answer"):
        wait_healthy(url, timeout=0.3)


def test_only_an_ok_answer_is_healthy():
    answers = {"/_stcore/health": b"ok"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = answers.get(self.path, b"")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert healthy(url)
        wait_healthy(url, timeout=5)
        answers["/_stcore/health"] = b"starting"
        assert not healthy(url)
    finally:
        server.shutdown()
