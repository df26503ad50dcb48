"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services import health

liveness_router = APIRouter(tags=["health"])
router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class ComponentPublic(BaseModel):
    status: health.CheckStatus
    latency_ms: float | None
    detail: str
    errors: int | None = None
    last_error: str = ""


class ReadinessPublic(BaseModel):
    status: health.CheckStatus
    components: dict[str, ComponentPublic]


@liveness_router.get("/health", response_model=Liveness)
async def liveness() -> Liveness:
    """The process is up and serving."""
    return Liveness()


@router.get("/health", response_model=ReadinessPublic, responses={503: {"model": ReadinessPublic}})
async def readiness() -> JSONResponse:
    """Database, Redis, queue and cache, each with status and latency; 503 when the database is down.

    The cache also gives the errors this process counted and the last one: degraded, never down.
    """
    state = await health.readiness()
    body = ReadinessPublic(
        status=state.status,
        components={c.name: ComponentPublic(status=c.status, latency_ms=c.latency_ms, detail=c.detail,
                                            errors=c.errors, last_error=c.last_error)
                    for c in state.components},
    )
    return JSONResponse(body.model_dump(), status_code=503 if state.status == "down" else 200)
