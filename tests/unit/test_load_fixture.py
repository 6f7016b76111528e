"""The load tool's recorded visit (scripts/load/fixtures, made by scripts/load/record.py from a Chromium
session) and its replay logic, without a server: every recorded message parses as Streamlit's BackMsg,
names the pages and widgets the visit is about, and a replay waits for the end of the last run."""

from __future__ import annotations

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from scripts.load.protocol import FIXTURES, INTERACTIONS, MEASURED, Fixture, Interaction, replay

BRANCH = FIXTURES / "branch.json"


@pytest.fixture(scope="module")
def fixture() -> Fixture:
    return Fixture.load(BRANCH)


def _widget_ids(interaction: Interaction) -> set[str]:
    return {w.id for m in interaction.messages() for w in m.rerun_script.widget_states.widgets}


def test_the_recorded_visit_has_every_interaction_and_parses(fixture):
    assert set(MEASURED) <= {i.name for i in fixture.interactions} <= set(INTERACTIONS)
    assert len(fixture.commit) == 40
    for interaction in fixture.interactions:
        messages = interaction.messages()
        assert messages and all(m.WhichOneof("type") for m in messages), interaction.name
        assert interaction.result["elements"] > 0 and interaction.runs >= 1, interaction.name


def test_the_messages_name_the_pages_and_widgets_of_the_visit(fixture):
    [opened] = fixture.by_name("open")
    assert opened.messages()[0].rerun_script.query_string == "lang=en"
    pages = {i.name: i.messages()[0].rerun_script.page_script_hash for i in fixture.interactions}
    # opening the theme page, the crosstab and the map each names its page
    opened = {pages["theme"], pages["crosstab_open"], pages["map_open"]}
    assert len(opened) == 3 and all(opened)
    wanted = {"filter": "f1_gender", "crosstab": "ct_picker", "map": "map_layers", "language": "ui_lang"}
    for name, key in wanted.items():
        ids = set().union(*(_widget_ids(i) for i in fixture.by_name(name)))
        assert any(i.endswith(key) for i in ids), (name, key)


def test_a_choice_in_the_crosstab_or_the_map_reruns_only_its_fragment(fixture):
    """issue 21: the browser asks for the fragment's run alone (st.fragment in pages/crosstab.py, pages/map.py)."""
    for name in ("crosstab", "map"):
        assert all(m.rerun_script.fragment_id for i in fixture.by_name(name) for m in i.messages()), name
    assert not any(m.rerun_script.fragment_id for i in fixture.by_name("filter") for m in i.messages())


class _Server:
    """A stand-in for the server's websocket: each message that starts a run is answered by `runs`
    (lists of ForwardMsgs), in turn."""

    def __init__(self, runs: list[list[ForwardMsg]]):
        self.runs, self.queue, self.sent = list(runs), [], []

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        self.queue += [m.SerializeToString() for m in self.runs.pop(0)]

    def recv(self, timeout: float) -> bytes:
        if not self.queue:
            raise TimeoutError
        return self.queue.pop(0)


def _run(query: str, status: int, text: str = "hello") -> list[ForwardMsg]:
    started, info, delta, finished = ForwardMsg(), ForwardMsg(), ForwardMsg(), ForwardMsg()
    started.new_session.page_script_hash = "page"
    info.page_info_changed.query_string = query
    delta.delta.new_element.markdown.body = text
    finished.script_finished = status
    return [started, delta, info, finished]


def test_a_replay_sends_the_bytes_recorded_and_waits_for_the_last_run(fixture):
    interaction = fixture.by_name("filter")[0]
    # the first run is cut short by a rerun (st.rerun): the interaction ends with the second
    early = _run("a=1", ForwardMsg.FINISHED_EARLY_FOR_RERUN, "stale")
    server = _Server([early + _run("a=2", ForwardMsg.FINISHED_SUCCESSFULLY)])
    answer, seconds = replay(server, interaction)
    assert server.sent == interaction.frames
    assert answer.runs == 2 and answer.query == "a=2" and answer.elements == ["markdown:hello"]
    assert seconds >= 0


def test_a_replay_without_an_end_of_run_fails():
    interaction = Interaction("filter", Fixture.load(BRANCH).by_name("filter")[0].frames)
    server = _Server([[_run("a=1", ForwardMsg.FINISHED_SUCCESSFULLY)[0]]])  # a run that never finishes
    with pytest.raises(TimeoutError):
        replay(server, interaction, timeout=0.5)
