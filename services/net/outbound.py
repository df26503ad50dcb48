"""The SSRF guard: every outbound HTTP request to a user-controlled URL goes through here.

    check_allowed_address(host, address, allowlist)   refuse a private address unless it is allow-listed
    vet_url(url)                                      pre-flight: scheme, credentials, every resolved address
    guarded_client(timeout=, max_bytes=)              an httpx client whose every connection is vetted
    fetch(method, url, ...)                           one request, bounded in time and size

The check runs where the socket is opened (``_VettingBackend.connect_tcp``): the host is resolved
once, every address is checked, and the connection goes to one of those checked addresses, so a DNS
answer that changes between check and use (rebinding) cannot reach a private network. Redirects go
through the same transport, so every hop is checked again. TLS still verifies, and SNI and the
``Host`` header still name, the original host.

    OutboundRefused (ValidationFailed)              the URL, or an address it resolves to, is not allowed
    OutboundFailed (ServiceUnavailable)             the request did not complete; ``retryable`` says if worth retrying
    └── ResponseTooLarge                            the body passed the byte cap (not retryable)
    OutboundAllowlistInvalid (ServiceUnavailable)   OUTBOUND_ALLOWLIST has entries that cannot be read
"""

from __future__ import annotations

import asyncio
import ipaddress
import json as jsonlib
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Final, TypeAlias

import httpcore
import httpx

from services import errors
from services.settings import get_settings

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS: Final = 5
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_METADATA_ADDRESSES: Final = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_SHARED_NETWORK: Final = ipaddress.ip_network("100.64.0.0/10")
_NAT64_NETWORK: Final = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64_NETWORK: Final = ipaddress.ip_network("64:ff9b:1::/48")
_PRIVATE_HINT: Final = (
    "outbound requests to private networks are refused unless the host is listed in OUTBOUND_ALLOWLIST"
)
_METADATA_HINT: Final = "it is refused unless that exact address or host name is listed in OUTBOUND_ALLOWLIST"
_HOST_NAME: Final = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")


class OutboundRefused(errors.ValidationFailed):
    """The URL, or an address its host resolves to, may not be requested."""

    code = "outbound_refused"


class OutboundFailed(errors.ServiceUnavailable):
    """The request could not complete; ``retryable`` says whether trying again may help."""

    code = "outbound_failed"

    def __init__(self, message: str, *, retryable: bool, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable


class ResponseTooLarge(OutboundFailed):
    """The response body passed the byte cap; asking again will not make it smaller."""

    code = "response_too_large"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message, retryable=False, details=details)


class OutboundAllowlistInvalid(errors.ServiceUnavailable):
    """OUTBOUND_ALLOWLIST holds entries that are not host names, IP addresses or CIDR networks."""

    code = "outbound_allowlist_invalid"


# --- Addresses and the allowlist -------------------------------------------------------------


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


# --- URLs and resolution ---------------------------------------------------------------------


def _check_url_form(url: httpx.URL) -> None:
    """Refuse what no request may use: other schemes, credentials before the host, a missing host."""
    if url.scheme not in _DEFAULT_PORTS:
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


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundRefused(f"The URL is not valid: {exc}.", details={"field": "url"}) from exc
    _check_url_form(parsed)
    return parsed


async def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for *_, sockaddr in infos:
        found.setdefault(ipaddress.ip_address(str(sockaddr[0])), None)
    return list(found)


async def vet_url(url: str) -> httpx.URL:
    """Parse ``url`` and check it as a request would, returning the parsed URL.

    Refuses (OutboundRefused) anything but http and https, credentials before the host, and a host
    with any resolved address that check_allowed_address refuses; raises OutboundFailed
    (retryable) when the host cannot be resolved in time. This is a pre-flight answer only: send
    through guarded_client or fetch, which check again at connect time.
    """
    parsed = _parse_url(url)
    host = parsed.raw_host.decode("ascii")
    try:
        async with asyncio.timeout(get_settings().outbound_timeout_seconds):
            addresses = await _resolve(host, parsed.port or _DEFAULT_PORTS[parsed.scheme])
    except (OSError, TimeoutError) as exc:
        raise OutboundFailed(f"{host} could not be resolved; check the host name or try again later.",
                             retryable=True, details={"field": "url", "host": host}) from exc
    allowlist = current_allowlist()
    for address in addresses:
        check_allowed_address(host, address, allowlist)
    return parsed


# --- Transport -------------------------------------------------------------------------------


class _VettingBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses that passed check_allowed_address."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await _resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout} seconds") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved ({exc})") from exc
        allowlist = current_allowlist()
        for address in addresses:
            check_allowed_address(host, address, allowlist)
        failure: Exception = httpcore.ConnectError(f"{host} resolved to no address")
        for address in addresses:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
            try:
                # The vetted address, not the name: a second lookup could answer differently.
                return await self._inner.connect_tcp(
                    str(address), port, timeout=remaining, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport that vets every URL it sends and every address it connects to, and stops
    a response body once more than ``max_bytes`` raw bytes arrive (ResponseTooLarge)."""

    def __init__(self, *, max_bytes: int) -> None:
        # AsyncHTTPTransport.__init__ is skipped on purpose: it would build a pool on the default
        # network backend (no check at connect time) and may route through an environment proxy,
        # which would resolve the host itself. The parent's methods only use ``_pool``.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_VettingBackend(),
        )
        self._max_bytes = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _check_url_form(request.url)
        response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CappedStream(response.stream, max_bytes=self._max_bytes, host=request.url.host),
            extensions=response.extensions,
        )


class _CappedStream(httpx.AsyncByteStream):
    """A response stream that raises ResponseTooLarge once more than ``max_bytes`` have passed."""

    def __init__(self, inner: httpx.AsyncByteStream, *, max_bytes: int, host: str) -> None:
        self._inner = inner
        self._max_bytes = max_bytes
        self._host = host

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._inner:
            received += len(chunk)
            if received > self._max_bytes:
                raise _too_large(self._host, self._max_bytes)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _too_large(host: str, max_bytes: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"The response from {host} is larger than {max_bytes} bytes; request a smaller resource or raise "
        "OUTBOUND_MAX_BYTES.",
        details={"host": host, "max_bytes": max_bytes},
    )


def guarded_client(*, timeout: float | None = None, max_bytes: int | None = None) -> httpx.AsyncClient:
    """An httpx client that connects only to vetted addresses, on every redirect hop too.

    It follows at most 5 redirects, ignores proxy and credential settings from the environment,
    stops any body past ``max_bytes`` raw bytes, and gives each connect, read and write ``timeout``
    seconds (both default to the settings). Close it: ``async with guarded_client() as client``.
    """
    settings = get_settings()
    return httpx.AsyncClient(
        transport=GuardedTransport(max_bytes=settings.outbound_max_bytes if max_bytes is None else max_bytes),
        timeout=settings.outbound_timeout_seconds if timeout is None else timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
    )


# --- One request -----------------------------------------------------------------------------


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
    target = _parse_url(url)
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
        raise _too_large(response.url.host, max_bytes)


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body; the transport caps raw bytes, this caps what decompression makes of them."""
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(response.url.host, max_bytes)
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
