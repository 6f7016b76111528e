"""Streamlit's websocket protocol as the load tool speaks it, with no load framework (so that a unit test
can read a fixture without importing locust, which patches the standard library).

A fixture (scripts/load/fixtures/*.json, made by scripts/load/record.py) is a visit of one Chromium
session: the binary BackMsgs the browser sent, byte for byte, grouped into the interactions that caused
them ("open", "filter", "theme", ...), and for each interaction what the server answered in Chromium
(`result`: the link it wrote and the elements it drew, reduced by `digest`). A simulated visitor sends
the same bytes in the same order: a widget's id is a hash of its page and key, so it is the same in
every session of the same code, and the link each message carries is the one the previous answer
wrote.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The kinds of interaction a visit is made of, in the order a visitor does them (issue 21): opening the
# Overview, a filter change on it (and back), opening a theme page, opening the crosstab and changing
# it, opening the map and changing its layers, and a language switch (and back).
INTERACTIONS = ("open", "filter", "theme", "crosstab_open", "crosstab", "map_open", "map", "language")
# Which interactions' reruns are measured (CPU-seconds per rerun, response times): the issue's five.
MEASURED = ("filter", "theme", "crosstab", "map", "language")
# A run that ends so is not the end of an interaction: another run follows (st.rerun, a newer message).
_NOT_LAST = (ForwardMsg.FINISHED_EARLY_FOR_RERUN,)
# BackMsgs that never start a run: sent on, not waited for.
_NO_RUN = {"app_heartbeat", "load_git_info", "debug_disconnect_websocket", "debug_shutdown_runtime",
           "file_urls_request", "metrics_heartbeat"}


@dataclass
class Interaction:
    name: str
    frames: list[bytes]
    result: dict = field(default_factory=dict)  # digest() of what the server answered in Chromium
    runs: int = 0  # script runs the server finished for it in Chromium

    def messages(self) -> list[BackMsg]:
        out = []
        for frame in self.frames:
            msg = BackMsg()
            msg.ParseFromString(frame)
            out.append(msg)
        return out


@dataclass
class Fixture:
    commit: str
    interactions: list[Interaction]

    def by_name(self, name: str) -> list[Interaction]:
        return [i for i in self.interactions if i.name == name]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"commit": self.commit, "interactions": [
            {"name": i.name, "runs": i.runs, "result": i.result,
             "frames": [base64.b64encode(f).decode() for f in i.frames]} for i in self.interactions]}
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Fixture:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["commit"], [Interaction(i["name"], [base64.b64decode(f) for f in i["frames"]], i["result"],
                                                i.get("runs", 0)) for i in data["interactions"]])


def starts_run(msg: BackMsg) -> bool:
    return msg.WhichOneof("type") not in _NO_RUN


def _element_text(element) -> str:
    kind = element.WhichOneof("type")
    inner = getattr(element, kind)
    for name in ("body", "label"):
        if hasattr(inner, name):
            return f"{kind}:{getattr(inner, name)}"
    return kind or ""


@dataclass
class Answer:
    """What the server sent for one interaction: the link it wrote, the elements it drew, its runs."""

    query: str | None = None
    page: str | None = None
    elements: list[str] = field(default_factory=list)
    runs: int = 0
    finished: int | None = None
    errors: list[str] = field(default_factory=list)

    def add(self, msg: ForwardMsg) -> bool:
        """Take one ForwardMsg; True when it finishes a run."""
        kind = msg.WhichOneof("type")
        if kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "new_session":  # a run begins: the result is that of the last run
            self.page = msg.new_session.page_script_hash
            self.elements, self.errors = [], []
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            self.elements.append(_element_text(element))
            if element.WhichOneof("type") == "exception":
                self.errors.append(element.exception.message)
        elif kind == "script_finished":
            self.runs += 1
            self.finished = msg.script_finished
            return True
        return False

    def digest(self) -> dict:
        """The result of an interaction, comparable between Chromium and a replay: the link written
        last, the page, and a hash of the kinds and texts of the elements drawn (in drawing order)."""
        text = "\n".join(self.elements)
        return {"query": self.query, "page": self.page, "elements": len(self.elements),
                "hash": hashlib.sha256(text.encode()).hexdigest()[:16]}


class Connection:
    """What a replay needs of a websocket: send bytes, receive bytes (or raise TimeoutError)."""

    def send(self, data: bytes) -> None: ...

    def recv(self, timeout: float) -> bytes: ...


def replay(conn: Connection, interaction: Interaction, timeout: float = 60.0,
           quiet: float = 0.25) -> tuple[Answer, float]:
    """Send an interaction's messages in order; after one that starts a run, read ForwardMsgs until a
    run finishes for good. Then read on until the server has been quiet for `quiet` seconds (a component
    in the browser, such as the sign-in's cookie manager, would send the next message of the
    interaction only then; the recorded messages already hold it). Returns the answer and the seconds
    from the first message sent to the last run's end (the response time a visitor sees)."""
    answer = Answer()
    began = time.perf_counter()
    ended = began
    for frame in interaction.frames:
        msg = BackMsg()
        msg.ParseFromString(frame)
        conn.send(frame)
        if not starts_run(msg):
            continue
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no end of run within {timeout} s ({interaction.name})")
            fwd = ForwardMsg()
            fwd.ParseFromString(conn.recv(left))
            if answer.add(fwd) and fwd.script_finished not in _NOT_LAST:
                ended = time.perf_counter()
                break
    return answer, ended - began


def drain(conn: Connection, answer: Answer, quiet: float) -> None:
    """Read what the server still sends until it has been quiet for `quiet` seconds."""
    while True:
        try:
            data = conn.recv(quiet)
        except TimeoutError:
            return
        fwd = ForwardMsg()
        fwd.ParseFromString(data)
        answer.add(fwd)
