"""The statements the step writer commits: step upserts, run documents, and a run's end.

A run's end (or its pause at an approval) is written in the transaction of the steps that go with
it (the run's last steps, usually), so finishing a run costs no transaction of its own. The same
statement sums the run's tokens and cost from its steps and says whether a run-finished trigger
listens for the status, so a run that nobody listens for costs no query for its triggers.

On PostgreSQL the writer sends these (and the claim of a run) through psycopg directly, compiled
once (``services.precompiled.Precompiled``), in one pipelined round trip per transaction; an output node's document and
its new version are one statement (``output_document_upsert``) instead of three.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Update,
    and_,
    bindparam,
    exists,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite

from models.base import utcnow
from models.run import RunStatus
from models.tables import DOCUMENT_VERSIONS, DOCUMENTS, RUN_FINISHED_TRIGGERS, RUNS, STEPS, VERSIONS, WORKFLOWS

STEP_COLUMNS = ("run_id", "node_id", "node_type", "status", "attempt", "input", "output", "error", "started_at",
                "finished_at", "duration_ms", "tokens", "cost", "logs")
_UPDATED_ON_CONFLICT = STEP_COLUMNS[3:]
DOCUMENT_COLUMNS = ("id", "owner_id", "title", "source", "mime_type", "content", "metadata", "workflow_id", "run_id",
                    "node_id", "current_version", "status", "progress", "tags", "size_bytes", "words", "output_key",
                    "created_at", "updated_at")
# What a later run's output changes in the document an earlier run of the same node wrote.
_VERSIONED_ON_CONFLICT = ("title", "content", "metadata", "mime_type", "run_id", "workflow_id", "words", "updated_at")


@dataclass(frozen=True)
class RunEnd:
    """A run's end (or its pause, for ``waiting``), recorded if ``worker_id`` still holds the run."""

    run_id: uuid.UUID
    worker_id: str
    status: RunStatus
    error: str | None
    started_at: datetime

    def parameters(self) -> dict[str, Any]:
        now = utcnow()
        finished = self.status.finished
        return {"end_run_id": self.run_id, "end_worker_id": self.worker_id, "end_status": self.status.value,
                "end_error": self.error, "end_finished_at": now if finished else None,
                "end_duration_ms": (now - self.started_at).total_seconds() * 1000 if finished else None,
                "end_trigger_status": self.status.value}


@dataclass(frozen=True)
class RunEndRecorded:
    """What writing a ``RunEnd`` found."""

    ours: bool  # the worker still held the run: this end is the run's, recorded once
    listened: bool = False  # a run-finished trigger of the run's workflow listens for this status


def run_claim() -> Update:
    """PostgreSQL: take run ``claim_run_id`` if it is queued or its holder's lease expired, returning what the
    engine needs to continue it (with its version's graph and its workflow's owner)."""
    now = bindparam("claim_now", type_=RUNS.c.lease_expires_at.type)
    claimable = or_(RUNS.c.status == RunStatus.QUEUED.value,
                    and_(RUNS.c.status == RunStatus.RUNNING.value, RUNS.c.lease_expires_at < now))
    return (sql_update(RUNS)
            .where(RUNS.c.id == bindparam("claim_run_id"), claimable,
                   VERSIONS.c.workflow_id == RUNS.c.workflow_id, VERSIONS.c.number == RUNS.c.version,
                   WORKFLOWS.c.id == RUNS.c.workflow_id)
            .values(status=RunStatus.RUNNING.value, lease_owner=bindparam("claim_worker_id"),
                    claims=RUNS.c.claims + 1,
                    lease_expires_at=bindparam("claim_expires_at", type_=RUNS.c.lease_expires_at.type),
                    started_at=func.coalesce(RUNS.c.started_at, now))
            .returning(RUNS.c.workflow_id, RUNS.c.version, RUNS.c.parameters, RUNS.c.started_at,
                       RUNS.c.cancel_requested, RUNS.c.claims, RUNS.c.retry_of, VERSIONS.c.graph, WORKFLOWS.c.owner_id))


def step_upsert(dialect: str) -> Insert:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(STEPS)
    return statement.on_conflict_do_update(index_elements=[STEPS.c.run_id, STEPS.c.node_id],
                                           set_={name: statement.excluded[name] for name in _UPDATED_ON_CONFLICT})


def run_end_update(dialect: str) -> Update:
    """Record a ``RunEnd`` (its parameters) with the run's totals; returns a row when it was ours.

    The row is (run id, workflow id, whether a trigger listens); SQLite leaves the last one out (its
    RETURNING names columns without their table, which would make the trigger's own ``workflow_id``
    the one compared), and ``listeners_query`` asks instead.
    """
    of_run = STEPS.c.run_id == RUNS.c.id
    returned: list[Any] = [RUNS.c.id, RUNS.c.workflow_id]
    if dialect == "postgresql":
        returned.append(_listened(RUNS.c.workflow_id))
    return (sql_update(RUNS)
            .where(RUNS.c.id == bindparam("end_run_id"), RUNS.c.lease_owner == bindparam("end_worker_id"),
                   RUNS.c.status == RunStatus.RUNNING.value)
            .values(status=bindparam("end_status"), error=bindparam("end_error"), lease_owner=null(),
                    lease_expires_at=null(), finished_at=bindparam("end_finished_at", type_=RUNS.c.finished_at.type),
                    duration_ms=bindparam("end_duration_ms", type_=RUNS.c.duration_ms.type),
                    total_tokens=select(func.coalesce(func.sum(STEPS.c.tokens), 0)).where(of_run).scalar_subquery(),
                    total_cost=select(func.coalesce(func.sum(STEPS.c.cost), 0.0)).where(of_run).scalar_subquery())
            .returning(*returned))


def listeners_query(workflow_id: int) -> Select[tuple[bool]]:
    """Whether a run-finished trigger listens for the status in ``end_trigger_status`` (SQLite's second statement)."""
    return select(_listened(literal(workflow_id)))


def _listened(workflow_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return exists().where(RUN_FINISHED_TRIGGERS.c.source_workflow_id == workflow_id,
                          RUN_FINISHED_TRIGGERS.c.enabled.is_(True),
                          RUN_FINISHED_TRIGGERS.c.on_status.in_([literal("any"), bindparam("end_trigger_status")]))


def output_document_upsert() -> Insert:
    """PostgreSQL: a run document and its version in one statement (parameters named ``d_<column>``).

    A document with an ``output_key`` another run's output already wrote gets a new version (the
    conflict takes the row lock, so racing runs each add their own version); otherwise the row goes
    in as version 1.
    """
    values = {name: bindparam(f"d_{name}", type_=DOCUMENTS.c[name].type) for name in DOCUMENT_COLUMNS}
    insert = postgresql.insert(DOCUMENTS).values(values)
    written = (insert.on_conflict_do_update(
        index_elements=[DOCUMENTS.c.output_key],
        set_={**{name: insert.excluded[name] for name in _VERSIONED_ON_CONFLICT},
              "current_version": DOCUMENTS.c.current_version + 1})
        .returning(DOCUMENTS.c.id, DOCUMENTS.c.current_version).cte("written"))
    return sql_insert(DOCUMENT_VERSIONS).from_select(
        ["document_id", "number", "content", "author_id", "run_id", "node_id", "created_at"],
        select(written.c.id, written.c.current_version, values["content"], null(), values["run_id"],
               values["node_id"], values["updated_at"]))


def document_parameters(row: Mapping[str, Any]) -> dict[str, Any]:
    return {f"d_{name}": row.get(name) for name in DOCUMENT_COLUMNS}


