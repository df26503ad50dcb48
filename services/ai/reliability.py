"""Retries of one provider and the order of providers to fall back on.

A retryable failure (429, 5xx, timeout) is retried ``AI_MAX_RETRIES`` times with exponential
backoff and full jitter from ``AI_RETRY_BASE_SECONDS``; a provider's ``Retry-After`` is honoured
when it asks for longer. A wait longer than ``AI_RETRY_MAX_WAIT_SECONDS`` is not sat out: the
failure goes up, and the caller moves on to the next provider of ``AI_FALLBACK_CHAIN``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.ai.base import AIProvider
from services.ai.errors import ProviderFailed
from services.ai.pricing import blended_price
from services.ai.registry import available_providers, get_provider
from services.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_delay(attempt: int, failure: ProviderFailed) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based)."""
    settings = get_settings()
    backoff = random.uniform(0, settings.ai_retry_base_seconds * 2 ** (attempt - 1))  # noqa: S311
    return max(backoff, failure.retry_after or 0.0)


async def with_retries(call: Callable[[], Awaitable[T]], provider: str) -> T:
    """``call()``, retried on retryable provider failures as the settings say."""
    settings = get_settings()
    attempt = 0
    while True:
        try:
            return await call()
        except ProviderFailed as failure:
            attempt += 1
            if not failure.retryable or attempt > settings.ai_max_retries:
                raise
            delay = retry_delay(attempt, failure)
            if delay > settings.ai_retry_max_wait_seconds:
                raise
            log.info("AI provider %s failed (%s); retry %d in %.2f s", provider, failure.message, attempt, delay)
            await asyncio.sleep(delay)


def fallback_chain() -> list[str]:
    """``AI_FALLBACK_CHAIN`` as provider names, unknown ones left out."""
    known = set(available_providers())
    names = [name.strip().lower() for name in get_settings().ai_fallback_chain.split(",")]
    return list(dict.fromkeys(name for name in names if name in known))


def fallbacks_after(first: AIProvider) -> list[AIProvider]:
    """The configured providers of the fallback chain, in its order, without ``first``."""
    providers = [get_provider(name) for name in fallback_chain() if name != first.name]
    return [provider for provider in providers if provider.is_configured()]


def free_alternatives(first: AIProvider) -> list[AIProvider]:
    """Configured providers whose default model costs nothing: language models (a local server)
    before builtin, each group in fallback-chain order, then registry order."""
    order = fallback_chain() + [name for name in available_providers() if name not in fallback_chain()]
    providers = [get_provider(name) for name in order if name != first.name]
    free = [provider for provider in providers
            if provider.is_configured() and blended_price(provider.name, provider.available_models()[0]) == 0]
    return sorted(free, key=lambda provider: not provider.is_language_model)
