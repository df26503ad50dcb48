"""What the AI service adds to a call on top of the official SDK, and what a cached answer costs.

Every figure is measured side by side with its baseline in the same run, against the loopback
server that speaks the OpenAI chat-completions wire protocol (``tests/fakes/openai_server.py``):

* per-call overhead: ``services.ai.service.generate(provider="openai", use_cache=False)`` (input
  checks, budget check, retries wrapper, the provider's SDK client, price lookup, one ``AIUsage``
  row in a migrated SQLite database) against ``chat.completions.create`` on one reused
  ``openai.AsyncOpenAI(max_retries=0)`` with the same messages, the two calls alternating;
* cache hits: the same ``generate`` call answered from the in-process answer cache (and from
  Redis database 15 on 127.0.0.1:6379, the tests' database, which is flushed, when it answers),
  usage row included.

    .venv/bin/python bench/ai.py              # or: make bench
    .venv/bin/python bench/ai.py --quick      # smaller samples, same figures
    .venv/bin/python bench/ai.py --profile    # also a cProfile of the service's call path
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))
for _name in ("DATABASE_URL", "REDIS_URL", "AI_FALLBACK_CHAIN", "AI_PRICES_FILE", "AI_BUDGET_PER_USER_DAILY_USD",
              "AI_BUDGET_PER_RUN_USD"):
    os.environ.pop(_name, None)
os.environ["AI_CACHE_TTL_SECONDS"] = "3600"
os.environ["OPENAI_API_KEY"] = "sk-bench-not-a-real-key"

import openai  # noqa: E402
from openai.types.chat import ChatCompletionMessageParam  # noqa: E402

from services.ai import service  # noqa: E402
from services.ai.base import GenerateRequest  # noqa: E402
from services.ai.response_cache import clear_memory_cache  # noqa: E402
from services.db import dispose_engine  # noqa: E402
from services.redis_client import close_redis  # noqa: E402
from services.settings import get_settings  # noqa: E402
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402
from tests.infra import REDIS_TEST_URL, migrate, reachable  # noqa: E402

MODEL = "gpt-4o-mini"
REQUEST = GenerateRequest(system="You are a terse assistant.", model=MODEL, temperature=0.2, max_tokens=64,
                          prompt="Summarise the quarterly report on regional sales in three short sentences")
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "system", "content": REQUEST.system},
                                              {"role": "user", "content": REQUEST.prompt}]

Call = Callable[[], Awaitable[Any]]


async def configure(*, database_url: str, base_url: str, redis_url: str = "") -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["OPENAI_BASE_URL"] = base_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    get_settings.cache_clear()
    await dispose_engine()
    await close_redis()


async def elapsed_ms(call: Call) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def interleaved(calls: dict[str, Call], samples: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds per call of each of ``calls``, taken in turn (order rotated each round) after warm-up."""
    for _ in range(warmup):
        for call in calls.values():
            await call()
    timings: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for round_number in range(samples):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            timings[name].append(await elapsed_ms(calls[name]))
    return timings


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def report(label: str, values: list[float]) -> None:
    print(f"  {label:<34} p50 {p50(values):7.3f} ms   p90 {p90(values):7.3f} ms   ({len(values)} calls)")


async def service_generate() -> None:
    await service.generate(REQUEST, provider="openai", use_cache=False)


async def cached_generate() -> None:
    result = await service.generate(REQUEST, provider="openai", use_cache=True)
    assert result.cached, "the answer should have come from the cache"


async def profile_service(calls: int) -> None:
    """cProfile of ``calls`` uncached service calls, by cumulative time, trimmed to the top entries."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await service_generate()
    profiler.disable()
    print(f"\ncProfile of {calls} service calls (cumulative, top 30):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)


async def main(quick: bool, profile: bool) -> None:
    samples, warmup = (30, 5) if quick else (200, 20)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dwc-bench-ai-") as folder, FakeOpenAIServer() as server:
        sqlite_url = f"sqlite:///{folder}/bench.db"
        migrate(sqlite_url)
        await configure(database_url=sqlite_url, base_url=server.base_url)
        sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-bench-not-a-real-key", max_retries=0)

        async def sdk_create() -> None:
            await sdk.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=REQUEST.temperature,
                                              max_tokens=REQUEST.max_tokens)

        clear_memory_cache()
        await service.generate(REQUEST, provider="openai")  # fills the memory cache for the hits below
        print(f"AI calls against the loopback OpenAI server, SQLite usage rows (median of {samples}, interleaved)")
        timings = await interleaved({"sdk": sdk_create, "service": service_generate, "memory": cached_generate},
                              samples, warmup)
        report("SDK, one reused client", timings["sdk"])
        report("service.generate, cache off", timings["service"])
        report("service.generate, memory cache hit", timings["memory"])
        figures["ai_cache_hit_ms_p50"] = p50(timings["memory"])
        figures["ai_overhead_ms_per_call"] = p50(timings["service"]) - p50(timings["sdk"])
        figures["ai_overhead_ratio_vs_sdk"] = p50(timings["service"]) / p50(timings["sdk"])

        if reachable("127.0.0.1", 6379):
            import redis

            redis.Redis.from_url(REDIS_TEST_URL).flushdb()
            await configure(database_url=sqlite_url, base_url=server.base_url, redis_url=REDIS_TEST_URL)
            await service.generate(REQUEST, provider="openai")  # fills the Redis cache
            timings = await interleaved({"sdk": sdk_create, "redis": cached_generate}, samples, warmup)
            report("SDK, one reused client (again)", timings["sdk"])
            report("service.generate, Redis cache hit", timings["redis"])
            figures["ai_cache_hit_ms_p50_redis"] = p50(timings["redis"])
            await configure(database_url=sqlite_url, base_url=server.base_url)
        else:
            print("Redis is not answering on 127.0.0.1:6379: skipping the Redis cache figure")

        if profile:
            await profile_service(samples)
        await sdk.close()
        await close_redis()
        await dispose_engine()
    print()
    for name, value in figures.items():
        print(f"{name}={value:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 samples instead of 200 (seconds, not a minute)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the service's call path")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.quick, arguments.profile))
