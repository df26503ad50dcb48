"""Digest mode on both databases: low-priority sends are held, then batched into one message per period
per user and channel, which goes out through the ordinary delivery path."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus, Notification, NotificationPreference, Priority
from models.user import Role, User
from services.db import open_session
from services.notifications import delivery, digest, inbox, preferences
from services.notifications import service as notifications
from services.notifications.schemas import BulkRequest, SendRequest
from tests.unit.services.notifications.conftest import CountingQueue, ScriptedChannel, make_user

DAY = timedelta(days=1)


async def digest_user(*rules: preferences.PreferenceRule,
                      quiet: preferences.QuietHours | None = None) -> User:
    user = await make_user(Role.VIEWER)
    async with open_session() as session:
        await preferences.put(user, preferences.Preferences(rules=list(rules), quiet_hours=quiet), session=session)
    return user


async def send(actor: User, channels: Any, queue: CountingQueue, **fields: Any) -> Any:
    request = SendRequest(**{"channel": "scripted", "subject": "Hi", "message": "Hello", "priority": "low",
                             "category": "reports", **fields})
    async with open_session() as session:
        return await notifications.send(actor, request, session=session, channels=channels, queue=queue)


async def deliveries_of(notification_ids: list[uuid.UUID]) -> list[Delivery]:
    async with open_session() as session:
        return list((await session.exec(select(Delivery).where(
            col(Delivery.notification_id).in_(notification_ids)))).all())


async def digests() -> list[Notification]:
    async with open_session() as session:
        return list((await session.exec(select(Notification).where(
            col(Notification.category) == digest.DIGEST_CATEGORY).order_by(col(Notification.created_at)))).all())


async def test_low_priority_sends_in_digest_mode_are_held_and_batched_into_one_digest(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel) -> None:
    reader = await digest_user(preferences.PreferenceRule(category="reports", channel="scripted", digest=True))
    held = [await send(editor, channels, queue, recipient=reader.email, subject=f"Report {n}",
                       message=f"Body of report {n}") for n in range(3)]
    assert all(r.status is DeliveryStatus.QUEUED and r.next_attempt_at is None for r in held)
    assert {r.note for r in held} == {preferences.HELD_FOR_DIGEST}
    assert queue.wakes == 0 and await delivery.deliver_next(channels=channels) is None
    assert await delivery.wake_due() == 0  # held items are never due on their own

    assert await digest.send_due_digests(queue=queue) == 0  # the window is still open
    assert await digest.send_due_digests(now=utcnow() + DAY, queue=queue) == 1
    assert await digest.send_due_digests(now=utcnow() + DAY, queue=queue) == 0  # each item is batched once
    [batch] = await digests()
    assert (batch.recipient, batch.user_id, batch.priority) == (reader.email, reader.id, Priority.LOW)
    assert batch.subject == "Your digest: 3 notifications"
    assert next(line for line in batch.body.splitlines() if line.startswith("- ")).endswith("[reports] Report 0")
    assert "Body of report 2" in batch.body
    items = await deliveries_of([r.notification_id for r in held])
    assert {(d.status, d.provider_message_id, d.response["digest"], d.sent_at) for d in items} == {
        (DeliveryStatus.DIGESTED, str(batch.id), str(batch.id), None)}  # batched, not sent: nothing went out yet
    assert queue.wakes == 1
    sent = await delivery.deliver_next(channels=channels)
    assert sent is not None and await delivery.deliver_next(channels=channels) is None
    assert [m.subject for m in scripted.sent] == ["Your digest: 3 notifications"]
    assert scripted.sent[0].recipient == reader.email.lower()
    [digest_delivery] = await deliveries_of([batch.id])
    items = await deliveries_of([r.notification_id for r in held])
    assert {(d.status, d.sent_at) for d in items} == {(DeliveryStatus.SENT, digest_delivery.sent_at)}


async def test_items_of_a_digest_that_dies_die_with_it_and_are_sent_when_it_is_retried(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from services.notifications.channels.base import ChannelFailed
    from services.notifications.dispatch import use_delivery_queue
    from tests.settings_env import configure

    reader = await digest_user(preferences.PreferenceRule(category="reports", channel="scripted", digest=True))
    held = [await send(editor, channels, queue, recipient=reader.email, subject=f"Report {n}") for n in range(2)]
    assert await digest.send_due_digests(now=utcnow() + DAY, queue=queue) == 1
    [batch] = await digests()
    configure(monkeypatch, NOTIFY_RETRY_SCHEDULES="scripted=0")  # one attempt: the first failure is the last
    scripted.failures = [ChannelFailed("relay down", retryable=True)]
    use_delivery_queue(CountingQueue())  # the dead-letter alert to admins is queued here, not sent
    try:
        assert await delivery.deliver_next(channels=channels) is not None
    finally:
        use_delivery_queue(None)
    items = await deliveries_of([r.notification_id for r in held])
    assert {d.status for d in items} == {DeliveryStatus.DEAD}
    assert all(d.last_error and "relay down" in d.last_error for d in items)
    async with open_session() as session:
        history = await notifications.history(editor, notifications.HistoryFilter(status=DeliveryStatus.DEAD),
                                              session=session)
    assert {item.id for item in history.data} >= {r.notification_id for r in held}

    admin = await make_user(Role.ADMIN)
    async with open_session() as session:  # from the Sent tab: the digest, not its items, is retried
        await notifications.retry(admin, batch.id, session=session, queue=queue)
    assert await delivery.deliver_next(channels=channels) is not None
    assert {d.status for d in await deliveries_of([r.notification_id for r in held])} == {DeliveryStatus.SENT}


async def test_only_low_priority_goes_to_the_digest_and_urgent_never(
        editor: User, channels: Any, queue: CountingQueue) -> None:
    reader = await digest_user(preferences.PreferenceRule(category="*", channel="scripted", digest=True))
    other = await make_user(Role.VIEWER)  # no preferences: sent at once
    results = {priority: await send(editor, channels, queue, recipient=reader.email, priority=priority,
                                    message=priority) for priority in ("low", "normal", "high", "urgent")}
    assert results["low"].note == preferences.HELD_FOR_DIGEST
    assert all(results[p].next_attempt_at is not None for p in ("normal", "high", "urgent"))
    assert (await send(editor, channels, queue, recipient=other.email)).next_attempt_at is not None
    assert queue.wakes == 4


def test_an_opt_out_wins_over_digest_and_the_digest_itself_is_never_held() -> None:
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    rows = [NotificationPreference(user_id=uuid.uuid4(), category="reports", channel="*", digest=True),
            NotificationPreference(user_id=uuid.uuid4(), category="reports", channel="email", enabled=False)]
    low = {"category": "reports", "priority": Priority.LOW, "now": now}
    assert preferences.decide(rows, channel="sms", **low).digest
    assert not preferences.decide(rows, channel="email", **low).allowed
    assert not preferences.decide(rows, channel="sms", allow_digest=False, **low).digest
    assert not preferences.decide(rows, channel="sms", category="reports", priority=Priority.URGENT, now=now).digest


async def test_each_user_and_channel_gets_its_own_digest_and_in_app_shows_only_the_digest(
        editor: User, channels: Any, queue: CountingQueue) -> None:
    first = await digest_user(preferences.PreferenceRule(category="*", channel="*", digest=True))
    second = await digest_user(preferences.PreferenceRule(category="*", channel="*", digest=True))
    for n in range(2):
        for user in (first, second):
            await send(editor, channels, queue, recipient=str(user.id), channel="in_app", message=f"in-app {n}")
        await send(editor, channels, queue, recipient=first.email, message=f"scripted {n}")
    assert await digest.send_due_digests(now=utcnow() + DAY, queue=queue) == 3
    assert {(d.user_id, d.channel, d.subject) for d in await digests()} == {
        (first.id, "in_app", "Your digest: 2 notifications"), (second.id, "in_app", "Your digest: 2 notifications"),
        (first.id, "scripted", "Your digest: 2 notifications")}
    while await delivery.deliver_next(channels=channels) is not None:
        pass
    async with open_session() as session:
        page = await inbox.get_all(first, inbox.InboxFilter(), session=session)
    assert (page.unread, [item.category for item in page.data]) == (1, [digest.DIGEST_CATEGORY])
    assert "in-app 0" in page.data[0].body and "in-app 1" in page.data[0].body


async def test_concurrent_maintenance_loops_batch_each_item_once(editor: User, channels: Any,
                                                                 queue: CountingQueue) -> None:
    reader = await digest_user(preferences.PreferenceRule(category="*", channel="*", digest=True))
    async with open_session() as session:
        summary = await notifications.bulk(editor, BulkRequest(
            channel="in_app", recipients=[reader.email], subject="S", message="M", priority=Priority.LOW),
            session=session, channels=channels, queue=queue)
    assert (summary.queued, summary.held_for_digest) == (1, 1)
    for n in range(20):
        await send(editor, channels, queue, recipient=str(reader.id), channel="in_app", message=f"m{n}")
    later = utcnow() + DAY + timedelta(minutes=1)
    counts = await asyncio.gather(*(digest.send_due_digests(now=later, queue=queue) for _ in range(4)))
    assert sum(counts) == 1
    [batch] = await digests()
    assert batch.subject == "Your digest: 21 notifications"


async def test_the_digest_waits_for_quiet_hours_and_a_long_backlog_lists_the_first_items(
        editor: User, channels: Any, queue: CountingQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest, "LISTED_ITEMS", 3)
    later = utcnow() + DAY + timedelta(minutes=1)
    quiet = preferences.QuietHours(start=f"{later - timedelta(hours=1):%H:%M}",
                                   end=f"{later + timedelta(hours=1):%H:%M}", timezone="UTC")
    reader = await digest_user(preferences.PreferenceRule(category="*", channel="*", digest=True), quiet=quiet)
    for n in range(5):
        await send(editor, channels, queue, recipient=reader.email, message=f"m{n}")
    assert await digest.send_due_digests(now=later, queue=queue) == 1
    [batch] = await digests()
    assert batch.body.endswith("... and 2 more.") and "m2" in batch.body and "m3" not in batch.body
    [held] = await deliveries_of([batch.id])
    assert held.status is DeliveryStatus.QUEUED and held.next_attempt_at is not None
    assert queue.wakes == 0  # due when the quiet hours end, through the ordinary due scan
