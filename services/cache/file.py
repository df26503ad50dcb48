"""``file``: entries on local disk (diskcache: SQLite index plus files), shared by this machine's processes.

diskcache is safe across processes and threads; its calls block, so each runs in a worker
thread. Tags are index entries (``t:<namespace>:<tag>`` → set of keys) updated inside a
diskcache transaction, so two processes tagging at once do not lose each other's keys.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

import diskcache
from pydantic import BaseModel, Field

from services.cache.base import BackendReport, BackendUnavailable, CacheBackend, NamespaceUsage
from services.package_versions import package_version
from services.settings import Settings

T = TypeVar("T")
_VALUES, _TAGS = "v:", "t:"
_USAGE_SCAN_LIMIT = 200_000


class FileConfig(BaseModel):
    directory: Path
    max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024 * 1024)
    lock_timeout_seconds: float = Field(default=2.0, gt=0, description="Longest wait for another process's write.")


class FileBackend(CacheBackend):
    name = "file"
    description = "Local disk (diskcache), shared by the processes of one machine."

    def __init__(self, config: FileConfig) -> None:
        self.config = config
        config.directory.mkdir(parents=True, exist_ok=True)
        self.store = diskcache.Cache(str(config.directory), size_limit=config.max_bytes,
                                     timeout=config.lock_timeout_seconds)
        self.failing = False
        self.last_error = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(FileConfig(directory=settings.resolved_cache_dir, max_bytes=settings.cache_file_max_bytes))

    async def get(self, namespace: str, key: str) -> bytes | None:
        payload = await self._run(self.store.get, f"{_VALUES}{namespace}:{key}")
        return payload if isinstance(payload, bytes) else None

    async def set(self, namespace: str, key: str, payload: bytes, *, ttl: float | None,
                  tags: Sequence[str] = ()) -> None:
        await self._run(self._set_sync, namespace, key, payload, ttl, tuple(tags))

    async def delete(self, namespace: str, key: str) -> bool:
        return bool(await self._run(self.store.delete, f"{_VALUES}{namespace}:{key}"))

    async def exists(self, namespace: str, key: str) -> bool:
        return bool(await self._run(self.store.__contains__, f"{_VALUES}{namespace}:{key}"))

    async def invalidate_prefix(self, namespace: str, prefix: str) -> int:
        return await self._run(self._delete_matching, f"{_VALUES}{namespace}:{prefix}")

    async def invalidate_tag(self, namespace: str, tag: str) -> int:
        return await self._run(self._invalidate_tag_sync, namespace, tag)

    async def clear(self, namespace: str | None) -> int:
        if namespace is None:
            await self._run(self._delete_matching, _TAGS)
            return await self._run(self._delete_matching, _VALUES)
        await self._run(self._delete_matching, f"{_TAGS}{namespace}:")
        return await self._run(self._delete_matching, f"{_VALUES}{namespace}:")

    async def purge_expired(self) -> int:
        return await self._run(self._purge_sync)

    async def report(self) -> BackendReport:
        try:
            usage = await self._run(self._usage_sync)
            volume = await self._run(self.store.volume)
        except BackendUnavailable as exc:
            return BackendReport(status="degraded", last_error=str(exc), version=package_version("diskcache"))
        return BackendReport(status="degraded" if self.failing else "ok", last_error=self.last_error,
                             usage=usage, version=package_version("diskcache"),
                             detail={"directory": str(self.config.directory), "disk_bytes": int(volume),
                                     "max_bytes": self.config.max_bytes})

    async def close(self) -> None:
        await asyncio.to_thread(self.store.close)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        try:
            result = await asyncio.to_thread(function, *args)
        except (diskcache.Timeout, sqlite3.Error, OSError) as exc:
            self.failing, self.last_error = True, f"{type(exc).__name__}: {exc}"[:200]
            raise BackendUnavailable(f"cache directory unusable ({self.last_error})") from exc
        self.failing = False
        return result

    def _set_sync(self, namespace: str, key: str, payload: bytes, ttl: float | None, tags: tuple[str, ...]) -> None:
        stored = f"{_VALUES}{namespace}:{key}"
        if not tags:
            self.store.set(stored, payload, expire=ttl)
            return
        with self.store.transact():
            self.store.set(stored, payload, expire=ttl)
            for tag in tags:
                index = f"{_TAGS}{namespace}:{tag}"
                members = self.store.get(index)
                keys = set(members) if isinstance(members, (set, frozenset, list)) else set()
                keys.add(key)
                self.store.set(index, keys)

    def _invalidate_tag_sync(self, namespace: str, tag: str) -> int:
        index = f"{_TAGS}{namespace}:{tag}"
        with self.store.transact():
            members = self.store.pop(index)
            keys = members if isinstance(members, (set, frozenset, list)) else ()
            return sum(1 for key in keys if self.store.delete(f"{_VALUES}{namespace}:{key}"))

    def _delete_matching(self, start: str) -> int:
        return sum(1 for stored in list(self._keys(start)) if self.store.delete(stored))

    def _keys(self, start: str) -> list[str]:
        return [stored for stored in self.store.iterkeys() if isinstance(stored, str) and stored.startswith(start)]

    def _purge_sync(self) -> int:
        purged = int(self.store.expire())
        for index in self._keys(_TAGS):  # tag entries whose keys all expired point at nothing
            namespace = index[len(_TAGS):].split(":", 1)[0]
            with self.store.transact():
                members = self.store.get(index)
                keys = set(members) if isinstance(members, (set, frozenset, list)) else set()
                live = {key for key in keys if f"{_VALUES}{namespace}:{key}" in self.store}
                if not live:
                    self.store.delete(index)
                elif live != keys:
                    self.store.set(index, live)
        return purged

    def _usage_sync(self) -> list[NamespaceUsage]:
        totals: dict[str, list[int]] = {}
        for seen, stored in enumerate(self._keys(_VALUES)):
            if seen >= _USAGE_SCAN_LIMIT:
                break
            payload = self.store.get(stored)
            if isinstance(payload, bytes):
                row = totals.setdefault(stored[len(_VALUES):].split(":", 1)[0], [0, 0])
                row[0] += 1
                row[1] += len(payload) - 1
        return [NamespaceUsage(namespace, entries, size) for namespace, (entries, size) in sorted(totals.items())]
