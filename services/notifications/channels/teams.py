"""Microsoft Teams through an incoming webhook (Workflows or the older connectors): an Adaptive Card."""

from __future__ import annotations

from typing import Any, Final

from services.notifications.channels.base import Channel, OutgoingMessage, SendReceipt
from services.notifications.channels.http_delivery import post_guarded, raise_for_answer
from services.notifications.channels.webhook_urls import VendorWebhook, checked_webhook_url

# Workflows (Power Automate) webhooks, and the Office 365 connector webhooks Microsoft is retiring.
TEAMS: Final = VendorWebhook("Microsoft Teams",
                             hosts=("*.webhook.office.com", "*.logic.azure.com", "*.api.powerplatform.com"),
                             path_prefix="/", example="https://prod-00.westus.logic.azure.com/workflows/...")
ADAPTIVE_CARD_TYPE: Final = "application/vnd.microsoft.card.adaptive"


class TeamsChannel(Channel):
    name = "teams"
    display_name = "Microsoft Teams"
    settings_names = ("OUTBOUND_ALLOWLIST",)

    def is_configured(self) -> bool:
        return True  # the recipient is the webhook URL: nothing to set up here

    def normalize_recipient(self, recipient: str) -> str:
        return checked_webhook_url(recipient, display_name="Teams webhook", vendor=TEAMS)

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        answer = await post_guarded("Microsoft Teams", self.normalize_recipient(message.recipient), headers={},
                                    json=teams_payload(message))
        raise_for_answer("Microsoft Teams", answer)
        return SendReceipt(response=answer.summary())


def teams_payload(message: OutgoingMessage) -> dict[str, Any]:
    """A ``message`` activity carrying one Adaptive Card: the subject in bold, then the text."""
    body: list[dict[str, Any]] = []
    subject = " ".join(message.subject.split())
    if subject:
        body.append({"type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium", "wrap": True})
    body.append({"type": "TextBlock", "text": message.text, "wrap": True})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body}
    return {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD_TYPE, "contentUrl": None,
                                                "content": card}]}
