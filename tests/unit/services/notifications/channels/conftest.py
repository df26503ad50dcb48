"""Loopback peers for the channels (an SMTP server, a recording HTTP server) and channel settings per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.notifications.channels.base import OutgoingMessage
from tests.fakes.http_peers import RecordingHTTPServer
from tests.fakes.smtp_server import FakeSMTPServer
from tests.settings_env import SetEnv, settings_env

_CHANNEL_SETTINGS = ("SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_STARTTLS",
                     "SMTP_TIMEOUT_SECONDS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM",
                     "TWILIO_BASE_URL", "NTFY_BASE_URL", "NTFY_TOKEN", "WEBHOOK_SIGNING_SECRET", "OUTBOUND_ALLOWLIST",
                     "NOTIFY_HTTP_TIMEOUT_SECONDS")


@pytest.fixture(autouse=True)
def channel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetEnv]:
    """``channel_env(SMTP_HOST="...")`` sets channel settings for one test; none are set before."""
    yield from settings_env(monkeypatch, _CHANNEL_SETTINGS)


@pytest.fixture(scope="session")
def _http_peer_process() -> Iterator[RecordingHTTPServer]:
    with RecordingHTTPServer() as server:
        yield server


@pytest.fixture
def http_peer(_http_peer_process: RecordingHTTPServer) -> Iterator[RecordingHTTPServer]:
    """The shared loopback HTTP server, with nothing recorded and nothing programmed."""
    _http_peer_process.reset()
    yield _http_peer_process
    _http_peer_process.reset()


@pytest.fixture(scope="session")
def _smtp_server_process() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def smtp_server(_smtp_server_process: FakeSMTPServer) -> Iterator[FakeSMTPServer]:
    """The shared loopback SMTP server, with nothing received and nothing programmed."""
    _smtp_server_process.reset()
    yield _smtp_server_process
    _smtp_server_process.reset()


def outgoing(recipient: str, **fields: object) -> OutgoingMessage:
    """A message to ``recipient`` with a subject, a text and an idempotency key unless given."""
    values: dict[str, object] = {"subject": "Run finished", "text": "Your report is ready.",
                                 "idempotency_key": "delivery-1", **fields}
    return OutgoingMessage.model_validate({"recipient": recipient, **values})
