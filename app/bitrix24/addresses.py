"""The public-address rule: where a portal that only the OAuth server vouched for may be connected to."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address, ip_network

IPAddress = IPv4Address | IPv6Address

# Never the internet, whatever the Python version's is_global says (IANA special-purpose registries):
# this network, private, carrier-grade NAT, loopback, link-local (169.254.169.254, the cloud metadata
# service), IETF protocol assignments, documentation, 6to4 relay anycast, benchmarking, multicast, reserved.
NOT_PUBLIC_V4 = tuple(
    ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
# Unspecified, loopback and IPv4-compatible (::/96 within ::/8), discard, IETF (Teredo, ORCHID), local
# NAT64, documentation, unique-local (fd00:ec2::254, the EC2 metadata service), link- and site-local,
# multicast.
NOT_PUBLIC_V6 = tuple(
    ip_network(n)
    for n in (
        "::/8",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
NAT64 = ip_network("64:ff9b::/96")
SIX_TO_FOUR = ip_network("2002::/16")


def parse(text: str) -> IPAddress | None:
    """An address as a resolver answers it (a scope id after % is dropped); None if it is none."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except (ValueError, AttributeError):
        return None


def is_public(text: str) -> bool:
    """Tell whether an address is on the public internet, looking through the IPv6 forms of IPv4."""
    address = parse(text)
    if address is None:
        return False
    embedded = embedded_ipv4(address) if isinstance(address, IPv6Address) else None
    if embedded is not None:
        return is_public(str(embedded))
    if isinstance(address, IPv4Address):
        return not any(address in net for net in NOT_PUBLIC_V4) and address.is_global
    return not any(address in net for net in NOT_PUBLIC_V6) and address.is_global


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR:
        return address.sixtofour
    return None
