"""Retries end to end: the service's real delivery path (send → deliver → due again → deliver) with the real
channels against loopback peers that fail first: a webhook receiver answering 500, 429 with Retry-After or
too slowly, then 200; an SMTP relay answering 451, then accepting. Each retry carries the first attempt's
idempotency key (webhook header) or Message-ID (email), so the peer can tell it is the same message."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus
from models.user import User
from services.db import open_session
from services.notifications import delivery
from services.notifications import service as notifications
from services.notifications.channels.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature
from services.notifications.schemas import SendRequest, SendResult
from tests.fakes.http_peers import Answer, RecordingHTTPServer
from tests.fakes.smtp_server import FakeSMTPServer
from tests.unit.services.notifications.channels.conftest import SetEnv
from tests.unit.services.notifications.conftest import CountingQueue

SECRET = "s" * 40


async def _send(editor: User, channel: str, recipient: str) -> SendResult:
    async with open_session() as session:
        return await notifications.send(editor, SendRequest(channel=channel, recipient=recipient, subject="Run done",
                                                             message="Your report is ready."),
                                        session=session, queue=CountingQueue())


async def _row(result: SendResult) -> Delivery:
    async with open_session() as session:
        row = await session.get(Delivery, result.delivery_id)
        assert row is not None
        return row


async def _make_due(result: SendResult) -> None:
    async with open_session() as session:
        await session.exec(update(Delivery).where(col(Delivery.id) == result.delivery_id)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()


def _webhook(env: SetEnv, peer: RecordingHTTPServer, **extra: str) -> str:
    env(WEBHOOK_SIGNING_SECRET=SECRET, OUTBOUND_ALLOWLIST="127.0.0.1", **extra)
    return peer.url("/hook")


async def _fail_once_then_send(result: SendResult) -> tuple[Delivery, Delivery]:
    """Attempt 1 fails and is queued again; attempt 2, made due, succeeds. The row after each."""
    assert await delivery.deliver(result.delivery_id) is DeliveryStatus.QUEUED
    first = await _row(result)
    assert await delivery.deliver(result.delivery_id) is None  # not due before its scheduled time
    await _make_due(result)
    assert await delivery.deliver(result.delivery_id) is DeliveryStatus.SENT
    return first, await _row(result)


async def test_a_webhook_answering_500_is_retried_after_5_s_with_the_same_key(
        live_db: str, editor: User, http_peer: RecordingHTTPServer, channel_env: SetEnv) -> None:
    http_peer.answer_next(Answer(500, body=b"database is restarting"))
    result = await _send(editor, "webhook", _webhook(channel_env, http_peer))
    before = utcnow()

    first, final = await _fail_once_then_send(result)

    assert first.attempts == 1 and "HTTP 500" in (first.last_error or "")
    assert first.next_attempt_at is not None
    assert timedelta(seconds=5) <= first.next_attempt_at - before <= timedelta(seconds=6)  # Svix: 5 s (+ jitter)
    assert (final.status, final.attempts, final.last_error) == (DeliveryStatus.SENT, 2, None)
    assert final.response["status"] == 200
    keys = [request.headers[IDEMPOTENCY_HEADER.lower()] for request in http_peer.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert [request.json()["id"] for request in http_peer.requests] == keys
    for request in http_peer.requests:  # each attempt is signed afresh for its own timestamp
        verify_signature(SECRET, request.headers[SIGNATURE_HEADER.lower()], request.body)


async def test_a_webhook_answering_429_is_retried_no_sooner_than_its_retry_after(
        live_db: str, editor: User, http_peer: RecordingHTTPServer, channel_env: SetEnv) -> None:
    http_peer.answer_next(Answer(429, headers={"Retry-After": "120"}, body=b"slow down"))
    result = await _send(editor, "webhook", _webhook(channel_env, http_peer))
    before = utcnow()

    first, final = await _fail_once_then_send(result)

    assert "rate limiting" in (first.last_error or "")
    assert first.next_attempt_at is not None
    # the schedule's 5 s would be sooner: the peer's 120 s wins
    assert timedelta(seconds=120) <= first.next_attempt_at - before < timedelta(seconds=122)
    assert (final.status, final.attempts) == (DeliveryStatus.SENT, 2)
    keys = {request.headers[IDEMPOTENCY_HEADER.lower()] for request in http_peer.requests}
    assert len(http_peer.requests) == 2 and len(keys) == 1


async def test_a_webhook_that_times_out_is_retried_and_then_sent(
        live_db: str, editor: User, http_peer: RecordingHTTPServer, channel_env: SetEnv) -> None:
    http_peer.answer_next(Answer(200, delay=1.5))
    result = await _send(editor, "webhook", _webhook(channel_env, http_peer, NOTIFY_HTTP_TIMEOUT_SECONDS="0.3"))

    first, final = await _fail_once_then_send(result)

    assert "0.3 seconds" in (first.last_error or "")
    assert (final.status, final.attempts) == (DeliveryStatus.SENT, 2)
    keys = {request.headers[IDEMPOTENCY_HEADER.lower()] for request in http_peer.requests}
    assert len(http_peer.requests) == 2 and len(keys) == 1


async def test_an_smtp_451_is_retried_and_the_accepted_email_has_the_refused_ones_message_id(
        live_db: str, editor: User, smtp_server: FakeSMTPServer, channel_env: SetEnv) -> None:
    channel_env(SMTP_HOST=smtp_server.host, SMTP_PORT=str(smtp_server.port), SMTP_FROM="wf@example.com",
                SMTP_STARTTLS="false", SMTP_TIMEOUT_SECONDS="5")
    smtp_server.refuse_next(451, "4.3.0 Mailbox busy, try again later", at="data")
    result = await _send(editor, "email", "reader@example.com")

    first, final = await _fail_once_then_send(result)

    assert "451" in (first.last_error or "") and first.attempts == 1
    assert len(smtp_server.refused) == 1 and len(smtp_server.received) == 1
    refused, accepted = smtp_server.refused[0].message, smtp_server.received[0].message
    assert refused["Message-ID"] == accepted["Message-ID"] == final.provider_message_id
    assert accepted["Subject"] == "Run done" and accepted.get_content().strip() == "Your report is ready."
    assert (final.status, final.attempts) == (DeliveryStatus.SENT, 2)


async def test_an_smtp_550_is_not_retried(live_db: str, editor: User, smtp_server: FakeSMTPServer,
                                          channel_env: SetEnv) -> None:
    channel_env(SMTP_HOST=smtp_server.host, SMTP_PORT=str(smtp_server.port), SMTP_FROM="wf@example.com",
                SMTP_STARTTLS="false", SMTP_TIMEOUT_SECONDS="5")
    smtp_server.refuse_next(550, "5.1.1 No such mailbox", at="rcpt")
    result = await _send(editor, "email", "nobody@example.com")

    assert await delivery.deliver(result.delivery_id) is DeliveryStatus.FAILED
    row = await _row(result)
    assert (row.attempts, row.next_attempt_at) == (1, None) and "550" in (row.last_error or "")
    assert smtp_server.received == []
