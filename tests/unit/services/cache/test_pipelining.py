"""The Redis backend's pipelining, proven on the wire: a tagged write, a tiered write (with its
invalidation broadcast) and a tiered L2 read each cost one round trip, counted by a relay in front
of a throwaway Redis; the server's ``INFO commandstats`` shows every command of the batch ran."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.cache.cache import Cache
from services.cache.redis_backend import RedisBackend
from services.cache.tiered import TieredBackend, TieredConfig
from tests.fakes.round_trip_relay import RoundTripRelay
from tests.processes import free_port, redis_server
from tests.unit.services.cache.conftest import redis_config, wait_until_subscribed

pytestmark = pytest.mark.redis


@pytest.fixture
async def server() -> AsyncIterator[tuple[RoundTripRelay, Redis]]:
    """A throwaway Redis (so its command counts are ours alone), a relay in front, and a direct client."""
    port = free_port()
    with redis_server(port):
        direct = Redis(port=port)
        async with RoundTripRelay(port) as relay:
            yield relay, direct
        await direct.aclose()


async def _calls(direct: Redis) -> dict[str, int]:
    stats = await direct.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


async def _counted(relay: RoundTripRelay, direct: Redis) -> None:
    """Start counting now: zero the relay and the server's command counts."""
    await direct.config_resetstat()
    relay.reset()


async def test_a_tagged_write_is_one_round_trip(server: tuple[RoundTripRelay, Redis]) -> None:
    relay, direct = server
    cache = Cache(RedisBackend(redis_config(f"redis://127.0.0.1:{relay.port}/0")), max_value_bytes=1024)
    assert await cache.get("docs", "warm") is None  # connect (the client's hello is not the write's cost)
    await _counted(relay, direct)
    assert await cache.set("docs", "report", {"pages": 3}, ttl=60, tags=["run:1", "workflow:7"]) is True
    assert relay.round_trips == 1
    calls = await _calls(direct)
    assert (calls["set"], calls["sadd"], calls["pexpire"]) == (1, 2, 4)  # value, two tags, two expiry rules each
    assert await direct.smembers("dwc:cache:t:docs:run:1") == {b"dwc:cache:v:docs:report"}
    relay.reset()  # the relay's baseline: calls not pipelined are one round trip each
    assert await cache.get("docs", "report") == {"pages": 3} and await cache.exists("docs", "report")
    assert relay.round_trips == 2
    await cache.close()


async def test_tiered_writes_with_their_broadcast_and_reads_l2_in_one_round_trip(
        server: tuple[RoundTripRelay, Redis]) -> None:
    relay, direct = server
    backend = TieredBackend(TieredConfig(redis=redis_config(f"redis://127.0.0.1:{relay.port}/0")))
    cache = Cache(backend, max_value_bytes=1024)
    await wait_until_subscribed(backend)
    assert await cache.get("docs", "warm") is None
    await _counted(relay, direct)
    assert await cache.set("docs", "report", "text", ttl=60, tags=["run:1"]) is True
    assert relay.round_trips == 1
    calls = await _calls(direct)
    assert (calls["set"], calls["sadd"], calls["publish"]) == (1, 1, 1)

    backend.drop_local("docs")  # the next read must go to L2
    await _counted(relay, direct)
    assert await cache.get("docs", "report") == "text"
    assert relay.round_trips == 1
    calls = await _calls(direct)
    assert (calls["get"], calls["pttl"]) == (1, 1)  # value and remaining TTL together
    assert await cache.get("docs", "report") == "text" and relay.round_trips == 1  # now an L1 hit: no trip
    await cache.close()
