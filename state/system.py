"""Settings, System section: the admin's live panel of the numbers /metrics exports, as Plotly charts."""

from __future__ import annotations

import plotly.graph_objects as go
import reflex as rx

from services import errors
from services.auth.permissions import Permission, allows
from services.db import open_session
from services.observability.system import SystemSnapshot, system_snapshot
from state.auth import AuthState
from state.errors import form_message

_LAYOUT = {"margin": {"l": 40, "r": 10, "t": 30, "b": 40}, "height": 280, "paper_bgcolor": "rgba(0,0,0,0)",
           "plot_bgcolor": "rgba(0,0,0,0)", "barmode": "stack", "legend": {"orientation": "h"}}


def runs_figure(s: SystemSnapshot) -> go.Figure:
    statuses = list(s.runs_by_status)
    return go.Figure(go.Bar(x=statuses, y=[s.runs_by_status[k] for k in statuses], name="runs"),
                     layout={**_LAYOUT, "title": {"text": "Runs by status"}})


def deliveries_figure(s: SystemSnapshot) -> go.Figure:
    channels = sorted({d.channel for d in s.deliveries})
    bars = [go.Bar(name=status, x=channels,
                   y=[sum(d.count for d in s.deliveries if d.channel == ch and d.status == status) for ch in channels])
            for status in sorted({d.status for d in s.deliveries})]
    return go.Figure(bars, layout={**_LAYOUT, "title": {"text": "Notification deliveries by channel"}})


def ai_cost_figure(s: SystemSnapshot) -> go.Figure:
    return go.Figure(go.Bar(x=[u.provider for u in s.ai_usage], y=[u.cost_usd for u in s.ai_usage], name="USD"),
                     layout={**_LAYOUT, "title": {"text": "AI spend by provider (USD)"}})


class SystemState(AuthState):
    runs_chart: go.Figure = go.Figure()
    deliveries_chart: go.Figure = go.Figure()
    ai_chart: go.Figure = go.Figure()
    queue_depth: int = 0
    step_p50: str = "—"
    step_p95: str = "—"
    steps_recent: int = 0
    cache_hit_ratio: str = "—"
    ai_tokens: int = 0
    has_deliveries: bool = False
    has_ai: bool = False
    taken_at: str = ""
    system_error: str = ""
    allowed: bool = True
    loading: bool = False

    @rx.event
    async def load(self) -> None:
        self.loading, self.system_error = True, ""
        try:
            async with open_session() as session:
                actor = await self._signed_in_user(session)
                self.allowed = allows(actor.role, Permission.ADMINISTER)
                if not self.allowed:
                    return
                snapshot = await system_snapshot(session=session)
        except errors.DomainError as exc:
            self.system_error = form_message(exc)
            return
        finally:
            self.loading = False
        self._show_snapshot(snapshot)

    def _show_snapshot(self, s: SystemSnapshot) -> None:
        self.runs_chart, self.deliveries_chart, self.ai_chart = runs_figure(s), deliveries_figure(s), ai_cost_figure(s)
        self.queue_depth, self.steps_recent = s.queue_depth, s.steps_recent
        quantiles = s.step_duration_quantiles_s
        self.step_p50 = f"{quantiles[0.5] * 1000:.0f} ms" if 0.5 in quantiles else "—"
        self.step_p95 = f"{quantiles[0.95] * 1000:.0f} ms" if 0.95 in quantiles else "—"
        self.cache_hit_ratio = f"{s.cache_hit_ratio:.0%}" if s.cache_hit_ratio is not None else "—"
        self.ai_tokens = sum(u.tokens for u in s.ai_usage)
        self.has_deliveries, self.has_ai = bool(s.deliveries), bool(s.ai_usage)
        self.taken_at = s.taken_at.strftime("%Y-%m-%d %H:%M:%S UTC")
