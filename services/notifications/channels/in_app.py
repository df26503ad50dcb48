"""In-app: the notification is already stored; sending makes it visible in the user's inbox, live.

Nothing to send: the delivery path records the batch ``sent`` and sets the notification's
``delivered_at`` in one transaction (which is what puts it in the inbox); only then, in
``after_recorded``, the user's open tabs are told. A transaction of its own per message was most
of the in-app cost (SQLite serialises writes).
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from services.notifications.channels.base import Channel, InvalidRecipient, OutgoingMessage, SendReceipt
from services.notifications.channels.health import ChannelHealth
from services.notifications.inbox_events import publish_inbox_event


class InAppChannel(Channel):
    name = "in_app"
    display_name = "In-app inbox"
    # Sending again only sets the same timestamp: a delivery whose worker died can simply be retried.
    idempotent: ClassVar[bool] = True

    def is_configured(self) -> bool:
        return True

    async def check_health(self) -> ChannelHealth:
        return ChannelHealth(status="ok", detail="stored in the database, pushed to open tabs")

    def normalize_recipient(self, recipient: str) -> str:
        try:
            return str(uuid.UUID(recipient.strip()))
        except ValueError as exc:
            raise InvalidRecipient("recipient: an in-app notification goes to a user id.",
                                   details=[{"field": "recipient", "message": "not a user id"}]) from exc

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        notification_id = uuid.UUID(str(message.metadata["notification_id"]))
        return SendReceipt(provider_message_id=str(notification_id), response={"inbox": "stored"})

    async def after_recorded(self, message: OutgoingMessage, receipt: SendReceipt) -> None:
        publish_inbox_event(self.normalize_recipient(message.recipient), "new",
                            notification_id=str(message.metadata["notification_id"]), subject=message.subject,
                            priority=message.priority, category=message.metadata.get("category"))
