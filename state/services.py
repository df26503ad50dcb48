"""Settings, Services: every dependency's status, the queue, the cache and its hit ratio over time (admins).

The page refreshes itself every ``REFRESH_SECONDS`` while it is open (``watch_services``, a
background event that ends when the tab leaves the page, signs out, or closes).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import plotly.graph_objects as go
import reflex as rx

from services import errors
from services.auth.permissions import Permission, require
from services.cache import service as cache
from services.cache.history import SAMPLE_SECONDS, HitRatioPoint
from services.cache.stats import CacheStats, OptimizeReport
from services.db import open_read_session, open_session
from services.status import ServicesStatus, ServiceStatus, services_status
from state.auth import AuthState
from state.errors import form_message
from state.tabs import tab_connected

log = logging.getLogger(__name__)
ROUTE = "/settings/services"
REFRESH_SECONDS = SAMPLE_SECONDS
STATUS_COLORS = {"ok": "green", "configured": "blue", "degraded": "amber", "down": "red", "not_configured": "gray"}
STATUS_LABELS = {"ok": "OK", "configured": "Configured", "degraded": "Degraded", "down": "Down",
                 "not_configured": "Not configured"}
REFUSED = "Only admins see the services and manage the cache. Ask an admin if you need access."
_WATCHING: set[str] = set()


@dataclass
class ServiceRow:
    name: str
    kind: str
    status: str
    label: str
    color: str
    latency: str
    version: str
    detail: str
    last_error: str


@dataclass
class NamespaceRow:
    namespace: str
    hit_ratio: str
    hits: int
    misses: int
    entry_count: int
    size: str
    p95: str


def _size(count: int) -> str:
    if count < 1024:
        return f"{count:,} B"
    size = float(count)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:,.1f} {unit}"


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f} %"


def _us(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} µs"


def service_row(service: ServiceStatus) -> ServiceRow:
    """A service as the table shows it: status label and colour, latency in ms, ``—`` for what is unknown."""
    return ServiceRow(name=service.name, kind=service.kind.replace("_", " "), status=service.status,
                      label=STATUS_LABELS[service.status], color=STATUS_COLORS[service.status],
                      latency="—" if service.latency_ms is None else f"{service.latency_ms:,.1f} ms",
                      version=service.version or "—", detail=service.detail, last_error=service.last_error)


def cache_figures(stats: CacheStats) -> list[list[str]]:
    """The cache's headline figures as ``[label, value]`` pairs, formatted for the page."""
    return [["Hit ratio", _percent(stats.hit_ratio)], ["Hits", f"{stats.hits:,}"], ["Misses", f"{stats.misses:,}"],
            ["Sets", f"{stats.sets:,}"], ["Entries", f"{stats.entries:,}"], ["Size", _size(stats.bytes)],
            ["Get p50", _us(stats.get_p50_us)], ["Get p95", _us(stats.get_p95_us)],
            ["Evictions", "—" if stats.evictions is None else f"{stats.evictions:,}"], ["Errors", f"{stats.errors:,}"]]


def namespace_rows(stats: CacheStats) -> list[NamespaceRow]:
    return [NamespaceRow(namespace=row.namespace, hit_ratio=_percent(row.hit_ratio), hits=row.hits,
                         misses=row.misses, entry_count=row.entries, size=_size(row.bytes), p95=_us(row.get_p95_us))
            for row in stats.namespaces]


def optimize_notice(report: OptimizeReport) -> str:
    """The sentence the page shows after Optimize: time taken, entries purged, the three largest namespaces."""
    largest = ", ".join(f"{item.namespace} ({_size(item.bytes)})" for item in report.largest_namespaces[:3])
    return (f"Optimized in {report.took_ms:,.0f} ms: {report.purged_expired:,} expired "
            f"{'entry' if report.purged_expired == 1 else 'entries'} purged. Largest namespaces: {largest or 'none'}.")


def hit_ratio_figure(points: list[HitRatioPoint]) -> go.Figure:
    """Hit ratio per interval (line) and gets per interval (bars), time on x."""
    times = [point.at for point in points]
    figure = go.Figure()
    figure.add_bar(x=times, y=[point.gets for point in points], name="gets", yaxis="y2",
                   marker_color="rgba(99,102,241,0.25)")
    figure.add_scatter(x=times, y=[None if point.hit_ratio is None else point.hit_ratio * 100 for point in points],
                       name="hit ratio %", mode="lines+markers", line={"color": "#16a34a"})
    figure.add_scatter(x=times, y=[None if point.cumulative_hit_ratio is None else point.cumulative_hit_ratio * 100
                                   for point in points], name="since start %", mode="lines",
                       line={"color": "#64748b", "dash": "dot"})
    figure.update_layout(height=280, margin={"l": 40, "r": 40, "t": 10, "b": 30}, legend={"orientation": "h"},
                         yaxis={"title": "hit ratio %", "range": [0, 105]},
                         yaxis2={"title": "gets", "overlaying": "y", "side": "right", "showgrid": False},
                         paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return figure


class ServicesState(AuthState):
    services: list[ServiceRow] = []
    overall: str = ""
    checked_at: str = ""
    queue_mode: str = ""
    queue_depth: str = "—"
    queue_active: str = "—"
    queue_workers: str = "—"
    cache_backend: str = ""
    cache_status: str = ""
    cache_figures: list[list[str]] = []
    namespaces: list[NamespaceRow] = []
    chart: go.Figure = go.Figure()
    chart_points: int = 0
    clear_target: str = "all"
    loaded: bool = False
    loading: bool = False
    refused: str = ""
    services_error: str = ""
    services_notice: str = ""

    @rx.var
    def namespace_choices(self) -> list[str]:
        return ["all", *[row.namespace for row in self.namespaces]]

    @rx.var
    def overall_label(self) -> str:
        return {"ok": "All services OK", "degraded": "Degraded", "down": "Down"}.get(self.overall, "")

    @rx.var
    def overall_color(self) -> str:
        return STATUS_COLORS.get(self.overall, "gray")

    async def _authorize(self) -> bool:
        """Whether the signed-in user is an admin; otherwise the page says so and shows nothing else."""
        try:
            async with open_read_session() as session:
                require((await self._signed_in_user(session)).role, Permission.ADMINISTER)
        except errors.PermissionDenied:
            self.refused = REFUSED
            return False
        except errors.DomainError as exc:
            self.refused = form_message(exc)
            return False
        self.refused = ""
        return True

    async def _refresh(self) -> None:
        self.loading = True
        try:
            if not await self._authorize():
                return
            report = await services_status()
            self._show_report(report, cache.cache_hit_ratio_history())
            self.services_error = ""
        except Exception as exc:  # the page says what failed; the next refresh tries again
            log.exception("services status failed")
            self.services_error = f"Could not read the services' status: {form_message(exc)}"
        finally:
            self.loading, self.loaded = False, True

    def _show_report(self, report: ServicesStatus, points: list[HitRatioPoint]) -> None:
        self.services = [service_row(service) for service in report.services]
        self.overall, self.checked_at = report.status, report.checked_at.strftime("%H:%M:%S UTC")
        queue = report.queue
        self.queue_mode = "Redis (saq)" if queue.mode == "redis" else "in-process"
        self.queue_depth = "—" if queue.depth is None else str(queue.depth)
        self.queue_active = "—" if queue.active is None else str(queue.active)
        self.queue_workers = "—" if queue.workers is None else str(queue.workers)
        stats = report.cache
        self.cache_backend, self.cache_status = stats.backend, stats.status
        self.cache_figures, self.namespaces = cache_figures(stats), namespace_rows(stats)
        if self.clear_target not in self.namespace_choices:
            self.clear_target = "all"
        self.chart, self.chart_points = hit_ratio_figure(points), len(points)

    @rx.event
    async def load(self) -> None:
        self.services_notice = ""
        await self._refresh()

    @rx.event
    async def refresh(self) -> None:
        await self._refresh()

    @rx.event
    def set_clear_target(self, value: str) -> None:
        self.clear_target = value

    @rx.event
    async def clear_cache(self) -> None:
        """Clear the chosen namespace (or all) as the signed-in admin: audited like the API's clear."""
        self.services_error = self.services_notice = ""
        target = None if self.clear_target == "all" else self.clear_target
        try:
            async with open_session() as session:
                report = await cache.clear_cache(target, actor=await self._signed_in_user(session), session=session)
        except errors.DomainError as exc:
            self._failed(exc)
            return
        where = "every namespace" if target is None else f"namespace {target}"
        self.services_notice = f"Cleared {where}: {report.removed:,} {'entry' if report.removed == 1 else 'entries'}."
        await self._refresh()

    @rx.event
    async def optimize_cache(self) -> None:
        """Purge expired entries as the signed-in admin (audited), and say what the largest namespaces hold."""
        self.services_error = self.services_notice = ""
        try:
            async with open_session() as session:
                report = await cache.optimize_cache(actor=await self._signed_in_user(session), session=session)
        except errors.DomainError as exc:
            self._failed(exc)
            return
        self.services_notice = optimize_notice(report)
        await self._refresh()

    def _failed(self, exc: errors.DomainError) -> None:
        if isinstance(exc, errors.PermissionDenied):
            self.refused = REFUSED
        else:
            self.services_error = form_message(exc)

    @rx.event(background=True)
    async def watch_services(self) -> None:
        """Refresh every ``REFRESH_SECONDS`` while this tab shows the page (one watcher per tab)."""
        async with self:
            tab = self.router.session.client_token
            if tab in _WATCHING or self.refused:
                return
            _WATCHING.add(tab)
        try:
            while True:
                await asyncio.sleep(REFRESH_SECONDS)
                async with self:
                    if (self.router.url.path.rstrip("/") != ROUTE or not self.signed_in or self.refused
                            or not tab_connected(tab)):
                        return
                    await self._refresh()
        finally:
            _WATCHING.discard(tab)
