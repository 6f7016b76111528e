"""Record the messages a real Chromium session sends for the load tool's visit, as a fixture.

    python -m scripts.load.record [--out scripts/load/fixtures/branch.json] [--ref REF]

Starts a portal (this checkout, or a temporary `git worktree` of REF), opens it in Debian's Chromium
with Playwright, and does what a visitor does (protocol.INTERACTIONS): opens the Overview, chooses a
gender and takes it back, opens a theme page, opens the crosstab and drags two questions into it and
switches to the heatmap, opens the map and adds a layer then takes it off, switches to French and back.
Every binary frame the page sends on Streamlit's websocket (Playwright's `framesent`) is kept, byte for
byte, under the interaction it belongs to, with what the server answered (protocol.Answer's digest of the
frames received). Then the fixture is replayed in a fresh session and each interaction's answer compared
with Chromium's (`check`): a fixture that does not replay to the same result is not written.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

from scripts.health import QUIET_JS
from scripts.load.protocol import FIXTURES, Answer, Fixture, Interaction
from scripts.load.server import Server, base_tree, remove_worktree, worktree

# Quiet (scripts/health.py QUIET_JS): a step lasts until the server has sent nothing for 800 ms, so that the
# recording holds every message the step causes, even a late one (a component reporting its value).
_ids = itertools.count()


class Recorder:
    def __init__(self) -> None:
        self.interactions: list[Interaction] = []
        self.answers: list[Answer] = []
        self.current: Interaction | None = None

    def begin(self, name: str) -> None:
        self.current = Interaction(name, [])
        self.interactions.append(self.current)
        self.answers.append(Answer())

    def sent(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)) and self.current is not None:
            self.current.frames.append(bytes(payload))

    def received(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)) and self.answers:
            from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

            msg = ForwardMsg()
            msg.ParseFromString(bytes(payload))
            self.answers[-1].add(msg)

    def fixture(self, commit: str) -> Fixture:
        for interaction, answer in zip(self.interactions, self.answers):
            interaction.result, interaction.runs = answer.digest(), answer.runs
        return Fixture(commit, [i for i in self.interactions if i.frames])


def visit(base: str, recorder: Recorder) -> None:
    """A visitor's journey in Chromium (1366x768), each step recorded under its interaction's name."""
    from playwright.sync_api import expect, sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="en-GB")
        page.on("websocket", lambda ws: (ws.on("framesent", recorder.sent), ws.on("framereceived", recorder.received)))
        settle = lambda: page.wait_for_function(QUIET_JS, arg=[800, next(_ids)], timeout=60_000, polling=50)  # noqa: E731
        sidebar, main = page.get_by_test_id("stSidebar"), page.get_by_test_id("stMain")
        title = main.locator("[data-testid='stElementContainer']:not([data-stale='true'])").get_by_role("heading", level=1)
        pill = lambda where, name: where.get_by_role("button", name=name, exact=True).or_(  # noqa: E731
            where.get_by_role("radio", name=name, exact=True))

        def step(name: str, action) -> None:
            recorder.begin(name)
            action()
            settle()

        step("open", lambda: page.goto(base + "/?lang=en"))
        expect(title).to_have_text("Mixed-migration data portal")
        step("filter", lambda: pill(sidebar, "Woman").click())
        step("filter", lambda: pill(sidebar, "Woman").click())
        step("theme", lambda: sidebar.get_by_role("link", name="Profiles").click())
        expect(title).to_have_text("Profiles")
        step("crosstab_open", lambda: sidebar.get_by_role("link", name="Crosstab").click())
        expect(title).to_have_text("Crosstab builder")
        for field, zone in (("gender", "rows"), ("age_band", "cols")):
            step("crosstab", lambda f=field, z=zone: page.locator(f"li.field[data-name='{f}']").first.drag_to(
                page.locator(f"#zone-{z}")))
        step("crosstab", lambda: main.get_by_text("Heatmap", exact=True).click())
        expect(main.get_by_test_id("stVegaLiteChart")).to_be_visible()
        step("map_open", lambda: sidebar.get_by_role("link", name="Route map").click())
        expect(title).to_have_text("Route map")
        step("map", lambda: pill(main, "Interviews").click())
        step("map", lambda: pill(main, "Interviews").click())
        language = sidebar.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Language", exact=True))

        def switch(to: str) -> None:
            language.evaluate("e => e.scrollIntoView({block: 'center'})")
            language.click()
            page.get_by_role("option", name=to).click()

        step("language", lambda: switch("Français"))
        expect(title).to_have_text("Carte des routes")
        language = sidebar.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Langue", exact=True))
        step("language", lambda: switch("English"))
        expect(title).to_have_text("Route map")
        recorder.begin("end")  # what arrives after the last step belongs to nothing
        browser.close()


def check(base: str, fixture: Fixture) -> list[str]:
    """Replay the fixture in a fresh session; the interactions whose answer differs from Chromium's."""
    from scripts.load.replay import connect

    problems = []
    with connect(base) as conn:
        for interaction in fixture.interactions:
            answer, _ = conn.replay(interaction)
            got = answer.digest()
            if got != interaction.result or answer.errors:
                problems.append(f"{interaction.name}: Chromium {interaction.result}, replay {got} {answer.errors}")
    return problems


def head(root: Path, ref: str = "HEAD") -> str:
    return subprocess.run(["git", "rev-parse", ref], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def record(root: Path, out: Path, commit: str, env: dict | None = None) -> Fixture:
    with Server(root, env) as server:
        # A first visit that nobody records: the server's first session imports the pages' modules.
        warm = Recorder()
        visit(server.url, warm)
        recorder = Recorder()
        visit(server.url, recorder)
        fixture = recorder.fixture(commit)
        problems = check(server.url, fixture)
    if problems:
        raise SystemExit("The recorded messages do not replay to Chromium's result:\n" + "\n".join(problems))
    fixture.save(out)
    return fixture


def main(argv: list[str] | None = None) -> int:
    from core.settings import ROOT

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", help="record against this commit (a temporary git worktree), not this checkout")
    parser.add_argument("--out", type=Path, help="the fixture file (default scripts/load/fixtures/<branch|REF>.json)")
    args = parser.parse_args(argv)
    out = args.out or FIXTURES / f"{'branch' if not args.ref else args.ref.replace('/', '_')}.json"
    if args.ref:
        where = worktree(args.ref, base_tree(args.ref))
        try:
            fixture = record(where, out, head(ROOT, args.ref))
        finally:
            remove_worktree(where)
    else:
        fixture = record(ROOT, out, head(ROOT))
    counts = {}
    for i in fixture.interactions:
        counts[i.name] = counts.get(i.name, 0) + len(i.frames)
    print(f"wrote {out}: " + ", ".join(f"{name} {n} messages" for name, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
