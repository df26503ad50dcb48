"""SMS through Twilio's REST API (Programmable Messaging), over httpx."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from services.notifications.channels.base import Channel, ChannelFailed, InvalidRecipient, OutgoingMessage, SendReceipt
from services.notifications.channels.health import ChannelHealth, http_reachable, not_configured, timed_check
from services.notifications.channels.http_delivery import post_direct, raise_for_answer
from services.settings import get_settings

# Twilio's limit for one message body; it splits longer text into segments itself.
MAX_SMS_CHARS: Final = 1600
_E164: Final = re.compile(r"^\+[1-9]\d{1,14}$")
# Spacing and punctuation people write in phone numbers; removed before checking the E.164 form.
_PHONE_PUNCTUATION: Final = re.compile(r"[\s().\-]")


class SmsChannel(Channel):
    name = "sms"
    display_name = "SMS (Twilio)"
    settings_names = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_BASE_URL")

    def is_configured(self) -> bool:
        settings = get_settings()
        return bool(settings.twilio_account_sid.strip() and settings.twilio_auth_token.get_secret_value()
                    and settings.twilio_from.strip() and settings.twilio_base_url.strip())

    async def check_health(self) -> ChannelHealth:
        if not self.is_configured():
            return not_configured("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM")
        return await timed_check(http_reachable(get_settings().twilio_base_url.strip()))

    def normalize_recipient(self, recipient: str) -> str:
        number = _PHONE_PUNCTUATION.sub("", recipient)
        if not _E164.match(number):
            raise InvalidRecipient(
                f"'{recipient}' is not a phone number in international (E.164) form; write it like +15551234567.",
                details={"field": "recipient"})
        return number

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        if not self.is_configured():
            raise ChannelFailed("SMS is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM.",
                                retryable=False)
        settings = get_settings()
        sid = settings.twilio_account_sid.strip()
        token = settings.twilio_auth_token.get_secret_value()
        url = f"{settings.twilio_base_url.strip().rstrip('/')}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json"
        form = {"To": self.normalize_recipient(message.recipient), "From": settings.twilio_from.strip(),
                "Body": sms_body(message)}
        answer = await post_direct("Twilio", url, headers={"Accept": "application/json"}, data=form, auth=(sid, token))
        reply = answer.json_object()
        if not answer.ok:
            reason = str(reply.get("message") or "")
            if reply.get("code") is not None:
                reason = f"{reason} (Twilio error {reply['code']})"
            raise_for_answer("Twilio", answer, reason=reason.replace(token, "[redacted]"))
        return SendReceipt(provider_message_id=str(reply.get("sid") or "") or None,
                           response={"status": answer.status_code, "twilio_status": reply.get("status")})


def sms_body(message: OutgoingMessage) -> str:
    """The subject (when given) on its own line above the text, cut to Twilio's 1,600 characters."""
    body = f"{message.subject.strip()}\n{message.text}" if message.subject.strip() else message.text
    return body if len(body) <= MAX_SMS_CHARS else body[: MAX_SMS_CHARS - 1] + "…"
