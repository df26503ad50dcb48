"""The SSRF guard: every outbound HTTP request to a user-controlled URL goes through here.

    check_allowed_address(host, address, allowlist)   refuse a private address unless it is allow-listed
    vet_url(url)                                      pre-flight: scheme, credentials, every resolved address
    guarded_client(timeout=, max_bytes=)              an httpx client whose every connection is vetted
    fetch(method, url, ...)                           one request, bounded in time and size

The check runs where the socket is opened (``transport._VettingBackend.connect_tcp``): the host is resolved
once, every address is checked, and the connection goes to one of those checked addresses, so a DNS
answer that changes between check and use (rebinding) cannot reach a private network. Redirects go
through the same transport, so every hop is checked again. TLS still verifies, and SNI and the
``Host`` header still name, the original host.

    OutboundRefused (ValidationFailed)              the URL, or an address it resolves to, is not allowed
    OutboundFailed (ServiceUnavailable)             the request did not complete; ``retryable`` says if worth retrying
    └── ResponseTooLarge                            the body passed the byte cap (not retryable)
    OutboundAllowlistInvalid (ServiceUnavailable)   OUTBOUND_ALLOWLIST has entries that cannot be read

This module is the public face: import everything above from here. The work is split as

    services.net.outbound_errors   the error classes
    services.net.addresses         address classification, OUTBOUND_ALLOWLIST, check_allowed_address, resolution
    services.net.urls              URL form: http(s) only, a host, no credentials before it
    services.net.transport         _VettingBackend, GuardedTransport (byte cap), guarded_client
    services.net.outbound          vet_url, fetch and how its failures are reported, OutboundResponse
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from services import errors
from services.net.addresses import (
    IPAddress,
    IPNetwork,
    OutboundAllowlist,
    check_allowed_address,
    current_allowlist,
    parse_allowlist,
    resolve,
)
from services.net.outbound_errors import (
    OutboundAllowlistInvalid,
    OutboundFailed,
    OutboundRefused,
    ResponseTooLarge,
    too_large,
)
from services.net.transport import MAX_REDIRECTS, GuardedTransport, guarded_client
from services.net.urls import DEFAULT_PORTS, parse_url
from services.settings import get_settings

__all__ = [
    "MAX_REDIRECTS",
    "GuardedTransport",
    "IPAddress",
    "IPNetwork",
    "OutboundAllowlist",
    "OutboundAllowlistInvalid",
    "OutboundFailed",
    "OutboundRefused",
    "OutboundResponse",
    "ResponseTooLarge",
    "check_allowed_address",
    "current_allowlist",
    "fetch",
    "guarded_client",
    "parse_allowlist",
    "vet_url",
]


async def vet_url(url: str) -> httpx.URL:
    """Parse ``url`` and check it as a request would, returning the parsed URL.

    Refuses (OutboundRefused) anything but http and https, credentials before the host, and a host
    with any resolved address that check_allowed_address refuses; raises OutboundFailed
    (retryable) when the host cannot be resolved in time. This is a pre-flight answer only: send
    through guarded_client or fetch, which check again at connect time.
    """
    parsed = parse_url(url)
    host = parsed.raw_host.decode("ascii")
    try:
        async with asyncio.timeout(get_settings().outbound_timeout_seconds):
            addresses = await resolve(host, parsed.port or DEFAULT_PORTS[parsed.scheme])
    except (OSError, TimeoutError) as exc:
        raise OutboundFailed(f"{host} could not be resolved; check the host name or try again later.",
                             retryable=True, details={"field": "url", "host": host}) from exc
    allowlist = current_allowlist()
    for address in addresses:
        check_allowed_address(host, address, allowlist)
    return parsed


@dataclass(frozen=True)
class OutboundResponse:
    """A completed response: any status, the whole body, the URL after redirects."""

    status_code: int
    headers: dict[str, str]
    body: bytes
    url: str
    elapsed_ms: float
    encoding: str = "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with the response's charset (UTF-8 when unknown), bad bytes replaced."""
        try:
            return self.body.decode(self.encoding, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ValidationFailed when it is not JSON."""
        try:
            return jsonlib.loads(self.body)
        except ValueError as exc:
            raise errors.ValidationFailed(f"The response body is not valid JSON ({exc}).",
                                          details={"field": "body"}) from exc


async def fetch(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    content: bytes | str | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 -- the public contract; applied with asyncio.timeout
    max_bytes: int | None = None,
) -> OutboundResponse:
    """Send one request through the guard and read the whole body.

    Follows up to 5 redirects, each hop checked; returns every HTTP status, 4xx and 5xx included.
    ``timeout`` bounds the whole exchange and ``max_bytes`` the body (both default to the settings).
    Raises OutboundRefused for a URL or address that is not allowed, ResponseTooLarge when the body
    (declared or received) is larger than ``max_bytes``, and OutboundFailed otherwise, retryable for
    timeouts and network errors.
    """
    if json is not None and content is not None:
        raise errors.ValidationFailed("Give a JSON body or raw content, not both.", details={"field": "body"})
    settings = get_settings()
    seconds = settings.outbound_timeout_seconds if timeout is None else timeout
    limit = settings.outbound_max_bytes if max_bytes is None else max_bytes
    target = parse_url(url)
    started = time.perf_counter()
    try:
        async with guarded_client(timeout=seconds, max_bytes=limit) as client, asyncio.timeout(seconds):
            request = client.build_request(method.upper(), target, headers=dict(headers or {}), json=json,
                                           content=content)
            response = await client.send(request, stream=True)
            try:
                _refuse_declared_size(response, limit)
                body = await _read_capped(response, limit)
            finally:
                await response.aclose()
    except TimeoutError as exc:
        raise _timed_out(target.host, seconds) from exc
    except httpx.HTTPError as exc:
        raise _failure(exc, target.host, seconds) from exc
    return OutboundResponse(
        status_code=response.status_code,
        headers={key.lower(): value for key, value in response.headers.items()},
        body=body,
        url=str(response.url),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        encoding=response.encoding or "utf-8",
    )


def _refuse_declared_size(response: httpx.Response, max_bytes: int) -> None:
    if response.request.method == "HEAD":
        return
    try:
        declared = int(response.headers.get("content-length", ""))
    except ValueError:
        return
    if declared > max_bytes:
        raise too_large(response.url.host, max_bytes)


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body; the transport caps raw bytes, this caps what decompression makes of them."""
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise too_large(response.url.host, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _timed_out(host: str, seconds: float) -> OutboundFailed:
    return OutboundFailed(f"{host} did not answer within {seconds:g} seconds; try again later or allow more time.",
                          retryable=True, details={"host": host, "timeout_seconds": seconds})


def _failure(exc: httpx.HTTPError, fallback_host: str, seconds: float) -> OutboundFailed:
    """The domain error for an httpx failure: timeouts and network errors are worth retrying."""
    try:
        host = exc.request.url.host
    except RuntimeError:
        host = fallback_host
    if isinstance(exc, httpx.TimeoutException):
        return _timed_out(host, seconds)
    if isinstance(exc, httpx.TooManyRedirects):
        return OutboundFailed(f"{host} redirected more than {MAX_REDIRECTS} times; use the final address instead.",
                              retryable=False, details={"host": host})
    if _caused_by_certificate(exc):
        return OutboundFailed(f"The TLS certificate of {host} could not be verified; the request was not sent.",
                              retryable=False, details={"host": host})
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return OutboundFailed(f"{host} could not be reached ({exc}); it may be down, try again later.",
                              retryable=True, details={"host": host})
    return OutboundFailed(f"The request to {host} failed ({exc}).", retryable=False, details={"host": host})


def _caused_by_certificate(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    for _ in range(8):  # httpx -> httpcore -> ssl is short; the bound only guards against cycles
        if cause is None:
            return False
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
