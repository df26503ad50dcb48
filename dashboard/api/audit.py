"""The audit log for admins: filtered pages, the action names, and a CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from dashboard.api.deps import CurrentUser, SessionDep
from services.auth import audit_log
from services.auth.audit_log import AuditFilter, AuditPage

router = APIRouter(prefix="/audit", tags=["audit"])

FilterDep = Annotated[AuditFilter, Query()]


@router.get("", response_model=AuditPage)
async def list_entries(user: CurrentUser, filters: FilterDep, session: SessionDep) -> AuditPage:
    """Entries newest first; filter by actor (email or id), action, target prefix and time window."""
    return await audit_log.get_all(user, filters, session=session)


@router.get("/actions", response_model=list[str])
async def list_actions(user: CurrentUser, session: SessionDep) -> list[str]:
    """Every action name recorded so far."""
    return await audit_log.get_actions(user, session=session)


@router.get("/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "Matching entries as CSV."}})
async def export(user: CurrentUser, filters: FilterDep, session: SessionDep) -> Response:
    """Every matching entry (up to 50,000, newest first) as CSV; offset and limit are ignored."""
    body = await audit_log.export_csv(user, filters, session=session)
    return Response(body, media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
