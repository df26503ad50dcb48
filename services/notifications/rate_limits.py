"""How fast each channel may send: ``NOTIFY_RATE_LIMITS="email=1/s,sms=30/m"``.

With ``REDIS_URL`` the limit holds for every process together (an SMTP relay allowing 1 message/s
sees 1 message/s however many workers send): each send reserves the next free slot of the
channel in Redis with one Lua script (GCRA, the token bucket as a "theoretical arrival time",
using Redis's clock so that process clocks need not agree) and sleeps until its slot. Without Redis,
or while it does not answer (``REDIS_TIMEOUT_SECONDS``; then Redis is tried again after
``RETRY_REDIS_AFTER_SECONDS``), a token bucket in this process stands in, so an outage stops no send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache

from redis.exceptions import RedisError

from services import errors
from services.redis_client import get_redis
from services.settings import get_settings

log = logging.getLogger(__name__)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
KEY_PREFIX = "dwc:notify:rate:"
REDIS_TIMEOUT_SECONDS = 0.5
RETRY_REDIS_AFTER_SECONDS = 5.0  # after a failure, the in-process bucket alone for this long (no timeout per send)

# KEYS[1]: the channel's theoretical arrival time (ms, Redis clock). ARGV: interval ms, burst.
# Reserves the next slot and answers how many ms the caller waits for it (0: now).
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return wait
"""


@dataclass
class TokenBucket:
    """``rate`` sends per second with bursts of up to ``capacity`` (this process only)."""

    rate: float
    capacity: float
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    async def acquire(self) -> None:
        """Wait until one send is allowed."""
        async with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.rate)
                self.tokens = 1.0
                self.updated = time.monotonic()
            self.tokens -= 1


def parse_rate_limits(raw: str) -> dict[str, float]:
    """``"email=1/s,sms=30/m"`` → {"email": 1.0, "sms": 0.5} (sends per second)."""
    limits: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            channel, rate = part.split("=", 1)
            count, _, unit = rate.partition("/")
            limits[channel.strip()] = float(count) / _UNITS[unit.strip() or "s"]
        except (ValueError, KeyError) as exc:
            raise errors.ValidationFailed(f"NOTIFY_RATE_LIMITS entry {part!r} is not like 'email=1/s'.") from exc
    return limits


def burst_of(rate: float) -> float:
    """Sends allowed at once: one second's worth, at least one."""
    return max(1.0, rate)


@lru_cache(maxsize=8)
def _buckets(raw: str) -> dict[str, TokenBucket]:
    return {channel: TokenBucket(rate=rate, capacity=burst_of(rate)) for channel, rate in
            parse_rate_limits(raw).items() if rate > 0}


async def reserve_shared_slot(channel: str, rate: float) -> float:
    """Reserve ``channel``'s next send slot in Redis; seconds to wait for it. Raises on a Redis failure."""
    client = get_redis()
    if client is None:
        raise RedisError("REDIS_URL is not set")
    interval_ms = max(1, round(1000 / rate))
    async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
        wait_ms = await client.eval(_RESERVE, 1, KEY_PREFIX + channel, interval_ms,  # type: ignore[misc]
                                    int(burst_of(rate)))
    return int(wait_ms) / 1000


@dataclass
class _SharedState:
    retry_at: float = 0.0  # monotonic time before which Redis is not tried (after a failure)


_shared = _SharedState()


async def wait_for_send_slot(channel: str) -> None:
    """Block until ``channel``'s rate limit lets one more message out (no limit: at once)."""
    settings = get_settings()
    bucket = _buckets(settings.notify_rate_limits).get(channel)
    if bucket is None:
        return
    if settings.redis_url and time.monotonic() >= _shared.retry_at:
        try:
            wait = await reserve_shared_slot(channel, bucket.rate)
        except (RedisError, OSError, TimeoutError) as exc:
            _shared.retry_at = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
            log.warning("shared send rate of %s unavailable (%s); this process limits itself for %g s",
                        channel, exc or type(exc).__name__, RETRY_REDIS_AFTER_SECONDS)
        else:
            if wait > 0:
                await asyncio.sleep(wait)
            return
    await bucket.acquire()
