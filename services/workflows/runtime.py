"""Where runs execute: in this process (the embedded default) or in worker processes fed by Redis.

``InProcessDispatcher`` runs each enqueued run as an asyncio task. ``QueueDispatcher`` puts the
run id on a saq queue in Redis (saq blocks on BLMOVE instead of polling, so a worker starts a run
milliseconds after it is enqueued); ``services.workflows.worker`` processes execute them. Either
way the database decides who runs what: a worker must claim the run's row, so a run dispatched
twice still executes once. A maintenance loop re-dispatches runs the queue lost (Redis restarted
or flushed) and runs whose worker died (lease expired), and fires due cron schedules and analytics reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from abc import ABC, abstractmethod
from typing import Any

from services.analytics.hooks import record_run_finished
from services.analytics.recorder import flush_events
from services.db import get_engine
from services.settings import get_settings
from services.workflows.engine import EngineOptions, execute_run
from services.workflows.events import get_event_bus
from services.workflows.run_store import RunStore

log = logging.getLogger(__name__)
QUEUE_NAME = "dwc-runs"
RECOVER_QUEUED_AFTER_SECONDS = 30.0
MAINTENANCE_INTERVAL_SECONDS = 1.0
JOB_HEARTBEAT_SECONDS = 60


def worker_identity(kind: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{kind}:{uuid.uuid4().hex[:6]}"


class Dispatcher(ABC):
    """Carries run ids to whatever executes them."""

    @abstractmethod
    async def enqueue(self, run_id: uuid.UUID, *, claims: int = 0) -> None:
        """Hand the run over for execution; returns at once.

        ``claims`` is how many times the run has been claimed so far. A queue uses it to tell a
        repeated dispatch of the same pending run (dropped) from a dispatch after a worker died
        holding it (kept, although the dead worker's job is still marked active).
        """

    @abstractmethod
    async def stop(self) -> None:
        """Release resources (tasks, connections)."""


class InProcessDispatcher(Dispatcher):
    """Executes runs as asyncio tasks of this process, at most ``WORKER_CONCURRENCY`` at once."""

    def __init__(self) -> None:
        self.options = EngineOptions.from_settings(worker_identity("inproc"))
        self.options.on_finished += [fire_run_finished_triggers, record_run_finished]
        self._gate = asyncio.Semaphore(get_settings().worker_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._maintenance: asyncio.Task[None] | None = None

    async def enqueue(self, run_id: uuid.UUID, *, claims: int = 0) -> None:
        self._ensure_maintenance()
        task = asyncio.get_running_loop().create_task(self._execute(run_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, run_id: uuid.UUID) -> None:
        async with self._gate:
            try:
                await execute_run(run_id, store=RunStore(get_engine()), bus=get_event_bus(), options=self.options)
            except Exception:  # the maintenance loop recovers the run once its lease expires
                log.exception("run %s stopped with an error", run_id)

    def _ensure_maintenance(self) -> None:
        if self._maintenance is None or self._maintenance.done():
            self._maintenance = asyncio.get_running_loop().create_task(maintenance_loop(self))

    async def start(self) -> None:
        """Recover runs left over by a previous process and start firing schedules."""
        self._ensure_maintenance()

    async def drain(self) -> None:
        """Wait for every run this process is executing (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await flush_events()


class QueueDispatcher(Dispatcher):
    """Enqueues run ids on the Redis job queue shared with ``make worker`` processes."""

    def __init__(self, redis_url: str) -> None:
        from saq import Queue

        self.queue = Queue.from_url(redis_url, name=QUEUE_NAME)
        self._connected = False

    async def enqueue(self, run_id: uuid.UUID, *, claims: int = 0) -> None:
        if not self._connected:
            await self.queue.connect()
            self._connected = True
        await enqueue_run_job(self.queue, run_id, claims=claims)

    async def stop(self) -> None:
        if self._connected:
            await self.queue.disconnect()
            self._connected = False


async def enqueue_run_job(queue: Any, run_id: uuid.UUID, *, claims: int = 0) -> None:
    """One job per (run, claims): saq drops a duplicate while the first is pending.

    No saq timeout or retries: the engine times nodes and the run's lease handles crashes. The job
    heartbeat only lets saq sweep the job record of a worker that was killed.
    """
    await queue.enqueue("execute_run_job", key=f"run:{run_id}:{claims}", run_id=str(run_id), timeout=0,
                        retries=1, heartbeat=JOB_HEARTBEAT_SECONDS)


async def maintenance_loop(dispatcher: Dispatcher) -> None:
    """Every second: re-dispatch lost or abandoned runs, fire due schedules. Safe to run in many processes."""
    from services.analytics.reports import send_due_reports
    from services.cache.service import record_cache_samples
    from services.documents.processing import recover_documents
    from services.notifications.delivery import run_maintenance as notification_maintenance
    from services.workflows.triggers import fire_due_schedules

    store = RunStore(get_engine())
    beats = 0
    while True:
        try:
            if beats % 5 == 0:
                recover_after = RECOVER_QUEUED_AFTER_SECONDS if beats else 0
                for run_id, claims in await store.runs_to_recover(queued_older_than=recover_after):
                    await dispatcher.enqueue(run_id, claims=claims)
            await fire_due_schedules()
            await notification_maintenance()  # abandoned sends, retries that came due
            await send_due_reports()  # scheduled analytics reports, claimed like schedules
            record_cache_samples()  # the Services page's hit-ratio chart
            if beats % 5 == 0:
                await recover_documents()  # uploads nobody is extracting, extractions whose process died
        except asyncio.CancelledError:
            raise
        except Exception:  # a database or Redis outage: try again on the next beat
            log.warning("run maintenance failed; retrying", exc_info=True)
        beats += 1
        await asyncio.sleep(MAINTENANCE_INTERVAL_SECONDS)


async def fire_run_finished_triggers(run_id: uuid.UUID, workflow_id: int, status: Any) -> None:
    from services.workflows.triggers import start_runs_after

    await start_runs_after(run_id, workflow_id, status)


_dispatcher: Dispatcher | None = None


def get_dispatcher() -> Dispatcher:
    """The process's dispatcher: Redis queue when ``REDIS_URL`` is set, in-process otherwise."""
    global _dispatcher
    if _dispatcher is None:
        redis_url = get_settings().redis_url
        _dispatcher = QueueDispatcher(redis_url) if redis_url else InProcessDispatcher()
    return _dispatcher


async def reset_dispatcher() -> None:
    """Stop and forget the dispatcher (settings changed; tests)."""
    global _dispatcher
    if _dispatcher is not None:
        await _dispatcher.stop()
    _dispatcher = None
