"""The template gallery's graphs validate and run offline; the list page's run summaries and duplicate."""

from __future__ import annotations

import pytest

from models.run import RunStatus, Trigger
from models.user import User
from models.workflow import WorkflowStatus
from services import errors
from services.db import open_session
from services.workflows import gallery, listing, runs
from services.workflows.graph import Graph
from services.workflows.validation import validate_graph
from tests.unit.services.workflows.conftest import drain


@pytest.mark.parametrize("template", gallery.TEMPLATES, ids=lambda t: t.key)
def test_every_template_graph_validates(template: gallery.Template) -> None:
    graph = validate_graph(template.graph)
    assert graph.nodes_of_type("input") and (graph.nodes_of_type("output") or graph.nodes_of_type("notify"))


def test_the_gallery_has_the_promised_workflows() -> None:
    types = {t.key: {n["type"] for n in t.graph["nodes"]} for t in gallery.TEMPLATES}
    assert len(gallery.TEMPLATES) >= 5
    assert "condition" in types["support-ticket-routing"]
    assert "human_approval" in types["translate-review"]
    assert len({t.key for t in gallery.TEMPLATES}) == len(gallery.TEMPLATES)


def test_unknown_template_is_not_found() -> None:
    with pytest.raises(errors.NotFound):
        gallery.get_template("no-such-template")


async def test_a_template_becomes_a_draft_that_runs_offline(editor: User) -> None:
    async with open_session() as session:
        workflow = await gallery.create_from_template(editor, "blog-post", session=session)
        assert workflow.id is not None and workflow.status is WorkflowStatus.DRAFT
        run = await runs.start_run(workflow.id, {"topic": "tidal power", "outline": "- why\n- how"},
                                   session=session, trigger=Trigger.MANUAL, actor=editor)
    await drain()
    async with open_session() as session:
        detail = await runs.get_run(editor, run.id, session=session)
    assert detail.status is RunStatus.SUCCEEDED, detail.error
    assert {step.node_id for step in detail.steps} == {n.id for n in Graph.model_validate(
        gallery.BLOG_POST.graph).nodes}


async def test_list_shows_last_run_and_success_rate_and_duplicate_copies_the_graph(editor: User) -> None:
    async with open_session() as session:
        workflow = await gallery.create_from_template(editor, "weekly-digest", session=session,
                                                      name="Digest for listing test")
        assert workflow.id is not None
        await runs.start_run(workflow.id, {"content": "item one"}, session=session, trigger=Trigger.MANUAL,
                             actor=editor)
    await drain()
    async with open_session() as session:
        page = await listing.list_with_runs(editor, session=session, search="digest for listing")
        copy = await listing.duplicate(editor, workflow.id, session=session)
        copied = await listing.list_with_runs(editor, session=session, search="digest for listing test (copy)")
    row = next(r for r in page.rows if r.workflow.id == workflow.id)
    assert row.runs.last_status == RunStatus.SUCCEEDED.value and row.runs.success_rate == 1.0
    assert row.runs.last_at is not None
    assert copy.id != workflow.id and [r.workflow.id for r in copied.rows] == [copy.id]
    assert copied.rows[0].runs.last_status is None and copied.rows[0].runs.success_rate is None
