"""``get_cache()`` follows the settings; misconfiguration is refused with a sentence; the AI cache uses namespace ai."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services import errors
from services.ai.base import GenerateResult, Usage
from services.ai.response_cache import answer_cache
from services.cache.service import cache_stats, clear_cache, close_caches, get_cache, optimize_cache
from services.settings import get_settings


@pytest.fixture(autouse=True)
async def _fresh_caches(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    for name in ("CACHE_BACKEND", "CACHE_DIR", "CACHE_MAX_VALUE_BYTES"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    await close_caches()
    yield
    await close_caches()
    get_settings.cache_clear()


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


async def test_without_settings_the_cache_is_this_process_memory() -> None:
    assert get_cache().backend.name == "memory"
    assert get_cache() is get_cache()


@pytest.mark.redis
async def test_with_redis_url_and_no_backend_named_the_cache_is_tiered(redis_url: str) -> None:
    assert get_cache().backend.name == "tiered"


async def test_the_file_backend_keeps_entries_under_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch, CACHE_BACKEND="file", CACHE_DIR=str(tmp_path / "c"), CACHE_MAX_VALUE_BYTES="10")
    cache = get_cache()
    assert cache.backend.name == "file" and (tmp_path / "c").is_dir()
    await cache.set("docs", "k", "short")
    assert (await cache_stats()).entries == 1
    with pytest.raises(errors.ValidationFailed, match="CACHE_MAX_VALUE_BYTES"):
        await cache.set("docs", "k", "far longer than ten bytes")


async def test_an_unknown_backend_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, CACHE_BACKEND="memcached")
    with pytest.raises(errors.ValidationFailed, match="choose one of memory, redis, file, tiered"):
        get_cache()


async def test_redis_backends_need_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, CACHE_BACKEND="tiered")
    with pytest.raises(errors.ValidationFailed, match="CACHE_BACKEND=tiered needs REDIS_URL"):
        get_cache()


async def test_clear_and_optimize_work_on_the_configured_cache() -> None:
    await get_cache().set("ai", "a", 1)
    await get_cache().set("docs", "b", "x" * 50)
    assert [row.namespace for row in (await optimize_cache()).largest_namespaces] == ["docs", "ai"]
    assert (await clear_cache("ai")).removed == 1
    assert (await clear_cache(None)).removed == 1
    assert (await cache_stats()).entries == 0


async def test_ai_answers_live_in_the_ai_namespace() -> None:
    result = GenerateResult(text="hello", provider="builtin", model="m", usage=Usage(input_tokens=1, output_tokens=1))
    await answer_cache().put("abc", result, 60)
    stored = await get_cache().get("ai", "abc")
    assert isinstance(stored, dict) and stored["text"] == "hello"
    assert await answer_cache().get("abc") == result
