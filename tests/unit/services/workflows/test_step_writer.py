"""The step writer on a real database: concurrent writes all land with their types intact, a later
write of a step supersedes an earlier one, one bad write does not fail those sharing its commit, and
a connection the server ended is replaced."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from models.base import utcnow
from models.run import Run, Step, StepStatus
from models.user import User
from models.workflow import WorkflowCreate
from services.db import get_engine, open_session
from services.workflows import service as workflows
from services.workflows.step_writer import step_writer_for


async def _run(editor: User) -> Run:
    graph = {"nodes": [{"id": "a", "type": "template", "config": {"template": "x"}}], "edges": []}
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="w", graph=graph), session=session)
        assert workflow.id is not None
        run = Run(workflow_id=workflow.id, version=1)
        session.add(run)
        await session.commit()
        return run


def _row(run_id: uuid.UUID, node_id: str, **overrides: Any) -> dict[str, Any]:
    now = utcnow()
    return {"run_id": run_id, "node_id": node_id, "node_type": "template", "status": StepStatus.SUCCEEDED.value,
            "attempt": 1, "input": {"from": ["in"]}, "output": {"content": f"text of {node_id}", "metadata": {"n": 1}},
            "error": None, "started_at": now - timedelta(milliseconds=5), "finished_at": now, "duration_ms": 5.0,
            "tokens": 3, "cost": 0.25, **overrides}


async def _steps(run_id: uuid.UUID) -> dict[str, Step]:
    async with open_session() as session:
        rows = (await session.exec(select(Step).where(col(Step.run_id) == run_id))).all()
    return {step.node_id: step for step in rows}


async def test_concurrent_writes_all_land_with_their_types(editor: User) -> None:
    run = await _run(editor)
    writer = step_writer_for(get_engine())
    rows = [_row(run.id, f"n{i}", tokens=i) for i in range(40)]
    await asyncio.gather(*(writer.write([row]) for row in rows))
    stored = await _steps(run.id)
    assert len(stored) == 40
    for row in rows:
        step = stored[row["node_id"]]
        assert step.status is StepStatus.SUCCEEDED
        assert step.output == row["output"] and step.input == {"from": ["in"]}
        assert step.started_at == row["started_at"] and step.finished_at == row["finished_at"]
        assert (step.tokens, step.cost, step.duration_ms, step.error) == (row["tokens"], 0.25, 5.0, None)


async def test_a_later_write_of_a_step_supersedes_the_earlier(editor: User) -> None:
    run = await _run(editor)
    writer = step_writer_for(get_engine())
    await writer.write([_row(run.id, "a", status=StepStatus.RUNNING.value, output=None, finished_at=None)])
    await asyncio.gather(writer.write([_row(run.id, "a", status=StepStatus.FAILED.value, output=None,
                                            error="boom", attempt=1)]),
                         writer.write([_row(run.id, "a", attempt=2)]))
    step = (await _steps(run.id))["a"]
    assert (step.status, step.attempt, step.error) == (StepStatus.SUCCEEDED, 2, None)
    assert step.output == {"content": "text of a", "metadata": {"n": 1}}


async def test_one_bad_write_fails_alone(editor: User) -> None:
    run = await _run(editor)
    writer = step_writer_for(get_engine())
    results = await asyncio.gather(writer.write([_row(run.id, "good-1")]),
                                   writer.write([_row(uuid.uuid4(), "orphan")]),  # no such run: foreign key
                                   writer.write([_row(run.id, "good-2")]), return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert set(await _steps(run.id)) == {"good-1", "good-2"}
    await writer.write([_row(run.id, "after")])  # the writer still works after the failure
    assert "after" in await _steps(run.id)


@pytest.mark.parametrize("count", [1, 3])
async def test_documents_commit_with_their_steps(editor: User, count: int) -> None:
    from services.workflows.run_store import RunStore, StepRecord

    run = await _run(editor)
    records = [StepRecord(node_id=f"out{i}", node_type="output", status=StepStatus.SUCCEEDED,
                          output={"content": f"# Doc {i}", "metadata": {"format": "markdown"}},
                          started_at=utcnow(), finished_at=utcnow(), document_title=f"Doc {i}")
               for i in range(count)]
    await RunStore(get_engine()).save_steps(run.id, run.workflow_id, editor.id, records)
    from models.document import Document

    async with open_session() as session:
        documents = (await session.exec(select(Document).where(col(Document.run_id) == run.id))).all()
    assert sorted(document.title for document in documents) == [f"Doc {i}" for i in range(count)]
    assert set(await _steps(run.id)) == {f"out{i}" for i in range(count)}


async def test_a_write_and_a_claim_after_the_connection_broke_go_through_on_a_new_one(editor: User) -> None:
    if get_engine().dialect.name != "postgresql":
        pytest.skip("the writer's connection is terminated from the server side")
    from sqlalchemy import text

    from services.workflows.run_store import RunStore

    run = await _run(editor)
    writer = step_writer_for(get_engine())
    await writer.write([_row(run.id, "before")])
    async with get_engine().connect() as conn:  # the server ends the writer's session (a restart, a failover)
        ended = (await conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'INSERT INTO steps%'"))).scalars().all()
    assert ended == [True]
    await writer.write([_row(run.id, "after")])
    assert set(await _steps(run.id)) == {"before", "after"}
    async with get_engine().connect() as conn:
        ended = (await conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'INSERT INTO steps%'"))).scalars().all()
    assert ended == [True]
    claimed = await RunStore(get_engine()).claim(run.id, "worker", lease_seconds=30)
    assert claimed is not None and claimed.workflow_id == run.workflow_id
