"""An output node writes one document per workflow (and input document): each run adds a version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from models.document import Document, DocumentSource, DocumentVersion
from models.user import User
from services.ai.search import search
from services.db import get_engine, open_session
from services.workflows import runs
from tests.unit.services.workflows.conftest import drain, editor  # noqa: F401  (fixture)
from tests.unit.services.workflows.test_engine import edge, node, run_graph

GRAPH = {"nodes": [node("in", "input", fields=["topic"]),
                   node("draft", "template", template="About {{ params.topic }}."),
                   node("out", "output", title="Report")],
         "edges": [edge("in", "draft"), edge("draft", "out")]}


async def _versions(document_id: Any) -> list[DocumentVersion]:
    async with open_session() as session:
        return list((await session.exec(select(DocumentVersion).where(col(DocumentVersion.document_id) == document_id)
                                        .order_by(col(DocumentVersion.number)))).all())


async def test_a_second_run_versions_the_first_runs_document(editor: User) -> None:  # noqa: F811
    first = await run_graph(editor, GRAPH, {"topic": "otters"})
    workflow_id = first.workflow_id
    async with open_session() as session:
        second_run = await runs.start_run(workflow_id, {"topic": "beavers"}, session=session, trigger=first.trigger,
                                          actor=editor)
    await drain()
    async with open_session() as session:
        second = await runs.get_run(editor, second_run.id, session=session)
        documents = (await session.exec(select(Document).where(col(Document.workflow_id) == workflow_id))).all()

    assert len(documents) == 1
    document = documents[0]
    assert document.current_version == 2 and document.content == "About beavers."
    assert [(v.number, v.content, v.run_id) for v in await _versions(document.id)] == [
        (1, "About otters.", first.id), (2, "About beavers.", second.id)]
    assert first.documents[0]["version"] == 1 and second.documents[0]["version"] == 2


async def test_an_unversioned_output_makes_a_new_document_each_run(editor: User) -> None:  # noqa: F811
    graph = {**GRAPH, "nodes": [*GRAPH["nodes"][:2], node("out", "output", title="Report", versioned=False)]}
    await run_graph(editor, graph, {"topic": "a"})
    await run_graph(editor, graph, {"topic": "b"})
    async with open_session() as session:
        documents = (await session.exec(select(Document).where(col(Document.owner_id) == editor.id))).all()
    assert sorted(d.content for d in documents) == ["About a.", "About b."]


async def test_search_finds_the_right_document_after_vacuum(live_db: str) -> None:
    documents = [Document(title=f"Note {i}", content=f"word{i} shared", source=DocumentSource.API) for i in range(30)]
    async with open_session() as session:
        session.add_all(documents)
        await session.commit()
        for document in documents[::2]:  # holes in the rowids, which VACUUM may close
            await session.delete(document)
        await session.commit()
    if live_db.startswith("sqlite"):
        async with get_engine().connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM"))

    kept = documents[1::2]
    for document in kept[:5]:
        hits = await search(document.content.split()[0], owner_id=None)
        assert [hit.document_id for hit in hits] == [document.id]
    async with open_session() as session:
        await session.delete(await session.get(Document, kept[0].id))
        await session.commit()
    assert await search(kept[0].content.split()[0], owner_id=None) == []
