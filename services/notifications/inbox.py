"""A user's in-app inbox: delivered in_app notifications, newest first, with read and archive marks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.base import utcnow
from models.notification import Notification
from models.user import User
from services import errors
from services.notifications.inbox_events import publish_inbox_event
from services.notifications.schemas import NotificationPublic

IN_APP = "in_app"


class InboxFilter(BaseModel):
    category: str | None = None
    unread_only: bool = False
    archived: bool = Field(default=False, description="Show the archive instead of the inbox.")
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=200)


class InboxPage(BaseModel):
    unread: int = Field(description="Unread, not archived: the bell's number.")
    count: int = Field(description="Items matching the filter.")
    data: list[NotificationPublic]


def _mine(user: User) -> SelectOfScalar[Notification]:
    return select(Notification).where(col(Notification.user_id) == user.id, col(Notification.channel) == IN_APP,
                                      col(Notification.delivered_at).is_not(None))


async def unread_count(user: User, *, session: AsyncSession) -> int:
    query = select(func.count()).select_from(Notification).where(
        col(Notification.user_id) == user.id, col(Notification.channel) == IN_APP,
        col(Notification.delivered_at).is_not(None), col(Notification.read_at).is_(None),
        col(Notification.archived_at).is_(None))
    return int((await session.exec(query)).one())


async def get_all(user: User, filters: InboxFilter, *, session: AsyncSession) -> InboxPage:
    """The caller's inbox page and unread count."""
    query = _mine(user).where(col(Notification.archived_at).is_not(None) if filters.archived
                              else col(Notification.archived_at).is_(None))
    if filters.category:
        query = query.where(col(Notification.category) == filters.category)
    if filters.unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    count = int((await session.exec(select(func.count()).select_from(query.subquery()))).one())
    rows = (await session.exec(query.order_by(col(Notification.created_at).desc())
                               .offset(filters.offset).limit(filters.limit))).all()
    return InboxPage(unread=await unread_count(user, session=session), count=count,
                     data=[NotificationPublic.model_validate(row) for row in rows])


async def _set(user: User, notification_id: uuid.UUID, kind: str, *, session: AsyncSession,
               read_at: datetime | None = None, archived_at: datetime | None = None, archive: bool = False) -> None:
    values: dict[str, datetime | None] = {"archived_at": archived_at} if archive else {"read_at": read_at}
    result = await session.exec(update(Notification).where(
        col(Notification.id) == notification_id, col(Notification.user_id) == user.id,
        col(Notification.channel) == IN_APP).values(**values))
    if result.rowcount != 1:
        await session.rollback()
        raise errors.NotFound("There is no such notification in your inbox.")
    await session.commit()
    publish_inbox_event(user.id, kind, notification_id=str(notification_id))


async def mark_read(user: User, notification_id: uuid.UUID, *, session: AsyncSession) -> None:
    await _set(user, notification_id, "read", session=session, read_at=utcnow())


async def mark_unread(user: User, notification_id: uuid.UUID, *, session: AsyncSession) -> None:
    await _set(user, notification_id, "unread", session=session, read_at=None)


async def archive(user: User, notification_id: uuid.UUID, *, session: AsyncSession) -> None:
    await _set(user, notification_id, "archived", session=session, archived_at=utcnow(), archive=True)


async def mark_all_read(user: User, *, session: AsyncSession) -> int:
    """Mark every unread inbox item read; returns how many changed."""
    result = await session.exec(update(Notification).where(
        col(Notification.user_id) == user.id, col(Notification.channel) == IN_APP,
        col(Notification.read_at).is_(None)).values(read_at=utcnow()))
    await session.commit()
    publish_inbox_event(user.id, "read_all")
    return int(result.rowcount)
