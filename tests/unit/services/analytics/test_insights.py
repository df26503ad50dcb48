"""Insights fire on constructed data, with the numbers that triggered them, and stay quiet on flat data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.analytics import EventType
from models.workflow import WorkflowStatus
from services.analytics.insights import Insight, compute_insights
from tests.unit.services.analytics.conftest import event, write

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RUN, AI, SENT, FAILED = (EventType.RUN_FINISHED, EventType.AI_CALL, EventType.NOTIFICATION_SENT,
                         EventType.NOTIFICATION_FAILED)
Rows = list[dict[str, Any]]


def runs(workflow_id: int, at: datetime, count: int, *, failed: int = 0, duration: float = 1000.0,
         cost: float = 0.1) -> Rows:
    return [event(RUN, at, workflow_id=workflow_id, status="failed" if i < failed else "succeeded",
                  duration_ms=duration, cost_usd=cost) for i in range(count)]


def flat(first: int, second: int) -> Rows:
    """Two steady workflows (10 runs an hour each, 1 failure), steady AI calls all month, steady email."""
    rows: Rows = []
    for hours in range(1, 49):
        for workflow_id in (first, second):
            rows += runs(workflow_id, NOW - timedelta(hours=hours) + timedelta(minutes=10), 10, failed=1)
    day = datetime(2026, 11, 1, tzinfo=UTC)
    while day < NOW:
        for hour in (1, 5, 9, 13, 17, 21):
            if day + timedelta(hours=hour) < NOW:
                rows += [event(AI, day + timedelta(hours=hour), provider=provider, status="succeeded",
                               duration_ms=100.0, tokens=10, cost_usd=0.1) for provider in ("openai", "anthropic")]
        day += timedelta(days=1)
    rows += [event(SENT, NOW - timedelta(hours=h), channel="email", status="sent") for h in range(1, 193)]
    return rows


@pytest.fixture
async def workflows(make_workflow: Callable[..., Awaitable[int]]) -> list[int]:
    return [await make_workflow("Weekly digest"), await make_workflow("Invoices"), await make_workflow("Contracts")]


async def insights_with(extra: Rows, workflows: list[int]) -> list[Insight]:
    await write(flat(workflows[0], workflows[1]) + extra)
    return await compute_insights(now=NOW)


def only(found: list[Insight], kind: str) -> Insight:
    assert [i.kind for i in found] == [kind], [i.model_dump() for i in found]
    return found[0]


async def test_flat_data_yields_no_insights(workflows: list[int]) -> None:
    assert await insights_with([], workflows) == []


async def test_failure_rate_spike_names_the_hour_and_its_z_score(workflows: list[int]) -> None:
    found = only(await insights_with(runs(workflows[0], NOW - timedelta(minutes=30), 10, failed=9), workflows),
                 "failure_rate_spike")
    assert found.numbers == {"bucket": "2026-11-27T11:00:00+00:00", "runs": 30, "failed": 11,
                                  "failure_rate": 0.3667, "trailing_mean": 0.1, "trailing_std": 0.0,
                                  "trailing_buckets": 24, "z_score": 5.33}
    assert found.severity == "warning"


async def test_slowest_workflow_stands_out_against_the_median_of_the_others(workflows: list[int]) -> None:
    found = only(await insights_with(runs(workflows[2], NOW - timedelta(hours=2), 10, duration=5000.0), workflows),
                 "slowest_workflow")
    assert found.numbers == {"workflow_id": workflows[2], "name": "Contracts", "p95_ms": 5000.0,
                             "others_median_p95_ms": 1000.0, "runs": 10}


async def test_most_expensive_workflow(workflows: list[int]) -> None:
    found = only(await insights_with(runs(workflows[2], NOW - timedelta(hours=2), 10, cost=20.0), workflows),
                 "most_expensive_workflow")
    assert (found.numbers["cost_usd"], found.numbers["others_median_cost_usd"]) == (200.0, 48.0)


async def test_provider_latency_and_error_rate_rising(workflows: list[int]) -> None:
    slow = [event(AI, NOW - timedelta(minutes=5 * i), provider="openai", status="succeeded", duration_ms=400.0,
                  cost_usd=0.0) for i in range(1, 11)]
    failing = [event(AI, NOW - timedelta(minutes=5 * i), provider="anthropic", status="failed") for i in range(1, 9)]
    found = {i.kind: i for i in await insights_with(slow + failing, workflows)}
    assert set(found) == {"provider_latency_rising", "provider_error_rate_rising"}
    latency = found["provider_latency_rising"].numbers
    assert (latency["provider"], latency["latency_ms"], latency["baseline_latency_ms"]) == ("openai", 287.5, 100.0)
    errors = found["provider_error_rate_rising"].numbers
    assert (errors["provider"], errors["calls"], errors["error_rate"], errors["baseline_error_rate"]) == (
        "anthropic", 14, 0.5714, 0.0)


async def test_month_cost_forecast_follows_a_rising_trend(workflows: list[int]) -> None:
    rising = [event(AI, datetime(2026, 11, 1 + d, 12, tzinfo=UTC), provider="openai", status="succeeded",
                    cost_usd=0.5 * d) for d in range(1, 26)]
    found = only(await insights_with(rising, workflows), "cost_forecast")
    assert found.numbers["slope_usd_per_day"] == pytest.approx(0.5)
    assert found.numbers["days_observed"] == 26 and found.numbers["month"] == "2026-11"
    # complete days: 1.2 + 0.5 d for d = 0..25; the line continues to day 29 (1.2 + 14.5 = 15.7)
    assert found.numbers["last_day_trend_usd"] == pytest.approx(15.7)
    expected = sum(1.2 + 0.5 * d for d in range(26)) + sum(1.2 + 0.5 * d for d in range(26, 30))
    assert found.numbers["forecast_usd"] == pytest.approx(expected)


async def test_idle_workflows_ran_this_month_but_not_this_week(
        workflows: list[int], make_workflow: Callable[..., Awaitable[int]]) -> None:
    archived = await make_workflow("Old", WorkflowStatus.ARCHIVED)
    old = runs(workflows[2], NOW - timedelta(days=10), 5) + runs(archived, NOW - timedelta(days=12), 5)
    found = only(await insights_with(old, workflows), "idle_workflow")
    assert found.numbers == {"workflow_id": workflows[2], "name": "Contracts",
                             "last_run_at": (NOW - timedelta(days=10)).isoformat(), "idle_days": 10,
                             "runs_last_30_days": 5}


async def test_channel_delivery_rate_drop(workflows: list[int]) -> None:
    failures = [event(FAILED, NOW - timedelta(minutes=7 * i), channel="email", status="dead") for i in range(1, 11)]
    retried = [event(FAILED, NOW - timedelta(minutes=3), channel="email", status="queued")]  # not a final failure
    found = only(await insights_with(failures + retried, workflows), "channel_delivery_drop")
    assert found.numbers == {"channel": "email", "sent": 24, "failed": 10, "delivery_rate": 0.7059,
                             "baseline_sent": 168, "baseline_failed": 0, "baseline_delivery_rate": 1.0}
