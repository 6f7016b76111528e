"""One simulated visitor's websocket: Streamlit's `/_stcore/stream` endpoint through websocket-client
(synchronous: it runs in a plain thread and, under locust, in a gevent greenlet)."""

from __future__ import annotations

import contextlib
import urllib.request

import websocket

from scripts.load.protocol import Answer, Interaction, drain, replay


class Socket:
    """`sticky`: first GET the page, as a browser does, and send the cookies it set (behind HAProxy, the
    `portal_replica` cookie naming the process the visit stays on) with the websocket's upgrade."""

    def __init__(self, base: str, sticky: bool = False) -> None:
        url = base.replace("http", "ws", 1) + "/_stcore/stream"
        self.cookie = page_cookies(base) if sticky else None
        self.ws = websocket.create_connection(url, subprotocols=["streamlit"], timeout=60, cookie=self.cookie,
                                              enable_multithread=False, skip_utf8_validation=True)

    def send(self, data: bytes) -> None:
        self.ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)

    def recv(self, timeout: float) -> bytes:
        self.ws.settimeout(max(timeout, 0.001))
        try:
            data = self.ws.recv()
        except websocket.WebSocketTimeoutException as e:
            raise TimeoutError from e
        if isinstance(data, str):
            data = data.encode()
        return data

    def replay(self, interaction: Interaction, quiet: float = 0.3) -> tuple[Answer, float]:
        """Replay one interaction; then read what the server still sends until it is quiet."""
        answer, seconds = replay(self, interaction)
        drain(self, answer, quiet)
        return answer, seconds

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def page_cookies(base: str) -> str | None:
    """The cookies the page's first answer sets, as a Cookie header ("name=value; ..."), or None."""
    with urllib.request.urlopen(base + "/", timeout=60) as r:
        r.read()
        found = [c.split(";", 1)[0].strip() for c in r.headers.get_all("Set-Cookie") or []]
    return "; ".join(found) or None


@contextlib.contextmanager
def connect(base: str, sticky: bool = False):
    sock = Socket(base, sticky)
    try:
        yield sock
    finally:
        sock.close()
