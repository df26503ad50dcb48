"""Sending notifications: validate, render, record once (idempotency key), queue the delivery.

``send`` inserts the Notification and its Delivery in one transaction; the notification's
idempotency key is unique, so a repeated send finds the existing row and changes nothing. The
channel lookup and the delivery queue are parameters (defaults: the registry and the process's
queue), which is how tests use their own channels.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus, Notification
from models.user import User
from services import errors
from services.auth.audit import record_audit
from services.auth.permissions import Permission, allows, require
from services.notifications import preferences, rendering, templates
from services.notifications.channels.base import Channel, InvalidRecipient
from services.notifications.dispatch import DeliveryQueue, get_delivery_queue
from services.notifications.lookup import ChannelLookup, registry_channel
from services.notifications.schemas import (
    BulkProgress,
    BulkRequest,
    BulkSummary,
    DeliveryPublic,
    HistoryFilter,
    MessageContent,
    NotificationDetail,
    NotificationPublic,
    NotificationsPublic,
    RejectedRecipient,
    SendContext,
    SendRequest,
    SendResult,
)

IN_APP = "in_app"
BULK_CHUNK = 500
BULK_IDS = uuid.UUID("5b0f1c2e-7d4a-4c1e-9a3f-2e8d6b1a0c47")  # namespace of the ids of keyed bulk sends


def _channel(name: str, channels: ChannelLookup) -> Channel:
    try:
        return channels(name)
    except errors.ValidationFailed:
        raise
    except (LookupError, errors.DomainError) as exc:
        raise errors.ValidationFailed(f"channel: there is no notification channel {name!r}.",
                                      details=[{"field": "channel", "message": "unknown channel"}]) from exc


async def _render(content: MessageContent, session: AsyncSession) -> rendering.RenderedContent:
    if content.template is None:
        return rendering.compose(content.subject, content.message, content.html, content.variables)
    template = await templates.get(content.template.name, session=session, version=content.template.version)
    if template.channel != content.channel:
        raise errors.ValidationFailed(
            f"template: {template.name!r} is a {template.channel} template, not {content.channel}.",
            details=[{"field": "template.name", "message": f"written for {template.channel}"}])
    # The sample variables are the editor's examples, never stand-ins for what a send leaves out.
    rendering.require_variables({"subject": template.subject, "body": template.body, "html": template.html},
                                content.variables, where="variables", field_prefix=f"template {template.name!r} ")
    return rendering.compose(template.subject, template.body, template.html, content.variables, prefix="template.",
                             template_name=template.name, template_version=template.version)


def derived_key(channel: str, recipient: str, content: rendering.RenderedContent, context: SendContext) -> str:
    parts = (channel, recipient, content.subject, content.body, content.html or "", str(context.run_id or ""),
             context.node_id or "")
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


async def _users_by_address(addresses: Sequence[str], session: AsyncSession) -> dict[str, uuid.UUID]:
    """Users whose id or (lower-cased) email is in ``addresses``, keyed by that address."""
    ids = []
    for address in addresses:
        try:
            ids.append(uuid.UUID(address))
        except ValueError:
            continue
    emails = [a.lower() for a in addresses if "@" in a]
    found: dict[str, uuid.UUID] = {}
    if ids:
        for user_id in (await session.exec(select(User.id).where(col(User.id).in_(ids)))).all():
            found[str(user_id)] = user_id
    if emails:
        for user_id, email in (await session.exec(select(User.id, User.email).where(col(User.email).in_(emails)))):
            found[email] = user_id
    return found


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def record_notifications(rows: list[dict[str, Any]], decisions: dict[uuid.UUID, preferences.Decision],
                               rank: int, session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Insert notifications (skipping used keys) and a delivery for each new one; the deliveries by key.

    The caller commits. A delivery is due now, refused (opted out: ``failed``), held until quiet hours
    end, or held for the digest (``queued`` with no due time, see ``services.notifications.digest``).
    """
    if not rows:
        return {}
    table = Notification.__table__  # type: ignore[attr-defined]
    stmt = _insert(session)(table).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(
        table.c.id)
    connection = await session.connection()
    new_ids = {r[0] for r in (await connection.execute(stmt, rows)).all()} if len(rows) > 1 else {
        r[0] for r in (await connection.execute(stmt.values(rows[0]))).all()}
    now = utcnow()
    deliveries: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["id"] not in new_ids:
            continue
        decision = decisions.get(row["user_id"]) if row["user_id"] else None
        delivery: dict[str, Any] = {
            "id": uuid.uuid4(), "notification_id": row["id"], "channel": row["channel"], "priority_rank": rank,
            "status": DeliveryStatus.QUEUED, "attempts": 0, "next_attempt_at": now, "dispatched_at": now,
            "response": {}, "queued_at": now, "last_error": None, "finished_at": None}
        if decision is not None and not decision.allowed:
            delivery |= {"status": DeliveryStatus.FAILED, "last_error": decision.reason, "finished_at": now,
                         "next_attempt_at": None, "dispatched_at": None}
        elif decision is not None and decision.digest:
            delivery |= {"next_attempt_at": None, "dispatched_at": None, "response": {"digest": "pending"}}
        elif decision is not None and decision.not_before is not None:
            delivery |= {"next_attempt_at": decision.not_before, "dispatched_at": None}
        deliveries[row["idempotency_key"]] = delivery
    if deliveries:
        await connection.execute(Delivery.__table__.insert(), list(deliveries.values()))  # type: ignore[attr-defined]
    return deliveries


def notification_row(channel: str, recipient: str, user_id: uuid.UUID | None, key: str,
                     content: rendering.RenderedContent, request: MessageContent, context: SendContext,
                     actor: User | None) -> dict[str, Any]:
    """The ``notifications`` row for one rendered message (for ``record_notifications``)."""
    return {"id": uuid.uuid4(), "channel": channel, "recipient": recipient, "user_id": user_id,
            "category": request.category, "priority": request.priority, "subject": content.subject,
            "body": content.body, "html": content.html, "template_name": content.template_name,
            "template_version": content.template_version, "variables": request.variables, "idempotency_key": key,
            "run_id": context.run_id, "node_id": context.node_id, "bulk_id": None,
            "created_by": actor.id if actor is not None else None, "created_at": utcnow(), "delivered_at": None,
            "read_at": None, "archived_at": None}


async def _resolve(channel: Channel, recipient: str, users: dict[str, uuid.UUID]) -> tuple[str, uuid.UUID | None]:
    """The canonical recipient and the user it belongs to (in_app: must be a user)."""
    if channel.name == IN_APP:
        user_id = users.get(recipient.strip().lower()) or users.get(recipient.strip())
        if user_id is None:
            raise InvalidRecipient("recipient: an in-app notification goes to an existing user (id or email).",
                                   details=[{"field": "recipient", "message": "no such user"}])
        return str(user_id), user_id
    try:
        normalized = channel.normalize_recipient(recipient)
    except InvalidRecipient as exc:
        if not exc.details:
            exc.details = [{"field": "recipient", "message": exc.message}]
        raise
    return normalized, users.get(normalized.lower())


async def send(actor: User | None, request: SendRequest, *, session: AsyncSession, context: SendContext | None = None,
               channels: ChannelLookup = registry_channel, queue: DeliveryQueue | None = None) -> SendResult:
    """Record and queue one notification; a used idempotency key returns the existing one. ``actor`` None: system."""
    if actor is not None:
        require(actor.role, Permission.SEND_NOTIFICATIONS)
    context = context or SendContext()
    channel = _channel(request.channel, channels)
    address = request.recipient.strip()
    if not address and channel.name == IN_APP:
        default = context.default_user_id or (actor.id if actor is not None else None)
        address = str(default) if default else ""
    if not address:
        raise errors.ValidationFailed("recipient: say who receives the notification.",
                                      details=[{"field": "recipient", "message": "required"}])
    users = await _users_by_address([address], session)
    recipient, user_id = await _resolve(channel, address, users)
    content = await _render(request, session)
    key = request.idempotency_key or derived_key(channel.name, recipient, content, context)
    decisions = await preferences.decide_many([user_id] if user_id else [], category=request.category,
                                              channel=channel.name, priority=request.priority, session=session)
    row = notification_row(channel.name, recipient, user_id, key, content, request, context, actor)
    created = await record_notifications([row], decisions, request.priority.rank, session)
    if actor is not None and key in created:
        record_audit(session, "notification_sent", actor_id=actor.id, target=f"notification:{row['id']}",
                     details={"channel": channel.name})
    await session.commit()
    delivery = created.get(key)
    if delivery is None:
        return await _existing(key, session)
    due = delivery["dispatched_at"] is not None
    if due:
        await (queue or get_delivery_queue()).wake(1)
    note = preferences.HELD_FOR_DIGEST if held_for_digest(delivery) else delivery["last_error"]
    return SendResult(notification_id=row["id"], delivery_id=delivery["id"], status=delivery["status"],
                      duplicate=False, next_attempt_at=delivery["next_attempt_at"], note=note)


def held_for_digest(delivery: dict[str, Any]) -> bool:
    """Whether a delivery recorded by ``record_notifications`` waits for the digest."""
    return delivery["status"] is DeliveryStatus.QUEUED and delivery["next_attempt_at"] is None


async def _existing(key: str, session: AsyncSession) -> SendResult:
    found = (await session.exec(select(Notification, Delivery).join(
        Delivery, col(Delivery.notification_id) == col(Notification.id)).where(
        col(Notification.idempotency_key) == key))).first()
    if found is None:
        raise errors.Conflict("This idempotency key was used at the same moment; send again to see its result.")
    notification, delivery = found
    return SendResult(notification_id=notification.id, delivery_id=delivery.id, status=delivery.status,
                      duplicate=True, next_attempt_at=delivery.next_attempt_at, note="idempotency key already used")


async def bulk(actor: User, request: BulkRequest, *, session: AsyncSession, channels: ChannelLookup = registry_channel,
               queue: DeliveryQueue | None = None) -> BulkSummary:
    """One message to many recipients, recorded in chunks (each chunk one transaction); counts per outcome."""
    require(actor.role, Permission.SEND_NOTIFICATIONS)
    channel = _channel(request.channel, channels)
    content = await _render(request, session)
    context = SendContext()
    bulk_id = (uuid.uuid5(BULK_IDS, f"{actor.id}:{channel.name}:{request.idempotency_key}") if request.idempotency_key
               else uuid.uuid4())
    summary = BulkSummary(id=bulk_id, requested=len(request.recipients), queued=0, held_for_digest=0, duplicates=0,
                          failed=0, rejected=0)
    for start in range(0, len(request.recipients), BULK_CHUNK):
        chunk = [r.strip() for r in request.recipients[start:start + BULK_CHUNK]]
        users = await _users_by_address(chunk, session)
        rows = []
        seen: set[str] = set()
        for address in chunk:
            try:
                recipient, user_id = await _resolve(channel, address, users)
            except InvalidRecipient as exc:
                summary.rejected += 1
                if len(summary.rejected_examples) < 100:
                    summary.rejected_examples.append(RejectedRecipient(recipient=address[:500], message=exc.message))
                continue
            key = (f"{request.idempotency_key}:{channel.name}:{recipient}" if request.idempotency_key
                   else derived_key(channel.name, recipient, content, context))
            if key in seen:
                summary.duplicates += 1
                continue
            seen.add(key)
            row = notification_row(channel.name, recipient, user_id, key, content, request, context, actor)
            rows.append(row | {"bulk_id": bulk_id})
        decisions = await preferences.decide_many({r["user_id"] for r in rows if r["user_id"]},
                                                  category=request.category, channel=channel.name,
                                                  priority=request.priority, session=session)
        created = await record_notifications(rows, decisions, request.priority.rank, session)
        if start == 0:
            record_audit(session, "notification_bulk_sent", actor_id=actor.id, target=f"channel:{channel.name}",
                         details={"recipients": len(request.recipients)})
        await session.commit()
        summary.duplicates += len(rows) - len(created)
        summary.failed += sum(d["status"] is DeliveryStatus.FAILED for d in created.values())
        summary.queued += sum(d["status"] is DeliveryStatus.QUEUED for d in created.values())
        summary.held_for_digest += sum(held_for_digest(d) for d in created.values())
        due = sum(d["dispatched_at"] is not None for d in created.values())
        if due:
            await (queue or get_delivery_queue()).wake(due)
    return summary


async def bulk_progress(actor: User, bulk_id: uuid.UUID, *, session: AsyncSession) -> BulkProgress:
    """A bulk send's deliveries counted by status: admins see any bulk, others the ones they sent."""
    require(actor.role, Permission.SEND_NOTIFICATIONS)
    held = (col(Delivery.status) == DeliveryStatus.QUEUED) & col(Delivery.next_attempt_at).is_(None)
    query = (select(Notification.channel, Delivery.status, func.count(), func.sum(case((held, 1), else_=0)))
             .join(Delivery, col(Delivery.notification_id) == col(Notification.id))
             .where(col(Notification.bulk_id) == bulk_id).group_by(col(Notification.channel), col(Delivery.status)))
    if not allows(actor.role, Permission.ADMINISTER):
        query = query.where(col(Notification.created_by) == actor.id)
    rows = (await session.exec(query)).all()
    if not rows:
        raise errors.NotFound("There is no such bulk send (or it is not yours).")
    counts = {status: int(count) for _channel, status, count, _held in rows}
    pending = sum(counts.get(s, 0) for s in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.DIGESTED))
    held_count = sum(int(held_in_group or 0) for *_group, held_in_group in rows)
    return BulkProgress(id=bulk_id, channel=rows[0][0], total=sum(counts.values()),
                        queued=counts.get(DeliveryStatus.QUEUED, 0), held_for_digest=held_count,
                        sending=counts.get(DeliveryStatus.SENDING, 0), sent=counts.get(DeliveryStatus.SENT, 0),
                        failed=counts.get(DeliveryStatus.FAILED, 0), dead=counts.get(DeliveryStatus.DEAD, 0),
                        digested=counts.get(DeliveryStatus.DIGESTED, 0), done=pending == 0)


async def _get_visible(actor: User, notification_id: uuid.UUID, session: AsyncSession) -> Notification:
    notification = await session.get(Notification, notification_id)
    if notification is None or not (allows(actor.role, Permission.ADMINISTER) or notification.created_by == actor.id
                                     or notification.user_id == actor.id):
        raise errors.NotFound("There is no such notification (or it is not yours).")
    return notification


async def get(actor: User, notification_id: uuid.UUID, *, session: AsyncSession) -> NotificationDetail:
    """A notification with its deliveries: admins see all, others what they sent or received."""
    notification = await _get_visible(actor, notification_id, session)
    deliveries = (await session.exec(select(Delivery).where(col(Delivery.notification_id) == notification_id)
                                     .order_by(col(Delivery.queued_at)))).all()
    public = NotificationPublic.model_validate(notification).model_dump()
    public["status"] = deliveries[-1].status if deliveries else None
    return NotificationDetail(**public, variables=notification.variables,
                              idempotency_key=notification.idempotency_key,
                              deliveries=[DeliveryPublic.model_validate(d).model_copy(update={
                                  "run_id": notification.run_id, "node_id": notification.node_id})
                                  for d in deliveries])


async def history(actor: User, filters: HistoryFilter, *, session: AsyncSession) -> NotificationsPublic:
    """Sent notifications, newest first: all of them for admins, the caller's own for others."""
    require(actor.role, Permission.SEND_NOTIFICATIONS)
    query = select(Notification, Delivery.status).join(Delivery, col(Delivery.notification_id) == col(Notification.id))
    if not allows(actor.role, Permission.ADMINISTER):
        query = query.where(col(Notification.created_by) == actor.id)
    if filters.channel:
        query = query.where(col(Notification.channel) == filters.channel)
    if filters.status:
        query = query.where(col(Delivery.status) == filters.status)
    if filters.since:
        query = query.where(col(Notification.created_at) >= filters.since)
    if filters.until:
        query = query.where(col(Notification.created_at) < filters.until)
    if filters.run_id:
        query = query.where(col(Notification.run_id) == filters.run_id)
    count = int((await session.exec(select(func.count()).select_from(query.subquery()))).one())
    rows = (await session.exec(query.order_by(col(Notification.created_at).desc())
                               .offset(filters.offset).limit(filters.limit))).all()
    data = [NotificationPublic.model_validate(n).model_copy(update={"status": s}) for n, s in rows]
    return NotificationsPublic(data=data, count=count)


async def retry(actor: User, notification_id: uuid.UUID, *, session: AsyncSession,
                queue: DeliveryQueue | None = None, now: datetime | None = None) -> SendResult:
    """Queue a failed or dead delivery again with a fresh attempt schedule."""
    require(actor.role, Permission.SEND_NOTIFICATIONS)
    notification = await _get_visible(actor, notification_id, session)
    moment = now or utcnow()
    result = await session.exec(update(Delivery).where(
        col(Delivery.notification_id) == notification.id,
        col(Delivery.status).in_([DeliveryStatus.FAILED, DeliveryStatus.DEAD]))
        .values(status=DeliveryStatus.QUEUED, attempts=0, next_attempt_at=moment, dispatched_at=moment,
                finished_at=None))
    if result.rowcount == 0:
        await session.rollback()
        raise errors.Conflict("Only a failed or dead delivery can be retried; this one is queued, sending or sent.")
    record_audit(session, "notification_retried", actor_id=actor.id, target=f"notification:{notification.id}")
    await session.commit()
    # Read before waking: a sender may pick it up at once, and the answer is "queued again".
    delivery = (await session.exec(select(Delivery).where(col(Delivery.notification_id) == notification.id))).first()
    assert delivery is not None
    await (queue or get_delivery_queue()).wake(1)
    return SendResult(notification_id=notification.id, delivery_id=delivery.id, status=delivery.status,
                      duplicate=False, next_attempt_at=delivery.next_attempt_at)
