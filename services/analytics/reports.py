"""Analytics reports: the summary, the top insights and the key charts (as tables of figures) in one
document, downloadable on demand and sent on a daily or weekly schedule.

A user subscribes with ``set_subscription``; the workflow engine's maintenance loop (the same
beat that fires cron schedules) calls ``send_due_reports``, which claims each due subscription by
compare-and-set on ``next_send_at`` (so with several processes each report goes out once), renders
the report for that user and sends it through the notification service to their email and in-app
inbox. The idempotency key names the user and the due time, so a retry cannot send it twice.
"""

from __future__ import annotations

import html
import logging
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.analytics import AnalyticsReportSubscription, ReportFrequency
from models.base import utcnow
from models.user import User
from services import errors
from services.analytics.dashboard import Dashboard, load_dashboard
from services.analytics.series import TimeSeries
from services.auth.permissions import Permission, require
from services.db import open_session

log = logging.getLogger(__name__)
# Reports go out at 07:00 UTC: every day, or on Mondays.
REPORT_CRON = {ReportFrequency.DAILY: "0 7 * * *", ReportFrequency.WEEKLY: "0 7 * * 1"}
REPORT_RANGE: dict[ReportFrequency, Literal["day", "week"]] = {ReportFrequency.DAILY: "day",
                                                              ReportFrequency.WEEKLY: "week"}
REPORT_CHANNELS = ("email", "in_app")
MAX_DUE_PER_TICK = 50
TOP_INSIGHTS = 5
ReportFormat = Literal["markdown", "html"]


class Report(BaseModel):
    title: str
    filename: str
    markdown: str
    html: str


class SubscriptionPublic(BaseModel):
    frequency: ReportFrequency | None
    next_send_at: datetime | None
    last_sent_at: datetime | None


# --- rendering ----------------------------------------------------------------------------------------------

Table = tuple[list[str], list[list[str]]]


def _number(value: float | int | None, kind: str = "") -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "ms":
        return f"{value:,.0f} ms"
    if kind == "usd":
        return f"${value:,.4f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


_SUMMARY_ROWS = (("Runs", "runs", ""), ("Succeeded", "runs_succeeded", ""), ("Failed", "runs_failed", ""),
                 ("Success rate", "success_rate", "rate"), ("Mean duration", "duration_avg_ms", "ms"),
                 ("p50 duration", "duration_p50_ms", "ms"), ("p95 duration", "duration_p95_ms", "ms"),
                 ("AI calls", "ai_calls", ""), ("AI tokens", "ai_tokens", ""), ("AI cost", "ai_cost_usd", "usd"),
                 ("Notifications sent", "notifications_sent", ""),
                 ("Notifications failed", "notifications_failed", ""), ("Active users", "active_users", ""))


def _tables(data: Dashboard) -> list[tuple[str, Table | None, str]]:
    """(heading, table or None, sentence when empty) per section, in report order."""
    s = data.summary
    summary_rows = [[label, _number(getattr(s.current, name), kind), _number(getattr(s.previous, name), kind),
                     "—" if s.change.get(name) is None else f"{s.change[name]:+.0%}"]
                    for label, name, kind in _SUMMARY_ROWS]
    insights = [[i.severity, i.title, i.message] for i in data.insights[:TOP_INSIGHTS]]
    workflows = [[w.name, str(w.runs), str(w.succeeded), str(w.failed), _number(w.success_rate, "rate")]
                 for w in data.success_by_workflow]
    return [
        ("Summary", (["Figure", "This period", "Previous period", "Change"], summary_rows), ""),
        ("Top insights", (["Severity", "Insight", "Details"], insights) if insights else None,
         "Nothing stands out in the data."),
        ("Runs by status", _series_table(data.runs_by_status), "No runs finished in this period."),
        ("Success rate by workflow", (["Workflow", "Runs", "Succeeded", "Failed", "Success rate"], workflows)
         if workflows else None, "No runs finished in this period."),
        ("AI cost by provider (USD)", _series_table(data.ai_cost_by_provider, kind="usd"),
         "No AI calls in this period."),
        ("Notification deliveries", (["Channel", "Outcome", "Attempts"],
                                     [[d.channel, d.status, str(d.count)] for d in data.deliveries])
         if data.deliveries else None, "No notifications were delivered in this period."),
    ]


def _series_table(series: TimeSeries, kind: str = "") -> Table | None:
    """A chart as a table: one row per bucket that has a value, one column per group."""
    if not any(point.value for s in series.series for point in s.points):
        return None
    groups = [s.group or "unknown" for s in series.series]
    rows = []
    for index, point in enumerate(series.series[0].points):
        values = [s.points[index].value for s in series.series]
        if any(values):
            stamp = point.bucket.strftime("%Y-%m-%d %H:%M" if series.bucket == "hour" else "%Y-%m-%d")
            rows.append([stamp, *(_number(v or 0, kind) for v in values)])
    return ["Time (UTC)", *groups], rows


def _markdown_table(table: Table) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    header, rows = table
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(table: Table) -> str:
    header, rows = table
    head = "".join(f"<th style='text-align:left;padding:4px 8px;border-bottom:1px solid #ccc'>{html.escape(h)}</th>"
                   for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:4px 8px'>{html.escape(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _period(data: Dashboard) -> str:
    return f"{data.summary.start:%Y-%m-%d %H:%M} to {data.summary.end:%Y-%m-%d %H:%M} UTC"


def render_report(data: Dashboard, *, title: str) -> Report:
    """The report as Markdown and as HTML (the same sections, tables of figures)."""
    sections = _tables(data)
    md = [f"# {title}", "", f"Period: {_period(data)}, compared with the period of the same length before it.", ""]
    page = [f"<h1>{html.escape(title)}</h1>",
            f"<p>Period: {html.escape(_period(data))}, compared with the period of the same length before it.</p>"]
    for heading, table, empty in sections:
        md += [f"## {heading}", "", _markdown_table(table) if table else f"_{empty}_", ""]
        page += [f"<h2>{html.escape(heading)}</h2>", _html_table(table) if table else f"<p><em>{empty}</em></p>"]
    document = ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title></head>"
                "<body style='font-family:system-ui,sans-serif'>" + "".join(page) + "</body></html>")
    stamp = f"{data.summary.end:%Y%m%d-%H%M}"
    return Report(title=title, filename=f"analytics-report-{data.time_range}-{stamp}", markdown="\n".join(md),
                  html=document)


async def build_report(actor: User, time_range: Literal["day", "week", "month"] = "week", *,
                       workflow_id: int | None = None, now: datetime | None = None) -> Report:
    """The report of ``time_range`` ending now, for the analytics page's download (VIEW permission)."""
    data = await load_dashboard(actor, time_range, workflow_id=workflow_id, now=now)
    names = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
    return render_report(data, title=f"{names[time_range]} analytics report")


# --- subscriptions ------------------------------------------------------------------------------------------

def _next_send(frequency: ReportFrequency, after: datetime) -> datetime:
    from services.workflows.triggers import next_fire  # the engine's cron arithmetic

    return next_fire(REPORT_CRON[frequency], "UTC", after)


async def get_subscription(actor: User, *, session: AsyncSession) -> SubscriptionPublic:
    require(actor.role, Permission.VIEW)
    row = await session.get(AnalyticsReportSubscription, actor.id)
    if row is None:
        return SubscriptionPublic(frequency=None, next_send_at=None, last_sent_at=None)
    return SubscriptionPublic(frequency=ReportFrequency(row.frequency), next_send_at=row.next_send_at,
                              last_sent_at=row.last_sent_at)


async def set_subscription(actor: User, frequency: str | None, *, session: AsyncSession,
                           now: datetime | None = None) -> SubscriptionPublic:
    """Subscribe ``actor`` to a daily or weekly report (``None`` or ``"off"``: unsubscribe)."""
    require(actor.role, Permission.VIEW)
    row = await session.get(AnalyticsReportSubscription, actor.id)
    if frequency in (None, "", "off"):
        if row is not None:
            await session.delete(row)
            await session.commit()
        return SubscriptionPublic(frequency=None, next_send_at=None, last_sent_at=None)
    try:
        chosen = ReportFrequency(frequency)
    except ValueError:
        raise errors.ValidationFailed("frequency: choose daily, weekly or off.",
                                      details=[{"field": "frequency", "message": "daily, weekly or off"}]) from None
    moment = now or utcnow()
    if row is None:
        row = AnalyticsReportSubscription(user_id=actor.id, frequency=chosen.value, next_send_at=moment)
    row.frequency, row.next_send_at, row.updated_at = chosen.value, _next_send(chosen, moment), moment
    session.add(row)
    await session.commit()
    return SubscriptionPublic(frequency=chosen, next_send_at=row.next_send_at, last_sent_at=row.last_sent_at)


async def send_due_reports(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Send every due report once (claimed by compare-and-set); the users whose report went out."""
    moment = now or utcnow()
    async with open_session() as session:
        due = (await session.exec(select(AnalyticsReportSubscription)
                                  .where(col(AnalyticsReportSubscription.next_send_at) <= moment)
                                  .order_by(col(AnalyticsReportSubscription.next_send_at))
                                  .limit(MAX_DUE_PER_TICK))).all()
        plans = [(row.user_id, ReportFrequency(row.frequency), row.next_send_at) for row in due]
    sent: list[uuid.UUID] = []
    for user_id, frequency, due_at in plans:
        async with open_session() as session:
            claimed = await session.exec(update(AnalyticsReportSubscription).where(
                col(AnalyticsReportSubscription.user_id) == user_id,
                col(AnalyticsReportSubscription.next_send_at) == due_at)
                .values(next_send_at=_next_send(frequency, moment), last_sent_at=moment))
            await session.commit()
            if claimed.rowcount != 1:
                continue  # another process sends it
            user = await session.get(User, user_id)
        if user is None or not user.is_active:
            continue
        try:
            await _send_report(user, frequency, due_at, moment)
        except Exception:  # one user's report failing must not stop the others (or the maintenance beat)
            log.exception("the %s analytics report of user %s could not be sent", frequency.value, user_id)
            continue
        sent.append(user_id)
    return sent


async def _send_report(user: User, frequency: ReportFrequency, due_at: datetime, now: datetime) -> None:
    from services.notifications import service as notifications
    from services.notifications.schemas import SendRequest

    time_range = REPORT_RANGE[frequency]
    data = await load_dashboard(user, time_range, now=now)
    report = render_report(data, title=f"{frequency.value.capitalize()} analytics report")
    recipients = {"email": user.email, "in_app": str(user.id)}
    for channel in REPORT_CHANNELS:
        request = SendRequest(channel=channel, recipient=recipients[channel], subject=report.title,
                              message="{{ report }}", html="{{ report_html }}" if channel == "email" else None,
                              variables={"report": report.markdown, "report_html": report.html},
                              category="report", idempotency_key=f"analytics-report:{user.id}:{due_at.isoformat()}:"
                                                                 f"{channel}")
        async with open_session() as session:
            await notifications.send(None, request, session=session)


__all__ = ["Report", "SubscriptionPublic", "build_report", "get_subscription", "render_report", "send_due_reports",
           "set_subscription"]
