"""Liveness and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from dashboard.api.app import create_api
from services.cache.service import close_caches
from services.db import dispose_engine
from services.settings import get_settings


@pytest.fixture(autouse=True)
async def _fresh_caches() -> AsyncIterator[None]:
    """Each test's cache starts with no errors counted; a tiered one's listener stops with its test."""
    await close_caches()
    yield
    await close_caches()


@pytest.fixture
async def bare_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client on an API that opens its own sessions from settings (no test transaction)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://t") as http:
        yield http
    await dispose_engine()


async def test_liveness(bare_client: httpx.AsyncClient) -> None:
    answer = await bare_client.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


async def test_readiness_reports_each_component(bare_client: httpx.AsyncClient) -> None:
    body = (await bare_client.get("/api/v3/health")).json()
    assert body["status"] == "ok"
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["database"]["latency_ms"] >= 0
    assert body["components"]["redis"]["status"] == "not_configured"
    assert body["components"]["queue"]["detail"] == "in-process queue"
    cache = body["components"]["cache"]
    assert cache["status"] == "ok" and cache["latency_ms"] >= 0 and cache["errors"] == 0
    assert cache["detail"] == "memory backend, 0 errors since start"


@pytest.mark.redis
async def test_readiness_pings_redis_when_configured(bare_client: httpx.AsyncClient, redis_url: str) -> None:
    body = (await bare_client.get("/api/v3/health")).json()
    assert body["components"]["redis"]["status"] == "ok"
    assert body["components"]["queue"]["detail"] == "Redis queue"


async def test_readiness_is_503_when_the_database_is_down(bare_client: httpx.AsyncClient,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nothing")
    get_settings.cache_clear()
    await dispose_engine()
    try:
        answer = await bare_client.get("/api/v3/health")
    finally:
        monkeypatch.delenv("DATABASE_URL")
        get_settings.cache_clear()
        await dispose_engine()
    assert answer.status_code == 503
    assert answer.json()["status"] == "down"
    assert answer.json()["components"]["database"]["status"] == "down"


async def test_redis_down_degrades_but_does_not_fail(bare_client: httpx.AsyncClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    get_settings.cache_clear()
    try:
        answer = await bare_client.get("/api/v3/health")
    finally:
        monkeypatch.delenv("REDIS_URL")
        get_settings.cache_clear()
    assert answer.status_code == 200 and answer.json()["status"] == "degraded"
    assert answer.json()["components"]["redis"]["status"] == "down"
    cache = answer.json()["components"]["cache"]  # tiered over the unreachable Redis: degraded, counting
    assert cache["status"] == "degraded" and cache["errors"] >= 1 and "Redis unreachable" in cache["last_error"]


async def test_a_misconfigured_cache_degrades_readiness_with_a_sentence(bare_client: httpx.AsyncClient,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_BACKEND", "redis")  # without REDIS_URL
    get_settings.cache_clear()
    try:
        answer = await bare_client.get("/api/v3/health")
    finally:
        monkeypatch.delenv("CACHE_BACKEND")
        get_settings.cache_clear()
    assert answer.status_code == 200 and answer.json()["status"] == "degraded"
    cache = answer.json()["components"]["cache"]
    assert cache["status"] == "degraded" and "needs REDIS_URL" in cache["detail"]
