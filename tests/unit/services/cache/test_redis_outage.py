"""Redis down: the cache answers misses fast, skips writes, counts errors, reports degraded — and recovers alone."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from services.cache.cache import Cache
from services.cache.redis_backend import RedisBackend
from services.cache.tiered import TieredBackend, TieredConfig
from tests.processes import free_port
from tests.unit.services.cache.conftest import redis_config, redis_server, wait_until_subscribed

pytestmark = pytest.mark.redis


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung Redis)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


async def test_with_redis_unreachable_calls_miss_fast_and_errors_are_counted() -> None:
    port = free_port()
    cache = Cache(RedisBackend(redis_config(f"redis://127.0.0.1:{port}/0", retry_after_seconds=0.2)),
                  max_value_bytes=1024)
    started = time.perf_counter()
    for index in range(20):
        assert await cache.get("docs", f"k{index}") is None
        assert await cache.set("docs", f"k{index}", index) is False
    assert await cache.get_or_set("docs", "loaded", lambda: asyncio.sleep(0, result="fresh")) == "fresh"
    assert time.perf_counter() - started < 2.0
    stats = await cache.stats()
    assert stats.status == "degraded" and stats.errors >= 1 and stats.misses == 21
    assert "Redis unreachable" in stats.last_error

    with redis_server(port):
        await asyncio.sleep(0.25)  # past retry_after: the next call tries Redis again
        assert await cache.set("docs", "k", "back") is True
        assert await cache.get("docs", "k") == "back"
        assert (await cache.stats()).status == "ok"
        await cache.close()


async def test_a_hung_redis_costs_one_timeout_not_one_per_call(silent_port: int) -> None:
    cache = Cache(RedisBackend(redis_config(f"redis://127.0.0.1:{silent_port}/0", timeout_seconds=0.25,
                                            retry_after_seconds=5)), max_value_bytes=1024)
    started = time.perf_counter()
    assert await cache.get("docs", "k") is None
    first = time.perf_counter() - started
    for _ in range(50):
        assert await cache.get("docs", "k") is None
    assert 0.2 <= first < 0.6
    assert time.perf_counter() - started < first + 0.2
    assert (await cache.stats()).errors == 51
    await cache.close()


async def test_tiered_keeps_serving_l1_while_redis_is_killed_and_recovers_when_it_returns() -> None:
    port = free_port()
    backend = TieredBackend(TieredConfig(redis=redis_config(f"redis://127.0.0.1:{port}/0", retry_after_seconds=0.1)))
    cache = Cache(backend, max_value_bytes=1024)
    with redis_server(port):
        await wait_until_subscribed(backend)
        await cache.set("docs", "held", "copy in L1", ttl=60)
    # Redis is gone now.
    started = time.perf_counter()
    assert await cache.get("docs", "held") == "copy in L1"
    assert await cache.get("docs", "other") is None
    assert await cache.set("docs", "new", 1) is False
    assert time.perf_counter() - started < 1.0
    stats = await cache.stats()
    assert stats.status == "degraded" and stats.errors >= 2
    probe = await cache.probe()  # what /api/v3/health shows
    assert probe.status == "degraded" and probe.latency_ms is None and probe.errors > stats.errors
    assert "Redis unreachable" in probe.last_error

    with redis_server(port):
        await wait_until_subscribed(backend)  # resubscribes by itself, emptying L1 (it may have missed messages)
        await asyncio.sleep(0.15)
        assert await cache.get("docs", "held") is None  # the new server is empty, and L1 was dropped
        assert await cache.set("docs", "new", 2) is True
        assert await cache.get("docs", "new") == 2
        assert (await cache.stats()).status == "ok"
        probe = await cache.probe()
        assert probe.status == "ok" and probe.latency_ms is not None and probe.errors > stats.errors
        await cache.close()
