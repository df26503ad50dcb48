"""The recovery sweep reads without taking SQLite's write lock: a writer holding it (a running workflow's
steps, another process) neither makes the sweep wait nor is kept waiting by it every few seconds."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import pytest
from sqlalchemy.engine import make_url

from models.base import utcnow
from models.run import Run
from models.workflow import Workflow
from services.db import get_engine, open_session
from services.workflows.run_store import RunStore


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)  # a PostgreSQL read takes no lock a writer holds
async def test_lost_runs_are_found_while_a_writer_holds_the_lock(live_db: str) -> None:
    async with open_session() as session:
        workflow = Workflow(name="w", current_version=1)
        session.add(workflow)
        await session.flush()
        assert workflow.id is not None
        lost = Run(workflow_id=workflow.id, version=1, created_at=utcnow() - timedelta(minutes=5))
        session.add_all([lost, Run(workflow_id=workflow.id, version=1)])  # the second one is still fresh
        await session.commit()
    writer = sqlite3.connect(str(make_url(live_db).database), isolation_level=None)  # another writer
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        found = await RunStore(get_engine()).runs_to_recover(queued_older_than=60)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert found == [(lost.id, 0)]
    assert elapsed < 1.5  # no wait behind the writer (the busy timeout is 5 s)
