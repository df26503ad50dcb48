"""Every service the product depends on, in one report: database, Redis, run queue and workers,
AI providers, notification channels, and the cache. Each probe is bounded by a timeout and never raises: a failure is
reported as that service's status with its sentence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import func, select, text

from models.run import Run, RunStatus
from services.ai.health import provider_statuses
from services.ai.registry import get_provider
from services.cache.service import cache_stats, probe_cache
from services.cache.stats import CacheProbe, CacheStats
from services.db import open_read_connection
from services.notifications.channels.registry import channel_health_infos
from services.redis_client import get_redis
from services.settings import get_settings
from services.workflows.runtime import QUEUE_NAME

ServiceState = Literal["ok", "degraded", "down", "not_configured", "configured"]
ServiceKind = Literal["database", "redis", "queue", "ai_provider", "notification_channel", "cache"]
PROBE_TIMEOUT_SECONDS = 2.0
CHANNEL_CHECK_MAX_AGE_SECONDS = 30.0  # live channel checks reused this long (SMTP sessions to the relay)
T = TypeVar("T")


class ServiceStatus(BaseModel):
    """One dependency: its state, round-trip latency, version and what went wrong last."""

    name: str
    kind: ServiceKind
    status: ServiceState
    latency_ms: float | None = None
    version: str = ""
    detail: str = ""
    last_error: str = ""


class QueueStatus(BaseModel):
    """Where runs wait: the saq queue in Redis, or this process (in-process dispatcher)."""

    mode: Literal["redis", "in_process"]
    depth: int | None = Field(description="Runs waiting to start.")
    active: int | None = Field(default=None, description="Jobs a worker holds (Redis queue only).")
    workers: int | None = Field(description="Worker processes seen on the queue; 1 (this process) in-process.")


class ServicesStatus(BaseModel):
    """The whole picture: ``down`` when the database is, ``degraded`` when anything else fails."""

    status: Literal["ok", "degraded", "down"]
    checked_at: datetime
    services: list[ServiceStatus]
    queue: QueueStatus
    cache: CacheStats


async def _timed(call: Awaitable[T]) -> tuple[T | None, float | None, str]:
    """(result, latency in ms, error sentence): bounded by ``PROBE_TIMEOUT_SECONDS``, never raises."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            result = await call
    except TimeoutError:
        return None, None, f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # a status probe reports every failure; it never raises
        return None, None, f"{type(exc).__name__}: {exc}"[:300]
    return result, round((time.perf_counter() - started) * 1000, 2), ""


async def _database_version() -> str:
    async with open_read_connection() as conn:
        dialect = conn.dialect.name
        query = "SHOW server_version" if dialect == "postgresql" else "SELECT sqlite_version()"
        version = (await conn.execute(text(query))).scalar_one()
    return f"{dialect} {version}"


async def database_status() -> ServiceStatus:
    """Round trip and server version of the configured database."""
    version, latency, error = await _timed(_database_version())
    if error:
        return ServiceStatus(name="database", kind="database", status="down", last_error=error)
    return ServiceStatus(name="database", kind="database", status="ok", latency_ms=latency, version=version or "")


async def _redis_version() -> str:
    client = get_redis()
    assert client is not None
    await client.ping()  # type: ignore[misc]
    info = await client.info("server")
    return str(info.get("redis_version", ""))


async def redis_status() -> ServiceStatus:
    """PING and version of ``REDIS_URL``, when set."""
    if get_redis() is None:
        return ServiceStatus(name="redis", kind="redis", status="not_configured",
                             detail="REDIS_URL unset: in-process queue, memory cache")
    version, latency, error = await _timed(_redis_version())
    if error:
        return ServiceStatus(name="redis", kind="redis", status="down", last_error=error)
    return ServiceStatus(name="redis", kind="redis", status="ok", latency_ms=latency, version=f"redis {version}")


async def _queued_runs() -> int:
    async with open_read_connection() as conn:
        count = (await conn.execute(select(func.count()).select_from(Run).where(
            Run.status == RunStatus.QUEUED))).scalar_one()  # type: ignore[arg-type]
    return int(count)


async def _saq_info() -> tuple[int, int, int]:
    from saq import Queue

    queue = Queue.from_url(get_settings().redis_url, name=QUEUE_NAME)
    try:
        info = await queue.info()
    finally:
        await queue.disconnect()
    return int(info["queued"]), int(info["active"]), len(info["workers"])


async def queue_status() -> tuple[ServiceStatus, QueueStatus]:
    """Depth and workers of the saq queue in Redis, or queued runs of the in-process dispatcher."""
    if not get_settings().redis_url:
        depth, latency, error = await _timed(_queued_runs())
        status: ServiceState = "degraded" if error else "ok"
        return (ServiceStatus(name="queue", kind="queue", status=status, latency_ms=latency,
                              detail="in-process dispatcher", last_error=error),
                QueueStatus(mode="in_process", depth=depth, workers=1))
    info, latency, error = await _timed(_saq_info())
    if info is None:
        return (ServiceStatus(name="queue", kind="queue", status="down", detail=f"saq queue {QUEUE_NAME}",
                              last_error=error), QueueStatus(mode="redis", depth=None, workers=None))
    queued, active, workers = info
    return (ServiceStatus(name="queue", kind="queue", status="ok" if workers else "degraded", latency_ms=latency,
                          detail=f"saq queue {QUEUE_NAME}: {queued} queued, {active} active, {workers} workers",
                          last_error="" if workers else "no worker is consuming the queue (start make worker)"),
            QueueStatus(mode="redis", depth=queued, active=active, workers=workers))


async def ai_provider_statuses() -> list[ServiceStatus]:
    """Each AI provider, configured or not (no live calls: they cost money)."""
    return [ServiceStatus(name=f"ai:{provider.name}", kind="ai_provider", status=provider.health.status
                          if provider.health.status in ("configured", "not_configured") else "ok",
                          version=get_provider(provider.name).sdk_version(), detail=provider.display_name,
                          last_error=provider.health.message)
            for provider in await provider_statuses(check=False)]


async def notification_channel_statuses() -> list[ServiceStatus]:
    """Each notification channel with its live health check (no test sends; see channels.health)."""
    statuses = []
    for info in await channel_health_infos(max_age_seconds=CHANNEL_CHECK_MAX_AGE_SECONDS):
        health = info.health
        assert health is not None
        statuses.append(ServiceStatus(
            name=f"channel:{info.name}", kind="notification_channel", status=health.status,
            latency_ms=health.latency_ms, detail=f"{info.display_name}: {health.detail}" if health.detail
            else info.display_name, last_error=health.detail if health.status == "down" else ""))
    return statuses


async def cache_status() -> tuple[ServiceStatus, CacheStats]:
    """The cache row (a timed probe read, the store's version) and the cache's full stats."""
    stats, probe = await asyncio.gather(cache_stats(), probe_cache())
    return _cache_service(stats, probe), stats


def _cache_service(stats: CacheStats, probe: CacheProbe) -> ServiceStatus:
    """The cache row: the probe read's latency, the store's version, degraded when either look says so."""
    entries = f"{stats.entries:,} {'entry' if stats.entries == 1 else 'entries'}"
    status: ServiceState = "degraded" if "degraded" in (stats.status, probe.status) else "ok"
    return ServiceStatus(name="cache", kind="cache", status=status, latency_ms=probe.latency_ms,
                         version=stats.version, detail=f"{stats.backend} backend: {entries}, {stats.bytes:,} bytes, "
                         f"{probe.errors:,} {'error' if probe.errors == 1 else 'errors'} since start",
                         last_error=probe.last_error or stats.last_error)


async def services_status() -> ServicesStatus:
    """Probe every dependency concurrently and put the answers in one report."""
    database, redis_state, (queue_service, queue), providers, (cache_service, cache), channels = await asyncio.gather(
        database_status(), redis_status(), queue_status(), ai_provider_statuses(), cache_status(),
        notification_channel_statuses())
    services = [database, redis_state, queue_service, cache_service, *providers, *channels]
    overall: Literal["ok", "degraded", "down"] = "ok"
    if database.status == "down":
        overall = "down"
    elif any(service.status in ("down", "degraded") for service in services):
        overall = "degraded"
    return ServicesStatus(status=overall, checked_at=datetime.now(UTC), services=services, queue=queue, cache=cache)
