"""The contract every backend keeps, run on memory, file, redis and tiered (real Redis, database 15)."""

from __future__ import annotations

import asyncio

import pytest

from services import errors
from services.cache.cache import Cache
from tests.unit.services.cache.conftest import MAX_VALUE_BYTES


async def test_values_round_trip_as_json_or_bytes(cache: Cache) -> None:
    document = {"title": "Q3 report", "pages": [1, 2, 3], "score": 0.5, "draft": False, "tag": "é"}
    assert await cache.set("docs", "report", document)
    await cache.set("docs", "blob", b"\x00\xffraw")
    assert await cache.get("docs", "report") == document
    assert await cache.get("docs", "blob") == b"\x00\xffraw"
    assert await cache.exists("docs", "report") and not await cache.exists("docs", "absent")
    assert await cache.get("docs", "absent") is None
    assert await cache.delete("docs", "report") and not await cache.delete("docs", "report")
    assert await cache.get("docs", "report") is None


async def test_an_entry_expires_after_its_ttl(cache: Cache) -> None:
    await cache.set("docs", "short", "soon gone", ttl=0.3)
    await cache.set("docs", "long", "stays", ttl=30)
    assert await cache.get("docs", "short") == "soon gone"
    await asyncio.sleep(0.45)
    assert await cache.get("docs", "short") is None
    assert not await cache.exists("docs", "short")
    assert await cache.get("docs", "long") == "stays"


async def test_namespaces_keep_equal_keys_apart_and_clear_separately(cache: Cache) -> None:
    await cache.set("ai", "k", "answer")
    await cache.set("docs", "k", "document")
    assert (await cache.get("ai", "k"), await cache.get("docs", "k")) == ("answer", "document")
    assert (await cache.clear("ai")).removed == 1
    assert (await cache.get("ai", "k"), await cache.get("docs", "k")) == (None, "document")
    await cache.clear(None)
    assert await cache.get("docs", "k") is None


async def test_prefix_invalidation_removes_only_matching_keys(cache: Cache) -> None:
    for key in ("user:1:profile", "user:1:avatar", "user:12:profile", "team:1"):
        await cache.set("docs", key, key)
    assert await cache.invalidate_prefix("docs", "user:1:") == 2
    assert await cache.get("docs", "user:1:profile") is None and await cache.get("docs", "user:1:avatar") is None
    assert await cache.get("docs", "user:12:profile") == "user:12:profile"
    assert await cache.get("docs", "team:1") == "team:1"


async def test_prefix_with_glob_characters_is_taken_literally(cache: Cache) -> None:
    await cache.set("docs", "a*b", 1)
    await cache.set("docs", "axb", 2)
    assert await cache.invalidate_prefix("docs", "a*") == 1
    assert await cache.get("docs", "axb") == 2


async def test_tag_invalidation_removes_every_tagged_entry(cache: Cache) -> None:
    await cache.set("docs", "a", 1, tags=["workflow:7", "user:1"])
    await cache.set("docs", "b", 2, tags=["workflow:7"])
    await cache.set("docs", "c", 3, tags=["workflow:8"])
    await cache.set("ai", "a", 4, tags=["workflow:7"])  # same tag, other namespace
    assert await cache.invalidate_tag("docs", "workflow:7") == 2
    assert [await cache.get("docs", key) for key in ("a", "b", "c")] == [None, None, 3]
    assert await cache.get("ai", "a") == 4
    assert await cache.invalidate_tag("docs", "workflow:7") == 0


async def test_a_hundred_concurrent_misses_call_the_loader_once(cache: Cache) -> None:
    calls = 0

    async def load() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"rows": 42}

    results = await asyncio.gather(*(cache.get_or_set("reports", "monthly", load, ttl=30) for _ in range(100)))
    assert calls == 1
    assert all(result == {"rows": 42} for result in results)
    assert await cache.get("reports", "monthly") == {"rows": 42}
    assert await cache.get_or_set("reports", "monthly", load) == {"rows": 42} and calls == 1


async def test_a_failing_loader_fails_every_waiter_and_stores_nothing(cache: Cache) -> None:
    async def load() -> str:
        await asyncio.sleep(0.02)
        raise RuntimeError("source down")

    results = await asyncio.gather(*(cache.get_or_set("reports", "k", load) for _ in range(10)),
                                   return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert await cache.get("reports", "k") is None


async def test_an_oversize_value_is_refused_with_the_limit_named(cache: Cache) -> None:
    with pytest.raises(errors.ValidationFailed, match=r"keeps values up to 65,536 bytes \(CACHE_MAX_VALUE_BYTES\)"):
        await cache.set("docs", "big", b"x" * (MAX_VALUE_BYTES + 1))
    assert await cache.set("docs", "fits", b"x" * MAX_VALUE_BYTES)
    assert await cache.get("docs", "big") is None


@pytest.mark.parametrize("namespace", ["", "AI", "1st", "has space", "a:b", "x" * 33])
async def test_an_invalid_namespace_is_refused(cache: Cache, namespace: str) -> None:
    with pytest.raises(errors.ValidationFailed, match="namespace") as refused:
        await cache.set(namespace, "k", 1)
    assert refused.value.details == {"field": "namespace"}
    with pytest.raises(errors.ValidationFailed):
        await cache.get(namespace, "k")


async def test_values_that_are_not_json_or_bytes_are_refused(cache: Cache) -> None:
    with pytest.raises(errors.ValidationFailed, match="JSON values or bytes"):
        await cache.set("docs", "k", {"when": object()})  # type: ignore[dict-item]
    with pytest.raises(errors.ValidationFailed, match="null"):
        await cache.set("docs", "k", None)


async def test_stats_count_hits_misses_sets_and_report_usage(cache: Cache) -> None:
    await cache.set("docs", "a", "x" * 100)
    await cache.get("docs", "a")
    await cache.get("docs", "a")
    await cache.get("docs", "missing")
    stats = await cache.stats()
    assert (stats.status, stats.errors) == ("ok", 0)
    [docs] = [row for row in stats.namespaces if row.namespace == "docs"]
    assert (docs.hits, docs.misses, docs.sets, docs.hit_ratio) == (2, 1, 1, pytest.approx(2 / 3, abs=1e-3))
    assert docs.entries == 1 and docs.bytes == len('"' + "x" * 100 + '"')
    assert docs.get_p50_us is not None and docs.get_p95_us is not None and docs.get_p95_us >= docs.get_p50_us


async def test_optimize_purges_expired_entries_and_names_the_largest_namespaces(cache: Cache) -> None:
    await cache.set("small", "a", "x")
    await cache.set("large", "a", "y" * 5000)
    await cache.set("large", "gone", "z", ttl=0.1)
    await asyncio.sleep(0.2)
    report = await cache.optimize()
    assert [row.namespace for row in report.largest_namespaces] == ["large", "small"]
    assert report.largest_namespaces[0].entries == 1
    if cache.backend.name in ("memory", "file"):  # Redis expires keys itself
        assert report.purged_expired == 1
