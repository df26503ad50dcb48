"""Answers to identical AI requests, kept for ``AI_CACHE_TTL_SECONDS`` in the cache service (namespace ``ai``).

The key is a SHA-256 of everything that shapes the answer (provider, model, system prompt,
prompt, messages, variables, temperature, max tokens). Where answers live follows
``CACHE_BACKEND``: this process's memory by default, shared through Redis (``tiered``) when
``REDIS_URL`` is set. A cache that fails (Redis down) is skipped: the call goes to the provider.
"""

from __future__ import annotations

import hashlib
import json
import logging

from pydantic import ValidationError

from services import errors
from services.ai.base import GenerateRequest, GenerateResult
from services.cache.service import get_cache

log = logging.getLogger(__name__)
NAMESPACE = "ai"


def request_key(provider: str, model: str, request: GenerateRequest) -> str:
    shape = {"provider": provider, "model": model, "system": request.system, "prompt": request.prompt,
             "messages": [message.model_dump() for message in request.messages], "variables": request.variables,
             "temperature": request.temperature, "max_tokens": request.max_tokens}
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()


class AnswerCache:
    """Generate results in and out of the ``ai`` namespace."""

    async def get(self, key: str) -> GenerateResult | None:
        value = await get_cache().get(NAMESPACE, key)
        if not isinstance(value, dict):
            return None
        try:
            return GenerateResult.model_validate(value)
        except ValidationError:  # written by an older version of the result model: a miss
            log.info("AI answer cache entry %s no longer fits the result model; ignoring it", key[:12])
            return None

    async def put(self, key: str, result: GenerateResult, ttl_seconds: int) -> None:
        try:
            await get_cache().set(NAMESPACE, key, result.model_dump(mode="json"), ttl=ttl_seconds)
        except errors.ValidationFailed as refused:  # larger than CACHE_MAX_VALUE_BYTES: answered, not kept
            log.info("AI answer not cached: %s", refused.message)


_answers = AnswerCache()


def answer_cache() -> AnswerCache:
    """The answer cache over the configured cache backend."""
    return _answers


def clear_memory_cache() -> None:
    """Forget the answers this process holds in memory (tests; a price or provider change)."""
    get_cache().drop_local(NAMESPACE)
