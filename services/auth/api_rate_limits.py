"""API request quotas per route family, counted per user (signed in) or per client IP (anonymous).

Fixed windows counted in the ``limits`` library's storages. With ``REDIS_URL`` the counters live in
Redis, so every replica shares them; without it they live in this process. When Redis stops
answering, this process counts alone for ``_REDIS_RETRY_SECONDS`` before trying Redis again: a
Redis outage degrades the quota to per-process, it never blocks or fails a request.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.errors import StorageError

from services.settings import Settings, get_settings

logger = logging.getLogger(__name__)

FAMILIES = ("auth", "reads", "writes", "execute", "ai", "hooks")
_REDIS_RETRY_SECONDS = 5.0
_KEY_PREFIX = "dwc:ratelimit"


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    """The answer for one request: allowed or not, and what the ``RateLimit-*`` headers say."""

    family: str
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the current window ends
    window_seconds: int

    @property
    def retry_after(self) -> int:
        return 0 if self.allowed else max(1, self.reset_seconds)


def parse_quota(family: str, text: str) -> RateLimitItem:
    """``"120/minute"`` (any ``limits`` notation) → a rate limit item; a sentence on bad input."""
    try:
        return parse(text)
    except ValueError as exc:
        msg = f"RATE_LIMIT_{family.upper()} must look like '120/minute' or '10 per second', not {text!r}"
        raise ValueError(msg) from exc


def quotas_from(settings: Settings) -> dict[str, RateLimitItem]:
    """Every family's quota as configured."""
    texts = {
        "auth": settings.rate_limit_auth, "reads": settings.rate_limit_reads, "writes": settings.rate_limit_writes,
        "execute": settings.rate_limit_execute, "ai": settings.rate_limit_ai, "hooks": settings.rate_limit_hooks,
    }
    return {family: parse_quota(family, text) for family, text in texts.items()}


def _redis_storage_uri(redis_url: str) -> str:
    scheme, _, rest = redis_url.partition("://")
    return f"async+{scheme}://{rest}"


class ApiQuotas:
    """Counts hits per (family, identity) and decides; shared through Redis when given a URL."""

    def __init__(self, quotas: dict[str, RateLimitItem], *, redis_url: str = "", key_prefix: str = _KEY_PREFIX) -> None:
        unknown = set(quotas) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown rate-limit families: {sorted(unknown)}")
        self.quotas = quotas
        self._memory: Storage = MemoryStorage()
        self._shared: Storage | None = None
        if redis_url:
            self._shared = RedisStorage(_redis_storage_uri(redis_url), implementation="redispy",
                                        wrap_exceptions=True, key_prefix=key_prefix,
                                        socket_timeout=0.25, socket_connect_timeout=0.25)
        self._redis_down_until = 0.0

    @property
    def shared(self) -> bool:
        """Whether counts are shared with other processes right now."""
        return self._shared is not None and time.monotonic() >= self._redis_down_until

    async def hit(self, family: str, identity: str) -> QuotaDecision:
        """Count one request of ``identity`` against ``family`` and say whether it may go on."""
        item = self.quotas[family]
        if self.shared:
            assert self._shared is not None
            try:
                return await self._decide(self._shared, item, family, identity)
            except StorageError as exc:
                logger.warning("rate limits: Redis unavailable (%s); counting in this process for %.0f s",
                               type(exc.storage_error).__name__, _REDIS_RETRY_SECONDS)
                self._redis_down_until = time.monotonic() + _REDIS_RETRY_SECONDS
        return await self._decide(self._memory, item, family, identity)

    @staticmethod
    async def _decide(storage: Storage, item: RateLimitItem, family: str, identity: str) -> QuotaDecision:
        # What FixedWindowRateLimiter.hit does (one INCR with expiry), keeping the count it returns,
        # so a request costs two round trips (INCR, TTL) instead of the strategy's three.
        key = item.key_for(family, identity)
        count = await storage.incr(key, item.get_expiry(), amount=1)
        reset = max(0, math.ceil(await storage.get_expiry(key) - time.time()))
        return QuotaDecision(family=family, allowed=count <= item.amount, limit=item.amount,
                             remaining=max(0, item.amount - count), reset_seconds=reset,
                             window_seconds=item.get_expiry())


def build_api_quotas(settings: Settings | None = None) -> ApiQuotas | None:
    """The quotas configured in settings, or ``None`` when ``RATE_LIMIT_ENABLED`` is off."""
    settings = settings or get_settings()
    if not settings.rate_limit_enabled:
        return None
    return ApiQuotas(quotas_from(settings), redis_url=settings.redis_url)
