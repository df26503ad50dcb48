"""The SMS channel against a loopback server speaking Twilio's Messages API."""

from __future__ import annotations

import base64

import pytest

from services.notifications.channels.base import ChannelFailed, InvalidRecipient
from services.notifications.channels.sms import MAX_SMS_CHARS, SmsChannel
from tests.fakes.http_peers import Answer, RecordingHTTPServer
from tests.unit.services.notifications.channels.conftest import SetEnv, outgoing

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"


@pytest.fixture
def twilio(http_peer: RecordingHTTPServer, channel_env: SetEnv) -> RecordingHTTPServer:
    channel_env(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM="+15550001111",
                TWILIO_BASE_URL=http_peer.url(""))
    http_peer.default = Answer(201, json={"sid": "SM0001", "status": "queued"})
    return http_peer


async def test_sms_posts_the_form_with_basic_auth_and_returns_the_message_sid(twilio: RecordingHTTPServer) -> None:
    receipt = await SmsChannel().send(outgoing("+1 (555) 123-4567"))

    (request,) = twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": "+15551234567", "From": "+15550001111",
                              "Body": "Run finished\nYour report is ready."}
    assert receipt.provider_message_id == "SM0001"
    assert receipt.response == {"status": 201, "twilio_status": "queued"}


async def test_sms_without_subject_sends_only_the_text_and_cuts_it_to_twilios_limit(
        twilio: RecordingHTTPServer) -> None:
    await SmsChannel().send(outgoing("+15551234567", subject="", text="x" * 5000))

    body = twilio.requests[0].form()["Body"]
    assert len(body) == MAX_SMS_CHARS
    assert body.endswith("…")


async def test_twilios_error_message_and_code_are_passed_on_and_a_400_is_not_retried(
        twilio: RecordingHTTPServer) -> None:
    twilio.answer_next(Answer(400, json={"code": 21211, "message": "The 'To' number +15551234567 is not valid.",
                                         "status": 400}))

    with pytest.raises(ChannelFailed) as failed:
        await SmsChannel().send(outgoing("+15551234567"))

    assert failed.value.retryable is False
    assert failed.value.message == ("Twilio refused the message with HTTP 400: The 'To' number +15551234567 is not "
                                    "valid. (Twilio error 21211)")


@pytest.mark.parametrize("recipient", ["5551234567", "+0123456789", "+1555123456789012", "phone", "+1-800-FLOWERS"])
def test_a_number_not_in_e164_form_is_an_invalid_recipient(recipient: str) -> None:
    with pytest.raises(InvalidRecipient, match=r"E\.164"):
        SmsChannel().normalize_recipient(recipient)


async def test_without_twilio_settings_the_channel_says_it_is_not_configured(
        channel_env: SetEnv, http_peer: RecordingHTTPServer) -> None:
    channel = SmsChannel()
    assert channel.info().configured is False
    channel_env(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_BASE_URL=http_peer.url(""))
    assert channel.info().configured is False  # no sending number yet

    with pytest.raises(ChannelFailed, match="TWILIO_FROM") as failed:
        await channel.send(outgoing("+15551234567"))
    assert failed.value.retryable is False
    assert http_peer.requests == []
