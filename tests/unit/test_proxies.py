"""The client address the sign-in throttle counts behind a reverse proxy (core.auth.proxies): from
X-Forwarded-For only as far as trusted proxies wrote it; forged, chained, IPv6 and garbage headers."""

import pytest

from core.auth.proxies import TRUSTED_PROXIES_ENV, TrustedProxies, client_address, trusted_proxies
from core.auth.throttle import Throttle, ThrottlePolicy, address_key

LOCAL = TrustedProxies.parse("127.0.0.1, ::1")
LB = TrustedProxies.parse("10.0.0.5 10.1.0.0/16,[2001:db8:ff::/48]")
NONE = TrustedProxies.parse("")


@pytest.mark.parametrize("peer, header, trusted, expected", [
    # no proxy trusted: the peer, whatever the header says (a visitor can send it)
    ("203.0.113.7", ["198.51.100.1"], NONE, "203.0.113.7"),
    (None, ["198.51.100.1"], NONE, None),  # Streamlit's loopback peer stays None
    # a peer that is not listed forges nothing either, though a proxy is trusted
    ("203.0.113.7", ["198.51.100.1"], LB, "203.0.113.7"),
    ("10.0.0.6", ["198.51.100.1"], LB, "10.0.0.6"),
    # the trusted proxy's client
    ("10.0.0.5", ["198.51.100.1"], LB, "198.51.100.1"),
    (None, ["198.51.100.1"], LOCAL, "198.51.100.1"),  # HAProxy on this machine
    ("::1", ["198.51.100.1"], LOCAL, "198.51.100.1"),
    # a visitor's forged entries sit left of the address the proxy appended: ignored
    (None, ["1.2.3.4, 5.6.7.8", "198.51.100.1"], LOCAL, "198.51.100.1"),
    (None, ["127.0.0.1, 198.51.100.1"], LOCAL, "198.51.100.1"),
    # chains: trusted hops are walked past, right to left, to the first untrusted one
    ("10.0.0.5", ["6.6.6.6, 198.51.100.1, 10.1.2.3"], LB, "198.51.100.1"),
    ("10.0.0.5", ["6.6.6.6, 198.51.100.1", "10.1.2.3, 10.1.9.9"], LB, "198.51.100.1"),
    # every hop trusted: the left-most is the client
    ("10.0.0.5", ["10.1.0.1, 10.1.2.3"], LB, "10.1.0.1"),
    # no header from a trusted peer: the peer (a direct local visit, a health check)
    ("10.0.0.5", [], LB, "10.0.0.5"),
    (None, [], LOCAL, None),
    # IPv6: canonical form, brackets and ports taken off, IPv4-mapped read as IPv4
    ("2001:db8:ff::10", ["2001:DB8:0:0::1"], LB, "2001:db8::1"),
    ("::ffff:10.0.0.5", ["[2001:db8::2]:443"], LB, "2001:db8::2"),
    ("10.0.0.5", ["::ffff:198.51.100.1"], LB, "198.51.100.1"),
    ("10.0.0.5", ["198.51.100.1:5120"], LB, "198.51.100.1"),
    ("10.0.0.5", ["::ffff:10.1.0.9, 198.51.100.1"], LB, "198.51.100.1"),
    # garbage where the walk needs an address: the hop that wrote it stands for the client
    ("10.0.0.5", ["unknown"], LB, "10.0.0.5"),
    ("10.0.0.5", ["198.51.100.1, 10.1.0.1, bogus"], LB, "10.0.0.5"),
    ("10.0.0.5", ["198.51.100.1, junk, 10.1.0.1"], LB, "10.1.0.1"),
    (None, [""], LOCAL, "127.0.0.1"),
    ("10.0.0.5", ["[2001:db8::1"], LB, "10.0.0.5"),
    ("10.0.0.5", ["999.1.1.1"], LB, "10.0.0.5"),
    # garbage left of the client's address changes nothing
    (None, ["<script>, ;;;, 300.0.0.1", "198.51.100.1"], LOCAL, "198.51.100.1"),
    # a peer that is no address (a unix socket) is not a trusted proxy
    ("unix:/run/portal.sock", ["198.51.100.1"], LB, "unix:/run/portal.sock"),
])
def test_the_client_address(peer, header, trusted, expected):
    assert client_address(peer, header, trusted) == expected


def test_a_guesser_behind_the_proxy_is_counted_apart_from_other_visitors():
    """Through a trusted proxy, two visitors have two throttle keys; a guesser who forges the header
    still gets the address the proxy saw, so forging a new one for every try does not escape the count."""
    throttle = Throttle(ThrottlePolicy(free_failures=1000, free_failures_per_address=3))
    for n in range(3):
        forged = [f"192.0.2.{n}", "198.51.100.66"]
        throttle.record_failure(f"guess{n}", client_address(None, forged, LOCAL))
    assert throttle.check("someone", client_address(None, ["198.51.100.66"], LOCAL)) > 0
    assert throttle.check("someone", client_address(None, ["198.51.100.67"], LOCAL)) == 0
    assert address_key(client_address(None, ["198.51.100.66"], LOCAL)) == "addr:198.51.100.66"


def test_the_setting_is_read_at_call_time(monkeypatch):
    monkeypatch.delenv(TRUSTED_PROXIES_ENV, raising=False)
    assert not trusted_proxies()
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "127.0.0.1,::1")
    assert client_address(None, ["198.51.100.1"], trusted_proxies()) == "198.51.100.1"


@pytest.mark.parametrize("value", ["localhost", "10.0.0.0/33", "10.0.0.1;10.0.0.2", "*"])
def test_a_malformed_setting_says_which_entry(value):
    with pytest.raises(ValueError, match=TRUSTED_PROXIES_ENV):
        TrustedProxies.parse(value)
