"""A channel's send rate inside a claim: a slot within the lease is waited for; one beyond it puts the delivery
back, due at its slot, unattempted, so a backlog on a slow relay never makes a send outlive its lease (which
the abandoned-send scan would mark "outcome unknown" while it still goes out)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus
from models.user import User
from services.db import open_session
from services.notifications import delivery, rate_limits
from services.notifications import service as notifications
from services.notifications.schemas import SendRequest
from tests.settings_env import SetEnv, settings_env
from tests.unit.services.notifications.conftest import CountingQueue, ScriptedChannel


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetEnv]:
    rate_limits._buckets.cache_clear()
    yield from settings_env(monkeypatch, ["NOTIFY_RATE_LIMITS", "NOTIFY_SEND_TIMEOUT_SECONDS", "REDIS_URL"])
    rate_limits._buckets.cache_clear()


async def _backlog(editor: User, channels: Any, count: int) -> None:
    async with open_session() as session:
        for index in range(count):
            await notifications.send(editor, SendRequest(channel="scripted", recipient=f"r{index}@example.com",
                                                         message=f"m{index}"),
                                     session=session, channels=channels, queue=CountingQueue())


async def _rows() -> list[Delivery]:
    async with open_session() as session:
        return list((await session.exec(select(Delivery).order_by(col(Delivery.attempts).desc()))).all())


async def test_a_slot_beyond_the_lease_puts_the_delivery_back_unattempted(
        editor: User, channels: Any, scripted: ScriptedChannel, env: SetEnv) -> None:
    env(NOTIFY_RATE_LIMITS="scripted=1/m", NOTIFY_SEND_TIMEOUT_SECONDS="2")  # lease: 2 s + 5 s grace
    await _backlog(editor, channels, 3)
    started, before = time.monotonic(), utcnow()

    attempted = await delivery.deliver_due(channels=channels)

    assert len(attempted) == 3 and len(scripted.sent) == 1
    assert time.monotonic() - started < 3  # nobody sat out the minute inside a lease
    sent, *deferred = await _rows()
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 1)
    for row in deferred:
        assert (row.status, row.attempts, row.lease_owner, row.last_error) == (DeliveryStatus.QUEUED, 0, None, None)
        assert row.next_attempt_at is not None
        assert timedelta(seconds=55) <= row.next_attempt_at - before <= timedelta(seconds=61)  # its slot
    assert await delivery.deliver_due(channels=channels) == []  # not due before the slot
    assert await delivery.release_abandoned(channels=channels, now=utcnow() + timedelta(minutes=5)) == 0


async def test_a_slot_within_the_lease_is_waited_for_and_both_are_sent(
        editor: User, channels: Any, scripted: ScriptedChannel, env: SetEnv) -> None:
    env(NOTIFY_RATE_LIMITS="scripted=1/s", NOTIFY_SEND_TIMEOUT_SECONDS="2")
    await _backlog(editor, channels, 2)
    started = time.monotonic()

    await delivery.deliver_due(channels=channels)

    assert len(scripted.sent) == 2
    assert 0.8 <= time.monotonic() - started < 3  # the second waited for its slot, a second later
    assert [(row.status, row.attempts) for row in await _rows()] == [(DeliveryStatus.SENT, 1)] * 2
