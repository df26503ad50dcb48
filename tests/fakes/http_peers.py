"""A loopback HTTP server that records every request and answers as programmed, for HTTP-speaking peers.

It stands in for Slack, Teams and Discord webhooks, a webhook receiver, Twilio and an ntfy server:
every request on any path is recorded (method, path, query, lower-cased headers, raw body) and
answered with the next programmed :class:`Answer`, or with the default one (200 ``ok``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.processes import free_port


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The form-encoded body, one value per field."""
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass(frozen=True)
class Answer:
    """What to answer: a status, headers, a body (``json`` wins when given) and a delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    json: Any = None
    delay: float = 0.0


class RecordingHTTPServer:
    """Start with ``with RecordingHTTPServer() as server:``; ``server.url("/path")`` is where to send."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.requests: list[RecordedRequest] = []
        self.default = Answer()
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/{path:path}", self._answer, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name="http-peer", daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def answer_next(self, answer: Answer, *, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``answer``, then go back to the default."""
        with self._lock:
            self._answers.extend([answer] * times)

    def reset(self) -> None:
        """Forget recorded requests and programmed answers; the default goes back to 200 ``ok``."""
        with self._lock:
            self.requests.clear()
            self._answers.clear()
            self.default = Answer()

    def __enter__(self) -> RecordingHTTPServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the recording HTTP server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.requests.append(RecordedRequest(request.method, request.url.path, request.url.query,
                                                 dict(request.headers), body))
            answer = self._answers.popleft() if self._answers else self.default
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.json is not None:
            return Response(json.dumps(answer.json), status_code=answer.status, headers=answer.headers,
                            media_type="application/json")
        return Response(answer.body, status_code=answer.status, headers=answer.headers, media_type="text/plain")
