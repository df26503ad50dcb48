"""Run and step persistence on the engine's hot path, written with SQLAlchemy Core.

Steps, and a run's end with its last steps, are committed by the step writer's dedicated thread
(see ``step_writer``: the ORM, or even the async engine, would cost more than the per-node
budget). On PostgreSQL a claim is one autocommitted statement.

The run row carries the lease: a worker owns a run while ``lease_expires_at`` is in the future
and renews it by heartbeat; an expired lease lets another worker take over.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from models.document import DocumentSource
from models.run import RunStatus, StepStatus
from models.tables import RUNS, STEPS, VERSIONS, WORKFLOWS
from services.db import open_read_connection
from services.workflows.run_writes import RunEnd, RunEndRecorded
from services.workflows.step_writer import step_writer_for

# What a claim reads (the order of run_writes.run_claim's RETURNING).
_CLAIMED_COLUMNS = ("workflow_id", "version", "parameters", "started_at", "cancel_requested", "claims", "retry_of",
                    "graph", "owner_id")


@dataclass
class StepRecord:
    node_id: str
    node_type: str
    status: StepStatus
    attempt: int = 1
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    tokens: int = 0
    cost: float = 0.0
    document_title: str | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ClaimedRun:
    """A run this worker now holds, with what it needs to continue it."""

    id: uuid.UUID
    workflow_id: int
    owner_id: uuid.UUID | None
    version: int
    graph: dict[str, Any]
    parameters: dict[str, Any]
    steps: dict[str, StepRecord]
    started_at: datetime
    cancel_requested: bool = False


class RunStore:
    """Claim, heartbeat and finish runs; save steps. Every method is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._writer = step_writer_for(engine)
        self._postgres = engine.dialect.name == "postgresql"

    @contextlib.asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement that is its own transaction (PostgreSQL: autocommit, no BEGIN
        and COMMIT round trips)."""
        if not self._postgres:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def claim(self, run_id: uuid.UUID, worker_id: str, lease_seconds: float) -> ClaimedRun | None:
        """Take the run if it is queued or its holder's lease expired; None if someone else has it.

        On PostgreSQL one statement claims the run and reads its version's graph and its owner (see
        ``run_writes.run_claim``). The steps are read only when the run can have some: it was claimed
        before (resumed, or continued after an approval) or it is a retry (which starts with the steps
        it reuses); nothing else writes a run's steps.
        """
        now = utcnow()
        expires_at = now + timedelta(seconds=lease_seconds)
        found = await (self._claim_on_postgres if self._postgres else self._claim_generic)(
            run_id, worker_id, now, expires_at)
        if found is None:
            return None
        row, step_rows = found
        steps = {r["node_id"]: StepRecord(
            node_id=r["node_id"], node_type=r["node_type"], status=StepStatus(r["status"]), attempt=r["attempt"],
            input=r["input"], output=r["output"], error=r["error"], started_at=r["started_at"],
            finished_at=r["finished_at"], duration_ms=r["duration_ms"], tokens=r["tokens"], cost=r["cost"],
            logs=r["logs"] or []) for r in step_rows}
        return ClaimedRun(id=run_id, workflow_id=row["workflow_id"], owner_id=row["owner_id"], version=row["version"],
                          graph=row["graph"], parameters=row["parameters"], steps=steps,
                          started_at=row["started_at"] or now, cancel_requested=bool(row["cancel_requested"]))

    async def _claim_on_postgres(self, run_id: uuid.UUID, worker_id: str, now: datetime, expires_at: datetime
                                 ) -> tuple[dict[str, Any], Sequence[RowMapping]] | None:
        found = await self._writer.claim({"claim_run_id": run_id, "claim_worker_id": worker_id, "claim_now": now,
                                          "claim_expires_at": expires_at})
        if found is None:
            return None
        row = dict(zip(_CLAIMED_COLUMNS, found, strict=True))
        if row["started_at"] is not None:  # psycopg gives the session's time zone
            row["started_at"] = row["started_at"].astimezone(UTC)
        if row["claims"] == 1 and row["retry_of"] is None:
            return row, []
        async with self.engine.connect() as conn:
            return row, await self._step_rows(conn, run_id)

    async def _claim_generic(self, run_id: uuid.UUID, worker_id: str, now: datetime, expires_at: datetime
                             ) -> tuple[dict[str, Any], Sequence[RowMapping]] | None:
        claimable = or_(RUNS.c.status == RunStatus.QUEUED.value,
                        and_(RUNS.c.status == RunStatus.RUNNING.value, RUNS.c.lease_expires_at < now))
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(RUNS).where(RUNS.c.id == run_id, claimable)
                .values(status=RunStatus.RUNNING.value, lease_owner=worker_id, claims=RUNS.c.claims + 1,
                        lease_expires_at=expires_at, started_at=func.coalesce(RUNS.c.started_at, now)))
            if result.rowcount != 1:
                return None
            row = dict((await conn.execute(
                select(*(RUNS.c[name] for name in _CLAIMED_COLUMNS[:7]), VERSIONS.c.graph, WORKFLOWS.c.owner_id)
                .join(VERSIONS, and_(VERSIONS.c.workflow_id == RUNS.c.workflow_id,
                                     VERSIONS.c.number == RUNS.c.version))
                .join(WORKFLOWS, WORKFLOWS.c.id == RUNS.c.workflow_id)
                .where(RUNS.c.id == run_id))).one()._mapping)
            if row["claims"] == 1 and row["retry_of"] is None:
                return row, []
            return row, await self._step_rows(conn, run_id)

    @staticmethod
    async def _step_rows(conn: AsyncConnection, run_id: uuid.UUID) -> Sequence[RowMapping]:
        return (await conn.execute(select(STEPS).where(STEPS.c.run_id == run_id))).mappings().all()

    async def heartbeat(self, run_id: uuid.UUID, worker_id: str, lease_seconds: float) -> tuple[bool, bool]:
        """Renew the lease. Returns (still ours, cancellation requested)."""
        async with self._statement() as conn:
            result = await conn.execute(
                update(RUNS).where(RUNS.c.id == run_id, RUNS.c.lease_owner == worker_id,
                                   RUNS.c.status == RunStatus.RUNNING.value)
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
                .returning(RUNS.c.cancel_requested))
            row = result.first()
        return (row is not None, bool(row[0]) if row is not None else False)

    async def save_steps(self, run_id: uuid.UUID, workflow_id: int, owner_id: uuid.UUID | None,
                         records: list[StepRecord]) -> None:
        """Upsert steps (and the documents of output nodes) in one commit, through the step writer."""
        if records:
            await self._writer.write(*_step_rows(run_id, workflow_id, owner_id, records))

    async def finish(self, run_id: uuid.UUID, worker_id: str, status: RunStatus, *, error: str | None,
                     started_at: datetime, workflow_id: int = 0, owner_id: uuid.UUID | None = None,
                     records: list[StepRecord] | None = None) -> RunEndRecorded:
        """Record the run's end (or its pause, for ``waiting``), its totals, and release the lease, in the
        transaction that saves ``records`` (the run's last steps) if there are any."""
        steps, documents = _step_rows(run_id, workflow_id, owner_id, records or [])
        recorded = await self._writer.write(steps, documents, RunEnd(run_id=run_id, worker_id=worker_id, status=status,
                                                                     error=error, started_at=started_at))
        assert recorded is not None
        return recorded

    async def release(self, run_id: uuid.UUID, worker_id: str) -> int | None:
        """Give the run back to the queue (this worker is shutting down); its claim count, None if not ours."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(RUNS).where(RUNS.c.id == run_id, RUNS.c.lease_owner == worker_id,
                                   RUNS.c.status == RunStatus.RUNNING.value)
                .values(status=RunStatus.QUEUED.value, lease_owner=None, lease_expires_at=None)
                .returning(RUNS.c.claims))
            row = result.first()
        return None if row is None else int(row[0])

    async def runs_to_recover(self, *, queued_older_than: float, limit: int = 500) -> list[tuple[uuid.UUID, int]]:
        """Queued runs that sat longer than expected and running runs whose lease expired, with their claims."""
        now = utcnow()
        # Autocommit: on SQLite a transaction is BEGIN IMMEDIATE, and this sweep, every few seconds,
        # took the write lock from the runs it looks after.
        async with open_read_connection(self.engine) as conn:
            rows = await conn.execute(
                select(RUNS.c.id, RUNS.c.claims).where(or_(
                    and_(RUNS.c.status == RunStatus.QUEUED.value,
                         RUNS.c.created_at < now - timedelta(seconds=queued_older_than)),
                    and_(RUNS.c.status == RunStatus.RUNNING.value, RUNS.c.lease_expires_at < now)))
                .order_by(RUNS.c.created_at).limit(limit))
            return [(row[0], row[1]) for row in rows]


def _step_rows(run_id: uuid.UUID, workflow_id: int, owner_id: uuid.UUID | None,
               records: list[StepRecord]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of ``records`` and of the documents their output nodes wrote."""
    values = [{"run_id": run_id, "node_id": r.node_id, "node_type": r.node_type, "status": r.status.value,
               "attempt": r.attempt, "input": r.input, "output": r.output, "error": r.error,
               "started_at": r.started_at, "finished_at": r.finished_at, "duration_ms": r.duration_ms,
               "tokens": r.tokens, "cost": r.cost, "logs": r.logs} for r in records]
    documents = [{"id": uuid.uuid4(), "owner_id": owner_id, "title": r.document_title[:300],
                  "source": DocumentSource.RUN.value,
                  "mime_type": (r.output or {}).get("metadata", {}).get("mime_type", "text/markdown"),
                  "content": (r.output or {}).get("content", ""), "metadata": (r.output or {}).get("metadata", {}),
                  "workflow_id": workflow_id, "run_id": run_id, "node_id": r.node_id, "current_version": 1,
                  "status": "ready", "progress": 100, "tags": [], "size_bytes": 0,
                  "words": len((r.output or {}).get("content", "").split()),
                  "output_key": _output_key(owner_id, (r.output or {}).get("metadata", {})),
                  "created_at": r.finished_at or utcnow(), "updated_at": r.finished_at or utcnow()}
                 for r in records if r.document_title and r.status is StepStatus.SUCCEEDED]
    return values, documents


def _output_key(owner_id: uuid.UUID | None, metadata: dict[str, Any]) -> str | None:
    """Which document an output node writes to, so the next run adds a version (None: a new document)."""
    key = metadata.get("document_key")
    return f"{owner_id}:{key}"[:200] if isinstance(key, str) and key else None
