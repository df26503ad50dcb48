"""The dashboards' breakdowns, computed by the database: run durations in ranges, success rate per
workflow, deliveries per channel and status, and active users per weekday and hour.

Success rates and deliveries read the rollups (``sources.rollup_source``: whole hours rolled up, the
edges raw); the duration ranges and the weekday-by-hour grid read the raw events of the window
through the ``(type, time)`` and ``(workflow_id, time)`` indexes (a ``CASE`` and a ``GROUP BY``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Integer, Table, case, cast, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import EventType
from models.workflow import Workflow, WorkflowStatus
from services.analytics.metrics import NOTIFY_TYPES, E, in_window, of_types
from services.analytics.rollup import USER_EVENTS
from services.analytics.sources import rollup_source, serial
from services.analytics.windows import Window
from services.db import get_engine

WORKFLOWS: Table = Workflow.__table__  # type: ignore[attr-defined]
# Upper bounds (ms, exclusive) of the duration ranges a histogram shows; the last range is open.
DURATION_EDGES_MS: tuple[tuple[float, str], ...] = (
    (100.0, "< 100 ms"), (500.0, "100-500 ms"), (1_000.0, "0.5-1 s"), (5_000.0, "1-5 s"), (30_000.0, "5-30 s"),
    (120_000.0, "30 s-2 min"), (600_000.0, "2-10 min"))
LAST_RANGE = "≥ 10 min"
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


def _duration_range() -> ColumnElement[Any]:
    return case(*((E.duration_ms < edge, index) for index, (edge, _) in enumerate(DURATION_EDGES_MS)),
                else_=len(DURATION_EDGES_MS))


async def duration_distribution(window: Window, *, workflow_id: int | None = None,
                                engine: AsyncEngine | None = None) -> list[DurationBin]:
    """Finished runs per duration range (every range present, 0 when empty; [] when no run has a duration)."""
    where = [*in_window(window), E.type == EventType.RUN_FINISHED.value, E.duration_ms.is_not(None)]
    if workflow_id is not None:
        where.append(E.workflow_id == workflow_id)
    bin_index = _duration_range().label("bin")
    async with (engine or get_engine()).connect() as conn:
        rows = (await conn.execute(select(bin_index, func.count()).where(*where).group_by(bin_index))).all()
    counts = {int(row[0]): int(row[1]) for row in rows}
    if not counts:
        return []
    labels = [label for _, label in DURATION_EDGES_MS] + [LAST_RANGE]
    return [DurationBin(label=label, count=counts.get(index, 0)) for index, label in enumerate(labels)]


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
    async with (engine or get_engine()).connect() as conn:
        await serial(conn)
        rows = (await conn.execute(query)).all()
    result = []
    for workflow, name, total, ok, bad in rows:
        finished = int(ok or 0) + int(bad or 0)
        result.append(WorkflowRate(workflow_id=int(workflow), name=str(name), runs=int(total or 0),
                                   succeeded=int(ok or 0), failed=int(bad or 0),
                                   success_rate=int(ok or 0) / finished if finished else None))
    return result


async def deliveries_by_channel(window: Window, *, engine: AsyncEngine | None = None) -> list[DeliveryCount]:
    """Delivery attempts per channel and outcome (``sent``, ``failed``/``dead``, ``queued`` for a retry)."""
    src = rollup_source((window,), NOTIFY_TYPES, None, "channel").c
    query = (select(src.channel, src.status, func.sum(src.events)).group_by(src.channel, src.status)
             .order_by(src.channel, src.status))
    async with (engine or get_engine()).connect() as conn:
        await serial(conn)
        rows = (await conn.execute(query)).all()
    return [DeliveryCount(channel=str(channel or "unknown"), status=str(status or "unknown"), count=int(count or 0))
            for channel, status, count in rows if count]


def _weekday_and_hour(dialect: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Monday = 0 … Sunday = 6, and the UTC hour, of an event's time."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", E.time)
        return (cast(func.extract("isodow", utc), Integer) - 1, cast(func.extract("hour", utc), Integer))
    return ((cast(func.strftime("%w", E.time), Integer) + 6) % 7, cast(func.strftime("%H", E.time), Integer))


async def activity_heatmap(window: Window, *, workflow_id: int | None = None,
                           engine: AsyncEngine | None = None) -> list[list[int]]:
    """Distinct active users per UTC weekday (rows, Monday first) and hour (columns); [] when nobody was active."""
    engine = engine or get_engine()
    weekday, hour = _weekday_and_hour(engine.dialect.name)
    where = [*in_window(window), of_types(USER_EVENTS), E.user_id.is_not(None)]
    if workflow_id is not None:
        where.append(E.workflow_id == workflow_id)
    query = (select(weekday.label("wd"), hour.label("hr"), func.count(distinct(E.user_id)))
             .where(*where).group_by(weekday, hour))
    async with engine.connect() as conn:
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
    async with (engine or get_engine()).connect() as conn:
        rows = (await conn.execute(query)).all()
    return [WorkflowChoice(id=int(row[0]), name=str(row[1])) for row in rows]


__all__ = ["DeliveryCount", "DurationBin", "WorkflowChoice", "WorkflowRate", "activity_heatmap",
           "deliveries_by_channel", "duration_distribution", "success_by_workflow", "workflow_choices"]
