"""Batched sending on both databases: one claim takes the most urgent due deliveries, concurrent senders
never send one twice, and a failure in a batch is recorded without holding back the others."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import select

from models.notification import Delivery, DeliveryStatus, Priority
from models.user import User
from services.db import open_session
from services.notifications import delivery
from services.notifications import service as notifications
from services.notifications.channels.base import ChannelFailed
from services.notifications.schemas import SendRequest
from tests.unit.services.notifications.conftest import CountingQueue, ScriptedChannel


async def send_many(editor: User, channels: Any, queue: CountingQueue, priorities: list[Priority]) -> None:
    async with open_session() as session:
        for index, priority in enumerate(priorities):
            await notifications.send(editor, SendRequest(channel="scripted", recipient=f"r{index}@example.com",
                                                         message=f"m{index}", priority=priority),
                                     session=session, channels=channels, queue=queue)


async def statuses() -> list[DeliveryStatus]:
    async with open_session() as session:
        return [d.status for d in (await session.exec(select(Delivery))).all()]


async def test_one_claim_takes_the_most_urgent_due_deliveries_first(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel) -> None:
    await send_many(editor, channels, queue, [Priority.LOW] * 4 + [Priority.URGENT, Priority.HIGH])
    attempted = await delivery.deliver_due(limit=2, channels=channels)
    assert len(attempted) == 2
    assert sorted(m.priority for m in scripted.sent) == ["high", "urgent"]
    assert sorted(await statuses()) == sorted([DeliveryStatus.SENT] * 2 + [DeliveryStatus.QUEUED] * 4)


async def test_concurrent_senders_send_each_delivery_once(editor: User, channels: Any, queue: CountingQueue,
                                                          scripted: ScriptedChannel) -> None:
    await send_many(editor, channels, queue, [Priority.NORMAL] * 35)

    async def sender() -> int:
        count = 0
        while attempted := await delivery.deliver_due(limit=4, channels=channels):
            count += len(attempted)
        return count

    assert sum(await asyncio.gather(*(sender() for _ in range(4)))) == 35
    assert sorted(m.text for m in scripted.sent) == sorted(f"m{i}" for i in range(35))
    assert set(await statuses()) == {DeliveryStatus.SENT}


async def test_a_failure_in_a_batch_is_recorded_and_the_rest_are_sent(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel) -> None:
    await send_many(editor, channels, queue, [Priority.NORMAL] * 3)
    scripted.failures = [ChannelFailed("550 no such mailbox", retryable=False)]
    assert len(await delivery.deliver_due(limit=10, channels=channels)) == 3
    assert sorted(await statuses()) == sorted([DeliveryStatus.FAILED] + [DeliveryStatus.SENT] * 2)
    assert len(scripted.sent) == 2
