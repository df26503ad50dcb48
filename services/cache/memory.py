"""``memory``: this process's least recently used entries, bounded by count and by bytes.

Built on cachetools' ``TLRUCache`` (per-entry expiry, LRU order, size-aware). Nothing is shared
between processes: use ``tiered`` or ``redis`` when several processes must agree.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, Self

from cachetools import TLRUCache
from pydantic import BaseModel, Field

from services.cache.base import BackendReport, CacheBackend, NamespaceUsage
from services.package_versions import package_version
from services.settings import Settings

_ENTRY_OVERHEAD_BYTES = 64  # a rough per-entry cost of the key object, tuple and index slots


class MemoryConfig(BaseModel):
    max_entries: int = Field(default=10_000, ge=1)
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)


class _Entry(NamedTuple):
    payload: bytes
    expires: float  # time.monotonic() deadline, inf for none
    tags: tuple[str, ...]
    size: int


def _deadline(_key: str, entry: _Entry, _now: float) -> float:
    return entry.expires


def _size(entry: _Entry) -> float:
    return entry.size


class _Entries(TLRUCache[str, _Entry, float]):
    """A ``TLRUCache`` that tells its owner about every entry it drops (evicted or expired)."""

    def __init__(self, max_bytes: int, on_drop: Callable[[str, _Entry, bool], None]) -> None:
        super().__init__(max_bytes, _deadline, time.monotonic, _size)
        self._on_drop = on_drop

    def expire(self, time: float | None = None) -> list[tuple[str, _Entry]]:
        expired = super().expire(time)
        for key, entry in expired:
            self._on_drop(key, entry, False)
        return expired

    def popitem(self) -> tuple[str, _Entry]:
        key, entry = super().popitem()
        self._on_drop(key, entry, True)
        return key, entry


class MemoryBackend(CacheBackend):
    name = "memory"
    description = "This process's memory: LRU with entry and byte limits (cachetools)."

    def __init__(self, config: MemoryConfig | None = None) -> None:
        self.config = config or MemoryConfig()
        self._entries = _Entries(self.config.max_bytes, self._dropped)
        self._tags: dict[str, set[str]] = {}  # "namespace:tag" -> full keys
        self.evictions = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(MemoryConfig(max_entries=settings.cache_memory_max_entries,
                                max_bytes=settings.cache_memory_max_bytes))

    # The async methods only wrap these synchronous ones: tiered calls them without awaiting.
    def get_now(self, namespace: str, key: str) -> bytes | None:
        entry = self._entries.get(f"{namespace}:{key}")
        return entry.payload if entry is not None else None

    def set_now(self, namespace: str, key: str, payload: bytes, *, ttl: float | None, tags: Sequence[str] = ()) -> None:
        full_key = f"{namespace}:{key}"
        expires = time.monotonic() + ttl if ttl is not None else math.inf
        entry = _Entry(payload, expires, tuple(tags), len(payload) + len(full_key) + _ENTRY_OVERHEAD_BYTES)
        self.delete_now(namespace, key)
        if entry.size > self.config.max_bytes:
            return  # larger than the whole cache: not kept, like an immediate eviction
        self._entries[full_key] = entry
        for tag in entry.tags:
            self._tags.setdefault(f"{namespace}:{tag}", set()).add(full_key)
        while len(self._entries) > self.config.max_entries:
            self._entries.popitem()

    def delete_now(self, namespace: str, key: str) -> bool:
        full_key = f"{namespace}:{key}"
        entry = self._entries.pop(full_key, None)
        if entry is None:
            return False
        self._untag(full_key, entry)
        return True

    def invalidate_prefix_now(self, namespace: str, prefix: str) -> int:
        start = f"{namespace}:{prefix}"
        return self._remove([full_key for full_key in list(self._entries) if full_key.startswith(start)])

    def invalidate_tag_now(self, namespace: str, tag: str) -> int:
        return self._remove(list(self._tags.pop(f"{namespace}:{tag}", ())))

    def clear_now(self, namespace: str | None) -> int:
        if namespace is None:
            count = len(list(self._entries))  # iteration skips expired entries
            self._entries.clear()
            self._tags.clear()
            return count
        return self.invalidate_prefix_now(namespace, "")

    def remove_keys(self, namespace: str, keys: Sequence[str]) -> int:
        return self._remove([f"{namespace}:{key}" for key in keys])

    async def get(self, namespace: str, key: str) -> bytes | None:
        return self.get_now(namespace, key)

    async def set(self, namespace: str, key: str, payload: bytes, *, ttl: float | None,
                  tags: Sequence[str] = ()) -> None:
        self.set_now(namespace, key, payload, ttl=ttl, tags=tags)

    async def delete(self, namespace: str, key: str) -> bool:
        return self.delete_now(namespace, key)

    async def exists(self, namespace: str, key: str) -> bool:
        return f"{namespace}:{key}" in self._entries

    async def invalidate_prefix(self, namespace: str, prefix: str) -> int:
        return self.invalidate_prefix_now(namespace, prefix)

    async def invalidate_tag(self, namespace: str, tag: str) -> int:
        return self.invalidate_tag_now(namespace, tag)

    async def clear(self, namespace: str | None) -> int:
        return self.clear_now(namespace)

    async def purge_expired(self) -> int:
        return len(self._entries.expire())

    async def report(self) -> BackendReport:
        return BackendReport(usage=self.usage(), evictions=self.evictions, version=package_version("cachetools"),
                             detail={"max_entries": self.config.max_entries, "max_bytes": self.config.max_bytes})

    def usage(self) -> list[NamespaceUsage]:
        totals: dict[str, list[int]] = {}
        for full_key in list(self._entries):
            entry = self._entries.get(full_key)
            if entry is not None:
                row = totals.setdefault(full_key.split(":", 1)[0], [0, 0])
                row[0] += 1
                row[1] += len(entry.payload) - 1  # the kind byte is not the caller's data
        return [NamespaceUsage(namespace, entries, size) for namespace, (entries, size) in sorted(totals.items())]

    def drop_local(self, namespace: str) -> None:
        self.clear_now(namespace)

    def _remove(self, full_keys: list[str]) -> int:
        removed = 0
        for full_key in full_keys:
            entry = self._entries.pop(full_key, None)
            if entry is not None:
                self._untag(full_key, entry)
                removed += 1
        return removed

    def _dropped(self, full_key: str, entry: _Entry, evicted: bool) -> None:
        if evicted:
            self.evictions += 1
        self._untag(full_key, entry)

    def _untag(self, full_key: str, entry: _Entry) -> None:
        namespace = full_key.split(":", 1)[0]
        for tag in entry.tags:
            members = self._tags.get(f"{namespace}:{tag}")
            if members is not None:
                members.discard(full_key)
                if not members:
                    del self._tags[f"{namespace}:{tag}"]
