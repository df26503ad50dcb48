"""Recording analytics events without slowing anyone down: an in-process buffer, written in batches.

``record_event`` appends a row to a list and returns: no await, no I/O, so a request or a run never
waits for analytics. A background task (started by the first event, ending when the buffer is
empty) writes the buffer in one statement (COPY on PostgreSQL, ``services.bulk_writes``), plus the
upserts of the hourly rollups it touches (see ``rollup.py``), every ``flush_interval`` seconds, or
at once when ``max_batch`` events wait. A failed write is logged, not raised; its rows go back to the front of
the buffer and are dropped (and counted) after ``max_attempts`` failures in a row, so a database
outage cannot grow the buffer without bound (``max_buffer`` caps it as well). Shutdown calls
``flush_events`` so buffered events are written before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from models.analytics import AnalyticsEvent, EventType
from models.base import utcnow
from models.notification import Notification
from models.run import Run, Step, StepStatus
from services.analytics.rollup import upsert_rollup
from services.bulk_writes import insert_rows
from services.db import get_engine
from services.observability.context import start_process_task

log = logging.getLogger(__name__)
EVENTS: Table = AnalyticsEvent.__table__  # type: ignore[attr-defined]
RUNS: Table = Run.__table__  # type: ignore[attr-defined]
STEPS: Table = Step.__table__  # type: ignore[attr-defined]
NOTIFICATIONS: Table = Notification.__table__  # type: ignore[attr-defined]
_NOTIFY_TYPES = (EventType.NOTIFICATION_SENT.value, EventType.NOTIFICATION_FAILED.value)
COLUMNS = tuple(column.name for column in EVENTS.columns if column.name != "id")
_FINISHED_STEPS = (StepStatus.SUCCEEDED.value, StepStatus.FAILED.value, StepStatus.SKIPPED.value,
                   StepStatus.CANCELLED.value)

Row = dict[str, Any]
EventWriter = Callable[[list[Row]], Awaitable[None]]


_WRITE_CHUNK = 5000  # events per INSERT
_DRAIN_ROUNDS = 5


class EventRecorder:
    """Buffers events and writes them in batches from a background task."""

    def __init__(self, write: EventWriter | None = None, *, flush_interval: float = 1.0, max_batch: int = 500,
                 max_buffer: int = 100_000, max_attempts: int = 3) -> None:
        self._write = write or insert_events
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.max_buffer = max_buffer
        self.max_attempts = max_attempts
        self._buffer: list[Row] = []
        self._failures = 0
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self.written = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def record(self, event_type: EventType, **fields: Any) -> None:
        """Queue one event (``time`` defaults to now). Never raises, never waits."""
        try:
            if len(self._buffer) >= self.max_buffer:
                self.dropped += 1
                if self.dropped % 1000 == 1:
                    log.warning("analytics buffer full (%d events): dropped %d so far", self.max_buffer, self.dropped)
                return
            self._buffer.append({"time": fields.pop("time", None) or utcnow(), "type": event_type.value, **fields})
            self._ensure_flusher()
            if len(self._buffer) >= self.max_batch and self._wake is not None:
                self._wake.set()
        except Exception:  # recording is best effort: the caller's work matters more
            log.exception("could not queue an analytics event")

    def _ensure_flusher(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop here: the next flush picks the event up
            return
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = start_process_task(self._flush_periodically(self._wake), name="analytics-flusher")

    async def _flush_periodically(self, wake: asyncio.Event) -> None:
        while self._buffer:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await wake.wait()
            wake.clear()
            if not await self.flush():
                await asyncio.sleep(self.flush_interval)  # a failed write: wait a full interval before retrying

    async def flush(self) -> bool:
        """Write what is buffered now. False when a write failed (logged; its rows are kept for a retry).

        Events recorded while it writes wait for the next flush: draining until the buffer stayed
        empty would, under steady traffic, write a tiny batch (a transaction and its rollup upserts)
        after every request instead of one batch a second.
        """
        pending, self._buffer = self._buffer, []
        for start in range(0, len(pending), _WRITE_CHUNK):
            batch = pending[start:start + _WRITE_CHUNK]
            try:
                await self._write(batch)
            except Exception:
                self._failures += 1
                if self._failures >= self.max_attempts:
                    self._failures = 0
                    self.dropped += len(batch)
                    log.exception("dropping %d analytics events after %d failed writes", len(batch),
                                  self.max_attempts)
                    self._buffer[:0] = pending[start + _WRITE_CHUNK:]
                else:
                    log.warning("writing %d analytics events failed; retrying", len(batch), exc_info=True)
                    self._buffer[:0] = pending[start:]
                return False
            self._failures = 0
            self.written += len(batch)
        return True

    async def drain(self) -> None:
        """Write everything buffered and wait until the background writer is idle (shutdown; tests
        switching databases, where a write still in flight would hold its locks)."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            if self._wake is not None:
                self._wake.set()
            with contextlib.suppress(Exception):
                await task
        for _ in range(_DRAIN_ROUNDS):  # what arrives while the last batch is written, within reason
            if not self._buffer or not await self.flush():
                break

    def buffered(self) -> list[dict[str, Any]]:
        """A copy of the events not written yet (diagnostics, tests)."""
        return list(self._buffer)

    def discard_pending(self) -> None:
        """Forget buffered events (tests switching databases)."""
        self._buffer.clear()


async def insert_events(rows: list[Row]) -> None:
    """One bulk INSERT of ``rows`` (run events completed from the runs table, plus their steps; events a run
    made given its workflow), and the hourly rollups brought up to date in the same transaction."""
    async with get_engine().begin() as conn:
        rows = rows + await _complete_run_events(conn, rows)
        await _attribute_to_workflows(conn, rows)
        rows = [{name: row.get(name) for name in COLUMNS} for row in rows]
        await insert_rows(conn, EVENTS, COLUMNS, rows)
        await upsert_rollup(conn, rows)  # same transaction: the rollups never disagree with the events


async def _complete_run_events(conn: AsyncConnection, rows: list[Row]) -> list[Row]:
    """Fill duration, user, tokens and cost of ``run_finished`` rows from their runs; return their step events.

    Done here, in the batch, rather than in the engine's run-finished hook: one query per flush
    instead of one per run, and nothing on the run's own path.
    """
    pending = {row["run_id"]: row for row in rows
               if row["type"] == EventType.RUN_FINISHED.value and row.get("run_id") and row.get("duration_ms") is None}
    if not pending:
        return []
    runs = await conn.execute(select(RUNS.c.id, RUNS.c.created_by, RUNS.c.duration_ms, RUNS.c.finished_at,
                                     RUNS.c.total_tokens, RUNS.c.total_cost, RUNS.c.trigger)
                              .where(RUNS.c.id.in_(list(pending))))
    for run in runs:
        row = pending[run.id]
        row.update(user_id=row.get("user_id") or run.created_by, duration_ms=run.duration_ms,
                   time=run.finished_at or row["time"], tokens=run.total_tokens, cost_usd=run.total_cost,
                   payload={"trigger": str(run.trigger)})
    steps = await conn.execute(select(STEPS.c.run_id, STEPS.c.node_id, STEPS.c.node_type, STEPS.c.status,
                                      STEPS.c.attempt, STEPS.c.finished_at, STEPS.c.duration_ms, STEPS.c.tokens,
                                      STEPS.c.cost)
                               .where(STEPS.c.run_id.in_(list(pending)), STEPS.c.status.in_(_FINISHED_STEPS)))
    return [{"time": step.finished_at or pending[step.run_id]["time"], "type": EventType.STEP_FINISHED.value,
             "run_id": step.run_id, "workflow_id": pending[step.run_id].get("workflow_id"), "node_id": step.node_id,
             "status": str(step.status), "duration_ms": step.duration_ms, "tokens": step.tokens,
             "cost_usd": step.cost, "payload": {"node_type": step.node_type, "attempt": step.attempt}}
            for step in steps]


async def _attribute_to_workflows(conn: AsyncConnection, rows: list[Row]) -> None:
    """Give events a run made (AI calls, deliveries of its notifications) the run's id and workflow.

    The callers know the run (an AI call's context) or only the notification (a delivery); one
    query per kind and flush, rather than a lookup on the run's own path, attributes them.
    """
    by_notification: dict[uuid.UUID, list[Row]] = {}
    for row in rows:
        notification = (row.get("payload") or {}).get("notification_id")
        if row["type"] in _NOTIFY_TYPES and not row.get("run_id") and notification:
            with contextlib.suppress(ValueError):
                by_notification.setdefault(uuid.UUID(str(notification)), []).append(row)
    if by_notification:
        found = await conn.execute(select(NOTIFICATIONS.c.id, NOTIFICATIONS.c.run_id).where(
            NOTIFICATIONS.c.id.in_(list(by_notification)), NOTIFICATIONS.c.run_id.is_not(None)))
        for notification_id, run_id in found:
            for row in by_notification[notification_id]:
                row["run_id"] = run_id
    by_run: dict[uuid.UUID, list[Row]] = {}
    for row in rows:
        if row.get("run_id") and row.get("workflow_id") is None:
            by_run.setdefault(row["run_id"], []).append(row)
    if by_run:
        for run_id, workflow_id in await conn.execute(select(RUNS.c.id, RUNS.c.workflow_id)
                                                      .where(RUNS.c.id.in_(list(by_run)))):
            for row in by_run[run_id]:
                row["workflow_id"] = workflow_id


_recorder = EventRecorder()


def get_recorder() -> EventRecorder:
    """The process's recorder."""
    return _recorder


def record_event(event_type: EventType, **fields: Any) -> None:
    """Queue one event on the process's recorder (see ``EventRecorder.record``)."""
    _recorder.record(event_type, **fields)


async def flush_events() -> None:
    """Write what is buffered and let the background writer finish (shutdown, tests). Failures are logged."""
    await _recorder.drain()


__all__ = ["EventRecorder", "flush_events", "get_recorder", "insert_events", "record_event"]
