"""Runs: start (from any trigger), read, cancel, retry or re-run from a node, approve or reject.

The database row is the truth of a run; the dispatcher only carries its id to a worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.run import (
    Run,
    RunAccepted,
    RunDetail,
    RunPublic,
    RunsPublic,
    RunStatus,
    Step,
    StepPublic,
    StepStatus,
    Trigger,
    WorkflowAnalytics,
)
from models.tables import DOCUMENT_VERSIONS, DOCUMENTS, RUNS, STEPS, WORKFLOWS
from models.user import User
from models.workflow import Workflow, WorkflowStatus, WorkflowVersion
from services import errors
from services.analytics.hooks import record_run_started
from services.auth.audit import record_audit
from services.auth.permissions import Permission, require
from services.db import open_session
from services.documents.workflow_inputs import check_run_documents
from services.settings import get_settings
from services.workflows import service as workflows
from services.workflows.graph import Graph
from services.workflows.run_start import RunInputs
from services.workflows.runtime import dispatch_committed


async def start_run(workflow_id: int, parameters: dict[str, Any], *, session: AsyncSession, trigger: Trigger,
                    actor: User | None = None) -> Run:
    """Create a queued run pinned to the workflow's current version, commit it, then dispatch it."""
    if actor is not None:
        require(actor.role, Permission.EDIT_WORKFLOWS)
        workflow = await workflows.get_visible(actor, workflow_id, session=session)
    else:  # a trigger (webhook, schedule, run-finished rule) set up by someone who could see it
        workflow = await workflows.get(workflow_id, session=session)
    return await start_run_of(workflow, parameters, session=session, trigger=trigger, actor=actor)


async def start_run_of(workflow: Workflow, parameters: dict[str, Any], *, session: AsyncSession, trigger: Trigger,
                       actor: User | None = None, version: WorkflowVersion | None = None) -> Run:
    """``start_run`` for a workflow already read (and, with an actor, already found visible to them),
    with its current version when that was read along with it."""
    assert workflow.id is not None
    workflow_id = workflow.id
    if workflow.status is WorkflowStatus.ARCHIVED:
        raise errors.Conflict(f"Workflow {workflow_id} is archived; restore it before running it.")
    if version is None or version.number != workflow.current_version:
        version = await workflows.get_version(workflow_id, workflow.current_version, session=session)
    inputs = RunInputs.of(Graph.model_validate(version.graph))
    inputs.check(parameters)
    await check_run_documents(actor, inputs.documents_named(parameters), parameters, session=session)
    run = Run(workflow_id=workflow_id, version=version.number, trigger=trigger, parameters=parameters,
              created_by=actor.id if actor else None)
    session.add(run)  # its id is made here, not by the database: the audit entry names it before the flush
    record_audit(session, "run_started", actor_id=actor.id if actor else None, target=f"run:{run.id}",
                 details={"workflow_id": workflow_id, "version": version.number, "trigger": trigger.value})
    await session.commit()
    record_run_started(run.id, workflow_id, actor.id if actor else None, str(trigger))
    await dispatch_committed(run.id)
    return run


async def execute(actor: User, workflow_id: int, parameters: dict[str, Any], *, session: AsyncSession,
                  wait: bool = False, wait_seconds: float | None = None) -> RunAccepted | RunDetail:
    """Start a run; with ``wait``, answer with the run once it ends or ``wait_seconds`` pass."""
    run = await start_run(workflow_id, parameters, session=session, trigger=Trigger.API, actor=actor)
    if not wait:
        return RunAccepted(run_id=run.id, status=run.status, workflow_id=workflow_id, version=run.version)
    await wait_until_settled(run.id, wait_seconds or get_settings().run_wait_timeout_seconds)
    session.expunge_all()
    return await get_run(actor, run.id, session=session)


async def wait_until_settled(run_id: uuid.UUID, wait_seconds: float) -> RunStatus:
    """Poll the run's row until it is finished or waiting (other processes may be running it)."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.005
    while True:
        async with open_session() as session:
            status = RunStatus((await session.exec(select(Run.status).where(col(Run.id) == run_id))).one())
        if status.finished or status is RunStatus.WAITING or time.monotonic() >= deadline:
            return status
        await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 2, 0.1)


async def _get(actor: User, run_id: uuid.UUID, session: AsyncSession) -> Run:
    """The run if ``actor`` may see its workflow; ``NotFound`` otherwise (as for a run that never was)."""
    # One query for the run (fresh, even if the session holds it) and the workflow that decides who sees it.
    found = (await session.exec(select(Run, Workflow).join(Workflow, col(Workflow.id) == col(Run.workflow_id))
                                .where(col(Run.id) == run_id).execution_options(populate_existing=True))).first()
    if found is None or not workflows.can_see(actor, found[1]):
        raise errors.NotFound(f"Run {run_id} does not exist.")
    return found[0]


_RUN_COLUMNS = [RUNS.c[name] for name in RunPublic.model_fields]
_STEP_COLUMNS = [STEPS.c[name] for name in StepPublic.model_fields]
_step_row = StepPublic.__pydantic_validator__.validate_python
_run_detail = RunDetail.__pydantic_validator__.validate_python


async def get_run(actor: User, run_id: uuid.UUID, *, session: AsyncSession) -> RunDetail:
    """The run with its steps (in execution order) and the documents it produced.

    What clients poll while a run goes on: the run's public columns with its workflow's visibility
    in one query, then the steps' public columns, validated straight into the answer (no ORM rows).
    """
    require(actor.role, Permission.VIEW)
    connection = await session.connection()  # more columns than sqlmodel's typed select takes
    found = (await connection.execute(
        sa_select(*_RUN_COLUMNS, WORKFLOWS.c.visibility, WORKFLOWS.c.owner_id)
        .join_from(RUNS, WORKFLOWS, WORKFLOWS.c.id == RUNS.c.workflow_id).where(RUNS.c.id == run_id))).first()
    if found is None or not workflows.may_see(actor, found.visibility, found.owner_id):
        raise errors.NotFound(f"Run {run_id} does not exist.")
    steps = (await connection.execute(sa_select(*_STEP_COLUMNS).where(STEPS.c.run_id == run_id)
                                      .order_by(STEPS.c.finished_at, STEPS.c.id))).all()
    # A later run may have versioned the document since: the run's own version says what it wrote.
    # Its size is counted by the database: the content itself is not needed here.
    documents, versions = DOCUMENTS.c, DOCUMENT_VERSIONS.c
    written = (await connection.execute(
        sa_select(documents.id, documents.title, versions.node_id, documents.mime_type,
                  func.length(versions.content).label("size"), versions.number)
        .join_from(DOCUMENT_VERSIONS, DOCUMENTS, documents.id == versions.document_id)
        .where(versions.run_id == run_id))).all()
    detail: RunDetail = _run_detail({
        **found._mapping, "steps": [_step_row(step._mapping) for step in steps],
        "documents": [{"id": str(row.id), "title": row.title, "node_id": row.node_id, "mime_type": row.mime_type,
                       "size": row.size, "version": row.number} for row in written]})
    return detail


async def list_runs(actor: User, workflow_id: int, *, session: AsyncSession, offset: int = 0, limit: int = 50,
                    status: RunStatus | None = None) -> RunsPublic:
    require(actor.role, Permission.VIEW)
    await workflows.get_visible(actor, workflow_id, session=session)
    query = select(Run).where(col(Run.workflow_id) == workflow_id)
    if status is not None:
        query = query.where(col(Run.status) == status)
    count = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = (await session.exec(query.order_by(col(Run.created_at).desc()).offset(offset).limit(limit))).all()
    return RunsPublic(data=[RunPublic.model_validate(row, from_attributes=True) for row in rows], count=count)


async def cancel(actor: User, run_id: uuid.UUID, *, session: AsyncSession) -> RunPublic:
    """Cancel a run: at once when queued or waiting; a running run stops at its worker's next heartbeat."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    run = await _get(actor, run_id, session)
    if run.status.finished:
        raise errors.Conflict(f"Run {run_id} already {run.status.value}; there is nothing to cancel.")
    now = utcnow()
    stop_now = await session.exec(update(Run).where(
        col(Run.id) == run_id, col(Run.status).in_([RunStatus.QUEUED, RunStatus.WAITING]))
        .values(status=RunStatus.CANCELLED, finished_at=now, error="cancelled on request", cancel_requested=True))
    if stop_now.rowcount == 0:
        await session.exec(update(Run).where(col(Run.id) == run_id).values(cancel_requested=True))
    record_audit(session, "run_cancelled", actor_id=actor.id, target=f"run:{run_id}")
    await session.commit()
    await session.refresh(run)
    return RunPublic.model_validate(run, from_attributes=True)


async def retry(actor: User, run_id: uuid.UUID, *, session: AsyncSession, from_node: str | None = None) -> Run:
    """A new run of the same version and parameters reusing earlier outputs.

    Without ``from_node`` every succeeded step is reused (only what failed or never ran runs
    again); with it, ``from_node`` and everything downstream of it run again.
    """
    require(actor.role, Permission.EDIT_WORKFLOWS)
    original = await _get(actor, run_id, session)
    if not original.status.finished:
        raise errors.Conflict(f"Run {run_id} is still {original.status.value}; retry it once it has ended.")
    version = await workflows.get_version(original.workflow_id, original.version, session=session)
    graph = Graph.model_validate(version.graph)
    if from_node is not None and from_node not in graph.nodes_by_id:
        raise errors.ValidationFailed(f"Run {run_id}'s workflow version has no node {from_node!r}.",
                                      details=[{"field": "from_node", "message": "unknown node"}])
    rerun = graph.descendants([from_node]) if from_node else set()
    run = Run(workflow_id=original.workflow_id, version=original.version, trigger=Trigger.RETRY,
              parameters=original.parameters, created_by=actor.id, retry_of=original.id, from_node=from_node)
    session.add(run)
    await session.flush()
    kept = (await session.exec(select(Step).where(col(Step.run_id) == run_id,
                                                  col(Step.status) == StepStatus.SUCCEEDED))).all()
    for step in kept:
        if step.node_id not in rerun:
            session.add(Step(**step.model_dump(exclude={"id", "run_id"}), run_id=run.id))
    record_audit(session, "run_retried", actor_id=actor.id, target=f"run:{run_id}",
                 details={"new_run": str(run.id), "from_node": from_node})
    await session.commit()
    await dispatch_committed(run.id)
    return run


async def decide(actor: User, run_id: uuid.UUID, *, approve: bool, comment: str = "",
                 session: AsyncSession) -> RunPublic:
    """Approve (the run continues) or reject (it fails) a run waiting at a human approval node."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    run = await _get(actor, run_id, session)
    if run.status is not RunStatus.WAITING:
        raise errors.Conflict(f"Run {run_id} is {run.status.value}, not waiting for an approval.")
    claims = run.claims
    waiting = (await session.exec(select(Step).where(col(Step.run_id) == run_id,
                                                     col(Step.status) == StepStatus.WAITING))).all()
    now = utcnow()
    decision = {"decision": "approved" if approve else "rejected", "comment": comment,
                "decided_by": actor.email, "decided_at": now.isoformat()}
    claimed = await session.exec(update(Run).where(
        col(Run.id) == run_id, col(Run.status) == RunStatus.WAITING).values(
        status=RunStatus.QUEUED if approve else RunStatus.FAILED, finished_at=None if approve else now,
        error=None if approve else f"rejected by {actor.email}" + (f": {comment}" if comment else "")))
    if claimed.rowcount != 1:
        await session.rollback()
        raise errors.Conflict(f"Run {run_id} was decided by someone else a moment ago.")
    for step in waiting:
        step.output = {**(step.output or {}), **decision}
        step.status = StepStatus.SUCCEEDED if approve else StepStatus.FAILED
        step.error = None if approve else f"rejected by {actor.email}"
        step.finished_at = now
        step.logs = [*step.logs, {"at_ms": _step_ms(step, now), "level": "info" if approve else "error",
                                  "message": f"{decision['decision']} by {actor.email}" + (f": {comment[:200]}"
                                                                                          if comment else "")}]
        session.add(step)
    record_audit(session, "run_approved" if approve else "run_rejected", actor_id=actor.id, target=f"run:{run_id}",
                 details={"comment": comment[:500]})
    await session.commit()
    if approve:
        await dispatch_committed(run_id, claims=claims)
    await session.refresh(run)
    return RunPublic.model_validate(run, from_attributes=True)


async def analytics(actor: User, workflow_id: int, *, session: AsyncSession) -> WorkflowAnalytics:
    """Run counts by status, success rate, duration percentiles, tokens and cost of one workflow."""
    require(actor.role, Permission.VIEW)
    await workflows.get_visible(actor, workflow_id, session=session)
    by_status = dict((await session.exec(select(Run.status, func.count()).where(
        col(Run.workflow_id) == workflow_id).group_by(col(Run.status)))).all())
    totals = (await session.exec(select(func.coalesce(func.sum(Run.total_tokens), 0),
                                        func.coalesce(func.sum(Run.total_cost), 0.0))
                                 .where(col(Run.workflow_id) == workflow_id))).one()
    durations = sorted(value for value in (await session.exec(select(Run.duration_ms).where(
        col(Run.workflow_id) == workflow_id, col(Run.duration_ms).is_not(None))
        .order_by(col(Run.created_at).desc()).limit(10_000))).all() if value is not None)
    succeeded, failed = by_status.get(RunStatus.SUCCEEDED, 0), by_status.get(RunStatus.FAILED, 0)
    return WorkflowAnalytics(
        workflow_id=workflow_id, runs=sum(by_status.values()),
        by_status={str(RunStatus(status).value): count for status, count in by_status.items()},
        success_rate=succeeded / (succeeded + failed) if succeeded + failed else None,
        duration_ms_p50=_percentile(durations, 0.5), duration_ms_p95=_percentile(durations, 0.95),
        total_tokens=int(totals[0]), total_cost=float(totals[1]))


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _step_ms(step: Step, now: datetime) -> float:
    """Milliseconds from the step's start to ``now`` (a log line's ``at_ms``)."""
    return round((now - step.started_at).total_seconds() * 1000, 1) if step.started_at else 0.0
