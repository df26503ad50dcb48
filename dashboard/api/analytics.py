"""Analytics: period summary, time series, insights, a user's activity and a CSV export of the events."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from dashboard.api.deps import CurrentUser, SessionDep, caller_with
from models.analytics import EventType
from models.user import User
from services.analytics import privacy, queries, reports
from services.analytics.insights import Insight, compute_insights
from services.analytics.queries import GroupBy, Metric, Summary, TimeSeries, UserActivity
from services.analytics.windows import Bucket, TimeRange, Window, resolve_window
from services.auth.permissions import Permission, require

router = APIRouter(prefix="/advanced/analytics", tags=["analytics"])


Viewer = Annotated[User, Depends(caller_with(Permission.VIEW))]
Admin = Annotated[User, Depends(caller_with(Permission.ADMINISTER))]


async def _window(
        time_range: Annotated[TimeRange, Query(description="hour, day, week, month (30 days), custom")] = "day",
        start: Annotated[datetime | None, Query(alias="from", description="custom: start (UTC if naive)")] = None,
        end: Annotated[datetime | None, Query(alias="to", description="custom: end, exclusive")] = None) -> Window:
    return resolve_window(time_range, start=start, end=end)


WindowDep = Annotated[Window, Depends(_window)]
WorkflowFilter = Annotated[int | None, Query(ge=1, description="Only events of this workflow.")]


@router.get("/summary", response_model=Summary)
async def summary(user: Viewer, window: WindowDep, workflow_id: WorkflowFilter = None) -> Summary:
    """Runs, success rate, durations (avg, p50, p95), AI tokens and cost, notifications, active users; vs the
    previous period of the same length."""
    privacy.check_filter(workflow_id, await privacy.hidden_workflows(user))
    return await queries.summary(window, workflow_id=workflow_id)


@router.get("/timeseries", response_model=TimeSeries)
async def timeseries(user: Viewer, window: WindowDep, metric: Metric = "runs", bucket: Bucket = "hour",
                     group_by: GroupBy | None = None, workflow_id: WorkflowFilter = None) -> TimeSeries:
    """``metric`` per UTC ``bucket`` over the window, one series per ``group_by`` value."""
    hidden = await privacy.hidden_workflows(user)
    privacy.check_filter(workflow_id, hidden)
    found = await queries.timeseries(metric, bucket=bucket, window=window, group_by=group_by, workflow_id=workflow_id)
    return privacy.visible_series(found, hidden)


@router.get("/insights", response_model=list[Insight])
async def insights(user: Viewer) -> list[Insight]:
    """What stands out in the data now, each with the numbers behind it."""
    return privacy.visible_insights(await compute_insights(), await privacy.hidden_workflows(user))


@router.get("/users/{user_id}/activity", response_model=UserActivity)
async def user_activity(user_id: uuid.UUID, user: CurrentUser, window: WindowDep) -> UserActivity:
    """One user's events by type and per day; the user themself or an admin."""
    if user_id != user.id:
        require(user.role, Permission.MANAGE_USERS)
    return await queries.user_activity(user_id, window)


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "The window's events as CSV."}})
async def export(_user: Admin, window: WindowDep, format: Literal["csv"] = "csv",
                 types: Annotated[list[EventType] | None, Query(alias="type")] = None) -> StreamingResponse:
    """Every event of the window, oldest first, as CSV (admins: rows carry user ids)."""
    name = f"analytics-{window.start:%Y%m%dT%H%M}-{window.end:%Y%m%dT%H%M}.{format}"
    return StreamingResponse(_csv(window, types or []), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/report", response_class=Response,
            responses={200: {"content": {"text/markdown": {}, "text/html": {}},
                             "description": "The analytics report of the range, as a file."}})
async def report(user: Viewer, time_range: Literal["day", "week", "month"] = "week",
                 format: Literal["markdown", "html"] = "markdown", workflow_id: WorkflowFilter = None) -> Response:
    """The summary, top insights and key charts (as tables) of the range, as Markdown or HTML."""
    built = await reports.build_report(user, time_range, workflow_id=workflow_id)
    body, media, suffix = ((built.html, "text/html", "html") if format == "html" else
                           (built.markdown, "text/markdown", "md"))
    return Response(body, media_type=f"{media}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{built.filename}.{suffix}"'})


class SubscriptionUpdate(BaseModel):
    frequency: Literal["daily", "weekly", "off"]


@router.get("/report-subscription", response_model=reports.SubscriptionPublic)
async def report_subscription(user: CurrentUser, session: SessionDep) -> reports.SubscriptionPublic:
    """Your scheduled report: daily, weekly or none (``frequency`` null)."""
    return await reports.get_subscription(user, session=session)


@router.put("/report-subscription", response_model=reports.SubscriptionPublic)
async def set_report_subscription(data: SubscriptionUpdate, user: CurrentUser,
                                  session: SessionDep) -> reports.SubscriptionPublic:
    """Get the report by email and in-app every day or every Monday at 07:00 UTC, or stop it (``off``)."""
    return await reports.set_subscription(user, data.frequency, session=session)


async def _csv(window: Window, types: list[EventType]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(queries.EXPORT_COLUMNS)
    yield buffer.getvalue()
    async for rows in queries.export_rows(window, types=types):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([value.isoformat() if isinstance(value, datetime) else value for value in row]
                         for row in rows)
        yield buffer.getvalue()
