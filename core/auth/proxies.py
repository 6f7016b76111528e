"""The client's address behind a reverse proxy, for the sign-in throttle (core.auth.throttle).

Behind a load balancer every visitor connects from the proxy's address, so the throttle would count one
guesser's failures against everyone. The proxy says who its client was in X-Forwarded-For, but a visitor
can send that header too, with any address in it. So the header is believed only as far as it was
written by proxies the operator lists as trusted (PORTAL_TRUSTED_PROXIES: addresses and networks,
separated by commas or spaces, e.g. "127.0.0.1, ::1, 10.0.0.0/8"; empty by default):

* the direct peer is not trusted: the client is the peer, and X-Forwarded-For is ignored;
* it is trusted: walk X-Forwarded-For from the right (each proxy appends the address it saw); the first
  address that is not a trusted proxy is the client. Everything left of it was written by that client
  and may be forged. Every hop trusted: the left-most one is the client (a request from the proxies'
  own network);
* an entry that is not an address ("unknown", garbage) where the walk needs one: the hop that wrote it
  stands for the client. A guesser then shares that proxy's count, which slows them and others down,
  rather than escaping it.

Entries may carry a port ("192.0.2.1:5000", "[2001:db8::1]:443"); addresses come back in their
canonical form, an IPv4-mapped IPv6 address as IPv4.

Streamlit reports a loopback peer (127.0.0.1, ::1) as no address at all (st.context.ip_address is None):
`peer=None` stands for it here, trusted when the list holds a loopback address. An untrusted loopback
peer comes back as None, as before.

The portal process is the one place that reads the header: scripts/serve.py turns off uvicorn's own
X-Forwarded-For handling (FORWARDED_ALLOW_IPS, which trusts loopback by default), which would otherwise
rewrite the peer before the portal sees it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from functools import lru_cache

TRUSTED_PROXIES_ENV = "PORTAL_TRUSTED_PROXIES"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


class TrustedProxies:
    """A set of proxy addresses and networks; `address in proxies` for a parsed address."""

    def __init__(self, networks: Iterable[Network] = ()):
        self.networks = tuple(networks)

    def __contains__(self, address: Address | None) -> bool:
        if address is None:  # a loopback peer, as Streamlit reports it
            return any(a in self for a in LOOPBACK)
        return any(address.version == n.version and address in n for n in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({', '.join(map(str, self.networks))})"

    @classmethod
    def parse(cls, value: str | None) -> TrustedProxies:
        """From PORTAL_TRUSTED_PROXIES' syntax; ValueError naming the entry that is neither an address
        nor a network."""
        networks = []
        for item in (value or "").replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                raise ValueError(f"{TRUSTED_PROXIES_ENV} must list proxy addresses or networks (e.g. "
                                 f"127.0.0.1, ::1, 10.0.0.0/8), separated by commas; {item!r} is neither") from None
        return cls(networks)


@lru_cache(maxsize=8)
def _parsed(value: str) -> TrustedProxies:
    return TrustedProxies.parse(value)


def trusted_proxies() -> TrustedProxies:
    """The proxies PORTAL_TRUSTED_PROXIES lists (read at call time; ValueError when it is malformed)."""
    return _parsed(os.environ.get(TRUSTED_PROXIES_ENV, ""))


def parse_address(value: str | None) -> Address | None:
    """An address from a peer or an X-Forwarded-For entry, port and brackets taken off; IPv4-mapped IPv6
    as IPv4; None when it is not an address."""
    value = (value or "").strip().strip('"')
    if value.startswith("["):  # [v6] or [v6]:port
        end = value.find("]")
        if end == -1 or (value[end + 1:] and not value[end + 1:end + 2] == ":"):
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_chain(headers: Iterable[str]) -> list[str]:
    """The entries of one or more X-Forwarded-For header lines, in order (several lines read as one list
    joined by commas, as HTTP says)."""
    return [item.strip() for line in headers for item in line.split(",")]


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: TrustedProxies) -> str | None:
    """The address the throttle counts: the right-most untrusted address of X-Forwarded-For when the
    direct `peer` is a trusted proxy, else the peer itself (None for loopback, as Streamlit gives it).
    `forwarded_for`: the X-Forwarded-For header lines as received."""
    hop = parse_address(peer) if peer is not None else None
    chain = forwarded_chain(forwarded_for)
    if (peer is not None and hop is None) or hop not in trusted or not chain:
        return peer
    last = str(hop or LOOPBACK[0])
    for entry in reversed(chain):
        address = parse_address(entry)
        if address is None:  # written by the trusted hop `last`; it stands for the client
            return last
        last = str(address)
        if address not in trusted:
            return last
    return last
