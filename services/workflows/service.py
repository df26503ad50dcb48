"""Workflows: create, read, edit (every graph save is a new immutable version), archive, export.

Every public function takes the acting user and the session keyword-only, checks the role,
and commits once at its end.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, Text, bindparam, cast, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.tables import WORKFLOWS
from models.user import User
from models.workflow import (
    GraphPublic,
    GraphUpdate,
    NodeCreate,
    NodeUpdate,
    VersionPublic,
    Workflow,
    WorkflowCreate,
    WorkflowDetail,
    WorkflowExport,
    WorkflowPublic,
    WorkflowsPublic,
    WorkflowStatus,
    WorkflowUpdate,
    WorkflowVersion,
    WorkflowVisibility,
)
from services import errors
from services.analytics.hooks import record_workflow_created, record_workflow_edited
from services.auth.audit import record_audit
from services.auth.permissions import Permission, allows, require
from services.page_reads import PageRead
from services.workflows.graph import EdgeSpec, Graph, NodeSpec
from services.workflows.validation import validate_graph

EXPORT_FORMAT = "dwc.workflow/v1"


def _clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip().lower()[:40] for tag in tags if tag.strip()))


async def get(workflow_id: int, *, session: AsyncSession) -> Workflow:
    """The workflow, or ``NotFound``."""
    workflow = await session.get(Workflow, workflow_id)
    if workflow is None:
        raise errors.NotFound(f"Workflow {workflow_id} does not exist.")
    return workflow


def can_see(actor: User, workflow: Workflow) -> bool:
    """Workspace workflows are everyone's; a private one is its owner's and the admins'."""
    return may_see(actor, workflow.visibility, workflow.owner_id)


def may_see(actor: User, visibility: WorkflowVisibility, owner_id: uuid.UUID | None) -> bool:
    """``can_see`` for a workflow read as columns rather than as a row object."""
    return (visibility is WorkflowVisibility.WORKSPACE or owner_id == actor.id
            or allows(actor.role, Permission.ADMINISTER))


async def get_visible(actor: User, workflow_id: int, *, session: AsyncSession) -> Workflow:
    """The workflow if ``actor`` may see it; ``NotFound`` otherwise (a private workflow's existence is not told)."""
    workflow = await get(workflow_id, session=session)
    if not can_see(actor, workflow):
        raise errors.NotFound(f"Workflow {workflow_id} does not exist.")
    return workflow


async def get_version(workflow_id: int, number: int, *, session: AsyncSession) -> WorkflowVersion:
    result = await session.exec(select(WorkflowVersion).where(
        col(WorkflowVersion.workflow_id) == workflow_id, col(WorkflowVersion.number) == number))
    version = result.first()
    if version is None:
        raise errors.NotFound(f"Workflow {workflow_id} has no version {number}.")
    return version


async def detail(actor: User, workflow_id: int, *, session: AsyncSession) -> WorkflowDetail:
    require(actor.role, Permission.VIEW)
    workflow = await get_visible(actor, workflow_id, session=session)
    version = await get_version(workflow_id, workflow.current_version, session=session)
    return WorkflowDetail(**WorkflowPublic.model_validate(workflow, from_attributes=True).model_dump(),
                          graph=version.graph)


async def create(actor: User, data: WorkflowCreate, *, session: AsyncSession) -> Workflow:
    """A new draft workflow whose graph (validated) is version 1."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    graph = validate_graph(data.graph)
    workflow = Workflow(name=data.name.strip(), description=data.description, tags=_clean_tags(data.tags),
                        visibility=data.visibility, owner_id=actor.id, current_version=1)
    session.add(workflow)
    await session.flush()
    assert workflow.id is not None
    session.add(WorkflowVersion(workflow_id=workflow.id, number=1, graph=graph.model_dump(mode="json"),
                                author_id=actor.id, message="created"))
    record_audit(session, "workflow_created", actor_id=actor.id, target=f"workflow:{workflow.id}")
    await session.commit()
    record_workflow_created(workflow.id, actor.id)
    return workflow


_PUBLIC_COLUMNS = [WORKFLOWS.c[name] for name in WorkflowPublic.model_fields]


@functools.cache
def _page_read(*, by_status: bool, everyone: bool, searching: bool, tagged: bool) -> PageRead[WorkflowPublic]:
    """The page query for one combination of filters (at most 16 of them, each compiled once)."""
    c = WORKFLOWS.c

    def build() -> Select[Any]:
        conditions: list[ColumnElement[bool]] = [c.status == bindparam("status", type_=c.status.type) if by_status
                                                 else c.status != WorkflowStatus.ARCHIVED]
        if not everyone:
            conditions.append(or_(c.visibility == WorkflowVisibility.WORKSPACE,
                                  c.owner_id == bindparam("actor_id", type_=c.owner_id.type)))
        if searching:
            conditions.append(or_(func.lower(c.name).like(bindparam("pattern")),
                                  func.lower(cast(c.tags, Text)).like(bindparam("pattern"))))
        if tagged:
            conditions.append(func.lower(cast(c.tags, Text)).like(bindparam("tag_pattern")))
        # The total rides along with the page (one query, not a count(*) beside it).
        return (sa_select(*_PUBLIC_COLUMNS, func.count().over().label("total")).where(*conditions)
                .order_by(c.updated_at.desc(), c.id.desc()).offset(bindparam("offset")).limit(bindparam("limit")))

    return PageRead(build, WorkflowPublic)


def _filtered(actor: User, search: str, status: WorkflowStatus | None,
              tag: str) -> tuple[PageRead[WorkflowPublic], dict[str, Any]]:
    """The page read for these filters, and the values it compares with."""
    require(actor.role, Permission.VIEW)
    search, tag = search.strip().lower(), tag.strip().lower()
    read = _page_read(by_status=status is not None, everyone=allows(actor.role, Permission.ADMINISTER),
                      searching=bool(search), tagged=bool(tag))
    return read, {"status": status, "actor_id": actor.id, "pattern": f"%{search}%", "tag_pattern": f'%"{tag}"%'}


async def list_workflows(actor: User, *, session: AsyncSession, offset: int = 0, limit: int = 50, search: str = "",
                         status: WorkflowStatus | None = None, tag: str = "") -> WorkflowsPublic:
    """A page of workflows, newest edit first; archived ones only when asked for by status."""
    read, values = _filtered(actor, search, status, tag)
    rows, count = await read.models(session, offset=offset, limit=limit, **values)
    return WorkflowsPublic.model_construct(data=rows, count=count)


async def list_workflows_json(actor: User, *, session: AsyncSession, offset: int = 0, limit: int = 50,
                              search: str = "", status: WorkflowStatus | None = None, tag: str = "") -> bytes:
    """``list_workflows`` as its JSON body, built by the database where it can (``services.page_reads``).

    The busiest read of the API, which every dashboard and client polls.
    """
    read, values = _filtered(actor, search, status, tag)
    return await read.json(session, offset=offset, limit=limit, **values)


async def update_workflow(actor: User, workflow_id: int, data: WorkflowUpdate, *, session: AsyncSession) -> Workflow:
    """Rename, describe, retag or change the status of a workflow."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    workflow = await get_visible(actor, workflow_id, session=session)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("visibility") is not None and workflow.owner_id != actor.id:
        require(actor.role, Permission.ADMINISTER)  # who sees a workflow is its owner's call (or an admin's)
    if "tags" in changes:
        changes["tags"] = _clean_tags(changes["tags"] or [])
    if changes.get("name") is not None:
        changes["name"] = changes["name"].strip()
    for name, value in changes.items():
        if value is not None:
            setattr(workflow, name, value)
    workflow.updated_at = utcnow()
    session.add(workflow)
    record_audit(session, "workflow_updated", actor_id=actor.id, target=f"workflow:{workflow_id}",
                 details={"fields": sorted(changes)})
    await session.commit()
    record_workflow_edited(workflow_id, actor.id)
    return workflow


async def archive(actor: User, workflow_id: int, *, session: AsyncSession) -> Workflow:
    """Soft delete: the workflow, its versions and runs stay readable. Owner or admin only."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    workflow = await get_visible(actor, workflow_id, session=session)
    if workflow.owner_id != actor.id:
        require(actor.role, Permission.ADMINISTER)
    workflow.status = WorkflowStatus.ARCHIVED
    workflow.updated_at = utcnow()
    session.add(workflow)
    record_audit(session, "workflow_archived", actor_id=actor.id, target=f"workflow:{workflow_id}")
    await session.commit()
    return workflow


async def graph_of(actor: User, workflow_id: int, *, session: AsyncSession, version: int | None = None) -> GraphPublic:
    require(actor.role, Permission.VIEW)
    workflow = await get_visible(actor, workflow_id, session=session)
    row = await get_version(workflow_id, version or workflow.current_version, session=session)
    return GraphPublic(version=row.number, graph=row.graph)


async def save_graph(actor: User, workflow_id: int, data: GraphUpdate, *, session: AsyncSession) -> GraphPublic:
    """Validate and store the graph as the next version. A stale ``base_version`` is a conflict."""
    require(actor.role, Permission.EDIT_WORKFLOWS)
    graph = validate_graph(data.graph)
    workflow = await get_visible(actor, workflow_id, session=session)
    if workflow.status is WorkflowStatus.ARCHIVED:
        raise errors.Conflict("This workflow is archived; restore it (set its status to draft) before editing.")
    expected = data.base_version if data.base_version is not None else workflow.current_version
    number = expected + 1
    # Compare-and-set on current_version: of two saves from the same base, exactly one wins.
    result = await session.exec(update(Workflow).where(
        col(Workflow.id) == workflow_id, col(Workflow.current_version) == expected)
        .values(current_version=number, updated_at=utcnow()))
    if result.rowcount != 1:
        await session.rollback()
        current = (await session.exec(select(Workflow.current_version).where(col(Workflow.id) == workflow_id))).one()
        raise errors.Conflict(
            f"Someone saved this workflow after you opened it (it is now at version {current}, "
            f"you edited version {expected}). Reload to see their changes, then apply yours again.",
            details={"current_version": current, "base_version": expected})
    session.add(WorkflowVersion(workflow_id=workflow_id, number=number, graph=graph.model_dump(mode="json"),
                                author_id=actor.id, message=data.message))
    record_audit(session, "workflow_graph_saved", actor_id=actor.id, target=f"workflow:{workflow_id}",
                 details={"version": number})
    await session.commit()
    record_workflow_edited(workflow_id, actor.id, version=number)
    return GraphPublic(version=number, graph=graph.model_dump(mode="json"))


async def list_versions(actor: User, workflow_id: int, *, session: AsyncSession) -> list[VersionPublic]:
    require(actor.role, Permission.VIEW)
    await get_visible(actor, workflow_id, session=session)
    rows = (await session.exec(select(WorkflowVersion).where(
        col(WorkflowVersion.workflow_id) == workflow_id).order_by(col(WorkflowVersion.number).desc()))).all()
    return [VersionPublic(number=row.number, author_id=row.author_id, message=row.message,
                          created_at=row.created_at) for row in rows]


async def add_node(actor: User, workflow_id: int, data: NodeCreate, *, session: AsyncSession) -> GraphPublic:
    """Add a node (wired after ``connect_from``) as a new version."""
    current = await graph_of(actor, workflow_id, session=session)
    graph = Graph.model_validate(current.graph)
    if data.id in graph.nodes_by_id:
        raise errors.Conflict(f"This workflow already has a node {data.id!r}.")
    nodes = [*graph.nodes, _node_spec(data.model_dump(include={"id", "type", "config", "position", "label"},
                                                      exclude_none=True))]
    edges = [*graph.edges, *(EdgeSpec(source=source, target=data.id) for source in data.connect_from)]
    return await _save(actor, workflow_id, nodes, edges, data.base_version or current.version,
                       f"added node {data.id}", session=session)


async def update_node(actor: User, workflow_id: int, node_id: str, data: NodeUpdate, *,
                      session: AsyncSession) -> GraphPublic:
    current = await graph_of(actor, workflow_id, session=session)
    graph = Graph.model_validate(current.graph)
    if node_id not in graph.nodes_by_id:
        raise errors.NotFound(f"Workflow {workflow_id} has no node {node_id!r}.")
    changes = data.model_dump(exclude_unset=True, exclude={"base_version"}, exclude_none=True)
    nodes = [node.model_copy(update=changes) if node.id == node_id else node for node in graph.nodes]
    nodes = [_node_spec(node.model_dump()) for node in nodes]
    return await _save(actor, workflow_id, nodes, graph.edges, data.base_version or current.version,
                       f"updated node {node_id}", session=session)


def _node_spec(fields: dict[str, Any]) -> NodeSpec:
    """A node as the graph stores it; a field it refuses is the caller's mistake (422), not ours."""
    try:
        return NodeSpec.model_validate(fields)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]) or "node", "message": e["msg"]} for e in exc.errors()]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:3])
        raise errors.ValidationFailed(f"The node is invalid: {summary}.", details=problems) from exc


async def delete_node(actor: User, workflow_id: int, node_id: str, *, session: AsyncSession,
                      base_version: int | None = None) -> GraphPublic:
    """Remove a node and every edge touching it."""
    current = await graph_of(actor, workflow_id, session=session)
    graph = Graph.model_validate(current.graph)
    if node_id not in graph.nodes_by_id:
        raise errors.NotFound(f"Workflow {workflow_id} has no node {node_id!r}.")
    nodes = [node for node in graph.nodes if node.id != node_id]
    edges = [edge for edge in graph.edges if node_id not in (edge.source, edge.target)]
    return await _save(actor, workflow_id, nodes, edges, base_version or current.version,
                       f"deleted node {node_id}", session=session)


async def _save(actor: User, workflow_id: int, nodes: list[NodeSpec], edges: list[EdgeSpec], base: int,
                message: str, *, session: AsyncSession) -> GraphPublic:
    graph = {"nodes": [node.model_dump(mode="json", exclude_none=True) for node in nodes],
             "edges": [edge.model_dump(mode="json", exclude_none=True) for edge in edges]}
    return await save_graph(actor, workflow_id, GraphUpdate(graph=graph, base_version=base, message=message),
                            session=session)


async def export(actor: User, workflow_id: int, *, session: AsyncSession) -> WorkflowExport:
    """The workflow's portable JSON (current version)."""
    found = await detail(actor, workflow_id, session=session)
    return WorkflowExport(format=EXPORT_FORMAT, name=found.name, description=found.description, tags=found.tags,
                          graph=found.graph, exported_at=utcnow(), source_version=found.current_version)


async def import_workflow(actor: User, data: WorkflowExport, *, session: AsyncSession) -> Workflow:
    """Store an exported workflow as a new draft. Validates only: never executes or fetches anything."""
    if data.format != EXPORT_FORMAT:
        raise errors.ValidationFailed(f"Unknown export format {data.format!r}; expected {EXPORT_FORMAT!r}.",
                                      details=[{"field": "format", "message": "unsupported format"}])
    return await create(actor, WorkflowCreate(name=data.name, description=data.description, tags=data.tags,
                                              graph=data.graph), session=session)
