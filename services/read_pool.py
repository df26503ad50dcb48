"""PostgreSQL connections a process holds open for its compiled reads, handed out without SQLAlchemy's pool.

The workflow list, the API's busiest read, is one prepared statement. Through SQLAlchemy's async
pool it cost about 180 µs of CPU a call; on a psycopg connection held directly, 90 µs. The
difference is the checkout and checkin, and the greenlet SQLAlchemy's async layer runs them in:
each fresh greenlet maps and unmaps a stack of its own. A ``ReadPool`` hands out psycopg's own
``AsyncConnection`` objects in autocommit mode, most recently used first, from the event loop of
the caller, with nothing in between.

It keeps the promises SQLAlchemy's pool kept for these reads:

* at most ``size`` connections, and a caller that waits longer than ``timeout`` for one gets
  SQLAlchemy's ``TimeoutError`` (the API answers 503, as for an exhausted pool);
* a connection idle ``ping_after_idle`` seconds or more is pinged before it is handed out, and one
  that lost its server is closed along with every idle one (they are older): after a server restart
  only the reads already running fail;
* a connection that comes back in any state but idle (a read cancelled mid-statement) is closed,
  never handed out again.

The driver's errors pass through as psycopg's: the caller maps them (``services.db.reading``).
One pool belongs to one event loop; ``services.db`` keeps one per loop and closes them on dispose.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import exc

Connect = Callable[[], Awaitable[psycopg.AsyncConnection]]


def lost_its_server(connection: psycopg.BaseConnection[Any] | None) -> bool:
    """Whether a connection that raised is gone (closed, or broken by the server or the network)."""
    return connection is None or connection.closed or connection.broken


class ReadPool:
    """Up to ``size`` autocommit connections made by ``connect``, most recently used first."""

    def __init__(self, connect: Connect, *, size: int, timeout: float, ping_after_idle: float) -> None:
        self._connect = connect
        self._timeout = timeout
        self._ping_after_idle = ping_after_idle
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[psycopg.AsyncConnection, float]] = []  # (connection, idle since), newest last
        self._closed = False

    @property
    def idle(self) -> int:
        """How many connections wait to be handed out."""
        return len(self._idle)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection of this pool for one read; it comes back when the block ends."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._timeout):
                    await self._slots.acquire()
            except TimeoutError:
                msg = f"no database connection for reads came free within {self._timeout:g} s"
                raise exc.TimeoutError(msg) from None
        else:
            await self._slots.acquire()
        connection: psycopg.AsyncConnection | None = None
        try:
            connection = await self._take()
            yield connection
        except psycopg.Error:
            if lost_its_server(connection):
                self._close_idle()  # opened before this one broke: the server restarted, or the network dropped
            raise
        finally:
            if connection is not None:
                self._give_back(connection)
            self._slots.release()

    async def _take(self) -> psycopg.AsyncConnection:
        while self._idle:
            connection, since = self._idle.pop()
            if connection.closed:
                continue
            if time.monotonic() - since < self._ping_after_idle:
                return connection
            try:
                await connection.execute("SELECT 1")
            except psycopg.Error:
                await connection.close()
                self._close_idle()
                break
            return connection
        return await self._connect()

    def _give_back(self, connection: psycopg.AsyncConnection) -> None:
        if (self._closed or connection.closed
                or connection.pgconn.transaction_status != TransactionStatus.IDLE):
            connection.pgconn.finish()  # what AsyncConnection.close does, without a coroutine to await
            return
        self._idle.append((connection, time.monotonic()))

    def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection, _since in idle:
            connection.pgconn.finish()

    def close(self) -> None:
        """Close the idle connections now and the others as they come back."""
        self._closed = True
        self._close_idle()
