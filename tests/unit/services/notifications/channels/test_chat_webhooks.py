"""Slack, Teams and Discord: the exact incoming-webhook payloads, and which URLs each accepts."""

from __future__ import annotations

import pytest

from services.notifications.channels.base import ChannelFailed, InvalidRecipient
from services.notifications.channels.discord import DiscordChannel
from services.notifications.channels.slack import SlackChannel
from services.notifications.channels.teams import TeamsChannel
from tests.fakes.http_peers import Answer, RecordingHTTPServer
from tests.unit.services.notifications.channels.conftest import SetEnv, outgoing


@pytest.fixture
def peer(http_peer: RecordingHTTPServer, channel_env: SetEnv) -> RecordingHTTPServer:
    channel_env(OUTBOUND_ALLOWLIST="127.0.0.1")
    return http_peer


async def test_slack_gets_blocks_with_a_header_and_escaped_mrkdwn(peer: RecordingHTTPServer) -> None:
    message = outgoing(peer.url("/services/T0/B0/x"), text="Done <!channel> & see <https://x.test|here>")

    await SlackChannel().send(message)

    (request,) = peer.requests
    assert request.headers["content-type"] == "application/json"
    escaped = "Done &lt;!channel&gt; &amp; see &lt;https://x.test|here&gt;"
    assert request.json() == {
        "text": f"Run finished\n{escaped}",
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Run finished"}},
                   {"type": "section", "text": {"type": "mrkdwn", "text": escaped}}],
    }


async def test_slack_error_code_is_the_reason_and_404_is_not_retried(peer: RecordingHTTPServer) -> None:
    peer.answer_next(Answer(404, body=b"no_service"))

    with pytest.raises(ChannelFailed) as failed:
        await SlackChannel().send(outgoing(peer.url("/services/T0/B0/x")))

    assert failed.value.retryable is False
    assert failed.value.message == "Slack refused the message with HTTP 404: no_service"


async def test_teams_gets_an_adaptive_card_message(peer: RecordingHTTPServer) -> None:
    peer.answer_next(Answer(202, body=b""))

    await TeamsChannel().send(outgoing(peer.url("/workflows/abc")))

    assert peer.requests[0].json() == {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{"type": "TextBlock", "text": "Run finished", "weight": "Bolder", "size": "Medium",
                          "wrap": True},
                         {"type": "TextBlock", "text": "Your report is ready.", "wrap": True}],
            },
        }],
    }


async def test_discord_gets_an_embed_waits_for_the_message_id_and_pings_no_one(peer: RecordingHTTPServer) -> None:
    peer.answer_next(Answer(200, json={"id": "1234567890", "channel_id": "42"}))

    receipt = await DiscordChannel().send(outgoing(peer.url("/api/webhooks/1/tok")))

    (request,) = peer.requests
    assert request.query == "wait=true"
    assert request.json() == {"allowed_mentions": {"parse": []},
                              "embeds": [{"title": "Run finished", "description": "Your report is ready."}]}
    assert receipt.provider_message_id == "1234567890"


async def test_discord_without_subject_sends_plain_content(peer: RecordingHTTPServer) -> None:
    await DiscordChannel().send(outgoing(peer.url("/api/webhooks/1/tok"), subject=""))

    assert peer.requests[0].json() == {"allowed_mentions": {"parse": []}, "content": "Your report is ready."}


async def test_discord_429_waits_as_long_as_its_json_body_says(peer: RecordingHTTPServer) -> None:
    peer.answer_next(Answer(429, headers={"Retry-After": "2"},
                            json={"message": "You are being rate limited.", "retry_after": 1.5, "global": False}))

    with pytest.raises(ChannelFailed) as failed:
        await DiscordChannel().send(outgoing(peer.url("/api/webhooks/1/tok")))

    assert failed.value.retryable is True
    assert failed.value.retry_after == 1.5
    assert "You are being rate limited." in failed.value.message


@pytest.mark.parametrize(("channel", "url"), [
    (SlackChannel, "https://hooks.slack.com/services/T000/B000/XXXX"),
    (TeamsChannel, "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def"),
    (TeamsChannel, "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"),
    (DiscordChannel, "https://discord.com/api/webhooks/123/abc"),
])
def test_the_vendors_own_webhook_urls_are_accepted(channel: type[SlackChannel], url: str) -> None:
    assert channel().normalize_recipient(url).startswith("https://")


@pytest.mark.parametrize(("channel", "url", "reason"), [
    (SlackChannel, "https://hooks.slack.com.evil.example/services/T/B/X", "not a Slack webhook URL"),
    (SlackChannel, "https://hooks.slack.com/apps/T/B/X", "not a Slack webhook URL"),
    (SlackChannel, "http://hooks.slack.com/services/T/B/X", "must start with https://"),
    (TeamsChannel, "https://webhook.office.com.evil.example/webhookb2/x", "not a Microsoft Teams webhook URL"),
    (DiscordChannel, "https://discord.com/channels/123/456", "not a Discord webhook URL"),
    (DiscordChannel, "not a url at all", "full https:// URL"),
])
def test_other_urls_are_invalid_recipients(channel: type[SlackChannel], url: str, reason: str) -> None:
    with pytest.raises(InvalidRecipient, match=reason):
        channel().normalize_recipient(url)


def test_a_loopback_url_needs_the_allowlist(http_peer: RecordingHTTPServer, channel_env: SetEnv) -> None:
    with pytest.raises(InvalidRecipient, match="must start with https://"):
        SlackChannel().normalize_recipient(http_peer.url("/services/T/B/X"))
    channel_env(OUTBOUND_ALLOWLIST="127.0.0.1")
    assert SlackChannel().normalize_recipient(http_peer.url("/services/T/B/X")) == http_peer.url("/services/T/B/X")


def test_chat_channels_need_no_settings_to_be_configured() -> None:
    assert [channel().info().configured for channel in (SlackChannel, TeamsChannel, DiscordChannel)] == [True] * 3
