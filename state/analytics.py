"""The analytics page (/analytics): KPI cards, charts and insights for a time range and workflow, the
report download and the scheduled-report choice. Each event resolves the user and calls one service
function, which checks the role (VIEW) itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

import plotly.graph_objects as go
import reflex as rx

from services import errors
from services.analytics import reports
from services.analytics.dashboard import DASHBOARD_RANGES, load_dashboard
from services.analytics.hooks import record_ui_action
from services.db import open_read_session, open_session
from state import analytics_charts as charts
from state.auth import AuthState
from state.errors import form_message

ALL_WORKFLOWS = "all"
REPORT_CHOICES = ("off", "daily", "weekly")
EMPTY = go.Figure()
ReportRange = Literal["day", "week", "month"]


@dataclass
class WorkflowOption:
    id: str
    name: str


class AnalyticsState(AuthState):
    time_range: str = "week"
    workflow: str = ALL_WORKFLOWS
    workflow_options: list[WorkflowOption] = []
    kpis: list[charts.KpiCard] = []
    insights: list[charts.InsightView] = []
    runs_chart: go.Figure = EMPTY
    durations_chart: go.Figure = EMPTY
    success_chart: go.Figure = EMPTY
    tokens_chart: go.Figure = EMPTY
    cost_chart: go.Figure = EMPTY
    deliveries_chart: go.Figure = EMPTY
    heatmap_chart: go.Figure = EMPTY
    has_chart: dict[str, bool] = {}
    loading: bool = False
    loaded: bool = False
    error: str = ""
    period: str = ""
    report_frequency: str = "off"
    report_next: str = ""
    report_notice: str = ""

    @rx.event
    async def load(self) -> None:
        """on_load: the charts for the chosen range and the user's report subscription."""
        self.error = ""
        if not self.user_id:  # require_login (the on_load before this one) is sending the visitor to sign in
            return
        await self._reload()
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                subscription = await reports.get_subscription(user, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self._show_subscription(subscription)

    async def _reload(self) -> None:
        self.loading, self.error = True, ""
        workflow_id = int(self.workflow) if self.workflow.isdigit() else None
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
            data = await load_dashboard(user, self.time_range if self.time_range in DASHBOARD_RANGES else "week",
                                        workflow_id=workflow_id)
        except errors.DomainError as exc:
            self.error, self.loading = form_message(exc), False
            return
        self.workflow_options = [WorkflowOption(str(w.id), w.name) for w in data.workflows]
        self.period = f"{data.summary.start:%Y-%m-%d %H:%M} to {data.summary.end:%Y-%m-%d %H:%M} UTC"
        self.kpis = charts.kpi_cards(data.summary)
        self.insights = charts.insight_views(data.insights)
        figures = {
            "runs": charts.runs_by_status(data.runs_by_status),
            "durations": charts.duration_histogram(data.durations),
            "success": charts.success_rates(data.success_by_workflow),
            "tokens": charts.lines_by_group(data.ai_tokens_by_model, unit="tokens"),
            "cost": charts.lines_by_group(data.ai_cost_by_provider, unit="USD", value_format="$,.4f"),
            "deliveries": charts.deliveries(data.deliveries),
            "heatmap": charts.activity_heatmap(data.active_users),
        }
        self.has_chart = {name: figure is not None for name, figure in figures.items()}
        self.runs_chart, self.durations_chart = figures["runs"] or EMPTY, figures["durations"] or EMPTY
        self.success_chart, self.tokens_chart = figures["success"] or EMPTY, figures["tokens"] or EMPTY
        self.cost_chart, self.deliveries_chart = figures["cost"] or EMPTY, figures["deliveries"] or EMPTY
        self.heatmap_chart = figures["heatmap"] or EMPTY
        self.loading, self.loaded = False, True

    @rx.event
    async def set_time_range(self, value: str | list[str]) -> AsyncIterator[None]:
        chosen = value if isinstance(value, str) else value[0]
        self.time_range, self.loading = (chosen if chosen in DASHBOARD_RANGES else "week"), True
        yield  # the spinner shows while the server re-queries
        await self._reload()
        self._note_action("time_range", self.time_range)

    @rx.event
    async def set_workflow(self, value: str) -> AsyncIterator[None]:
        self.workflow, self.loading = (value if value.isdigit() else ALL_WORKFLOWS), True
        yield
        await self._reload()
        self._note_action("workflow_filter", self.workflow)

    def _note_action(self, action: str, value: str) -> None:
        if self.user_id:
            record_ui_action(uuid.UUID(self.user_id), f"analytics.{action}", value=value)

    @rx.event
    async def download_report(self, fmt: Literal["markdown", "html"]) -> rx.event.EventSpec | None:
        """The report of the chosen range (and workflow) as a Markdown or HTML file."""
        workflow_id = int(self.workflow) if self.workflow.isdigit() else None
        time_range: ReportRange = "day" if self.time_range == "day" else "month" if self.time_range == "month" \
            else "week"
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
            report = await reports.build_report(user, time_range, workflow_id=workflow_id)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return None
        self._note_action("report_download", fmt)
        if fmt == "html":
            return rx.download(data=report.html, filename=f"{report.filename}.html")
        return rx.download(data=report.markdown, filename=f"{report.filename}.md")

    @rx.event
    async def set_report_frequency(self, value: str) -> None:
        """Subscribe to (or stop) the scheduled report sent by email and to the inbox."""
        self.report_notice = ""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                subscription = await reports.set_subscription(user, value, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self._show_subscription(subscription)
        self.report_notice = ("Scheduled reports are off." if subscription.frequency is None else
                              f"You will get a {subscription.frequency.value} report by email and in your inbox.")

    def _show_subscription(self, subscription: reports.SubscriptionPublic) -> None:
        self.report_frequency = subscription.frequency.value if subscription.frequency else "off"
        self.report_next = (subscription.next_send_at.strftime("%Y-%m-%d %H:%M UTC")
                            if subscription.next_send_at else "")
