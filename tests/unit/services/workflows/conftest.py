"""Signed-up users and a way to wait for in-process runs, on the ``live_db`` database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest

from models.user import User, UserCreate
from services.auth import service as auth
from services.db import open_session
from services.workflows import runtime


@pytest.fixture
async def editor(live_db: str) -> User:
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"ed-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42"), session=session)
        user.role = user.role.__class__("editor")
        session.add(user)
        await session.commit()
        return user


async def drain() -> None:
    dispatcher = runtime.get_dispatcher()
    assert isinstance(dispatcher, runtime.InProcessDispatcher)
    await dispatcher.drain()


DrainFn = Callable[[], Awaitable[None]]
