"""Counters and latency samples per namespace, and the reports built from them.

Counters are this process's (each app process counts its own calls); entries and bytes come from
the backend, so for Redis and file they cover every process. Get latency keeps the last
``LATENCY_SAMPLES`` gets per namespace: a bounded window, so percentiles follow recent traffic.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from services.cache.base import BackendReport, BackendStatus, NamespaceUsage

LATENCY_SAMPLES = 1024


@dataclass(slots=True)
class NamespaceCounters:
    hits: int = 0
    misses: int = 0
    sets: int = 0
    errors: int = 0
    get_ns: deque[int] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))


class NamespaceStats(BaseModel):
    """One namespace: this process's calls, and what the backend holds for it."""

    namespace: str
    hits: int
    misses: int
    hit_ratio: float | None = Field(description="hits / (hits + misses); null before any get.")
    sets: int
    errors: int
    get_p50_us: float | None
    get_p95_us: float | None
    entries: int
    bytes: int


class CacheStats(BaseModel):
    """The whole cache: backend, health, totals, and each namespace."""

    backend: str
    version: str = Field(default="", description="The store's server version (redis/tiered) or library (memory/file).")
    status: BackendStatus
    last_error: str
    hits: int
    misses: int
    hit_ratio: float | None
    sets: int
    evictions: int | None = Field(description="Entries pushed out to make room; null when the store does not say.")
    errors: int
    get_p50_us: float | None
    get_p95_us: float | None
    entries: int
    bytes: int
    namespaces: list[NamespaceStats]
    detail: dict[str, float | int | str] = Field(default_factory=dict)


class CacheProbe(BaseModel):
    """One timed read on the backend, as health checks see it, with this process's error count."""

    backend: str
    status: BackendStatus
    latency_ms: float | None = Field(description="Round trip of the probe read; null when it failed.")
    errors: int = Field(description="Backend failures this process has counted since start.")
    last_error: str


class NamespaceSize(BaseModel):
    namespace: str
    entries: int
    bytes: int


class OptimizeReport(BaseModel):
    """What ``optimize`` did: expired entries purged, and the namespaces holding the most bytes."""

    backend: str
    purged_expired: int
    largest_namespaces: list[NamespaceSize]
    took_ms: float


class ClearReport(BaseModel):
    namespace: str | None = Field(description="The namespace cleared; null means every namespace.")
    removed: int


def percentile(samples: list[int], fraction: float) -> float | None:
    """The ``fraction`` percentile of nanosecond samples, in microseconds (nearest rank)."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[rank] / 1000, 2)


def _ratio(hits: int, misses: int) -> float | None:
    return round(hits / (hits + misses), 4) if hits + misses else None


class StatsRecorder:
    """Per-namespace counters of one ``Cache``."""

    def __init__(self) -> None:
        self.namespaces: dict[str, NamespaceCounters] = {}
        self.errors = 0
        self.last_error = ""

    def counters(self, namespace: str) -> NamespaceCounters:
        counters = self.namespaces.get(namespace)
        if counters is None:
            counters = self.namespaces[namespace] = NamespaceCounters()
        return counters

    def error(self, namespace: str | None, message: str) -> None:
        self.errors += 1
        self.last_error = message
        if namespace is not None:
            self.counters(namespace).errors += 1

    def totals(self) -> tuple[int, int]:
        """Hits and misses over every namespace."""
        counters = list(self.namespaces.values())
        return sum(item.hits for item in counters), sum(item.misses for item in counters)

    def reset(self) -> None:
        self.namespaces.clear()
        self.errors = 0
        self.last_error = ""

    def build(self, backend: str, report: BackendReport) -> CacheStats:
        usage = {item.namespace: item for item in report.usage}
        names = sorted(set(usage) | set(self.namespaces))
        rows = [self._namespace_row(name, usage.get(name)) for name in names]
        samples = [sample for counters in self.namespaces.values() for sample in counters.get_ns]
        hits, misses = sum(row.hits for row in rows), sum(row.misses for row in rows)
        return CacheStats(
            backend=backend, version=report.version, status=report.status,
            last_error=report.last_error or self.last_error,
            hits=hits, misses=misses, hit_ratio=_ratio(hits, misses), sets=sum(row.sets for row in rows),
            evictions=report.evictions, errors=self.errors, get_p50_us=percentile(samples, 0.50),
            get_p95_us=percentile(samples, 0.95), entries=sum(row.entries for row in rows),
            bytes=sum(row.bytes for row in rows), namespaces=rows, detail=report.detail)

    def _namespace_row(self, name: str, usage: NamespaceUsage | None) -> NamespaceStats:
        counters = self.namespaces.get(name) or NamespaceCounters()
        samples = list(counters.get_ns)
        return NamespaceStats(namespace=name, hits=counters.hits, misses=counters.misses,
                              hit_ratio=_ratio(counters.hits, counters.misses), sets=counters.sets,
                              errors=counters.errors, get_p50_us=percentile(samples, 0.50),
                              get_p95_us=percentile(samples, 0.95), entries=usage.entries if usage else 0,
                              bytes=usage.bytes if usage else 0)
