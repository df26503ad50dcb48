"""Per-channel send rates: shared by every process through Redis, each process alone without it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services import errors
from services.notifications import rate_limits
from services.redis_client import close_redis
from tests.processes import free_port
from tests.settings_env import SetEnv, settings_env

ROOT = Path(__file__).resolve().parents[4]
CHANNEL = "email"
# What another process does: reserve one slot of the same channel and print its wait in seconds.
OTHER_PROCESS = ("import asyncio; from services.notifications import rate_limits; "
                 "print(asyncio.run(rate_limits.reserve_shared_slot('email', 0.1)))")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetEnv]:
    yield from settings_env(monkeypatch, ["NOTIFY_RATE_LIMITS"])


@pytest.fixture
async def shared(redis_url: str, env: SetEnv) -> AsyncIterator[str]:
    client = Redis.from_url(redis_url)
    await client.delete(rate_limits.KEY_PREFIX + CHANNEL)
    rate_limits._shared.retry_at = 0.0
    rate_limits._buckets.cache_clear()
    yield redis_url
    await client.delete(rate_limits.KEY_PREFIX + CHANNEL)
    await client.aclose()
    await close_redis()
    rate_limits._buckets.cache_clear()


def test_rates_are_parsed_per_unit_and_a_bad_entry_is_refused() -> None:
    assert rate_limits.parse_rate_limits("email=1/s, sms=30/m,push=7200/h") == {"email": 1.0, "sms": 0.5,
                                                                               "push": 2.0}
    with pytest.raises(errors.ValidationFailed, match="'email=fast' is not like 'email=1/s'"):
        rate_limits.parse_rate_limits("email=fast")


async def test_the_shared_limit_spaces_sends_after_the_burst(shared: str) -> None:
    waits = [await rate_limits.reserve_shared_slot(CHANNEL, 2.0) for _ in range(5)]
    # a burst of two (one second's worth) at once, then one slot every 0.5 s, queued in order
    assert waits[:2] == [0.0, 0.0]
    assert [round(wait, 1) for wait in waits[2:]] == [0.5, 1.0, 1.5]


async def test_another_process_sees_the_slots_this_one_took(shared: str) -> None:
    for _ in range(3):  # one send per 10 s: slots now, +10 s and +20 s are taken
        await rate_limits.reserve_shared_slot(CHANNEL, 0.1)
    other = await asyncio.create_subprocess_exec(sys.executable, "-c", OTHER_PROCESS, cwd=ROOT,
                                                 env={**os.environ, "REDIS_URL": shared},
                                                 stdout=asyncio.subprocess.PIPE)
    output, _ = await asyncio.wait_for(other.communicate(), 60)
    assert other.returncode == 0
    assert 10.0 < float(output.decode().strip()) <= 30.0  # queued behind this process's slots, not a fresh burst


async def test_wait_for_send_slot_reserves_in_redis_when_it_is_configured(shared: str, env: SetEnv) -> None:
    env(NOTIFY_RATE_LIMITS="email=2/s", REDIS_URL=shared)
    for _ in range(2):
        await rate_limits.wait_for_send_slot(CHANNEL)
    assert 0.3 <= await rate_limits.reserve_shared_slot(CHANNEL, 2.0) <= 0.5  # the burst was taken in Redis
    bucket = rate_limits._buckets("email=2/s")[CHANNEL]
    assert bucket.tat == 0.0  # the process schedule was not used


async def test_with_redis_unreachable_the_process_bucket_limits_alone_and_redis_is_retried_later(
        env: SetEnv) -> None:
    rate_limits._shared.retry_at = 0.0
    rate_limits._buckets.cache_clear()
    env(NOTIFY_RATE_LIMITS="email=2/s", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        await rate_limits.wait_for_send_slot(CHANNEL)
        bucket = rate_limits._buckets("email=2/s")[CHANNEL]
        assert bucket.tat > 0  # the slot was taken in this process
        assert rate_limits._shared.retry_at > 0  # the next sends skip Redis instead of timing out each
        await rate_limits.wait_for_send_slot("sms")  # no limit for sms: at once, Redis not asked
    finally:
        await close_redis()
        rate_limits._shared.retry_at = 0.0
        rate_limits._buckets.cache_clear()


def test_a_local_slot_further_than_max_wait_is_not_reserved() -> None:
    schedule = rate_limits.LocalSchedule(rate=1.0, capacity=1.0)
    assert schedule.reserve() == 0.0
    taken = schedule.tat
    assert schedule.reserve(max_wait=0.5) == pytest.approx(-1.0, abs=0.05)  # a second away: refused
    assert schedule.tat == taken
    assert schedule.reserve() == pytest.approx(1.0, abs=0.05)  # the refused one took nothing


async def test_a_shared_slot_further_than_max_wait_is_not_reserved(shared: str) -> None:
    assert await rate_limits.reserve_shared_slot(CHANNEL, 1.0) == 0.0
    assert await rate_limits.reserve_shared_slot(CHANNEL, 1.0, max_wait=0.5) == pytest.approx(-1.0, abs=0.05)
    assert await rate_limits.reserve_shared_slot(CHANNEL, 1.0) == pytest.approx(1.0, abs=0.05)


async def test_wait_for_send_slot_answers_how_long_instead_of_waiting_past_max_wait(env: SetEnv) -> None:
    env(NOTIFY_RATE_LIMITS="email=1/m")
    assert await rate_limits.wait_for_send_slot(CHANNEL, max_wait=1.0) is None  # the burst: at once
    retry_in = await rate_limits.wait_for_send_slot(CHANNEL, max_wait=1.0)
    assert retry_in is not None and 59.0 <= retry_in <= 60.0
