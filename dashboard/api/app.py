"""The FastAPI application Reflex mounts: ``/health``, ``/api/v3/...`` and the OpenAPI docs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from dashboard.api import ai, analytics, audit, auth, cache, documents, health, hooks, notifications, runs, workflows
from dashboard.api.errors import ERROR_RESPONSES, error_response, install_error_handlers
from dashboard.api.guard import API_PREFIX, ApiGuard
from dashboard.api.observability import (
    ObservabilityMiddleware,
    metrics_router,
    route_templates_of,
    trusted_networks,
)
from dashboard.api.rate_limits import RateLimitMiddleware
from dashboard.api.security_headers import SecurityHeadersMiddleware
from services.auth.api_rate_limits import ApiQuotas, build_api_quotas
from services.process_heap import settle_heap
from services.settings import get_settings

PUBLIC_API_PATHS = frozenset(
    [f"{API_PREFIX}/health"] + [f"{API_PREFIX}{path}" for path in auth.PUBLIC_PATHS]
)


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def _document_upload_limit() -> int:
    """A multipart upload may carry the most files allowed, each up to ``DOCUMENT_MAX_MB``, plus form overhead."""
    settings = get_settings()
    return settings.document_max_bytes * settings.document_max_files_per_upload + 64 * 1024


def _quotas_built_on_first_use() -> Callable[[], ApiQuotas | None]:
    """This app's quotas, read from settings at its first request (tests configure them after building)."""
    built: list[ApiQuotas | None] = []

    def quotas() -> ApiQuotas | None:
        if not built:
            built.append(build_api_quotas())
        return built[0]

    return quotas


@asynccontextmanager
async def _settle_heap_at_start(_api: FastAPI) -> AsyncIterator[None]:
    settle_heap()
    yield


def create_api() -> FastAPI:
    """Build the API app (one per process; tests build their own)."""
    api = FastAPI(
        title="Document Workflow Chain API",
        version="3.0.0",
        description="Build and run document workflows. Authenticate with a bearer token from /api/v3/auth/login.",
        generate_unique_id_function=_operation_id,
        # Served on its own (bench/load.py); inside the Reflex app its lifespan task does the same.
        lifespan=_settle_heap_at_start,
    )
    install_error_handlers(api)
    # Routes are matched in order, and FastAPI walks every included router several times per
    # request: the busiest unauthenticated route (webhook calls, hundreds a second) is matched
    # first, on the app itself, instead of after ~70 others inside the /api/v3 router.
    api.include_router(hooks.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    api.include_router(health.liveness_router)
    api.include_router(metrics_router)
    v3 = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    v3.include_router(health.router)
    v3.include_router(auth.router)
    v3.include_router(workflows.router)
    v3.include_router(runs.router)
    v3.include_router(workflows.advanced_router)
    v3.include_router(ai.router)
    v3.include_router(analytics.router)
    v3.include_router(cache.router)
    v3.include_router(notifications.router)
    v3.include_router(notifications.inbox_router)
    v3.include_router(documents.router)
    v3.include_router(audit.router)
    api.include_router(v3)

    @api.api_route(API_PREFIX + "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def unknown_route(path: str) -> object:
        return error_response(404, f"There is no API route '/{path}' here; see /docs for the list.")

    api.add_middleware(RateLimitMiddleware, quotas=_quotas_built_on_first_use())
    api.add_middleware(ApiGuard, public_paths=PUBLIC_API_PATHS, public_prefixes=(f"{API_PREFIX}/hooks/",),
                       max_body_bytes=lambda: get_settings().api_max_body_bytes,
                       upload_paths={API_PREFIX + documents.UPLOAD_PATH: _document_upload_limit})
    api.add_middleware(SecurityHeadersMiddleware, hsts_max_age=lambda: get_settings().hsts_max_age_seconds)
    # Outermost: every later layer (and its 401, 413 or 429) logs and counts with the request id.
    api.add_middleware(ObservabilityMiddleware, templates=route_templates_of(api, _operation_id),
                       trusted=lambda: trusted_networks(get_settings().trusted_proxies))
    return api
