"""Reads of the raw events: grouped totals (insights), one user's activity, and the CSV export rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import EventType
from services.analytics.metrics import EVENTS, E, in_window, of_types
from services.analytics.series import Point
from services.analytics.windows import Window, bucket_key, bucket_starts, parse_bucket_key
from services.db import get_engine, open_report_connection


async def grouped(conn: AsyncConnection, types: Sequence[EventType], window: Window, group: Any,
                  values: Sequence[ColumnElement[Any]]) -> list[Sequence[Any]]:
    """One row per group: the group, then each of ``values`` aggregated over the window."""
    query = select(group, *values).where(*in_window(window), of_types(types)).group_by(group)
    return [tuple(row) for row in (await conn.execute(query)).all()]


class UserActivity(BaseModel):
    user_id: uuid.UUID
    start: datetime
    end: datetime
    counts: dict[str, int]
    last_login_at: datetime | None
    per_day: list[Point]


async def user_activity(user_id: uuid.UUID, window: Window, *, engine: AsyncEngine | None = None) -> UserActivity:
    """What one user did in the window: events by type, events per UTC day, last sign-in (ever)."""
    engine = engine or get_engine()
    day = bucket_key(E.time, "day", engine.dialect.name).label("bucket")
    mine = [E.user_id == user_id, *in_window(window)]
    async with open_report_connection(engine) as conn:
        counts = (await conn.execute(select(E.type, func.count()).where(*mine).group_by(E.type))).all()
        days = (await conn.execute(select(day, func.count()).where(*mine).group_by(day))).all()
        last_login = (await conn.execute(select(func.max(E.time)).where(
            E.user_id == user_id, E.type == EventType.LOGIN.value))).scalar_one_or_none()
    per_day = {parse_bucket_key(row[0]): float(row[1]) for row in days}
    if isinstance(last_login, str):  # SQLite returns max() of a timestamp as text
        last_login = datetime.fromisoformat(last_login)
    if last_login is not None and last_login.tzinfo is None:
        last_login = last_login.replace(tzinfo=window.start.tzinfo)
    return UserActivity(user_id=user_id, start=window.start, end=window.end,
                        counts={row[0]: int(row[1]) for row in counts}, last_login_at=last_login,
                        per_day=[Point(bucket=start, value=per_day.get(start, 0.0))
                                 for start in bucket_starts(window, "day")])


EXPORT_COLUMNS = ("time", "type", "user_id", "workflow_id", "run_id", "node_id", "status", "provider", "model",
                  "channel", "duration_ms", "tokens", "cost_usd", "value")


async def export_rows(window: Window, *, types: Sequence[EventType] = (), engine: AsyncEngine | None = None,
                      chunk: int = 5000) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The window's events, oldest first, ``chunk`` rows at a time (streamed, not loaded at once)."""
    where = in_window(window) + ([of_types(types)] if types else [])
    query = select(*(EVENTS.c[name] for name in EXPORT_COLUMNS)).where(*where).order_by(E.time, E.id)
    async with open_report_connection(engine) as conn:
        result = await conn.stream(query.execution_options(yield_per=chunk))
        async for part in result.partitions(chunk):
            yield [tuple(row) for row in part]


__all__ = ["EXPORT_COLUMNS", "UserActivity", "export_rows", "grouped", "user_activity"]
