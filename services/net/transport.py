"""The guarded httpx transport: every connection goes to a vetted address, every body is capped.

    GuardedTransport(max_bytes=)                 checks each request's URL, vets at connect time, caps bodies
    guarded_client(timeout=, max_bytes=)         an httpx client on that transport, following <= 5 redirects

The check runs where the socket is opened (``_VettingBackend.connect_tcp``): the host is resolved
once, every address is checked, and the connection goes to one of those checked addresses.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterable
from functools import cache
from typing import Any, Final

import httpcore
import httpx

from services.net.addresses import check_allowed_address, current_allowlist, resolve
from services.net.outbound_errors import too_large
from services.net.urls import check_url_form
from services.settings import get_settings

MAX_REDIRECTS: Final = 5


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
                addresses = await resolve(host, port)
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
        check_url_form(request.url)
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
                raise too_large(self._host, self._max_bytes)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


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
