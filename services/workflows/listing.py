"""What the workflow list shows beyond the workflow rows: each one's last run and success rate; and duplicating.

One grouped query per page of workflows (not one per row), so the list stays cheap however many
runs a workflow has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.run import Run, RunStatus
from models.user import User
from models.workflow import Workflow, WorkflowCreate, WorkflowPublic, WorkflowStatus
from services.workflows import service as workflows


@dataclass(frozen=True)
class RunSummary:
    last_status: str | None
    last_at: datetime | None
    succeeded: int
    failed: int

    @property
    def success_rate(self) -> float | None:
        settled = self.succeeded + self.failed
        return self.succeeded / settled if settled else None


@dataclass(frozen=True)
class WorkflowRow:
    workflow: WorkflowPublic
    runs: RunSummary


@dataclass(frozen=True)
class WorkflowPage:
    rows: list[WorkflowRow]
    count: int


async def list_with_runs(actor: User, *, session: AsyncSession, offset: int = 0, limit: int = 20, search: str = "",
                         status: WorkflowStatus | None = None, tag: str = "") -> WorkflowPage:
    """A page of workflows (as ``service.list_workflows`` filters them) with each one's run summary."""
    found = await workflows.list_workflows(actor, session=session, offset=offset, limit=limit, search=search,
                                           status=status, tag=tag)
    ids = [row.id for row in found.data]
    summaries = await _run_summaries(ids, session=session)
    empty = RunSummary(None, None, 0, 0)
    return WorkflowPage(rows=[WorkflowRow(row, summaries.get(row.id, empty)) for row in found.data],
                        count=found.count)


async def _run_summaries(workflow_ids: list[int], *, session: AsyncSession) -> dict[int, RunSummary]:
    if not workflow_ids:
        return {}
    counts: dict[int, dict[str, int]] = {}
    rows = await session.exec(select(Run.workflow_id, Run.status, func.count()).where(
        col(Run.workflow_id).in_(workflow_ids)).group_by(col(Run.workflow_id), col(Run.status)))
    for workflow_id, status, count in rows.all():
        counts.setdefault(workflow_id, {})[RunStatus(status).value] = count
    latest = (select(Run.workflow_id, func.max(Run.created_at).label("at"))
              .where(col(Run.workflow_id).in_(workflow_ids)).group_by(col(Run.workflow_id)).subquery())
    last_rows = await session.exec(select(Run.workflow_id, Run.status, Run.created_at).join(
        latest, (col(Run.workflow_id) == latest.c.workflow_id) & (col(Run.created_at) == latest.c.at)))
    last = {workflow_id: (RunStatus(status).value, created_at) for workflow_id, status, created_at in last_rows.all()}
    return {workflow_id: RunSummary(last_status=last.get(workflow_id, (None, None))[0],
                                    last_at=last.get(workflow_id, (None, None))[1],
                                    succeeded=by_status.get(RunStatus.SUCCEEDED.value, 0),
                                    failed=by_status.get(RunStatus.FAILED.value, 0))
            for workflow_id, by_status in counts.items()}


async def duplicate(actor: User, workflow_id: int, *, session: AsyncSession) -> Workflow:
    """A new draft with the same description, tags and current graph, named "… (copy)"."""
    found = await workflows.detail(actor, workflow_id, session=session)
    return await workflows.create(actor, WorkflowCreate(name=f"{found.name} (copy)"[:200],
                                                        description=found.description, tags=found.tags,
                                                        visibility=found.visibility, graph=found.graph),
                                 session=session)
