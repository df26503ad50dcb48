"""Simultaneous first sign-ups on PostgreSQL: exactly one becomes admin."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import AuditLog
from models.user import Role, User, UserCreate
from services.auth import service as auth
from services.db import create_engine_for

pytestmark = pytest.mark.postgres


async def test_only_one_of_many_simultaneous_first_sign_ups_is_admin(postgres_url: str) -> None:
    engine = create_engine_for(postgres_url)
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    async def sign_up(n: int) -> User:
        async with sessions() as session:
            return await auth.register(UserCreate(email=f"racer{n}@example.com", password="amber-falcon-lantern-42"),
                                       session=session)

    try:
        users = await asyncio.gather(*(sign_up(n) for n in range(6)))
        assert sorted(u.role for u in users).count(Role.ADMIN) == 1
    finally:
        async with sessions() as session:  # these commits were real: remove them
            await session.exec(delete(AuditLog))  # type: ignore[call-overload]
            await session.exec(delete(User))  # type: ignore[call-overload]
            await session.commit()
        await engine.dispose()
