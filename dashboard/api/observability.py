"""Request ids, HTTP metrics and the ``/metrics`` endpoint.

``ObservabilityMiddleware`` is the outermost layer: it binds the request id (the caller's
``X-Request-ID`` when short and plain, else a new one) and the client IP to the context, echoes the
id in the answer, and counts the request by route template, method and status with its latency.

``/metrics`` answers loopback clients, or anyone with ``Authorization: Bearer $METRICS_TOKEN``
when that token is set (then loopback needs it too): the figures say how busy the product is and
are not for the public.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.api.deps import SessionDep
from dashboard.api.errors import error_response
from dashboard.api.guard import API_PREFIX
from services.observability.context import accepted_request_id, bind_request
from services.observability.metrics import observe_request, render_metrics
from services.observability.system import system_snapshot
from services.settings import get_settings

REQUEST_ID_HEADER = b"x-request-id"


RouteTemplates = Callable[[APIRoute], str]


def route_templates_of(api: FastAPI, operation_id: Callable[[APIRoute], str]) -> RouteTemplates:
    """A matched route → its full path template (``/api/v3/runs/{run_id}``), read from the OpenAPI schema once.

    Routes of included routers only know their path below the router's prefix, so the schema, which
    has the full paths by operation id, is the one place that knows the whole template.
    """
    by_operation: dict[str, str] = {}

    def template(route: APIRoute) -> str:
        if not by_operation:
            for path, operations in api.openapi().get("paths", {}).items():
                by_operation.update({op["operationId"]: path for op in operations.values() if "operationId" in op})
        return by_operation.get(operation_id(route), route.path)

    return template


def route_label(scope: Scope, templates: RouteTemplates) -> str:
    """The matched route's template, never the raw path: label values stay bounded."""
    route = scope.get("route")
    if isinstance(route, APIRoute):
        return templates(route)
    path: str = scope.get("path", "")
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return f"{API_PREFIX}/(unmatched)"
    return "(pages)"


def client_address(peer: str, forwarded_for: str, trusted: list[IPv4Network | IPv6Network]) -> str:
    """The real client: ``peer``, or, when ``peer`` is a trusted proxy, the nearest untrusted ``X-Forwarded-For`` hop.

    Walking from the right stops at the first address no trusted proxy vouches for, so a client
    cannot pick its own address by sending a forged header.
    """
    hops = [peer] + [hop.strip() for hop in reversed(forwarded_for.split(",")) if hop.strip()]
    for hop in hops:
        try:
            address = ip_address(hop)
        except ValueError:
            return hop[:64]
        if not any(address in network for network in trusted):
            return hop
    return hops[-1]


@lru_cache(maxsize=8)
def trusted_networks(text: str) -> list[IPv4Network | IPv6Network]:
    """``TRUSTED_PROXIES`` parsed: ``"10.0.0.0/8, 127.0.0.1"`` → networks."""
    return [ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


class ObservabilityMiddleware:
    """Bind the request context, echo the id, and record the request's metrics."""

    def __init__(self, app: ASGIApp, *, templates: RouteTemplates,
                 trusted: Callable[[], list[IPv4Network | IPv6Network]] = list) -> None:
        self.app = app
        self.templates = templates
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        request_id = accepted_request_id(headers[REQUEST_ID_HEADER].decode("latin-1")
                                         if REQUEST_ID_HEADER in headers else None)
        client = scope.get("client")
        peer = client[0] if client else ""
        trusted = self.trusted()
        if trusted and peer:
            real = client_address(peer, headers.get(b"x-forwarded-for", b"").decode("latin-1"), trusted)
            if real != peer:
                scope["client"] = (real, 0)  # rate limits, audit entries and handlers all see the real client
                peer = real
        bind_request(request_id, peer)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            observe_request(route_label(scope, self.templates), scope["method"], status, time.perf_counter() - started)


metrics_router = APIRouter()


def _may_scrape(request: Request) -> bool:
    token = get_settings().metrics_token.get_secret_value()
    if token:
        offered = request.headers.get("authorization", "")
        return hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())
    host = request.client.host if request.client else ""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, session: SessionDep) -> Response:
    """Prometheus text exposition (see the module docstring for who may read it)."""
    if not _may_scrape(request):
        return error_response(403, "Metrics are readable from this machine, or with the METRICS_TOKEN bearer token.")
    body, content_type = render_metrics(await system_snapshot(session=session))
    return Response(body, media_type=content_type)
