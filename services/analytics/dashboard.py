"""What the analytics page, the Overview and the reports show: one call per screen, the role checked first.

Every figure comes from the aggregations (``summary``, ``series``, ``breakdowns``) and the insights;
nothing is invented. The buckets follow the range: hours for a day or less, days for a week or more.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from models.user import User
from services.analytics.breakdowns import (
    DeliveryCount,
    DurationBin,
    WorkflowChoice,
    WorkflowRate,
    activity_heatmap,
    deliveries_by_channel,
    duration_distribution,
    success_by_workflow,
    workflow_choices,
)
from services.analytics.insights import Insight, compute_insights
from services.analytics.privacy import check_filter, hidden_workflows, visible_insights
from services.analytics.series import TimeSeries, timeseries
from services.analytics.summary import Summary, summary
from services.analytics.windows import Bucket, TimeRange, resolve_window
from services.auth.permissions import Permission, require

RANGE_BUCKET: dict[str, Bucket] = {"hour": "hour", "day": "hour", "week": "day", "month": "day"}
DASHBOARD_RANGES: tuple[TimeRange, ...] = ("day", "week", "month")


class Dashboard(BaseModel):
    """Everything the analytics page charts for one range (and optionally one workflow)."""

    time_range: TimeRange
    workflow_id: int | None
    bucket: Bucket
    summary: Summary
    runs_by_status: TimeSeries
    durations: list[DurationBin]
    success_by_workflow: list[WorkflowRate]
    ai_tokens_by_model: TimeSeries
    ai_cost_by_provider: TimeSeries
    deliveries: list[DeliveryCount]
    active_users: list[list[int]]
    insights: list[Insight]
    workflows: list[WorkflowChoice]


class Overview(BaseModel):
    """The Overview page's figures: the last day against the day before, runs per hour, top insights."""

    summary: Summary
    runs_by_status: TimeSeries
    insights: list[Insight]


async def load_dashboard(actor: User, time_range: TimeRange = "week", *, workflow_id: int | None = None,
                         now: datetime | None = None) -> Dashboard:
    """The analytics page for ``time_range`` ending now (``hour``, ``day``, ``week``, ``month``)."""
    require(actor.role, Permission.VIEW)
    hidden = await hidden_workflows(actor)
    check_filter(workflow_id, hidden)
    window = resolve_window(time_range, now=now)
    bucket = RANGE_BUCKET[time_range]
    return Dashboard(
        time_range=time_range, workflow_id=workflow_id, bucket=bucket,
        summary=await summary(window, workflow_id=workflow_id),
        runs_by_status=await timeseries("runs", bucket=bucket, window=window, group_by="status",
                                        workflow_id=workflow_id),
        durations=await duration_distribution(window, workflow_id=workflow_id),
        success_by_workflow=[rate for rate in await success_by_workflow(window, workflow_id=workflow_id)
                             if rate.workflow_id not in hidden],
        ai_tokens_by_model=await timeseries("ai_tokens", bucket=bucket, window=window, group_by="model",
                                            workflow_id=workflow_id),
        ai_cost_by_provider=await timeseries("ai_cost_usd", bucket=bucket, window=window, group_by="provider",
                                             workflow_id=workflow_id),
        deliveries=await deliveries_by_channel(window, workflow_id=workflow_id),
        active_users=await activity_heatmap(window, workflow_id=workflow_id),
        insights=visible_insights(await compute_insights(now=now), hidden),
        workflows=[choice for choice in await workflow_choices() if choice.id not in hidden],
    )


async def load_overview(actor: User, *, now: datetime | None = None, insights: int = 3) -> Overview:
    """The last 24 hours against the 24 before, runs per hour by status, and the most severe insights."""
    require(actor.role, Permission.VIEW)
    window = resolve_window("day", now=now)
    return Overview(summary=await summary(window),
                    runs_by_status=await timeseries("runs", bucket="hour", window=window, group_by="status"),
                    insights=visible_insights(await compute_insights(now=now),
                                              await hidden_workflows(actor))[:insights])


__all__ = ["DASHBOARD_RANGES", "Dashboard", "Overview", "load_dashboard", "load_overview"]
