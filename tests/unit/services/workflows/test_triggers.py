"""Cron schedules fire once per due time even when several loops race; bad schedules are refused; a webhook
call's run is committed with its audit entry before the call returns, or nothing is written; a finished run
starts the workflows listening for its status."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from models.audit import AuditLog
from models.base import utcnow
from models.run import Run, RunAccepted, RunStatus, Trigger
from models.trigger import Schedule, WebhookTrigger
from models.user import User
from models.workflow import GraphUpdate, WorkflowCreate
from services import errors
from services.db import open_session
from services.workflows import runs, triggers
from services.workflows import service as workflows
from tests.unit.services.workflows.conftest import drain


async def test_a_due_schedule_fires_exactly_once_across_racing_schedulers(editor: User) -> None:
    graph = {"nodes": [{"id": "t", "type": "template", "config": {"template": "tick"}}], "edges": []}
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="cron", graph=graph), session=session)
        assert workflow.id is not None
        schedule = await triggers.create_schedule(editor, workflow.id, triggers.ScheduleCreate(cron="*/5 * * * *"),
                                                  session=session)
        assert schedule.next_fire_at is not None and schedule.next_fire_at > utcnow()
        await session.exec(update(Schedule).where(col(Schedule.id) == schedule.id)  # type: ignore[call-overload]
                           .values(next_fire_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    fired = await asyncio.gather(*(triggers.fire_due_schedules() for _ in range(4)))
    await drain()
    assert sum(len(runs) for runs in fired) == 1
    async with open_session() as session:
        runs = (await session.exec(select(Run).where(col(Run.workflow_id) == workflow.id))).all()
        refreshed = await session.get(Schedule, schedule.id)
    assert [run.trigger for run in runs] == [Trigger.SCHEDULE]
    assert refreshed is not None and refreshed.next_fire_at is not None and refreshed.next_fire_at > utcnow()


async def test_an_invalid_cron_or_time_zone_is_refused(editor: User) -> None:
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="cron"), session=session)
        assert workflow.id is not None
        with pytest.raises(errors.ValidationFailed) as caught:
            await triggers.create_schedule(editor, workflow.id, triggers.ScheduleCreate(
                cron="every tuesday", timezone="Mars/Olympus"), session=session)
    assert {problem["field"] for problem in caught.value.details} == {"cron", "timezone"}


async def test_many_calls_of_one_webhook_all_start_runs_and_stamp_its_last_use_once_a_minute(editor: User) -> None:
    graph = {"nodes": [{"id": "t", "type": "template", "config": {"template": "hook"}}], "edges": []}
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="hooked", graph=graph), session=session)
        assert workflow.id is not None
        created = await triggers.create_webhook(editor, workflow.id, session=session)

    async def call() -> RunAccepted:
        return await triggers.run_from_webhook(created.token, {})

    started = await asyncio.gather(*(call() for _ in range(8)))
    await drain()
    async with open_session() as session:
        hook = await session.get(WebhookTrigger, created.id)
        assert hook is not None and hook.last_used_at is not None
        first_use = hook.last_used_at
    await call()
    await drain()
    async with open_session() as session:
        hook = await session.get(WebhookTrigger, created.id)
        assert hook is not None and hook.last_used_at == first_use  # within the minute: not written again
        await session.exec(update(WebhookTrigger).where(col(WebhookTrigger.id) == created.id)  # type: ignore[call-overload]
                           .values(last_used_at=first_use - triggers.LAST_USED_PRECISION - timedelta(seconds=1)))
        await session.commit()
    await call()
    await drain()
    async with open_session() as session:
        hook = await session.get(WebhookTrigger, created.id)
        assert hook is not None and hook.last_used_at is not None and hook.last_used_at > first_use
    assert len({run.run_id for run in started}) == 8


async def test_a_finished_run_starts_the_workflows_listening_for_its_status_and_no_others(editor: User) -> None:
    graph = {"nodes": [{"id": "t", "type": "template", "config": {"template": "done"}}], "edges": []}
    async with open_session() as session:
        created = [await workflows.create(editor, WorkflowCreate(name=name, graph=graph), session=session)
                   for name in ("source", "on success", "on any end", "on failure", "switched off")]
        source, on_success, on_any, on_failure, switched_off = (workflow.id for workflow in created)
        assert source is not None and None not in (on_success, on_any, on_failure, switched_off)
        for target, status in ((on_success, "succeeded"), (on_any, "any"), (on_failure, "failed"),
                               (switched_off, "succeeded")):
            assert target is not None
            listener = await triggers.create_run_finished_trigger(editor, target, source, status, session=session)
        listener.enabled = False
        session.add(listener)
        await session.commit()
        first = await runs.start_run(source, {}, session=session, trigger=Trigger.API, actor=editor)
    await drain()  # the source run and the runs it started
    async with open_session() as session:
        started = (await session.exec(select(Run).where(col(Run.trigger) == Trigger.EVENT))).all()
    assert sorted(run.workflow_id for run in started) == sorted([on_success, on_any])
    assert all(run.parameters == {"source_run": str(first.id), "source_status": "succeeded"} for run in started)


def _input_graph(*fields: str) -> dict[str, Any]:
    return {"nodes": [{"id": "in", "type": "input", "config": {"fields": list(fields)}},
                      {"id": "t", "type": "template", "config": {"template": "{{ params }}"}}],
            "edges": [{"source": "in", "target": "t"}]}


async def _hooked_workflow(editor: User, graph: dict[str, Any]) -> tuple[int, triggers.WebhookCreated]:
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="hooked", graph=graph), session=session)
        assert workflow.id is not None
        return workflow.id, await triggers.create_webhook(editor, workflow.id, session=session)


async def _started_runs(workflow_id: int) -> tuple[list[Run], list[AuditLog]]:
    async with open_session() as session:
        started = (await session.exec(select(Run).where(col(Run.workflow_id) == workflow_id))).all()
        audited = (await session.exec(select(AuditLog).where(col(AuditLog.action) == "run_started"))).all()
    return list(started), list(audited)


async def test_a_webhook_run_is_in_the_database_with_its_audit_entry_when_the_call_returns(editor: User) -> None:
    workflow_id, hook = await _hooked_workflow(editor, _input_graph("topic"))
    accepted = await triggers.run_from_webhook(hook.token, {"topic": "from a hook"})
    # Read before the dispatched run can change anything: what the call promised is already committed.
    runs, audited = await _started_runs(workflow_id)
    assert [(run.id, run.trigger, run.version, run.parameters) for run in runs] == [
        (accepted.run_id, Trigger.WEBHOOK, 1, {"topic": "from a hook"})]
    assert accepted.status is RunStatus.QUEUED and accepted.workflow_id == workflow_id and accepted.version == 1
    assert [(entry.actor_id, entry.target, entry.details) for entry in audited] == [
        (None, f"run:{accepted.run_id}", {"workflow_id": workflow_id, "version": 1, "trigger": "webhook"})]
    await drain()


async def test_a_webhook_call_that_cannot_start_a_run_writes_nothing(editor: User) -> None:
    workflow_id, hook = await _hooked_workflow(editor, _input_graph("topic", "tone"))
    with pytest.raises(errors.ValidationFailed) as missing:
        await triggers.run_from_webhook(hook.token, {"topic": "x"})
    assert missing.value.details == [{"field": "parameters.tone", "message": "required by the input node"}]
    accepted = await triggers.run_from_webhook(hook.token, {"topic": "x", "tone": "dry"})
    await drain()
    # The process has met the hook now; what changed since must still be seen.
    async with open_session() as session:
        await workflows.archive(editor, workflow_id, session=session)
    with pytest.raises(errors.Conflict):
        await triggers.run_from_webhook(hook.token, {"topic": "x", "tone": "dry"})
    async with open_session() as session:
        await session.exec(update(WebhookTrigger).where(col(WebhookTrigger.id) == hook.id)  # type: ignore[call-overload]
                           .values(enabled=False))
        await session.commit()
    with pytest.raises(errors.NotFound):
        await triggers.run_from_webhook(hook.token, {"topic": "x", "tone": "dry"})
    with pytest.raises(errors.NotFound):
        await triggers.run_from_webhook("no-such-token", {})
    runs, audited = await _started_runs(workflow_id)
    assert [run.id for run in runs] == [accepted.run_id]
    assert [entry.target for entry in audited] == [f"run:{accepted.run_id}"]


async def test_a_webhook_runs_the_current_version_with_what_that_version_requires(editor: User) -> None:
    workflow_id, hook = await _hooked_workflow(editor, _input_graph("topic"))
    first = await triggers.run_from_webhook(hook.token, {"topic": "x"})
    async with open_session() as session:
        await workflows.save_graph(editor, workflow_id, GraphUpdate(graph=_input_graph("topic", "tone")),
                                   session=session)
    with pytest.raises(errors.ValidationFailed):
        await triggers.run_from_webhook(hook.token, {"topic": "x"})  # version 1's inputs are not reused
    second = await triggers.run_from_webhook(hook.token, {"topic": "x", "tone": "dry"})
    third = await triggers.run_from_webhook(hook.token, {"topic": "y", "tone": "wry"})
    assert (first.version, second.version, third.version) == (1, 2, 2)
    await drain()
    runs, audited = await _started_runs(workflow_id)
    assert sorted((run.version, run.parameters["topic"]) for run in runs) == [(1, "x"), (2, "x"), (2, "y")]
    assert len(audited) == 3
