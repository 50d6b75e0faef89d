"""The caller's address: the socket's, or X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import ipaddress

from forge.config import IPNetwork


def _trusted(address: str, proxies: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def resolve(socket_ip: str, forwarded_for: str | None, proxies: tuple[IPNetwork, ...]) -> str:
    """Walk X-Forwarded-For from the right, skipping trusted hops; the first other one is the
    client. Entries a client could have forged (left of an untrusted hop) are never believed."""
    if not forwarded_for or not _trusted(socket_ip, proxies):
        return socket_ip
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return socket_ip
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else socket_ip
