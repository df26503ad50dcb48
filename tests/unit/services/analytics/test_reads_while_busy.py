"""The analytics pages read without taking SQLite's write lock: a writer holding it (a running workflow's
steps, another process) does not make a dashboard wait out the busy timeout."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import make_url

from models.analytics import EventType
from models.user import Role, User
from services.analytics.activity import export_rows, user_activity
from services.analytics.dashboard import load_dashboard, load_overview
from services.analytics.windows import resolve_window
from services.db import open_session
from tests.unit.services.analytics.conftest import event, write


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)  # a PostgreSQL read takes no lock a writer holds
async def test_dashboards_answer_while_a_writer_holds_the_lock(analytics_db: str) -> None:
    editor = User(email="busy@example.com", password_hash="x", role=Role.EDITOR)  # not an admin: privacy reads too
    async with open_session() as session:
        session.add(editor)
        await session.commit()
    now = datetime.now(UTC)
    await write([event(EventType.LOGIN, now - timedelta(minutes=5), user_id=editor.id)])
    writer = sqlite3.connect(str(make_url(analytics_db).database), isolation_level=None)  # another writer
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        dashboard = await load_dashboard(editor, "day")
        overview = await load_overview(editor)
        activity = await user_activity(editor.id, resolve_window("day"))
        exported = [row async for part in export_rows(resolve_window("day")) for row in part]
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert dashboard.summary.current.active_users == overview.summary.current.active_users == 1
    assert activity.counts == {"login": 1}
    assert [row[1] for row in exported] == ["login"]
    assert elapsed < 1.5  # no wait behind the writer (the busy timeout is 5 s)
