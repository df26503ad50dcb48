"""ASGI middleware that spends one request of the caller's quota for the route family it calls.

It sits inside ``ApiGuard``, so the access token was already checked: a signed-in caller is
counted by user id, an anonymous one (sign-in, register, webhooks) by client IP. Every answer
carries ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` and ``RateLimit-Policy``;
a refused one is a 429 with ``Retry-After`` and the standard JSON error body.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.api.guard import API_PREFIX, reject
from services.auth.api_rate_limits import ApiQuotas, QuotaDecision
from services.auth.tokens import AccessClaims

_AUTH_PATHS = frozenset(f"{API_PREFIX}/auth/{name}" for name in ("login", "register", "refresh", "logout"))
_EXECUTE_SUFFIXES = ("/execute", "/retry", "/approve", "/reject", "/cancel")
_EXEMPT = frozenset({f"{API_PREFIX}/health"})


def route_family(method: str, path: str) -> str | None:
    """Which quota a request spends (``None``: not counted, e.g. readiness probes)."""
    path = path.rstrip("/")
    if path in _EXEMPT or method == "OPTIONS":
        return None
    if path in _AUTH_PATHS:
        return "auth"
    if path.startswith(f"{API_PREFIX}/hooks/"):
        return "hooks"
    if method in ("GET", "HEAD"):
        return "reads"
    if path.startswith(f"{API_PREFIX}/advanced/ai/"):
        return "ai"
    if path.endswith(_EXECUTE_SUFFIXES):
        return "execute"
    return "writes"


def quota_headers(decision: QuotaDecision) -> list[tuple[bytes, bytes]]:
    """The ``RateLimit-*`` headers (IETF draft names) for ``decision``."""
    values = {
        "ratelimit-limit": str(decision.limit),
        "ratelimit-remaining": str(decision.remaining),
        "ratelimit-reset": str(decision.reset_seconds),
        "ratelimit-policy": f"{decision.limit};w={decision.window_seconds}",
    }
    return [(name.encode(), value.encode()) for name, value in values.items()]


class RateLimitMiddleware:
    """Count, decide, and add the quota headers to every ``/api/v3`` answer."""

    def __init__(self, app: ASGIApp, *, quotas: Callable[[], ApiQuotas | None]) -> None:
        self.app = app
        self.quotas = quotas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        quotas = self.quotas() if scope["type"] == "http" else None
        family = route_family(scope["method"], scope.get("path", "")) if quotas is not None else None
        if quotas is None or family is None or not scope.get("path", "").startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        decision = await quotas.hit(family, _identity(scope))
        headers = quota_headers(decision)
        if not decision.allowed:
            await reject(send, 429, "rate_limited",
                         f"Too many requests to this part of the API ({decision.limit} per "
                         f"{decision.window_seconds} s); retry in {decision.retry_after} s.",
                         {"Retry-After": str(decision.retry_after)}, raw_headers=headers)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _identity(scope: Scope) -> str:
    claims = scope.get("state", {}).get("claims")
    if isinstance(claims, AccessClaims):
        return f"user:{claims.user_id}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"
