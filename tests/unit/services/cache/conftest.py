"""Caches over every backend (memory, file, redis, tiered), a clean Redis database 15, and throwaway Redis servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from services.cache.base import CacheBackend
from services.cache.cache import Cache
from services.cache.file import FileBackend, FileConfig
from services.cache.memory import MemoryBackend, MemoryConfig
from services.cache.redis_backend import RedisBackend, RedisConfig
from services.cache.tiered import TieredBackend, TieredConfig
from tests.infra import REDIS_TEST_URL, require_server
from tests.processes import redis_server

BACKENDS = ["memory", "file", pytest.param("redis", marks=pytest.mark.redis),
            pytest.param("tiered", marks=pytest.mark.redis)]
MAX_VALUE_BYTES = 64 * 1024


def redis_config(url: str = REDIS_TEST_URL, **overrides: float) -> RedisConfig:
    return RedisConfig(url=SecretStr(url), **overrides)


CONTRACT_TIMEOUT_SECONDS = 5.0


def make_backend(name: str, tmp_path: Path) -> CacheBackend:
    if name == "memory":
        return MemoryBackend(MemoryConfig(max_entries=1000, max_bytes=4 * 1024 * 1024))
    if name == "file":
        return FileBackend(FileConfig(directory=tmp_path / "cache"))
    # The contract is about what the backends keep, not how fast: with the product's 0.25 s bound, a
    # pause of the test process (a full collection late in a long suite) failed one call, and the
    # backend then refused every call for a second, so a later assertion saw nothing stored.
    if name == "redis":
        return RedisBackend(redis_config(timeout_seconds=CONTRACT_TIMEOUT_SECONDS))
    return TieredBackend(TieredConfig(redis=redis_config(timeout_seconds=CONTRACT_TIMEOUT_SECONDS), l1_ttl_seconds=60))


async def flush_test_redis() -> None:
    client = Redis.from_url(REDIS_TEST_URL)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def wait_until_subscribed(backend: TieredBackend) -> None:
    """Tiered fills L1 only once its invalidation listener is subscribed: tests wait for that."""
    assert await backend.wait_until_listening(5.0), \
        f"the invalidation listener did not subscribe: {backend.listener_error}"


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cache]:
    """A ``Cache`` on each backend in turn; Redis database 15 is emptied before and after."""
    if request.param in ("redis", "tiered"):
        require_server("Redis", "127.0.0.1", 6379)
        await flush_test_redis()
    backend = make_backend(request.param, tmp_path)
    if isinstance(backend, TieredBackend):
        await wait_until_subscribed(backend)
    instance = Cache(backend, max_value_bytes=MAX_VALUE_BYTES)
    yield instance
    await instance.close()
    if request.param in ("redis", "tiered"):
        await flush_test_redis()


__all__ = ["redis_server"]  # the outage tests import it from here
