"""Digests: a user's held low-priority notifications on one channel, sent as one message per period.

A send that a digest-mode preference matches (low priority only; see ``preferences.decide``) is
recorded like any other, but its delivery is held: ``queued`` with no due time (``next_attempt_at``
NULL, a state nothing else uses), so no sender picks it up. The maintenance loop calls
``send_due_digests`` every second; like Novu's regular digest, a window opens with the first held
item and closes ``NOTIFY_DIGEST_PERIOD_SECONDS`` later. Then one transaction marks every held
delivery of that user, channel and address ``digested`` (``provider_message_id`` and
``response={"digest": ...}`` name the digest) and records the digest: a Notification whose body
lists the items, with its own Delivery (due now, or when quiet hours end). The digest goes out
through the ordinary delivery path, retries and dead letters included; when its delivery is
recorded ``sent``, ``failed`` or ``dead``, its items take that status in the same transaction
(``settle_items``), so an item counts as sent only once the message carrying it went out. The held
rows are claimed by compare-and-set, so any number of maintenance loops batch each item once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus, Notification, Priority
from services.db import open_session
from services.notifications import preferences
from services.notifications.dispatch import DeliveryQueue, get_delivery_queue
from services.notifications.rendering import RenderedContent
from services.notifications.schemas import MessageContent, SendContext
from services.settings import get_settings

DIGEST_CATEGORY = "digest"
MAX_ITEMS_PER_DIGEST = 1000  # more held than this: the rest make the next digest, a second later
LISTED_ITEMS = 50
EXCERPT_CHARS = 200
GROUPS_PER_SCAN = 100


def is_held() -> ColumnElement[bool]:
    """The SQL condition of a delivery held for a digest."""
    return and_(col(Delivery.status) == DeliveryStatus.QUEUED, col(Delivery.next_attempt_at).is_(None))


async def send_due_digests(*, now: datetime | None = None, queue: DeliveryQueue | None = None) -> int:
    """Record a digest for every user, channel and address whose window has closed; how many were recorded."""
    moment = now or utcnow()
    period = timedelta(seconds=get_settings().notify_digest_period_seconds)
    async with open_session() as session:
        groups = (await session.exec(
            select(Notification.user_id, Delivery.channel, Notification.recipient)
            .join(Notification, col(Notification.id) == col(Delivery.notification_id))
            .where(is_held())
            .group_by(col(Notification.user_id), col(Delivery.channel), col(Notification.recipient))
            .having(func.min(Delivery.queued_at) <= moment - period)
            .limit(GROUPS_PER_SCAN))).all()
    recorded = 0
    for user_id, channel, recipient in groups:
        async with open_session() as session:
            due = await _record_digest(user_id, channel, recipient, moment, session)
        if due is not None:
            recorded += 1
            if due:
                await (queue or get_delivery_queue()).wake(1)
    return recorded


async def _record_digest(user_id: uuid.UUID | None, channel: str, recipient: str, now: datetime,
                         session: AsyncSession) -> bool | None:
    """Batch one group's held items into a digest; whether it is due now (None: nothing left to batch)."""
    connection = await session.connection()  # five columns: past sqlmodel's typed select overloads
    items = (await connection.execute(
        sa_select(col(Delivery.id), col(Notification.category), col(Notification.subject),
                  func.substr(col(Notification.body), 1, EXCERPT_CHARS + 1), col(Notification.created_at))
        .join(Notification, col(Notification.id) == col(Delivery.notification_id))
        .where(is_held(), col(Notification.user_id) == user_id, col(Delivery.channel) == channel,
               col(Notification.recipient) == recipient)
        .order_by(col(Notification.created_at), col(Delivery.id)).limit(MAX_ITEMS_PER_DIGEST))).all()
    if not items or user_id is None:
        return None
    digest_id = uuid.uuid4()
    delivery_ids = [item[0] for item in items]
    claimed = await session.exec(update(Delivery).where(col(Delivery.id).in_(delivery_ids), is_held()).values(
        status=DeliveryStatus.DIGESTED, provider_message_id=str(digest_id), response={"digest": str(digest_id)}))
    if claimed.rowcount != len(delivery_ids):  # another process batched some of them: its digest has them
        await session.rollback()
        return None
    from services.notifications.service import notification_row, record_notifications

    content = compose_digest([(category, subject, excerpt, created_at)
                              for _id, category, subject, excerpt, created_at in items])
    request = MessageContent(channel=channel, subject=content.subject, message=content.body,
                             priority=Priority.LOW, category=DIGEST_CATEGORY)
    row = notification_row(channel, recipient, user_id, f"digest:{delivery_ids[0]}", content, request,
                           SendContext(), None)
    row |= {"id": digest_id, "variables": {"items": len(items), "since": items[0][4].isoformat()}}
    decisions = await preferences.decide_many([user_id], category=DIGEST_CATEGORY, channel=channel,
                                              priority=Priority.LOW, session=session, now=now, allow_digest=False)
    created = await record_notifications([row], decisions, Priority.LOW.rank, session)
    await session.commit()
    delivery = created.get(row["idempotency_key"])
    return delivery is not None and delivery["dispatched_at"] is not None


async def settle_items(session: AsyncSession, digest_ids: list[uuid.UUID], status: DeliveryStatus, now: datetime,
                       reason: str | None = None) -> list[Delivery]:
    """The items batched into these digests take the outcome of the digest's delivery; the items changed.

    Runs in the caller's transaction (the one recording the digest's delivery). A digest sent after
    a manual retry also settles items its earlier failure had marked failed or dead.
    """
    waiting = [DeliveryStatus.DIGESTED] + ([DeliveryStatus.FAILED, DeliveryStatus.DEAD]
                                           if status is DeliveryStatus.SENT else [])
    items = list((await session.exec(select(Delivery).where(
        col(Delivery.status).in_(waiting),
        col(Delivery.provider_message_id).in_([str(digest_id) for digest_id in digest_ids])))).all())
    if not items:
        return []
    values: dict[str, object] = {"status": status, "finished_at": now}
    if status is DeliveryStatus.SENT:
        values |= {"sent_at": now, "last_error": None}
    else:
        values["last_error"] = f"the digest carrying it was not delivered: {reason or status.value}"[:2000]
    await session.exec(update(Delivery).where(col(Delivery.id).in_([item.id for item in items])).values(**values))
    return items


def compose_digest(items: list[tuple[str, str, str, datetime]]) -> RenderedContent:
    """The digest's subject and text: a line per item (category, subject, excerpt), the first ``LISTED_ITEMS``."""
    count = len(items)
    lines = [f"{count} notification{'s' if count != 1 else ''} since "
             f"{items[0][3]:%Y-%m-%d %H:%M} UTC:", ""]
    for category, subject, excerpt, created_at in items[:LISTED_ITEMS]:
        text = " ".join(excerpt.split())
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS - 1] + "…"
        title = " ".join(subject.split()) or "(no subject)"
        lines.append(f"- {created_at:%Y-%m-%d %H:%M} [{category}] {title}")
        if text and text != title:
            lines.append(f"  {text}")
    if count > LISTED_ITEMS:
        lines.append(f"... and {count - LISTED_ITEMS} more.")
    subject = f"Your digest: {count} notification{'s' if count != 1 else ''}"
    return RenderedContent(subject=subject, body="\n".join(lines), html=None)

