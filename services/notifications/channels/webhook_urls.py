"""Checking a webhook URL given as a recipient (generic webhooks, Slack, Teams, Discord).

A URL must be https and, for a vendor, on the vendor's webhook host and path. A host listed in
OUTBOUND_ALLOWLIST (an operator's own relay, a loopback test server) passes with http or https on
any path. A literal private address is refused here already; host names are vetted again by the
SSRF guard when the request is sent.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import httpx

from services.net.outbound import OutboundAllowlist, OutboundRefused, check_allowed_address, current_allowlist
from services.notifications.channels.base import InvalidRecipient


@dataclass(frozen=True)
class VendorWebhook:
    """Where a vendor's incoming webhooks live: host patterns (``*.`` for any subdomain) and a path prefix."""

    display_name: str
    hosts: tuple[str, ...]
    path_prefix: str
    example: str

    def accepts(self, url: httpx.URL) -> bool:
        return any(_host_matches(url.host, pattern) for pattern in self.hosts) and url.path.startswith(
            self.path_prefix)


def checked_webhook_url(recipient: str, *, display_name: str, vendor: VendorWebhook | None = None) -> str:
    """``recipient`` as a URL this channel may post to; raises InvalidRecipient saying what is wrong."""
    url = _parse(recipient.strip(), display_name)
    allowlist = current_allowlist()
    if _allow_listed(url.host, allowlist):
        return str(url)
    if url.scheme != "https":
        raise _invalid(f"The {display_name} URL must start with https:// (hosts listed in OUTBOUND_ALLOWLIST "
                       "may use http).")
    if vendor is not None and not vendor.accepts(url):
        raise _invalid(f"This is not a {vendor.display_name} webhook URL; it looks like {vendor.example} "
                       "(another host must be listed in OUTBOUND_ALLOWLIST).")
    try:
        address = ipaddress.ip_address(url.host)
    except ValueError:
        return str(url)
    try:
        check_allowed_address(url.host, address, allowlist)
    except OutboundRefused as exc:
        raise _invalid(exc.message) from exc
    return str(url)


def _parse(text: str, display_name: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise _invalid(f"The {display_name} URL is not valid: {exc}.") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise _invalid(f"The {display_name} recipient must be a full https:// URL.")
    if url.userinfo:
        raise _invalid(f"The {display_name} URL carries a user name or password before the host; remove it.")
    return url


def _allow_listed(host: str, allowlist: OutboundAllowlist) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower().removesuffix(".") in allowlist.hosts
    return allowlist.permits(host, address)


def _host_matches(host: str, pattern: str) -> bool:
    host = host.lower().removesuffix(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _invalid(message: str) -> InvalidRecipient:
    return InvalidRecipient(message, details={"field": "recipient"})
