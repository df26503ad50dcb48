"""When to try a delivery again: the retry schedule, per channel.

The schedule is Svix's by default: an attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h,
10 h and 10 h (8 attempts over about a day). Which schedule a channel uses, first match wins:

1. its entry in ``NOTIFY_RETRY_SCHEDULES`` (``"sms=0,10,60;email=0,60,600,3600"``: the operator's);
2. the channel class's own ``retry_schedule`` (a channel whose provider asks for one);
3. ``NOTIFY_RETRY_SCHEDULE``, for every channel (default Svix's).

A provider's ``Retry-After`` wins when it asks for longer. Up to 10 % jitter spreads a burst of
failures so they do not all come back in the same second. Send rates live in ``rate_limits``.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from functools import lru_cache

from services import errors
from services.settings import get_settings

JITTER_FRACTION = 0.1
_CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]*")


def parse_schedule(raw: str, *, setting: str = "NOTIFY_RETRY_SCHEDULE") -> tuple[float, ...]:
    """``"0,5,300"`` → (0.0, 5.0, 300.0); the number of entries is the number of attempts."""
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise errors.ValidationFailed(f"{setting} must be comma-separated seconds, not {raw!r}.") from exc
    if not delays or any(delay < 0 for delay in delays):
        raise errors.ValidationFailed(f"{setting} needs at least one delay, none negative.")
    return delays


@lru_cache(maxsize=8)
def parse_schedules(raw: str) -> dict[str, tuple[float, ...]]:
    """``"sms=0,10;email=0,60,600"`` → {"sms": (0.0, 10.0), "email": (0.0, 60.0, 600.0)}."""
    schedules: dict[str, tuple[float, ...]] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        channel, sep, delays = part.partition("=")
        channel = channel.strip()
        if not sep or not _CHANNEL_NAME.fullmatch(channel):
            raise errors.ValidationFailed(
                f"NOTIFY_RETRY_SCHEDULES entry {part!r} must be like 'email=0,60,600' (';' between channels).")
        schedules[channel] = parse_schedule(delays, setting=f"NOTIFY_RETRY_SCHEDULES ({channel})")
    return schedules


def retry_schedule(channel: str | None = None) -> tuple[float, ...]:
    """The delays before each attempt of a delivery on ``channel`` (None: the global schedule)."""
    settings = get_settings()
    if channel is not None:
        from services.notifications.channels.registry import CHANNELS

        configured = parse_schedules(settings.notify_retry_schedules).get(channel)
        if configured is not None:
            return configured
        declared = getattr(CHANNELS.get(channel), "retry_schedule", None)
        if declared is not None:
            return tuple(declared)
    return parse_schedule(settings.notify_retry_schedule)


def max_attempts(channel: str | None = None) -> int:
    return len(retry_schedule(channel))


def next_retry_delay(attempts_made: int, retry_after: float | None = None, *,
                     schedule: tuple[float, ...] | None = None, channel: str | None = None) -> timedelta | None:
    """How long to wait before attempt ``attempts_made + 1``, or None when the schedule is used up."""
    schedule = schedule if schedule is not None else retry_schedule(channel)
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made]
    delay += delay * JITTER_FRACTION * random.random()  # noqa: S311  (spreading load, not security)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)
