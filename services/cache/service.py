"""The process's cache, and the stats / clear / optimize operations the API and the UI call."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from models.user import User
from services.auth.audit import record_audit
from services.auth.permissions import Permission, require
from services.cache.cache import Cache
from services.cache.history import HitRatioPoint
from services.cache.registry import build_backend
from services.cache.stats import CacheProbe, CacheStats, ClearReport, OptimizeReport
from services.settings import Settings, get_settings

_caches: dict[tuple[object, ...], Cache] = {}
# The settings object the last lookup was for, and its cache: settings are built once and only
# replaced when they change, so most calls (one per signed-in API request) skip the identity.
_last: tuple[Settings, Cache] | None = None


def _identity(settings: Settings) -> tuple[object, ...]:
    return (settings.resolved_cache_backend, settings.redis_url, settings.resolved_cache_dir.resolve(),
            settings.cache_max_value_bytes, settings.cache_memory_max_entries, settings.cache_memory_max_bytes,
            settings.cache_file_max_bytes, settings.cache_l1_ttl_seconds, settings.cache_redis_timeout_seconds)


def get_cache() -> Cache:
    """The cache ``CACHE_BACKEND`` configures, one per process (a settings change gives a new one)."""
    global _last
    settings = get_settings()
    if _last is not None and _last[0] is settings:
        return _last[1]
    identity = _identity(settings)
    cache = _caches.get(identity)
    if cache is None:
        cache = _caches[identity] = Cache(build_backend(settings), max_value_bytes=settings.cache_max_value_bytes)
    _last = (settings, cache)
    return cache


async def cache_stats() -> CacheStats:
    """Hits, misses, latency per namespace, entries and bytes, and the backend's health."""
    return await get_cache().stats()


async def probe_cache() -> CacheProbe:
    """One timed read on the configured backend: status, latency, and the errors this process has counted."""
    return await get_cache().probe()


async def clear_cache(namespace: str | None = None, *, actor: User | None = None,
                      session: AsyncSession | None = None) -> ClearReport:
    """Remove one namespace, or every entry when ``namespace`` is None; audited when given an actor and session."""
    if actor is not None:
        require(actor.role, Permission.ADMINISTER)
    report = await get_cache().clear(namespace)
    if actor is not None and session is not None:
        record_audit(session, "cache_cleared", actor_id=actor.id, target=f"cache:{namespace or '*'}",
                     details={"removed": report.removed})
        await session.commit()
    return report


async def optimize_cache(*, actor: User | None = None, session: AsyncSession | None = None) -> OptimizeReport:
    """Purge expired entries and report the largest namespaces; audited when an actor and session are given."""
    if actor is not None:
        require(actor.role, Permission.ADMINISTER)
    report = await get_cache().optimize()
    if actor is not None and session is not None:
        record_audit(session, "cache_optimized", actor_id=actor.id, target="cache:*",
                     details={"purged_expired": report.purged_expired})
        await session.commit()
    return report


def record_cache_samples() -> None:
    """Offer a hit-ratio sample of every cache this process opened (the maintenance loop, every beat).

    Each sample kept that saw gets is also recorded as a ``cache_stats`` analytics event.
    """
    from services.analytics.hooks import record_cache_stats

    for cache in list(_caches.values()):
        hits, misses = cache.stats_recorder.totals()
        previous = cache.history.samples[-1] if cache.history.samples else None
        if cache.history.offer(hits, misses) and previous is not None and \
                (hits, misses) != (previous.hits, previous.misses):
            record_cache_stats(hits - previous.hits, misses - previous.misses, backend=cache.backend.name)


def cache_hit_ratio_history() -> list[HitRatioPoint]:
    """The hit ratio of this process's cache per sampling interval, up to now (``services.cache.history``)."""
    cache = get_cache()
    cache.history.offer(*cache.stats_recorder.totals(), force=not cache.history.samples)
    return cache.history.points()


async def close_caches() -> None:
    """Close every cache this process opened (shutdown, tests)."""
    global _last
    caches = list(_caches.values())
    _caches.clear()
    _last = None
    for cache in caches:
        await cache.close()
