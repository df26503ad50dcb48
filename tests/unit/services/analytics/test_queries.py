"""Every aggregation against figures computed by hand on a fixed event set, on SQLite and PostgreSQL.

The set straddles UTC bucket edges: an event at exactly 00:00:00, one a millisecond before 01:00,
one at Sunday 23:59:59 (the week before) and one exactly at the window's exclusive end.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from models.analytics import EventType
from services import errors
from services.analytics import queries
from services.analytics.windows import Window, bucket_starts, resolve_window
from services.db import create_engine_for
from tests.unit.services.analytics.conftest import event, write

U1, U2, U3, U4, U5 = (uuid.UUID(int=i) for i in range(1, 6))
WINDOW = Window(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))  # Monday 00:00 → Wednesday


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, micro, tzinfo=UTC)


RUN = EventType.RUN_FINISHED
FIXED_EVENTS = [
    event(RUN, at(23, 0), workflow_id=1, user_id=U1, status="succeeded", duration_ms=100.0, cost_usd=0.01),
    event(RUN, at(23, 0, 59, 59, 999000), workflow_id=1, user_id=U1, status="failed", duration_ms=200.0),
    event(RUN, at(23, 1), workflow_id=2, user_id=U3, status="succeeded", duration_ms=300.0),
    event(RUN, at(24, 23, 59, 59), workflow_id=2, user_id=U3, status="succeeded", duration_ms=400.0),
    event(RUN, at(22, 23, 59, 59), workflow_id=1, user_id=U1, status="succeeded", duration_ms=1000.0),  # before
    event(RUN, at(25, 0), workflow_id=1, user_id=U5, status="failed", duration_ms=5000.0),  # at the exclusive end
    event(EventType.STEP_FINISHED, at(23, 0), workflow_id=1, status="succeeded", duration_ms=50.0),
    event(EventType.AI_CALL, at(23, 5), user_id=U1, provider="openai", model="gpt", status="succeeded",
          duration_ms=50.0, tokens=100, cost_usd=0.5),
    event(EventType.AI_CALL, at(24, 10), user_id=U2, provider="anthropic", model="claude", status="succeeded",
          duration_ms=150.0, tokens=50, cost_usd=0.25),
    event(EventType.AI_CALL, at(24, 10), user_id=U2, provider="anthropic", status="failed"),
    event(EventType.NOTIFICATION_SENT, at(23, 6), user_id=U5, channel="email", status="sent"),
    event(EventType.NOTIFICATION_FAILED, at(23, 7), user_id=U5, channel="email", status="dead"),
    event(EventType.NOTIFICATION_FAILED, at(23, 8), user_id=U5, channel="email", status="queued"),  # retried later
    event(EventType.LOGIN, at(24, 0), user_id=U4),
]


@pytest.fixture
async def fixed_events(analytics_db: str) -> str:
    await write(FIXED_EVENTS)
    return analytics_db


def points(series: queries.TimeSeries) -> dict[str | None, dict[str, float | None]]:
    """Non-empty buckets per group, keyed by ISO bucket start."""
    return {s.group: {p.bucket.isoformat(): p.value for p in s.points if p.value} for s in series.series}


async def test_runs_per_hour_by_status_put_edge_events_in_the_right_utc_hour(fixed_events: str) -> None:
    series = await queries.timeseries("runs", bucket="hour", window=WINDOW, group_by="status")
    assert points(series) == {"succeeded": {"2026-11-23T00:00:00+00:00": 1, "2026-11-23T01:00:00+00:00": 1,
                                            "2026-11-24T23:00:00+00:00": 1},
                              "failed": {"2026-11-23T00:00:00+00:00": 1}}
    assert all(len(s.points) == 48 for s in series.series)  # every hour present, zeros included
    assert [s.total for s in series.series] == [3, 1]


async def test_runs_per_day_and_mean_duration_per_day(fixed_events: str) -> None:
    runs = await queries.timeseries("runs", bucket="day", window=WINDOW)
    assert points(runs) == {None: {"2026-11-23T00:00:00+00:00": 3, "2026-11-24T00:00:00+00:00": 1}}
    duration = await queries.timeseries("run_duration_ms", bucket="day", window=WINDOW)
    assert points(duration) == {None: {"2026-11-23T00:00:00+00:00": 200.0, "2026-11-24T00:00:00+00:00": 400.0}}


async def test_weeks_start_on_monday_so_sunday_night_is_the_week_before(fixed_events: str) -> None:
    window = Window(at(20, 0), at(26, 0))
    series = await queries.timeseries("runs", bucket="week", window=window)
    assert points(series) == {None: {"2026-11-16T00:00:00+00:00": 1, "2026-11-23T00:00:00+00:00": 5}}


async def test_ai_cost_by_provider_tokens_and_active_users(fixed_events: str) -> None:
    cost = await queries.timeseries("ai_cost_usd", bucket="day", window=WINDOW, group_by="provider")
    assert points(cost) == {"openai": {"2026-11-23T00:00:00+00:00": 0.5},
                            "anthropic": {"2026-11-24T00:00:00+00:00": 0.25}}
    tokens = await queries.timeseries("ai_tokens", bucket="day", window=WINDOW)
    assert tokens.series[0].total == 150
    users = await queries.timeseries("active_users", bucket="day", window=WINDOW)
    assert points(users) == {None: {"2026-11-23T00:00:00+00:00": 2, "2026-11-24T00:00:00+00:00": 3}}
    failures = await queries.timeseries("notification_failures", bucket="day", window=WINDOW, group_by="channel")
    assert points(failures) == {"email": {"2026-11-23T00:00:00+00:00": 1}}


async def test_workflow_filter_and_group_by_workflow(fixed_events: str) -> None:
    only_one = await queries.timeseries("runs", bucket="day", window=WINDOW, workflow_id=1)
    assert points(only_one) == {None: {"2026-11-23T00:00:00+00:00": 2}}
    by_workflow = await queries.timeseries("runs", bucket="day", window=WINDOW, group_by="workflow")
    assert points(by_workflow) == {"1": {"2026-11-23T00:00:00+00:00": 2},
                                   "2": {"2026-11-23T00:00:00+00:00": 1, "2026-11-24T00:00:00+00:00": 1}}


async def test_summary_totals_percentiles_and_change_against_the_previous_period(fixed_events: str) -> None:
    result = await queries.summary(WINDOW)
    now = result.current
    assert (now.runs, now.runs_succeeded, now.runs_failed, now.success_rate) == (4, 3, 1, 0.75)
    assert now.duration_avg_ms == pytest.approx(250.0)
    assert now.duration_p50_ms == pytest.approx(250.0)  # between 200 and 300
    assert now.duration_p95_ms == pytest.approx(385.0)  # rank 0.95 x 3 = 2.85: 300 + 0.85 x 100
    assert (now.ai_calls, now.ai_tokens, now.ai_cost_usd) == (3, 150, pytest.approx(0.75))
    assert (now.notifications_sent, now.notifications_failed) == (1, 1)
    assert now.active_users == 4  # U1, U2, U3, U4: U5 only received notifications
    before = result.previous
    assert (before.runs, before.duration_p95_ms, before.success_rate, before.active_users) == (1, 1000.0, 1.0, 1)
    assert result.change["runs"] == pytest.approx(3.0)
    assert result.change["success_rate"] == pytest.approx(-0.25)
    assert result.change["ai_calls"] is None  # nothing before: no ratio


async def test_summary_of_an_empty_period_is_zeros_not_errors(analytics_db: str) -> None:
    result = await queries.summary(WINDOW)
    assert result.current.runs == 0 and result.current.duration_p95_ms is None and result.current.success_rate is None


async def test_percentiles_per_group_match_percentile_cont(fixed_events: str) -> None:
    from services.db import get_engine

    async with get_engine().connect() as conn:
        spread = await queries.percentiles(conn, queries.E.duration_ms,
                                           [queries.E.type == "run_finished"], group=queries.E.workflow_id,
                                           fractions=(0.5, 0.95))
    assert spread[1] == [pytest.approx(600.0), pytest.approx(4400.0)]  # 100, 200, 1000, 5000
    assert spread[2] == [pytest.approx(350.0), pytest.approx(395.0)]


@pytest.mark.parametrize("live_db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_buckets_do_not_depend_on_the_database_session_time_zone(fixed_events: str) -> None:
    """PostgreSQL only: SQLite has no session time zone."""
    tokyo = create_engine_for(fixed_events, connect_args={"options": "-c timezone=Asia/Tokyo"})
    try:
        series = await queries.timeseries("runs", bucket="day", window=WINDOW, engine=tokyo)
    finally:
        await tokyo.dispose()
    assert points(series) == {None: {"2026-11-23T00:00:00+00:00": 3, "2026-11-24T00:00:00+00:00": 1}}


async def test_user_activity_counts_one_users_events(fixed_events: str) -> None:
    activity = await queries.user_activity(U1, WINDOW)
    assert activity.counts == {"run_finished": 2, "ai_call": 1}
    assert [(p.bucket.day, p.value) for p in activity.per_day] == [(23, 3), (24, 0)]
    assert (await queries.user_activity(U4, WINDOW)).last_login_at == at(24, 0)


async def test_export_streams_the_window_oldest_first(fixed_events: str) -> None:
    rows = [row async for part in queries.export_rows(WINDOW, types=[RUN], chunk=2) for row in part]
    assert [row[0] for row in rows] == [at(23, 0), at(23, 0, 59, 59, 999000), at(23, 1), at(24, 23, 59, 59)]


async def test_steps_and_mean_ai_latency_per_day_from_rollups_and_edge_events(fixed_events: str) -> None:
    steps = await queries.timeseries("steps", bucket="day", window=WINDOW, group_by="status")
    assert points(steps) == {"succeeded": {"2026-11-23T00:00:00+00:00": 1}}
    # 05:00 on the 23rd is inside the whole hours (rollups), 10:00 on the 24th in the partial last hour (raw)
    edges = Window(at(23, 4, 30), at(24, 10, 0, 0, 1000))
    latency = await queries.timeseries("ai_latency_ms", bucket="day", window=edges)
    assert points(latency) == {None: {"2026-11-23T00:00:00+00:00": 50.0,
                                      "2026-11-24T00:00:00+00:00": 150.0}}  # the failed call had no latency
    by_provider = await queries.timeseries("ai_latency_ms", bucket="hour", window=WINDOW, group_by="provider")
    assert points(by_provider) == {"openai": {"2026-11-23T05:00:00+00:00": 50.0},
                                   "anthropic": {"2026-11-24T10:00:00+00:00": 150.0}}


async def test_the_hour_and_month_ranges_end_now(fixed_events: str) -> None:
    hour = resolve_window("hour", now=at(23, 1, 30))
    assert hour == Window(at(23, 0, 30), at(23, 1, 30))
    series = await queries.timeseries("runs", bucket="hour", window=hour, group_by="status")
    assert points(series) == {"failed": {"2026-11-23T00:00:00+00:00": 1}, "succeeded": {"2026-11-23T01:00:00+00:00": 1}}
    month = resolve_window("month", now=at(25, 0))
    assert month == Window(datetime(2026, 10, 26, tzinfo=UTC), at(25, 0))  # 30 days
    runs = await queries.timeseries("runs", bucket="day", window=month)
    assert points(runs) == {None: {"2026-11-22T00:00:00+00:00": 1, "2026-11-23T00:00:00+00:00": 3,
                                   "2026-11-24T00:00:00+00:00": 1}}  # the run at the exclusive end is not in it
    assert (await queries.summary(month)).current.runs == 5


def test_time_ranges_end_now_and_custom_ranges_are_checked() -> None:
    now = at(27, 12)
    assert resolve_window("hour", now=now) == Window(at(27, 11), now)
    assert resolve_window("day", now=now) == Window(at(26, 12), now)
    assert resolve_window("week", now=now) == Window(at(20, 12), now)
    assert resolve_window("month", now=now) == Window(datetime(2026, 10, 28, 12, tzinfo=UTC), now)
    assert resolve_window("custom", start=datetime(2026, 11, 1), end=datetime(2026, 11, 2)).start.tzinfo is UTC
    with pytest.raises(errors.ValidationFailed) as refused:
        resolve_window("custom", start=at(2, 0), end=at(1, 0))
    assert refused.value.details == [{"field": "from", "message": "must be before 'to'"}]
    with pytest.raises(errors.ValidationFailed, match="'to'"):
        resolve_window("custom", start=at(2, 0))
    with pytest.raises(errors.ValidationFailed) as too_many:
        bucket_starts(Window(datetime(2020, 1, 1, tzinfo=UTC), now), "hour")
    assert too_many.value.details[0]["field"] == "bucket"
