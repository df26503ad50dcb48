"""Documents in workflows: input document fields, the load_document node, batch runs with per-document status."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import col, select

from models.document import Document, DocumentStatus
from models.run import RunStatus, Trigger
from models.user import User
from models.workflow import WorkflowCreate
from services import errors
from services.db import open_session
from services.documents import batch, service
from services.documents.processing import schedule_extraction, wait_for_extractions
from services.documents.service import UploadedFile
from services.workflows import runs
from services.workflows import service as workflows
from tests.unit.services.documents.conftest import make_user
from tests.unit.services.workflows.conftest import drain
from tests.unit.services.workflows.test_engine import edge, node


async def _library(owner: User, *files: tuple[str, bytes]) -> list[Document]:
    async with open_session() as session:
        created = await service.upload(owner, [UploadedFile(name, data) for name, data in files], session=session)
    schedule_extraction([d.id for d in created if d.status is DocumentStatus.PENDING])
    await wait_for_extractions()
    return created


async def _workflow(owner: User, graph: dict) -> int:
    async with open_session() as session:
        workflow = await workflows.create(owner, WorkflowCreate(name="docs", graph=graph), session=session)
    assert workflow.id is not None
    return workflow.id


SUMMARY = {"nodes": [node("in", "input"),
                     node("sum", "template", template="Summary of {{ in.document.title }}: {{ in.content | upper }}"),
                     node("out", "output", title="Summary of {{ in.document.title }}")],
           "edges": [edge("in", "sum"), edge("sum", "out")]}


async def test_a_batch_runs_the_workflow_once_per_document_and_reports_each(owner: User) -> None:
    first, second, broken = await _library(owner, ("alpha.md", b"alpha text"), ("beta.md", b"beta text"),
                                           ("broken.pdf", b"%PDF-1.7 nope"))
    workflow_id = await _workflow(owner, SUMMARY)

    async with open_session() as session:
        started = await batch.start_batch(owner, workflow_id, [first.id, second.id, broken.id], session=session)
    assert [item.status for item in started.items] == ["queued", "queued", "refused"]
    assert "failed" in (started.items[2].error or "")
    await drain()
    async with open_session() as session:
        status = await batch.batch_status(owner, started.batch_id, session=session)

    assert status.done == status.total == 2
    assert {item.status for item in status.items} == {RunStatus.SUCCEEDED.value}
    async with open_session() as session:
        outputs = {d.title: d for d in (await session.exec(
            select(Document).where(col(Document.workflow_id) == workflow_id))).all()}
    assert outputs["Summary of alpha"].content == "Summary of alpha: ALPHA TEXT"
    assert outputs["Summary of beta"].content == "Summary of beta: BETA TEXT"
    assert {i.output_document_ids[0] for i in status.items} == {d.id for d in outputs.values()}

    async with open_session() as session:  # the same batch again: each output gets a version 2
        again = await batch.start_batch(owner, workflow_id, [first.id], session=session)
    await drain()
    async with open_session() as session:
        alpha = await session.get(Document, outputs["Summary of alpha"].id)
        assert alpha is not None and alpha.current_version == 2
        assert (await batch.batch_status(owner, again.batch_id, session=session)).done == 1


async def test_a_run_cannot_read_someone_elses_document(owner: User) -> None:
    [secret] = await _library(owner, ("secret.md", b"the code is 1234"))
    intruder = await make_user()
    workflow_id = await _workflow(intruder, SUMMARY)
    async with open_session() as session:
        with pytest.raises(errors.NotFound):
            await runs.start_run(workflow_id, {"document_id": str(secret.id)}, session=session, trigger=Trigger.API,
                                 actor=intruder)
        refused = await batch.start_batch(intruder, workflow_id, [secret.id], session=session)
    assert refused.items[0].status == "refused"

    loader = await _workflow(intruder, {"nodes": [node("load", "load_document", document_id=str(secret.id)),
                                                  node("out", "output")], "edges": [edge("load", "out")]})
    async with open_session() as session:
        run = await runs.start_run(loader, {}, session=session, trigger=Trigger.API, actor=intruder)
    await drain()
    async with open_session() as session:
        detail = await runs.get_run(intruder, run.id, session=session)
    assert detail.status is RunStatus.FAILED and "1234" not in str(detail.model_dump())


async def test_document_fields_and_load_document_read_the_library(owner: User) -> None:
    report, notes = await _library(owner, ("report.md", b"# Report\n\nprofits up"), ("notes.md", b"call Ada"))
    workflow_id = await _workflow(owner, {
        "nodes": [node("in", "input", document_fields=["report"]),
                  node("load", "load_document", document_id=str(notes.id)),
                  node("mix", "template", template="{{ in.report.title }}|{{ in.content }}|{{ load.content }}"),
                  node("out", "output")],
        "edges": [edge("in", "mix"), edge("load", "mix"), edge("mix", "out")]})
    async with open_session() as session:
        with pytest.raises(errors.ValidationFailed, match="report"):
            await runs.start_run(workflow_id, {}, session=session, trigger=Trigger.API, actor=owner)
        run = await runs.start_run(workflow_id, {"report": str(report.id)}, session=session, trigger=Trigger.API,
                                   actor=owner)
    await drain()
    async with open_session() as session:
        detail = await runs.get_run(owner, run.id, session=session)
    assert detail.status is RunStatus.SUCCEEDED, detail.error
    mixed = next(step for step in detail.steps if step.node_id == "mix")
    assert mixed.output is not None and mixed.output["content"] == "report|# Report\n\nprofits up|call Ada"
    load = next(step for step in detail.steps if step.node_id == "load")
    assert f"read document {notes.id} version 1 (8 characters)" in [line.message for line in load.logs]
    async with open_session() as session:
        with pytest.raises(errors.ValidationFailed, match="document id"):
            await runs.start_run(workflow_id, {"report": "not-an-id"}, session=session, trigger=Trigger.API,
                                 actor=owner)
    assert uuid.UUID(str(report.id))
