"""Tiered across two processes: the other process's L1 copy is dropped when this one writes or invalidates."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from services.cache.cache import Cache, encode_value
from services.cache.redis_backend import value_key
from services.cache.tiered import TieredBackend, TieredConfig
from tests.infra import REDIS_TEST_URL, require_server
from tests.processes import stop_process_group
from tests.unit.services.cache.conftest import flush_test_redis, redis_config, wait_until_subscribed

pytestmark = pytest.mark.redis


class Reader:
    """The second process, driven line by line."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.unit.services.cache.tiered_reader",
                                         REDIS_TEST_URL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        start_new_session=True)
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        assert line, "the reader process ended early"
        return line

    def get(self, namespace: str, key: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"get {namespace} {key}\n".encode())
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._line())
        return answer

    def get_until(self, namespace: str, key: str, expected: object, timeout: float = 3.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (answer := self.get(namespace, key))["value"] != expected and time.monotonic() < deadline:
            time.sleep(0.02)
        return answer

    def hold(self, namespace: str, key: str, timeout: float = 3.0) -> dict[str, Any]:
        """Read until the answer comes from the reader's L1 (a first read can race this test's own broadcast)."""
        hits = self.get(namespace, key)["l1_hits"]
        deadline = time.monotonic() + timeout
        while (answer := self.get(namespace, key))["l1_hits"] == hits and time.monotonic() < deadline:
            hits = answer["l1_hits"]
        assert answer["l1_hits"] > hits, "the reader never served the key from its L1"
        return answer


@pytest.fixture
def reader() -> Iterator[Reader]:
    require_server("Redis", "127.0.0.1", 6379)
    process = Reader()
    yield process
    stop_process_group(process.process, grace_seconds=5)


@pytest.fixture
async def writer() -> AsyncIterator[Cache]:
    require_server("Redis", "127.0.0.1", 6379)
    await flush_test_redis()
    backend = TieredBackend(TieredConfig(redis=redis_config(), l1_ttl_seconds=300))
    await wait_until_subscribed(backend)
    cache = Cache(backend, max_value_bytes=1024 * 1024)
    yield cache
    await cache.close()
    await flush_test_redis()


async def test_another_process_drops_its_l1_copy_when_this_one_writes(writer: Cache, reader: Reader) -> None:
    await writer.set("docs", "report", "v1", ttl=300)
    held = reader.hold("docs", "report")  # read from L2, copied into the reader's L1, served from there
    assert held["value"] == "v1"

    # Changed in Redis behind the cache's back: the reader keeps serving its L1 copy.
    raw = Redis.from_url(REDIS_TEST_URL)
    await raw.set(value_key("docs", "report"), encode_value("v2"))
    await raw.aclose()
    assert reader.get("docs", "report")["value"] == "v1"

    await writer.set("docs", "report", "v3", ttl=300)  # publishes the invalidation
    answer = reader.get_until("docs", "report", "v3")
    assert answer["value"] == "v3" and answer["invalidations"] > held["invalidations"]


async def test_another_process_drops_copies_on_delete_prefix_tag_and_clear(writer: Cache, reader: Reader) -> None:
    await writer.set("docs", "gone", 1, ttl=300)
    await writer.set("docs", "user:1:a", 2, ttl=300)
    await writer.set("docs", "tagged", 3, ttl=300, tags=["workflow:9"])
    await writer.set("ai", "answer", 4, ttl=300)
    for namespace, key in (("docs", "gone"), ("docs", "user:1:a"), ("docs", "tagged"), ("ai", "answer")):
        held = reader.hold(namespace, key)

    await writer.delete("docs", "gone")
    assert reader.get_until("docs", "gone", None)["value"] is None
    await writer.invalidate_prefix("docs", "user:")
    assert reader.get_until("docs", "user:1:a", None)["value"] is None
    await writer.invalidate_tag("docs", "workflow:9")
    assert reader.get_until("docs", "tagged", None)["value"] is None
    await writer.clear("ai")
    answer = reader.get_until("ai", "answer", None)
    assert answer["value"] is None and answer["invalidations"] >= held["invalidations"] + 4
