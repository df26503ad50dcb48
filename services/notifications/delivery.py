"""Executing deliveries: claim, send, record; retries on the schedule; abandoned sends; the due scan.

Mark-then-send: a delivery is claimed by compare-and-set (``queued`` → ``sending``, attempts + 1,
a lease) before the channel is called. If the worker dies during the send, the lease expires with
the row still ``sending``; the maintenance scan then marks it ``failed`` ("outcome unknown")
instead of sending again, because the message may have gone out. Channels that are safe to
repeat (``idempotent = True``, e.g. in_app) are queued again instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus, Notification, Priority
from models.user import Role, User
from services.db import open_session
from services.notifications import policy
from services.notifications.channels.base import ChannelFailed, OutgoingMessage, SendReceipt
from services.notifications.dispatch import get_delivery_queue
from services.notifications.lookup import ChannelLookup, registry_channel
from services.settings import get_settings

log = logging.getLogger(__name__)
OUTCOME_UNKNOWN = "outcome unknown after worker died: it may or may not have been sent; retry it by hand"
REDISPATCH_AFTER = timedelta(seconds=30)
LEASE_GRACE = timedelta(seconds=5)
ALERT_CATEGORY = "delivery-alert"
CANDIDATES = 5
_WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:notify"


async def deliver_next(*, channels: ChannelLookup = registry_channel, now: datetime | None = None) -> uuid.UUID | None:
    """Claim the most urgent due delivery and attempt it; its id, or None when nothing is due."""
    while True:
        moment = now or utcnow()
        async with open_session() as session:
            candidates = (await session.exec(select(Delivery.id).where(
                col(Delivery.status) == DeliveryStatus.QUEUED, col(Delivery.next_attempt_at) <= moment)
                .order_by(col(Delivery.priority_rank), col(Delivery.next_attempt_at)).limit(CANDIDATES))).all()
        if not candidates:
            return None
        for delivery_id in candidates:
            if await _claim(delivery_id, moment):
                await _attempt(delivery_id, channels)
                return delivery_id
        # every candidate was taken by another sender: look again


async def deliver(delivery_id: uuid.UUID, *, channels: ChannelLookup = registry_channel) -> DeliveryStatus | None:
    """Attempt one delivery if it is queued and due; its status afterwards (None: not claimed)."""
    if not await _claim(delivery_id, utcnow()):
        return None
    return await _attempt(delivery_id, channels)


async def _claim(delivery_id: uuid.UUID, now: datetime) -> bool:
    lease = timedelta(seconds=get_settings().notify_send_timeout_seconds) + LEASE_GRACE
    async with open_session() as session:
        claimed = await session.exec(update(Delivery).where(
            col(Delivery.id) == delivery_id, col(Delivery.status) == DeliveryStatus.QUEUED,
            col(Delivery.next_attempt_at) <= now)
            .values(status=DeliveryStatus.SENDING, attempts=col(Delivery.attempts) + 1, started_at=now,
                    lease_owner=_WORKER_ID, lease_expires_at=now + lease))
        await session.commit()
        return bool(claimed.rowcount == 1)


async def _attempt(delivery_id: uuid.UUID, channels: ChannelLookup) -> DeliveryStatus:
    async with open_session() as session:
        delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        notification = await session.get(Notification, delivery.notification_id)
        assert notification is not None
    try:
        channel = channels(delivery.channel)
        message = OutgoingMessage(
            recipient=notification.recipient, subject=notification.subject, text=notification.body,
            html=notification.html, priority=notification.priority.value,
            idempotency_key=notification.idempotency_key,
            metadata={"notification_id": str(notification.id), "delivery_id": str(delivery.id),
                      "category": notification.category, "run_id": str(notification.run_id or ""),
                      "node_id": notification.node_id or "", "attempt": delivery.attempts})
        await policy.wait_for_send_slot(delivery.channel)
        try:
            receipt = await asyncio.wait_for(channel.send(message), get_settings().notify_send_timeout_seconds)
        except TimeoutError as exc:
            raise ChannelFailed("the channel did not answer in time", retryable=True) from exc
    except ChannelFailed as exc:
        return await _record_failure(delivery, notification, exc.message, retryable=exc.retryable,
                                     retry_after=exc.retry_after)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug or a bad configuration: record it rather than loop
        log.exception("delivery %s failed unexpectedly", delivery_id)
        return await _record_failure(delivery, notification, f"{type(exc).__name__}: {exc}", retryable=False)
    return await _record_sent(delivery, receipt)


async def _record_sent(delivery: Delivery, receipt: SendReceipt) -> DeliveryStatus:
    now = utcnow()
    async with open_session() as session:
        await session.exec(update(Delivery).where(
            col(Delivery.id) == delivery.id, col(Delivery.status) == DeliveryStatus.SENDING)
            .values(status=DeliveryStatus.SENT, sent_at=now, finished_at=now, lease_owner=None,
                    lease_expires_at=None, provider_message_id=(receipt.provider_message_id or None),
                    response=receipt.response, last_error=None))
        await session.exec(update(Notification).where(
            col(Notification.id) == delivery.notification_id, col(Notification.delivered_at).is_(None))
            .values(delivered_at=now))
        await session.commit()
    return DeliveryStatus.SENT


async def _record_failure(delivery: Delivery, notification: Notification, reason: str, *, retryable: bool,
                          retry_after: float | None = None) -> DeliveryStatus:
    now = utcnow()
    delay = policy.next_retry_delay(delivery.attempts, retry_after) if retryable else None
    values: dict[str, Any] = {"last_error": reason[:2000], "lease_owner": None, "lease_expires_at": None}
    if delay is not None:
        status = DeliveryStatus.QUEUED
        values |= {"next_attempt_at": now + delay, "dispatched_at": None}
    else:
        status = DeliveryStatus.DEAD if retryable else DeliveryStatus.FAILED
        values |= {"finished_at": now, "next_attempt_at": None}
    async with open_session() as session:
        await session.exec(update(Delivery).where(
            col(Delivery.id) == delivery.id, col(Delivery.status) == DeliveryStatus.SENDING)
            .values(status=status, **values))
        await session.commit()
    if status is DeliveryStatus.DEAD and notification.category != ALERT_CATEGORY:
        await alert_admins(delivery, notification, reason)
    return status


async def alert_admins(delivery: Delivery, notification: Notification, reason: str) -> None:
    """An in-app notification to every active admin: this delivery gave up after its last attempt."""
    from services.notifications.schemas import SendContext, SendRequest
    from services.notifications.service import send

    async with open_session() as session:
        admins = (await session.exec(select(User.id).where(col(User.role) == Role.ADMIN,
                                                           col(User.is_active).is_(True)))).all()
    for admin_id in admins:
        request = SendRequest(
            channel="in_app", recipient=str(admin_id), category=ALERT_CATEGORY, priority=Priority.HIGH,
            subject=f"A {delivery.channel} notification could not be delivered",
            message=(f"Delivery to {notification.recipient} gave up after {delivery.attempts} attempts: {reason}. "
                     f"Notification {notification.id} can be retried from the Sent tab."),
            idempotency_key=f"dead:{delivery.id}:{delivery.attempts}:{admin_id}")
        try:
            async with open_session() as session:
                await send(None, request, session=session,
                           context=SendContext(run_id=notification.run_id, node_id=notification.node_id))
        except Exception:  # the dead delivery is recorded; a missing alert must not hide that
            log.warning("could not alert admin %s about dead delivery %s", admin_id, delivery.id, exc_info=True)


async def release_abandoned(*, channels: ChannelLookup = registry_channel, now: datetime | None = None) -> int:
    """Deliveries still ``sending`` after their lease: failed (outcome unknown), or queued again if idempotent."""
    moment = now or utcnow()
    async with open_session() as session:
        stale = (await session.exec(select(Delivery.id, Delivery.channel).where(
            col(Delivery.status) == DeliveryStatus.SENDING, col(Delivery.lease_expires_at) < moment).limit(500))).all()
        for delivery_id, channel_name in stale:
            try:
                repeatable = bool(getattr(channels(channel_name), "idempotent", False))
            except Exception:
                repeatable = False
            values: dict[str, Any] = (
                {"status": DeliveryStatus.QUEUED, "next_attempt_at": moment, "dispatched_at": None} if repeatable
                else {"status": DeliveryStatus.FAILED, "last_error": OUTCOME_UNKNOWN, "finished_at": moment})
            await session.exec(update(Delivery).where(
                col(Delivery.id) == delivery_id, col(Delivery.status) == DeliveryStatus.SENDING,
                col(Delivery.lease_expires_at) < moment).values(lease_owner=None, lease_expires_at=None, **values))
        await session.commit()
    return len(stale)


async def wake_due(*, now: datetime | None = None) -> int:
    """Hand due deliveries that no sender was told about (retries come due, queue lost a job) to the queue."""
    moment = now or utcnow()
    async with open_session() as session:
        due = (await session.exec(select(Delivery.id).where(
            col(Delivery.status) == DeliveryStatus.QUEUED, col(Delivery.next_attempt_at) <= moment,
            (col(Delivery.dispatched_at).is_(None)) | (col(Delivery.dispatched_at) < moment - REDISPATCH_AFTER))
            .limit(1000))).all()
        if not due:
            return 0
        await session.exec(update(Delivery).where(col(Delivery.id).in_(due))
                           .values(dispatched_at=moment))
        await session.commit()
    await get_delivery_queue().wake(len(due))
    return len(due)


async def run_maintenance() -> None:
    """The notification part of the maintenance loop (every second, any number of processes)."""
    await release_abandoned()
    await wake_due()
