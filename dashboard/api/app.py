"""The FastAPI application Reflex mounts: ``/health``, ``/api/v3/...`` and the OpenAPI docs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from dashboard.api import ai, analytics, audit, auth, cache, documents, health, hooks, notifications, runs, workflows
from dashboard.api.errors import ERROR_RESPONSES, error_response, install_error_handlers
from dashboard.api.guard import API_PREFIX, BEARER, BEARER_SCHEME, ApiGuard, is_public
from dashboard.api.observability import (
    ObservabilityMiddleware,
    metrics_router,
    route_templates_of,
    trusted_networks,
)
from dashboard.api.rate_limits import RateLimitMiddleware
from dashboard.api.request_scope import RequestScope
from dashboard.api.security_headers import SecurityHeadersMiddleware
from services.auth.api_rate_limits import ApiQuotas, build_api_quotas
from services.process_heap import settle_heap
from services.settings import get_settings

PUBLIC_API_PATHS = frozenset(
    [f"{API_PREFIX}/health"] + [f"{API_PREFIX}{path}" for path in auth.PUBLIC_PATHS]
)
PUBLIC_API_PREFIXES = (f"{API_PREFIX}/hooks/",)  # webhook URLs: the secret is in the path


def _asks_for_a_token(path: str) -> bool:
    """Whether ApiGuard wants a bearer token on ``path``: the operations the OpenAPI document locks."""
    return path.startswith(API_PREFIX + "/") and not is_public(path, PUBLIC_API_PATHS, PUBLIC_API_PREFIXES)


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


def _add_routes(api: FastAPI, router: APIRouter, prefix: str, responses: dict[int | str, dict[str, Any]]) -> None:
    """Put ``router``'s routes on the app itself, below ``prefix``, with ``responses`` documented on each.

    ``include_router`` in FastAPI 0.165 keeps the router as a node that every request walks again
    (the route lists, their version counters, a scope key set and restored per route, once per
    level): for a route two includes deep that was 0.09 ms of a 0.8 ms list call. Routes on the
    app are matched in one pass over one list.

    A route ApiGuard keeps for signed-in callers is documented with the bearer scheme here, where the
    guard's own rule decides it, rather than by a security dependency in every handler, which FastAPI
    solved again on every call (10 µs, plus the scope bookkeeping it caused in its parents).
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            msg = f"only API routes can be added this way, not {route!r}"
            raise TypeError(msg)
        locked: dict[str, Any] = {"security": [{BEARER: []}]} if _asks_for_a_token(prefix + route.path) else {}
        api.router.add_api_route(
            prefix + route.path, route.endpoint, response_model=route.response_model, status_code=route.status_code,
            tags=list(route.tags), dependencies=list(route.dependencies), summary=route.summary,
            description=route.description, response_description=route.response_description,
            responses={**responses, **route.responses}, deprecated=route.deprecated,
            methods=sorted(route.methods or ()),
            operation_id=route.operation_id, response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude, response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none, include_in_schema=route.include_in_schema,
            response_class=route.response_class, name=route.name, callbacks=route.callbacks,
            openapi_extra={**locked, **(route.openapi_extra or {})}, generate_unique_id_function=_operation_id)


def _document_the_bearer_scheme(api: FastAPI) -> None:
    """Name the bearer scheme the locked operations refer to among the document's components."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            generate().setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = BEARER_SCHEME
        assert api.openapi_schema is not None
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


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
        # Metrics and logs are ours (Prometheus at /metrics, JSON logs with request ids): FastAPI's native
        # OpenTelemetry stays off, not merely unconfigured, which it re-checked on every request (5 µs).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # Served on its own (bench/load.py); inside the Reflex app its lifespan task does the same.
        lifespan=_settle_heap_at_start,
    )
    install_error_handlers(api)
    # The busiest unauthenticated route (webhook calls, hundreds a second) is matched first.
    _add_routes(api, hooks.router, API_PREFIX, ERROR_RESPONSES)
    _add_routes(api, health.liveness_router, "", {})
    _add_routes(api, metrics_router, "", {})
    for router in (health.router, auth.router, workflows.router, runs.router, workflows.advanced_router, ai.router,
                   analytics.router, *cache.ROUTERS, notifications.router, notifications.inbox_router,
                   documents.router, audit.router):
        _add_routes(api, router, API_PREFIX, ERROR_RESPONSES)

    @api.api_route(API_PREFIX + "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def unknown_route(path: str) -> object:
        return error_response(404, f"There is no API route '/{path}' here; see /docs for the list.")

    _document_the_bearer_scheme(api)

    api.add_middleware(RequestScope)  # innermost: closes what the request's dependencies opened
    api.add_middleware(RateLimitMiddleware, quotas=_quotas_built_on_first_use())
    api.add_middleware(ApiGuard, public_paths=PUBLIC_API_PATHS, public_prefixes=PUBLIC_API_PREFIXES,
                       max_body_bytes=lambda: get_settings().api_max_body_bytes,
                       upload_paths={API_PREFIX + documents.UPLOAD_PATH: _document_upload_limit})
    api.add_middleware(SecurityHeadersMiddleware, hsts_max_age=lambda: get_settings().hsts_max_age_seconds)
    # Outermost: every later layer (and its 401, 413 or 429) logs and counts with the request id.
    api.add_middleware(ObservabilityMiddleware, templates=route_templates_of(api, _operation_id),
                       trusted=lambda: trusted_networks(get_settings().trusted_proxies))
    return api
