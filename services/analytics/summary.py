"""The period summary: totals of a window and of the one before it, and the change between them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Float, case, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import EventType
from services.analytics.metrics import FAILED_DELIVERY, NOTIFY_TYPES, E, of_types
from services.analytics.rollup import USER_EVENTS
from services.analytics.sources import active_source, percentiles, rolled_percentiles, rollup_source, serial
from services.analytics.windows import Window
from services.db import open_report_connection


class Totals(BaseModel):
    runs: int = 0
    runs_succeeded: int = 0
    runs_failed: int = 0
    runs_cancelled: int = 0
    success_rate: float | None = None
    duration_avg_ms: float | None = None
    duration_p50_ms: float | None = None
    duration_p95_ms: float | None = None
    ai_calls: int = 0
    ai_tokens: int = 0
    ai_cost_usd: float = 0.0
    notifications_sent: int = 0
    notifications_failed: int = 0
    active_users: int = 0


class Summary(BaseModel):
    """Totals for the window, the same for the window before it, and the relative change (0.25 = +25 %)."""

    start: datetime
    end: datetime
    current: Totals
    previous: Totals
    change: dict[str, float | None]


_SUMMARY_TYPES = (EventType.RUN_FINISHED, EventType.AI_CALL, *NOTIFY_TYPES)


async def summary(window: Window, *, workflow_id: int | None = None, engine: AsyncEngine | None = None) -> Summary:
    """Totals of ``window`` and of the one before: one query over the rollups (raw events at the edges),
    one over the active-user tables and the duration histogram (raw events for one workflow)."""
    previous = window.previous()
    periods = (previous, window)
    src = rollup_source(periods, _SUMMARY_TYPES, workflow_id).c
    period = case((src.ts >= window.start, 1), else_=0).label("current")
    run, ai = src.type == EventType.RUN_FINISHED.value, src.type == EventType.AI_CALL.value

    def events_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, src.events), else_=0))

    query = select(
        period, events_if(run), events_if(run & (src.status == "succeeded")), events_if(run & (src.status == "failed")),
        events_if(run & (src.status == "cancelled")),
        func.sum(case((run, src.duration_sum))) / func.nullif(cast(func.sum(case((run, src.duration_count),
                                                                                  else_=0)), Float), 0.0),
        events_if(ai), func.sum(case((ai, src.tokens))), func.sum(case((ai, src.cost_usd))),
        events_if(src.type == EventType.NOTIFICATION_SENT.value),
        events_if((src.type == EventType.NOTIFICATION_FAILED.value) & src.status.in_(FAILED_DELIVERY)),
    ).group_by(period)
    async with open_report_connection(engine) as conn:
        await serial(conn)
        rows = {row[0]: row for row in (await conn.execute(query)).all()}
        if workflow_id is None:
            active = active_source(periods, days=True).c
            pairs = select(case((active.ts >= window.start, 1), else_=0).label("flag"), active.user_id
                           ).distinct().subquery()
            users = {row[0]: int(row[1]) for row in (await conn.execute(
                select(pairs.c.flag, func.count()).group_by(pairs.c.flag))).all()}
            spread = await rolled_percentiles(conn, EventType.RUN_FINISHED, window, periods)
        else:  # the rollups of users and durations have no workflow: read the workflow's raw events (indexed)
            raw_where = [E.time >= previous.start, E.time < window.end, E.workflow_id == workflow_id]
            raw_period = case((E.time >= window.start, 1), else_=0)
            users = {row[0]: int(row[1]) for row in (await conn.execute(
                select(raw_period, func.count(distinct(E.user_id))).where(*raw_where, of_types(USER_EVENTS))
                .group_by(raw_period))).all()}
            spread = await percentiles(conn, E.duration_ms, [*raw_where, E.type == EventType.RUN_FINISHED.value],
                                       group=raw_period)
    totals = {}
    for key in (1, 0):
        row = rows.get(key)
        p50, p95 = spread.get(key, [None, None])
        if row is None:
            totals[key] = Totals(active_users=users.get(key, 0))
            continue
        runs, succeeded = int(row[1] or 0), int(row[2] or 0)
        finished = succeeded + int(row[3] or 0)
        totals[key] = Totals(runs=runs, runs_succeeded=succeeded, runs_failed=int(row[3] or 0),
                             runs_cancelled=int(row[4] or 0), success_rate=succeeded / finished if finished else None,
                             duration_avg_ms=None if row[5] is None else float(row[5]), duration_p50_ms=p50,
                             duration_p95_ms=p95, ai_calls=int(row[6] or 0), ai_tokens=int(row[7] or 0),
                             ai_cost_usd=float(row[8] or 0.0), notifications_sent=int(row[9] or 0),
                             notifications_failed=int(row[10] or 0), active_users=users.get(key, 0))
    current, before = totals[1], totals[0]
    return Summary(start=window.start, end=window.end, current=current, previous=before,
                   change={name: _change(getattr(current, name), getattr(before, name))
                           for name in Totals.model_fields})


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before)


__all__ = ["Summary", "Totals", "summary"]
