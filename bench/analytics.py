"""Analytics queries over 1,000,000 events on PostgreSQL, beside the same aggregation done in Python.

Generates events spread over the last 30 days (runs ~40 %, steps ~35 %, AI calls 15 %,
notifications 7 %, logins 3 %; 50 workflows, 200 users, 4 providers, 4 channels) with COPY, builds
the hourly rollups from them (``rebuild_rollup``: COPY bypasses the recorder that keeps them current), then
times the summary (``time_range=day``, ``week`` and ``month``) and every time series
(``bucket=hour`` over a week, ``bucket=day`` over the month), p50/p95 of ``--repeat`` calls each.
The baseline fetches the rows the query reads and aggregates them in Python in the same run
(over the whole window: no sampling).

PostgreSQL is ``DATABASE_URL`` when that names one, else a temporary database on 127.0.0.1:5432.

    .venv/bin/python bench/analytics.py            # or: make bench
    .venv/bin/python bench/analytics.py --quick    # 100,000 events, fewer repeats
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))
GIVEN_POSTGRES_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith(
    ("postgres://", "postgresql")) else ""

from sqlalchemy import select  # noqa: E402

from services.analytics import breakdowns, queries  # noqa: E402
from services.analytics.rollup import rebuild_rollup  # noqa: E402
from services.analytics.windows import Window, resolve_window, truncate  # noqa: E402
from services.db import create_engine_for, sync_url  # noqa: E402
from tests.infra import migrate, temporary_postgres_database  # noqa: E402

SERIES = [("runs", "hour", "week", "status"), ("run_duration_ms", "hour", "week", None),
          ("ai_cost_usd", "hour", "week", "provider"), ("ai_tokens", "day", "month", "model"),
          ("notifications", "hour", "week", "channel"), ("active_users", "day", "month", None),
          ("runs", "day", "month", "workflow")]

BREAKDOWNS: list[tuple[str, Callable[..., Awaitable[Any]]]] = [
    ("duration_distribution", breakdowns.duration_distribution),
    ("success_by_workflow", breakdowns.success_by_workflow),
    ("deliveries_by_channel", breakdowns.deliveries_by_channel),
    ("activity_heatmap", breakdowns.activity_heatmap)]


def generate(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(7)
    users = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(200)]
    span = 30 * 24 * 3600
    for _ in range(count):
        at = now - timedelta(seconds=rng.random() * span)
        roll = rng.random()
        user = rng.choice(users)
        if roll < 0.40:
            status = "failed" if rng.random() < 0.08 else "succeeded"
            yield (at, "run_finished", user, rng.randrange(1, 51), None, None, status, None, None, None,
                   rng.lognormvariate(7, 0.8), rng.randrange(0, 3000), rng.random() / 10, None)
        elif roll < 0.75:
            yield (at, "step_finished", None, rng.randrange(1, 51), None, f"n{rng.randrange(8)}", "succeeded", None,
                   None, None, rng.lognormvariate(5, 1), 0, 0.0, None)
        elif roll < 0.90:
            provider = rng.choice(["openai", "anthropic", "google", "local"])
            yield (at, "ai_call", user, None, None, None, "failed" if rng.random() < 0.03 else "succeeded",
                   provider, f"{provider}-model-{rng.randrange(3)}", None, rng.lognormvariate(6, 0.5),
                   rng.randrange(10, 4000), rng.random() / 20, None)
        elif roll < 0.97:
            sent = rng.random() < 0.95
            yield (at, "notification_sent" if sent else "notification_failed", user, None, None, None,
                   "sent" if sent else "dead", None, None, rng.choice(["email", "slack", "in_app", "sms"]),
                   None, None, None, 1.0)
        else:
            yield (at, "login", user, None, None, None, None, None, None, None, None, None, None, None)


def load(url: str, count: int, now: datetime) -> float:
    """COPY ``count`` events in; returns the seconds it took (including ANALYZE)."""
    import psycopg

    columns = ("time", "type", "user_id", "workflow_id", "run_id", "node_id", "status", "provider", "model",
               "channel", "duration_ms", "tokens", "cost_usd", "value")
    started = time.perf_counter()
    dsn = sync_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE analytics_events")
        with conn.cursor() as cursor, cursor.copy(f"COPY analytics_events ({', '.join(columns)}) FROM STDIN") as copy:
            for row in generate(count, now):
                copy.write_row(row)
        conn.execute("VACUUM ANALYZE analytics_events")
    return time.perf_counter() - started


async def roll_up(url: str) -> float:
    """Build the hourly rollups from the COPYed events (COPY bypasses the recorder); returns seconds."""
    import psycopg

    started = time.perf_counter()
    engine = create_engine_for(url)
    try:
        await rebuild_rollup(engine)
    finally:
        await engine.dispose()
    dsn = sync_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("analytics_hourly", "analytics_hourly_durations", "analytics_active_hours",
                      "analytics_active_days"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float]:
    await call()  # warm: plan cache, pool
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.95)


async def python_summary(engine: Any, window: Window) -> dict[str, Any]:
    """The summary's figures from fetched rows, aggregated in Python (the naive way)."""
    E = queries.E
    previous = window.previous()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(E.time, E.type, E.status, E.duration_ms, E.tokens, E.cost_usd, E.user_id)
                                   .where(E.time >= previous.start, E.time < window.end))).all()
    totals: dict[bool, dict[str, Any]] = {flag: defaultdict(float) for flag in (True, False)}
    durations: dict[bool, list[float]] = {True: [], False: []}
    users: dict[bool, set[Any]] = {True: set(), False: set()}
    for at, kind, status, duration, tokens, cost, user in rows:
        current = at >= window.start
        bucket = totals[current]
        if kind == "run_finished":
            bucket["runs"] += 1
            bucket[status] += 1
            durations[current].append(duration)
        elif kind == "ai_call":
            bucket["ai_calls"] += 1
            bucket["tokens"] += tokens or 0
            bucket["cost"] += cost or 0
        elif kind == "notification_sent":
            bucket["sent"] += 1
        if user is not None and kind != "step_finished" and not kind.startswith("notification"):
            users[current].add(user)
    return {flag: (dict(totals[flag]), percentile(durations[flag], 0.95) if durations[flag] else None,
                   len(users[flag])) for flag in (True, False)}


async def python_series(engine: Any, metric: str, bucket: str, window: Window, group_by: str | None) -> int:
    spec = queries.METRICS[metric]
    E = queries.E
    group_column = queries.GROUP_COLUMNS[group_by] if group_by else None
    columns = [E.time, E.status, E.duration_ms, E.tokens, E.cost_usd, E.user_id]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(*columns, *([group_column] if group_column is not None else []))
                                   .where(E.time >= window.start, E.time < window.end,
                                          E.type.in_([t.value for t in spec.types])))).all()
    values: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for row in rows:
        key = (truncate(row[0], bucket), row[6] if group_column is not None else None)  # type: ignore[arg-type]
        values[key].append(row)
    return len(values)


async def measure(url: str, repeat: int) -> dict[str, float]:
    engine = create_engine_for(url)
    results: dict[str, float] = {}
    print(f"{'query':<58} {'SQL p50':>9} {'SQL p95':>9} {'Python p50':>11}")
    try:
        worst_series = 0.0
        worst_summary = 0.0
        ratios = []
        for time_range in ("day", "week", "month"):
            window = resolve_window(time_range)  # type: ignore[arg-type]
            p50, p95 = await timed(lambda w=window: queries.summary(w, engine=engine), repeat)  # type: ignore[misc]
            naive, _ = await timed(lambda w=window: python_summary(engine, w), max(2, repeat // 5))  # type: ignore[misc]
            print(f"{'summary time_range=' + time_range:<58} {p50:>8.1f}ms {p95:>8.1f}ms {naive:>10.1f}ms")
            worst_summary = max(worst_summary, p95)
            ratios.append(naive / p50)
        for metric, bucket, time_range, group_by in SERIES:
            window = resolve_window(time_range)  # type: ignore[arg-type]

            def call(m: str = metric, b: str = bucket, w: Window = window, g: str | None = group_by) -> Any:
                return queries.timeseries(m, bucket=b, window=w, group_by=g, engine=engine)  # type: ignore[arg-type]

            def naive_call(m: str = metric, b: str = bucket, w: Window = window, g: str | None = group_by) -> Any:
                return python_series(engine, m, b, w, g)

            p50, p95 = await timed(call, repeat)
            naive, _ = await timed(naive_call, max(2, repeat // 5))
            label = f"timeseries {metric} bucket={bucket} range={time_range} by={group_by or '-'}"
            print(f"{label:<58} {p50:>8.1f}ms {p95:>8.1f}ms {naive:>10.1f}ms")
            worst_series = max(worst_series, p95)
            ratios.append(naive / p50)
        worst_breakdown = 0.0
        month = resolve_window("month")
        for name, breakdown in BREAKDOWNS:  # the analytics page's other charts (no Python baseline: shown only)
            p50, p95 = await timed(lambda b=breakdown: b(month, engine=engine), repeat)  # type: ignore[misc]
            print(f"{'dashboard ' + name + ' range=month':<58} {p50:>8.1f}ms {p95:>8.1f}ms {'':>11}")
            worst_breakdown = max(worst_breakdown, p95)
        results["analytics_summary_p95_ms"] = worst_summary
        results["analytics_timeseries_p95_ms"] = worst_series
        results["analytics_speedup_vs_python"] = statistics.median(ratios)
        results["analytics_dashboard_breakdown_p95_ms"] = worst_breakdown
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per query")
    parser.add_argument("--quick", action="store_true", help="100,000 events, 8 repeats")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeat = min(args.events, 100_000), 8
    with contextlib.ExitStack() as stack:
        url = GIVEN_POSTGRES_URL or stack.enter_context(temporary_postgres_database())
        migrate(url)
        now = truncate(datetime.now(UTC), "hour") + timedelta(minutes=30)
        seconds = load(url, args.events, now)
        print(f"loaded {args.events:,} events with COPY in {seconds:.1f} s ({args.events / seconds:,.0f}/s)")
        print(f"built the hourly rollups (rebuild_rollup) in {asyncio.run(roll_up(url)):.1f} s")
        results = asyncio.run(measure(url, args.repeat))
    print(f"events={args.events}")
    for name, value in results.items():
        print(f"{name}={value:.2f}")


if __name__ == "__main__":
    main()
