"""The storage interface every cache backend implements, and what backends report.

A backend stores already-encoded payloads (bytes) under a namespace and a key, each with an
optional TTL and tags. Validation, encoding, the size cap, single-flight loading and hit/miss
statistics live once in :class:`services.cache.cache.Cache`, above every backend.

A backend that cannot reach its store (Redis down, disk locked) raises
:class:`BackendUnavailable` quickly; the ``Cache`` above turns that into a miss or a skipped
write, counts it and reports the backend as degraded. Backends never raise it for a plain miss.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self

from services.settings import Settings

BackendStatus = Literal["ok", "degraded"]


class BackendUnavailable(Exception):
    """The backend's store did not answer in time or failed; the operation did not happen."""


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    """How much one namespace holds in the backend."""

    namespace: str
    entries: int
    bytes: int


@dataclass(slots=True)
class BackendReport:
    """A backend's own view: health, what it holds, and counters only it can see."""

    status: BackendStatus = "ok"
    last_error: str = ""
    usage: list[NamespaceUsage] = field(default_factory=list)
    evictions: int | None = None  # None: the store does not say
    version: str = ""  # the store's server version, or the library holding the entries; "" when unknown
    detail: dict[str, float | int | str] = field(default_factory=dict)


class CacheBackend(ABC):
    """Storage primitives keyed by ``(namespace, key)``; ``ttl`` in seconds, ``None`` for no expiry."""

    name: ClassVar[str]
    description: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The backend configured by ``settings`` (its own pydantic config model built from them)."""

    @abstractmethod
    async def get(self, namespace: str, key: str) -> bytes | None:
        """The payload, or ``None`` when absent or expired."""

    @abstractmethod
    async def set(self, namespace: str, key: str, payload: bytes, *, ttl: float | None,
                  tags: Sequence[str] = ()) -> None:
        """Store ``payload``, replacing any previous one, and file it under each tag."""

    @abstractmethod
    async def delete(self, namespace: str, key: str) -> bool:
        """Remove one entry; whether it was there."""

    @abstractmethod
    async def exists(self, namespace: str, key: str) -> bool:
        """Whether a live entry is there."""

    @abstractmethod
    async def invalidate_prefix(self, namespace: str, prefix: str) -> int:
        """Remove every entry whose key starts with ``prefix``; how many."""

    @abstractmethod
    async def invalidate_tag(self, namespace: str, tag: str) -> int:
        """Remove every entry filed under ``tag``; how many."""

    @abstractmethod
    async def clear(self, namespace: str | None) -> int:
        """Remove one namespace, or everything this cache stored when ``None``; how many entries."""

    @abstractmethod
    async def purge_expired(self) -> int:
        """Drop entries whose TTL has passed (and index records pointing at nothing); how many."""

    @abstractmethod
    async def report(self) -> BackendReport:
        """Health, entries and bytes per namespace, evictions."""

    def problem(self) -> str:
        """A sentence when the backend serves but something it relies on is down (tiered: its invalidation
        channel); ``""`` otherwise. No I/O: health checks call it after a probe."""
        return ""

    def drop_local(self, namespace: str) -> None:  # noqa: B027 - only in-process backends hold copies
        """Forget copies held in this process's memory (the memory backend, tiered's L1); no I/O."""

    async def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections and background tasks."""
