"""The channel interface: what every delivery channel (email, SMS, chat webhooks, ...) speaks.

A channel turns one rendered :class:`OutgoingMessage` into one delivery attempt against its
provider and returns a :class:`SendReceipt`, or raises :class:`ChannelFailed` saying whether
trying again may help (``retryable``) and when (``retry_after``). Channels know nothing of
queues, retries, templates or the database: the notification service owns those.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from services import errors
from services.notifications.channels.health import ChannelHealth, not_configured

MAX_SUBJECT_CHARS = 500
MAX_BODY_CHARS = 100_000


class OutgoingMessage(BaseModel):
    """One rendered message to one recipient on one channel."""

    recipient: str = Field(min_length=1, max_length=500)
    subject: str = Field(default="", max_length=MAX_SUBJECT_CHARS)
    text: str = Field(max_length=MAX_BODY_CHARS, description="Plain-text body; every channel can send it.")
    html: str | None = Field(default=None, max_length=MAX_BODY_CHARS, description="HTML body, where the channel can.")
    priority: str = "normal"
    idempotency_key: str = Field(min_length=1, max_length=200,
                                 description="Stable across retries; channels pass it on where the provider can.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Run id, node id, category, links.")


class SendReceipt(BaseModel):
    """What the provider said when it accepted the message."""

    provider_message_id: str | None = None
    response: dict[str, Any] = Field(default_factory=dict, description="A short, secret-free summary of the answer.")


class ChannelFailed(errors.ProviderUnavailable):
    """The provider refused the message or could not be reached."""

    code = "channel_failed"

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable
        self.retry_after = retry_after


class InvalidRecipient(errors.ValidationFailed):
    """The recipient is not an address this channel can deliver to."""

    code = "invalid_recipient"


class ChannelInfo(BaseModel):
    name: str
    display_name: str
    configured: bool
    settings: list[str] = Field(description="The settings this channel reads (names only, never values).")
    health: ChannelHealth | None = Field(default=None, description="The live check, when one was asked for.")


class Channel(ABC):
    """One way to deliver. Subclasses declare the class attributes and implement the abstract methods."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    settings_names: ClassVar[tuple[str, ...]] = ()
    # Delays (s) before each attempt when this channel's provider wants its own; None: NOTIFY_RETRY_SCHEDULE.
    # NOTIFY_RETRY_SCHEDULES overrides it per channel (services.notifications.policy).
    retry_schedule: ClassVar[tuple[float, ...] | None] = None

    @abstractmethod
    def is_configured(self) -> bool:
        """Whether this deployment has what the channel needs (a relay, a token, a URL)."""

    @abstractmethod
    def normalize_recipient(self, recipient: str) -> str:
        """The recipient in canonical form; raises InvalidRecipient naming what is wrong."""

    @abstractmethod
    async def send(self, message: OutgoingMessage) -> SendReceipt:
        """Deliver ``message`` once; raises ChannelFailed on failure."""

    async def check_health(self) -> ChannelHealth:
        """Whether the provider answers now (never sends, never raises). Default: configured or not, no live check."""
        if not self.is_configured():
            return not_configured(" and ".join(self.settings_names) or "its settings")
        return ChannelHealth(status="configured", detail="each send is checked on its own (per-recipient URLs)")

    async def after_recorded(self, message: OutgoingMessage, receipt: SendReceipt) -> None:  # noqa: B027
        """Called once the delivery is recorded ``sent`` (committed): what must follow it (the in-app push)."""

    def info(self) -> ChannelInfo:
        return ChannelInfo(name=self.name, display_name=self.display_name, configured=self.is_configured(),
                           settings=list(self.settings_names))
