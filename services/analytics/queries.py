"""Aggregations over ``analytics_events``, computed by the database: totals, time series, percentiles.

One builder serves PostgreSQL and SQLite: buckets come from ``windows.bucket_key`` (``date_trunc``
or ``strftime``), percentiles from ``percentile_cont`` on PostgreSQL and from window functions
(``row_number``/``count`` over the ordered values) on SQLite, with the same linear interpolation.
Every query filters on ``type`` and a ``time`` range, which the ``(type, time)`` index answers.

``summary`` and ``timeseries`` read the hourly rollups (``rollup.py``) for the whole UTC hours of a
window (the daily ones for its whole days, when buckets are days or weeks) and the raw events only
for the partial hours at its edges (one ``UNION ALL``), so their cost grows with the number of
hours, not of events. Counts and sums are exact. Distinct users come from
the per-day and per-hour presence tables, exact as well. The summary's p50/p95 duration comes from
the rollup's log-scale histogram: each order statistic is estimated by the mean of its bucket, so
it is exact when the value sits alone in its bucket (or the bucket holds equal values) and never
off by a factor of ``rollup.BUCKET_RATIO`` (2^(1/8): 9.05 %) or more (below 1 ms: by less than
1 ms); a window without a whole hour uses the raw values, exactly. What the rollups do not hold
(grouping by user; distinct users, or percentiles, of one workflow) is read from the raw events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import (
    Float,
    Integer,
    Table,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ColumnCollection, Select, Subquery
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import AnalyticsEvent, EventType
from services.analytics.rollup import (
    ACTIVE_DAYS,
    ACTIVE_HOURS,
    DAILY,
    DURATIONS,
    HOURLY,
    TOTALS,
    USER_EVENTS,
    bucket_bounds,
    duration_bucket,
)
from services.analytics.windows import Bucket, Window, bucket_key, bucket_starts, parse_bucket_key, truncate
from services.db import get_engine

EVENTS: Table = AnalyticsEvent.__table__  # type: ignore[attr-defined]
E = EVENTS.c

GroupBy = Literal["workflow", "user", "provider", "model", "channel", "status"]
GROUP_COLUMNS: dict[str, Any] = {"workflow": E.workflow_id, "user": E.user_id, "provider": E.provider,
                                 "model": E.model, "channel": E.channel, "status": E.status}
Metric = Literal["runs", "run_failures", "run_duration_ms", "steps", "ai_calls", "ai_tokens", "ai_cost_usd",
                 "ai_latency_ms", "notifications", "notification_failures", "logins", "active_users"]
FAILED_DELIVERY = ("failed", "dead")  # a notification_failed event with status queued will be retried


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


Rolled = Callable[[ColumnCollection[str, Any]], ColumnElement[Any]]


@dataclass(frozen=True)
class MetricSpec:
    """Which events a metric reads and how a bucket's value is aggregated; ``additive`` ones are 0 when empty.

    ``value`` aggregates raw events; ``rolled`` the same figure over rollup-shaped rows (see ``_source``),
    None when the rollups cannot give it (distinct users have their own tables).
    """

    types: tuple[EventType, ...]
    value: ColumnElement[Any]
    rolled: Rolled | None
    additive: bool = True
    description: str = ""


def _events(c: ColumnCollection[str, Any]) -> ColumnElement[Any]:
    return func.sum(c.events)


def _events_if(condition: Callable[[ColumnCollection[str, Any]], ColumnElement[bool]]) -> Rolled:
    return lambda c: func.sum(case((condition(c), c.events), else_=0))


def _mean_duration(c: ColumnCollection[str, Any]) -> ColumnElement[Any]:
    return func.sum(c.duration_sum) / func.nullif(cast(func.sum(c.duration_count), Float), 0.0)


_RUN = (EventType.RUN_FINISHED,)
_AI = (EventType.AI_CALL,)
_NOTIFY = (EventType.NOTIFICATION_SENT, EventType.NOTIFICATION_FAILED)
METRICS: dict[str, MetricSpec] = {
    "runs": MetricSpec(_RUN, func.count(), _events, description="finished runs"),
    "run_failures": MetricSpec(_RUN, _count_if(E.status == "failed"), _events_if(lambda c: c.status == "failed"),
                               description="failed runs"),
    "run_duration_ms": MetricSpec(_RUN, func.avg(E.duration_ms), _mean_duration, additive=False,
                                  description="mean run duration"),
    "steps": MetricSpec((EventType.STEP_FINISHED,), func.count(), _events, description="finished steps"),
    "ai_calls": MetricSpec(_AI, func.count(), _events, description="AI calls (failed attempts included)"),
    "ai_tokens": MetricSpec(_AI, func.coalesce(func.sum(E.tokens), 0), lambda c: func.coalesce(func.sum(c.tokens), 0),
                            description="AI tokens"),
    "ai_cost_usd": MetricSpec(_AI, func.coalesce(func.sum(E.cost_usd), 0.0),
                              lambda c: func.coalesce(func.sum(c.cost_usd), 0.0), description="AI cost in USD"),
    "ai_latency_ms": MetricSpec(_AI, func.avg(E.duration_ms), _mean_duration, additive=False,
                                description="mean AI latency"),
    "notifications": MetricSpec(_NOTIFY, func.count(), _events, description="delivery attempts"),
    "notification_failures": MetricSpec(_NOTIFY, _count_if(E.status.in_(FAILED_DELIVERY)),
                                        _events_if(lambda c: c.status.in_(FAILED_DELIVERY)),
                                        description="deliveries that failed for good"),
    "logins": MetricSpec((EventType.LOGIN,), func.count(), _events, description="sign-ins"),
    "active_users": MetricSpec(USER_EVENTS, func.count(distinct(E.user_id)), None, additive=False,
                               description="distinct users with activity"),
}


def _in_window(window: Window) -> list[ColumnElement[bool]]:
    return [E.time >= window.start, E.time < window.end]


def _of_types(types: Sequence[EventType]) -> ColumnElement[bool]:
    return E.type.in_([t.value for t in types])


def _group_label(value: Any) -> str | None:
    return None if value is None else str(value)



# --- reading the rollups -----------------------------------------------------------------------------------

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ROLLED_GROUPS: dict[str, str] = {"workflow": "workflow_id", "provider": "provider", "model": "model",
                                 "channel": "channel", "status": "status"}


def _split(window: Window, step: timedelta = HOUR) -> tuple[Window | None, list[Window]]:
    """The whole ``step``s (hours or days) inside ``window``, and the partial pieces at its edges."""
    first = truncate(window.start, "hour" if step == HOUR else "day")
    if first < window.start:
        first += step
    last = truncate(window.end, "hour" if step == HOUR else "day")
    if first >= last:
        return None, [window]
    return Window(first, last), [w for w in (Window(window.start, first), Window(last, window.end)) if w.start < w.end]


def _union(parts: list[Select[Any]], name: str) -> Subquery:
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery(name)


def _source(periods: Sequence[Window], types: Sequence[EventType], workflow_id: int | None,
            group_by: str | None = None, *, days: bool = False) -> Subquery:
    """Rollup-shaped rows for ``periods``: rollup rows for their whole hours (whole days too when ``days``:
    buckets of a day or more), raw events for the partial hours at their edges.

    Columns: ``ts`` (the day, the hour, or the event's time), type, status, ``events``, ``duration_count``,
    ``duration_sum``, ``tokens``, ``cost_usd``, plus the other dimensions when a workflow filter or a
    grouping needs them: then from ``analytics_daily``/``analytics_hourly``, else from the few rows of
    ``analytics_hourly_totals``.
    """
    names = [t.value for t in types]
    fine = workflow_id is not None or group_by not in (None, "status")
    dims = ("status", *(("workflow_id", "provider", "model", "channel") if fine else ()))
    measures = ("events", "duration_count", "duration_sum", "tokens", "cost_usd")

    def rolled(table: Table, at: str, piece: Window) -> Select[Any]:
        where = [table.c.type.in_(names), table.c[at] >= piece.start, table.c[at] < piece.end]
        if workflow_id is not None:
            where.append(table.c.workflow_id == workflow_id)
        return select(table.c[at].label("ts"), table.c.type, *(table.c[name] for name in (*dims, *measures))
                      ).where(*where)

    parts: list[Select[Any]] = []
    for window in periods:
        whole, edges = _split(window)
        if whole is not None:
            whole_days, hour_pieces = _split(whole, DAY) if days and fine else (None, [whole])
            if whole_days is not None:
                parts.append(rolled(DAILY, "day", whole_days))
            parts += [rolled(HOURLY if fine else TOTALS, "hour", piece) for piece in hour_pieces]
        for edge in edges:
            where = [E.type.in_(names), *_in_window(edge)]
            if workflow_id is not None:
                where.append(E.workflow_id == workflow_id)
            parts.append(select(E.time.label("ts"), E.type, *(E[name] for name in dims),
                                literal_column("1").label("events"),
                                case((E.duration_ms.is_not(None), 1), else_=0).label("duration_count"),
                                E.duration_ms.label("duration_sum"), E.tokens, E.cost_usd).where(*where))
    return _union(parts, "source")


def _active_source(periods: Sequence[Window], *, days: bool) -> Subquery:
    """``(ts, user_id)`` rows whose distinct users per bucket are the active users: whole days from the
    day table (when ``days``: buckets of a day or more), whole hours from the hour table, edges from raw."""
    day_table, hour_table = ACTIVE_DAYS.c, ACTIVE_HOURS.c
    parts: list[Select[Any]] = []
    for window in periods:
        whole_hours, edges = _split(window)
        if whole_hours is not None:
            whole_days, hour_pieces = _split(whole_hours, DAY) if days else (None, [whole_hours])
            if whole_days is not None:
                parts.append(select(day_table.day.label("ts"), day_table.user_id)
                             .where(day_table.day >= whole_days.start, day_table.day < whole_days.end))
            parts += [select(hour_table.hour.label("ts"), hour_table.user_id)
                      .where(hour_table.hour >= piece.start, hour_table.hour < piece.end) for piece in hour_pieces]
        parts += [select(E.time.label("ts"), E.user_id)
                  .where(_of_types(USER_EVENTS), E.user_id.is_not(None), *_in_window(edge)) for edge in edges]
    return _union(parts, "active")


async def _serial(conn: AsyncConnection) -> None:
    """No parallel workers for this transaction on PostgreSQL: rollup queries read a few thousand rows,
    and starting workers (~10 ms on a busy 2-core machine) costs more than the scan they would share."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def _estimate(histogram: list[list[float]], fractions: Sequence[float]) -> list[float | None]:
    """``percentile_cont`` over a histogram of ``[bucket, count, sum]`` (sorted by bucket): each order
    statistic is its bucket's mean, and neighbours are interpolated linearly as ``percentile_cont`` does."""
    n = int(sum(count for _, count, _ in histogram))
    if n == 0:
        return [None for _ in fractions]

    def nth(rank: int) -> float:
        seen = 0
        for bucket, count, total in histogram:
            seen += int(count)
            if rank < seen:
                low, high = bucket_bounds(int(bucket))
                return min(max(total / count, low), high)  # a float sum can stray a hair outside the bucket
        return histogram[-1][2] / histogram[-1][1]

    values: list[float | None] = []
    for fraction in fractions:
        position = fraction * (n - 1)
        low = int(position)
        low_value = nth(low)
        high_value = nth(low + 1) if low + 1 < n else low_value
        values.append(low_value + (high_value - low_value) * (position - low))
    return values


def _exact(values: list[float], fractions: Sequence[float]) -> list[float | None]:
    ordered = sorted(values)
    if not ordered:
        return [None for _ in fractions]
    result: list[float | None] = []
    for fraction in fractions:
        position = fraction * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        result.append(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
    return result


async def _rolled_percentiles(conn: AsyncConnection, event_type: EventType, window: Window, periods: Sequence[Window],
                              fractions: Sequence[float] = (0.5, 0.95)) -> dict[int, list[float | None]]:
    """p50/p95 of ``event_type``'s durations per period (1: in ``window``, 0: before it) from the histogram
    of whole hours plus the raw durations of the edges; exact from raw when a period has no whole hour."""
    D = DURATIONS.c
    histograms: dict[int, dict[int, list[float]]] = {0: {}, 1: {}}
    raw: dict[int, list[float]] = {0: [], 1: []}
    wholes, edges = [], []
    for period in periods:
        whole, pieces = _split(period)
        wholes += [] if whole is None else [whole]
        edges += pieces
    rolled = {1 if whole.start >= window.start else 0 for whole in wholes}
    if wholes:
        current = case((D.hour >= window.start, 1), else_=0)
        rows = await conn.execute(select(current, D.bucket, func.sum(D.count), func.sum(D.total))
                                  .where(D.type == event_type.value,
                                         or_(*(and_(D.hour >= w.start, D.hour < w.end) for w in wholes)))
                                  .group_by(current, D.bucket))
        for row in rows:
            histograms[int(row[0])][int(row[1])] = [int(row[1]), int(row[2]), float(row[3])]
    if edges:
        durations = await conn.execute(select(E.time >= window.start, E.duration_ms).where(
            E.type == event_type.value, E.duration_ms.is_not(None), or_(*(and_(*_in_window(w)) for w in edges))))
        for in_window, duration in durations:
            raw[1 if in_window else 0].append(float(duration))
    result: dict[int, list[float | None]] = {}
    for flag in (0, 1):
        if flag not in rolled:
            result[flag] = _exact(raw[flag], fractions)
            continue
        histogram = histograms[flag]
        for value in raw[flag]:
            entry = histogram.setdefault(duration_bucket(value), [duration_bucket(value), 0, 0.0])
            entry[1] += 1
            entry[2] += value
        result[flag] = _estimate(sorted(histogram.values()), fractions)
    return result


# --- percentiles -------------------------------------------------------------------------------------------

async def percentiles(conn: AsyncConnection, value: Any, where: Sequence[ColumnElement[bool]],
                      group: Any | None = None, fractions: Sequence[float] = (0.5, 0.95)
                      ) -> dict[Any, list[float | None]]:
    """Continuous percentiles (``percentile_cont``: linear interpolation) of ``value`` per ``group``."""
    where = [*where, value.is_not(None)]
    key = group if group is not None else literal(0)
    if conn.dialect.name == "postgresql":
        rows = (await conn.execute(select(key, *(func.percentile_cont(f).within_group(value) for f in fractions))
                                   .where(*where).group_by(key))).all()
        return {row[0]: [None if v is None else float(v) for v in row[1:]] for row in rows}
    ordered = select(key.label("g"), value.label("v"),
                     func.row_number().over(partition_by=key, order_by=value).label("rn"),
                     func.count().over(partition_by=key).label("n")).where(*where).subquery()
    picks: list[ColumnElement[Any]] = []
    for fraction in fractions:
        low = cast(fraction * (ordered.c.n - 1), Integer)
        picks += [func.max(case((ordered.c.rn - 1 == low, ordered.c.v))),
                  func.max(case((ordered.c.rn - 1 == low + 1, ordered.c.v)))]
    rows = (await conn.execute(select(ordered.c.g, func.max(ordered.c.n), *picks).group_by(ordered.c.g))).all()
    result: dict[Any, list[float | None]] = {}
    for row in rows:
        n, values = int(row[1]), []
        for i, fraction in enumerate(fractions):
            low_value, high_value = row[2 + 2 * i], row[3 + 2 * i]
            position = fraction * (n - 1)
            values.append(None if low_value is None else float(low_value) if high_value is None else
                          float(low_value) + (float(high_value) - float(low_value)) * (position - int(position)))
        result[row[0]] = values
    return result


# --- summary -----------------------------------------------------------------------------------------------

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


_SUMMARY_TYPES = (EventType.RUN_FINISHED, EventType.AI_CALL, *_NOTIFY)


async def summary(window: Window, *, workflow_id: int | None = None, engine: AsyncEngine | None = None) -> Summary:
    """Totals of ``window`` and of the one before: one query over the rollups (raw events at the edges),
    one over the active-user tables and the duration histogram (raw events for one workflow)."""
    previous = window.previous()
    periods = (previous, window)
    src = _source(periods, _SUMMARY_TYPES, workflow_id).c
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
    async with (engine or get_engine()).connect() as conn:
        await _serial(conn)
        rows = {row[0]: row for row in (await conn.execute(query)).all()}
        if workflow_id is None:
            active = _active_source(periods, days=True).c
            pairs = select(case((active.ts >= window.start, 1), else_=0).label("flag"), active.user_id
                           ).distinct().subquery()
            users = {row[0]: int(row[1]) for row in (await conn.execute(
                select(pairs.c.flag, func.count()).group_by(pairs.c.flag))).all()}
            spread = await _rolled_percentiles(conn, EventType.RUN_FINISHED, window, periods)
        else:  # the rollups of users and durations have no workflow: read the workflow's raw events (indexed)
            raw_where = [E.time >= previous.start, E.time < window.end, E.workflow_id == workflow_id]
            raw_period = case((E.time >= window.start, 1), else_=0)
            users = {row[0]: int(row[1]) for row in (await conn.execute(
                select(raw_period, func.count(distinct(E.user_id))).where(*raw_where, _of_types(USER_EVENTS))
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


# --- time series -------------------------------------------------------------------------------------------

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
        src = _source((window,), spec.types, workflow_id, group_by, days=bucket != "hour").c
        key = bucket_key(src.ts, bucket, dialect).label("bucket")
        group = src[ROLLED_GROUPS[group_by]] if group_by else literal(None)
        query = select(key, group.label("grp"), spec.rolled(src).label("value")).group_by(key, group)
    elif spec.rolled is None and group_by is None and workflow_id is None:
        active = _active_source((window,), days=bucket != "hour").c
        pairs = select(bucket_key(active.ts, bucket, dialect).label("bucket"), active.user_id).distinct().subquery()
        query = select(pairs.c.bucket, literal(None).label("grp"), func.count().label("value")
                       ).group_by(pairs.c.bucket)
    else:
        rolled = False
        key = bucket_key(E.time, bucket, dialect).label("bucket")
        group = GROUP_COLUMNS[group_by] if group_by else literal(None)
        where = [*_in_window(window), _of_types(spec.types)]
        if workflow_id is not None:
            where.append(E.workflow_id == workflow_id)
        query = select(key, group.label("grp"), spec.value.label("value")).where(*where).group_by(key, group)
    async with engine.connect() as conn:
        if rolled:
            await _serial(conn)
        rows = (await conn.execute(query)).all()
    by_group: dict[str | None, dict[datetime, float | None]] = {}
    for row in rows:
        by_group.setdefault(_group_label(row.grp), {})[parse_bucket_key(row.bucket)] = (
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


# --- grouped totals (insights) and a user's activity -------------------------------------------------------

async def grouped(conn: AsyncConnection, types: Sequence[EventType], window: Window, group: Any,
                  values: Sequence[ColumnElement[Any]]) -> list[Sequence[Any]]:
    """One row per group: the group, then each of ``values`` aggregated over the window."""
    query = select(group, *values).where(*_in_window(window), _of_types(types)).group_by(group)
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
    mine = [E.user_id == user_id, *_in_window(window)]
    async with engine.connect() as conn:
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
    where = _in_window(window) + ([_of_types(types)] if types else [])
    query = select(*(EVENTS.c[name] for name in EXPORT_COLUMNS)).where(*where).order_by(E.time, E.id)
    async with (engine or get_engine()).connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=chunk))
        async for part in result.partitions(chunk):
            yield [tuple(row) for row in part]


__all__ = ["METRICS", "Summary", "TimeSeries", "Totals", "UserActivity", "export_rows", "grouped",
           "percentiles", "summary", "timeseries", "user_activity"]
