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
import math
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from services.analytics.hooks import record_run_finished
from services.analytics.recorder import flush_events
from services.db import get_engine
from services.observability.context import start_process_task
from services.settings import get_settings
from services.workflows.engine import EngineOptions, execute_run
from services.workflows.events import get_event_bus
from services.workflows.run_store import RunStore

log = logging.getLogger(__name__)
QUEUE_NAME = "dwc-runs"
RECOVER_QUEUED_AFTER_SECONDS = 30.0
MAINTENANCE_INTERVAL_SECONDS = 1.0
RECOVER_EXPIRED_EVERY_SECONDS = 5.0
QUEUE_MARKER_KEY = "dwc:runs-queue:alive"
_MAX_ORPHANED_JOBS = 8
DISPATCH_TIMEOUT_SECONDS = 2.0
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

    async def queue_was_lost(self) -> bool:
        """True when the queue may have lost jobs since the last call (a Redis restart or FLUSHALL)."""
        return False


class InProcessDispatcher(Dispatcher):
    """Executes runs as asyncio tasks of this process, at most ``WORKER_CONCURRENCY`` at once."""

    def __init__(self) -> None:
        self.options = EngineOptions.from_settings(worker_identity("inproc"))
        self.options.on_finished.append(record_run_finished)
        self.options.on_finished_if_listened.append(fire_run_finished_triggers)
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
            self._maintenance = start_process_task(maintenance_loop(self), name="run-maintenance")

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

    async def queue_was_lost(self) -> bool:
        """A marker key that only this check writes: when it is gone, so is whatever else Redis held.

        Redis without persistence forgets everything when it restarts, and ``FLUSHALL`` drops the
        queued jobs with the marker; either way the queued runs must be enqueued again from the
        database at once, not after ``RECOVER_QUEUED_AFTER_SECONDS``.
        """
        if not self._connected:
            await self.queue.connect()
            self._connected = True
        redis = self.queue.redis  # type: ignore[attr-defined]
        return bool(await redis.set(QUEUE_MARKER_KEY, "1", nx=True))

    async def stop(self) -> None:
        if self._connected:
            with contextlib.suppress(Exception):  # Redis may be the thing that went away
                await self.queue.disconnect()
            self._connected = False


async def enqueue_run_job(queue: Any, run_id: uuid.UUID, *, claims: int = 0) -> None:
    """One job per (run, claims): saq drops a duplicate while the first is pending.

    No saq timeout or retries: the engine times nodes and the run's lease handles crashes. The job
    heartbeat only lets saq sweep the job record of a worker that was killed.

    A worker killed after taking the job off the queue (BLMOVE) but before claiming the run leaves
    the job incomplete and the run's claim count unchanged, so the same key would be dropped until
    saq sweeps the job (a minute later). So when a dispatch is dropped and the job is no longer
    waiting in the queue's list, the job went to a dead worker (or to a live one that is about to
    find the run taken): enqueue a successor keyed by that job, the same successor for every
    process that notices, so it is still enqueued once.
    """
    key = f"run:{run_id}:{claims}"
    for _ in range(_MAX_ORPHANED_JOBS):
        if await queue.enqueue("execute_run_job", key=key, run_id=str(run_id), timeout=0, retries=1,
                               heartbeat=JOB_HEARTBEAT_SECONDS) is not None:
            return
        existing = await queue.job(key)
        # saq keeps its waiting list in ``_queued``; the job's own status lags a BLMOVE, the list does not.
        if existing is None or await queue.redis.lpos(queue._queued, queue.job_id(key)) is not None:
            return  # still waiting on the queue (or finished): nothing was lost
        key = f"run:{run_id}:{claims}:after-{existing.queued}"
    log.warning("run %s: %d orphaned jobs in a row; leaving it to the next maintenance beat", run_id,
                _MAX_ORPHANED_JOBS)


async def dispatch_committed(run_id: uuid.UUID, *, claims: int = 0) -> bool:
    """Hand a run whose row is committed to the dispatcher; False if the queue could not take it.

    The database row is the truth: if the queue is unreachable (Redis stopped or restarting), the
    run stays ``queued`` and the maintenance loop dispatches it once the queue answers again, so
    the caller can accept the run instead of failing, and never waits longer than
    ``DISPATCH_TIMEOUT_SECONDS`` for a queue that does not answer.
    """
    try:
        async with asyncio.timeout(DISPATCH_TIMEOUT_SECONDS):  # no task of its own, as wait_for makes
            await get_dispatcher().enqueue(run_id, claims=claims)
    except Exception as exc:  # RedisError, OSError, TimeoutError: the run waits in the database
        log.warning("run %s stays queued in the database: the queue is unavailable (%s)", run_id,
                    type(exc).__name__)
        return False
    return True


async def maintenance_loop(dispatcher: Dispatcher) -> None:
    """Re-dispatch lost or abandoned runs, fire due schedules. Safe to run in many processes.

    A beat comes every second, or every eighth of a lease when leases are short, and expired leases
    are looked for every quarter lease (at most every 5 s): a run whose worker died resumes within
    about 1.25 leases of its last heartbeat. Every queued run is dispatched again at the first beat, after
    a beat that failed (Redis or the database was away) and when the queue lost its jobs.
    """
    store = RunStore(get_engine())
    chores = _maintenance_chores()
    last_done = dict.fromkeys(chores, -math.inf)
    lease = get_settings().run_lease_seconds
    interval = min(MAINTENANCE_INTERVAL_SECONDS, lease / 8)
    recover_every = min(RECOVER_EXPIRED_EVERY_SECONDS, lease / 4)
    last_recovery = -math.inf
    recover_all = True
    while True:
        try:
            recover_all = await dispatcher.queue_was_lost() or recover_all
            if recover_all or time.monotonic() - last_recovery >= recover_every:
                recover_after = 0 if recover_all else RECOVER_QUEUED_AFTER_SECONDS
                last_recovery = time.monotonic()
                for run_id, claims in await store.runs_to_recover(queued_older_than=recover_after):
                    await dispatcher.enqueue(run_id, claims=claims)
                recover_all = False
            for chore, period in chores.items():
                if time.monotonic() - last_done[chore] >= period:
                    last_done[chore] = time.monotonic()
                    await chore()
        except asyncio.CancelledError:
            raise
        except Exception:  # a database or Redis outage: try again on the next beat
            log.warning("run maintenance failed; retrying", exc_info=True)
            recover_all = True
        await asyncio.sleep(interval)


def _maintenance_chores() -> dict[Callable[[], Awaitable[object]], float]:
    """The other services' periodic work the maintenance beat does, each with its least period in seconds."""
    from services.analytics.reports import send_due_reports
    from services.cache.service import record_cache_samples
    from services.documents.processing import recover_documents
    from services.notifications.delivery import run_maintenance as notification_maintenance
    from services.workflows.triggers import fire_due_schedules

    async def sample_cache() -> None:
        record_cache_samples()  # the Services page's hit-ratio chart

    return {
        fire_due_schedules: 0.0,  # every beat
        notification_maintenance: 0.0,  # abandoned sends, retries that came due
        send_due_reports: 1.0,  # scheduled analytics reports, claimed like schedules
        sample_cache: 1.0,
        recover_documents: 5.0,  # uploads nobody is extracting, extractions whose process died
    }


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
