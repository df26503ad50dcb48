"""The email channel against a real SMTP server (aiosmtpd) on loopback: headers, parts, SMTP failures."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from services.notifications.channels.base import ChannelFailed, InvalidRecipient
from services.notifications.channels.email import EmailChannel, message_id_for
from tests.fakes.smtp_server import FakeSMTPServer
from tests.processes import free_port
from tests.unit.services.notifications.channels.conftest import SetEnv, outgoing

SENDER = "Workflows <workflows@example.com>"


@pytest.fixture
def relay(smtp_server: FakeSMTPServer, channel_env: SetEnv) -> FakeSMTPServer:
    channel_env(SMTP_HOST=smtp_server.host, SMTP_PORT=str(smtp_server.port), SMTP_FROM=SENDER, SMTP_STARTTLS="false",
                SMTP_TIMEOUT_SECONDS="5")
    return smtp_server


def _only_message(relay: FakeSMTPServer) -> EmailMessage:
    assert len(relay.received) == 1
    return relay.received[0].message


async def test_email_arrives_with_headers_text_and_html_parts(relay: FakeSMTPServer) -> None:
    message = outgoing("User@Example.com", html="<p>Your <b>report</b> is ready.</p>",
                       metadata={"run_id": "run-42", "node_id": "notify-1"})

    receipt = await EmailChannel().send(message)

    received = relay.received[0]
    assert received.mail_from == "workflows@example.com"
    assert received.rcpt_tos == ["User@example.com"]
    email = _only_message(relay)
    assert email["From"] == SENDER
    assert email["To"] == "User@example.com"
    assert email["Subject"] == "Run finished"
    assert email["Message-ID"] == message_id_for("delivery-1", "workflows@example.com")
    assert receipt.provider_message_id == email["Message-ID"]
    assert email["X-DWC-Run-Id"] == "run-42"
    assert email["X-DWC-Node-Id"] == "notify-1"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email.get_content_type() == "multipart/alternative"
    text_part, html_part = email.get_body(("plain",)), email.get_body(("html",))
    assert text_part is not None and html_part is not None
    assert text_part.get_content().strip() == "Your report is ready."
    assert html_part.get_content().strip() == "<p>Your <b>report</b> is ready.</p>"
    assert receipt.response["reply"]


async def test_email_without_html_is_a_single_text_part(relay: FakeSMTPServer) -> None:
    await EmailChannel().send(outgoing("user@example.com"))

    email = _only_message(relay)
    assert email.get_content_type() == "text/plain"
    assert email.get_content().strip() == "Your report is ready."
    assert email["X-DWC-Run-Id"] is None


async def test_message_id_is_the_same_for_a_retry_and_differs_per_delivery(relay: FakeSMTPServer) -> None:
    channel = EmailChannel()
    await channel.send(outgoing("user@example.com", idempotency_key="delivery-7"))
    await channel.send(outgoing("user@example.com", idempotency_key="delivery-7"))
    await channel.send(outgoing("user@example.com", idempotency_key="delivery-8"))

    ids = [mail.message["Message-ID"] for mail in relay.received]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@example.com>")


async def test_line_breaks_in_the_subject_cannot_add_headers(relay: FakeSMTPServer) -> None:
    await EmailChannel().send(outgoing("user@example.com", subject="Hello\r\nBcc: victim@example.com"))

    email = _only_message(relay)
    assert email["Bcc"] is None
    assert email["Subject"] == "Hello Bcc: victim@example.com"


async def test_a_451_reply_is_retryable(relay: FakeSMTPServer) -> None:
    relay.refuse_next(451, "4.3.0 Try again later", at="data")

    with pytest.raises(ChannelFailed) as failed:
        await EmailChannel().send(outgoing("user@example.com"))

    assert failed.value.retryable is True
    assert "451" in failed.value.message
    assert relay.received == []


async def test_a_550_mailbox_unavailable_is_not_retryable(relay: FakeSMTPServer) -> None:
    relay.refuse_next(550, "5.1.1 Mailbox unavailable", at="rcpt")

    with pytest.raises(ChannelFailed) as failed:
        await EmailChannel().send(outgoing("nobody@example.com"))

    assert failed.value.retryable is False
    assert "550 5.1.1 Mailbox unavailable" in failed.value.message
    assert failed.value.details == {"smtp_code": 550}


async def test_a_server_that_does_not_answer_in_time_is_retryable(relay: FakeSMTPServer, channel_env: SetEnv) -> None:
    channel_env(SMTP_TIMEOUT_SECONDS="0.5")
    relay.delay_next(2)

    with pytest.raises(ChannelFailed) as failed:
        await EmailChannel().send(outgoing("user@example.com"))

    assert failed.value.retryable is True


async def test_an_unreachable_server_is_retryable(channel_env: SetEnv) -> None:
    channel_env(SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()), SMTP_FROM=SENDER, SMTP_STARTTLS="false")

    with pytest.raises(ChannelFailed) as failed:
        await EmailChannel().send(outgoing("user@example.com"))

    assert failed.value.retryable is True
    assert "127.0.0.1" in failed.value.message


@pytest.mark.parametrize("recipient", ["not-an-email", "user@", "@example.com", "a b@example.com", "user@@example.com"])
def test_an_invalid_address_is_refused_as_invalid_recipient(recipient: str) -> None:
    with pytest.raises(InvalidRecipient, match="is not a valid email address"):
        EmailChannel().normalize_recipient(recipient)


def test_an_address_is_normalized_without_a_dns_lookup() -> None:
    assert EmailChannel().normalize_recipient("  someone@Some-Domain-That-Does-Not-Exist.example  ") == (
        "someone@some-domain-that-does-not-exist.example")


async def test_without_a_relay_the_channel_says_it_is_not_configured(channel_env: SetEnv) -> None:
    channel = EmailChannel()
    assert channel.info().configured is False

    with pytest.raises(ChannelFailed, match="set SMTP_HOST and SMTP_FROM") as failed:
        await channel.send(outgoing("user@example.com"))
    assert failed.value.retryable is False

    channel_env(SMTP_HOST="smtp.example.com", SMTP_FROM=SENDER)
    assert channel.info().configured is True
