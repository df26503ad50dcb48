"""Retry schedules per channel: the operator's setting, then the channel's own, then the global (Svix) one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from models.notification import Delivery, DeliveryStatus, Notification
from models.user import Role, User
from services import errors
from services.db import open_session
from services.notifications import delivery, policy
from services.notifications.channels.base import ChannelFailed
from services.notifications.channels.sms import SmsChannel
from services.notifications.dispatch import use_delivery_queue
from tests.settings_env import SetEnv, settings_env
from tests.unit.services.notifications.conftest import CountingQueue, ScriptedChannel, make_user
from tests.unit.services.notifications.test_service import make_due, send

SVIX = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetEnv]:
    yield from settings_env(monkeypatch, ["NOTIFY_RETRY_SCHEDULE", "NOTIFY_RETRY_SCHEDULES"])


def test_every_channel_uses_the_svix_schedule_by_default(env: SetEnv) -> None:
    assert policy.retry_schedule("email") == SVIX and policy.retry_schedule() == SVIX
    assert policy.max_attempts("in_app") == 8


def test_the_per_channel_setting_replaces_the_schedule_of_those_channels_only(env: SetEnv) -> None:
    env(NOTIFY_RETRY_SCHEDULES="sms=0,10,60; email=0,60,600,3600")
    assert policy.retry_schedule("sms") == (0.0, 10.0, 60.0)
    assert policy.max_attempts("email") == 4
    assert policy.retry_schedule("slack") == SVIX
    assert policy.next_retry_delay(3, channel="sms") is None  # three attempts made: sms is done
    delay = policy.next_retry_delay(3, channel="email")
    assert delay is not None and 3600 <= delay.total_seconds() <= 3600 * 1.1


def test_a_channel_class_may_declare_its_own_schedule_and_the_setting_still_wins(
        env: SetEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SmsChannel, "retry_schedule", (0.0, 30.0))
    env(NOTIFY_RETRY_SCHEDULE="0,1,2")
    assert policy.retry_schedule("sms") == (0.0, 30.0)
    assert policy.retry_schedule("email") == (0.0, 1.0, 2.0)
    env(NOTIFY_RETRY_SCHEDULES="sms=0,5,5")
    assert policy.retry_schedule("sms") == (0.0, 5.0, 5.0)


@pytest.mark.parametrize("raw", ["sms", "sms=", "sms=0,x", "SMS=0,5", "sms=0,-5"])
def test_a_malformed_per_channel_schedule_is_refused_with_a_sentence(env: SetEnv, raw: str) -> None:
    env(NOTIFY_RETRY_SCHEDULES=raw)
    with pytest.raises(errors.ValidationFailed, match="NOTIFY_RETRY_SCHEDULES"):
        policy.retry_schedule("sms")


async def test_a_delivery_gives_up_after_its_own_channel_schedule(env: SetEnv, editor: User, channels: Any,
                                                                  queue: CountingQueue,
                                                                  scripted: ScriptedChannel) -> None:
    await make_user(Role.ADMIN)
    env(NOTIFY_RETRY_SCHEDULES="scripted=0,1")  # the global schedule would allow eight attempts
    use_delivery_queue(CountingQueue())
    try:
        scripted.failures = [ChannelFailed("timeout", retryable=True) for _ in range(3)]
        result = await send(editor, channels, queue)
        assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.QUEUED
        await make_due()
        assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.DEAD
    finally:
        use_delivery_queue(None)
    async with open_session() as session:
        row = (await session.exec(select(Delivery).join(Notification).where(
            Notification.id == result.notification_id))).one()
    assert (row.attempts, row.status) == (2, DeliveryStatus.DEAD)
