"""The dashboards' breakdowns, computed by the database: run durations in ranges, success rate per
workflow, deliveries per channel and status, and active users per weekday and hour.

Success rates and deliveries read the rollups (``sources.rollup_source``: whole hours rolled up, the
edges raw); run durations come from the rollup's duration histogram and the
weekday-by-hour grid from the per-hour presence table (both with raw events for the partial hours at
the edges); filtered to one workflow, both read that workflow's raw events (``(workflow_id, time)`` index).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Integer, Table, and_, case, cast, distinct, func, literal, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import EventType
from models.workflow import Workflow, WorkflowStatus
from services.analytics.metrics import NOTIFY_TYPES, E, in_window, of_types
from services.analytics.rollup import BUCKETS_PER_DOUBLING, DURATIONS, USER_EVENTS
from services.analytics.sources import active_source, rollup_source, serial, split_window
from services.analytics.windows import Window
from services.db import get_engine, open_report_connection

WORKFLOWS: Table = Workflow.__table__  # type: ignore[attr-defined]
# Durations are shown in ranges of a factor 4 (1-4 ms, 4-16 ms ... ): four is two doublings, so each
# range is exactly 16 buckets of the rollup's log-scale histogram (8 per doubling) and the ranges read
# from the rollups equal the ranges read from raw events. Range 0 is "< 1 ms", range g >= 1 [4^(g-1), 4^g).
RANGE_FACTOR = 4
HISTOGRAM_BUCKETS_PER_RANGE = 2 * BUCKETS_PER_DOUBLING
MAX_RANGE = 16  # 4^16 ms is 136 years: anything longer lands in the last range
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_WORKFLOWS = 15


class DurationBin(BaseModel):
    label: str
    count: int


class WorkflowRate(BaseModel):
    workflow_id: int
    name: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None


class DeliveryCount(BaseModel):
    channel: str
    status: str
    count: int


class WorkflowChoice(BaseModel):
    id: int
    name: str


def _duration_range(duration: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((duration < 1, 0), *((duration < float(RANGE_FACTOR ** g), g) for g in range(1, MAX_RANGE)),
                else_=MAX_RANGE)


def _histogram_range(bucket: ColumnElement[Any]) -> ColumnElement[Any]:
    """The range of a rollup histogram bucket (bucket 0: below 1 ms; b >= 1: [2^((b-1)/8), 2^(b/8)))."""
    return case((bucket == 0, 0), (bucket > (MAX_RANGE - 1) * HISTOGRAM_BUCKETS_PER_RANGE, MAX_RANGE),
                else_=(bucket - 1) // HISTOGRAM_BUCKETS_PER_RANGE + 1)  # integer division on both databases


def _duration_text(ms: float) -> str:
    if ms < 1000:
        return f"{ms:g} ms"
    return f"{ms / 1000:.3g} s" if ms < 60_000 else f"{ms / 60_000:.3g} min"


def range_label(index: int) -> str:
    """``< 1 ms``, ``1 ms-4 ms``, ``256 ms-1.02 s`` ...; the last range is open."""
    if index == 0:
        return "< 1 ms"
    low = float(RANGE_FACTOR ** (index - 1))
    return f"≥ {_duration_text(low)}" if index == MAX_RANGE else f"{_duration_text(low)}-{_duration_text(low * 4)}"


async def duration_distribution(window: Window, *, workflow_id: int | None = None,
                                engine: AsyncEngine | None = None) -> list[DurationBin]:
    """Finished runs per duration range, from the shortest range with runs to the longest (ranges between
    them present with 0); [] when no run has a duration. Whole hours come from the rollup's histogram,
    the window's edges (and one workflow's runs) from the raw events."""
    raw_where = [E.type == EventType.RUN_FINISHED.value, E.duration_ms.is_not(None)]
    if workflow_id is not None:
        raw_where.append(E.workflow_id == workflow_id)
        whole, edges = None, [window]
    else:
        whole, edges = split_window(window)
    parts = [select(_duration_range(E.duration_ms).label("g"), literal_column("1").label("n")).where(
        *raw_where, or_(*(and_(*in_window(edge)) for edge in edges)))] if edges else []
    if whole is not None:
        D = DURATIONS.c
        parts.append(select(_histogram_range(D.bucket).label("g"), D.count.label("n")).where(
            D.type == EventType.RUN_FINISHED.value, D.hour >= whole.start, D.hour < whole.end))
    rows_of = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("durations")
    query = select(rows_of.c.g, func.sum(rows_of.c.n)).group_by(rows_of.c.g)
    async with open_report_connection(engine) as conn:
        await serial(conn)
        counts = {int(row[0]): int(row[1]) for row in (await conn.execute(query)).all() if row[1]}
    if not counts:
        return []
    return [DurationBin(label=range_label(g), count=counts.get(g, 0)) for g in range(min(counts), max(counts) + 1)]


async def success_by_workflow(window: Window, *, workflow_id: int | None = None, limit: int = MAX_WORKFLOWS,
                              engine: AsyncEngine | None = None) -> list[WorkflowRate]:
    """The workflows with the most finished runs in the window, each with its success rate."""
    src = rollup_source((window,), (EventType.RUN_FINISHED,), workflow_id, "workflow").c
    runs = func.sum(src.events)
    succeeded = func.sum(case((src.status == "succeeded", src.events), else_=0))
    failed = func.sum(case((src.status == "failed", src.events), else_=0))
    ranked = (select(src.workflow_id, runs.label("runs"), succeeded.label("ok"), failed.label("bad"))
              .where(src.workflow_id.is_not(None)).group_by(src.workflow_id)
              .order_by(runs.desc(), src.workflow_id).limit(limit).subquery())
    query = (select(ranked.c.workflow_id, func.coalesce(WORKFLOWS.c.name, literal("(deleted workflow)")),
                    ranked.c.runs, ranked.c.ok, ranked.c.bad)
             .select_from(ranked.outerjoin(WORKFLOWS, WORKFLOWS.c.id == ranked.c.workflow_id))
             .order_by(ranked.c.runs.desc(), ranked.c.workflow_id))
    async with open_report_connection(engine) as conn:
        await serial(conn)
        rows = (await conn.execute(query)).all()
    result = []
    for workflow, name, total, ok, bad in rows:
        finished = int(ok or 0) + int(bad or 0)
        result.append(WorkflowRate(workflow_id=int(workflow), name=str(name), runs=int(total or 0),
                                   succeeded=int(ok or 0), failed=int(bad or 0),
                                   success_rate=int(ok or 0) / finished if finished else None))
    return result


async def deliveries_by_channel(window: Window, *, workflow_id: int | None = None,
                                engine: AsyncEngine | None = None) -> list[DeliveryCount]:
    """Delivery attempts per channel and outcome (``sent``, ``failed``/``dead``, ``queued`` for a retry); with
    ``workflow_id``, those of the notifications its runs sent (the recorder attributes them through the run)."""
    src = rollup_source((window,), NOTIFY_TYPES, workflow_id, "channel").c
    query = (select(src.channel, src.status, func.sum(src.events)).group_by(src.channel, src.status)
             .order_by(src.channel, src.status))
    async with open_report_connection(engine) as conn:
        await serial(conn)
        rows = (await conn.execute(query)).all()
    return [DeliveryCount(channel=str(channel or "unknown"), status=str(status or "unknown"), count=int(count or 0))
            for channel, status, count in rows if count]


def _weekday_and_hour(moment: ColumnElement[Any], dialect: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Monday = 0 … Sunday = 6, and the UTC hour, of a timestamp."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", moment)
        return (cast(func.extract("isodow", utc), Integer) - 1, cast(func.extract("hour", utc), Integer))
    return ((cast(func.strftime("%w", moment), Integer) + 6) % 7, cast(func.strftime("%H", moment), Integer))


async def activity_heatmap(window: Window, *, workflow_id: int | None = None,
                           engine: AsyncEngine | None = None) -> list[list[int]]:
    """Distinct active users per UTC weekday (rows, Monday first) and hour (columns); [] when nobody was active.

    Whole hours come from the per-hour presence table, the edges (and one workflow's activity) from raw events.
    """
    engine = engine or get_engine()
    if workflow_id is None:
        source = active_source((window,), days=False).c
        moment, user = source.ts, source.user_id
        where: list[ColumnElement[bool]] = []
    else:
        moment, user = E.time, E.user_id
        where = [*in_window(window), of_types(USER_EVENTS), E.user_id.is_not(None), E.workflow_id == workflow_id]
    weekday, hour = _weekday_and_hour(moment, engine.dialect.name)
    query = (select(weekday.label("wd"), hour.label("hr"), func.count(distinct(user)))
             .where(*where).group_by(weekday, hour))
    async with open_report_connection(engine) as conn:
        await serial(conn)
        rows = (await conn.execute(query)).all()
    if not rows:
        return []
    grid = [[0] * 24 for _ in WEEKDAYS]
    for day, at_hour, users in rows:
        grid[int(day)][int(at_hour)] = int(users)
    return grid


async def workflow_choices(*, engine: AsyncEngine | None = None, limit: int = 200) -> list[WorkflowChoice]:
    """Workflows a dashboard can be filtered to (not archived), by name."""
    query = (select(WORKFLOWS.c.id, WORKFLOWS.c.name)
             .where(WORKFLOWS.c.status != WorkflowStatus.ARCHIVED)
             .order_by(WORKFLOWS.c.name, WORKFLOWS.c.id).limit(limit))
    async with open_report_connection(engine) as conn:
        rows = (await conn.execute(query)).all()
    return [WorkflowChoice(id=int(row[0]), name=str(row[1])) for row in rows]


__all__ = ["DeliveryCount", "DurationBin", "WorkflowChoice", "WorkflowRate", "activity_heatmap",
           "deliveries_by_channel", "duration_distribution", "success_by_workflow", "workflow_choices"]
