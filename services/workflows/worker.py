"""The run worker: ``python -m services.workflows.worker`` (``make worker``) executes queued runs.

Each process takes run ids off the saq queue in Redis (blocking BLMOVE, no polling) and executes
up to ``WORKER_CONCURRENCY`` runs at once. Every worker also runs the maintenance loop, which
re-dispatches runs a dead worker held or a flushed Redis lost, and fires due cron schedules; the
database decides who runs what, so any number of workers can share one queue.

On SIGTERM a worker stops taking jobs and hands the runs it holds back to the queue, so another
worker continues them after their last finished step instead of waiting for the lease to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid

from saq import Job, Worker
from saq.queue.redis import RedisQueue
from saq.types import Context

from services.analytics.hooks import record_run_finished
from services.analytics.recorder import flush_events
from services.db import get_engine
from services.notifications.dispatch import DELIVER_JOB, deliver_notifications_job
from services.observability.logging import configure_logging
from services.process_heap import settle_heap
from services.settings import get_settings
from services.workflows.engine import EngineOptions, execute_run
from services.workflows.events import get_event_bus
from services.workflows.run_store import RunStore
from services.workflows.runtime import (
    JOB_HEARTBEAT_SECONDS,
    QUEUE_NAME,
    QueueDispatcher,
    fire_run_finished_triggers,
    maintenance_loop,
    worker_identity,
)

log = logging.getLogger(__name__)
_SHUTDOWN_DEADLINE_SECONDS = 5.0


class RunQueue(RedisQueue):
    """saq's Redis queue without its job-status PUBLISH (one when a job starts, one when it ends): nothing
    waits on a job here (a run's row is its truth), and they were a third of a worker's Redis round
    trips per run."""

    async def notify(self, job: Job) -> None:
        return None


class WorkerContext(Context, total=False):
    """saq's per-worker context plus what this worker sets up at start."""

    options: EngineOptions
    dispatcher: QueueDispatcher
    maintenance: asyncio.Task[None]


async def execute_run_job(ctx: WorkerContext, *, run_id: str) -> str | None:
    """saq job: claim and execute one run; on shutdown give it back to the queue."""
    options = ctx["options"]
    store = RunStore(get_engine())
    run_uuid = uuid.UUID(run_id)
    touch = asyncio.get_running_loop().create_task(_keep_job_alive(ctx))
    try:
        status = await execute_run(run_uuid, store=store, bus=get_event_bus(), options=options)
    except asyncio.CancelledError:
        await asyncio.shield(_hand_back(store, run_uuid, options.worker_id, ctx["dispatcher"]))
        raise
    finally:
        touch.cancel()
    return status.value if status is not None else None


async def _keep_job_alive(ctx: WorkerContext) -> None:
    """Touch the saq job so its heartbeat only lapses when this process dies."""
    job = ctx.get("job")
    while job is not None:
        await asyncio.sleep(JOB_HEARTBEAT_SECONDS / 3)
        with contextlib.suppress(Exception):
            await job.update()


async def _hand_back(store: RunStore, run_id: uuid.UUID, worker_id: str, dispatcher: QueueDispatcher) -> None:
    try:
        claims = await store.release(run_id, worker_id)
        if claims is not None:  # still ours: queue it again at once
            await dispatcher.enqueue(run_id, claims=claims)
            log.info("run %s handed back to the queue", run_id)
    except Exception:  # the lease expires and the maintenance loop re-dispatches it anyway
        log.warning("could not hand run %s back; it resumes once its lease expires", run_id, exc_info=True)


async def _startup(ctx: WorkerContext) -> None:
    options = EngineOptions.from_settings(worker_identity("worker"))
    options.on_finished.append(record_run_finished)
    options.on_finished_if_listened.append(fire_run_finished_triggers)
    dispatcher = QueueDispatcher(get_settings().redis_url)
    ctx["options"], ctx["dispatcher"] = options, dispatcher
    ctx["maintenance"] = asyncio.get_running_loop().create_task(maintenance_loop(dispatcher))
    log.info("worker %s ready (concurrency %d)", options.worker_id, get_settings().worker_concurrency)


async def _shutdown(ctx: WorkerContext) -> None:
    maintenance = ctx.get("maintenance")
    if maintenance is not None:
        maintenance.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await maintenance
    dispatcher = ctx.get("dispatcher")
    if dispatcher is not None:
        await dispatcher.stop()
    await flush_events()
    await get_engine().dispose()


def build_worker(redis_url: str, *, concurrency: int) -> Worker[WorkerContext]:
    return Worker(RunQueue.from_url(redis_url, name=QUEUE_NAME), functions=[("execute_run_job", execute_run_job),
                                                                          (DELIVER_JOB, deliver_notifications_job)],
                  concurrency=concurrency, startup=_startup, shutdown=_shutdown, shutdown_grace_period_s=0,
                  cancellation_hard_deadline_s=_SHUTDOWN_DEADLINE_SECONDS)


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    # saq logs two lines at INFO for every job (a run): shown at LOG_LEVEL=DEBUG only; its warnings always.
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("saq").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    if not settings.redis_url:
        sys.exit("The worker needs a job queue: set REDIS_URL (without it, `make run` executes runs in-process).")
    settle_heap()  # everything the worker runs is imported by now: see services.process_heap
    asyncio.run(build_worker(settings.redis_url, concurrency=settings.worker_concurrency).start())


if __name__ == "__main__":
    main()
