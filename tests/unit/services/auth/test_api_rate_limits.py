"""ApiQuotas: fixed windows from the limits library, and a Redis outage degrades to per-process counting."""

from __future__ import annotations

import socket
import time

import pytest
from limits import parse
from pydantic import ValidationError

from services.auth.api_rate_limits import ApiQuotas
from services.settings import Settings


async def test_memory_quota_counts_per_identity_and_family() -> None:
    quotas = ApiQuotas({"reads": parse("2/minute"), "writes": parse("1/minute")})
    first = await quotas.hit("reads", "user:a")
    assert (first.allowed, first.limit, first.remaining) == (True, 2, 1)
    assert (await quotas.hit("reads", "user:a")).allowed
    third = await quotas.hit("reads", "user:a")
    assert not third.allowed and 1 <= third.retry_after <= 60
    assert (await quotas.hit("reads", "user:b")).allowed
    assert (await quotas.hit("writes", "user:a")).allowed


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_redis_falls_back_to_this_process_without_failing() -> None:
    quotas = ApiQuotas({"reads": parse("2/minute")}, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    started = time.monotonic()
    decisions = [await quotas.hit("reads", "user:a") for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert not quotas.shared  # it stopped asking Redis for a while instead of waiting on every request
    assert time.monotonic() - started < 5


def test_unknown_family_and_bad_notation_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown rate-limit families"):
        ApiQuotas({"everything": parse("1/second")})
    with pytest.raises(ValidationError, match="120/minute"):
        Settings(rate_limit_reads="lots")
