"""The cache (stats for anyone signed in; clear and optimize for admins) and every service's status (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from dashboard.api.deps import CurrentUser, SessionDep, caller_with
from models.user import User
from services.auth.permissions import Permission
from services.cache import service as cache
from services.cache.history import HitRatioPoint
from services.cache.stats import CacheStats, ClearReport, OptimizeReport
from services.status import ServicesStatus, services_status

Admin = Annotated[User, Depends(caller_with(Permission.ADMINISTER))]


class ClearCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: str | None = Field(default=None, max_length=32, description="None clears every namespace.")


cache_router = APIRouter(prefix="/advanced/cache", tags=["cache"])
services_router = APIRouter(prefix="/advanced/services", tags=["services"])


@cache_router.get("/stats", response_model=CacheStats)
async def stats(_user: CurrentUser) -> CacheStats:
    """Hits, misses, hit ratio, latency, entries and bytes: overall and per namespace."""
    return await cache.cache_stats()


@cache_router.get("/history", response_model=list[HitRatioPoint])
async def history(_user: CurrentUser) -> list[HitRatioPoint]:
    """This process's hit ratio per sampling interval (10 s), for the last hour."""
    return cache.cache_hit_ratio_history()


@cache_router.post("/clear", response_model=ClearReport)
async def clear(user: Admin, session: SessionDep, body: Annotated[ClearCall | None, Body()] = None) -> ClearReport:
    """Remove every entry, or one namespace's (``{"namespace": "ai"}``)."""
    return await cache.clear_cache(body.namespace if body else None, actor=user, session=session)


@cache_router.post("/optimize", response_model=OptimizeReport)
async def optimize(user: Admin, session: SessionDep) -> OptimizeReport:
    """Purge expired entries and report the largest namespaces."""
    return await cache.optimize_cache(actor=user, session=session)


@services_router.get("/status", response_model=ServicesStatus)
async def status(_user: Admin) -> ServicesStatus:
    """Database, Redis, run queue and workers, AI providers and cache: status, latency, version, last error."""
    return await services_status()


ROUTERS = (cache_router, services_router)
