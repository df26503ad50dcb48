"""Webhook triggers: the secret token in the path is the credential."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from dashboard.api.responses import JSONBytes
from models.run import RunAccepted
from services.workflows import triggers

router = APIRouter(prefix="/hooks", tags=["hooks"])


@router.post("/{token}", response_model=RunAccepted, status_code=202)
async def run_webhook(token: str, payload: Annotated[dict[str, Any] | None, Body()] = None) -> Response:
    """Start a run of the hook's workflow with the JSON body as its parameters."""
    accepted = await triggers.run_from_webhook(token, payload or {})
    # Serialised here: given the model, FastAPI would validate it again first (hundreds of calls a second).
    return JSONBytes(accepted.model_dump_json(), status_code=202)
