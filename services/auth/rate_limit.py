"""Counting failed attempts per key in a fixed window: in-process, or in Redis when configured."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.redis_client import get_redis
from services.settings import get_settings


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether another attempt is allowed now, and if not, in how many seconds."""

    allowed: bool
    retry_after: int = 0


class FailureCounter(ABC):
    """Failures per key within ``window`` seconds; blocked at ``limit``."""

    def __init__(self, *, limit: int, window: int) -> None:
        self.limit = limit
        self.window = window

    @abstractmethod
    async def check(self, key: str) -> Verdict: ...

    @abstractmethod
    async def add_failure(self, key: str) -> None: ...

    @abstractmethod
    async def reset(self, key: str) -> None: ...


class MemoryFailureCounter(FailureCounter):
    """One process's counts (the embedded default)."""

    def __init__(self, *, limit: int, window: int) -> None:
        super().__init__(limit=limit, window=window)
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()

    def _live(self, key: str) -> tuple[int, float]:
        count, expires = self._counts.get(key, (0, 0.0))
        if expires <= time.monotonic():
            self._counts.pop(key, None)
            return 0, 0.0
        return count, expires

    async def check(self, key: str) -> Verdict:
        count, expires = self._live(key)
        if count >= self.limit:
            return Verdict(False, max(1, int(expires - time.monotonic()) + 1))
        return Verdict(True)

    async def add_failure(self, key: str) -> None:
        async with self._lock:
            count, expires = self._live(key)
            self._counts[key] = (count + 1, expires or time.monotonic() + self.window)

    async def reset(self, key: str) -> None:
        self._counts.pop(key, None)


class RedisFailureCounter(FailureCounter):
    """Counts shared by every replica; if Redis is unreachable, falls back to this process's."""

    def __init__(self, client: Redis, *, limit: int, window: int) -> None:
        super().__init__(limit=limit, window=window)
        self.client = client
        self.fallback = MemoryFailureCounter(limit=limit, window=window)

    @staticmethod
    def _key(key: str) -> str:
        return f"dwc:login-failures:{key}"

    async def check(self, key: str) -> Verdict:
        try:
            pipe = self.client.pipeline()
            pipe.get(self._key(key))
            pipe.ttl(self._key(key))
            raw, ttl = await pipe.execute()
        except RedisError:
            return await self.fallback.check(key)
        if raw is not None and int(raw) >= self.limit:
            return Verdict(False, max(1, int(ttl)))
        return await self.fallback.check(key)

    async def add_failure(self, key: str) -> None:
        try:
            pipe = self.client.pipeline()
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), self.window, nx=True)
            await pipe.execute()
        except RedisError:
            await self.fallback.add_failure(key)

    async def reset(self, key: str) -> None:
        await self.fallback.reset(key)
        try:
            await self.client.delete(self._key(key))
        except RedisError:
            pass


_counter: FailureCounter | None = None


def login_failures() -> FailureCounter:
    """The process's login-failure counter, built from settings on first use."""
    global _counter
    if _counter is None:
        settings = get_settings()
        limit, window = settings.login_max_failures, settings.login_failure_window_seconds
        client = get_redis()
        _counter = (RedisFailureCounter(client, limit=limit, window=window) if client is not None
                    else MemoryFailureCounter(limit=limit, window=window))
    return _counter


def reset_login_failures_counter() -> None:
    """Forget the counter so the next call rebuilds it from settings (tests, reconfiguration)."""
    global _counter
    _counter = None
