"""Whether each AI provider is set up here and, when asked, whether it answers right now.

A live check is one real, minimal call through the service (``max_tokens=1``, no cache, no
fallback), so it goes through the same retries, key handling and usage accounting as any call
and costs what one token costs. It is bounded by a timeout and never raises: a failure is
reported with the provider's own sentence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

from pydantic import BaseModel

from services import errors
from services.ai import service
from services.ai.base import GenerateRequest, ProviderInfo
from services.ai.registry import get_provider

log = logging.getLogger(__name__)

HealthStatus = Literal["configured", "not_configured", "ok", "error"]
CHECK_TIMEOUT_SECONDS = 15.0
_CHECK_REQUEST = GenerateRequest(prompt="Reply with one word: ok", max_tokens=1, temperature=0.0)


class ProviderHealth(BaseModel):
    """``configured``/``not_configured`` from settings alone; ``ok``/``error`` after a live call."""

    status: HealthStatus
    message: str = ""
    latency_ms: float | None = None


class ProviderStatus(ProviderInfo):
    """A provider's description with its health."""

    health: ProviderHealth


async def check_provider(name: str, *, timeout_seconds: float = CHECK_TIMEOUT_SECONDS) -> ProviderHealth:
    """A live one-token call to the provider ``name``; ``not_configured`` without calling when it is not set up."""
    if not get_provider(name).is_configured():
        return ProviderHealth(status="not_configured", message="Not configured on this server.")
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_seconds):
            await service.generate(_CHECK_REQUEST, provider=name, fallback=False, use_cache=False)
    except TimeoutError:
        return ProviderHealth(status="error", message=f"No answer within {timeout_seconds:g} s.")
    except errors.DomainError as failure:
        return ProviderHealth(status="error", message=failure.message)
    except Exception as exc:  # a health check reports every failure; it never raises
        log.warning("AI provider check of %s failed unexpectedly", name, exc_info=True)
        return ProviderHealth(status="error", message=f"{type(exc).__name__}: {exc}"[:300])
    return ProviderHealth(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 3))


async def provider_statuses(*, check: bool = False) -> list[ProviderStatus]:
    """Every registered provider with its models and health; ``check`` calls the configured ones, concurrently."""
    providers = service.list_providers()
    if check:
        healths = list(await asyncio.gather(*(check_provider(info.name) for info in providers)))
    else:
        healths = [ProviderHealth(status="configured" if info.configured else "not_configured")
                   for info in providers]
    return [ProviderStatus(**info.model_dump(), health=health) for info, health in zip(providers, healths, strict=True)]
