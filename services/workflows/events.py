"""Live run events (step started/finished, run finished) for the builder and run pages.

Published in-process to local subscribers and, when ``REDIS_URL`` is set, over Redis pub/sub so
a browser connected to another replica sees them too. Publishing never blocks the engine: events
go onto a queue that a background task drains in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from services.observability.context import start_process_task
from services.redis_client import get_redis

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "dwc:run-events:"
ALL_RUNS = "*"
_SUBSCRIBE_WAIT_SECONDS = 2.0


class RunEventBus:
    """Fan-out of run events to subscribers in this process and, via Redis, in others."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._origin = uuid.uuid4().hex  # tells this process's own events apart on Redis

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` (which has a ``run_id``) to every subscriber; never waits."""
        self._deliver_locally(event)
        if get_redis() is None:
            return
        if self._outbox is None or self._publisher is None or self._publisher.done():
            self._outbox = asyncio.Queue()
            self._publisher = start_process_task(self._publish_to_redis(self._outbox), name="run-event-publisher")
        self._outbox.put_nowait(event)

    def _deliver_locally(self, event: dict[str, Any]) -> None:
        for key in (str(event.get("run_id")), ALL_RUNS):
            for queue in self._subscribers.get(key, ()):
                queue.put_nowait(event)

    async def _publish_to_redis(self, outbox: asyncio.Queue[dict[str, Any]]) -> None:
        redis = get_redis()
        if redis is None:
            return
        while True:
            batch = [await outbox.get()]
            while not outbox.empty() and len(batch) < 500:
                batch.append(outbox.get_nowait())
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for event in batch:
                        pipe.publish(CHANNEL_PREFIX + str(event["run_id"]),
                                     json.dumps({**event, "_origin": self._origin}, default=str))
                    await pipe.execute()
            except Exception:  # a live view missing an event must never fail a run
                log.warning("could not publish %d run events to Redis", len(batch), exc_info=True)

    @contextlib.asynccontextmanager
    async def subscribe(self, run_id: str = ALL_RUNS) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving the events of ``run_id`` (or of every run) while the block runs.

        With Redis, the block starts once Redis has confirmed the subscription (or after
        ``_SUBSCRIBE_WAIT_SECONDS`` when it does not answer), so a caller that reads the current state
        after entering misses nothing published by another process after that read.
        """
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers[run_id].add(queue)
        subscribed = asyncio.Event()
        listener = asyncio.get_running_loop().create_task(self._listen_redis(run_id, queue, subscribed))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscribed.wait(), _SUBSCRIBE_WAIT_SECONDS)
            yield queue
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
            self._subscribers[run_id].discard(queue)
            if not self._subscribers[run_id]:
                del self._subscribers[run_id]

    async def _listen_redis(self, run_id: str, queue: asyncio.Queue[dict[str, Any]], subscribed: asyncio.Event) -> None:
        redis = get_redis()
        if redis is None:
            subscribed.set()
            return
        pubsub = redis.pubsub()
        pattern = CHANNEL_PREFIX + run_id
        try:
            await pubsub.psubscribe(pattern)
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message.get("type") == "psubscribe":
                    subscribed.set()
                if message.get("type") != "pmessage":
                    continue
                event = json.loads(message["data"])
                if event.pop("_origin", None) != self._origin:  # local events were delivered already
                    queue.put_nowait(event)
        except Exception:  # the subscriber goes on with this process's events only
            log.warning("listening for %s events on Redis failed", pattern, exc_info=True)
            raise
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


_bus: RunEventBus | None = None


def get_event_bus() -> RunEventBus:
    global _bus
    if _bus is None:
        _bus = RunEventBus()
    return _bus
