"""/api/v3/advanced/cache and /api/v3/advanced/services/status: who may do what, and what they answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from models.user import Role
from services.cache.service import close_caches, get_cache
from services.settings import get_settings
from tests.api.conftest import Headers, account

CACHE = "/api/v3/advanced/cache"
STATUS = "/api/v3/advanced/services/status"


@pytest.fixture(autouse=True)
async def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.delenv("CACHE_BACKEND", raising=False)
    get_settings.cache_clear()
    await close_caches()
    yield
    await close_caches()


@pytest.fixture
async def admin(live: httpx.AsyncClient) -> Headers:
    return await account(live, "admin@example.com", Role.ADMIN)


@pytest.fixture
async def editor(live: httpx.AsyncClient) -> Headers:
    return await account(live, "editor@example.com", Role.EDITOR)


async def test_stats_need_a_signed_in_caller_and_show_each_namespace(live: httpx.AsyncClient, editor: Headers) -> None:
    assert (await live.get(f"{CACHE}/stats")).status_code == 401
    await get_cache().set("ai", "k", {"text": "answer"})
    await get_cache().get("ai", "k")
    await get_cache().get("ai", "missing")
    answer = await live.get(f"{CACHE}/stats", headers=editor)
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    # the answer, and the caller's row that signing in remembers (services.auth.signed_in)
    assert (stats["backend"], stats["status"], stats["entries"]) == ("memory", "ok", 2)
    ai, auth = sorted(stats["namespaces"], key=lambda n: str(n["namespace"]))
    assert (ai["namespace"], ai["hits"], ai["misses"], ai["hit_ratio"]) == ("ai", 1, 1, 0.5)
    assert (auth["namespace"], auth["misses"]) == ("auth", 1)


async def test_only_admins_clear_the_cache_whole_or_one_namespace(live: httpx.AsyncClient, admin: Headers,
                                                                   editor: Headers) -> None:
    await get_cache().set("ai", "a", 1)
    await get_cache().set("docs", "b", 2)
    refused = await live.post(f"{CACHE}/clear", headers=editor, json={"namespace": "ai"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    one = await live.post(f"{CACHE}/clear", headers=admin, json={"namespace": "ai"})
    assert one.status_code == 200 and one.json() == {"namespace": "ai", "removed": 1}
    assert await get_cache().get("docs", "b") == 2
    everything = await live.post(f"{CACHE}/clear", headers=admin)
    # docs:b at least (the app may have cached something of its own meanwhile), and nothing is left
    assert everything.json()["namespace"] is None and everything.json()["removed"] >= 1
    assert await get_cache().get("docs", "b") is None
    bad = await live.post(f"{CACHE}/clear", headers=admin, json={"namespace": "Not Valid"})
    assert bad.status_code == 422 and "namespace" in bad.json()["error"]["message"]


async def test_history_gives_the_hit_ratio_of_this_process_per_interval(live: httpx.AsyncClient,
                                                                       editor: Headers) -> None:
    assert (await live.get(f"{CACHE}/history")).status_code == 401
    await get_cache().set("ai", "k", 1)
    for key in ("k", "k", "k", "missing"):
        await get_cache().get("ai", key)
    answer = await live.get(f"{CACHE}/history", headers=editor)
    assert answer.status_code == 200, answer.text
    [point] = answer.json()
    # three hits of four, and the miss of the caller's own row, looked up once to sign the request in
    assert (point["gets"], point["hit_ratio"], point["cumulative_hit_ratio"]) == (5, 0.6, 0.6)


async def test_optimize_is_for_admins_and_reports_the_largest_namespaces(live: httpx.AsyncClient, admin: Headers,
                                                                          editor: Headers) -> None:
    await get_cache().set("docs", "big", "x" * 1000)
    await get_cache().set("ai", "small", "y")
    assert (await live.post(f"{CACHE}/optimize", headers=editor)).status_code == 403
    answer = await live.post(f"{CACHE}/optimize", headers=admin)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    # the callers' rows (services.auth.signed_in) take a few hundred bytes: between the two
    assert [row["namespace"] for row in report["largest_namespaces"]] == ["docs", "auth", "ai"]
    assert report["backend"] == "memory" and report["purged_expired"] == 0


async def test_services_status_lists_every_dependency_for_admins(live: httpx.AsyncClient, admin: Headers,
                                                                  editor: Headers) -> None:
    assert (await live.get(STATUS, headers=editor)).status_code == 403
    answer = await live.get(STATUS, headers=admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    services = {service["name"]: service for service in body["services"]}
    assert services["database"]["status"] == "ok" and services["database"]["latency_ms"] is not None
    assert services["database"]["version"].split()[0] in ("sqlite", "postgresql")
    assert services["redis"]["status"] == "not_configured"
    assert services["queue"]["status"] == "ok" and body["queue"] == {"mode": "in_process", "depth": 0,
                                                                      "active": None, "workers": 1}
    cache = services["cache"]
    assert cache["status"] == "ok" and cache["latency_ms"] is not None and cache["latency_ms"] >= 0
    assert cache["version"] == f"cachetools {metadata.version('cachetools')}"
    assert cache["detail"].startswith("memory backend: ")
    assert services["ai:builtin"]["status"] == "configured" and services["ai:builtin"]["version"] == ""
    assert services["ai:openai"]["version"] == f"openai {metadata.version('openai')}"
    assert services["ai:local"]["version"] == f"openai {metadata.version('openai')}"
    assert services["ai:anthropic"]["version"] == f"anthropic {metadata.version('anthropic')}"
    assert services["ai:google"]["version"] == f"google-genai {metadata.version('google-genai')}"
    assert services["channel:in_app"]["kind"] == "notification_channel"
    assert body["status"] == "ok" and body["cache"]["backend"] == "memory"


async def test_services_status_gives_the_file_cache_its_library_version_and_a_probe_latency(
        live: httpx.AsyncClient, admin: Headers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CACHE_BACKEND", "file")
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    body = (await live.get(STATUS, headers=admin)).json()
    cache = {service["name"]: service for service in body["services"]}["cache"]
    assert cache["version"] == f"diskcache {metadata.version('diskcache')}"
    assert cache["status"] == "ok" and cache["latency_ms"] is not None
    assert cache["detail"].startswith("file backend: 1 entry")  # the admin's row, remembered to sign them in


@pytest.mark.redis
async def test_services_status_with_redis_shows_its_version_and_the_saq_queue(
        redis_url: str, live: httpx.AsyncClient, admin: Headers) -> None:
    from services.redis_client import close_redis

    await close_redis()
    body = (await live.get(STATUS, headers=admin)).json()
    services = {service["name"]: service for service in body["services"]}
    assert services["redis"]["status"] == "ok" and services["redis"]["version"].startswith("redis ")
    assert body["queue"]["mode"] == "redis" and body["queue"]["depth"] is not None
    assert body["cache"]["backend"] == "tiered"
    assert services["cache"]["version"] == services["redis"]["version"]  # the Redis server holding L2
    assert services["cache"]["latency_ms"] is not None and services["cache"]["status"] == "ok"
    await close_redis()
