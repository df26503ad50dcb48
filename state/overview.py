"""The Overview page: the signed-in account, the last 24 hours' key figures, runs per hour and top insights.

While the page is open, ``watch_runs`` (a background event) follows the run events the engine
publishes on the event bus (in-process, and Redis pub/sub when configured) and reloads the figures
shortly after a run finishes: long enough for the analytics recorder's next batch (one a second) to
hold the run. One watcher per tab in this process; it ends when the page unmounts or the tab goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from models.run import RunStatus
from services import errors
from services.analytics.dashboard import load_overview
from services.auth.activity import account_overview
from services.db import open_read_session
from services.workflows.events import get_event_bus
from state import analytics_charts as charts
from state.auth import AuthState
from state.tabs import tab_connected

log = logging.getLogger(__name__)
OVERVIEW_KPIS = ("Runs", "Success rate", "p95 duration", "AI cost")
# After a run finishes: wait for the recorder's next batch (flushed every second) before reloading.
REFRESH_DELAY_SECONDS = 2.0
CHECK_SECONDS = 10.0
_FINISHED = frozenset(s.value for s in RunStatus if s.finished)
_RUN_WATCHERS: set[str] = set()

_ACTION_LABELS = {"login": "Signed in", "logout": "Signed out", "login_failed": "Failed sign-in",
                  "register": "Account created", "role_change": "Changed a role", "refresh_reuse":
                  "Reused sign-in token blocked", "activate": "Activated a user", "deactivate": "Deactivated a user"}


@dataclass
class ActivityRow:
    action: str
    ip: str
    at: str


class OverviewState(AuthState):
    users_total: int = 0
    active_sign_ins: int = 0
    failed_sign_ins: int = 0
    recent: list[ActivityRow] = []
    loaded: bool = False
    kpis: list[charts.KpiCard] = []
    insights: list[charts.InsightView] = []
    runs_chart: go.Figure = go.Figure()
    has_runs: bool = False
    figures_error: str = ""
    watching: bool = False
    refreshed_at: str = ""

    @rx.event
    async def load(self) -> None:
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                data = await account_overview(user, session=session)
        except errors.DomainError:
            return
        self.users_total, self.active_sign_ins = data.users_total, data.active_sign_ins
        self.failed_sign_ins = data.failed_sign_ins_30d
        self.recent = [ActivityRow(_ACTION_LABELS.get(e.action, e.action), e.ip or "—",
                                   e.at.strftime("%Y-%m-%d %H:%M UTC")) for e in data.recent]
        self.loaded = True

        await self._reload_figures()

    async def _reload_figures(self) -> None:
        """KPI cards, runs per hour and insights of the last 24 hours (the analytics service checks the role)."""
        if not self.user_id:  # not signed in: require_login is redirecting
            return
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
            data = await load_overview(user)
        except errors.DomainError as exc:
            self.figures_error = exc.message
            return
        self.figures_error = ""
        self.kpis = [card for card in charts.kpi_cards(data.summary) if card.label in OVERVIEW_KPIS]
        self.insights = charts.insight_views(data.insights)
        figure = charts.runs_by_status(data.runs_by_status)
        self.has_runs, self.runs_chart = figure is not None, figure or go.Figure()
        self.refreshed_at = data.summary.end.strftime("%H:%M:%S UTC")

    @rx.event
    def stop_watching(self) -> None:
        """The Overview unmounted: the watcher ends at its next wake-up."""
        self.watching = False

    @rx.event(background=True)
    async def watch_runs(self) -> None:
        """Reload the figures shortly after runs finish, while this tab shows the Overview."""
        async with self:
            tab = self.router.session.client_token
            if not self.user_id or tab in _RUN_WATCHERS:
                self.watching = bool(self.user_id)
                return
            _RUN_WATCHERS.add(tab)
            self.watching = True
        try:
            async with get_event_bus().subscribe() as queue:
                await self._follow_runs(queue, tab)
        except Exception:  # the figures stop being live; the next visit starts a new watcher
            log.exception("the Overview's run watcher failed")
        finally:
            _RUN_WATCHERS.discard(tab)

    async def _follow_runs(self, queue: asyncio.Queue[dict[str, Any]], tab: str) -> None:
        while True:
            event: dict[str, Any] | None = None
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(queue.get(), timeout=CHECK_SECONDS)
            finished = event is not None and event.get("type") == "run" and event.get("status") in _FINISHED
            if finished:
                await asyncio.sleep(REFRESH_DELAY_SECONDS)
                while not queue.empty():  # a burst of runs reloads once
                    queue.get_nowait()
            async with self:
                if not self.watching or not self.user_id or not tab_connected(tab):
                    return
                if finished:
                    await self._reload_figures()
