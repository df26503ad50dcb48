"""The engine on a real database: order, parallelism, branches, fan-out, timeouts, cancellation,
approval, resumption after a dead worker, quick steps committed with the next write, and version pinning."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from models.base import utcnow
from models.run import Run, RunStatus, StepStatus, Trigger
from models.user import User
from models.workflow import GraphUpdate, WorkflowCreate
from services import errors
from services.db import get_engine, open_session
from services.workflows import runs
from services.workflows import service as workflows
from services.workflows.engine import EngineOptions, execute_run
from services.workflows.events import get_event_bus
from services.workflows.run_store import RunStore, StepRecord
from tests.unit.services.workflows.conftest import drain


def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    return {"source": source, "target": target, **({"source_handle": handle} if handle else {})}


async def run_graph(user: User, graph: dict[str, Any], parameters: dict[str, Any] | None = None) -> Any:
    async with open_session() as session:
        workflow = await workflows.create(user, WorkflowCreate(name="t", graph=graph), session=session)
        assert workflow.id is not None
        run = await runs.start_run(workflow.id, parameters or {}, session=session, trigger=Trigger.API, actor=user)
    await drain()
    async with open_session() as session:
        return await runs.get_run(user, run.id, session=session)


def steps_by_node(detail: Any) -> dict[str, Any]:
    return {step.node_id: step for step in detail.steps}


async def test_chain_runs_in_order_and_saves_the_output_document(editor: User) -> None:
    graph = {"nodes": [node("in", "input", fields=["topic"]),
                       node("draft", "template", template="# {{ in.topic | title }}\n\nAbout {{ params.topic }}."),
                       node("out", "output", title="Report on {{ in.topic }}")],
             "edges": [edge("in", "draft"), edge("draft", "out")]}
    detail = await run_graph(editor, graph, {"topic": "river otters"})
    assert detail.status is RunStatus.SUCCEEDED, detail.error
    assert [step.node_id for step in detail.steps] == ["in", "draft", "out"]
    assert steps_by_node(detail)["out"].output["content"] == "# River Otters\n\nAbout river otters."
    assert detail.documents[0]["title"] == "Report on river otters"
    assert detail.duration_ms is not None and detail.finished_at is not None


async def test_missing_input_field_is_refused_naming_it(editor: User) -> None:
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(
            name="t", graph={"nodes": [node("in", "input", fields=["topic", "tone"])], "edges": []}), session=session)
        assert workflow.id is not None
        with pytest.raises(errors.ValidationFailed, match="tone"):
            await runs.start_run(workflow.id, {"topic": "x"}, session=session, trigger=Trigger.API, actor=editor)


async def test_independent_branches_run_at_the_same_time(editor: User) -> None:
    graph = {"nodes": [node("in", "input"), node("a", "delay", seconds=0.3), node("b", "delay", seconds=0.3),
                       node("join", "merge")],
             "edges": [edge("in", "a"), edge("in", "b"), edge("a", "join"), edge("b", "join")]}
    detail = await run_graph(editor, graph)
    steps = steps_by_node(detail)
    a, b = steps["a"], steps["b"]
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # their lifetimes overlap
    assert steps["join"].output["inputs"] == ["a", "b"]


async def test_condition_takes_one_branch_and_skips_the_other(editor: User) -> None:
    graph = {"nodes": [node("in", "input", fields=["score"]),
                       node("check", "condition", expression="number(in.score) > 0.5"),
                       node("yes", "template", template="high"), node("no", "template", template="low"),
                       node("out", "merge")],
             "edges": [edge("in", "check"), edge("check", "yes", "true"), edge("check", "no", "false"),
                       edge("yes", "out"), edge("no", "out")]}
    detail = await run_graph(editor, graph, {"score": "0.9"})
    steps = steps_by_node(detail)
    assert steps["yes"].status is StepStatus.SUCCEEDED and steps["no"].status is StepStatus.SKIPPED
    assert steps["out"].output["content"] == "high"
    assert "number(in.score) > 0.5 gave 'True': took the true branch" in [line.message for line in steps["check"].logs]
    assert [line.message for line in steps["no"].logs] == ["skipped: no incoming branch carried a result"]


async def test_map_fans_out_over_a_list_and_gathers_in_order(editor: User) -> None:
    graph = {"nodes": [node("in", "input", fields=["names"]),
                       node("each", "map", items="in.names", concurrency=2,
                            node={"type": "template", "config": {"template": "{{ index }}:{{ item | upper }}"}})],
             "edges": [edge("in", "each")]}
    detail = await run_graph(editor, graph, {"names": ["ada", "grace", "linus"]})
    output = steps_by_node(detail)["each"].output
    assert output["content"] == "0:ADA\n\n1:GRACE\n\n2:LINUS" and output["count"] == 3


async def test_node_over_its_timeout_fails_the_run_with_the_reason(editor: User) -> None:
    graph = {"nodes": [node("slow", "delay", seconds=5, timeout_seconds=0.2)], "edges": []}
    detail = await run_graph(editor, graph)
    assert detail.status is RunStatus.FAILED
    assert "timed out" in (detail.error or "") and steps_by_node(detail)["slow"].status is StepStatus.FAILED


async def test_template_cannot_reach_python_internals(editor: User) -> None:
    graph = {"nodes": [node("t", "template", template="[{{ ''.__class__.__mro__ }}{{ params.__init__ }}]")],
             "edges": []}
    detail = await run_graph(editor, graph)
    step = steps_by_node(detail)["t"]
    assert detail.status is RunStatus.FAILED and step.status is StepStatus.FAILED
    assert "sandbox forbids" in (step.error or "") and step.output is None
    assert [line.level for line in step.logs] == ["info", "error", "error"]
    assert step.logs[-1].message == "not retried: this failure is not retryable"


async def test_failed_template_is_not_retried(editor: User) -> None:
    graph = {"nodes": [node("bad", "template", template="{{ 1 // 0 }}", retries=3)], "edges": []}
    detail = await run_graph(editor, graph)
    step = steps_by_node(detail)["bad"]
    assert detail.status is RunStatus.FAILED and step.attempt == 1


async def test_running_run_can_be_cancelled(editor: User) -> None:
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(
            name="t", graph={"nodes": [node("wait", "delay", seconds=30)], "edges": []}), session=session)
        assert workflow.id is not None
    async with get_event_bus().subscribe() as events:
        async with open_session() as session:
            run = await runs.start_run(workflow.id, {}, session=session, trigger=Trigger.API, actor=editor)

        async def delay_started() -> None:  # cancel a step that is running, not a run still in the queue
            while not ((event := await events.get()).get("node_id") == "wait" and event.get("status") == "running"):
                pass

        await asyncio.wait_for(delay_started(), 10)
    async with open_session() as session:
        await runs.cancel(editor, run.id, session=session)
    await asyncio.wait_for(drain(), 10)
    async with open_session() as session:
        detail = await runs.get_run(editor, run.id, session=session)
    assert detail.status is RunStatus.CANCELLED
    assert steps_by_node(detail)["wait"].status is StepStatus.CANCELLED


async def test_approval_pauses_the_run_until_approved(editor: User) -> None:
    graph = {"nodes": [node("in", "input"), node("review", "human_approval"), node("after", "template",
                                                                                   template="{{ review.decision }}")],
             "edges": [edge("in", "review"), edge("review", "after")]}
    waiting = await run_graph(editor, graph)
    assert waiting.status is RunStatus.WAITING
    async with open_session() as session:
        with pytest.raises(errors.Conflict, match="still waiting"):
            await runs.retry(editor, waiting.id, session=session)
        await runs.decide(editor, waiting.id, approve=True, comment="ok", session=session)
    await drain()
    async with open_session() as session:
        detail = await runs.get_run(editor, waiting.id, session=session)
    assert detail.status is RunStatus.SUCCEEDED
    assert steps_by_node(detail)["after"].output["content"] == "approved"
    review_log = [line.message for line in steps_by_node(detail)["review"].logs]
    assert review_log[-2:] == ["waiting for a person's decision", f"approved by {editor.email}: ok"]


async def test_rejection_fails_the_run_and_a_second_decision_conflicts(editor: User) -> None:
    graph = {"nodes": [node("review", "human_approval")], "edges": []}
    waiting = await run_graph(editor, graph)
    async with open_session() as session:
        rejected = await runs.decide(editor, waiting.id, approve=False, comment="no", session=session)
        assert rejected.status is RunStatus.FAILED and "no" in (rejected.error or "")
        with pytest.raises(errors.Conflict, match="not waiting"):
            await runs.decide(editor, waiting.id, approve=True, session=session)


async def test_a_run_whose_worker_died_resumes_without_rerunning_finished_steps(editor: User) -> None:
    graph = {"nodes": [node("a", "template", template="first"), node("b", "template", template="{{ a.content }}!")],
             "edges": [edge("a", "b")]}
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="t", graph=graph), session=session)
        assert workflow.id is not None
        run = Run(workflow_id=workflow.id, version=1)
        session.add(run)
        await session.commit()
    store = RunStore(get_engine())
    claimed = await store.claim(run.id, "dead-worker", lease_seconds=30)
    assert claimed is not None
    finished_a = utcnow() - timedelta(seconds=5)
    await store.save_steps(run.id, workflow.id, None, [StepRecord(
        node_id="a", node_type="template", status=StepStatus.SUCCEEDED, output={"content": "first", "metadata": {}},
        started_at=finished_a, finished_at=finished_a)])
    options = EngineOptions(worker_id="live-worker", lease_seconds=30, max_parallel=4, default_timeout=10)
    assert await execute_run(run.id, store=store, bus=get_event_bus(), options=options) is None  # lease still held
    async with get_engine().begin() as conn:  # the dead worker's lease runs out
        await conn.execute(update(Run).where(Run.id == run.id).values(lease_expires_at=utcnow() - timedelta(1)))
    assert await execute_run(run.id, store=store, bus=get_event_bus(), options=options) is RunStatus.SUCCEEDED
    async with open_session() as session:
        detail = await runs.get_run(editor, run.id, session=session)
    steps = steps_by_node(detail)
    assert steps["a"].finished_at == finished_a  # not executed again
    assert steps["b"].output["content"] == "first!"


async def test_quick_steps_are_committed_once_a_slow_node_is_running(editor: User) -> None:
    """Input and template steps wait for the run's next write, but not for a node that takes its time."""
    graph = {"nodes": [node("in", "input"), node("t", "template", template="ready"), node("wait", "delay", seconds=1)],
             "edges": [edge("in", "t"), edge("t", "wait")]}
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="t", graph=graph), session=session)
        assert workflow.id is not None
        run = await runs.start_run(workflow.id, {}, session=session, trigger=Trigger.API, actor=editor)
    seen_before_the_delay_ended = False
    status = RunStatus.QUEUED
    while not status.finished:
        async with open_session() as session:
            detail = await runs.get_run(editor, run.id, session=session)
        status = detail.status
        succeeded = {step.node_id for step in detail.steps if step.status is StepStatus.SUCCEEDED}
        seen_before_the_delay_ended |= succeeded == {"in", "t"}
        await asyncio.sleep(0.02)
    await drain()
    assert status is RunStatus.SUCCEEDED
    assert seen_before_the_delay_ended


async def test_a_run_keeps_the_version_it_started_on(editor: User) -> None:
    graph_v1 = {"nodes": [node("t", "template", template="v1")], "edges": []}
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="t", graph=graph_v1), session=session)
        assert workflow.id is not None
        first = await runs.start_run(workflow.id, {}, session=session, trigger=Trigger.API, actor=editor)
        await workflows.save_graph(editor, workflow.id, GraphUpdate(
            graph={"nodes": [node("t", "template", template="v2")], "edges": []}), session=session)
        second = await runs.start_run(workflow.id, {}, session=session, trigger=Trigger.API, actor=editor)
    await drain()
    async with open_session() as session:
        one = await runs.get_run(editor, first.id, session=session)
        two = await runs.get_run(editor, second.id, session=session)
        old = await workflows.graph_of(editor, workflow.id, session=session, version=1)
    assert (one.version, one.steps[0].output["content"]) == (1, "v1")
    assert (two.version, two.steps[0].output["content"]) == (2, "v2")
    assert old.graph["nodes"][0]["config"]["template"] == "v1"


async def test_retry_from_a_node_reuses_earlier_outputs(editor: User) -> None:
    graph = {"nodes": [node("a", "template", template="A"), node("b", "template", template="{{ a.content }}B")],
             "edges": [edge("a", "b")]}
    first = await run_graph(editor, graph)
    async with open_session() as session:
        again = await runs.retry(editor, first.id, from_node="b", session=session)
    await drain()
    async with open_session() as session:
        detail = await runs.get_run(editor, again.id, session=session)
    before, after = steps_by_node(first), steps_by_node(detail)
    assert after["a"].finished_at == before["a"].finished_at  # copied, not re-run
    assert after["b"].finished_at > before["b"].finished_at and after["b"].output["content"] == "AB"


async def test_a_stale_base_version_is_a_conflict(editor: User) -> None:
    graph = {"nodes": [node("t", "template", template="x")], "edges": []}
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="t", graph=graph), session=session)
        assert workflow.id is not None
        await workflows.save_graph(editor, workflow.id, GraphUpdate(graph=graph, base_version=1), session=session)
        with pytest.raises(errors.Conflict, match="version 2"):
            await workflows.save_graph(editor, workflow.id, GraphUpdate(graph=graph, base_version=1), session=session)
