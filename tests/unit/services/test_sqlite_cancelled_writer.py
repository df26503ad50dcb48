"""A write transaction on SQLite whose task is cancelled mid-statement releases the write lock.

SQLAlchemy abandons such a connection without a rollback; sqlite3 keeps the handle (and its
transaction) open while a statement of it is referenced, and the cancelled task's traceback holds
one. The connection class rolls back before closing, so other writers go on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import create_engine_for

# About 2 s here (2,000,000 rows took 0.33 s: on a fast day it ended before the cancel came).
SLOW_READ = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) "
             "SELECT count(*) FROM c")


def _can_write(path: Path) -> bool:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


async def test_a_writer_cancelled_mid_statement_leaves_the_database_writable(tmp_path: Path) -> None:
    path = tmp_path / "cancelled.db"
    engine = create_engine_for(f"sqlite:///{path}")
    kept: list[BaseException] = []  # as a logged or stored error keeps its traceback (and the cursor in it)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE notes (body TEXT)"))

        slow_read_started = asyncio.Event()

        async def writer() -> None:
            try:
                async with AsyncSession(engine) as session:
                    await session.execute(text("INSERT INTO notes VALUES ('half-written')"))  # BEGIN IMMEDIATE
                    slow_read_started.set()
                    await session.execute(text(SLOW_READ))
            except BaseException as exc:
                kept.append(exc)
                raise

        task = asyncio.create_task(writer())
        await slow_read_started.wait()
        await asyncio.sleep(0.2)  # inside the slow statement, holding the write lock
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert kept and isinstance(kept[0], asyncio.CancelledError)

        deadline = time.monotonic() + 15  # the abandoned statement runs to its end in the driver's thread first
        while not _can_write(path):
            assert time.monotonic() < deadline, "the cancelled writer still holds SQLite's write lock"
            await asyncio.sleep(0.1)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0  # rolled back
    finally:
        await engine.dispose()
