"""The PostgreSQL pool pings a connection only after it sat idle, and still recovers from a dead one."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

import services.db as db
from services.db import create_engine_for

pytestmark = pytest.mark.postgres


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def _terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_a_connection_killed_while_idle_in_the_pool_is_replaced_before_use(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.05)
    engine = create_engine_for(postgres_url, pool_size=1, max_overflow=0)
    try:
        first = await _backend_pid(engine)
        await asyncio.to_thread(_terminate, postgres_url, first)
        await asyncio.sleep(0.2)  # idle past the threshold: the checkout pings, finds it dead, reconnects
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


async def test_a_connection_that_died_in_a_busy_pool_fails_one_use_and_the_pool_recovers(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600)  # never idle long enough: no ping at all
    engine = create_engine_for(postgres_url, pool_size=2, max_overflow=0)
    try:
        first = await _backend_pid(engine)
        await asyncio.to_thread(_terminate, postgres_url, first)
        with pytest.raises(exc.OperationalError) as raised:
            await _backend_pid(engine)
        assert raised.value.connection_invalidated
        assert await _backend_pid(engine) != first  # the broken connection was dropped, not handed out again
    finally:
        await engine.dispose()
