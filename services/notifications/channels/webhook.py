"""Generic webhooks: a signed JSON POST to the recipient URL, through the SSRF guard.

Every request carries ``X-DWC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
made with WEBHOOK_SIGNING_SECRET, and ``X-DWC-Idempotency-Key`` (the same on every retry of one
delivery). Receivers check the header with :func:`verify_signature`, which also refuses a timestamp
older than the tolerance, so a captured request cannot be replayed later.

Because receivers deduplicate on the idempotency key, the channel is ``idempotent``: a send whose
worker died mid-request is sent again with the same key (delivered once) rather than given up as
"outcome unknown".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar, Final

from services import errors
from services.notifications.channels.base import Channel, ChannelFailed, OutgoingMessage, SendReceipt
from services.notifications.channels.http_delivery import post_guarded, raise_for_answer
from services.notifications.channels.webhook_urls import checked_webhook_url
from services.settings import get_settings

SIGNATURE_HEADER: Final = "X-DWC-Signature"
IDEMPOTENCY_HEADER: Final = "X-DWC-Idempotency-Key"
DEFAULT_TOLERANCE_SECONDS: Final = 300


class WebhookSignatureInvalid(errors.AuthenticationFailed):
    """A received webhook's signature header is missing, malformed, stale or does not match the body."""

    code = "webhook_signature_invalid"


class WebhookChannel(Channel):
    name = "webhook"
    display_name = "Webhook"
    settings_names = ("WEBHOOK_SIGNING_SECRET", "OUTBOUND_ALLOWLIST")
    idempotent: ClassVar[bool] = True  # the receiver drops a repeated X-DWC-Idempotency-Key

    def is_configured(self) -> bool:
        return bool(get_settings().webhook_signing_secret.get_secret_value())

    def normalize_recipient(self, recipient: str) -> str:
        return checked_webhook_url(recipient, display_name="webhook")

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        secret = get_settings().webhook_signing_secret.get_secret_value()
        if not secret:
            raise ChannelFailed("Webhooks are not configured: set WEBHOOK_SIGNING_SECRET (32+ random characters) and "
                                "give it to the receivers so they can verify the signature.", retryable=False)
        url = self.normalize_recipient(message.recipient)
        body = webhook_body(message)
        headers = {"Content-Type": "application/json", "User-Agent": "DocumentWorkflowChain-Webhook/1",
                   IDEMPOTENCY_HEADER: message.idempotency_key,
                   SIGNATURE_HEADER: signature_header(secret, body, timestamp=int(time.time()))}
        answer = await post_guarded("The webhook", url, headers=headers, content=body)
        raise_for_answer("The webhook", answer)
        return SendReceipt(response=answer.summary())


def webhook_body(message: OutgoingMessage) -> bytes:
    """The JSON document posted: the idempotency key as ``id``, the content, priority and metadata."""
    document: dict[str, Any] = {"id": message.idempotency_key, "type": "notification", "subject": message.subject,
                                "text": message.text, "html": message.html, "priority": message.priority,
                                "metadata": message.metadata}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def signature_header(secret: str, body: bytes, *, timestamp: int) -> str:
    """``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
                     *, now: float | None = None) -> None:
    """Return quietly when ``header`` signs ``body`` with ``secret`` within ``tolerance_seconds`` of now.

    Raises WebhookSignatureInvalid when the header is malformed, the timestamp is further than the
    tolerance from now (a replay), or no ``v1`` signature matches (several are accepted, for secret rotation).
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureInvalid(f"The {SIGNATURE_HEADER} header must look like t=<unix seconds>,v1=<hex>.")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookSignatureInvalid(f"The webhook's timestamp is {abs(current - timestamp):.0f} seconds away from "
                                      f"now (more than {tolerance_seconds:g}); it may be a replay.")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise WebhookSignatureInvalid("The webhook's signature does not match its body and the signing secret.")


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
