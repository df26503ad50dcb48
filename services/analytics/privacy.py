"""What of the analytics a member may see: a private workflow's figures are its owner's and the admins'.

Workspace totals count every run (they name no workflow); whatever names or singles out a workflow
(the per-workflow breakdown, the workflow filter and its choices, insights about one workflow, a
series grouped by workflow) leaves out the private workflows of others, and filtering by one of
them is answered as for a workflow that does not exist.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_
from sqlmodel import col, select

from models.user import User
from models.workflow import Workflow, WorkflowVisibility
from services import errors
from services.analytics.insights import Insight
from services.analytics.series import TimeSeries
from services.auth.permissions import Permission, allows
from services.db import open_read_session


async def hidden_workflows(actor: User) -> frozenset[int]:
    """The ids of the private workflows ``actor`` may not see (none for an admin)."""
    if allows(actor.role, Permission.ADMINISTER):
        return frozenset()
    async with open_read_session() as session:
        rows = await session.exec(select(Workflow.id).where(
            col(Workflow.visibility) == WorkflowVisibility.PRIVATE,
            or_(col(Workflow.owner_id).is_(None), col(Workflow.owner_id) != actor.id)))
        return frozenset(workflow_id for workflow_id in rows.all() if workflow_id is not None)


def check_filter(workflow_id: int | None, hidden: Collection[int]) -> None:
    """Refuse a filter on a workflow the reader may not see, as ``workflows.get_visible`` does."""
    if workflow_id is not None and workflow_id in hidden:
        raise errors.NotFound(f"Workflow {workflow_id} does not exist.")


def visible_insights(insights: list[Insight], hidden: Collection[int]) -> list[Insight]:
    """The insights that are not about a hidden workflow."""
    subjects = {f"workflow:{workflow_id}" for workflow_id in hidden}
    return [insight for insight in insights
            if insight.numbers.get("workflow_id") not in hidden and insight.subject not in subjects]


def visible_series(series: TimeSeries, hidden: Collection[int]) -> TimeSeries:
    """A series grouped by workflow without the hidden workflows' lines."""
    if series.group_by != "workflow" or not hidden:
        return series
    names = {str(workflow_id) for workflow_id in hidden}
    return series.model_copy(update={"series": [line for line in series.series if line.group not in names]})
