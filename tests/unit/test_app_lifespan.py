"""The Reflex app writes the analytics events still buffered when its process shuts down."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from dashboard.lifespan import flush_analytics_on_shutdown
from models.analytics import AnalyticsEvent, EventType
from services.analytics.recorder import get_recorder, record_event
from services.db import get_engine


async def test_the_app_registers_the_shutdown_flush() -> None:
    from dashboard.dashboard import app

    assert flush_analytics_on_shutdown in app.get_lifespan_tasks()


async def test_shutdown_writes_buffered_events_at_once(live_db: str) -> None:
    recorder = get_recorder()
    recorder.discard_pending()
    interval, recorder.flush_interval = recorder.flush_interval, 3600.0  # the periodic write would not come
    try:
        user = uuid.uuid4()
        async with flush_analytics_on_shutdown():
            record_event(EventType.PAGE_VIEW, user_id=user, payload={"path": "/analytics"})
            assert recorder.pending == 1
        assert recorder.pending == 0
    finally:
        recorder.flush_interval = interval
    events = AnalyticsEvent.__table__  # type: ignore[attr-defined]
    async with get_engine().connect() as conn:
        rows = (await conn.execute(select(events.c.type, events.c.payload).where(events.c.user_id == user))).all()
    assert [(row[0], row[1]) for row in rows] == [("page_view", {"path": "/analytics"})]
