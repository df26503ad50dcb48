"""AI budget checks, usage totals and document search read without a transaction: on SQLite a writer
holding the write lock (a running workflow's steps, another process) does not make them wait."""

from __future__ import annotations

import sqlite3
import time
import uuid

import pytest
from sqlalchemy.engine import make_url

from models.document import Document, DocumentSource
from models.user import User
from services.ai import usage
from services.ai.search import search
from services.db import open_session


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)  # a PostgreSQL read takes no lock a writer holds
async def test_budget_totals_and_search_answer_while_a_writer_holds_the_lock(live_db: str) -> None:
    user = User(email="busy@example.com", password_hash="x")
    document = Document(title="Invoice overdue", content="The March invoice is overdue.", source=DocumentSource.API)
    async with open_session() as session:
        session.add_all([user, document])
        await session.commit()
    writer = sqlite3.connect(str(make_url(live_db).database), isolation_level=None)  # another writer's transaction
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        spent = await usage.spent_today(user.id)
        by_run = await usage.spent_by_run(uuid.uuid4())
        totals = await usage.totals(user_id=None, days=7)
        hits = await search("overdue invoice", owner_id=None)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert spent == 0.0 and by_run == 0.0 and totals == []
    assert [hit.document_id for hit in hits] == [document.id]
    assert elapsed < 1.5  # no wait behind the writer (the busy timeout is 5 s)
