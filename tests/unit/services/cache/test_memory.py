"""The memory backend's limits: least recently used entries go first, by count and by bytes."""

from __future__ import annotations

from services.cache.cache import Cache
from services.cache.memory import MemoryBackend, MemoryConfig


def memory_cache(max_entries: int = 1000, max_bytes: int = 1024 * 1024) -> Cache:
    return Cache(MemoryBackend(MemoryConfig(max_entries=max_entries, max_bytes=max_bytes)), max_value_bytes=64 * 1024)


async def test_past_the_entry_limit_the_least_recently_used_entry_is_evicted() -> None:
    cache = memory_cache(max_entries=3)
    for key in ("a", "b", "c"):
        await cache.set("docs", key, key)
    assert await cache.get("docs", "a") == "a"  # a is now the most recently used
    await cache.set("docs", "d", "d")
    assert [await cache.exists("docs", key) for key in ("a", "b", "c", "d")] == [True, False, True, True]
    assert (await cache.stats()).evictions == 1


async def test_past_the_byte_limit_old_entries_make_room() -> None:
    cache = memory_cache(max_bytes=4096)
    for index in range(6):
        await cache.set("docs", f"k{index}", b"x" * 1000)
    stats = await cache.stats()
    assert stats.bytes <= 4096 and stats.entries < 6
    assert stats.evictions == 6 - stats.entries
    assert await cache.get("docs", "k5") == b"x" * 1000
    assert await cache.get("docs", "k0") is None


async def test_an_evicted_entry_leaves_its_tags() -> None:
    cache = memory_cache(max_entries=1)
    await cache.set("docs", "a", 1, tags=["t"])
    await cache.set("docs", "b", 2, tags=["t"])  # evicts a
    assert await cache.invalidate_tag("docs", "t") == 1
    backend = cache.backend
    assert isinstance(backend, MemoryBackend) and backend._tags == {}


async def test_drop_local_forgets_one_namespace() -> None:
    cache = memory_cache()
    await cache.set("ai", "k", 1)
    await cache.set("docs", "k", 2)
    cache.drop_local("ai")
    assert (await cache.get("ai", "k"), await cache.get("docs", "k")) == (None, 2)
