"""Who is calling: the client's address behind trusted proxies, one rule for both APIs."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import hdrs, web

from gql_users.http.keys import SETTINGS

MAX_FORWARDED_FOR_LENGTH = 2048
"""Longer ``X-Forwarded-For`` values (all of the request's such headers together) are ignored."""

Address = IPv4Address | IPv6Address
Networks = Sequence[IPv4Network | IPv6Network]


def _parse_address(text: str) -> Address | None:
    """An IP address without port or zone (``fe80::1%eth0`` is refused: its zone is free text)."""
    if "%" in text:
        return None
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: Networks) -> bool:
    return any(address in network for network in proxies)


def client_address(request: web.Request) -> str | None:
    """The address of the client behind the request: the one place that decides it, for the
    login lockout (both APIs) and ``ip_address`` (docs/hardening.md#trusted-proxies).

    The socket peer, unless it is one of ``GQL_USERS_TRUSTED_PROXIES``: then the right-most
    ``X-Forwarded-For`` entry that is not itself a trusted proxy (the left-most when all are).
    A missing, malformed or overlong header leaves the peer. None when the peer is unknown.
    """
    # The peer's zone (a link-local peer's interface) is the kernel's, not the client's.
    peer = _parse_address(request.remote.split("%")[0]) if request.remote else None
    if peer is None:
        return None
    proxies = request.app[SETTINGS].trusted_proxies
    if not _trusted(peer, proxies):
        return str(peer)
    forwarded = ",".join(request.headers.getall(hdrs.X_FORWARDED_FOR, []))
    if not forwarded or len(forwarded) > MAX_FORWARDED_FOR_LENGTH:
        return str(peer)
    entries = forwarded.split(",")
    hops = [hop for hop in map(_parse_address, entries) if hop is not None]
    if len(hops) != len(entries):
        return str(peer)
    untrusted = [hop for hop in hops if not _trusted(hop, proxies)]
    return str(untrusted[-1] if untrusted else hops[0])
