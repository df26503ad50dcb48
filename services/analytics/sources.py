"""Reading the rollups: rollup-shaped rows for a window (whole hours and days from the rollup tables,
the partial hours at its edges from the raw events), active users, and percentiles.

Percentiles come from ``percentile_cont`` on PostgreSQL and from window functions
(``row_number``/``count`` over the ordered values) on SQLite, with the same linear interpolation;
over whole hours they are estimated from the rollup's log-scale duration histogram (see ``queries``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select, Subquery
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import EventType
from services.analytics.metrics import E, in_window, of_types
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
from services.analytics.windows import Window, truncate

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ROLLED_GROUPS: dict[str, str] = {"workflow": "workflow_id", "provider": "provider", "model": "model",
                                 "channel": "channel", "status": "status"}


def split_window(window: Window, step: timedelta = HOUR) -> tuple[Window | None, list[Window]]:
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


def rollup_source(periods: Sequence[Window], types: Sequence[EventType], workflow_id: int | None,
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
        whole, edges = split_window(window)
        if whole is not None:
            whole_days, hour_pieces = split_window(whole, DAY) if days and fine else (None, [whole])
            if whole_days is not None:
                parts.append(rolled(DAILY, "day", whole_days))
            parts += [rolled(HOURLY if fine else TOTALS, "hour", piece) for piece in hour_pieces]
        for edge in edges:
            where = [E.type.in_(names), *in_window(edge)]
            if workflow_id is not None:
                where.append(E.workflow_id == workflow_id)
            parts.append(select(E.time.label("ts"), E.type, *(E[name] for name in dims),
                                literal_column("1").label("events"),
                                case((E.duration_ms.is_not(None), 1), else_=0).label("duration_count"),
                                E.duration_ms.label("duration_sum"), E.tokens, E.cost_usd).where(*where))
    return _union(parts, "source")


def active_source(periods: Sequence[Window], *, days: bool) -> Subquery:
    """``(ts, user_id)`` rows whose distinct users per bucket are the active users: whole days from the
    day table (when ``days``: buckets of a day or more), whole hours from the hour table, edges from raw."""
    day_table, hour_table = ACTIVE_DAYS.c, ACTIVE_HOURS.c
    parts: list[Select[Any]] = []
    for window in periods:
        whole_hours, edges = split_window(window)
        if whole_hours is not None:
            whole_days, hour_pieces = split_window(whole_hours, DAY) if days else (None, [whole_hours])
            if whole_days is not None:
                parts.append(select(day_table.day.label("ts"), day_table.user_id)
                             .where(day_table.day >= whole_days.start, day_table.day < whole_days.end))
            parts += [select(hour_table.hour.label("ts"), hour_table.user_id)
                      .where(hour_table.hour >= piece.start, hour_table.hour < piece.end) for piece in hour_pieces]
        parts += [select(E.time.label("ts"), E.user_id)
                  .where(of_types(USER_EVENTS), E.user_id.is_not(None), *in_window(edge)) for edge in edges]
    return _union(parts, "active")


async def serial(conn: AsyncConnection) -> None:
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


async def rolled_percentiles(conn: AsyncConnection, event_type: EventType, window: Window, periods: Sequence[Window],
                              fractions: Sequence[float] = (0.5, 0.95)) -> dict[int, list[float | None]]:
    """p50/p95 of ``event_type``'s durations per period (1: in ``window``, 0: before it) from the histogram
    of whole hours plus the raw durations of the edges; exact from raw when a period has no whole hour."""
    D = DURATIONS.c
    histograms: dict[int, dict[int, list[float]]] = {0: {}, 1: {}}
    raw: dict[int, list[float]] = {0: [], 1: []}
    wholes, edges = [], []
    for period in periods:
        whole, pieces = split_window(period)
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
            E.type == event_type.value, E.duration_ms.is_not(None), or_(*(and_(*in_window(w)) for w in edges))))
        for inside, duration in durations:
            raw[1 if inside else 0].append(float(duration))
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


__all__ = ["DAY", "HOUR", "ROLLED_GROUPS", "active_source", "percentiles", "rolled_percentiles", "rollup_source",
           "serial", "split_window"]
