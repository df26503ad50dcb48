"""Document tests run on both databases (``live_db``) with a user who may upload."""

from __future__ import annotations

import uuid

import pytest

from models.user import Role, User, UserCreate
from services.auth import service as auth
from services.db import open_session


async def make_user(role: Role = Role.EDITOR) -> User:
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"doc-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42"), session=session)
        user.role = role
        session.add(user)
        await session.commit()
        return user


@pytest.fixture
async def owner(live_db: str) -> User:
    return await make_user()
