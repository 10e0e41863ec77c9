"""Who is asking: the address of the person behind a request, past our own proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from aiohttp import web

from web.http.keys import SERVICES

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: web.BaseRequest, trusted_proxies: tuple[str, ...]) -> str:
    """The peer's address; behind a trusted proxy, the right-most address of X-Forwarded-For
    that is not one of our proxies (what a client writes further left is not to be believed).
    Without this, every student behind the university's proxy would share one limit."""
    peer = request.remote or "unknown"
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    # Every X-Forwarded-For line, in order: a proxy may add its own line after the one the
    # client wrote, and the first line alone would be the client's invention.
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return peer


def request_ip(request: web.Request) -> str:
    """client_ip with the deployment's proxies."""
    return client_ip(request, request.app[SERVICES].config.trusted_proxies)


# One IPv6 subscriber gets a whole /64 (RFC 6177) and picks any address in it at will
# (privacy addresses rotate by themselves): counted per address, an IPv6 client would meet no
# per-address limit at all.
IPV6_SUBSCRIBER_PREFIX = 64


def sender(address: str) -> str:
    """What the per-address limits count an address as: IPv4 as it is (also when an IPv6
    socket reports it as ::ffff:a.b.c.d), IPv6 as its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_SUBSCRIBER_PREFIX), strict=False))
    return str(ip)


def request_sender(request: web.Request) -> str:
    """sender of request_ip: the key of the per-address limits."""
    return sender(request_ip(request))
