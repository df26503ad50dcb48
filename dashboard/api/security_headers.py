"""ASGI middleware adding browser security headers to every answer: pages, static files and the API.

Reflex mounts its whole app inside ours (``api_transformer``), so this one layer covers the pages
served in production too. The policy allows what the built app needs and nothing more foreign:
scripts, styles, images and the websocket from this origin only. ``'unsafe-inline'`` stays for
scripts and styles because the built pages bootstrap React Router with inline scripts and
Emotion/Radix inject inline styles; framing, plugins, base-URI and form targets are locked down.
The API docs (``/docs``, ``/redoc``) load Swagger UI and ReDoc from their CDN, so they get their own
policy allowing that one host.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
DOCS_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
    "font-src 'self' data: https://fonts.gstatic.com",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "frame-ancestors 'none'",
])
_DOCS_PATHS = ("/docs", "/redoc")
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def served_over_https(scope: Scope) -> bool:
    """HTTPS here, or at the proxy in front (``X-Forwarded-Proto: https``)."""
    if scope.get("scheme") == "https":
        return True
    forwarded = next((v for k, v in scope.get("headers", []) if k == b"x-forwarded-proto"), b"")
    return forwarded.split(b",")[0].strip().lower() == b"https"


class SecurityHeadersMiddleware:
    """Add CSP, frame, sniffing, referrer and (over HTTPS) HSTS headers unless the answer set its own."""

    def __init__(self, app: ASGIApp, *, hsts_max_age: Callable[[], int]) -> None:
        self.app = app
        self.hsts_max_age = hsts_max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = DOCS_POLICY if path.startswith(_DOCS_PATHS) else APP_POLICY
        extra = [*_COMMON, (b"content-security-policy", policy.encode())]
        max_age = self.hsts_max_age()
        if max_age and served_over_https(scope):
            extra.append((b"strict-transport-security", f"max-age={max_age}; includeSubDomains".encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
