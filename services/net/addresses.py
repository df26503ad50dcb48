"""Which addresses outbound requests may reach: address classification and OUTBOUND_ALLOWLIST.

    resolve(host, port)                               every address a host name resolves to
    check_allowed_address(host, address, allowlist)   refuse a private address unless it is allow-listed
    parse_allowlist(raw) / current_allowlist()        read OUTBOUND_ALLOWLIST (given, or from the settings)

Nothing here opens a connection; the transport and ``vet_url`` call these before connecting.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, TypeAlias

import httpx

from services.net.outbound_errors import OutboundAllowlistInvalid, OutboundRefused
from services.settings import get_settings

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

_METADATA_ADDRESSES: Final = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_SHARED_NETWORK: Final = ipaddress.ip_network("100.64.0.0/10")
_NAT64_NETWORK: Final = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64_NETWORK: Final = ipaddress.ip_network("64:ff9b:1::/48")
_PRIVATE_HINT: Final = (
    "outbound requests to private networks are refused unless the host is listed in OUTBOUND_ALLOWLIST"
)
_METADATA_HINT: Final = "it is refused unless that exact address or host name is listed in OUTBOUND_ALLOWLIST"
_HOST_NAME: Final = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")


@dataclass(frozen=True)
class OutboundAllowlist:
    """Host names, addresses and networks that may be reached although they are private."""

    hosts: frozenset[str] = frozenset()
    addresses: frozenset[IPAddress] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    def permits(self, host: str, address: IPAddress, *, by_network: bool = True) -> bool:
        """True when ``host`` is listed (case-insensitive) or ``address`` is listed or, if ``by_network``,
        inside a listed network. An IPv4-mapped IPv6 address counts as its IPv4 address."""
        if _normal_host(host) in self.hosts:
            return True
        forms: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            forms.append(address.ipv4_mapped)
        return any(
            form in self.addresses or (by_network and any(form in network for network in self.networks))
            for form in forms
        )


@lru_cache(maxsize=8)
def parse_allowlist(raw: str) -> OutboundAllowlist:
    """Read an OUTBOUND_ALLOWLIST value: host names, IP addresses and CIDR networks separated by commas.

    Raises OutboundAllowlistInvalid naming every entry it cannot read. Results are cached per value.
    """
    hosts: set[str] = set()
    addresses: set[IPAddress] = set()
    networks: list[IPNetwork] = []
    problems: list[str] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        if "/" in entry:
            try:
                networks.append(ipaddress.ip_network(entry))
            except ValueError as exc:
                problems.append(f"{entry!r} is not a CIDR network ({exc})")
            continue
        try:
            addresses.add(ipaddress.ip_address(entry.removeprefix("[").removesuffix("]")))
            continue
        except ValueError:
            pass
        host = _canonical_host_entry(entry)
        if host is None:
            problems.append(f"{entry!r} is not a host name, IP address or CIDR network")
        else:
            hosts.add(host)
    if problems:
        raise OutboundAllowlistInvalid(
            f"OUTBOUND_ALLOWLIST cannot be read: {'; '.join(problems)}. List host names, IP addresses "
            "or CIDR networks separated by commas, without schemes, ports or wildcards.",
            details={"field": "OUTBOUND_ALLOWLIST", "problems": problems},
        )
    return OutboundAllowlist(frozenset(hosts), frozenset(addresses), tuple(networks))


def current_allowlist() -> OutboundAllowlist:
    """The allowlist configured in the settings (OUTBOUND_ALLOWLIST)."""
    return parse_allowlist(get_settings().outbound_allowlist)


def check_allowed_address(host: str, address: IPAddress, allowlist: OutboundAllowlist) -> None:
    """Return quietly when ``address`` (which ``host`` resolved to) may be connected to.

    Loopback, private, link-local, multicast, reserved, unspecified, shared (100.64/10) and other
    non-global addresses, and IPv6 forms embedding them, raise OutboundRefused with a sentence saying
    why, unless the host or address is allow-listed. The cloud metadata addresses pass only when the
    exact address or host name is listed: a CIDR entry does not open them.
    """
    kind = _blocked_kind(address)
    if kind is None:
        return
    metadata = _is_metadata(address)
    if allowlist.permits(host, address, by_network=not metadata):
        return
    subject = f"{host} is {kind}" if _normal_host(host) == str(address) else f"{host} resolves to {address}, {kind}"
    raise OutboundRefused(
        f"{subject}; {_METADATA_HINT if metadata else _PRIVATE_HINT}.",
        details={"field": "url", "host": host, "address": str(address)},
    )


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for *_, sockaddr in infos:
        found.setdefault(ipaddress.ip_address(str(sockaddr[0])), None)
    return list(found)


def _blocked_kind(address: IPAddress) -> str | None:
    """How a refused ``address`` is described, or None when it is a public address."""
    if address in _METADATA_ADDRESSES:
        return "the cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind = _blocked_kind(embedded)
            return None if kind is None else f"{kind} (embedding {embedded})"
        if address in _LOCAL_NAT64_NETWORK:
            return "a private address"
        if address.is_site_local:
            return "a site-local address"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED_NETWORK, "a shared (carrier-grade NAT) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public special-purpose address"),
    )
    return next((kind for blocked, kind in checks if blocked), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 address leads to, if it is one of those."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_metadata(address: IPAddress) -> bool:
    if address in _METADATA_ADDRESSES:
        return True
    return isinstance(address, ipaddress.IPv6Address) and _embedded_ipv4(address) in _METADATA_ADDRESSES


def _normal_host(host: str) -> str:
    return host.lower().removesuffix(".")


def _canonical_host_entry(entry: str) -> str | None:
    """``entry`` as httpx spells a URL host (IDNA, lower case), or None when it is not a host name."""
    if any(char in entry for char in ":/@?#[]* \t"):
        return None
    try:
        raw_host = httpx.URL(scheme="http", host=entry).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return None
    host = _normal_host(raw_host)
    return host if len(host) <= 253 and _HOST_NAME.fullmatch(host) else None
