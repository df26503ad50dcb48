"""Webhook triggers: the secret token in the path is the credential."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from models.run import RunAccepted
from services.workflows import triggers

router = APIRouter(prefix="/hooks", tags=["hooks"])


@router.post("/{token}", response_model=RunAccepted, status_code=202)
async def run_webhook(token: str, payload: Annotated[dict[str, Any] | None, Body()] = None) -> RunAccepted:
    """Start a run of the hook's workflow with the JSON body as its parameters."""
    return await triggers.run_from_webhook(token, payload or {})
