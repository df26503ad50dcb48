"""The webhook channel: signed JSON to a loopback receiver, signature checks, and the SSRF guard."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr, ValidationError

from services.notifications.channels.base import ChannelFailed, InvalidRecipient
from services.notifications.channels.webhook import (
    WebhookChannel,
    WebhookSignatureInvalid,
    signature_header,
    verify_signature,
)
from services.settings import Settings
from tests.fakes.http_peers import RecordingHTTPServer
from tests.unit.services.notifications.channels.conftest import SetEnv, outgoing

SECRET = "whsec-test-0123456789-abcdefghijklmnop"


@pytest.fixture
def receiver(http_peer: RecordingHTTPServer, channel_env: SetEnv) -> RecordingHTTPServer:
    channel_env(WEBHOOK_SIGNING_SECRET=SECRET, OUTBOUND_ALLOWLIST="127.0.0.1")
    return http_peer


async def test_webhook_posts_signed_json_with_the_idempotency_key(receiver: RecordingHTTPServer) -> None:
    message = outgoing(receiver.url("/hook"), html="<p>ready</p>", priority="high", metadata={"run_id": "run-42"})

    receipt = await WebhookChannel().send(message)

    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-dwc-idempotency-key"] == "delivery-1"
    assert request.json() == {"id": "delivery-1", "type": "notification", "subject": "Run finished",
                              "text": "Your report is ready.", "html": "<p>ready</p>", "priority": "high",
                              "metadata": {"run_id": "run-42"}}
    verify_signature(SECRET, request.headers["x-dwc-signature"], request.body)
    assert receipt.response == {"status": 200, "body": "ok"}


async def test_a_tampered_body_or_another_secret_fails_verification(receiver: RecordingHTTPServer) -> None:
    await WebhookChannel().send(outgoing(receiver.url("/hook")))
    request = receiver.requests[0]
    header = request.headers["x-dwc-signature"]

    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_signature(SECRET, header, request.body.replace(b"ready", b"READY"))
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_signature("another-secret-" + "x" * 32, header, request.body)


def test_a_stale_or_future_timestamp_is_refused_as_a_replay() -> None:
    body = b'{"id":"d1"}'
    signed_at = int(time.time()) - 301
    header = signature_header(SECRET, body, timestamp=signed_at)

    with pytest.raises(WebhookSignatureInvalid, match="may be a replay"):
        verify_signature(SECRET, header, body)
    verify_signature(SECRET, header, body, tolerance_seconds=600)
    with pytest.raises(WebhookSignatureInvalid, match="may be a replay"):
        verify_signature(SECRET, header, body, now=signed_at - 301)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=123", "t=abc,v1=def", "sha256=abc"])
def test_a_malformed_signature_header_is_refused(header: str) -> None:
    with pytest.raises(WebhookSignatureInvalid, match="must look like"):
        verify_signature(SECRET, header, b"{}")


def test_any_matching_v1_signature_passes_so_secrets_can_rotate() -> None:
    now = int(time.time())
    old = signature_header("old-secret-" + "y" * 32, b"{}", timestamp=now).split(",")[1]
    header = f"{signature_header(SECRET, b'{}', timestamp=now)},{old}"
    verify_signature(SECRET, header, b"{}")
    verify_signature("old-secret-" + "y" * 32, header, b"{}")


async def test_a_host_resolving_to_loopback_is_refused_without_contacting_it(
        http_peer: RecordingHTTPServer, channel_env: SetEnv) -> None:
    channel_env(WEBHOOK_SIGNING_SECRET=SECRET)

    with pytest.raises(ChannelFailed, match="OUTBOUND_ALLOWLIST") as failed:
        await WebhookChannel().send(outgoing(f"https://localhost:{http_peer.port}/hook"))

    assert failed.value.retryable is False
    assert http_peer.requests == []


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest",
                                 "https://[::1]/hook"])
def test_a_literal_private_address_is_an_invalid_recipient(url: str) -> None:
    with pytest.raises(InvalidRecipient, match="OUTBOUND_ALLOWLIST"):
        WebhookChannel().normalize_recipient(url)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://example.com/hook", "must start with https://"),
    ("ftp://example.com/hook", "full https:// URL"),
    ("example.com/hook", "full https:// URL"),
    ("https://user:pass@example.com/hook", "user name or password"),
])
def test_a_url_that_is_not_plain_https_is_an_invalid_recipient(url: str, reason: str) -> None:
    with pytest.raises(InvalidRecipient, match=reason):
        WebhookChannel().normalize_recipient(url)


async def test_without_a_signing_secret_the_channel_says_it_is_not_configured(http_peer: RecordingHTTPServer,
                                                                              channel_env: SetEnv) -> None:
    channel_env(OUTBOUND_ALLOWLIST="127.0.0.1")
    channel = WebhookChannel()
    assert channel.info().configured is False

    with pytest.raises(ChannelFailed, match="set WEBHOOK_SIGNING_SECRET"):
        await channel.send(outgoing(http_peer.url("/hook")))
    assert http_peer.requests == []


def test_a_short_signing_secret_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SIGNING_SECRET must be at least 32"):
        Settings(webhook_signing_secret=SecretStr("too-short"))
