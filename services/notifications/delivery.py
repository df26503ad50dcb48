"""Executing deliveries: claim, send, record; retries on the schedule; abandoned sends; the due scan.

Mark-then-send: a delivery is claimed by compare-and-set (``queued`` → ``sending``, attempts + 1,
a lease) before the channel is called. If the worker dies during the send, the lease expires with
the row still ``sending``; the maintenance scan then marks it ``failed`` ("outcome unknown")
instead of sending again, because the message may have gone out. Channels that are safe to
repeat (``idempotent = True``: in_app, and webhooks, whose receivers deduplicate on the idempotency
key) are queued again instead, so they are delivered exactly once. A ``queued`` delivery with no
due time is held for a digest (``services.notifications.digest``): nothing here picks it up.

A channel's send rate (``NOTIFY_RATE_LIMITS``) is waited for inside the claim, but never past what the
lease allows with the send's own timeout set aside: a delivery whose slot is further away goes back to
``queued``, due when the slot is, without counting an attempt, so that a backlog on a slow relay can
never make a send outlive its lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus, Notification, Priority
from models.user import Role, User
from services.analytics.hooks import record_delivery
from services.db import open_session
from services.notifications import policy, rate_limits
from services.notifications.channels.base import Channel, ChannelFailed, OutgoingMessage, SendReceipt
from services.notifications.digest import DIGEST_CATEGORY, settle_items
from services.notifications.dispatch import get_delivery_queue
from services.notifications.lookup import ChannelLookup, registry_channel
from services.settings import get_settings

log = logging.getLogger(__name__)
OUTCOME_UNKNOWN = "outcome unknown after worker died: it may or may not have been sent; retry it by hand"
REDISPATCH_AFTER = timedelta(seconds=30)
LEASE_GRACE = timedelta(seconds=5)
LEASE_MARGIN_SECONDS = 1.0  # kept free at the end of a lease after waiting for a send slot
ALERT_CATEGORY = "delivery-alert"
CLAIM_BATCH = 10  # deliveries one sender claims, sends concurrently and records together
_WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:notify"
DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]
Claimed = tuple[Delivery, Notification]


async def deliver_next(*, channels: ChannelLookup = registry_channel, now: datetime | None = None) -> uuid.UUID | None:
    """Claim the most urgent due delivery and attempt it; its id, or None when nothing is due."""
    attempted = await deliver_due(limit=1, channels=channels, now=now)
    return attempted[0] if attempted else None


async def deliver_due(*, limit: int = CLAIM_BATCH, channels: ChannelLookup = registry_channel,
                      now: datetime | None = None) -> list[uuid.UUID]:
    """Claim up to ``limit`` of the most urgent due deliveries and attempt them; their ids (empty: none due).

    One transaction claims the batch, the sends run concurrently, one transaction records the sent
    ones: per-delivery transactions were where the time went (SQLite serialises every write).
    """
    while True:
        claimed, candidates = await _claim_due(limit, now or utcnow())
        if claimed:
            await _attempt_all(claimed, channels)
            return [delivery.id for delivery, _notification in claimed]
        if not candidates:
            return []
        # every candidate was taken by another sender: look again


async def deliver(delivery_id: uuid.UUID, *, channels: ChannelLookup = registry_channel) -> DeliveryStatus | None:
    """Attempt one delivery if it is queued and due; its status afterwards (None: not claimed)."""
    claimed = await _claim(delivery_id, utcnow())
    if claimed is None:
        return None
    return (await _attempt_all([claimed], channels))[0]


def _lease(now: datetime) -> dict[str, Any]:
    """The claim's column values; the owner names this process and this claim, so the claim can be read back."""
    lease = timedelta(seconds=get_settings().notify_send_timeout_seconds) + LEASE_GRACE
    return {"status": DeliveryStatus.SENDING, "attempts": col(Delivery.attempts) + 1, "started_at": now,
            "lease_owner": f"{_WORKER_ID}:{uuid.uuid4().hex[:12]}"[:100], "lease_expires_at": now + lease}


async def _claimed_rows(session: AsyncSession, owner: str) -> list[Claimed]:
    rows = (await session.exec(select(Delivery, Notification).join(
        Notification, col(Notification.id) == col(Delivery.notification_id)).where(
        col(Delivery.lease_owner) == owner, col(Delivery.status) == DeliveryStatus.SENDING)
        .order_by(col(Delivery.priority_rank), col(Delivery.next_attempt_at)))).all()
    return [(delivery, notification) for delivery, notification in rows]


async def _claim_due(limit: int, now: datetime) -> tuple[list[Claimed], int]:
    """Compare-and-set up to ``limit`` due deliveries to ``sending`` in one transaction; (claimed, candidates)."""
    values = _lease(now)
    async with open_session() as session:
        # SKIP LOCKED: concurrent senders on PostgreSQL take different rows instead of queueing on the same
        # ones (SQLite ignores it; there a write transaction holds the whole database anyway).
        candidates = (await session.exec(select(Delivery.id).where(
            col(Delivery.status) == DeliveryStatus.QUEUED, col(Delivery.next_attempt_at) <= now)
            .order_by(col(Delivery.priority_rank), col(Delivery.next_attempt_at)).limit(limit)
            .with_for_update(skip_locked=True))).all()
        if not candidates:
            return [], 0
        await session.exec(update(Delivery).where(
            col(Delivery.id).in_(candidates), col(Delivery.status) == DeliveryStatus.QUEUED,
            col(Delivery.next_attempt_at) <= now).values(**values))
        claimed = await _claimed_rows(session, values["lease_owner"])
        await session.commit()
    return claimed, len(candidates)


async def _claim(delivery_id: uuid.UUID, now: datetime) -> Claimed | None:
    values = _lease(now)
    async with open_session() as session:
        await session.exec(update(Delivery).where(
            col(Delivery.id) == delivery_id, col(Delivery.status) == DeliveryStatus.QUEUED,
            col(Delivery.next_attempt_at) <= now).values(**values))
        claimed = await _claimed_rows(session, values["lease_owner"])
        await session.commit()
    return claimed[0] if claimed else None


@dataclass(frozen=True, slots=True)
class Deferred:
    """No send slot within the lease: not attempted, due again in ``retry_in`` seconds."""

    retry_in: float


@dataclass(slots=True)
class Attempt:
    """One send's outcome, with the channel and message that ``after_recorded`` needs."""

    outcome: SendReceipt | ChannelFailed | Deferred
    channel: Channel | None = None
    message: OutgoingMessage | None = None


async def _attempt_all(claimed: list[Claimed], channels: ChannelLookup) -> list[DeliveryStatus]:
    """Send the claimed deliveries concurrently, then record them: the sent ones in one transaction."""
    attempts = await asyncio.gather(*(_send(delivery, notification, channels) for delivery, notification in claimed))
    outcomes = [attempt.outcome for attempt in attempts]
    await _record_sent([(delivery, outcome) for (delivery, _n), outcome in zip(claimed, outcomes, strict=True)
                        if isinstance(outcome, SendReceipt)],
                       digests=[n.id for (_d, n), outcome in zip(claimed, outcomes, strict=True)
                                if isinstance(outcome, SendReceipt) and n.category == DIGEST_CATEGORY])
    for attempt in attempts:
        if isinstance(attempt.outcome, SendReceipt) and attempt.channel is not None and attempt.message is not None:
            try:
                await attempt.channel.after_recorded(attempt.message, attempt.outcome)
            except Exception:  # the delivery is recorded sent; a lost follow-up (a live push) must not undo that
                log.warning("after-send step of %s failed", attempt.channel.name, exc_info=True)
    statuses = []
    for (delivery, notification), outcome in zip(claimed, outcomes, strict=True):
        if isinstance(outcome, SendReceipt):
            statuses.append(DeliveryStatus.SENT)
        elif isinstance(outcome, Deferred):
            statuses.append(await _record_deferred(delivery, outcome.retry_in))
        else:
            statuses.append(await _record_failure(delivery, notification, outcome.message,
                                                  retryable=outcome.retryable, retry_after=outcome.retry_after))
    return statuses


async def _send(delivery: Delivery, notification: Notification, channels: ChannelLookup) -> Attempt:
    """One attempt on the channel: the receipt, or the failure to record (never raises but for cancellation)."""
    channel: Channel | None = None
    message: OutgoingMessage | None = None
    try:
        channel = channels(delivery.channel)
        message = OutgoingMessage(
            recipient=notification.recipient, subject=notification.subject, text=notification.body,
            html=notification.html, priority=notification.priority.value,
            idempotency_key=notification.idempotency_key,
            metadata={"notification_id": str(notification.id), "delivery_id": str(delivery.id),
                      "category": notification.category, "run_id": str(notification.run_id or ""),
                      "node_id": notification.node_id or "", "attempt": delivery.attempts})
        timeout = get_settings().notify_send_timeout_seconds
        retry_in = await rate_limits.wait_for_send_slot(delivery.channel, max_wait=_slot_budget(delivery, timeout))
        if retry_in is not None:
            return Attempt(Deferred(retry_in))
        try:
            receipt = await asyncio.wait_for(channel.send(message), timeout)
        except TimeoutError as exc:
            raise ChannelFailed("the channel did not answer in time", retryable=True) from exc
        return Attempt(receipt, channel, message)
    except ChannelFailed as exc:
        return Attempt(exc)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug or a bad configuration: record it rather than loop
        log.exception("delivery %s failed unexpectedly", delivery.id)
        return Attempt(ChannelFailed(f"{type(exc).__name__}: {exc}", retryable=False))


def _slot_budget(delivery: Delivery, send_timeout: float) -> float:
    """Seconds this claim may wait for a send slot and still finish the send inside its lease."""
    if delivery.lease_expires_at is None:
        return 0.0
    left = (delivery.lease_expires_at - utcnow()).total_seconds()
    return max(0.0, left - send_timeout - LEASE_MARGIN_SECONDS)


async def _record_deferred(delivery: Delivery, retry_in: float) -> DeliveryStatus:
    """Put a claimed delivery back, due when its send slot is; the claim did not count as an attempt."""
    async with open_session() as session:
        await session.exec(update(Delivery).where(
            col(Delivery.id) == delivery.id, col(Delivery.status) == DeliveryStatus.SENDING,
            col(Delivery.lease_owner) == delivery.lease_owner).values(
            status=DeliveryStatus.QUEUED, attempts=col(Delivery.attempts) - 1, lease_owner=None,
            lease_expires_at=None, next_attempt_at=utcnow() + timedelta(seconds=retry_in), dispatched_at=None))
        await session.commit()
    return DeliveryStatus.QUEUED


async def _record_sent(sent: list[tuple[Delivery, SendReceipt]], *, digests: list[uuid.UUID]) -> None:
    """Mark the sent deliveries (and the items of the digests among them) sent, in one transaction."""
    if not sent:
        return
    now = utcnow()
    mark_sent = DELIVERIES.update().where(
        DELIVERIES.c.id == bindparam("delivery_id"), DELIVERIES.c.status == DeliveryStatus.SENDING).values(
        status=DeliveryStatus.SENT, sent_at=now, finished_at=now, lease_owner=None, lease_expires_at=None,
        provider_message_id=bindparam("message_id"), response=bindparam("receipt"), last_error=None)
    async with open_session() as session:
        connection = await session.connection()
        await connection.execute(mark_sent, [
            {"delivery_id": delivery.id, "message_id": receipt.provider_message_id or None,
             "receipt": receipt.response} for delivery, receipt in sent])
        await session.exec(update(Notification).where(
            col(Notification.id).in_([delivery.notification_id for delivery, _receipt in sent]),
            col(Notification.delivered_at).is_(None)).values(delivered_at=now))
        items = await settle_items(session, digests, DeliveryStatus.SENT, now) if digests else []
        await session.commit()
    for delivery, _receipt in sent:
        record_delivery(delivery, DeliveryStatus.SENT)
    for item in items:
        record_delivery(item, DeliveryStatus.SENT)


async def _record_failure(delivery: Delivery, notification: Notification, reason: str, *, retryable: bool,
                          retry_after: float | None = None) -> DeliveryStatus:
    now = utcnow()
    delay = policy.next_retry_delay(delivery.attempts, retry_after, channel=delivery.channel) if retryable else None
    values: dict[str, Any] = {"last_error": reason[:2000], "lease_owner": None, "lease_expires_at": None}
    if delay is not None:
        status = DeliveryStatus.QUEUED
        values |= {"next_attempt_at": now + delay, "dispatched_at": None}
    else:
        status = DeliveryStatus.DEAD if retryable else DeliveryStatus.FAILED
        values |= {"finished_at": now, "next_attempt_at": None}
    items: list[Delivery] = []
    async with open_session() as session:
        await session.exec(update(Delivery).where(
            col(Delivery.id) == delivery.id, col(Delivery.status) == DeliveryStatus.SENDING)
            .values(status=status, **values))
        if status is not DeliveryStatus.QUEUED and notification.category == DIGEST_CATEGORY:
            items = await settle_items(session, [notification.id], status, now, reason)
        await session.commit()
    record_delivery(delivery, status, user_id=notification.user_id, reason=reason)
    for item in items:
        record_delivery(item, status, user_id=notification.user_id, reason=reason)
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
    from services.notifications.digest import send_due_digests

    await release_abandoned()
    await send_due_digests()
    await wake_due()
