"""What a failed HTTP answer tells callers of external APIs: when to try again, and text safe to show.

Shared by AI providers and notification channels, so each maps failures the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), when sent."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def redacted(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` replaced, so a provider's message never repeats a key."""
    return text.replace(secret, "[redacted]") if secret else text
