"""scripts/replicas.py's HAProxy configuration (make serve REPLICAS=N): what the load balancer must do for the
portal, and, where HAProxy is installed, that HAProxy itself accepts it."""

import subprocess
from pathlib import Path

import pytest
import streamlit

from scripts.replicas import (
    STICKY_COOKIE,
    Upstream,
    find_haproxy,
    haproxy_config,
    main,
    parse_server,
    shared_state_warning,
    with_loopback,
)

UPSTREAMS = [Upstream("portal1", "127.0.0.1", 8502), Upstream("portal2", "127.0.0.1", 8503)]


def _lines(config: str) -> list[str]:
    return [line.split("#")[0].strip() for line in config.splitlines() if line.split("#")[0].strip()]


def _section(config: str, header: str) -> list[str]:
    """The lines of one section: from its header to the next line that is not indented."""
    found, inside = [], False
    for line in config.splitlines():
        code = line.split("#")[0].rstrip()
        if code and not line[0].isspace():
            inside = code == header
        elif inside and code:
            found.append(code.strip())
    return found


def test_the_proxy_sticks_each_visitor_to_a_process_and_checks_their_health():
    backend = _section(haproxy_config(UPSTREAMS), "backend portal")
    assert "balance leastconn" in backend
    assert any(line.startswith(f"cookie {STICKY_COOKIE} insert indirect nocache") for line in backend)
    assert "option httpchk GET /_stcore/health" in backend
    assert "server portal1 127.0.0.1:8502 cookie portal1" in backend
    assert "server portal2 127.0.0.1:8503 cookie portal2" in backend
    check = next(line for line in backend if line.startswith("default-server"))
    assert " check " in f"{check} " and "fall 5" in check  # a busy process is not taken out at its first slow answer
    assert "timeout check 10s" in backend


def test_the_proxy_keeps_websockets_open_compresses_static_files_and_forwards_the_address():
    config = haproxy_config(UPSTREAMS, bind="0.0.0.0", port=8080)
    frontend, backend = _section(config, "frontend portal"), _section(config, "backend portal")
    assert "bind 0.0.0.0:8080" in frontend
    assert "option forwardfor" in frontend
    assert "compression algo gzip deflate" in backend
    types = next(line for line in backend if line.startswith("compression type")).split()[2:]
    assert {"application/javascript", "text/javascript", "text/css", "application/json", "image/svg+xml"} <= set(types)
    assert "timeout tunnel 2h" in _section(config, "defaults")


def test_the_proxy_caches_streamlits_static_files_with_room_for_the_largest():
    config = haproxy_config(UPSTREAMS)
    backend = _section(config, "backend portal")
    assert "http-request cache-use static if { path_beg /static/ }" in backend  # never a page or the websocket
    assert "http-response cache-store static" in backend
    # the cache stores what a process answered, compression comes after it (the other way round, nothing
    # a browser asked for was ever stored)
    assert backend.index("filter cache static") < backend.index("filter compression")
    cache = dict(line.split(None, 1) for line in _section(config, "cache static"))
    shipped = Path(streamlit.__file__).parent / "static"
    largest = max(p.stat().st_size for p in shipped.rglob("*") if p.is_file())
    assert int(cache["max-object-size"]) > largest + 4096  # with its headers; larger objects are never cached
    assert int(cache["max-object-size"]) * 2 <= int(cache["total-max-size"]) * 1024 * 1024  # HAProxy's own rule


def test_the_configuration_for_machines_of_ones_own():
    servers = [parse_server("10.0.0.11:8501", 1), parse_server("[2001:db8::2]:8501", 2)]
    config = haproxy_config(servers, bind="::", port=80, stats_port=8404)
    assert "server portal2 [2001:db8::2]:8501 cookie portal2" in _lines(config)
    assert "bind [::]:80" in _lines(config)
    assert "bind 127.0.0.1:8404" in _section(config, "frontend stats")
    assert "stats" not in haproxy_config(servers)  # no statistics page unless asked
    for bad in ("10.0.0.11", "host:port", ":8501", "10.0.0.11:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_server(bad, 1)
    with pytest.raises(ValueError):
        haproxy_config([])


@pytest.mark.skipif(find_haproxy() is None, reason="HAProxy is not installed (apt-get install haproxy); CI installs it")
def test_haproxy_accepts_the_configuration(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config(UPSTREAMS, stats_port=8404), encoding="utf-8")
    check = subprocess.run([find_haproxy(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_script_warns_that_state_is_per_process_without_a_database():
    assert "PORTAL_DATABASE_URL" in shared_state_warning(4, {})
    assert shared_state_warning(4, {"PORTAL_DATABASE_URL": "postgresql:///portal"}) is None
    assert shared_state_warning(1, {}) is None


def test_without_haproxy_the_script_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PORTAL_HAPROXY", str(tmp_path / "no-haproxy"))
    assert main(["--replicas", "2", "--port", "8599"]) == 2
    assert "apt-get install haproxy" in capsys.readouterr().err


def test_config_only_prints_the_configuration(capsys):
    assert main(["--config-only", "--server", "10.0.0.11:8501", "--port", "8080"]) == 0
    assert "server portal1 10.0.0.11:8501 cookie portal1" in _lines(capsys.readouterr().out)


def test_the_processes_trust_their_haproxy_and_the_operators_proxies():
    assert with_loopback(None) == "127.0.0.1, ::1"
    assert with_loopback("10.0.0.5") == "10.0.0.5, 127.0.0.1, ::1"  # a load balancer in front of this machine
    assert with_loopback("127.0.0.0/8, 10.0.0.5") == "127.0.0.0/8, 10.0.0.5"
