"""Hourly rollups of ``analytics_events``, kept current by the recorder's flush.

Six tables, each a sum that adding one more batch cannot invalidate:

* ``analytics_hourly``: per UTC hour, type and (workflow, status, provider, model, channel), the
  number of events and the sums of duration (with how many had one), tokens, cost and value;
* ``analytics_daily``: the same per UTC day (for day and week buckets over long ranges);
* ``analytics_hourly_totals``: the same per hour, type and status only (a few rows an hour: what
  the summary and unsplit series read);
* ``analytics_hourly_durations``: per hour and type, a log-scale histogram of durations (eight
  buckets per doubling) with each bucket's count and sum, for approximate percentiles;
* ``analytics_active_hours`` / ``analytics_active_days``: which users were active (``USER_EVENTS``)
  in an hour / a day, so distinct users over any window are exact.

``upsert_rollup`` folds a batch of event rows into them (``INSERT ... ON CONFLICT DO UPDATE SET
events = events + excluded.events ...``, the same on PostgreSQL and SQLite) inside the transaction
that inserts the raw rows, so the rollups never disagree with the events. ``rebuild_rollup``
recomputes them from the raw events (after a COPY, or events written around the recorder): with
one ``INSERT ... SELECT ... GROUP BY`` per table on PostgreSQL, with the recorder's own code on
SQLite (a test checks both against the incremental result).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.analytics import (
    AnalyticsActiveDay,
    AnalyticsActiveHour,
    AnalyticsDaily,
    AnalyticsEvent,
    AnalyticsHourly,
    AnalyticsHourlyDuration,
    AnalyticsHourlyTotal,
    EventType,
)

EVENTS: Table = AnalyticsEvent.__table__  # type: ignore[attr-defined]
HOURLY: Table = AnalyticsHourly.__table__  # type: ignore[attr-defined]
DAILY: Table = AnalyticsDaily.__table__  # type: ignore[attr-defined]
TOTALS: Table = AnalyticsHourlyTotal.__table__  # type: ignore[attr-defined]
DURATIONS: Table = AnalyticsHourlyDuration.__table__  # type: ignore[attr-defined]
ACTIVE_HOURS: Table = AnalyticsActiveHour.__table__  # type: ignore[attr-defined]
ACTIVE_DAYS: Table = AnalyticsActiveDay.__table__  # type: ignore[attr-defined]

DIMENSIONS = ("workflow_id", "status", "provider", "model", "channel")
# Events that make a user "active" (notifications a user merely receives do not).
USER_EVENTS = (EventType.LOGIN, EventType.WORKFLOW_CREATED, EventType.WORKFLOW_EDITED, EventType.RUN_STARTED,
               EventType.RUN_FINISHED, EventType.AI_CALL, EventType.PAGE_VIEW, EventType.UI_ACTION,
               EventType.API_CALL)
_USER_EVENT_VALUES = frozenset(t.value for t in USER_EVENTS)
BUCKETS_PER_DOUBLING = 8
# A bucket's estimate (the mean of its values) and any value in it differ by less than this factor.
BUCKET_RATIO = 2 ** (1 / BUCKETS_PER_DOUBLING)
_LN2 = math.log(2)
_SUMS = ("events", "duration_count", "duration_sum", "tokens", "cost_usd", "value")
_CHUNK = 2000

Row = dict[str, Any]


def duration_bucket(duration_ms: float) -> int:
    """0 below 1 ms, else ``b`` with ``2**((b-1)/8) <= duration < 2**(b/8)``."""
    if duration_ms < 1:
        return 0
    # ln(d) / ln(2), as PostgreSQL's rebuild computes it, so both put a value in the same bucket
    return math.floor(math.log(duration_ms) / _LN2 * BUCKETS_PER_DOUBLING) + 1


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """``[low, high)`` of a duration bucket, in ms."""
    if bucket == 0:
        return 0.0, 1.0
    return 2 ** ((bucket - 1) / BUCKETS_PER_DOUBLING), 2 ** (bucket / BUCKETS_PER_DOUBLING)


def dimension_key(workflow_id: Any, status: Any, provider: Any, model: Any, channel: Any) -> str:
    """The dimensions as one unique-key string: ``:value`` each, empty for NULL, ``|`` between."""
    return "|".join("" if value is None else f":{value}" for value in (workflow_id, status, provider, model, channel))


def _hour(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


class Rollup:
    """An in-memory sum of event rows, shaped like the rollup tables."""

    def __init__(self) -> None:
        self.hourly: dict[tuple[str, datetime, str], Row] = {}
        self.daily: dict[tuple[str, datetime, str], Row] = {}
        self.totals: dict[tuple[str, datetime, str], Row] = {}
        self.durations: dict[tuple[str, datetime, int], list[float]] = {}
        self.active_hours: set[tuple[datetime, uuid.UUID]] = set()
        self.active_days: set[tuple[datetime, uuid.UUID]] = set()

    def add(self, row: Row) -> None:
        hour, kind = _hour(row["time"]), row["type"]
        dims = [row.get(name) for name in DIMENSIONS]
        key = dimension_key(*dims)
        status = row.get("status")
        total = self.hourly.get((kind, hour, key))
        if total is None:
            total = self.hourly[(kind, hour, key)] = {
                "type": kind, "hour": hour, "key": key, **dict(zip(DIMENSIONS, dims, strict=True)),
                **dict.fromkeys(_SUMS, 0)}
        day = hour.replace(hour=0)
        daily = self.daily.get((kind, day, key))
        if daily is None:
            daily = self.daily[(kind, day, key)] = {**total, "day": day, **dict.fromkeys(_SUMS, 0)}
            del daily["hour"]
        coarse = self.totals.get((kind, hour, status_key := "" if status is None else f":{status}"))
        if coarse is None:
            coarse = self.totals[(kind, hour, status_key)] = {"type": kind, "hour": hour, "key": status_key,
                                                              "status": status, **dict.fromkeys(_SUMS, 0)}
        duration = row.get("duration_ms")
        if duration is not None:
            histogram = self.durations.setdefault((kind, hour, duration_bucket(duration)), [0, 0.0])
            histogram[0] += 1
            histogram[1] += duration
        for sums in (total, daily, coarse):
            sums["events"] += 1
            if duration is not None:
                sums["duration_count"] += 1
                sums["duration_sum"] += duration
            sums["tokens"] += row.get("tokens") or 0
            sums["cost_usd"] += row.get("cost_usd") or 0.0
            sums["value"] += row.get("value") or 0.0
        user = row.get("user_id")
        if user is not None and kind in _USER_EVENT_VALUES:
            self.active_hours.add((hour, user))
            self.active_days.add((day, user))

    def extend(self, rows: Iterable[Row]) -> Rollup:
        for row in rows:
            self.add(row)
        return self

    async def write(self, conn: AsyncConnection) -> None:
        """Add these sums to the rollup tables (sorted, so concurrent writers lock rows in the same order)."""
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        for table, sums, at in ((HOURLY, self.hourly, "hour"), (DAILY, self.daily, "day"),
                                (TOTALS, self.totals, "hour")):
            if sums:
                stmt = dialect.insert(table)
                stmt = stmt.on_conflict_do_update(index_elements=[table.c.type, table.c[at], table.c.key],
                                                  set_={name: table.c[name] + stmt.excluded[name] for name in _SUMS})
                await _execute_chunked(conn, stmt, [sums[k] for k in sorted(sums)])
        if self.durations:
            stmt = dialect.insert(DURATIONS)
            stmt = stmt.on_conflict_do_update(
                index_elements=[DURATIONS.c.type, DURATIONS.c.hour, DURATIONS.c.bucket],
                set_={"count": DURATIONS.c.count + stmt.excluded.count,
                      "total": DURATIONS.c.total + stmt.excluded.total})
            await _execute_chunked(conn, stmt, [{"type": k[0], "hour": k[1], "bucket": k[2], "count": v[0],
                                                 "total": v[1]} for k, v in sorted(self.durations.items())])
        for table, column, pairs in ((ACTIVE_HOURS, "hour", self.active_hours),
                                     (ACTIVE_DAYS, "day", self.active_days)):
            if pairs:
                await _execute_chunked(conn, dialect.insert(table).on_conflict_do_nothing(),
                                       [{column: at, "user_id": user} for at, user in sorted(pairs)])


async def _execute_chunked(conn: AsyncConnection, stmt: Any, rows: list[Row]) -> None:
    for start in range(0, len(rows), _CHUNK):
        await conn.execute(stmt, rows[start:start + _CHUNK])


async def upsert_rollup(conn: AsyncConnection, rows: list[Row]) -> None:
    """Fold a batch of event rows (as written to ``analytics_events``) into the rollups, on ``conn``."""
    await Rollup().extend(rows).write(conn)


_ROLLUP_COLUMNS = ("time", "type", "user_id", *DIMENSIONS, "duration_ms", "tokens", "cost_usd", "value")


async def rebuild_rollup(engine: AsyncEngine, since: datetime | None = None, *, chunk: int = 20_000) -> int:
    """Recompute the rollups from the raw events (all of them, or from the UTC hour holding ``since``).

    For events written around the recorder (a COPY, a restore). Returns how many events it read.
    Run it while nothing else writes events for those hours: a concurrent flush would be counted
    twice or lost.
    """
    start = None if since is None else _hour(since)
    day = None if start is None else start.replace(hour=0)
    async with engine.begin() as conn:
        for table, column in ((HOURLY, "hour"), (TOTALS, "hour"), (DURATIONS, "hour"), (ACTIVE_HOURS, "hour")):
            await conn.execute(delete(table).where(table.c[column] >= start) if start else delete(table))
        for table in (ACTIVE_DAYS, DAILY):
            await conn.execute(delete(table).where(table.c.day >= day) if day else delete(table))
        if conn.dialect.name == "postgresql":
            return await _rebuild_in_sql(conn, start, day)
        hourly, read = await _aggregate(conn, start, chunk)
        hourly.daily.clear()
        hourly.active_days.clear()
        await hourly.write(conn)
        daily, _ = await _aggregate(conn, day, chunk)  # whole days: from the start of the day holding ``start``
        daily.hourly.clear()
        daily.totals.clear()
        daily.durations.clear()
        daily.active_hours.clear()
        await daily.write(conn)
    return read


async def _aggregate(conn: AsyncConnection, since: datetime | None, chunk: int) -> tuple[Rollup, int]:
    """Every rollup of the raw events from ``since`` on, summed in memory with the recorder's code."""
    rollup, read = Rollup(), 0
    query = select(*(EVENTS.c[name] for name in _ROLLUP_COLUMNS))
    result = await conn.stream((query.where(EVENTS.c.time >= since) if since else query)
                               .execution_options(yield_per=chunk))
    async for part in result.partitions(chunk):
        for values in part:
            rollup.add(dict(zip(_ROLLUP_COLUMNS, values, strict=True)))
        read += len(part)
    return rollup, read


_HOUR_SQL = "date_trunc('hour', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_DAY_SQL = "date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_SUMS_SQL = ("count(*), count(duration_ms), coalesce(sum(duration_ms), 0), coalesce(sum(tokens), 0), "
             "coalesce(sum(cost_usd), 0), coalesce(sum(value), 0)")


async def _rebuild_in_sql(conn: AsyncConnection, start: datetime | None, day: datetime | None) -> int:
    """``rebuild_rollup`` on PostgreSQL: the same sums, one ``INSERT ... SELECT ... GROUP BY`` per table."""
    since = "WHERE time >= :start" if start is not None else ""
    since_day = "WHERE time >= :day" if day is not None else ""
    params = {"start": start, "day": day, "user_types": list(_USER_EVENT_VALUES)}
    key = " || '|' || ".join(f"coalesce(':' || {name}::text, '')" for name in DIMENSIONS)
    statements = [
        f"INSERT INTO analytics_hourly (hour, type, key, {', '.join(DIMENSIONS)}, {', '.join(_SUMS)}) "  # noqa: S608 (constant fragments only)
        f"SELECT {_HOUR_SQL} AS h, type, {key}, {', '.join(DIMENSIONS)}, {_SUMS_SQL} FROM analytics_events {since} "
        f"GROUP BY h, type, {', '.join(DIMENSIONS)}",
        f"INSERT INTO analytics_daily (day, type, key, {', '.join(DIMENSIONS)}, {', '.join(_SUMS)}) "  # noqa: S608
        f"SELECT {_DAY_SQL} AS d, type, {key}, {', '.join(DIMENSIONS)}, {_SUMS_SQL} FROM analytics_events "
        f"{since_day} GROUP BY d, type, {', '.join(DIMENSIONS)}",
        f"INSERT INTO analytics_hourly_totals (hour, type, key, status, {', '.join(_SUMS)}) "  # noqa: S608 (constant fragments only)
        f"SELECT {_HOUR_SQL} AS h, type, coalesce(':' || status, ''), status, {_SUMS_SQL} FROM analytics_events "
        f"{since} GROUP BY h, type, status",
        f"INSERT INTO analytics_hourly_durations (hour, type, bucket, count, total) "  # noqa: S608 (constant fragments only)
        f"SELECT {_HOUR_SQL} AS h, type, CASE WHEN duration_ms < 1 THEN 0 "
        f"ELSE floor(ln(duration_ms) / ln(2) * {BUCKETS_PER_DOUBLING}) + 1 END AS b, count(*), sum(duration_ms) "
        f"FROM analytics_events WHERE duration_ms IS NOT NULL {since.replace('WHERE', 'AND')} GROUP BY h, type, b",
        f"INSERT INTO analytics_active_hours (hour, user_id) SELECT DISTINCT {_HOUR_SQL}, user_id "  # noqa: S608 (constant fragments only)
        f"FROM analytics_events WHERE user_id IS NOT NULL AND type = ANY(:user_types) "
        f"{since.replace('WHERE', 'AND')}",
        "INSERT INTO analytics_active_days (day, user_id) SELECT DISTINCT "  # noqa: S608 (constant fragments only)
        "date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', user_id FROM analytics_events "
        f"WHERE user_id IS NOT NULL AND type = ANY(:user_types) {'AND time >= :day' if day is not None else ''}",
    ]
    for statement in statements:
        await conn.execute(text(statement), params)
    count = select(func.count()).select_from(EVENTS)
    return int((await conn.execute(count.where(EVENTS.c.time >= start) if start else count)).scalar_one())


__all__ = ["BUCKET_RATIO", "DAILY", "TOTALS", "USER_EVENTS", "Rollup", "bucket_bounds", "duration_bucket",
           "rebuild_rollup", "upsert_rollup"]
