"""Readiness checks: can this process reach what it depends on, and how fast?"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text

from services import errors
from services.cache.service import probe_cache
from services.db import open_read_connection
from services.redis_client import get_redis

CheckStatus = Literal["ok", "degraded", "down", "not_configured"]
_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One dependency's state: status, round-trip latency and what went wrong, if anything."""

    name: str
    status: CheckStatus
    latency_ms: float | None = None
    detail: str = ""
    errors: int | None = None  # failures counted since start, for components that count them (the cache)
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class Readiness:
    """The whole process: ready when the database answers; Redis and the cache may only degrade it."""

    components: list[ComponentHealth]

    @property
    def status(self) -> CheckStatus:
        states = {c.name: c.status for c in self.components}
        if states.get("database") == "down":
            return "down"
        if any(s in ("down", "degraded") for s in states.values()):
            return "degraded"
        return "ok"


async def _timed(name: str, probe_coro: object) -> ComponentHealth:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe_coro, timeout=_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except TimeoutError:
        return ComponentHealth(name, "down", None, f"no answer within {_TIMEOUT_SECONDS:.0f} s")
    except Exception as exc:  # a health check reports every failure; it never raises
        return ComponentHealth(name, "down", None, f"{type(exc).__name__}: {exc}"[:300])
    return ComponentHealth(name, "ok", round((time.perf_counter() - started) * 1000, 2))


async def _ping_database() -> None:
    async with open_read_connection() as conn:
        await conn.execute(text("SELECT 1"))


async def check_database() -> ComponentHealth:
    """Run ``SELECT 1`` on the configured database."""
    return await _timed("database", _ping_database())


async def check_redis() -> ComponentHealth:
    """PING Redis, when configured."""
    client = get_redis()
    if client is None:
        return ComponentHealth("redis", "not_configured", detail="REDIS_URL unset: in-process cache and queue")
    return await _timed("redis", client.ping())


def queue_health(redis_state: ComponentHealth) -> ComponentHealth:
    """The job queue: Redis-backed when Redis is configured, in-process otherwise."""
    if redis_state.status == "not_configured":
        return ComponentHealth("queue", "ok", 0.0, "in-process queue")
    if redis_state.status != "ok":
        return ComponentHealth("queue", "degraded", None, "Redis unreachable: " + redis_state.detail)
    return ComponentHealth("queue", "ok", redis_state.latency_ms, "Redis queue")


async def check_cache() -> ComponentHealth:
    """One timed read on the configured cache backend; ``degraded`` (never ``down``) when it fails."""
    try:
        async with asyncio.timeout(_TIMEOUT_SECONDS):
            probe = await probe_cache()
    except TimeoutError:
        return ComponentHealth("cache", "degraded", None, f"no answer within {_TIMEOUT_SECONDS:.0f} s")
    except errors.DomainError as exc:  # CACHE_BACKEND names no backend, or one whose settings are missing
        return ComponentHealth("cache", "degraded", None, exc.message, last_error=exc.message)
    except Exception as exc:  # a health check reports every failure (a cache directory it cannot create...)
        message = f"{type(exc).__name__}: {exc}"[:300]
        return ComponentHealth("cache", "degraded", None, message, last_error=message)
    errors_note = f"{probe.errors:,} {'error' if probe.errors == 1 else 'errors'} since start"
    return ComponentHealth("cache", probe.status, probe.latency_ms, f"{probe.backend} backend, {errors_note}",
                           errors=probe.errors, last_error=probe.last_error)


async def readiness() -> Readiness:
    """Check every dependency concurrently."""
    database, redis_state, cache = await asyncio.gather(check_database(), check_redis(), check_cache())
    return Readiness([database, redis_state, queue_health(redis_state), cache])
