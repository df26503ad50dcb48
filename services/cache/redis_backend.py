"""``redis``: entries shared by every process through Redis (redis.asyncio).

Layout: values at ``dwc:cache:v:<namespace>:<key>`` (``SET ... PX``), tags as Redis sets at
``dwc:cache:t:<namespace>:<tag>`` holding value keys. A write and its tag updates go in one
pipeline (one round trip). Every call is bounded by ``CACHE_REDIS_TIMEOUT_SECONDS``; after a
failure calls are refused at once for ``retry_after_seconds`` (so an outage costs one timeout,
not one per call), then tried again: recovery needs nothing but Redis coming back.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from pydantic import BaseModel, Field, SecretStr
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from services import errors
from services.cache.base import BackendReport, BackendUnavailable, CacheBackend, NamespaceUsage
from services.settings import Settings

ROOT = "dwc:cache:"
VALUES = ROOT + "v:"
TAGS = ROOT + "t:"
_SCAN_BATCH = 1000
_USAGE_SCAN_LIMIT = 200_000
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class RedisConfig(BaseModel):
    url: SecretStr
    timeout_seconds: float = Field(default=0.25, gt=0)
    retry_after_seconds: float = Field(default=1.0, ge=0)
    admin_timeout_seconds: float = Field(default=10.0, gt=0, description="Bound of scans (clear, stats).")


def glob_escape(text: str) -> str:
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def value_key(namespace: str, key: str) -> str:
    return f"{VALUES}{namespace}:{key}"


def tag_key(namespace: str, tag: str) -> str:
    return f"{TAGS}{namespace}:{tag}"


class RedisBackend(CacheBackend):
    name = "redis"
    description = "Redis, shared by every process (redis.asyncio, pipelined writes)."

    def __init__(self, config: RedisConfig) -> None:
        self.config = config
        self.client = Redis.from_url(config.url.get_secret_value(), socket_connect_timeout=config.timeout_seconds,
                                     retry=Retry(NoBackoff(), 0), health_check_interval=15)
        self._retry_at = 0.0
        self.failing = False
        self.last_error = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(redis_config(settings))

    def guard(self, *, admin: bool = False) -> _Bounded:
        """Bound one call by the timeout and turn any Redis failure into ``BackendUnavailable``."""
        return _Bounded(self, self.config.admin_timeout_seconds if admin else self.config.timeout_seconds)

    def failed(self, exc: BaseException) -> BackendUnavailable:
        """Remember the failure (calls are refused for ``retry_after_seconds``); the error to raise."""
        reason = f"no answer within {self.config.timeout_seconds:g} s" if isinstance(exc, TimeoutError) \
            else f"{type(exc).__name__}: {exc}"[:200]
        self.failing, self.last_error = True, reason
        self._retry_at = time.monotonic() + self.config.retry_after_seconds
        return BackendUnavailable(f"Redis unreachable ({reason})")

    async def get(self, namespace: str, key: str) -> bytes | None:
        async with self.guard():
            payload: bytes | None = await self.client.get(value_key(namespace, key))
        return payload

    async def get_with_ttl(self, namespace: str, key: str) -> tuple[bytes | None, float | None]:
        """The payload and its remaining TTL in seconds (``None``: no expiry), in one round trip."""
        async with self.guard():
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.get(value_key(namespace, key))
                pipe.pttl(value_key(namespace, key))
                payload, remaining_ms = await pipe.execute()
        return payload, (remaining_ms / 1000 if remaining_ms is not None and remaining_ms >= 0 else None)

    async def set(self, namespace: str, key: str, payload: bytes, *, ttl: float | None,
                  tags: Sequence[str] = (), broadcast: tuple[str, bytes] | None = None) -> None:
        """Write the value, its tags and (for tiered) the invalidation message in one pipeline."""
        stored = value_key(namespace, key)
        ttl_ms = max(1, round(ttl * 1000)) if ttl is not None else None
        async with self.guard():
            if not tags and broadcast is None:
                await self.client.set(stored, payload, px=ttl_ms)
                return
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.set(stored, payload, px=ttl_ms)
                for tag in tags:
                    index = tag_key(namespace, tag)
                    pipe.sadd(index, stored)
                    if ttl_ms is None:
                        pipe.persist(index)
                    else:  # the index lives as long as its longest-lived member
                        pipe.pexpire(index, ttl_ms, nx=True)
                        pipe.pexpire(index, ttl_ms, gt=True)
                if broadcast is not None:
                    pipe.publish(*broadcast)
                await pipe.execute()

    async def delete(self, namespace: str, key: str, *, broadcast: tuple[str, bytes] | None = None) -> bool:
        async with self.guard():
            if broadcast is None:
                return bool(await self.client.delete(value_key(namespace, key)))
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.delete(value_key(namespace, key))
                pipe.publish(*broadcast)
                deleted, _ = await pipe.execute()
        return bool(deleted)

    async def exists(self, namespace: str, key: str) -> bool:
        async with self.guard():
            return bool(await self.client.exists(value_key(namespace, key)))

    async def invalidate_prefix(self, namespace: str, prefix: str) -> int:
        return await self._unlink_matching(glob_escape(value_key(namespace, prefix)) + "*")

    async def invalidate_tag(self, namespace: str, tag: str) -> int:
        removed, _ = await self.invalidate_tag_keys(namespace, tag)
        return removed

    async def invalidate_tag_keys(self, namespace: str, tag: str) -> tuple[int, list[str]]:
        """Remove the tag's entries and the tag itself: how many entries were live, and the keys filed under it."""
        index = tag_key(namespace, tag)
        async with self.guard():
            members: set[bytes] = await self.client.smembers(index)  # type: ignore[misc]
            async with self.client.pipeline(transaction=False) as pipe:
                if members:
                    pipe.unlink(*members)
                pipe.unlink(index)
                results = await pipe.execute()
        start = len(value_key(namespace, ""))
        return (int(results[0]) if members else 0), [member.decode()[start:] for member in members]

    async def clear(self, namespace: str | None) -> int:
        if namespace is None:
            await self._unlink_matching(TAGS + "*")
            return await self._unlink_matching(VALUES + "*")
        await self._unlink_matching(glob_escape(tag_key(namespace, "")) + "*")
        return await self._unlink_matching(glob_escape(value_key(namespace, "")) + "*")

    async def purge_expired(self) -> int:
        return 0  # Redis expires keys itself, and tag sets carry the TTL of their longest-lived member

    async def publish(self, channel: str, message: bytes) -> None:
        async with self.guard():
            await self.client.publish(channel, message)

    async def report(self) -> BackendReport:
        try:
            async with self.guard(admin=True):
                info = await self.client.info()
                usage, complete = await self._usage()
        except BackendUnavailable as exc:
            return BackendReport(status="degraded", last_error=str(exc))
        detail: dict[str, float | int | str] = {
            "redis_version": str(info.get("redis_version", "")), "used_memory": int(info.get("used_memory", 0))}
        if not complete:
            detail["usage_scan_limit"] = _USAGE_SCAN_LIMIT
        return BackendReport(usage=usage, evictions=int(info.get("evicted_keys", 0)), detail=detail,
                             version=f"redis {info.get('redis_version', '')}".strip())

    async def close(self) -> None:
        await self.client.aclose()

    async def _usage(self) -> tuple[list[NamespaceUsage], bool]:
        totals: dict[str, list[int]] = {}
        seen = 0
        batch: list[bytes] = []

        async def flush() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                for stored in batch:
                    pipe.strlen(stored)
                sizes = await pipe.execute()
            for stored, size in zip(batch, sizes, strict=True):
                if size:
                    row = totals.setdefault(stored[len(VALUES):].decode().split(":", 1)[0], [0, 0])
                    row[0] += 1
                    row[1] += int(size) - 1  # the stored kind byte is not the caller's data
            batch.clear()

        async for stored in self.client.scan_iter(match=VALUES + "*", count=_SCAN_BATCH):
            batch.append(stored)
            seen += 1
            if len(batch) >= _SCAN_BATCH:
                await flush()
            if seen >= _USAGE_SCAN_LIMIT:
                break
        if batch:
            await flush()
        usage = [NamespaceUsage(namespace, entries, size) for namespace, (entries, size) in sorted(totals.items())]
        return usage, seen < _USAGE_SCAN_LIMIT

    async def _unlink_matching(self, pattern: str) -> int:
        removed = 0
        async with self.guard(admin=True):
            batch: list[bytes] = []
            async for stored in self.client.scan_iter(match=pattern, count=_SCAN_BATCH):
                batch.append(stored)
                if len(batch) >= _SCAN_BATCH:
                    removed += await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                removed += await self.client.unlink(*batch)
        return removed


class _Bounded:
    """``async with``: one Redis call bounded by a deadline; a Redis failure or the deadline → ``BackendUnavailable``.

    What ``asyncio.timeout`` inside an ``@asynccontextmanager`` did, with one timer handle and no
    generator: this wraps every get and set, and that pair was most of the backend's own cost per
    call (measured in ``bench/cache.py``). Cancellation follows ``asyncio.timeout``: the deadline
    cancels the task, and only that cancellation (not one from outside) becomes a timeout.
    """

    __slots__ = ("backend", "cancelling", "expired", "handle", "seconds", "task")

    def __init__(self, backend: RedisBackend, seconds: float) -> None:
        self.backend, self.seconds, self.expired = backend, seconds, False

    async def __aenter__(self) -> None:
        backend = self.backend
        if backend.failing and time.monotonic() < backend._retry_at:
            raise BackendUnavailable(f"Redis unreachable ({backend.last_error}); retrying shortly")
        task = asyncio.current_task()
        assert task is not None, "Redis calls run inside a task"
        loop = asyncio.get_running_loop()
        self.task, self.cancelling = task, task.cancelling()
        self.handle = loop.call_at(loop.time() + self.seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        self.task.cancel()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        _traceback: TracebackType | None) -> None:
        self.handle.cancel()
        if self.expired and self.task.uncancel() <= self.cancelling and exc_type is asyncio.CancelledError:
            raise self.backend.failed(TimeoutError()) from exc
        if exc is None:
            self.backend.failing = False
        elif isinstance(exc, RedisError | OSError | TimeoutError):
            raise self.backend.failed(exc) from exc


def redis_config(settings: Settings) -> RedisConfig:
    """The Redis settings, or ``ValidationFailed`` when ``REDIS_URL`` is not set."""
    if not settings.redis_url:
        raise errors.ValidationFailed(
            f"CACHE_BACKEND={settings.resolved_cache_backend} needs REDIS_URL: set it, or choose memory or file.",
            details={"field": "CACHE_BACKEND"})
    return RedisConfig(url=SecretStr(settings.redis_url), timeout_seconds=settings.cache_redis_timeout_seconds)
