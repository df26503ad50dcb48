"""A second process for the tiered-cache test: reads keys through its own tiered cache on command.

    python -m tests.unit.services.cache.tiered_reader REDIS_URL

Prints ``ready`` once its invalidation listener is subscribed, then for each ``get <namespace> <key>``
line on stdin prints one JSON line: the value, its L1 hits so far and invalidations received.
"""

from __future__ import annotations

import asyncio
import json
import sys

from pydantic import SecretStr

from services.cache.cache import Cache
from services.cache.redis_backend import RedisConfig
from services.cache.tiered import TieredBackend, TieredConfig


async def serve(url: str) -> None:
    backend = TieredBackend(TieredConfig(redis=RedisConfig(url=SecretStr(url)), l1_ttl_seconds=300))
    cache = Cache(backend, max_value_bytes=1024 * 1024)
    assert await backend.wait_until_listening(), "the invalidation listener did not subscribe"
    print("ready", flush=True)
    while line := (await asyncio.to_thread(sys.stdin.readline)).split():
        if line[0] == "get":
            value = await cache.get(line[1], line[2])
            print(json.dumps({"value": value, "l1_hits": backend.l1_hits,
                              "invalidations": backend.invalidations_received}), flush=True)
    await cache.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
