"""Discord through a channel webhook: an embed (title and description), or plain content without a subject."""

from __future__ import annotations

from typing import Any, Final

import httpx

from services.notifications.channels.base import Channel, OutgoingMessage, SendReceipt
from services.notifications.channels.http_delivery import post_guarded, raise_for_answer
from services.notifications.channels.webhook_urls import VendorWebhook, checked_webhook_url

DISCORD: Final = VendorWebhook("Discord", hosts=("discord.com", "discordapp.com", "ptb.discord.com",
                                                 "canary.discord.com"),
                               path_prefix="/api/webhooks/", example="https://discord.com/api/webhooks/123/abc")
# Discord's limits: message content, embed title and embed description.
MAX_CONTENT_CHARS: Final = 2000
MAX_TITLE_CHARS: Final = 256
MAX_DESCRIPTION_CHARS: Final = 4096


class DiscordChannel(Channel):
    name = "discord"
    display_name = "Discord"
    settings_names = ("OUTBOUND_ALLOWLIST",)

    def is_configured(self) -> bool:
        return True  # the recipient is the webhook URL: nothing to set up here

    def normalize_recipient(self, recipient: str) -> str:
        return checked_webhook_url(recipient, display_name="Discord webhook", vendor=DISCORD)

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        # wait=true makes Discord answer with the created message (and its id) instead of 204.
        url = httpx.URL(self.normalize_recipient(message.recipient)).copy_merge_params({"wait": "true"})
        answer = await post_guarded("Discord", str(url), headers={}, json=discord_payload(message))
        reply = answer.json_object()
        wait = reply.get("retry_after")
        # Discord's 429 body says how long to wait, in seconds, more precisely than its Retry-After header.
        raise_for_answer("Discord", answer, reason=str(reply.get("message") or ""),
                         retry_after=float(wait) if isinstance(wait, int | float) else None)
        return SendReceipt(provider_message_id=str(reply.get("id") or "") or None,
                           response={"status": answer.status_code})


def discord_payload(message: OutgoingMessage) -> dict[str, Any]:
    """An embed when there is a subject, plain content otherwise; mentions in the text never ping anyone."""
    payload: dict[str, Any] = {"allowed_mentions": {"parse": []}}
    subject = " ".join(message.subject.split())
    if subject:
        payload["embeds"] = [{"title": _cut(subject, MAX_TITLE_CHARS),
                              "description": _cut(message.text, MAX_DESCRIPTION_CHARS)}]
    else:
        payload["content"] = _cut(message.text, MAX_CONTENT_CHARS)
    return payload


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
