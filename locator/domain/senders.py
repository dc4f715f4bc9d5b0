"""Who sent a request, as the limits count it: a network, not an address (issue 16).

One address costs an attacker nothing (a whole IPv6 /64 is a free supply of them), so the limits
count sender groups: by default an IPv4 /24 or an IPv6 /48. People behind one shared connection
(a point's own Starlink, a mobile operator's NAT) are one group too: one signal, however many.
"""

from __future__ import annotations

import ipaddress

IPV4_GROUP_PREFIX = 24
IPV6_GROUP_PREFIX = 48


def client_ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address as an IP (an IPv4 address written as IPv6 is the IPv4 one), or None."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    return ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip


def sender_group(
    address: str | None, v4_prefix: int = IPV4_GROUP_PREFIX, v6_prefix: int = IPV6_GROUP_PREFIX
) -> str:
    """The network an address belongs to, as text ("203.0.113.0/24"); an IPv4 address written
    as IPv6 is the IPv4 one, and text that is no address is a group of its own."""
    ip = client_ip(address)
    if ip is None:
        return f"unknown:{address or ''}"
    prefix = v4_prefix if ip.version == 4 else v6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
