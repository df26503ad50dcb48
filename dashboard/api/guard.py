"""ASGI guard in front of every ``/api/v3`` route: authentication first, then body limits.

It runs before FastAPI reads a single byte of the body, so no handler, parser or validator
is ever reached by an anonymous caller (Langflow's CVE-2025-3248 ran code before its auth
check). Paths outside ``/api/v3`` — Reflex's websocket and pages — pass straight through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import errors
from services.auth.tokens import AccessClaims, decode_access_token

API_PREFIX = "/api/v3"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How the OpenAPI document names and describes what the guard asks for.
BEARER = "HTTPBearer"
BEARER_SCHEME = {"type": "http", "scheme": "bearer", "description": "An access token from POST /api/v3/auth/login"}


def is_public(path: str, public_paths: frozenset[str], public_prefixes: tuple[str, ...]) -> bool:
    """Whether an ``/api/v3`` path is answered without a bearer token."""
    return path.rstrip("/") in public_paths or path.startswith(public_prefixes)


def _is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class ApiGuard:
    """Authenticate, then check Content-Type and size, for every API request."""

    def __init__(self, app: ASGIApp, *, public_paths: Iterable[str], max_body_bytes: Callable[[], int],
                 claims_decoder: Callable[[str], AccessClaims] = decode_access_token,
                 public_prefixes: tuple[str, ...] = (),
                 upload_paths: Mapping[str, Callable[[], int]] | None = None) -> None:
        self.app = app
        # File uploads: these exact paths take multipart/form-data (POST only), up to their own size limit.
        self.upload_paths = dict(upload_paths or {})
        self.public_paths = frozenset(public_paths)
        self.public_prefixes = public_prefixes  # e.g. webhook URLs, whose secret is in the path
        self.max_body_bytes = max_body_bytes
        self.decode = claims_decoder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if scope["method"] != "OPTIONS" and not is_public(path, self.public_paths, self.public_prefixes):
            try:
                claims = self.decode(_bearer_token(headers.get("authorization", "")))
            except errors.AuthenticationFailed as exc:
                await reject(send, 401, exc.code, exc.message, {"WWW-Authenticate": "Bearer"})
                return
            scope.setdefault("state", {})["claims"] = claims
        if scope["method"] in _BODY_METHODS:
            buffered = await self._checked_body(scope, headers, receive, send)
            if buffered is None:
                return
            receive = _replay(buffered, receive)
        await self.app(scope, receive, send)

    async def _checked_body(self, scope: Scope, headers: dict[str, str], receive: Receive,
                            send: Send) -> bytes | None:
        upload_limit = self.upload_paths.get(scope.get("path", "").rstrip("/")) if scope["method"] == "POST" else None
        limit = upload_limit() if upload_limit is not None else self.max_body_bytes()
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await reject(send, 413, "payload_too_large", f"The request body is larger than {limit} bytes.")
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await reject(send, 413, "payload_too_large", f"The request body is larger than {limit} bytes.")
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get("content-type", "")
        if upload_limit is not None and _is_multipart(content_type):
            return body
        if body.strip() and not _is_json(content_type):
            await reject(send, 415, "unsupported_media_type", (
                "Send the files as 'multipart/form-data' (one 'files' part per file)." if upload_limit is not None
                else "Send the request body as JSON with 'Content-Type: application/json'."))
            return None
        return body


def _bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.AuthenticationFailed("Sign in first: send 'Authorization: Bearer <access token>'.")
    return token.strip()


def _replay(body: bytes, upstream: Receive) -> Receive:
    """Hand the buffered body to the app once, then pass on the real stream (disconnects)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await upstream()

    return receive


async def reject(send: Send, status: int, code: str, message: str, extra_headers: dict[str, str] | None = None,
                 *, raw_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer at the ASGI level with the standard JSON error body."""
    payload: dict[str, Any] = {"error": {"code": code, "message": message, "details": None}}
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra_headers or {}).items()]
    headers += raw_headers or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
