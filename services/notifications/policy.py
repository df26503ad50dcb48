"""When to try a delivery again, and how fast each channel may send.

The retry schedule is Svix's by default: an attempt at once, then after 5 s, 5 min, 30 min, 2 h,
5 h, 10 h and 10 h (8 attempts over about a day). ``NOTIFY_RETRY_SCHEDULE`` replaces it. A
provider's ``Retry-After`` wins when it asks for longer. Up to 10 % jitter spreads a burst of
failures so they do not all come back in the same second.

Send rates (``NOTIFY_RATE_LIMITS="email=1/s,sms=30/m"``) are token buckets in this process: with
several workers each one may send at the full rate. A shared (Redis) bucket is the next step.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from services import errors
from services.settings import get_settings

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
JITTER_FRACTION = 0.1


def parse_schedule(raw: str) -> tuple[float, ...]:
    """``"0,5,300"`` → (0.0, 5.0, 300.0); the number of entries is the number of attempts."""
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise errors.ValidationFailed(f"NOTIFY_RETRY_SCHEDULE must be comma-separated seconds, not {raw!r}.") from exc
    if not delays or any(delay < 0 for delay in delays):
        raise errors.ValidationFailed("NOTIFY_RETRY_SCHEDULE needs at least one delay, none negative.")
    return delays


def retry_schedule() -> tuple[float, ...]:
    return parse_schedule(get_settings().notify_retry_schedule)


def max_attempts() -> int:
    return len(retry_schedule())


def next_retry_delay(attempts_made: int, retry_after: float | None = None, *,
                     schedule: tuple[float, ...] | None = None) -> timedelta | None:
    """How long to wait before attempt ``attempts_made + 1``, or None when the schedule is used up."""
    schedule = schedule if schedule is not None else retry_schedule()
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made]
    delay += delay * JITTER_FRACTION * random.random()  # noqa: S311  (spreading load, not security)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


@dataclass
class TokenBucket:
    """``rate`` sends per second with bursts of up to ``capacity``."""

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


@lru_cache(maxsize=8)
def _buckets(raw: str) -> dict[str, TokenBucket]:
    return {channel: TokenBucket(rate=rate, capacity=max(1.0, rate)) for channel, rate in
            parse_rate_limits(raw).items() if rate > 0}


async def wait_for_send_slot(channel: str) -> None:
    """Block until ``channel``'s rate limit lets one more message out (no limit: at once)."""
    bucket = _buckets(get_settings().notify_rate_limits).get(channel)
    if bucket is not None:
        await bucket.acquire()
