"""Live health checks of the channels: can this deployment reach the provider right now?

A check never sends a message. Email opens an SMTP session to the relay (EHLO, NOOP, QUIT);
SMS and push GET the provider base URL the operator configured (any HTTP answer means
reachable: the provider is up, whether or not that path exists). Channels whose addresses are
per-recipient URLs (webhook, Slack, Teams, Discord) have no endpoint of their own to check:
each send goes through the SSRF guard to the URL it was given, so they report ``configured``.
Every check is bounded by ``HEALTH_TIMEOUT_SECONDS`` and never raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Literal

import aiosmtplib
import httpx
from pydantic import BaseModel, Field

from services.net.clients import client_for

HEALTH_TIMEOUT_SECONDS = 3.0
HealthStatus = Literal["ok", "down", "configured", "not_configured"]


class ChannelHealth(BaseModel):
    """A channel's state: ``ok``/``down`` after a live check, ``configured`` when there is nothing to check."""

    status: HealthStatus
    latency_ms: float | None = None
    detail: str = ""
    checked_at: datetime | None = Field(default=None, description="When a live check ran; null without one.")


def not_configured(settings: str) -> ChannelHealth:
    return ChannelHealth(status="not_configured", detail=f"set {settings}")


async def timed_check(check: Awaitable[str]) -> ChannelHealth:
    """Run a probe returning a detail sentence; ``ok`` with its latency, or ``down`` with the reason."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            detail = await check
    except TimeoutError:
        return ChannelHealth(status="down", detail=f"no answer within {HEALTH_TIMEOUT_SECONDS:g} s",
                             checked_at=datetime.now(UTC))
    except Exception as exc:  # a health check reports every failure as a sentence
        return ChannelHealth(status="down", detail=f"{type(exc).__name__}: {exc}"[:300], checked_at=datetime.now(UTC))
    return ChannelHealth(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2), detail=detail,
                         checked_at=datetime.now(UTC))


async def smtp_reachable(host: str, port: int) -> str:
    """Open an SMTP session (no TLS, no login), EHLO, NOOP and QUIT; the server's greeting."""
    smtp = aiosmtplib.SMTP(hostname=host, port=port, timeout=HEALTH_TIMEOUT_SECONDS, start_tls=False,
                           use_tls=False)
    greeting = await smtp.connect()
    try:
        await smtp.ehlo()
        await smtp.noop()
    finally:
        await smtp.quit()
    return f"SMTP {host}:{port} answers: {greeting.code} {greeting.message.splitlines()[0][:80]}"


async def http_reachable(url: str) -> str:
    """GET the operator-configured provider ``url`` (not user input: no SSRF guard); any answer is reachable."""
    client = client_for(("notifications-health", HEALTH_TIMEOUT_SECONDS),
                        lambda: httpx.AsyncClient(timeout=HEALTH_TIMEOUT_SECONDS))
    response = await client.get(url)
    return f"{url} answers HTTP {response.status_code}"
