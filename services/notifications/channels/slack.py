"""Slack through an incoming webhook: Block Kit (a header and a mrkdwn section) with a plain-text fallback."""

from __future__ import annotations

from typing import Any, Final

from services.notifications.channels.base import Channel, OutgoingMessage, SendReceipt
from services.notifications.channels.http_delivery import post_guarded, raise_for_answer
from services.notifications.channels.webhook_urls import VendorWebhook, checked_webhook_url

SLACK: Final = VendorWebhook("Slack", hosts=("hooks.slack.com", "hooks.slack-gov.com"), path_prefix="/services/",
                             example="https://hooks.slack.com/services/T000/B000/XXXX")
# Block Kit limits: a header's plain text and a section's text.
MAX_HEADER_CHARS: Final = 150
MAX_SECTION_CHARS: Final = 3000


class SlackChannel(Channel):
    name = "slack"
    display_name = "Slack"
    settings_names = ("OUTBOUND_ALLOWLIST",)

    def is_configured(self) -> bool:
        return True  # the recipient is the webhook URL: nothing to set up here

    def normalize_recipient(self, recipient: str) -> str:
        return checked_webhook_url(recipient, display_name="Slack webhook", vendor=SLACK)

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        answer = await post_guarded("Slack", self.normalize_recipient(message.recipient), headers={},
                                    json=slack_payload(message))
        # Slack answers "ok", or an error code in plain text (invalid_payload, no_service, ...).
        raise_for_answer("Slack", answer)
        return SendReceipt(response=answer.summary())


def slack_payload(message: OutgoingMessage) -> dict[str, Any]:
    """``{"text": fallback, "blocks": [header?, section]}``; the text is escaped so it cannot ping @channel."""
    blocks: list[dict[str, Any]] = []
    subject = " ".join(message.subject.split())
    if subject:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": _cut(subject, MAX_HEADER_CHARS)}})
    section_text = _cut(escape(message.text), MAX_SECTION_CHARS)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section_text}})
    fallback = f"{subject}\n{message.text}" if subject else message.text
    return {"text": escape(fallback), "blocks": blocks}


def escape(text: str) -> str:
    """Slack's three control characters escaped, so ``<!channel>`` or ``<url|label>`` in content stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
