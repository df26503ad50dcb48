"""The push channel against a loopback server standing in for ntfy."""

from __future__ import annotations

import base64

import pytest

from services.notifications.channels.base import ChannelFailed, InvalidRecipient
from services.notifications.channels.push import PushChannel
from tests.fakes.http_peers import Answer, RecordingHTTPServer
from tests.unit.services.notifications.channels.conftest import SetEnv, outgoing


@pytest.fixture
def ntfy(http_peer: RecordingHTTPServer, channel_env: SetEnv) -> RecordingHTTPServer:
    channel_env(NTFY_BASE_URL=http_peer.url("/"), NTFY_TOKEN="tk_push_token")
    http_peer.default = Answer(200, json={"id": "hwQ2YpKdmg", "event": "message", "topic": "alerts"})
    return http_peer


async def test_push_publishes_the_text_to_the_topic_with_title_priority_tags_and_token(
        ntfy: RecordingHTTPServer) -> None:
    message = outgoing("alerts", priority="urgent", metadata={"tags": ["warning", "robot"], "category": "runs"})

    receipt = await PushChannel().send(message)

    (request,) = ntfy.requests
    assert (request.method, request.path) == ("POST", "/alerts")
    assert request.body == b"Your report is ready."
    assert request.headers["title"] == "Run finished"
    assert request.headers["priority"] == "5"
    assert request.headers["tags"] == "warning,robot,runs"
    assert request.headers["authorization"] == "Bearer tk_push_token"
    assert receipt.provider_message_id == "hwQ2YpKdmg"


async def test_a_title_that_is_not_ascii_is_sent_as_an_encoded_word(ntfy: RecordingHTTPServer,
                                                                    channel_env: SetEnv) -> None:
    channel_env(NTFY_TOKEN="")
    await PushChannel().send(outgoing("alerts", subject="Bericht für Müller ✓", priority="low"))

    headers = ntfy.requests[0].headers
    encoded = headers["title"]
    assert encoded.startswith("=?utf-8?b?") and encoded.endswith("?=")
    assert base64.b64decode(encoded[len("=?utf-8?b?"):-2]).decode() == "Bericht für Müller ✓"
    assert headers["priority"] == "2"
    assert "authorization" not in headers


@pytest.mark.parametrize("topic", ["", "has space", "slash/topic", "x" * 65, "ünïcode"])
def test_a_topic_ntfy_would_not_accept_is_an_invalid_recipient(topic: str) -> None:
    with pytest.raises(InvalidRecipient, match="is not an ntfy topic"):
        PushChannel().normalize_recipient(topic)


async def test_without_ntfy_base_url_the_channel_says_it_is_not_configured() -> None:
    channel = PushChannel()
    assert channel.info().configured is False
    with pytest.raises(ChannelFailed, match="set NTFY_BASE_URL"):
        await channel.send(outgoing("alerts"))
