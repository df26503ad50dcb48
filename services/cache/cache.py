"""``Cache``: the one interface callers use, above whichever backend is configured.

It validates names, encodes values (JSON or bytes) and refuses oversize ones, loads a missing
value once however many callers ask at the same moment (single-flight), counts hits, misses and
latency per namespace, and turns a backend outage into a miss or a skipped write: the cache can
make a call slower or cheaper, never make it fail.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import JsonValue

from services import errors
from services.cache.base import BackendUnavailable, CacheBackend
from services.cache.history import HitRatioHistory
from services.cache.stats import CacheProbe, CacheStats, ClearReport, NamespaceSize, OptimizeReport, StatsRecorder

log = logging.getLogger(__name__)

CacheValue = JsonValue | bytes
T = TypeVar("T")
Loader = Callable[[], Awaitable[CacheValue]]

NAMESPACE_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
TAG_PATTERN = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
MAX_KEY_CHARS = 512
_JSON, _BYTES = b"j", b"b"
_REMEMBERED_NAMESPACES = 1024
PROBE_NAMESPACE, PROBE_KEY = "health", "probe"  # never stored: a probe is a miss that reaches the store
# Built once: json.dumps with any non-default option builds a new encoder per call (~4 µs of a set).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_DECODER = json.JSONDecoder()
_VALID_NAMESPACES: set[str] = set()


def validate_namespace(namespace: str) -> str:
    """``namespace`` itself, or ``ValidationFailed`` saying what a namespace may look like."""
    if type(namespace) is str and namespace in _VALID_NAMESPACES:  # every get and set: skip the regex
        return namespace
    if not isinstance(namespace, str) or not NAMESPACE_PATTERN.fullmatch(namespace):
        raise errors.ValidationFailed(
            f"Cache namespace {namespace!r} is not valid: use 1-32 lowercase letters, digits, '_' or '-', "
            "starting with a letter (for example 'ai').", details={"field": "namespace"})
    if len(_VALID_NAMESPACES) < _REMEMBERED_NAMESPACES:
        _VALID_NAMESPACES.add(namespace)
    return namespace


def _validate_key(key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise errors.ValidationFailed(f"A cache key must be a string of 1-{MAX_KEY_CHARS} characters.",
                                      details={"field": "key"})


def _validate_tags(tags: Sequence[str]) -> None:
    for tag in tags:
        if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
            raise errors.ValidationFailed(
                f"Cache tag {tag!r} is not valid: use 1-128 letters, digits or '_.:/-'.", details={"field": "tags"})


def encode_value(value: CacheValue) -> bytes:
    """One kind byte, then the raw bytes or compact UTF-8 JSON."""
    if isinstance(value, bytes | bytearray | memoryview):
        return _BYTES + bytes(value)
    if value is None:
        raise errors.ValidationFailed("The cache does not store null: a miss already reads as None.",
                                      details={"field": "value"})
    try:
        return _JSON + _ENCODER.encode(value).encode()
    except (TypeError, ValueError) as exc:
        raise errors.ValidationFailed(f"The cache stores JSON values or bytes; this value is neither ({exc}).",
                                      details={"field": "value"}) from exc


def decode_value(payload: bytes) -> CacheValue:
    kind, body = payload[:1], payload[1:]
    if kind == _BYTES:
        return body
    return _DECODER.decode(body.decode())  # type: ignore[no-any-return]


class Cache:
    """Namespaced get/set/delete with TTLs, tags, single-flight loads and statistics over one backend."""

    def __init__(self, backend: CacheBackend, *, max_value_bytes: int, default_ttl: float | None = None) -> None:
        self.backend = backend
        self.max_value_bytes = max_value_bytes
        self.default_ttl = default_ttl
        self.stats_recorder = StatsRecorder()
        self.history = HitRatioHistory()
        self._inflight: dict[str, asyncio.Future[CacheValue]] = {}

    async def get(self, namespace: str, key: str) -> CacheValue | None:
        """The value, or ``None`` on a miss (absent, expired, or the backend unreachable)."""
        validate_namespace(namespace)
        _validate_key(key)
        counters = self.stats_recorder.counters(namespace)
        started = time.perf_counter_ns()
        try:
            payload = await self.backend.get(namespace, key)
        except BackendUnavailable as exc:
            self._failed(namespace, "get", exc)
            payload = None
        counters.get_ns.append(time.perf_counter_ns() - started)
        if payload is None:
            counters.misses += 1
            return None
        counters.hits += 1
        return decode_value(payload)

    async def set(self, namespace: str, key: str, value: CacheValue, *, ttl: float | None = None,
                  tags: Sequence[str] = ()) -> bool:
        """Store ``value`` for ``ttl`` seconds (the default TTL when ``None``); ``False`` when the write was skipped."""
        validate_namespace(namespace)
        _validate_key(key)
        _validate_tags(tags)
        payload = encode_value(value)
        if len(payload) - 1 > self.max_value_bytes:
            raise errors.ValidationFailed(
                f"The value for cache key '{namespace}:{key[:60]}' is {len(payload) - 1:,} bytes; the cache keeps "
                f"values up to {self.max_value_bytes:,} bytes (CACHE_MAX_VALUE_BYTES).",
                details={"field": "value", "bytes": len(payload) - 1, "limit": self.max_value_bytes})
        if ttl is not None and ttl <= 0:
            raise errors.ValidationFailed("A cache TTL must be more than 0 seconds (or None for the default).",
                                          details={"field": "ttl"})
        try:
            await self.backend.set(namespace, key, payload, ttl=ttl if ttl is not None else self.default_ttl,
                                   tags=tags)
        except BackendUnavailable as exc:
            self._failed(namespace, "set", exc)
            return False
        self.stats_recorder.counters(namespace).sets += 1
        return True

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove one entry; whether it was there (``False`` too when the backend is unreachable)."""
        validate_namespace(namespace)
        _validate_key(key)
        return await self._guarded(namespace, "delete", self.backend.delete(namespace, key), False)

    async def exists(self, namespace: str, key: str) -> bool:
        validate_namespace(namespace)
        _validate_key(key)
        return await self._guarded(namespace, "exists", self.backend.exists(namespace, key), False)

    async def get_or_set(self, namespace: str, key: str, loader: Loader, *, ttl: float | None = None,
                         tags: Sequence[str] = ()) -> CacheValue:
        """The cached value, or ``loader()``'s, stored; concurrent misses of one key in this process load once.

        A ``None`` from the loader is returned but not stored. A loader's exception reaches every waiter.
        """
        validate_namespace(namespace)
        _validate_key(key)
        full_key = f"{namespace}:{key}"
        while (pending := self._inflight.get(full_key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if pending.cancelled() and not (current and current.cancelling()):
                    continue  # the loading caller was cancelled, not us: load it ourselves
                raise
        future: asyncio.Future[CacheValue] = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = future
        try:
            value = await self.get(namespace, key)
            if value is None:
                value = await loader()
                if value is not None:
                    await self.set(namespace, key, value, ttl=ttl, tags=tags)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._inflight.get(full_key) is future:
                del self._inflight[full_key]

    async def invalidate_prefix(self, namespace: str, prefix: str) -> int:
        """Remove the namespace's entries whose key starts with ``prefix``; how many."""
        validate_namespace(namespace)
        return await self._guarded(namespace, "invalidate_prefix", self.backend.invalidate_prefix(namespace, prefix), 0)

    async def invalidate_tag(self, namespace: str, tag: str) -> int:
        """Remove the namespace's entries stored with ``tag``; how many."""
        validate_namespace(namespace)
        _validate_tags([tag])
        return await self._guarded(namespace, "invalidate_tag", self.backend.invalidate_tag(namespace, tag), 0)

    async def clear(self, namespace: str | None = None) -> ClearReport:
        """Remove one namespace, or everything when ``None``."""
        if namespace is not None:
            validate_namespace(namespace)
        removed = await self._guarded(namespace, "clear", self.backend.clear(namespace), 0)
        return ClearReport(namespace=namespace, removed=removed)

    def drop_local(self, namespace: str) -> None:
        """Forget this process's in-memory copies of a namespace (memory backend, tiered L1)."""
        self.backend.drop_local(validate_namespace(namespace))

    async def stats(self) -> CacheStats:
        """Counters of this process with the backend's health, entries and bytes."""
        return self.stats_recorder.build(self.backend.name, await self.backend.report())

    async def probe(self) -> CacheProbe:
        """Time one read of a key nobody stores, straight on the backend (hit/miss counters untouched).

        A failed probe counts as an error and reports ``degraded``; so does a backend that answers but
        names a problem of its own (tiered with its invalidation channel down).
        """
        started = time.perf_counter()
        try:
            await self.backend.get(PROBE_NAMESPACE, PROBE_KEY)
        except BackendUnavailable as exc:
            self._failed(None, "probe", exc)
            return CacheProbe(backend=self.backend.name, status="degraded", latency_ms=None,
                              errors=self.stats_recorder.errors, last_error=self.stats_recorder.last_error)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        problem = self.backend.problem()
        return CacheProbe(backend=self.backend.name, status="degraded" if problem else "ok", latency_ms=latency_ms,
                          errors=self.stats_recorder.errors, last_error=problem or self.stats_recorder.last_error)

    async def optimize(self, *, largest: int = 10) -> OptimizeReport:
        """Purge expired entries, then name the ``largest`` namespaces by bytes."""
        started = time.perf_counter()
        purged = await self._guarded(None, "optimize", self.backend.purge_expired(), 0)
        usage = sorted((await self.backend.report()).usage, key=lambda item: (-item.bytes, item.namespace))
        return OptimizeReport(backend=self.backend.name, purged_expired=purged,
                              largest_namespaces=[NamespaceSize(namespace=item.namespace, entries=item.entries,
                                                                bytes=item.bytes) for item in usage[:largest]],
                              took_ms=round((time.perf_counter() - started) * 1000, 3))

    async def close(self) -> None:
        await self.backend.close()

    async def _guarded(self, namespace: str | None, operation: str, call: Awaitable[T], fallback: T) -> T:
        try:
            return await call
        except BackendUnavailable as exc:
            self._failed(namespace, operation, exc)
            return fallback

    def _failed(self, namespace: str | None, operation: str, exc: BackendUnavailable) -> None:
        self.stats_recorder.error(namespace, f"{operation}: {exc}")
        log.debug("cache %s %s skipped: %s", self.backend.name, operation, exc)
