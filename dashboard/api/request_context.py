"""ASGI middleware, outermost: give every HTTP request an id and bind it, with the client IP, to the context.

The id is the caller's ``X-Request-ID`` when it is short and plain, else a new one; it is sent
back in the ``X-Request-ID`` response header, and every log line and audit entry written while
the request is handled carries it (``services.observability.context``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.observability.context import accepted_request_id, bind_request

REQUEST_ID_HEADER = b"x-request-id"


class RequestContextMiddleware:
    """Bind the request id and client IP, and echo the id in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == REQUEST_ID_HEADER), None)
        request_id = accepted_request_id(offered)
        client = scope.get("client")
        bind_request(request_id, client[0] if client else "")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)
