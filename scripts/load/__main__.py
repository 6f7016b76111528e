"""`make load`: simulated visitors on Streamlit's websocket protocol, this checkout behind HAProxy with 1, 2 and 4
processes, beside a baseline of one process.

    python -m scripts.load [--base 7d36872] [--replicas 1,2,4] [--users 25,50,100] [--seconds 30] [--repeats 4]
                           [--state postgres|embedded]

First the baseline (the commit BASE, default 7d36872, the portal before issue 21's cheaper reruns, from a
temporary `git worktree`), one process; then this checkout, behind HAProxy (scripts/replicas.py, as `make
serve REPLICAS=N` serves it) with each number of `--replicas` in turn, their shared state in a throwaway
PostgreSQL cluster (tests/postgres.py; the embedded state where PostgreSQL is not installed, and the run says
so). `--replicas none` measures this checkout as one process without HAProxy, like the baseline.

1. the cost of a rerun: one visitor replays the recorded visit `--repeats` times, each time in a new
   session, and the server's processor time (/proc/<pid>/stat, user + system, summed over the portal
   processes) is read before and after each interaction: CPU-seconds per script run, per kind of
   interaction (measured once: it is one process's cost whatever their number);
2. the load: `--users` visitors at a time (locust, one gevent greenlet each), each replaying the visit
   in a new session again and again, 2 to 5 s between interactions ("a click every few seconds"), for
   `--seconds` per step (measured from 35 s after the step began: each visitor starts at a random
   moment within a visit's length, so that they do not click in step): p50/p95 response per interaction
   (from the message sent to the end of the last run it caused), errors, reruns per second, the portal
   processes' CPU-seconds per rerun under that load, and the processor cores taken by the portal
   processes, HAProxy and the load generator itself (it runs on the same machine), with the load average.
   Behind HAProxy a visitor first GETs the page, as a browser does, and sends the `portal_replica` cookie
   HAProxy set with its websocket's upgrade, so that its session stays on one process.

Then one table of all of them, and the number of visitors held (the largest step whose every interaction
kind's p95 is under the goal: 2 s for one process, issue 21's 1 s behind HAProxy, with no error). No figure
is asserted anywhere: these are for reading (house rule).

The visit is the fixture of each commit (scripts/load/fixtures/<name>.json, the messages of a real
Chromium session: scripts/load/record.py). It is checked first: a fresh session's replay must give the
answers Chromium got; a fixture that does not is recorded again (which needs Chromium) and saved. That
happens when the code changed since it was recorded, and when the checkout moved: the ids of the
widgets app.py draws (the sidebar's) hash the main script's path as well as their keys, so the baseline
always runs from the same temporary path, and this checkout's visit is recorded again once after a move.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from locust import User, constant, events, task  # before websocket: locust patches the standard library
from locust.env import Environment

from scripts.load.protocol import FIXTURES, MEASURED, Fixture
from scripts.load.replay import Socket
from scripts.load.server import Server, base_tree, cpu_seconds, remove_worktree, worktree

P95_GOAL = 2.0  # one process (what it held before and after the cheaper reruns)
P95_GOAL_REPLICAS = 1.0  # issue 21's goal: 100 visitors on this 2-core machine with a p95 under 1 s
THINK = (2.0, 5.0)
STAGGER = 45.0  # seconds: about one visit
SETTLE = 30.0  # seconds after the last visitor's arrival before the step is measured


@dataclass
class Target:
    label: str
    root: Path
    fixture: Fixture
    env: dict = field(default_factory=dict)
    replicas: int = 0  # 0: one process, no load balancer; N: N processes behind HAProxy
    cpu: dict[str, tuple[float, int]] = field(default_factory=dict)  # kind -> (cpu-s, runs)
    steps: list[dict] = field(default_factory=list)


# -- the cost of a rerun ------------------------------------------------------------------------------


def cost_per_rerun(server: Server, fixture: Fixture, repeats: int) -> dict[str, tuple[float, int]]:
    totals: dict[str, list[float]] = {}
    for _ in range(repeats):
        sock = Socket(server.url, server.sticky)
        try:
            for interaction in fixture.interactions:
                before = server.cpu()
                answer, _ = sock.replay(interaction)
                spent = server.cpu() - before
                total = totals.setdefault(interaction.name, [0.0, 0])
                total[0] += spent
                total[1] += answer.runs
        finally:
            sock.close()
    return {name: (cpu, runs) for name, (cpu, runs) in totals.items()}


def check_fixture(server: Server, fixture: Fixture) -> list[str]:
    """The interactions whose replay in a fresh session differs from what Chromium got (also the warm-up:
    the server's first session imports the pages' modules)."""
    problems = []
    sock = Socket(server.url, server.sticky)
    try:
        for interaction in fixture.interactions:
            answer, _ = sock.replay(interaction)
            if answer.digest() != interaction.result or answer.errors:
                problems.append(f"{interaction.name}: recorded {interaction.result}, replayed {answer.digest()}")
    finally:
        sock.close()
    return problems


# -- the load -----------------------------------------------------------------------------------------


class Visitor(User):
    """A visitor who replays the recorded visit, in a new session each time round."""

    abstract = True
    wait_time = constant(0)
    fixture: Fixture
    sticky = False  # behind HAProxy: GET the page first, and send its cookie with the websocket's upgrade
    runs = 0  # script runs finished, all visitors

    def visit(self) -> None:
        sock = None
        try:
            sock = Socket(self.host, self.sticky)
            for interaction in self.fixture.interactions:
                began = time.perf_counter()
                try:
                    answer, seconds = sock.replay(interaction)
                except Exception as e:  # noqa: BLE001 - every failure is counted, then the visit starts over
                    self.environment.events.request.fire(request_type="ws", name=interaction.name,
                                                         response_time=(time.perf_counter() - began) * 1000,
                                                         response_length=0, exception=e, context={})
                    return
                Visitor.runs += answer.runs
                error = RuntimeError(answer.errors[0]) if answer.errors else None
                self.environment.events.request.fire(request_type="ws", name=interaction.name,
                                                     response_time=seconds * 1000, response_length=0,
                                                     exception=error, context={})
                gevent.sleep(random.uniform(*THINK))
        except Exception as e:  # noqa: BLE001 - a refused connection
            self.environment.events.request.fire(request_type="ws", name="connect", response_time=0,
                                                 response_length=0, exception=e, context={})
            gevent.sleep(1)
        finally:
            if sock is not None:
                sock.close()

    def on_start(self) -> None:
        # Visitors who arrive together would click together, visit after visit: each waits a random part
        # of a visit's length first (14 interactions, 3.5 s apart on average).
        gevent.sleep(random.uniform(0, STAGGER))

    @task
    def one_visit(self) -> None:
        self.visit()


def wait_idle(server: Server, quiet: float = 1.0, timeout: float = 120.0) -> None:
    """Until the server has spent (almost) no processor time for `quiet` seconds: the queue of a step is
    not carried into the next."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = server.cpu()
        gevent.sleep(quiet)
        if server.cpu() - before < 0.05 * quiet * max(1, server.replicas):
            return


def load_step(server: Server, fixture: Fixture, users: int, seconds: float) -> dict:
    visitor = type("ReplayVisitor", (Visitor,), {"abstract": False, "fixture": fixture, "host": server.url,
                                                 "sticky": server.sticky})
    env = Environment(user_classes=[visitor], events=events)
    runner = env.create_local_runner()
    Visitor.runs = 0
    runner.start(users, spawn_rate=max(users / 5.0, 1.0))  # everyone in within 5 s
    gevent.sleep(5 + SETTLE)
    env.stats.reset_all()  # from the moment most visitors are on their way
    proxy_cpu = getattr(server, "proxy_cpu", lambda: 0.0)
    me = os.getpid()  # the load generator: locust and every simulated visitor, on the same processors
    runs0, cpu0, gen0, proxy0, began = Visitor.runs, server.cpu(), cpu_seconds(me), proxy_cpu(), time.perf_counter()
    gevent.sleep(seconds)
    elapsed = time.perf_counter() - began
    runs, cpu = Visitor.runs - runs0, server.cpu() - cpu0
    generator, proxy = (cpu_seconds(me) - gen0) / elapsed, (proxy_cpu() - proxy0) / elapsed
    load = os.getloadavg()[0]
    stats = {name: {"p50": entry.get_response_time_percentile(0.5) / 1000,
                    "p95": entry.get_response_time_percentile(0.95) / 1000,
                    "n": entry.num_requests, "errors": entry.num_failures}
             for (name, _), entry in env.stats.entries.items()}
    rss = server.rss()
    connections = getattr(server, "db_connections", lambda: None)()
    # Twice a 50-visitor step behind HAProxy never came back from locust's quit (one visitor's greenlet did not
    # stop; cause not found): the next step starts after 30 s whatever, and says so.
    quitter = gevent.spawn(runner.quit)
    quitter.join(timeout=30)
    if not quitter.dead:
        print(f"  ({runner.user_count} visitor(s) of the {users}-visitor step did not stop within 30 s; left behind)",
              flush=True)
    wait_idle(server)
    return {"users": users, "rss": max(rss), "rss_total": sum(rss), "stats": stats, "reruns_per_s": runs / elapsed,
            "cpu_per_rerun": cpu / runs if runs else None, "server_cores": cpu / elapsed, "generator_cores": generator,
            "proxy_cores": proxy, "load": load, "db_connections": connections, "errors": sum(s["errors"] for s in stats.values())}


# -- the run ------------------------------------------------------------------------------------------


def fixture_for(server: Server, path: Path, root: Path) -> Fixture:
    """The visit recorded for this code: the stored one if it replays to Chromium's answers, else a new
    recording (scripts/load/record.py)."""
    if path.exists():
        fixture = Fixture.load(path)
        problems = check_fixture(server, fixture)
        if not problems:
            return fixture
        print(f"{path.name} does not replay to what Chromium got, recording it again:\n  " + "\n  ".join(problems),
              flush=True)
    from scripts.load.record import Recorder, check, head, visit

    recorder = Recorder()
    visit(server.url, recorder)
    fixture = recorder.fixture(head(root))
    problems = check(server.url, fixture)
    if problems:
        raise SystemExit("The recorded messages do not replay to Chromium's result:\n" + "\n".join(problems))
    fixture.save(path)
    return fixture


def measure(label: str, root: Path, fixture_path: Path, args, env: dict | None = None) -> Target:
    print(f"\n== {label}: {root}", flush=True)
    with Server(root, env) as server:
        return measure_on(server, label, root, fixture_path, args, args.users, costs=True, env=env)


def measure_on(server, label: str, root: Path, fixture_path: Path, args, users: list[int], costs: bool,
               env: dict | None = None) -> Target:
    """The cost of a rerun (if `costs`) and the load steps on a running server (one process or Replicas)."""
    fixture = fixture_for(server, fixture_path, root)
    target = Target(label, root, fixture, env or {}, server.replicas)
    if costs:
        target.cpu = cost_per_rerun(server, fixture, args.repeats)
        for kind in MEASURED:
            cpu, runs = target.cpu.get(kind, (0.0, 0))
            print(f"  {kind:<10} {cpu / max(runs, 1):.3f} CPU-s per rerun ({runs} reruns)", flush=True)
    for n in users:
        step = load_step(server, fixture, n, args.seconds)
        target.steps.append(step)
        worst = max((s["p95"] for k, s in step["stats"].items() if k in MEASURED), default=0)
        print(f"  {n:>4} users: worst p95 {worst:.2f} s, {step['reruns_per_s']:.1f} reruns/s, {step['errors']} errors, "
              f"load generator {step['generator_cores']:.2f} cores, load average {step['load']:.1f}", flush=True)
    return target


def measure_replicas(root: Path, fixture_path: Path, args) -> list[Target]:
    """This checkout behind HAProxy with each of args.replicas processes in turn, on one shared state."""
    from scripts.load.replicas import Replicas, SharedState

    state = SharedState() if args.state == "postgres" else None
    targets = []
    try:
        if state is not None and not state.url:
            print(f"PostgreSQL unavailable, the replicas share the embedded state instead: {state.why}", flush=True)
        url = state.url if state else None
        for count in args.replicas:
            print(f"\n== this, {count} process(es) behind HAProxy; shared state: "
                  f"{state.label if state else 'embedded (SQLite, files)'}", flush=True)
            with Replicas(count, url) as server:
                # The cost of a rerun is one process's, whatever their number: measured once, on the first.
                targets.append(measure_on(server, f"this x{count}", root, fixture_path, args, args.users,
                                          costs=not targets))
    finally:
        if state is not None:
            state.stop()
    return targets


def held(target: Target) -> int:
    """The most visitors of a step in which every measured interaction was answered at least once, each
    with a p95 under P95_GOAL, and nothing failed (0: none). A kind never answered within the step (a
    server so far behind that no answer came) is not held."""
    ok = [s["users"] for s in target.steps
          if all(k in s["stats"] and s["stats"][k]["n"] and s["stats"][k]["p95"] < goal_of(target) for k in MEASURED)
          and not s["errors"]]
    return max(ok, default=0)


def goal_of(target: Target) -> float:
    return P95_GOAL_REPLICAS if target.replicas else P95_GOAL


def describe(target: Target) -> str:
    return f"{target.label} ({'1 process' if not target.replicas else f'{target.replicas} behind HAProxy'})"


def report(targets: list[Target]) -> str:
    costed = [t for t in targets if t.cpu]
    lines = ["", "CPU-seconds per rerun, one visitor (the portal process, user + system):",
             f"  {'interaction':<12}" + "".join(f"{t.label:>16}" for t in costed) + ("       ratio" if len(costed) == 2 else "")]
    for kind in MEASURED:
        cells = []
        for t in costed:
            cpu, runs = t.cpu.get(kind, (0.0, 0))
            cells.append(cpu / runs if runs else float("nan"))
        ratio = f"{cells[0] / cells[1]:>11.1f}x" if len(cells) == 2 and cells[1] > 0 else ""
        lines.append(f"  {kind:<12}" + "".join(f"{c:>16.3f}" for c in cells) + ratio)
    lines += ["", "Under load: p50/p95 response in seconds per interaction (-/- none answered within the step); reruns "
              "per second; the portal processes' CPU-s per rerun (summed over them); errors; the largest process's "
              "resident memory; the processor cores used by the portal processes, HAProxy and the load generator "
              "itself; the machine's load average (1 minute) at the end of the step; the connections the processes "
              "hold to PostgreSQL:"]
    for t in targets:
        lines.append(f"  {describe(t)}")
        for step in t.steps:
            cells = " ".join(f"{k} {step['stats'][k]['p50']:.2f}/{step['stats'][k]['p95']:.2f}"
                             if k in step["stats"] else f"{k} -/-" for k in MEASURED)
            worst = max((step["stats"][k]["p95"] for k in MEASURED if k in step["stats"]), default=float("nan"))
            cpu = f"{step['cpu_per_rerun']:.3f}" if step["cpu_per_rerun"] else "-"
            lines.append(f"    {step['users']:>4} users: worst p95 {worst:.2f} s | {cells} | {step['reruns_per_s']:.1f} "
                         f"reruns/s, {cpu} CPU-s/rerun, {step['errors']} errors, {step['rss']:.0f} MiB | cores: portal "
                         f"{step['server_cores']:.2f}, HAProxy {step['proxy_cores']:.2f}, load generator "
                         f"{step['generator_cores']:.2f} | load {step['load']:.1f}"
                         + (f" | PostgreSQL connections {step['db_connections']}" if step.get("db_connections") else ""))
    lines += ["", "Users held with every interaction's p95 under the goal and no error: "
              + ", ".join(f"{describe(t)} {held(t)} (p95 < {goal_of(t):g} s)" for t in targets)]
    return "\n".join(lines)


def _counts(text: str) -> list[int] | None:
    if text.strip().lower() in ("none", "0", ""):
        return None
    return [int(x) for x in text.split(",") if int(x) > 0]


def main(argv: list[str] | None = None) -> int:
    from core.settings import ROOT

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="7d36872", help="the baseline's commit (a temporary git worktree), one "
                                                       "process; 'none' for this checkout alone")
    parser.add_argument("--users", default="25,50,100", type=_counts)
    parser.add_argument("--replicas", default="1,2,4", type=_counts,
                        help="this checkout behind HAProxy with each number of processes in turn; 'none': one "
                             "process, no HAProxy, as the baseline")
    parser.add_argument("--state", choices=("postgres", "embedded"), default="postgres",
                        help="the replicas' shared state: a throwaway PostgreSQL cluster (the embedded state where "
                             "PostgreSQL is not installed), or the embedded one")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per step of users")
    parser.add_argument("--repeats", type=int, default=4, help="visits replayed for the cost of a rerun")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    targets = []
    if args.base != "none":
        where = worktree(args.base, base_tree(args.base))
        try:
            targets.append(measure(args.base, where, FIXTURES / f"{args.base.replace('/', '_')}.json", args))
        finally:
            remove_worktree(where)
    if args.replicas:
        try:
            targets += measure_replicas(ROOT, FIXTURES / "branch.json", args)
        except RuntimeError as e:  # HAProxy missing, or the processes did not start: said, and what was measured
            print(f"\n{e}", file=sys.stderr, flush=True)
            if not targets:
                return 2
    else:
        targets.append(measure("this", ROOT, FIXTURES / "branch.json", args))
    print(report(targets), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
