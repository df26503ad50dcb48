"""Carrying "a delivery is due" to whatever sends it: asyncio tasks here, or worker processes via Redis.

A wake-up names no delivery: whoever runs it claims the most urgent due delivery in the database
(``priority_rank``, then due time). Priority therefore holds on Redis too, although saq's Redis
queue is first-in first-out (its ``priority`` field only works on its PostgreSQL backend). Notification
jobs share the run queue (``dwc-runs``), so ``make worker`` processes send them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import Any

from services.notifications.lookup import ChannelLookup, registry_channel
from services.settings import get_settings

log = logging.getLogger(__name__)
DELIVER_JOB = "deliver_notifications_job"
MAX_JOBS_PER_WAKE = 10
DELIVERIES_PER_JOB = 200
WAKE_TIMEOUT_SECONDS = 2.0


class DeliveryQueue(ABC):
    @abstractmethod
    async def wake(self, due: int = 1) -> None:
        """``due`` deliveries became due: make sure enough senders are working; returns at once."""

    @abstractmethod
    async def stop(self) -> None:
        """Release resources."""


class InProcessDeliveryQueue(DeliveryQueue):
    """Tasks of this process that send due deliveries until none is left, ``WORKER_CONCURRENCY`` sends at once.

    Each task claims a batch (``CLAIM_BATCH``) and sends it concurrently, so the number of tasks is
    the concurrency divided by the batch size.
    """

    def __init__(self, channels: ChannelLookup = registry_channel, *, concurrency: int | None = None) -> None:
        from services.notifications.delivery import CLAIM_BATCH

        self.channels = channels
        self.concurrency = concurrency or get_settings().worker_concurrency
        self.batch = min(CLAIM_BATCH, self.concurrency)
        self.senders = -(-self.concurrency // self.batch)
        self._tasks: set[asyncio.Task[None]] = set()
        self._more = False

    async def wake(self, due: int = 1) -> None:
        self._more = True
        for _ in range(min(-(-due // self.batch), self.senders - len(self._tasks))):
            task = asyncio.get_running_loop().create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        from services.notifications.delivery import deliver_due

        while True:
            self._more = False
            try:
                while await deliver_due(limit=self.batch, channels=self.channels):
                    pass
            except Exception:  # the maintenance loop wakes the delivery again
                log.exception("sending notifications failed")
                return
            if not self._more:  # a wake while we were finishing: look once more
                return

    async def drain(self) -> None:
        """Wait until nothing due is left to send (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


class RedisDeliveryQueue(DeliveryQueue):
    """Enqueues wake-up jobs on the shared saq queue; worker processes run ``deliver_notifications_job``."""

    def __init__(self, redis_url: str) -> None:
        from saq import Queue

        from services.workflows.runtime import QUEUE_NAME

        self.queue = Queue.from_url(redis_url, name=QUEUE_NAME)
        self._connected = False

    async def wake(self, due: int = 1) -> None:
        try:
            await asyncio.wait_for(self._enqueue_wakes(due), WAKE_TIMEOUT_SECONDS)
        except Exception as exc:  # Redis away: the deliveries wait in the database for the maintenance scan
            log.warning("could not wake a sender (%s); the maintenance scan will", type(exc).__name__)

    async def _enqueue_wakes(self, due: int) -> None:
        if not self._connected:
            await self.queue.connect()
            self._connected = True
        for _ in range(min(due, MAX_JOBS_PER_WAKE)):
            await self.queue.enqueue(DELIVER_JOB, timeout=0, retries=1)

    async def stop(self) -> None:
        if self._connected:
            with contextlib.suppress(Exception):
                await self.queue.disconnect()
            self._connected = False


async def deliver_notifications_job(_ctx: Any) -> int:
    """saq job: send due deliveries, most urgent first, until none is left (or a fair share is done)."""
    from services.notifications.delivery import deliver_due

    sent = 0
    while sent < DELIVERIES_PER_JOB and (attempted := await deliver_due()):
        sent += len(attempted)
    return sent


_queue: DeliveryQueue | None = None


def get_delivery_queue() -> DeliveryQueue:
    """The process's delivery queue: Redis when ``REDIS_URL`` is set, in-process otherwise."""
    global _queue
    if _queue is None:
        redis_url = get_settings().redis_url
        _queue = RedisDeliveryQueue(redis_url) if redis_url else InProcessDeliveryQueue()
    return _queue


def use_delivery_queue(queue: DeliveryQueue | None) -> None:
    """Install ``queue`` as the process's (a test's channel lookup; None forgets it)."""
    global _queue
    _queue = queue


async def reset_delivery_queue() -> None:
    global _queue
    if _queue is not None:
        await _queue.stop()
    _queue = None
