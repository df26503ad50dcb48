"""``tiered``: this process's memory (L1) in front of Redis (L2), kept coherent over Redis pub/sub.

Reads try L1, then L2 (value and remaining TTL in one round trip) and copy what they find into
L1 for at most ``CACHE_L1_TTL_SECONDS``. Every write or invalidation goes to L2 and publishes a
message on ``dwc:cache:invalidate`` in the same pipeline; every other process's listener drops
its L1 copies of what the message names.

Coherence rules: L1 is filled only while this process is subscribed (a message sent before the
subscription would be missed); when the subscription is (re)established L1 is emptied (messages
sent while it was down are lost); a read that raced an invalidation does not fill L1. While
Redis is down L1 keeps answering for what it holds, for at most its TTL; misses stay misses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import uuid
from collections.abc import Sequence
from typing import Any, Self

from pydantic import BaseModel, Field

from services.cache.base import BackendReport, CacheBackend
from services.cache.memory import MemoryBackend, MemoryConfig
from services.cache.redis_backend import RedisBackend, RedisConfig, redis_config
from services.settings import Settings

log = logging.getLogger(__name__)
CHANNEL = "dwc:cache:invalidate"
_RESUBSCRIBE_MAX_SECONDS = 2.0


class TieredConfig(BaseModel):
    redis: RedisConfig
    l1: MemoryConfig = Field(default_factory=MemoryConfig)
    l1_ttl_seconds: float = Field(default=60.0, gt=0)


class TieredBackend(CacheBackend):
    name = "tiered"
    description = "Memory L1 in front of Redis L2; invalidations broadcast over Redis pub/sub."

    def __init__(self, config: TieredConfig) -> None:
        self.config = config
        self.l1 = MemoryBackend(config.l1)
        self.l2 = RedisBackend(config.redis)
        self.origin = uuid.uuid4().hex
        self.subscribed = False
        self.l1_hits = 0
        self.l2_hits = 0
        self.invalidations_received = 0
        self.listener_error = ""
        self._generation = 0  # bumped by every invalidation applied to L1
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(TieredConfig(redis=redis_config(settings),
                                l1=MemoryConfig(max_entries=settings.cache_memory_max_entries,
                                                max_bytes=settings.cache_memory_max_bytes),
                                l1_ttl_seconds=settings.cache_l1_ttl_seconds))

    async def get(self, namespace: str, key: str) -> bytes | None:
        self._ensure_listener()
        payload = self.l1.get_now(namespace, key)
        if payload is not None:
            self.l1_hits += 1
            return payload
        generation = self._generation
        payload, remaining = await self.l2.get_with_ttl(namespace, key)
        if payload is not None:
            self.l2_hits += 1
            if self.subscribed and generation == self._generation:
                self.l1.set_now(namespace, key, payload, ttl=self._l1_ttl(remaining))
        return payload

    async def set(self, namespace: str, key: str, payload: bytes, *, ttl: float | None,
                  tags: Sequence[str] = ()) -> None:
        self._ensure_listener()
        self.l1.delete_now(namespace, key)
        await self.l2.set(namespace, key, payload, ttl=ttl, tags=tags,
                          broadcast=self._message("keys", namespace, keys=[key]))
        if self.subscribed:
            self.l1.set_now(namespace, key, payload, ttl=self._l1_ttl(ttl), tags=tags)

    async def delete(self, namespace: str, key: str) -> bool:
        self._ensure_listener()
        self.l1.delete_now(namespace, key)
        return await self.l2.delete(namespace, key, broadcast=self._message("keys", namespace, keys=[key]))

    async def exists(self, namespace: str, key: str) -> bool:
        self._ensure_listener()
        if self.l1.get_now(namespace, key) is not None:
            return True
        return await self.l2.exists(namespace, key)

    async def invalidate_prefix(self, namespace: str, prefix: str) -> int:
        self._ensure_listener()
        self.l1.invalidate_prefix_now(namespace, prefix)
        removed = await self.l2.invalidate_prefix(namespace, prefix)
        await self.l2.publish(*self._message("prefix", namespace, prefix=prefix))
        return removed

    async def invalidate_tag(self, namespace: str, tag: str) -> int:
        self._ensure_listener()
        self.l1.invalidate_tag_now(namespace, tag)
        removed, keys = await self.l2.invalidate_tag_keys(namespace, tag)
        self.l1.remove_keys(namespace, keys)  # copies read from L2 carry no tags
        await self.l2.publish(*self._message("keys", namespace, keys=keys))
        return removed

    async def clear(self, namespace: str | None) -> int:
        self._ensure_listener()
        self.l1.clear_now(namespace)
        removed = await self.l2.clear(namespace)
        await self.l2.publish(*self._message("clear", namespace))
        return removed

    async def purge_expired(self) -> int:
        return await self.l1.purge_expired() + await self.l2.purge_expired()

    async def report(self) -> BackendReport:
        self._ensure_listener()
        report = await self.l2.report()
        problem = self.problem()
        if problem and report.status == "ok":
            report.status, report.last_error = "degraded", problem
        report.detail.update({
            "l1_entries": sum(item.entries for item in self.l1.usage()), "l1_hits": self.l1_hits,
            "l2_hits": self.l2_hits, "l1_evictions": self.l1.evictions, "subscribed": str(self.subscribed).lower(),
            "invalidations_received": self.invalidations_received})
        report.evictions = self.l1.evictions
        return report

    def problem(self) -> str:
        """Degraded while the listener, having lost its subscription, is not subscribed again (its first
        subscription at start-up is not a problem yet: L1 is simply not filled until then)."""
        if self._listener is not None and not self.subscribed and self.listener_error:
            return f"invalidation channel down: {self.listener_error}"
        return ""

    def drop_local(self, namespace: str) -> None:
        self.l1.clear_now(namespace)

    async def wait_until_listening(self, within_seconds: float = 5.0) -> bool:
        """Start the invalidation listener and wait until it is subscribed; whether it is within ``within_seconds``."""
        self._ensure_listener()
        try:
            async with asyncio.timeout(within_seconds):
                await self._listening.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self.subscribed = False
        await self.l2.close()

    def _l1_ttl(self, ttl: float | None) -> float:
        return min(ttl if ttl is not None else math.inf, self.config.l1_ttl_seconds)

    def _message(self, operation: str, namespace: str | None, **fields: Any) -> tuple[str, bytes]:
        body = {"origin": self.origin, "op": operation, "ns": namespace, **fields}
        return CHANNEL, json.dumps(body, separators=(",", ":")).encode()

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="cache-invalidation-listener")

    async def _listen(self) -> None:
        """Apply other processes' invalidations to L1; resubscribe (with back-off) whenever the connection drops."""
        delay = 0.1
        while True:
            pubsub = self.l2.client.pubsub()
            try:
                async with asyncio.timeout(max(1.0, self.l2.config.timeout_seconds * 4)):
                    await pubsub.subscribe(CHANNEL)
                    while (confirmation := await pubsub.get_message(timeout=1.0)) is None \
                            or confirmation["type"] != "subscribe":
                        pass
                self.l1.clear_now(None)  # whatever was published while we were not listening is lost
                self._generation += 1
                self.subscribed, delay = True, 0.1
                self._listening.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is not None and message["type"] == "message":
                        self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down or restarting: L1 keeps serving, we retry
                self.listener_error = f"{type(exc).__name__}: {exc}"[:200]
                log.debug("cache invalidation listener lost Redis: %s", self.listener_error)
            finally:
                self.subscribed = False
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RESUBSCRIBE_MAX_SECONDS)

    def _apply(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("origin") == self.origin:
            return
        namespace = message.get("ns")
        self._generation += 1
        self.invalidations_received += 1
        operation = message.get("op")
        if operation == "clear":
            self.l1.clear_now(namespace if isinstance(namespace, str) else None)
        elif not isinstance(namespace, str):
            return
        elif operation == "keys":
            self.l1.remove_keys(namespace, [key for key in message.get("keys", []) if isinstance(key, str)])
        elif operation == "prefix":
            self.l1.invalidate_prefix_now(namespace, str(message.get("prefix", "")))
