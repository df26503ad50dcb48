"""Every HTTP channel maps the peer's answers the same way: 429/5xx/timeouts retry, other 4xx do not.

One table of channels, one set of behaviours: each row configures a channel to send to the loopback peer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from services.notifications.channels.base import Channel, ChannelFailed
from services.notifications.channels.discord import DiscordChannel
from services.notifications.channels.push import PushChannel
from services.notifications.channels.slack import SlackChannel
from services.notifications.channels.sms import SmsChannel
from services.notifications.channels.teams import TeamsChannel
from services.notifications.channels.webhook import WebhookChannel
from tests.fakes.http_peers import Answer, RecordingHTTPServer
from tests.processes import free_port
from tests.unit.services.notifications.channels.conftest import SetEnv, outgoing


@dataclass(frozen=True)
class HttpChannelCase:
    channel: type[Channel]
    configure: Callable[[SetEnv, str], str]  # sets the channel's settings for a peer at base URL; returns recipient

    def __str__(self) -> str:
        return self.channel.name


def _sms(env: SetEnv, base: str) -> str:
    env(TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="token", TWILIO_FROM="+15550001111",
        TWILIO_BASE_URL=base)
    return "+15551234567"


def _push(env: SetEnv, base: str) -> str:
    env(NTFY_BASE_URL=base)
    return "alerts"


def _webhook(env: SetEnv, base: str) -> str:
    env(WEBHOOK_SIGNING_SECRET="s" * 40, OUTBOUND_ALLOWLIST="127.0.0.1")
    return f"{base}/hook"


def _chat(env: SetEnv, base: str) -> str:
    env(OUTBOUND_ALLOWLIST="127.0.0.1")
    return f"{base}/hook"


CASES = [HttpChannelCase(SmsChannel, _sms), HttpChannelCase(PushChannel, _push),
         HttpChannelCase(WebhookChannel, _webhook), HttpChannelCase(SlackChannel, _chat),
         HttpChannelCase(TeamsChannel, _chat), HttpChannelCase(DiscordChannel, _chat)]


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> HttpChannelCase:
    case: HttpChannelCase = request.param
    return case


async def _send(case: HttpChannelCase, env: SetEnv, base: str) -> None:
    recipient = case.configure(env, base)
    await case.channel().send(outgoing(recipient))


async def test_a_2xx_answer_is_a_receipt(case: HttpChannelCase, http_peer: RecordingHTTPServer,
                                         channel_env: SetEnv) -> None:
    http_peer.default = Answer(201, json={"sid": "SM1", "id": "m1"})
    recipient = case.configure(channel_env, http_peer.url(""))

    receipt = await case.channel().send(outgoing(recipient))

    assert len(http_peer.requests) == 1
    assert receipt.model_dump()  # typed, serialisable


async def test_429_with_retry_after_is_retryable_after_that_long(case: HttpChannelCase,
                                                                 http_peer: RecordingHTTPServer,
                                                                 channel_env: SetEnv) -> None:
    http_peer.answer_next(Answer(429, headers={"Retry-After": "7"}, body=b"slow down"))

    with pytest.raises(ChannelFailed) as failed:
        await _send(case, channel_env, http_peer.url(""))

    assert (failed.value.retryable, failed.value.retry_after) == (True, 7.0)
    assert "rate limiting" in failed.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_answer_is_retryable(case: HttpChannelCase, http_peer: RecordingHTTPServer, channel_env: SetEnv,
                                         status: int) -> None:
    http_peer.answer_next(Answer(status, body=b"upstream trouble"))

    with pytest.raises(ChannelFailed) as failed:
        await _send(case, channel_env, http_peer.url(""))

    assert failed.value.retryable is True
    assert failed.value.details == {"status": status}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
async def test_other_4xx_answers_are_not_retried(case: HttpChannelCase, http_peer: RecordingHTTPServer,
                                                 channel_env: SetEnv, status: int) -> None:
    http_peer.answer_next(Answer(status, body=b"refused"))

    with pytest.raises(ChannelFailed) as failed:
        await _send(case, channel_env, http_peer.url(""))

    assert failed.value.retryable is False
    assert failed.value.retry_after is None
    assert f"HTTP {status}" in failed.value.message


async def test_a_peer_that_does_not_answer_in_time_is_retryable(case: HttpChannelCase,
                                                                http_peer: RecordingHTTPServer,
                                                                channel_env: SetEnv) -> None:
    channel_env(NOTIFY_HTTP_TIMEOUT_SECONDS="0.3")
    http_peer.answer_next(Answer(200, delay=1.5))

    with pytest.raises(ChannelFailed) as failed:
        await _send(case, channel_env, http_peer.url(""))

    assert failed.value.retryable is True
    assert "0.3 seconds" in failed.value.message


async def test_a_peer_that_is_not_listening_is_retryable(case: HttpChannelCase, channel_env: SetEnv) -> None:
    with pytest.raises(ChannelFailed) as failed:
        await _send(case, channel_env, f"http://127.0.0.1:{free_port()}")

    assert failed.value.retryable is True
