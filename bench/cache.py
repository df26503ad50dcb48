"""What the cache service costs per get and set, on every backend, beside its baseline in the same run.

* ``memory`` beside a plain dict (the floor of an in-process lookup);
* ``redis`` beside raw ``redis.asyncio`` GET/SET of the same payload (target: under 1.3x);
* ``tiered`` hits (served from L1) and writes (L2 write + invalidation broadcast, one pipeline);
* ``file`` (diskcache in a worker thread).

Each op is awaited one after another and timed alone; ops/s is ops over the loop's wall time.
The raw Redis baseline and the redis backend run in alternating rounds (``--rounds``), their
samples pooled, so load that drifts during the run (the machine is shared) falls on both alike.
Redis is database 15 on 127.0.0.1:6379 (the tests' database: it is flushed).

    .venv/bin/python bench/cache.py              # or: make bench
    .venv/bin/python bench/cache.py --quick      # smaller samples, same figures
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))

from pydantic import SecretStr  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from services.cache.cache import Cache, encode_value  # noqa: E402
from services.cache.file import FileBackend, FileConfig  # noqa: E402
from services.cache.memory import MemoryBackend, MemoryConfig  # noqa: E402
from services.cache.redis_backend import RedisBackend, RedisConfig  # noqa: E402
from services.cache.tiered import TieredBackend, TieredConfig  # noqa: E402
from tests.infra import REDIS_TEST_URL, reachable  # noqa: E402

KEYS = 1000


@dataclass
class Figure:
    backend: str
    operation: str
    ops_per_s: float
    p50_us: float
    p99_us: float

    @property
    def mean_us(self) -> float:
        return 1e6 / self.ops_per_s


@dataclass
class Samples:
    """Latencies (ns) and wall time of one (backend, operation), possibly over several rounds."""

    backend: str
    operation: str
    latencies: list[int]
    elapsed: float = 0.0

    def figure(self) -> Figure:
        ordered = sorted(self.latencies)
        return Figure(self.backend, self.operation, len(ordered) / self.elapsed, ordered[len(ordered) // 2] / 1000,
                      ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000)


async def sample(into: Samples, ops: int, call: Callable[[int], Awaitable[object]]) -> None:
    for index in range(min(ops, 200)):  # warm up connections and code paths
        await call(index)
    started = time.perf_counter()
    for index in range(ops):
        begin = time.perf_counter_ns()
        await call(index)
        into.latencies.append(time.perf_counter_ns() - begin)
    into.elapsed += time.perf_counter() - started


async def measure(backend: str, operation: str, ops: int, call: Callable[[int], Awaitable[object]]) -> Figure:
    samples = Samples(backend, operation, [])
    await sample(samples, ops, call)
    return samples.figure()


async def bench_cache(name: str, cache: Cache, value: dict[str, str], ops: int) -> list[Figure]:
    figures = [await measure(name, "set", ops, lambda i: cache.set("bench", f"k{i % KEYS}", value, ttl=600))]
    figures.append(await measure(name, "get", ops, lambda i: cache.get("bench", f"k{i % KEYS}")))
    await cache.close()
    return figures


async def bench_dict(value: dict[str, str], ops: int) -> list[Figure]:
    store: dict[str, object] = {}

    async def put(i: int) -> None:
        store[f"k{i % KEYS}"] = value

    async def get(i: int) -> object:
        return store.get(f"k{i % KEYS}")

    return [await measure("dict (baseline)", "set", ops, put), await measure("dict (baseline)", "get", ops, get)]


async def bench_redis_beside_raw(config: RedisConfig, value: dict[str, str], ops: int,
                                 rounds: int) -> list[Figure]:
    """Raw redis.asyncio SET/GET and the redis backend's set/get, in alternating rounds, samples pooled."""
    client = Redis.from_url(REDIS_TEST_URL)
    cache = Cache(RedisBackend(config), max_value_bytes=1 << 20)
    payload = encode_value(value)
    raw, ours = "raw redis.asyncio (baseline)", "redis"
    pooled = {(name, op): Samples(name, op, []) for name in (raw, ours) for op in ("set", "get")}
    per_round = max(1, ops // rounds)
    ratios = []
    for _ in range(rounds):
        before = {key: (len(item.latencies), item.elapsed) for key, item in pooled.items()}
        await sample(pooled[raw, "set"], per_round, lambda i: client.set(f"raw:k{i % KEYS}", payload, px=600_000))
        await sample(pooled[raw, "get"], per_round, lambda i: client.get(f"raw:k{i % KEYS}"))
        await sample(pooled[ours, "set"], per_round, lambda i: cache.set("bench", f"k{i % KEYS}", value, ttl=600))
        await sample(pooled[ours, "get"], per_round, lambda i: cache.get("bench", f"k{i % KEYS}"))
        spent = {key: item.elapsed - before[key][1] for key, item in pooled.items()}
        ratios.append(sum(spent[ours, op] for op in ("set", "get")) / sum(spent[raw, op] for op in ("set", "get")))
    print("redis overhead ratio per round: " + ", ".join(f"{ratio:.2f}" for ratio in ratios))
    await client.aclose()
    await cache.close()
    return [item.figure() for item in pooled.values()]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (CI, a quick look)")
    parser.add_argument("--ops", type=int, default=0, help="operations per figure (default 20000, quick 3000)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds of raw Redis and the redis backend")
    parser.add_argument("--value-bytes", type=int, default=200, help="size of the JSON value cached")
    args = parser.parse_args()
    ops = args.ops or (3000 if args.quick else 20000)
    value = {"text": "x" * args.value_bytes}
    figures = await bench_dict(value, ops)
    figures += await bench_cache("memory", Cache(MemoryBackend(MemoryConfig()), max_value_bytes=1 << 20), value, ops)
    with tempfile.TemporaryDirectory(prefix="dwc-bench-cache-") as directory:
        figures += await bench_cache("file", Cache(FileBackend(FileConfig(directory=Path(directory))),
                                                   max_value_bytes=1 << 20), value, ops)
    has_redis = reachable("127.0.0.1", 6379)
    if has_redis:
        flush = Redis.from_url(REDIS_TEST_URL)
        await flush.flushdb()
        config = RedisConfig(url=SecretStr(REDIS_TEST_URL))
        figures += await bench_redis_beside_raw(config, value, ops, max(1, args.rounds))
        tiered_backend = TieredBackend(TieredConfig(redis=config))
        assert await tiered_backend.wait_until_listening(), "the tiered invalidation listener did not subscribe"
        figures += await bench_cache("tiered", Cache(tiered_backend, max_value_bytes=1 << 20), value, ops)
        await flush.flushdb()
        await flush.aclose()
    else:
        print("Redis is not answering on 127.0.0.1:6379: redis and tiered skipped")

    print(f"\n{ops} sequential ops per figure, {args.value_bytes}-byte JSON value, {KEYS} keys")
    print(f"{'backend':<30} {'op':<4} {'ops/s':>10} {'p50 µs':>9} {'p99 µs':>9}")
    for figure in figures:
        print(f"{figure.backend:<30} {figure.operation:<4} {figure.ops_per_s:>10,.0f} {figure.p50_us:>9.1f} "
              f"{figure.p99_us:>9.1f}")
    by = {(figure.backend, figure.operation): figure for figure in figures}
    print()
    if has_redis:
        raw = statistics.fmean([by["raw redis.asyncio (baseline)", op].mean_us for op in ("get", "set")])
        ours = statistics.fmean([by["redis", op].mean_us for op in ("get", "set")])
        print(f"cache_redis_overhead_ratio={ours / raw:.2f}")
        # The same ratio from the medians: robust to the scheduler stalls of a shared machine (its p99s).
        raw_p50 = sum(by["raw redis.asyncio (baseline)", op].p50_us for op in ("get", "set"))
        print(f"cache_redis_overhead_ratio_p50={sum(by['redis', op].p50_us for op in ('get', 'set')) / raw_p50:.2f}")
        print(f"cache_redis_get_us_p50={by['redis', 'get'].p50_us:.1f}")
        print(f"cache_raw_redis_get_us_p50={by['raw redis.asyncio (baseline)', 'get'].p50_us:.1f}")
        print(f"cache_tiered_hit_us_p50={by['tiered', 'get'].p50_us:.1f}")
    print(f"cache_memory_get_us_p50={by['memory', 'get'].p50_us:.1f}")
    print(f"cache_dict_get_us_p50={by['dict (baseline)', 'get'].p50_us:.2f}")
    print(f"cache_file_get_us_p50={by['file', 'get'].p50_us:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
