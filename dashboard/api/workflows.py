"""Workflows: CRUD, graph and versions, nodes, execution, runs, triggers, import/export, analytics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from dashboard.api.deps import CurrentUser, SessionDep
from dashboard.api.responses import JSONBytes
from models.run import (
    ExecuteRequest,
    RunAccepted,
    RunDetail,
    RunsPublic,
    RunStatus,
    ShortcutExecuteRequest,
    WorkflowAnalytics,
)
from models.trigger import Schedule
from models.workflow import (
    GraphPublic,
    GraphUpdate,
    NodeCreate,
    NodeUpdate,
    VersionPublic,
    WorkflowCreate,
    WorkflowDetail,
    WorkflowExport,
    WorkflowPublic,
    WorkflowsPublic,
    WorkflowStatus,
    WorkflowUpdate,
)
from services.workflows import runs, triggers
from services.workflows import service as workflows
from services.workflows.nodes.registry import catalogue

router = APIRouter(prefix="/workflows", tags=["workflows"])
advanced_router = APIRouter(prefix="/advanced/workflows", tags=["workflows"])


def _public(workflow: Any) -> WorkflowPublic:
    return WorkflowPublic.model_validate(workflow, from_attributes=True)


@router.get("/node-types")
async def node_types(_user: CurrentUser) -> list[dict[str, Any]]:
    """Every node type with its config JSON Schema, for the builder's palette and forms."""
    return catalogue()


@router.get("", response_model=WorkflowsPublic)
async def list_workflows(user: CurrentUser, session: SessionDep, offset: Annotated[int, Query(ge=0)] = 0,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50,
                         search: Annotated[str, Query(max_length=200)] = "",
                         status: WorkflowStatus | None = None,
                         tag: Annotated[str, Query(max_length=40)] = "") -> Response:
    """A page of workflows (archived ones only with status=archived)."""
    return JSONBytes(await workflows.list_workflows_json(user, session=session, offset=offset, limit=limit,
                                                         search=search, status=status, tag=tag))


@router.post("", response_model=WorkflowPublic, status_code=201)
async def create_workflow(body: WorkflowCreate, user: CurrentUser, session: SessionDep) -> WorkflowPublic:
    """Create a workflow; its graph is validated and becomes version 1."""
    return _public(await workflows.create(user, body, session=session))


@router.post("/import", response_model=WorkflowPublic, status_code=201)
async def import_workflow(body: WorkflowExport, user: CurrentUser, session: SessionDep) -> WorkflowPublic:
    """Store an exported workflow as a new draft (validated; nothing is executed or fetched)."""
    return _public(await workflows.import_workflow(user, body, session=session))


@router.get("/{workflow_id}", response_model=WorkflowDetail)
async def get_workflow(workflow_id: int, user: CurrentUser, session: SessionDep) -> WorkflowDetail:
    return await workflows.detail(user, workflow_id, session=session)


@router.patch("/{workflow_id}", response_model=WorkflowPublic)
async def update_workflow(workflow_id: int, body: WorkflowUpdate, user: CurrentUser,
                          session: SessionDep) -> WorkflowPublic:
    return _public(await workflows.update_workflow(user, workflow_id, body, session=session))


@router.delete("/{workflow_id}", response_model=WorkflowPublic)
async def archive_workflow(workflow_id: int, user: CurrentUser, session: SessionDep) -> WorkflowPublic:
    """Archive (soft delete): versions and runs stay readable."""
    return _public(await workflows.archive(user, workflow_id, session=session))


@router.get("/{workflow_id}/graph", response_model=GraphPublic)
async def get_graph(workflow_id: int, user: CurrentUser, session: SessionDep,
                    version: Annotated[int | None, Query(ge=1)] = None) -> GraphPublic:
    """The current graph, or an older version's."""
    return await workflows.graph_of(user, workflow_id, session=session, version=version)


@router.put("/{workflow_id}/graph", response_model=GraphPublic)
async def save_graph(workflow_id: int, body: GraphUpdate, user: CurrentUser, session: SessionDep) -> GraphPublic:
    """Save a new version; a stale base_version answers 409 instead of overwriting."""
    return await workflows.save_graph(user, workflow_id, body, session=session)


@router.get("/{workflow_id}/versions", response_model=list[VersionPublic])
async def list_versions(workflow_id: int, user: CurrentUser, session: SessionDep) -> list[VersionPublic]:
    return await workflows.list_versions(user, workflow_id, session=session)


@router.post("/{workflow_id}/nodes", response_model=GraphPublic, status_code=201)
async def add_node(workflow_id: int, body: NodeCreate, user: CurrentUser, session: SessionDep) -> GraphPublic:
    return await workflows.add_node(user, workflow_id, body, session=session)


@router.patch("/{workflow_id}/nodes/{node_id}", response_model=GraphPublic)
async def update_node(workflow_id: int, node_id: str, body: NodeUpdate, user: CurrentUser,
                      session: SessionDep) -> GraphPublic:
    return await workflows.update_node(user, workflow_id, node_id, body, session=session)


@router.delete("/{workflow_id}/nodes/{node_id}", response_model=GraphPublic)
async def delete_node(workflow_id: int, node_id: str, user: CurrentUser, session: SessionDep,
                      base_version: Annotated[int | None, Query(ge=1)] = None) -> GraphPublic:
    return await workflows.delete_node(user, workflow_id, node_id, session=session, base_version=base_version)


@router.post("/{workflow_id}/execute", status_code=202, response_model=RunAccepted | RunDetail)
async def execute(workflow_id: int, user: CurrentUser, session: SessionDep, response: Response,
                  body: Annotated[ExecuteRequest | None, Body()] = None) -> RunAccepted | RunDetail:
    """Start a run (202 with its id); with "wait": true, answer 200 with the run once it ends."""
    body = body or ExecuteRequest()
    result = await runs.execute(user, workflow_id, body.parameters, session=session, wait=body.wait,
                                wait_seconds=body.timeout_seconds)
    if isinstance(result, RunDetail):
        response.status_code = 200
    return result


@router.get("/{workflow_id}/runs", response_model=RunsPublic)
async def list_runs(workflow_id: int, user: CurrentUser, session: SessionDep,
                    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                    status: RunStatus | None = None) -> RunsPublic:
    return await runs.list_runs(user, workflow_id, session=session, offset=offset, limit=limit, status=status)


@router.get("/{workflow_id}/export", response_model=WorkflowExport)
async def export_workflow(workflow_id: int, user: CurrentUser, session: SessionDep) -> WorkflowExport:
    return await workflows.export(user, workflow_id, session=session)


@router.get("/{workflow_id}/analytics", response_model=WorkflowAnalytics)
async def workflow_analytics(workflow_id: int, user: CurrentUser, session: SessionDep) -> WorkflowAnalytics:
    """Run counts by status, success rate, p50/p95 duration, tokens and cost."""
    return await runs.analytics(user, workflow_id, session=session)


@router.post("/{workflow_id}/webhooks", response_model=triggers.WebhookCreated, status_code=201)
async def create_webhook(workflow_id: int, user: CurrentUser, session: SessionDep) -> triggers.WebhookCreated:
    """A secret URL that starts a run with its JSON body; the token is shown only now."""
    return await triggers.create_webhook(user, workflow_id, session=session)


@router.post("/{workflow_id}/schedules", response_model=Schedule, status_code=201)
async def create_schedule(workflow_id: int, body: triggers.ScheduleCreate, user: CurrentUser,
                          session: SessionDep) -> Schedule:
    return await triggers.create_schedule(user, workflow_id, body, session=session)


@router.get("/{workflow_id}/schedules", response_model=list[Schedule])
async def list_schedules(workflow_id: int, user: CurrentUser, session: SessionDep) -> list[Schedule]:
    return await triggers.list_schedules(user, workflow_id, session=session)


@advanced_router.post("/execute", status_code=202, response_model=RunAccepted | RunDetail)
async def execute_shortcut(body: ShortcutExecuteRequest, user: CurrentUser, session: SessionDep,
                           response: Response) -> RunAccepted | RunDetail:
    """Shortcut: ``{"workflow_id": 1, "parameters": {...}}``."""
    result = await runs.execute(user, body.workflow_id, body.parameters, session=session, wait=body.wait,
                                wait_seconds=body.timeout_seconds)
    if isinstance(result, RunDetail):
        response.status_code = 200
    return result
