"""The inbox page's Sent tab (admins): every notification sent, its delivery status, and retry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import reflex as rx

from models.notification import DeliveryStatus
from models.user import Role
from services import errors
from services.auth.permissions import Permission, allows
from services.db import open_read_session, open_session
from services.notifications import service as notifications
from services.notifications.lookup import channel_infos
from services.notifications.schemas import HistoryFilter, NotificationPublic
from state.auth import AuthState
from state.errors import form_message

PAGE_SIZE = 20
ALL = "all"
STATUSES = [s.value for s in DeliveryStatus]
_RETRYABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.DEAD})
_ROLES_THAT_SEE_ALL_SENT = frozenset(r.value for r in Role if allows(r, Permission.ADMINISTER))


@dataclass
class SentRow:
    id: str
    created: str
    channel: str
    recipient: str
    subject: str
    category: str
    status: str
    retryable: bool
    run_id: str
    node_id: str


def _row(n: NotificationPublic) -> SentRow:
    return SentRow(id=str(n.id), created=n.created_at.strftime("%Y-%m-%d %H:%M"), channel=n.channel,
                   recipient=n.recipient, subject=n.subject or n.body[:80], category=n.category,
                   status=n.status.value if n.status else "", retryable=n.status in _RETRYABLE,
                   run_id=str(n.run_id) if n.run_id else "", node_id=n.node_id or "")


class SentState(AuthState):
    sent: list[SentRow] = []
    sent_total: int = 0
    sent_page: int = 0
    sent_channel: str = ALL
    sent_status: str = ALL
    channels: list[str] = []
    sent_error: str = ""
    sent_notice: str = ""

    @rx.var
    def can_see_sent(self) -> bool:
        return self.user_role in _ROLES_THAT_SEE_ALL_SENT

    @rx.var
    def sent_page_count(self) -> int:
        return max(1, -(-self.sent_total // PAGE_SIZE))

    async def _reload(self) -> None:
        filters = HistoryFilter(channel=None if self.sent_channel == ALL else self.sent_channel,
                                status=None if self.sent_status == ALL else DeliveryStatus(self.sent_status),
                                offset=self.sent_page * PAGE_SIZE, limit=PAGE_SIZE)
        try:
            async with open_read_session() as session:
                actor = await self._signed_in_user(session)
                if not allows(actor.role, Permission.ADMINISTER):
                    self.sent, self.sent_total = [], 0
                    return
                result = await notifications.history(actor, filters, session=session)
        except errors.DomainError as exc:
            self.sent_error = form_message(exc)
            return
        self.sent, self.sent_total = [_row(n) for n in result.data], result.count

    @rx.event
    async def load(self) -> None:
        self.sent_error = self.sent_notice = ""
        self.channels = [info.name for info in channel_infos()]
        await self._reload()

    @rx.event
    async def set_sent_channel(self, channel: str) -> None:
        self.sent_channel, self.sent_page = channel, 0
        await self._reload()

    @rx.event
    async def set_sent_status(self, status: str) -> None:
        self.sent_status, self.sent_page = status, 0
        await self._reload()

    @rx.event
    async def go_to_sent_page(self, delta: int) -> None:
        self.sent_page = min(max(0, self.sent_page + delta), self.sent_page_count - 1)
        await self._reload()

    @rx.event
    async def retry(self, notification_id: str) -> None:
        self.sent_error = self.sent_notice = ""
        try:
            async with open_session() as session:
                actor = await self._signed_in_user(session)
                result = await notifications.retry(actor, uuid.UUID(notification_id), session=session)
        except errors.DomainError as exc:
            self.sent_error = form_message(exc)
        else:
            self.sent_notice = f"Queued again: the delivery is {result.status.value}."
        await self._reload()
