"""Which URLs outbound requests may use: http or https, a host, and no credentials before it.

    parse_url(url)         parse and check a URL given as text
    check_url_form(url)    check an already parsed URL (the transport does, on every redirect hop)
"""

from __future__ import annotations

from typing import Final

import httpx

from services.net.outbound_errors import OutboundRefused

DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def check_url_form(url: httpx.URL) -> None:
    """Refuse what no request may use: other schemes, credentials before the host, a missing host."""
    if url.scheme not in DEFAULT_PORTS:
        got = f"not {url.scheme} URLs" if url.scheme else "and this URL has no scheme (start it with https://)"
        raise OutboundRefused(
            f"Only http and https URLs can be requested, {got}.", details={"field": "url", "scheme": url.scheme}
        )
    if url.userinfo:
        # Never echo the URL here: the part before the host is a secret.
        raise OutboundRefused(
            "The URL carries a user name or password before the host; send credentials in an "
            "Authorization header instead.",
            details={"field": "url"},
        )
    if not url.host:
        raise OutboundRefused("The URL has no host; give a full address such as https://example.com/path.",
                              details={"field": "url"})


def parse_url(url: str) -> httpx.URL:
    """``url`` parsed; OutboundRefused when it is not a valid URL or check_url_form refuses it."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundRefused(f"The URL is not valid: {exc}.", details={"field": "url"}) from exc
    check_url_form(parsed)
    return parsed
