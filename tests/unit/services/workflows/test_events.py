"""The run event bus across processes: two buses stand for two processes (each tells its own events
apart on Redis), so what one publishes reaches the other's subscribers only through Redis pub/sub."""

from __future__ import annotations

import asyncio
import json

import pytest

from services.redis_client import get_redis
from services.workflows.events import CHANNEL_PREFIX, RunEventBus

pytestmark = pytest.mark.redis


async def test_an_event_another_process_publishes_right_after_subscribing_is_not_missed(redis_url: str) -> None:
    event = {"type": "step", "run_id": "run-1", "node_id": "draft", "status": "running"}
    redis = get_redis()
    assert redis is not None
    async with RunEventBus().subscribe("run-1") as queue:
        # What another process's bus sends, with no pause: subscribe() returned once Redis confirmed.
        await redis.publish(CHANNEL_PREFIX + "run-1", json.dumps({**event, "_origin": "another-process"}))
        assert await asyncio.wait_for(queue.get(), 5) == event


async def test_without_redis_only_this_process_hears_its_events() -> None:
    watcher, other = RunEventBus(), RunEventBus()
    async with watcher.subscribe("run-2") as queue:
        other.publish({"type": "run", "run_id": "run-2", "status": "running"})
        watcher.publish({"type": "run", "run_id": "run-2", "status": "succeeded"})
        assert await asyncio.wait_for(queue.get(), 5) == {"type": "run", "run_id": "run-2", "status": "succeeded"}
        assert queue.empty()
