"""Webhook triggers: the secret token in the path is the credential."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from dashboard.api.deps import SessionDep
from models.run import RunAccepted
from services.workflows import triggers

router = APIRouter(prefix="/hooks", tags=["hooks"])


@router.post("/{token}", response_model=RunAccepted, status_code=202)
async def run_webhook(token: str, session: SessionDep,
                      payload: Annotated[dict[str, Any] | None, Body()] = None) -> RunAccepted:
    """Start a run of the hook's workflow with the JSON body as its parameters."""
    run = await triggers.run_from_webhook(token, payload or {}, session=session)
    return RunAccepted(run_id=run.id, status=run.status, workflow_id=run.workflow_id, version=run.version)
