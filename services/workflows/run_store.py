"""Run and step persistence on the engine's hot path, written with SQLAlchemy Core.

Each finished step is one upsert and one commit, made by the step writer's dedicated thread (see
``step_writer``: the ORM, or even the async engine, would cost more than the per-node budget).

The run row carries the lease: a worker owns a run while ``lease_expires_at`` is in the future
and renews it by heartbeat; an expired lease lets another worker take over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.document import DocumentSource
from models.run import Run, RunStatus, Step, StepStatus
from models.workflow import Workflow, WorkflowVersion
from services.workflows.step_writer import step_writer_for

RUNS: Table = Run.__table__  # type: ignore[attr-defined]
STEPS: Table = Step.__table__  # type: ignore[attr-defined]
VERSIONS: Table = WorkflowVersion.__table__  # type: ignore[attr-defined]
WORKFLOWS: Table = Workflow.__table__  # type: ignore[attr-defined]


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

    async def claim(self, run_id: uuid.UUID, worker_id: str, lease_seconds: float) -> ClaimedRun | None:
        """Take the run if it is queued or its holder's lease expired; None if someone else has it."""
        now = utcnow()
        claimable = or_(RUNS.c.status == RunStatus.QUEUED.value,
                        and_(RUNS.c.status == RunStatus.RUNNING.value, RUNS.c.lease_expires_at < now))
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(RUNS).where(RUNS.c.id == run_id, claimable)
                .values(status=RunStatus.RUNNING.value, lease_owner=worker_id, claims=RUNS.c.claims + 1,
                        lease_expires_at=now + timedelta(seconds=lease_seconds),
                        started_at=func.coalesce(RUNS.c.started_at, now)))
            if result.rowcount != 1:
                return None
            row = (await conn.execute(
                select(RUNS.c.workflow_id, RUNS.c.version, RUNS.c.parameters, RUNS.c.started_at,
                       RUNS.c.cancel_requested, VERSIONS.c.graph, WORKFLOWS.c.owner_id)
                .join(VERSIONS, and_(VERSIONS.c.workflow_id == RUNS.c.workflow_id,
                                     VERSIONS.c.number == RUNS.c.version))
                .join(WORKFLOWS, WORKFLOWS.c.id == RUNS.c.workflow_id)
                .where(RUNS.c.id == run_id))).one()
            step_rows = (await conn.execute(select(STEPS).where(STEPS.c.run_id == run_id))).mappings().all()
        steps = {r["node_id"]: StepRecord(
            node_id=r["node_id"], node_type=r["node_type"], status=StepStatus(r["status"]), attempt=r["attempt"],
            input=r["input"], output=r["output"], error=r["error"], started_at=r["started_at"],
            finished_at=r["finished_at"], duration_ms=r["duration_ms"], tokens=r["tokens"], cost=r["cost"],
            logs=r["logs"] or []) for r in step_rows}
        return ClaimedRun(id=run_id, workflow_id=row.workflow_id, owner_id=row.owner_id, version=row.version,
                          graph=row.graph, parameters=row.parameters, steps=steps, started_at=row.started_at or now,
                          cancel_requested=bool(row.cancel_requested))

    async def heartbeat(self, run_id: uuid.UUID, worker_id: str, lease_seconds: float) -> tuple[bool, bool]:
        """Renew the lease. Returns (still ours, cancellation requested)."""
        async with self.engine.begin() as conn:
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
        if not records:
            return
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
        await self._writer.write(values, documents)

    async def finish(self, run_id: uuid.UUID, worker_id: str, status: RunStatus, *, error: str | None,
                     started_at: datetime) -> bool:
        """Record the run's end (or its pause, for ``waiting``) and release the lease."""
        now = utcnow()
        async with self.engine.begin() as conn:
            totals = (await conn.execute(
                select(func.coalesce(func.sum(STEPS.c.tokens), 0), func.coalesce(func.sum(STEPS.c.cost), 0.0))
                .where(STEPS.c.run_id == run_id))).one()
            finished = status.finished
            result = await conn.execute(
                update(RUNS).where(RUNS.c.id == run_id, RUNS.c.lease_owner == worker_id,
                                   RUNS.c.status == RunStatus.RUNNING.value)
                .values(status=status.value, error=error, lease_owner=None, lease_expires_at=None,
                        finished_at=now if finished else None,
                        duration_ms=(now - started_at).total_seconds() * 1000 if finished else None,
                        total_tokens=int(totals[0]), total_cost=float(totals[1])))
        return result.rowcount == 1

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
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(RUNS.c.id, RUNS.c.claims).where(or_(
                    and_(RUNS.c.status == RunStatus.QUEUED.value,
                         RUNS.c.created_at < now - timedelta(seconds=queued_older_than)),
                    and_(RUNS.c.status == RunStatus.RUNNING.value, RUNS.c.lease_expires_at < now)))
                .order_by(RUNS.c.created_at).limit(limit))
            return [(row[0], row[1]) for row in rows]


def _output_key(owner_id: uuid.UUID | None, metadata: dict[str, Any]) -> str | None:
    """Which document an output node writes to, so the next run adds a version (None: a new document)."""
    key = metadata.get("document_key")
    return f"{owner_id}:{key}"[:200] if isinstance(key, str) and key else None
