"""The run viewer's report on a real database: documents in full, and the output diffed against the
previous successful run of the same workflow."""

from __future__ import annotations

import uuid

import pytest

from models.run import RunStatus, Trigger
from models.user import User
from models.workflow import WorkflowCreate
from services import errors
from services.db import open_session
from services.workflows import run_report, runs
from services.workflows import service as workflows
from tests.unit.services.workflows.conftest import drain

TEMPLATE = "# Notes\n\nTopic: {{ in.topic }}\nEnd."
GRAPH = {"nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}},
                   {"id": "draft", "type": "template", "config": {"template": TEMPLATE}},
                   {"id": "out", "type": "output", "config": {"title": "On {{ in.topic }}"}}],
         "edges": [{"source": "in", "target": "draft"}, {"source": "draft", "target": "out"}]}


async def _run(user: User, workflow_id: int, topic: str) -> uuid.UUID:
    async with open_session() as session:
        run = await runs.start_run(workflow_id, {"topic": topic}, session=session, trigger=Trigger.API, actor=user)
    await drain()
    return run.id


async def test_first_run_has_its_document_and_nothing_to_compare(editor: User) -> None:
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="report", graph=GRAPH), session=session)
    assert workflow.id is not None
    run_id = await _run(editor, workflow.id, "otters")
    async with open_session() as session:
        found = await run_report.report(editor, run_id, session=session)
    assert found.run.status is RunStatus.SUCCEEDED
    assert [(d.title, d.node_id) for d in found.documents] == [("On otters", "out")]
    assert found.documents[0].content == "# Notes\n\nTopic: otters\nEnd." == found.output
    assert found.previous_run_id is None and found.diff == []


async def test_second_run_is_diffed_against_the_previous_successful_one(editor: User) -> None:
    async with open_session() as session:
        workflow = await workflows.create(editor, WorkflowCreate(name="report", graph=GRAPH), session=session)
    assert workflow.id is not None
    first = await _run(editor, workflow.id, "otters")
    second = await _run(editor, workflow.id, "beavers")
    async with open_session() as session:
        found = await run_report.report(editor, second, session=session)
    assert found.previous_run_id == first
    assert [(line.kind, line.text) for line in found.diff] == [
        ("same", "# Notes"), ("same", ""), ("removed", "Topic: otters"), ("added", "Topic: beavers"), ("same", "End.")]


def test_a_long_diff_is_cut_and_says_so() -> None:
    lines, truncated = run_report.diff_lines("", "\n".join(str(n) for n in range(50)), limit=10)
    assert len(lines) == 10 and truncated and all(line.kind == "added" for line in lines)


async def test_an_unknown_run_is_not_found(editor: User) -> None:
    async with open_session() as session:
        with pytest.raises(errors.NotFound):
            await run_report.report(editor, uuid.uuid4(), session=session)
