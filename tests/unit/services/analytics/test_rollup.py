"""The hourly rollups: kept current by each flush, rebuilt identically from raw events, and read so that
summaries and time series over any window (edges inside an hour included) equal the raw aggregation.

The reference figures are computed here in plain Python from the same seeded events.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, select

from models.analytics import EventType
from services.analytics import queries
from services.analytics.rollup import (
    ACTIVE_DAYS,
    ACTIVE_HOURS,
    BUCKET_RATIO,
    DAILY,
    DURATIONS,
    HOURLY,
    TOTALS,
    USER_EVENTS,
    bucket_bounds,
    duration_bucket,
    rebuild_rollup,
)
from services.analytics.windows import Window, truncate
from services.db import get_engine
from tests.unit.services.analytics.conftest import event, write

START = datetime(2026, 11, 22, 0, tzinfo=UTC)
USERS = [uuid.UUID(int=i) for i in range(1, 9)]
KINDS = [EventType.RUN_FINISHED, EventType.STEP_FINISHED, EventType.AI_CALL, EventType.NOTIFICATION_SENT,
         EventType.NOTIFICATION_FAILED, EventType.LOGIN]
_USER_KINDS = {t.value for t in USER_EVENTS}


def seeded_events(count: int = 600) -> list[dict[str, Any]]:
    rng = random.Random(11)
    rows = []
    for _ in range(count):
        at = START + timedelta(seconds=rng.randrange(3 * 24 * 3600), microseconds=rng.randrange(1_000_000))
        kind = rng.choice(KINDS)
        rows.append(event(kind, at, user_id=rng.choice([*USERS, None]), workflow_id=rng.choice([1, 2, 3, None]),
                          status=rng.choice(["succeeded", "failed", "cancelled", "dead", "queued", None]),
                          provider=rng.choice(["openai", "anthropic", None]), model=rng.choice(["a", "b", None]),
                          channel=rng.choice(["email", "slack", None]),
                          duration_ms=rng.choice([None, round(rng.lognormvariate(6, 1.5), 3), 0.25]),
                          tokens=rng.choice([None, rng.randrange(1000)]),
                          cost_usd=rng.choice([None, round(rng.random(), 4)])))
    return rows


EVENTS = seeded_events()
WINDOWS = [Window(datetime(2026, 11, 22, 10, 17, 3, tzinfo=UTC), datetime(2026, 11, 24, 14, 42, 11, tzinfo=UTC)),
           Window(datetime(2026, 11, 23, 5, 10, tzinfo=UTC), datetime(2026, 11, 23, 5, 50, tzinfo=UTC)),  # in an hour
           Window(datetime(2026, 11, 23, 5, 10, tzinfo=UTC), datetime(2026, 11, 23, 6, 50, tzinfo=UTC)),  # no whole one
           Window(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, 12, tzinfo=UTC))]


def inside(window: Window, row: dict[str, Any]) -> bool:
    return bool(window.start <= row["time"] < window.end)


def expected(metric: str, bucket: str, window: Window, group_by: str | None,
             workflow_id: int | None) -> dict[str | None, dict[str, float | None]]:
    """The non-empty buckets of ``queries.timeseries``, computed in Python."""
    spec = queries.METRICS[metric]
    types = {t.value for t in spec.types}
    field = {"workflow": "workflow_id", "user": "user_id"}.get(group_by or "", group_by)
    cells: dict[tuple[Any, datetime], list[dict[str, Any]]] = defaultdict(list)
    for row in EVENTS:
        if row["type"] in types and inside(window, row) and (workflow_id is None or row["workflow_id"] == workflow_id):
            cells[(row.get(field) if field else None, truncate(row["time"], bucket))].append(row)  # type: ignore[arg-type]
    result: dict[str | None, dict[str, float | None]] = defaultdict(dict)
    for (group, start), rows in cells.items():
        durations = [r["duration_ms"] for r in rows if r["duration_ms"] is not None]
        value: float | None = {
            "runs": len(rows), "steps": len(rows), "ai_calls": len(rows), "notifications": len(rows),
            "logins": len(rows),
            "run_failures": sum(r["status"] == "failed" for r in rows),
            "notification_failures": sum(r["status"] in ("failed", "dead") for r in rows),
            "ai_tokens": sum(r["tokens"] or 0 for r in rows), "ai_cost_usd": sum(r["cost_usd"] or 0 for r in rows),
            "run_duration_ms": sum(durations) / len(durations) if durations else None,
            "ai_latency_ms": sum(durations) / len(durations) if durations else None,
            "active_users": len({r["user_id"] for r in rows if r["user_id"] is not None}),
        }[metric]
        if value:
            result[None if group is None else str(group)][start.isoformat()] = value
    return dict(result)


def nonempty(series: queries.TimeSeries) -> dict[str | None, dict[str, float | None]]:
    found = {s.group: {p.bucket.isoformat(): p.value for p in s.points if p.value} for s in series.series}
    return {group: points for group, points in found.items() if points}


def approx(figures: dict[str | None, dict[str, float | None]]) -> Any:
    return {group: {key: pytest.approx(value) for key, value in points.items()} for group, points in figures.items()}


@pytest.fixture
async def seeded(analytics_db: str) -> str:
    for start in range(0, len(EVENTS), 97):  # many small flushes: rollup rows are upserted again and again
        await write(EVENTS[start:start + 97])
    return analytics_db


async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, Table] = {"hourly": HOURLY, "daily": DAILY, "totals": TOTALS, "durations": DURATIONS,
                                "hours": ACTIVE_HOURS, "days": ACTIVE_DAYS}
    result = {}
    async with get_engine().connect() as conn:
        for name, table in tables.items():
            columns = [c for c in table.c if c.name != "id"]
            rows = (await conn.execute(select(*columns).order_by(*columns[:3]))).all()
            result[name] = [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]
    return result


CASES = [("runs", "hour", "status", None), ("runs", "day", "workflow", None), ("run_failures", "hour", None, 2),
         ("run_duration_ms", "hour", None, None), ("run_duration_ms", "day", "status", 1),
         ("ai_tokens", "day", "model", None), ("ai_cost_usd", "hour", "provider", None),
         ("notification_failures", "day", "channel", None), ("notifications", "week", "status", 3),
         ("logins", "hour", None, None), ("active_users", "hour", None, None), ("active_users", "day", None, None),
         ("active_users", "week", None, None), ("active_users", "day", "status", None),
         ("active_users", "day", None, 1), ("runs", "day", "user", None), ("steps", "hour", "status", None),
         ("steps", "day", None, 2), ("ai_latency_ms", "hour", "provider", None), ("ai_latency_ms", "day", "model", 1)]


@pytest.mark.parametrize("window", WINDOWS, ids=["edges", "one-hour", "two-partial", "aligned"])
async def test_series_over_any_window_equal_the_raw_aggregation(seeded: str, window: Window) -> None:
    for metric, bucket, group_by, workflow_id in CASES:
        series = await queries.timeseries(metric, bucket=bucket, window=window, group_by=group_by,  # type: ignore[arg-type]
                                          workflow_id=workflow_id)
        assert nonempty(series) == approx(expected(metric, bucket, window, group_by, workflow_id)), (
            metric, bucket, group_by, workflow_id)


@pytest.mark.parametrize("window", WINDOWS, ids=["edges", "one-hour", "two-partial", "aligned"])
@pytest.mark.parametrize("workflow_id", [None, 2])
async def test_summary_over_any_window_equals_the_raw_aggregation(seeded: str, window: Window,
                                                                 workflow_id: int | None) -> None:
    result = await queries.summary(window, workflow_id=workflow_id)
    for period, totals in ((window, result.current), (window.previous(), result.previous)):
        rows = [r for r in EVENTS if inside(period, r) and (workflow_id is None or r["workflow_id"] == workflow_id)]
        runs = [r for r in rows if r["type"] == "run_finished"]
        ai = [r for r in rows if r["type"] == "ai_call"]
        durations = sorted(r["duration_ms"] for r in runs if r["duration_ms"] is not None)
        assert (totals.runs, totals.runs_succeeded, totals.runs_failed, totals.runs_cancelled) == (
            len(runs), *(sum(r["status"] == s for r in runs) for s in ("succeeded", "failed", "cancelled")))
        assert totals.duration_avg_ms == (pytest.approx(sum(durations) / len(durations)) if durations else None)
        assert (totals.ai_calls, totals.ai_tokens, totals.ai_cost_usd) == (
            len(ai), sum(r["tokens"] or 0 for r in ai), pytest.approx(sum(r["cost_usd"] or 0 for r in ai)))
        assert (totals.notifications_sent, totals.notifications_failed) == (
            sum(r["type"] == "notification_sent" for r in rows),
            sum(r["type"] == "notification_failed" and r["status"] in ("failed", "dead") for r in rows))
        assert totals.active_users == len({r["user_id"] for r in rows
                                           if r["type"] in _USER_KINDS and r["user_id"] is not None})
        for fraction, estimate in ((0.5, totals.duration_p50_ms), (0.95, totals.duration_p95_ms)):
            if not durations:
                assert estimate is None
                continue
            position = fraction * (len(durations) - 1)
            low, high = durations[int(position)], durations[min(int(position) + 1, len(durations) - 1)]
            exact = low + (high - low) * (position - int(position))
            assert estimate is not None
            # the documented bound: below a factor BUCKET_RATIO (9.05 %), or 1 ms below 1 ms
            assert exact / BUCKET_RATIO - 1 <= estimate <= exact * BUCKET_RATIO + 1, (fraction, estimate, exact)


async def test_rebuilding_from_raw_events_gives_what_the_flushes_built(seeded: str) -> None:
    incremental = await snapshot()
    assert all(incremental.values())
    assert await rebuild_rollup(get_engine()) == len(EVENTS)
    assert await snapshot() == incremental
    assert await rebuild_rollup(get_engine(), since=datetime(2026, 11, 23, 13, 25, tzinfo=UTC)) < len(EVENTS)
    assert await snapshot() == incremental


async def test_flushes_add_up_in_the_same_rollup_row(analytics_db: str) -> None:
    at = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    for _ in range(3):
        await write([event(EventType.AI_CALL, at, provider="openai", tokens=10, cost_usd=0.5, duration_ms=100.0,
                           user_id=USERS[0])])
    rows = (await snapshot())["hourly"]
    assert [(r[0], r[1], r[2], *r[8:13]) for r in rows] == [  # hour, type, key, events, durations, sum, tokens, cost
        (datetime(2026, 11, 23, 9, tzinfo=UTC), "ai_call", "||:openai||", 3, 3, 300.0, 30, 1.5)]


def test_duration_buckets_are_eighth_octaves_and_hold_their_values() -> None:
    assert duration_bucket(0.0) == duration_bucket(0.99) == 0
    assert duration_bucket(1.0) == 1 and duration_bucket(2.0) == 9 and duration_bucket(1000.0) == 80
    for value in (1.0, 1.5, 3.3, 100.0, 999.9, 1000.0, 12345.6, 3.6e6):
        low, high = bucket_bounds(duration_bucket(value))
        assert low <= value < high and math.isclose(high / low, BUCKET_RATIO)
