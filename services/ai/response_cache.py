"""Answers to identical AI requests, kept for ``AI_CACHE_TTL_SECONDS``.

The key is a SHA-256 of everything that shapes the answer (provider, model, system prompt,
prompt, messages, variables, temperature, max tokens). Answers live in Redis when ``REDIS_URL``
is set, so every process shares them, and in a bounded in-process LRU otherwise. A cache that
fails (Redis down) is skipped: the call goes to the provider.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict

from services.ai.base import GenerateRequest, GenerateResult
from services.redis_client import get_redis
from services.settings import get_settings

log = logging.getLogger(__name__)
_PREFIX = "dwc:ai:answer:"
_MEMORY_ENTRIES = 2000


def request_key(provider: str, model: str, request: GenerateRequest) -> str:
    shape = {"provider": provider, "model": model, "system": request.system, "prompt": request.prompt,
             "messages": [message.model_dump() for message in request.messages], "variables": request.variables,
             "temperature": request.temperature, "max_tokens": request.max_tokens}
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()


class AnswerCache(ABC):
    @abstractmethod
    async def get(self, key: str) -> GenerateResult | None: ...

    @abstractmethod
    async def put(self, key: str, result: GenerateResult, ttl_seconds: int) -> None: ...


class MemoryAnswerCache(AnswerCache):
    """Least recently used answers of this process, each until its expiry."""

    def __init__(self, max_entries: int = _MEMORY_ENTRIES) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries

    async def get(self, key: str) -> GenerateResult | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, payload = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return GenerateResult.model_validate_json(payload)

    async def put(self, key: str, result: GenerateResult, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, result.model_dump_json())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class RedisAnswerCache(AnswerCache):
    """Answers shared by every process through Redis (``SET ... EX``)."""

    async def get(self, key: str) -> GenerateResult | None:
        redis = get_redis()
        if redis is None:
            return None
        try:
            payload = await redis.get(_PREFIX + key)
        except Exception:  # a cache outage must not fail the call
            log.warning("AI answer cache read failed; asking the provider", exc_info=True)
            return None
        return GenerateResult.model_validate_json(payload) if payload else None

    async def put(self, key: str, result: GenerateResult, ttl_seconds: int) -> None:
        redis = get_redis()
        if redis is None:
            return
        try:
            await redis.set(_PREFIX + key, result.model_dump_json(), ex=ttl_seconds)
        except Exception:
            log.warning("AI answer cache write failed", exc_info=True)


_memory = MemoryAnswerCache()
_redis = RedisAnswerCache()


def answer_cache() -> AnswerCache:
    """Redis when configured, this process's memory otherwise."""
    return _redis if get_settings().redis_url else _memory


def clear_memory_cache() -> None:
    """Forget this process's cached answers (tests; a price or provider change)."""
    _memory.clear()
