"""Push notifications through an ntfy-compatible server: ``POST {NTFY_BASE_URL}/{topic}``."""

from __future__ import annotations

import base64
import re
from typing import Any, Final

from services.notifications.channels.base import Channel, ChannelFailed, InvalidRecipient, OutgoingMessage, SendReceipt
from services.notifications.channels.health import ChannelHealth, http_reachable, not_configured, timed_check
from services.notifications.channels.http_delivery import post_direct, raise_for_answer
from services.settings import get_settings

# ntfy's own rule for topic names.
_TOPIC: Final = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
# ntfy priorities: 1 min, 2 low, 3 default, 4 high, 5 max (urgent).
PRIORITIES: Final = {"low": "2", "normal": "3", "high": "4", "urgent": "5"}


class PushChannel(Channel):
    name = "push"
    display_name = "Push (ntfy)"
    settings_names = ("NTFY_BASE_URL", "NTFY_TOKEN")

    def is_configured(self) -> bool:
        return bool(get_settings().ntfy_base_url.strip())

    async def check_health(self) -> ChannelHealth:
        if not self.is_configured():
            return not_configured("NTFY_BASE_URL")
        return await timed_check(http_reachable(get_settings().ntfy_base_url.strip()))

    def normalize_recipient(self, recipient: str) -> str:
        topic = recipient.strip()
        if not _TOPIC.match(topic):
            raise InvalidRecipient(
                f"'{recipient}' is not an ntfy topic; use 1 to 64 letters, digits, '-' or '_'.",
                details={"field": "recipient"})
        return topic

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        settings = get_settings()
        if not self.is_configured():
            raise ChannelFailed("Push is not configured: set NTFY_BASE_URL (e.g. https://ntfy.sh).", retryable=False)
        topic = self.normalize_recipient(message.recipient)
        token = settings.ntfy_token.get_secret_value()
        headers = push_headers(message)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        answer = await post_direct("The ntfy server", f"{settings.ntfy_base_url.strip().rstrip('/')}/{topic}",
                                   headers=headers, content=message.text.encode())
        reply = answer.json_object()
        raise_for_answer("The ntfy server", answer, reason=str(reply.get("error") or ""))
        return SendReceipt(provider_message_id=str(reply.get("id") or "") or None,
                           response={"status": answer.status_code})


def push_headers(message: OutgoingMessage) -> dict[str, str]:
    """ntfy's Title, Priority and Tags headers (Tags from metadata ``tags`` and ``category``)."""
    headers = {"Priority": PRIORITIES.get(message.priority, "3"), "Content-Type": "text/plain; charset=utf-8"}
    if message.subject.strip():
        headers["Title"] = header_text(message.subject)
    tags = _tags(message.metadata)
    if tags:
        headers["Tags"] = header_text(",".join(tags))
    return headers


def header_text(text: str) -> str:
    """``text`` on one line, as an RFC 2047 encoded word when not ASCII (ntfy decodes those; httpx sends latin-1)."""
    line = " ".join(text.split())
    if line.isascii():
        return line
    return f"=?utf-8?b?{base64.b64encode(line.encode()).decode('ascii')}?="


def _tags(metadata: dict[str, Any]) -> list[str]:
    raw = metadata.get("tags")
    tags = [str(tag).strip() for tag in raw] if isinstance(raw, list) else []
    category = metadata.get("category")
    if category:
        tags.append(str(category).strip())
    return [tag.replace(",", " ") for tag in tags if tag]
