"""Held read connections: bounded, most recent first, pinged after idling, dropped with a lost server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy import exc

from services.read_pool import ReadPool
from tests.infra import temporary_postgres_database

pytestmark = pytest.mark.postgres


def _pool(url: str, *, size: int = 2, timeout: float = 5.0, ping_after_idle: float = 3600) -> ReadPool:
    return ReadPool(lambda: psycopg.AsyncConnection.connect(url, autocommit=True), size=size, timeout=timeout,
                    ping_after_idle=ping_after_idle)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A database of this module's own: its tests terminate every other connection to it."""
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[ReadPool]:
    held = _pool(postgres_url)
    yield held
    held.close()


async def _pid(pool: ReadPool) -> int:
    async with pool.connection() as connection:
        row = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        return int(row[0])


def _terminate_all_but_me(url: str) -> int:
    """Terminate every other connection to the database, as a server restart would; how many there were."""
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


async def _two_held(pool: ReadPool) -> set[int]:
    """Two connections opened at once, both idle in the pool afterwards."""
    pids: set[int] = set()

    async def read() -> None:
        async with pool.connection() as connection:
            row = await (await connection.execute("SELECT pg_backend_pid(), pg_sleep(0.05)")).fetchone()
            assert row is not None
            pids.add(int(row[0]))

    await asyncio.gather(read(), read())
    assert pool.idle == 2
    return pids


async def test_one_reader_after_another_reuses_one_connection(pool: ReadPool) -> None:
    first = await _pid(pool)
    assert [await _pid(pool) for _ in range(5)] == [first] * 5
    assert pool.idle == 1


async def test_readers_at_once_never_open_more_than_the_size(postgres_url: str) -> None:
    pool = _pool(postgres_url, size=2)
    try:
        pids = await asyncio.gather(*(_pid(pool) for _ in range(12)))
        assert len(set(pids)) <= 2
        assert pool.idle == len(set(pids))
    finally:
        pool.close()


async def test_a_reader_that_waits_past_the_timeout_gets_sqlalchemys_timeout_error(postgres_url: str) -> None:
    pool = _pool(postgres_url, size=1, timeout=0.2)
    release = asyncio.Event()

    async def hold() -> None:
        async with pool.connection():
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await asyncio.sleep(0.05)
        with pytest.raises(exc.TimeoutError, match=r"within 0.2 s"):
            await _pid(pool)
        release.set()
        await holder
        await _pid(pool)  # the slot came back
    finally:
        release.set()
        pool.close()


async def test_a_read_cancelled_mid_statement_leaves_no_statement_running_and_the_pool_working(
        pool: ReadPool, postgres_url: str) -> None:
    async def slow() -> None:
        async with pool.connection() as connection:
            await connection.execute("SELECT pg_sleep(30)")

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with pool.connection() as connection:
        running = await connection.execute("SELECT count(*) FROM pg_stat_activity "
                                           "WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'")
        row = await running.fetchone()
    assert row == (0,)


async def test_a_lost_server_fails_one_read_and_drops_every_idle_connection(pool: ReadPool, postgres_url: str) -> None:
    before = await _two_held(pool)
    assert await asyncio.to_thread(_terminate_all_but_me, postgres_url) >= 2
    with pytest.raises(psycopg.OperationalError):
        await _pid(pool)  # used a moment ago: not pinged, and it is dead
    assert pool.idle == 0  # the other one was older than the failure: gone too, never handed out
    after = await _pid(pool)
    assert after not in before


async def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced_before_use(postgres_url: str) -> None:
    pool = _pool(postgres_url, ping_after_idle=0.05)
    try:
        before = await _two_held(pool)
        await asyncio.to_thread(_terminate_all_but_me, postgres_url)
        await asyncio.sleep(0.1)
        after = await _pid(pool)  # no error: the ping found it dead
        assert after not in before
        assert pool.idle == 1
    finally:
        pool.close()


async def test_close_closes_idle_connections_now_and_held_ones_when_they_come_back(pool: ReadPool) -> None:
    await _two_held(pool)
    async with pool.connection() as held:
        pool.close()
        assert pool.idle == 0
        assert not held.closed
    assert held.closed and pool.idle == 0
