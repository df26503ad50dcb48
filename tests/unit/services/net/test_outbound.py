"""The SSRF guard: refused addresses and schemes, the allowlist, redirects, size and time limits.

Requests go to real HTTP servers on loopback addresses; nothing of ours is mocked.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services import errors
from services.net.outbound import (
    OutboundAllowlist,
    OutboundAllowlistInvalid,
    OutboundFailed,
    OutboundRefused,
    OutboundResponse,
    ResponseTooLarge,
    check_allowed_address,
    fetch,
    guarded_client,
    parse_allowlist,
    vet_url,
)
from services.settings import get_settings

NOTHING_ALLOWED = OutboundAllowlist()


class _Handler(BaseHTTPRequestHandler):
    """Routes: /hello, /echo, /redirect?to=URL, /loop, /declared-big, /streamed-big, /slow."""

    server: LoopbackServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def log_message(self, *_args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.server.paths.append(self.path)
        parts = urlsplit(self.path)
        try:
            if parts.path == "/hello":
                self._send(200, b"hello", "text/plain; charset=utf-8")
            elif parts.path == "/echo":
                received = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                echoed = {"method": self.command, "body": received.decode(),
                          "content_type": self.headers.get("Content-Type"), "host": self.headers.get("Host")}
                self._send(200, json.dumps(echoed).encode(), "application/json")
            elif parts.path in ("/redirect", "/loop"):
                self.send_response(302)
                self.send_header("Location", parse_qs(parts.query)["to"][0] if parts.path == "/redirect" else "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/declared-big":
                self._send(200, b"x" * 10_000, "application/octet-stream")
            elif parts.path == "/streamed-big":
                # No Content-Length: an HTTP/1.0 body that ends when the connection closes.
                self.send_response(200)
                self.end_headers()
                for _ in range(64):
                    self.wfile.write(b"y" * 1024)
            elif parts.path == "/slow":
                self.server.release.wait(10)
                self._send(200, b"late", "text/plain")
            else:
                self._send(404, b"no such route", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass  # The client stopped reading on purpose (size cap, timeout).

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class LoopbackServer(ThreadingHTTPServer):
    """A real HTTP/1.0 server on a loopback address that records the paths it was asked for."""

    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.host = host
        self.paths: list[str] = []
        self.release = threading.Event()

    def url(self, path: str, *, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.server_port}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@contextmanager
def _serving(host: str) -> Iterator[LoopbackServer]:
    with _running(LoopbackServer(host)) as server:
        yield server


@contextmanager
def _running(server: LoopbackServer) -> Iterator[LoopbackServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with _serving("127.0.0.1") as running:
        yield running


@pytest.fixture
def other_server() -> Iterator[LoopbackServer]:
    """A second server on 127.0.0.2: reachable, but not covered by an allowlist of 127.0.0.1."""
    try:
        bound = LoopbackServer("127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here")
    with _running(bound) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_allowlist(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OUTBOUND_ALLOWLIST", "DWC_OUTBOUND_ALLOWLIST"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("OUTBOUND_ALLOWLIST", raising=False)
    get_settings.cache_clear()


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Set OUTBOUND_ALLOWLIST for the rest of the test."""

    def apply(value: str) -> None:
        monkeypatch.setenv("OUTBOUND_ALLOWLIST", value)
        get_settings.cache_clear()

    return apply


# --- Check only: no connection is made ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://[::1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://127.1:8080/path",
        "https://LOCALHOST/",
    ],
)
async def test_loopback_in_any_spelling_is_refused_by_default(url: str) -> None:
    with pytest.raises(OutboundRefused, match="a loopback address; outbound requests to private networks"):
        await vet_url(url)


async def test_refusal_says_what_the_address_is_and_what_to_do() -> None:
    with pytest.raises(OutboundRefused) as refused:
        await vet_url("http://127.0.0.1/")
    assert refused.value.message == (
        "127.0.0.1 is a loopback address; outbound requests to private networks are refused unless "
        "the host is listed in OUTBOUND_ALLOWLIST."
    )
    assert refused.value.details == {"field": "url", "host": "127.0.0.1", "address": "127.0.0.1"}


@pytest.mark.parametrize(
    ("address", "described_as"),
    [
        ("10.1.2.3", "a private address"),
        ("192.168.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("169.254.169.254", "the cloud metadata address"),
        ("fd00:ec2::254", "the cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("fc00::1", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address (embedding 127.0.0.1)"),
        ("::ffff:169.254.169.254", "the cloud metadata address (embedding 169.254.169.254)"),
        ("64:ff9b::a00:1", "a private address (embedding 10.0.0.1)"),
        ("2002:c0a8:101::", "a private address (embedding 192.168.1.1)"),
    ],
)
def test_non_public_addresses_are_refused(address: str, described_as: str) -> None:
    parsed = ipaddress.ip_address(address)
    with pytest.raises(OutboundRefused, match=re.escape(f"internal.example resolves to {parsed}, {described_as};")):
        check_allowed_address("internal.example", parsed, NOTHING_ALLOWED)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    check_allowed_address("example.com", ipaddress.ip_address(address), NOTHING_ALLOWED)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("file:///etc/passwd", "not file URLs"),
        ("ftp://example.com/file", "not ftp URLs"),
        ("gopher://example.com/", "not gopher URLs"),
        ("example.com/path", "has no scheme"),
        ("http:///path", "has no host"),
    ],
)
async def test_only_http_and_https_urls_with_a_host_are_accepted(url: str, expected: str) -> None:
    with pytest.raises(OutboundRefused, match=expected):
        await vet_url(url)


async def test_credentials_before_the_host_are_refused_without_echoing_them() -> None:
    with pytest.raises(OutboundRefused, match="Authorization header") as refused:
        await vet_url("http://example.com:s3cret@127.0.0.1/")
    assert "s3cret" not in refused.value.message


def test_allowlist_reads_hosts_addresses_and_networks() -> None:
    allowlist = parse_allowlist(" 127.0.0.1, LocalHost. ,10.0.0.0/8,[::1],, api.internal ")
    assert allowlist.hosts == {"localhost", "api.internal"}
    assert allowlist.addresses == {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    assert allowlist.networks == (ipaddress.ip_network("10.0.0.0/8"),)
    assert parse_allowlist(" 127.0.0.1, LocalHost. ,10.0.0.0/8,[::1],, api.internal ") is allowlist
    check_allowed_address("API.internal.", ipaddress.ip_address("10.9.9.9"), allowlist)
    check_allowed_address("x.example", ipaddress.ip_address("::ffff:127.0.0.1"), allowlist)


def test_allowlist_names_every_entry_it_cannot_read() -> None:
    with pytest.raises(OutboundAllowlistInvalid) as invalid:
        parse_allowlist("127.0.0.1, 10.0.0.1/8, http://x.example, *.example.com, host:80, ok.example")
    message = invalid.value.message
    assert message.startswith("OUTBOUND_ALLOWLIST cannot be read:")
    for entry in ("'10.0.0.1/8'", "has host bits set", "'http://x.example'", "'*.example.com'", "'host:80'"):
        assert entry in message
    assert "'ok.example'" not in message and "'127.0.0.1'" not in message


async def test_an_unreadable_allowlist_stops_requests_with_a_clear_error(allow: Callable[[str], None]) -> None:
    allow("127.0.0.1, intranet:8080")
    with pytest.raises(OutboundAllowlistInvalid, match="'intranet:8080' is not a host name"):
        await vet_url("http://127.0.0.1/")


def test_a_network_entry_does_not_open_the_metadata_address() -> None:
    metadata = ipaddress.ip_address("169.254.169.254")
    with pytest.raises(OutboundRefused, match="unless that exact address or host name is listed"):
        check_allowed_address("169.254.169.254", metadata, parse_allowlist("169.254.0.0/16"))
    check_allowed_address("169.254.169.254", metadata, parse_allowlist("169.254.169.254"))
    check_allowed_address("169.254.1.1", ipaddress.ip_address("169.254.1.1"), parse_allowlist("169.254.0.0/16"))


# --- Real requests to loopback servers ----------------------------------------------------------


async def test_loopback_server_is_not_contacted_by_default(server: LoopbackServer) -> None:
    with pytest.raises(OutboundRefused, match="loopback"):
        await fetch("GET", server.url("/hello"))
    assert server.paths == []


@pytest.mark.parametrize(("entry", "host"), [("127.0.0.1", "127.0.0.1"), ("localhost", "localhost"),
                                             ("127.0.0.0/8", "127.0.0.1")])
async def test_allowlisted_loopback_target_is_fetched(
    server: LoopbackServer, allow: Callable[[str], None], entry: str, host: str
) -> None:
    allow(entry)
    response = await fetch("GET", server.url("/hello", host=host))
    assert isinstance(response, OutboundResponse)
    assert (response.status_code, response.body, response.text) == (200, b"hello", "hello")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.url == server.url("/hello", host=host)
    assert response.elapsed_ms > 0
    assert server.paths == ["/hello"]


async def test_json_and_raw_bodies_are_sent_with_the_original_host_header(
    server: LoopbackServer, allow: Callable[[str], None]
) -> None:
    allow("localhost")
    sent_json = (await fetch("post", server.url("/echo", host="localhost"), json={"a": 1})).json()
    assert sent_json["method"] == "POST" and json.loads(sent_json["body"]) == {"a": 1}
    assert sent_json["content_type"] == "application/json"
    assert sent_json["host"] == f"localhost:{server.server_port}"
    sent_raw = await fetch("POST", server.url("/echo", host="localhost"), content="plain words",
                           headers={"Content-Type": "text/plain"})
    assert sent_raw.json()["body"] == "plain words" and sent_raw.json()["content_type"] == "text/plain"


async def test_json_and_content_together_are_refused() -> None:
    with pytest.raises(errors.ValidationFailed, match="not both"):
        await fetch("POST", "https://example.com/", json={}, content=b"x")


async def test_a_body_that_is_not_json_says_so(server: LoopbackServer, allow: Callable[[str], None]) -> None:
    allow("127.0.0.1")
    response = await fetch("GET", server.url("/hello"))
    with pytest.raises(errors.ValidationFailed, match="is not valid JSON"):
        response.json()


async def test_redirect_within_the_allowlist_is_followed(server: LoopbackServer, allow: Callable[[str], None]) -> None:
    allow("127.0.0.1")
    response = await fetch("GET", server.url("/redirect?to=/hello"))
    assert response.status_code == 200 and response.url == server.url("/hello")


async def test_redirect_to_a_private_address_outside_the_allowlist_is_refused(
    server: LoopbackServer, other_server: LoopbackServer, allow: Callable[[str], None]
) -> None:
    allow("127.0.0.1")
    with pytest.raises(OutboundRefused, match=r"127\.0\.0\.2 is a loopback address"):
        await fetch("GET", server.url(f"/redirect?to={other_server.url('/hello')}"))
    assert server.paths == [f"/redirect?to={other_server.url('/hello')}"]
    assert other_server.paths == []


async def test_redirect_to_another_scheme_is_refused(server: LoopbackServer, allow: Callable[[str], None]) -> None:
    allow("127.0.0.1")
    with pytest.raises(OutboundRefused, match="not file URLs"):
        await fetch("GET", server.url("/redirect?to=file:///etc/passwd"))


async def test_more_than_five_redirects_fail_without_retry(
    server: LoopbackServer, allow: Callable[[str], None]
) -> None:
    allow("127.0.0.1")
    with pytest.raises(OutboundFailed, match="redirected more than 5 times") as failed:
        await fetch("GET", server.url("/loop"))
    assert failed.value.retryable is False
    assert len(server.paths) == 6


async def test_guarded_client_checks_at_connect_time_not_only_before(
    server: LoopbackServer, allow: Callable[[str], None]
) -> None:
    allow("127.0.0.1")
    await vet_url(server.url("/hello"))
    allow("")  # What passed a moment ago no longer does, as with a DNS answer that changes.
    async with guarded_client() as client:
        with pytest.raises(OutboundRefused, match="loopback"):
            await client.get(server.url("/hello", host="localhost"))
    assert server.paths == []


async def test_guarded_client_follows_redirects_through_the_guard(
    server: LoopbackServer, allow: Callable[[str], None]
) -> None:
    allow("127.0.0.1")
    async with guarded_client() as client:
        response = await client.get(server.url("/redirect?to=/hello"))
    assert response.status_code == 200 and response.text == "hello" and len(response.history) == 1


async def test_declared_size_over_the_cap_is_refused_early(
    server: LoopbackServer, allow: Callable[[str], None]
) -> None:
    allow("127.0.0.1")
    with pytest.raises(ResponseTooLarge, match="larger than 1024 bytes") as too_large:
        await fetch("GET", server.url("/declared-big"), max_bytes=1024)
    assert too_large.value.retryable is False
    head = await fetch("HEAD", server.url("/declared-big"), max_bytes=1024)
    assert head.status_code == 200 and head.body == b""


async def test_streamed_body_stops_at_the_cap(server: LoopbackServer, allow: Callable[[str], None]) -> None:
    allow("127.0.0.1")
    with pytest.raises(ResponseTooLarge, match="OUTBOUND_MAX_BYTES"):
        await fetch("GET", server.url("/streamed-big"), max_bytes=4096)
    assert len((await fetch("GET", server.url("/streamed-big"), max_bytes=64 * 1024)).body) == 64 * 1024


async def test_guarded_client_caps_bodies_too(server: LoopbackServer, allow: Callable[[str], None]) -> None:
    allow("127.0.0.1")
    async with guarded_client(max_bytes=4096) as client:
        with pytest.raises(ResponseTooLarge):
            await client.get(server.url("/streamed-big"))


async def test_slow_server_times_out_as_a_retryable_failure(
    server: LoopbackServer, allow: Callable[[str], None]
) -> None:
    allow("127.0.0.1")
    started = time.monotonic()
    with pytest.raises(OutboundFailed, match=r"did not answer within 0\.3 seconds") as failed:
        await fetch("GET", server.url("/slow"), timeout=0.3)
    assert failed.value.retryable is True
    assert not isinstance(failed.value, ResponseTooLarge)
    assert time.monotonic() - started < 3


async def test_refused_connection_is_a_retryable_failure(allow: Callable[[str], None]) -> None:
    allow("127.0.0.1")
    with _serving("127.0.0.1") as stopped:
        closed_url = stopped.url("/hello")
    with pytest.raises(OutboundFailed, match="could not be reached") as failed:
        await fetch("GET", closed_url)
    assert failed.value.retryable is True
