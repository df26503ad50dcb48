"""In-app: the notification is already stored; sending makes it visible in the user's inbox, live."""

from __future__ import annotations

import uuid
from typing import ClassVar

from sqlalchemy import update
from sqlmodel import col

from models.base import utcnow
from models.notification import Notification
from services.db import open_session
from services.notifications.channels.base import Channel, InvalidRecipient, OutgoingMessage, SendReceipt
from services.notifications.inbox_events import publish_inbox_event


class InAppChannel(Channel):
    name = "in_app"
    display_name = "In-app inbox"
    # Sending again only sets the same timestamp: a delivery whose worker died can simply be retried.
    idempotent: ClassVar[bool] = True

    def is_configured(self) -> bool:
        return True

    def normalize_recipient(self, recipient: str) -> str:
        try:
            return str(uuid.UUID(recipient.strip()))
        except ValueError as exc:
            raise InvalidRecipient("recipient: an in-app notification goes to a user id.",
                                   details=[{"field": "recipient", "message": "not a user id"}]) from exc

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        notification_id = uuid.UUID(str(message.metadata["notification_id"]))
        async with open_session() as session:
            await session.exec(update(Notification).where(
                col(Notification.id) == notification_id, col(Notification.delivered_at).is_(None))
                .values(delivered_at=utcnow()))
            await session.commit()
        publish_inbox_event(self.normalize_recipient(message.recipient), "new", notification_id=str(notification_id),
                            subject=message.subject, priority=message.priority,
                            category=message.metadata.get("category"))
        return SendReceipt(provider_message_id=str(notification_id), response={"inbox": "stored"})
