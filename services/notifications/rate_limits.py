"""How fast each channel may send: ``NOTIFY_RATE_LIMITS="email=1/s,sms=30/m"``.

With ``REDIS_URL`` the limit holds for every process together (an SMTP relay allowing 1 message/s
sees 1 message/s however many workers send): each send reserves the next free slot of the
channel in Redis with one Lua script (GCRA, the token bucket as a "theoretical arrival time",
using Redis's clock so that process clocks need not agree) and sleeps until its slot. Without Redis,
or while it does not answer (``REDIS_TIMEOUT_SECONDS``; then Redis is tried again after
``RETRY_REDIS_AFTER_SECONDS``), the same schedule kept in this process stands in, so an outage stops no send.

A sender may say how long it can wait (``max_wait``: what is left of its claim's lease once the
send's own timeout is set aside). When the next free slot is further away than that, nothing is
reserved and the answer is how long until it: the sender puts the delivery back instead of waiting
past its lease (which would let the abandoned-send scan call a send that still goes out "unknown").
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
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

# KEYS[1]: the channel's theoretical arrival time (ms, Redis clock). ARGV: interval ms, burst, max wait ms (-1: any).
# Reserves the next slot and answers how many ms the caller waits for it (0: now); when that wait would be
# longer than the max, reserves nothing and answers minus the wait.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait < 0 then wait = 0 end
if max_wait >= 0 and wait > max_wait then return -wait end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return wait
"""


@dataclass
class LocalSchedule:
    """``rate`` sends per second with bursts of up to ``capacity``, for this process only: the same
    reservation as the Redis script (GCRA), on the monotonic clock. Nothing awaits while it decides."""

    rate: float
    capacity: float
    tat: float = 0.0  # theoretical arrival time of the next send (monotonic seconds)

    def reserve(self, max_wait: float = math.inf) -> float:
        """Reserve the next slot and return the seconds until it; ``-wait`` (nothing reserved) beyond ``max_wait``."""
        now, max_wait = time.monotonic(), max(0.0, max_wait)
        interval = 1.0 / self.rate
        new_tat = max(self.tat, now) + interval
        wait = max(0.0, new_tat - self.capacity * interval - now)
        if wait > max_wait:
            return -wait
        self.tat = new_tat
        return wait


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
def _buckets(raw: str) -> dict[str, LocalSchedule]:
    return {channel: LocalSchedule(rate=rate, capacity=burst_of(rate)) for channel, rate in
            parse_rate_limits(raw).items() if rate > 0}


async def reserve_shared_slot(channel: str, rate: float, max_wait: float = math.inf) -> float:
    """Reserve ``channel``'s next send slot in Redis; seconds to wait for it, or ``-wait`` (nothing reserved)
    when that is beyond ``max_wait``. Raises on a Redis failure."""
    client = get_redis()
    if client is None:
        raise RedisError("REDIS_URL is not set")
    interval_ms = max(1, round(1000 / rate))
    max_wait_ms = -1 if math.isinf(max_wait) else max(0, math.floor(max_wait * 1000))
    async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
        wait_ms = await client.eval(_RESERVE, 1, KEY_PREFIX + channel, interval_ms,  # type: ignore[misc]
                                    int(burst_of(rate)), max_wait_ms)
    return int(wait_ms) / 1000


@dataclass
class _SharedState:
    retry_at: float = 0.0  # monotonic time before which Redis is not tried (after a failure)


_shared = _SharedState()


async def wait_for_send_slot(channel: str, *, max_wait: float = math.inf) -> float | None:
    """Wait until ``channel``'s rate limit lets one more message out (no limit: at once) and return None;
    or, when that would take longer than ``max_wait`` seconds, return at once how many seconds it would
    take, having reserved nothing."""
    settings = get_settings()
    bucket = _buckets(settings.notify_rate_limits).get(channel)
    if bucket is None:
        return None
    wait: float | None = None
    if settings.redis_url and time.monotonic() >= _shared.retry_at:
        try:
            wait = await reserve_shared_slot(channel, bucket.rate, max_wait)
        except (RedisError, OSError, TimeoutError) as exc:
            _shared.retry_at = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
            log.warning("shared send rate of %s unavailable (%s); this process limits itself for %g s",
                        channel, exc or type(exc).__name__, RETRY_REDIS_AFTER_SECONDS)
    if wait is None:
        wait = bucket.reserve(max_wait)
    if wait < 0:
        return -wait
    if wait > 0:
        await asyncio.sleep(wait)
    return None
