"""Triggers besides "run now": secret webhook URLs, cron schedules, and other runs finishing.

Schedules fire exactly once per due time even with several processes: each fire claims the
schedule by compare-and-set on ``next_fire_at`` in the same transaction that creates the run.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, Field
from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.run import RunAccepted, RunStatus, Trigger
from models.tables import VERSIONS as _VERSIONS
from models.tables import WEBHOOK_TRIGGERS as _HOOKS
from models.tables import WORKFLOWS as _WORKFLOWS
from models.trigger import RunFinishedTrigger, Schedule, WebhookTrigger
from models.user import User
from models.workflow import WorkflowStatus
from services import errors
from services.admission import AdmissionGate
from services.analytics.hooks import record_run_started
from services.auth.audit import record_audit
from services.auth.permissions import Permission, require
from services.db import open_session, open_statement_connection
from services.documents.workflow_inputs import check_run_documents
from services.settings import get_settings
from services.workflows import run_start, runs
from services.workflows import service as workflows
from services.workflows.runtime import dispatch_committed

log = logging.getLogger(__name__)
MAX_DUE_PER_TICK = 100
LAST_USED_PRECISION = timedelta(minutes=1)  # a webhook's last_used_at is at most this old


class WebhookCreated(BaseModel):
    id: int
    workflow_id: int
    token: str = Field(description="Shown once: POST JSON to /api/v3/hooks/{token} to start a run.")
    url_path: str


class ScheduleCreate(BaseModel):
    cron: str = Field(min_length=1, max_length=100, description="e.g. '0 9 * * 1-5' (09:00 on weekdays)")
    timezone: str = Field(default="UTC", max_length=64)
    parameters: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_webhook(actor: User, workflow_id: int, *, session: AsyncSession) -> WebhookCreated:
    """A new secret webhook URL for the workflow; only its hash is stored."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    await workflows.get_visible(actor, workflow_id, session=session)
    token = secrets.token_urlsafe(32)
    hook = WebhookTrigger(workflow_id=workflow_id, token_hash=_hash(token), token_hint=token[:6], created_by=actor.id)
    session.add(hook)
    record_audit(session, "webhook_created", actor_id=actor.id, target=f"workflow:{workflow_id}",
                 details={"token_hint": token[:6]})
    await session.commit()
    assert hook.id is not None
    return WebhookCreated(id=hook.id, workflow_id=workflow_id, token=token, url_path=f"/api/v3/hooks/{token}")


# The hook, its workflow and the workflow's current version, in one round trip.
_FIND_HOOK = (select_columns(_HOOKS.c.id, _HOOKS.c.enabled, _HOOKS.c.last_used_at, _WORKFLOWS.c.id.label("workflow_id"),
                             _WORKFLOWS.c.status, _VERSIONS.c.number.label("version"),
                             _VERSIONS.c.id.label("version_id"), _VERSIONS.c.created_at.label("version_created_at"))
              .join_from(_HOOKS, _WORKFLOWS, _WORKFLOWS.c.id == _HOOKS.c.workflow_id)
              .join(_VERSIONS, and_(_VERSIONS.c.workflow_id == _WORKFLOWS.c.id,
                                    _VERSIONS.c.number == _WORKFLOWS.c.current_version))
              .where(_HOOKS.c.token_hash == bindparam("hook_token_hash")))
# Written only when a minute stale: every call writing the hook's row would queue all concurrent calls
# of one hook behind its row lock until each commit; this takes the lock once a minute, and calls
# that were waiting for it see the fresh time (PostgreSQL re-checks the WHERE) and skip.
_IS_STALE = or_(_HOOKS.c.last_used_at.is_(None), _HOOKS.c.last_used_at < bindparam("stale_before"))
_STAMP_LAST_USE = (update(_HOOKS).where(_HOOKS.c.id == bindparam("hook_id"), _IS_STALE)
                   .values(last_used_at=bindparam("used_at")))
# PostgreSQL, a hook met before: the hook is still enabled, its workflow not archived and still at the
# version whose inputs the parameters were checked against, in the statement that writes the run.
_HOOK_AS_BEFORE = (select_columns(_HOOKS.c.id)
                   .join_from(_HOOKS, _WORKFLOWS, _WORKFLOWS.c.id == _HOOKS.c.workflow_id)
                   .where(_HOOKS.c.token_hash == bindparam("hook_token_hash"), _HOOKS.c.enabled.is_(True),
                          _WORKFLOWS.c.id == bindparam("known_workflow_id"),
                          _WORKFLOWS.c.current_version == bindparam("known_version"),
                          _WORKFLOWS.c.status != WorkflowStatus.ARCHIVED)
                   .cte("hook"))
_STAMP_HOOK_AS_BEFORE = (update(_HOOKS).where(_HOOKS.c.id.in_(select_columns(_HOOK_AS_BEFORE.c.id)), _IS_STALE)
                         .values(last_used_at=bindparam("used_at")))
WEBHOOK_GATE = AdmissionGate("webhook runs", limit=lambda: get_settings().webhook_concurrency,
                             wait_seconds=lambda: get_settings().webhook_queue_seconds)
_REMEMBERED_HOOKS = 1024


@dataclass(frozen=True)
class _KnownHook:
    """What a call of the hook found last time in this process (never trusted: the write re-checks it)."""

    workflow_id: int
    version: int
    inputs: run_start.RunInputs


_known_hooks: dict[str, _KnownHook] = {}  # by token hash


async def run_from_webhook(token: str, payload: dict[str, Any]) -> RunAccepted:
    """Start a run of the hook's workflow with the JSON body as parameters; committed when this returns.

    On PostgreSQL, a hook this process met before costs one statement: it checks that the hook, its
    workflow and the current version are as they were, and writes the run, its audit entry and the
    hook's stale last use, or writes nothing, and then the call reads them afresh (a second and
    third statement). At most ``WEBHOOK_CONCURRENCY`` calls per process are at work at once
    (``WEBHOOK_GATE``); the run is handed to the queue after the commit.
    """
    token_hash = _hash(token)
    async with WEBHOOK_GATE.admitted(), open_statement_connection() as conn:
        known = _known_hooks.get(token_hash) if conn.dialect.name == "postgresql" else None
        run_id = None if known is None else await _start_as_before(conn, token_hash, known, payload)
        if known is None or run_id is None:
            _known_hooks.pop(token_hash, None)
            known, run_id = await _start_from_hook_read_afresh(conn, token_hash, payload)
            if conn.dialect.name == "postgresql":
                _remember(token_hash, known)
    record_run_started(run_id, known.workflow_id, None, str(Trigger.WEBHOOK))
    await dispatch_committed(run_id)
    return RunAccepted(run_id=run_id, status=RunStatus.QUEUED, workflow_id=known.workflow_id, version=known.version)


async def _start_as_before(conn: AsyncConnection, token_hash: str, known: _KnownHook,
                           payload: dict[str, Any]) -> uuid.UUID | None:
    """The run, if the hook is as ``known`` says and ``payload`` passes what is known of its inputs."""
    if not known.inputs.accepts(payload):
        return None  # maybe the inputs changed: the fresh read says what is wrong, if anything
    now = utcnow()
    checks = {"hook_token_hash": token_hash, "known_workflow_id": known.workflow_id, "known_version": known.version,
              "used_at": now, "stale_before": now - LAST_USED_PRECISION}
    return await run_start.insert_queued_run_when(conn, _HOOK_AS_BEFORE, checks, workflow_id=known.workflow_id,
                                                  version=known.version, trigger=Trigger.WEBHOOK,
                                                  parameters=payload, also=_STAMP_HOOK_AS_BEFORE)


async def _start_from_hook_read_afresh(conn: AsyncConnection, token_hash: str,
                                       payload: dict[str, Any]) -> tuple[_KnownHook, uuid.UUID]:
    found = (await conn.execute(_FIND_HOOK, {"hook_token_hash": token_hash})).first()
    if found is None or not found.enabled:
        raise errors.NotFound("No webhook answers at this address.")
    workflow_id, version = int(found.workflow_id), int(found.version)
    if WorkflowStatus(found.status) is WorkflowStatus.ARCHIVED:
        raise errors.Conflict(f"Workflow {workflow_id} is archived; restore it before running it.")
    inputs = await run_start.inputs_of_version(conn, found.version_id, found.version_created_at)
    inputs.check(payload)
    if named := inputs.documents_named(payload):
        async with AsyncSession(bind=conn) as session:
            await check_run_documents(None, named, payload, session=session)
    now = utcnow()
    stale = now - LAST_USED_PRECISION
    stamp = None
    if found.last_used_at is None or found.last_used_at < stale:
        stamp = (_STAMP_LAST_USE, {"hook_id": found.id, "stale_before": stale, "used_at": now})
    run_id = await run_start.insert_queued_run(conn, workflow_id=workflow_id, version=version,
                                               trigger=Trigger.WEBHOOK, parameters=payload, also=stamp)
    return _KnownHook(workflow_id, version, inputs), run_id


def _remember(token_hash: str, known: _KnownHook) -> None:
    if len(_known_hooks) >= _REMEMBERED_HOOKS:
        del _known_hooks[next(iter(_known_hooks))]  # the oldest: dicts keep insertion order
    _known_hooks[token_hash] = known


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time after ``after`` that ``cron`` matches in ``timezone`` (returned in UTC)."""
    zone = ZoneInfo(timezone)
    return croniter(cron, after.astimezone(zone)).get_next(datetime).astimezone(ZoneInfo("UTC"))  # type: ignore[no-any-return]


async def create_schedule(actor: User, workflow_id: int, data: ScheduleCreate, *, session: AsyncSession) -> Schedule:
    require(actor.role, Permission.EDIT_WORKFLOWS)
    await workflows.get_visible(actor, workflow_id, session=session)
    problems = []
    if not croniter.is_valid(data.cron):
        problems.append({"field": "cron", "message": "not a valid cron expression (five fields: min hour day month "
                                                     "weekday)"})
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append({"field": "timezone", "message": f"unknown time zone {data.timezone!r}"})
    if problems:
        raise errors.ValidationFailed(f"The schedule is invalid: {problems[0]['message']}.", details=problems)
    schedule = Schedule(workflow_id=workflow_id, cron=data.cron, timezone=data.timezone, parameters=data.parameters,
                        enabled=data.enabled, created_by=actor.id,
                        next_fire_at=next_fire(data.cron, data.timezone, utcnow()))
    session.add(schedule)
    record_audit(session, "schedule_created", actor_id=actor.id, target=f"workflow:{workflow_id}",
                 details={"cron": data.cron, "timezone": data.timezone, "enabled": data.enabled})
    await session.commit()
    return schedule


async def list_schedules(actor: User, workflow_id: int, *, session: AsyncSession) -> list[Schedule]:
    require(actor.role, Permission.VIEW)
    await workflows.get_visible(actor, workflow_id, session=session)
    return list((await session.exec(select(Schedule).where(col(Schedule.workflow_id) == workflow_id))).all())


async def fire_due_schedules(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Start one run per due schedule, each claimed by compare-and-set so it fires once overall."""
    now = now or utcnow()
    started: list[uuid.UUID] = []
    async with open_session() as session:
        due = (await session.exec(select(Schedule).where(
            col(Schedule.enabled).is_(True), col(Schedule.next_fire_at) <= now)
            .order_by(col(Schedule.next_fire_at)).limit(MAX_DUE_PER_TICK))).all()
        plans = [(s.id, s.workflow_id, s.next_fire_at, next_fire(s.cron, s.timezone, now), dict(s.parameters))
                 for s in due]
    for schedule_id, workflow_id, due_at, following, parameters in plans:
        async with open_session() as session:
            claimed = await session.exec(update(Schedule).where(
                col(Schedule.id) == schedule_id, col(Schedule.next_fire_at) == due_at)
                .values(next_fire_at=following, last_fired_at=now))
            if claimed.rowcount != 1:
                await session.rollback()
                continue  # another process fired it
            try:
                run = await runs.start_run(workflow_id, parameters, session=session, trigger=Trigger.SCHEDULE)
            except errors.DomainError as exc:
                await session.commit()  # keep the claim: a broken schedule must not fire every second
                log.warning("schedule %s could not start a run: %s", schedule_id, exc.message)
                continue
            started.append(run.id)
    return started


async def create_run_finished_trigger(actor: User, workflow_id: int, source_workflow_id: int, on_status: str, *,
                                      session: AsyncSession) -> RunFinishedTrigger:
    """Start ``workflow_id`` whenever a run of ``source_workflow_id`` ends with ``on_status`` (or ``any``)."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    await workflows.get_visible(actor, workflow_id, session=session)
    await workflows.get_visible(actor, source_workflow_id, session=session)
    allowed = {"any", RunStatus.SUCCEEDED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value}
    if on_status not in allowed:
        raise errors.ValidationFailed(f"on_status must be one of {', '.join(sorted(allowed))}.",
                                      details=[{"field": "on_status", "message": "unknown status"}])
    trigger = RunFinishedTrigger(workflow_id=workflow_id, source_workflow_id=source_workflow_id, on_status=on_status,
                                 created_by=actor.id)
    session.add(trigger)
    record_audit(session, "run_trigger_created", actor_id=actor.id, target=f"workflow:{workflow_id}",
                 details={"source_workflow_id": source_workflow_id, "on_status": on_status})
    await session.commit()
    return trigger


async def start_runs_after(run_id: uuid.UUID, workflow_id: int, status: RunStatus) -> list[uuid.UUID]:
    """Start the workflows listening for this run's end; the finished run's id is their ``source_run``."""
    started: list[uuid.UUID] = []
    async with open_session() as session:
        listeners = (await session.exec(select(RunFinishedTrigger).where(
            col(RunFinishedTrigger.source_workflow_id) == workflow_id, col(RunFinishedTrigger.enabled).is_(True),
            col(RunFinishedTrigger.on_status).in_(["any", status.value])))).all()
        targets = [listener.workflow_id for listener in listeners]
    for target in targets:
        async with open_session() as session:
            try:
                run = await runs.start_run(target, {"source_run": str(run_id), "source_status": status.value},
                                           session=session, trigger=Trigger.EVENT)
                started.append(run.id)
            except errors.DomainError as exc:
                log.warning("run-finished trigger of workflow %s did not start: %s", target, exc.message)
    return started
