"""Serve the portal from N processes behind HAProxy, on one port: `make serve REPLICAS=4`.

    python -m scripts.replicas [--replicas 4] [--port 8501] [--bind 0.0.0.0] [--replica-port 8502]
    python -m scripts.replicas --config-only --server 10.0.0.11:8501 --server 10.0.0.12:8501 [--port 80]

The first form starts N portal processes (scripts.serve, as `make run` starts one) on ports
replica-port .. replica-port+N-1 of 127.0.0.1, all with the same secrets and data directory (they inherit
this process's environment and read the same files), and HAProxy (Debian's `haproxy`) in front of them on
`port`: sticky sessions (a cookie), the least busy process for a new visitor, websockets, health checks
that tolerate a busy process, X-Forwarded-For, compression of the static files
(deploy/haproxy/haproxy.cfg.template). Ctrl-C (or SIGTERM) stops HAProxy, then every process.

The second form only prints the HAProxy configuration for portal processes on machines of your own
(README, "Serving many visitors").

What is shared between processes: the data (PORTAL_DATA_DIR), the secrets, users.yaml and the audit log
(one machine's files). What is not, until PORTAL_DATABASE_URL names a PostgreSQL database: the sign-in
throttle and the idle-session registry live in each process's memory; the script says so.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core.auth.proxies import TRUSTED_PROXIES_ENV, TrustedProxies
from core.settings import ROOT, MissingSecret, ckm_secret
from scripts.health import healthy

TEMPLATE = ROOT / "deploy" / "haproxy" / "haproxy.cfg.template"
STICKY_COOKIE = "portal_replica"
# HAProxy and the portal processes on this machine reach each other over loopback: the portal believes
# X-Forwarded-For from there (core/auth/proxies.py), unless the operator set PORTAL_TRUSTED_PROXIES.
LOCAL_PROXIES = "127.0.0.1, ::1"
INSTALL_HINT = ("HAProxy is not installed. On Debian or Ubuntu: sudo apt-get install haproxy "
                "(or set PORTAL_HAPROXY to the haproxy program).")
START_TIMEOUT = 180.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Upstream:
    """One portal process HAProxy sends visitors to."""
    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_server(value: str, index: int) -> Upstream:
    """HOST:PORT (or [v6]:PORT) of --server; ValueError with the reason."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--server takes HOST:PORT (e.g. 10.0.0.11:8501), not {value!r}")
    return Upstream(f"portal{index}", host, int(port))


def haproxy_config(upstreams: list[Upstream], *, bind: str = "0.0.0.0", port: int = 8501,
                   stats_port: int | None = None, maxconn: int = 4096, template: Path = TEMPLATE) -> str:
    """The HAProxy configuration for these portal processes: the template with its $-names filled in."""
    if not upstreams:
        raise ValueError("HAProxy needs at least one portal process to send visitors to")
    servers = "\n".join(f"    server {u.name} {u.address} cookie {u.name}" for u in upstreams)
    stats = "" if stats_port is None else (
        "\n# HAProxy's own page: each process's state, sessions and health checks (this machine only).\n"
        f"frontend stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /\n"
        "    stats refresh 5s\n")
    bind = f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind
    return string.Template(template.read_text(encoding="utf-8")).substitute(
        bind=bind, port=port, cookie=STICKY_COOKIE, servers=servers, stats=stats, maxconn=maxconn)


def with_loopback(trusted: str | None) -> str:
    """PORTAL_TRUSTED_PROXIES for the processes behind this script's HAProxy, which reaches them over
    loopback: the operator's list (a load balancer in front of this machine, say) and loopback."""
    trusted = (trusted or "").strip()
    if trusted and None in TrustedProxies.parse(trusted):  # loopback listed already
        return trusted
    return f"{trusted}, {LOCAL_PROXIES}" if trusted else LOCAL_PROXIES


def find_haproxy() -> str | None:
    wanted = os.environ.get("PORTAL_HAPROXY")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on the port (connections of a closed listener, in TIME_WAIT, do not count: HAProxy and
    uvicorn bind with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now (the system's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports of 127.0.0.1 (a cluster's processes take ports that follow
    one another)."""
    for _ in range(50):
        first = free_port()
        if first + count < 65536 and all(port_free(first + i) for i in range(count)):
            return first
    raise RuntimeError("no run of free ports")


def shared_state_warning(replicas: int, environ=os.environ) -> str | None:
    """What does not hold across processes while PORTAL_DATABASE_URL is unset, or None."""
    if replicas < 2 or environ.get("PORTAL_DATABASE_URL"):
        return None
    return (f"Warning: PORTAL_DATABASE_URL is not set, so each of the {replicas} processes keeps its own sign-in "
            "throttle (a guesser spread over them is slowed less) and its own idle-session registry (signing "
            "out ends the session on the process that served it; the others still accept the cookie until "
            "it expires). Set PORTAL_DATABASE_URL to a PostgreSQL database to share them.")


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _libc_prctl()  # looked up here, in the parent: a child between fork and exec only calls it


def _die_with_parent() -> None:
    """In a child, before exec: receive SIGTERM when this script dies, however it dies (Linux)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(command: list[str], log_path: Path, env: dict) -> subprocess.Popen:
    # Its own process group: a Ctrl-C reaches this script only, which stops HAProxy first, then the
    # portal processes, in that order.
    with log_path.open("ab") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                process_group=0, preexec_fn=_die_with_parent)


class Cluster:
    """The portal processes and HAProxy, started and stopped together."""

    def __init__(self, replicas: int, port: int, replica_port: int, bind: str, run_dir: Path,
                 haproxy: str, serve_args: list[str], stats_port: int | None = None, env: dict | None = None):
        self.run_dir = run_dir
        self.env = env or {}  # on top of this process's environment (the load tool's throwaway secrets, say)
        self.upstreams = [Upstream(f"portal{i + 1}", "127.0.0.1", replica_port + i) for i in range(replicas)]
        self.port, self.bind, self.haproxy, self.serve_args, self.stats_port = port, bind, haproxy, serve_args, stats_port
        self.replicas: list[subprocess.Popen] = []
        self.proxy: subprocess.Popen | None = None
        self.config_path = run_dir / "haproxy.cfg"

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::", "*") else self.bind
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self) -> None:
        base = {**os.environ, **self.env}
        env = {**base, "PYTHONUNBUFFERED": "1", TRUSTED_PROXIES_ENV: with_loopback(base.get(TRUSTED_PROXIES_ENV))}
        for u in self.upstreams:
            command = [sys.executable, "-m", "scripts.serve", f"--server.port={u.port}", "--server.address=127.0.0.1",
                       "--server.headless=true", *self.serve_args]
            self.replicas.append(_spawn(command, self.run_dir / f"{u.name}.log", env))
        self.config_path.write_text(haproxy_config(self.upstreams, bind=self.bind, port=self.port,
                                                   stats_port=self.stats_port), encoding="utf-8")
        check = subprocess.run([self.haproxy, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"HAProxy refuses {self.config_path}:\n{check.stdout}{check.stderr}")
        self._wait(lambda: all(healthy(f"http://{u.address}") for u in self.upstreams), "the portal processes")
        # -db: in the foreground, as a child of this script; -W would fork a master process.
        self.proxy = _spawn([self.haproxy, "-db", "-f", str(self.config_path)], self.run_dir / "haproxy.log", env)
        self._wait(lambda: healthy(self.url), "HAProxy")

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            failed = self.failed()
            if failed:
                raise RuntimeError(failed)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer within {START_TIMEOUT:.0f} s (logs in {self.run_dir})")
            time.sleep(0.3)  # processes starting up: nothing to wait on but their ports

    def failed(self) -> str | None:
        """Why the cluster cannot serve (HAProxy or every portal process gone), or None."""
        if self.proxy is not None and self.proxy.poll() is not None:
            return f"HAProxy stopped (exit {self.proxy.returncode}); its log: {self.run_dir / 'haproxy.log'}"
        gone = [u.name for u, p in zip(self.upstreams, self.replicas) if p.poll() is not None]
        if gone and (self.proxy is None or len(gone) == len(self.replicas)):
            return f"{', '.join(gone)} stopped; logs in {self.run_dir}"
        return None

    def stop(self) -> None:
        """HAProxy first (no new visitor reaches a stopping process), then the portal processes."""
        for group in ([self.proxy] if self.proxy else [], self.replicas):
            for p in group:
                if p.poll() is None:
                    p.terminate()
            deadline = time.monotonic() + STOP_TIMEOUT
            for p in group:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)

    def serve_forever(self) -> int:
        reported: set[str] = set()
        while True:
            failed = self.failed()
            if failed:
                print(failed, file=sys.stderr, flush=True)
                return 1
            for u, p in zip(self.upstreams, self.replicas):
                if p.poll() is not None and u.name not in reported:
                    reported.add(u.name)
                    print(f"{u.name} stopped (exit {p.returncode}); HAProxy sends its visitors to the others. "
                          f"Log: {self.run_dir / (u.name + '.log')}", file=sys.stderr, flush=True)
            time.sleep(1)  # supervising: a child's end has no event this loop could wait on with the others


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.replicas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS") or 2))
    parser.add_argument("--port", type=int, default=8501, help="HAProxy's port, the one visitors use")
    parser.add_argument("--bind", default="0.0.0.0", help="HAProxy's address (0.0.0.0: every interface)")
    parser.add_argument("--replica-port", type=int, help="the first portal process's port (default: port + 1)")
    parser.add_argument("--stats-port", type=int, help="HAProxy's statistics page on 127.0.0.1 at this port")
    parser.add_argument("--run-dir", type=Path, help="where the configuration and logs go (default: a new temporary dir)")
    parser.add_argument("--config-only", action="store_true",
                        help="print the HAProxy configuration for the --server processes and stop")
    parser.add_argument("--server", action="append", default=[], metavar="HOST:PORT",
                        help="with --config-only: a portal process on another machine (repeat for each)")
    args, serve_args = parser.parse_known_args(argv)

    if args.config_only:
        try:
            upstreams = [parse_server(s, i + 1) for i, s in enumerate(args.server)]
            print(haproxy_config(upstreams, bind=args.bind, port=args.port, stats_port=args.stats_port), end="")
        except ValueError as e:
            parser.error(str(e))
        return 0

    if not 1 <= args.replicas <= 64:
        parser.error(f"REPLICAS must be between 1 and 64, not {args.replicas}")
    replica_port = args.replica_port or args.port + 1
    haproxy = find_haproxy()
    if haproxy is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    try:  # the disclosure secret every process needs: read here once, so that its absence stops all of them
        ckm_secret()
    except MissingSecret as e:
        print(f"{e}\nEvery process reads the same secrets; `make serve` writes them when missing.", file=sys.stderr)
        return 2
    busy = [p for p in (args.port, *range(replica_port, replica_port + args.replicas), args.stats_port)
            if p and not port_free(p, "127.0.0.1")]
    if busy:
        print(f"Port(s) {', '.join(map(str, busy))} already in use: choose others with --port / --replica-port.",
              file=sys.stderr)
        return 2
    try:
        with_loopback(os.environ.get(TRUSTED_PROXIES_ENV))
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    warning = shared_state_warning(args.replicas)
    if warning:
        print(warning, file=sys.stderr, flush=True)

    from core.data.store import ensure_built

    ensure_built()  # once, here: N processes building the same files at once would race
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="portal-replicas-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(args.replicas, args.port, replica_port, args.bind, run_dir, haproxy, serve_args, args.stats_port)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (`cmd &`)
    try:
        print(f"Starting {args.replicas} portal process(es) on ports {replica_port}-{replica_port + args.replicas - 1} "
              f"and HAProxy on {args.port}; logs and configuration in {run_dir}", flush=True)
        cluster.start()
        print(f"Portal ready at {cluster.url} ({args.replicas} processes behind HAProxy). Ctrl-C stops it.", flush=True)
        return cluster.serve_forever()
    except RuntimeError as e:
        print(e, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("Stopping HAProxy and the portal processes...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM while stopping does not cut it short
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
