"""The health check and the services page read without a transaction: on SQLite a writer holding the
write lock does not make the database look down."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy.engine import make_url

from services.health import check_database
from services.status import database_status


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)  # a PostgreSQL read takes no lock a writer holds
async def test_the_database_is_healthy_while_a_writer_holds_the_lock(live_db: str) -> None:
    url = make_url(live_db)
    assert (await check_database()).status == "ok"  # the app's connection is open (and the file in WAL mode)
    writer = sqlite3.connect(str(url.database), isolation_level=None)  # another process's long transaction
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        health = await check_database()
        status = await database_status()
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert health.status == "ok", health
    assert status.status == "ok" and status.version.startswith("sqlite "), status
    assert elapsed < 1.5  # no wait behind the writer (the busy timeout is 5 s)
