"""Insights: things worth a look, found in the events, each with the numbers that triggered it.

Every detector is a function of the data and ``now``; an explicit list runs them. Each one stays
quiet unless something stands out (flat data yields nothing):

* failure-rate spike: an hour whose run failure rate is ``SPIKE_Z`` standard deviations above the
  mean of the hours before it (and ``SPIKE_MIN_RISE`` above it in absolute terms);
* slowest / most expensive workflow: one whose p95 duration or cost is ``STANDOUT`` times the median of
  the others;
* provider degrading: the last day's mean latency ``LATENCY_RISE`` times the week before, or its error
  rate ``ERROR_RATE_RISE`` higher;
* month cost forecast: a least-squares line through this month's complete days of AI cost, reported
  when it rises so that the month's last day costs ``FORECAST_RISE`` times the mean day so far;
* idle workflows: runs in the last 30 days but none in the last 7;
* channel delivery drop: the last day's delivery rate ``DELIVERY_DROP`` below the week before.
"""

from __future__ import annotations

import calendar
import statistics
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Table, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.analytics import EventType
from models.base import utcnow
from models.workflow import Workflow, WorkflowStatus
from services.analytics.activity import grouped
from services.analytics.metrics import FAILED_DELIVERY, E
from services.analytics.sources import percentiles
from services.analytics.windows import Window, bucket_key, parse_bucket_key, truncate
from services.db import open_report_connection

WORKFLOWS: Table = Workflow.__table__  # type: ignore[attr-defined]

SPIKE_Z = 3.0
SPIKE_MIN_RISE = 0.2
SPIKE_MIN_RUNS = 5
SPIKE_TRAILING = 24
SPIKE_MIN_TRAILING = 6
STANDOUT = 2.0
MIN_RUNS = 5
LATENCY_RISE = 1.5
ERROR_RATE_RISE = 0.1
MIN_CALLS = 5
FORECAST_RISE = 1.5
FORECAST_MIN_DAYS = 3
IDLE_AFTER = timedelta(days=7)
IDLE_LOOKBACK = timedelta(days=30)
DELIVERY_DROP = 0.2
MIN_DELIVERIES = 5
RECENT = timedelta(days=1)
BASELINE = timedelta(days=7)

Severity = Literal["info", "warning", "critical"]
Numbers = dict[str, float | int | str | None]


class Insight(BaseModel):
    kind: str
    severity: Severity
    title: str
    message: str
    subject: str | None = None
    numbers: Numbers


Detector = Callable[[AsyncConnection, datetime], Awaitable[list[Insight]]]


async def compute_insights(*, now: datetime | None = None, engine: AsyncEngine | None = None) -> list[Insight]:
    """Every detector's findings, most severe first."""
    moment = now or utcnow()
    found: list[Insight] = []
    async with open_report_connection(engine) as conn:
        for detector in DETECTORS:
            found.extend(await detector(conn, moment))
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda insight: rank[insight.severity])


async def _workflow_names(conn: AsyncConnection, ids: list[Any]) -> dict[int, tuple[str, str]]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    rows = await conn.execute(select(WORKFLOWS.c.id, WORKFLOWS.c.name, WORKFLOWS.c.status)
                              .where(WORKFLOWS.c.id.in_(ids)))
    return {row.id: (row.name, str(row.status)) for row in rows}


def _name(names: dict[int, tuple[str, str]], workflow_id: int) -> str:
    return names.get(workflow_id, (f"workflow {workflow_id}", ""))[0]


async def failure_rate_spike(conn: AsyncConnection, now: datetime) -> list[Insight]:
    window = Window(now - BASELINE, now)
    hour = bucket_key(E.time, "hour", conn.dialect.name)
    rows = await grouped(conn, (EventType.RUN_FINISHED,), window, hour,
                         [func.count(), func.sum(case((E.status == "failed", 1), else_=0))])
    hours = sorted((parse_bucket_key(row[0]), int(row[1]), int(row[2] or 0)) for row in rows
                   if int(row[1]) >= SPIKE_MIN_RUNS)
    worst: tuple[float, Numbers] | None = None
    for i, (start, runs, failed) in enumerate(hours):
        trailing = [f / r for _, r, f in hours[max(0, i - SPIKE_TRAILING):i]]
        if len(trailing) < SPIKE_MIN_TRAILING:
            continue
        rate, mean = failed / runs, statistics.fmean(trailing)
        deviation = max(statistics.pstdev(trailing), 0.05)  # a floor: a perfectly steady history is not infinitely sure
        z = (rate - mean) / deviation
        if z >= SPIKE_Z and rate - mean >= SPIKE_MIN_RISE and (worst is None or z > worst[0]):
            worst = (z, {"bucket": start.isoformat(), "runs": runs, "failed": failed, "failure_rate": round(rate, 4),
                         "trailing_mean": round(mean, 4), "trailing_std": round(statistics.pstdev(trailing), 4),
                         "trailing_buckets": len(trailing), "z_score": round(z, 2)})
    if worst is None:
        return []
    numbers = worst[1]
    return [Insight(kind="failure_rate_spike", severity="critical" if worst[0] >= 2 * SPIKE_Z else "warning",
                    title="Run failures spiked",
                    message=(f"In the hour from {numbers['bucket']}, {numbers['failed']} of {numbers['runs']} runs "
                             f"failed ({float(numbers['failure_rate'] or 0):.0%}) against "
                             f"{float(numbers['trailing_mean'] or 0):.0%} in the hours before "
                             f"(z = {numbers['z_score']})."),
                    numbers=numbers)]


def _standout(values: dict[Any, float]) -> tuple[Any, float, float] | None:
    """The key whose value is ``STANDOUT`` times the median of the others, with both figures."""
    if len(values) < 2:
        return None
    top = max(values, key=lambda k: values[k])
    others = statistics.median(v for k, v in values.items() if k != top)
    if values[top] > 0 and values[top] >= STANDOUT * others:
        return top, values[top], others
    return None


async def slowest_workflow(conn: AsyncConnection, now: datetime) -> list[Insight]:
    window = Window(now - BASELINE, now)
    where = [E.time >= window.start, E.time < window.end, E.type == EventType.RUN_FINISHED.value]
    counts = {row[0]: int(row[1]) for row in await grouped(conn, (EventType.RUN_FINISHED,), window,
                                                           E.workflow_id, [func.count()])}
    spread = await percentiles(conn, E.duration_ms, where, group=E.workflow_id)
    p95 = {wid: values[1] for wid, values in spread.items()
           if wid is not None and values[1] is not None and counts.get(wid, 0) >= MIN_RUNS}
    found = _standout(p95)
    if found is None:
        return []
    workflow_id, value, others = found
    name = _name(await _workflow_names(conn, [workflow_id]), workflow_id)
    return [Insight(kind="slowest_workflow", severity="info", title=f"'{name}' is the slowest workflow",
                    message=(f"Its p95 run time over the last 7 days is {value / 1000:.1f} s, "
                             f"{value / others:.1f} times the median of the other workflows ({others / 1000:.1f} s)."),
                    subject=f"workflow:{workflow_id}",
                    numbers={"workflow_id": workflow_id, "name": name, "p95_ms": round(value, 1),
                             "others_median_p95_ms": round(others, 1), "runs": counts[workflow_id]})]


async def most_expensive_workflow(conn: AsyncConnection, now: datetime) -> list[Insight]:
    window = Window(now - BASELINE, now)
    rows = await grouped(conn, (EventType.RUN_FINISHED,), window, E.workflow_id,
                         [func.coalesce(func.sum(E.cost_usd), 0.0), func.count()])
    cost = {row[0]: float(row[1]) for row in rows if row[0] is not None}
    found = _standout(cost)
    if found is None:
        return []
    workflow_id, value, others = found
    runs = {row[0]: int(row[2]) for row in rows}
    name = _name(await _workflow_names(conn, [workflow_id]), workflow_id)
    return [Insight(kind="most_expensive_workflow", severity="info", title=f"'{name}' costs the most",
                    message=(f"It cost ${value:.2f} over the last 7 days, {value / others:.1f} times the median of the "
                             f"other workflows (${others:.2f})." if others else
                             f"It cost ${value:.2f} over the last 7 days; the other workflows cost nothing."),
                    subject=f"workflow:{workflow_id}",
                    numbers={"workflow_id": workflow_id, "name": name, "cost_usd": round(value, 6),
                             "others_median_cost_usd": round(others, 6), "share": round(value / sum(cost.values()), 4),
                             "runs": runs[workflow_id]})]


async def _provider_stats(conn: AsyncConnection, window: Window) -> dict[str, tuple[int, int, float | None]]:
    failed = E.status == "failed"
    rows = await grouped(conn, (EventType.AI_CALL,), window, E.provider,
                         [func.count(), func.sum(case((failed, 1), else_=0)),
                          func.avg(case((~failed, E.duration_ms)))])
    return {row[0]: (int(row[1]), int(row[2] or 0), None if row[3] is None else float(row[3])) for row in rows}


async def provider_degrading(conn: AsyncConnection, now: datetime) -> list[Insight]:
    recent = await _provider_stats(conn, Window(now - RECENT, now))
    before = await _provider_stats(conn, Window(now - RECENT - BASELINE, now - RECENT))
    found = []
    for provider, (calls, failures, latency) in sorted(recent.items()):
        base_calls, base_failures, base_latency = before.get(provider, (0, 0, None))
        if calls < MIN_CALLS or base_calls < MIN_CALLS:
            continue
        rate, base_rate = failures / calls, base_failures / base_calls
        numbers: Numbers = {"provider": provider, "calls": calls, "baseline_calls": base_calls,
                            "error_rate": round(rate, 4), "baseline_error_rate": round(base_rate, 4),
                            "latency_ms": None if latency is None else round(latency, 1),
                            "baseline_latency_ms": None if base_latency is None else round(base_latency, 1)}
        if rate - base_rate >= ERROR_RATE_RISE and rate >= 2 * base_rate:
            found.append(Insight(kind="provider_error_rate_rising", severity="warning",
                                 title=f"{provider} fails more often",
                                 message=(f"{failures} of {calls} calls to {provider} failed in the last 24 h "
                                          f"({rate:.0%}), against {base_rate:.0%} in the week before."),
                                 subject=f"provider:{provider}", numbers=numbers))
        if latency is not None and base_latency and latency >= LATENCY_RISE * base_latency:
            found.append(Insight(kind="provider_latency_rising", severity="warning",
                                 title=f"{provider} got slower",
                                 message=(f"Calls to {provider} took {latency:.0f} ms on average in the last "
                                          f"24 h, {latency / base_latency:.1f} times the week before "
                                          f"({base_latency:.0f} ms)."),
                                 subject=f"provider:{provider}", numbers=numbers))
    return found


async def cost_forecast(conn: AsyncConnection, now: datetime) -> list[Insight]:
    month_start = truncate(now, "day").replace(day=1)
    today = truncate(now, "day")
    complete_days = (today - month_start).days
    if complete_days < FORECAST_MIN_DAYS:
        return []
    day = bucket_key(E.time, "day", conn.dialect.name)
    rows = await grouped(conn, (EventType.AI_CALL,), Window(month_start, now), day,
                         [func.coalesce(func.sum(E.cost_usd), 0.0)])
    by_day = {parse_bucket_key(row[0]): float(row[1]) for row in rows}
    daily = [by_day.get(month_start + timedelta(days=i), 0.0) for i in range(complete_days)]
    spent = sum(by_day.values())
    if spent <= 0:
        return []
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    slope, intercept = statistics.linear_regression(range(complete_days), daily)
    remaining = range(complete_days, days_in_month)  # today counts as remaining: it is not over
    spent_before_today = sum(daily)
    trend = spent_before_today + sum(max(0.0, intercept + slope * d) for d in remaining)
    run_rate = spent_before_today / complete_days * days_in_month
    mean_day, last_day = spent_before_today / complete_days, intercept + slope * (days_in_month - 1)
    if slope <= 0 or last_day < FORECAST_RISE * mean_day:
        return []
    return [Insight(kind="cost_forecast", severity="warning", title="AI spend is rising",
                    message=(f"At the current trend this month's AI cost reaches ${trend:.2f}, against "
                             f"${run_rate:.2f} at the average daily rate so far (${spent:.2f} spent; daily cost "
                             f"grows by ${slope:.2f} a day)."),
                    numbers={"month": month_start.strftime("%Y-%m"), "spent_usd": round(spent, 4),
                             "forecast_usd": round(trend, 4), "run_rate_forecast_usd": round(run_rate, 4),
                             "slope_usd_per_day": round(slope, 6), "intercept_usd": round(intercept, 6),
                             "mean_day_usd": round(mean_day, 4), "last_day_trend_usd": round(last_day, 4),
                             "days_observed": complete_days, "days_in_month": days_in_month})]


async def idle_workflows(conn: AsyncConnection, now: datetime) -> list[Insight]:
    window = Window(now - IDLE_LOOKBACK, now)
    rows = await grouped(conn, (EventType.RUN_FINISHED,), window, E.workflow_id, [func.max(E.time), func.count()])
    stale = {row[0]: (row[1], int(row[2])) for row in rows
             if row[0] is not None and _aware(row[1], now) < now - IDLE_AFTER}
    names = await _workflow_names(conn, list(stale))
    found = []
    for workflow_id, (last, runs) in sorted(stale.items()):
        name, status = names.get(workflow_id, (f"workflow {workflow_id}", "missing"))
        if status in (WorkflowStatus.ARCHIVED.value, "missing"):
            continue
        idle_days = (now - _aware(last, now)).days
        found.append(Insight(kind="idle_workflow", severity="info", title=f"'{name}' has gone quiet",
                             message=f"It ran {runs} times in the last 30 days, but not in the last {idle_days} days.",
                             subject=f"workflow:{workflow_id}",
                             numbers={"workflow_id": workflow_id, "name": name, "last_run_at": _aware(last, now)
                                      .isoformat(), "idle_days": idle_days, "runs_last_30_days": runs}))
    return found


def _aware(value: Any, now: datetime) -> datetime:
    if isinstance(value, str):  # SQLite hands back max() of a timestamp as text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)


async def _delivery_rates(conn: AsyncConnection, window: Window) -> dict[str, tuple[int, int]]:
    sent = E.type == EventType.NOTIFICATION_SENT.value
    final_failure = (E.type == EventType.NOTIFICATION_FAILED.value) & E.status.in_(FAILED_DELIVERY)
    rows = await grouped(conn, (EventType.NOTIFICATION_SENT, EventType.NOTIFICATION_FAILED), window, E.channel,
                         [func.sum(case((sent, 1), else_=0)), func.sum(case((final_failure, 1), else_=0))])
    return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in rows if row[0] is not None}


async def channel_delivery_drop(conn: AsyncConnection, now: datetime) -> list[Insight]:
    recent = await _delivery_rates(conn, Window(now - RECENT, now))
    before = await _delivery_rates(conn, Window(now - RECENT - BASELINE, now - RECENT))
    found = []
    for channel, (sent, failed) in sorted(recent.items()):
        base_sent, base_failed = before.get(channel, (0, 0))
        if sent + failed < MIN_DELIVERIES or base_sent + base_failed < MIN_DELIVERIES:
            continue
        rate, base_rate = sent / (sent + failed), base_sent / (base_sent + base_failed)
        if base_rate - rate >= DELIVERY_DROP:
            found.append(Insight(
                kind="channel_delivery_drop", severity="warning", title=f"{channel} deliveries are failing",
                message=(f"{sent} of {sent + failed} {channel} notifications were delivered in the last 24 h "
                         f"({rate:.0%}), against {base_rate:.0%} in the week before."),
                subject=f"channel:{channel}",
                numbers={"channel": channel, "sent": sent, "failed": failed, "delivery_rate": round(rate, 4),
                         "baseline_sent": base_sent, "baseline_failed": base_failed,
                         "baseline_delivery_rate": round(base_rate, 4)}))
    return found


DETECTORS: list[Detector] = [failure_rate_spike, slowest_workflow, most_expensive_workflow, provider_degrading,
                             cost_forecast, idle_workflows, channel_delivery_drop]
