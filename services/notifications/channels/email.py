"""Email through an SMTP relay (aiosmtplib): a text part, and an HTML alternative when given."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Final

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from services.notifications.channels.base import Channel, ChannelFailed, InvalidRecipient, OutgoingMessage, SendReceipt
from services.notifications.channels.health import ChannelHealth, not_configured, smtp_reachable, timed_check
from services.settings import get_settings

# Metadata keys copied into headers, so a reader (or a mail filter) can find the run that sent it.
_METADATA_HEADERS: Final = (("run_id", "X-DWC-Run-Id"), ("node_id", "X-DWC-Node-Id"))


class EmailChannel(Channel):
    name = "email"
    display_name = "Email"
    settings_names = ("SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_STARTTLS",
                      "SMTP_TIMEOUT_SECONDS")

    def is_configured(self) -> bool:
        settings = get_settings()
        return bool(settings.smtp_host.strip() and settings.smtp_from.strip())

    async def check_health(self) -> ChannelHealth:
        settings = get_settings()
        if not self.is_configured():
            return not_configured("SMTP_HOST and SMTP_FROM")
        return await timed_check(smtp_reachable(settings.smtp_host.strip(), settings.smtp_port))

    def normalize_recipient(self, recipient: str) -> str:
        try:
            return validate_email(recipient.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise InvalidRecipient(f"'{recipient}' is not a valid email address: {exc}",
                                   details={"field": "recipient"}) from exc

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        settings = get_settings()
        if not self.is_configured():
            raise ChannelFailed("Email is not configured: set SMTP_HOST and SMTP_FROM.", retryable=False)
        recipient = self.normalize_recipient(message.recipient)
        email = build_email(message, sender=settings.smtp_from.strip(), recipient=recipient)
        host = settings.smtp_host.strip()
        try:
            _refused, reply = await aiosmtplib.send(
                email,
                sender=_address_of(settings.smtp_from),
                recipients=[recipient],
                hostname=host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() or None,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPException as exc:
            raise smtp_failure(exc, host) from exc
        except OSError as exc:
            raise ChannelFailed(f"The mail server {host} could not be reached ({exc}); try again later.",
                                retryable=True) from exc
        return SendReceipt(provider_message_id=str(email["Message-ID"]), response={"reply": reply[:500]})


def build_email(message: OutgoingMessage, *, sender: str, recipient: str) -> EmailMessage:
    """The MIME message: text only, or multipart/alternative with an HTML part; a Message-ID stable across retries."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = recipient
    email["Subject"] = _one_line(message.subject)
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = message_id_for(message.idempotency_key, _address_of(sender))
    # RFC 3834: tells auto-responders (out-of-office) not to answer an automated message.
    email["Auto-Submitted"] = "auto-generated"
    for key, header in _METADATA_HEADERS:
        value = message.metadata.get(key)
        if value is not None and str(value).strip():
            email[header] = _one_line(str(value))
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


def message_id_for(idempotency_key: str, sender_address: str) -> str:
    """``<hash@domain>``: the same key always gives the same Message-ID, so a retried send is recognisable."""
    domain = sender_address.rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}>"


def smtp_failure(exc: aiosmtplib.SMTPException, host: str) -> ChannelFailed:
    """The ChannelFailed for an SMTP error: 4xx replies, timeouts and lost connections are retryable, 5xx not."""
    code: int | None = None
    text = str(exc)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code, text = exc.recipients[0].code, exc.recipients[0].message
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        code, text = exc.code, exc.message
    if code is not None and code >= 400:
        retryable = code < 500
        hint = "it is temporary, try again later" if retryable else "check the address and the relay's settings"
        return ChannelFailed(f"The mail server {host} refused the message: {code} {text.strip()} ({hint}).",
                             retryable=retryable, details={"smtp_code": code})
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return ChannelFailed(f"The mail server {host} did not answer in time ({text}); try again later.",
                             retryable=True)
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return ChannelFailed(f"The mail server {host} could not be reached ({text}); try again later.",
                             retryable=True)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return ChannelFailed(f"The mail server {host} cannot do what the settings ask ({text}); check SMTP_STARTTLS "
                             "and SMTP_USERNAME.", retryable=False)
    return ChannelFailed(f"Sending through the mail server {host} failed: {text}.", retryable=False)


def _address_of(sender: str) -> str:
    address = parseaddr(sender)[1]
    if "@" not in address:
        raise ChannelFailed(f"SMTP_FROM ({sender!r}) is not an email address; set it like "
                            "'Workflows <workflows@example.com>'.", retryable=False)
    return address


def _one_line(text: str) -> str:
    # A line break in a header would start a new header: never let message content do that.
    return " ".join(text.split())
