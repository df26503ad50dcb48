"""Users, a scripted test channel and a queue that only counts wake-ups, on the ``live_db`` database."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest

from models.user import Role, User, UserCreate
from services.auth import service as auth
from services.db import open_session
from services.notifications.channels.base import Channel, ChannelFailed, OutgoingMessage, SendReceipt
from services.notifications.channels.in_app import InAppChannel
from services.notifications.dispatch import DeliveryQueue


async def make_user(role: Role = Role.EDITOR) -> User:
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"u-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42"), session=session)
        user.role = role
        session.add(user)
        await session.commit()
        return user


class ScriptedChannel(Channel):
    """Fails with the scripted errors, in order, then accepts; records what it sent."""

    name: ClassVar[str] = "scripted"
    display_name: ClassVar[str] = "Scripted (tests)"

    def __init__(self) -> None:
        self.failures: list[ChannelFailed] = []
        self.sent: list[OutgoingMessage] = []
        self.calls = 0

    def is_configured(self) -> bool:
        return True

    def normalize_recipient(self, recipient: str) -> str:
        return recipient.strip().lower()

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return SendReceipt(provider_message_id=f"m-{len(self.sent)}", response={"ok": True})


class CountingQueue(DeliveryQueue):
    def __init__(self) -> None:
        self.wakes = 0

    async def wake(self, due: int = 1) -> None:
        self.wakes += due

    async def stop(self) -> None:
        return None


@pytest.fixture
async def editor(live_db: str) -> User:
    return await make_user(Role.EDITOR)


@pytest.fixture
def scripted() -> ScriptedChannel:
    return ScriptedChannel()


@pytest.fixture
def channels(scripted: ScriptedChannel):  # type: ignore[no-untyped-def]
    in_app = InAppChannel()
    return lambda name: {"scripted": scripted, "in_app": in_app}[name]


@pytest.fixture
def queue() -> CountingQueue:
    return CountingQueue()
