"""Time series: a metric per UTC bucket over a window, one series per group."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.metrics import GROUP_COLUMNS, METRICS, E, GroupBy, Metric, group_label, in_window, of_types
from services.analytics.sources import ROLLED_GROUPS, active_source, rollup_source, serial
from services.analytics.windows import Bucket, Window, bucket_key, bucket_starts, parse_bucket_key
from services.db import get_engine, open_report_connection


class Point(BaseModel):
    bucket: datetime
    value: float | None


class Series(BaseModel):
    group: str | None
    total: float | None
    points: list[Point]


class TimeSeries(BaseModel):
    metric: str
    bucket: Bucket
    group_by: GroupBy | None
    start: datetime
    end: datetime
    series: list[Series]


async def timeseries(metric: Metric, *, bucket: Bucket, window: Window, group_by: GroupBy | None = None,
                     workflow_id: int | None = None, engine: AsyncEngine | None = None) -> TimeSeries:
    """``metric`` per UTC bucket (every bucket present: 0, or None for averages, when empty), one series per group.

    Read from the rollups (whole hours; whole days too for day and week buckets) plus the raw events of
    the edge hours; from the raw events alone when grouping by user, and for distinct users of one
    workflow or per group.
    """
    spec = METRICS[metric]
    starts = bucket_starts(window, bucket)
    engine = engine or get_engine()
    dialect = engine.dialect.name
    rolled = True
    if spec.rolled is not None and group_by != "user":
        src = rollup_source((window,), spec.types, workflow_id, group_by, days=bucket != "hour").c
        key = bucket_key(src.ts, bucket, dialect).label("bucket")
        group = src[ROLLED_GROUPS[group_by]] if group_by else literal(None)
        query = select(key, group.label("grp"), spec.rolled(src).label("value")).group_by(key, group)
    elif spec.rolled is None and group_by is None and workflow_id is None:
        active = active_source((window,), days=bucket != "hour").c
        pairs = select(bucket_key(active.ts, bucket, dialect).label("bucket"), active.user_id).distinct().subquery()
        query = select(pairs.c.bucket, literal(None).label("grp"), func.count().label("value")
                       ).group_by(pairs.c.bucket)
    else:
        rolled = False
        key = bucket_key(E.time, bucket, dialect).label("bucket")
        group = GROUP_COLUMNS[group_by] if group_by else literal(None)
        where = [*in_window(window), of_types(spec.types)]
        if workflow_id is not None:
            where.append(E.workflow_id == workflow_id)
        query = select(key, group.label("grp"), spec.value.label("value")).where(*where).group_by(key, group)
    async with open_report_connection(engine) as conn:
        if rolled:
            await serial(conn)
        rows = (await conn.execute(query)).all()
    by_group: dict[str | None, dict[datetime, float | None]] = {}
    for row in rows:
        by_group.setdefault(group_label(row.grp), {})[parse_bucket_key(row.bucket)] = (
            None if row.value is None else float(row.value))
    empty = 0.0 if spec.additive else None
    series = []
    for label, values in by_group.items():
        known = [v for v in values.values() if v is not None]
        total = sum(known) if spec.additive else None
        series.append(Series(group=label, total=total,
                             points=[Point(bucket=start, value=values.get(start, empty)) for start in starts]))
    series.sort(key=lambda s: (-(s.total or 0.0), s.group or ""))
    return TimeSeries(metric=metric, bucket=bucket, group_by=group_by, start=window.start, end=window.end,
                      series=series)


__all__ = ["Point", "Series", "TimeSeries", "timeseries"]
