"""Small read-only queries the notification center needs beyond the inbox and history services."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.notification import Notification
from models.user import User
from services.notifications.inbox import IN_APP


async def inbox_categories(user: User, *, session: AsyncSession) -> list[str]:
    """The categories of the caller's delivered in-app notifications, sorted (the inbox's filter choices)."""
    query = select(Notification.category).where(
        col(Notification.user_id) == user.id, col(Notification.channel) == IN_APP,
        col(Notification.delivered_at).is_not(None)).distinct()
    return sorted((await session.exec(query)).all())
