"""A loopback HTTP server that records every request and answers as programmed, for HTTP-speaking peers.

It stands in for Slack, Teams and Discord webhooks, a webhook receiver, Twilio and an ntfy server:
every request on any path is recorded (method, path, query, lower-cased headers, raw body) and
answered with the next programmed :class:`Answer`, or with the default one (200 ``ok``).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.loopback import LoopbackHTTPServer


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


class RecordingHTTPServer(LoopbackHTTPServer[RecordedRequest]):
    """Start with ``with RecordingHTTPServer() as server:``; ``server.url("/path")`` is where to send."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__([Route("/{path:path}", self._answer, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])],
                         name="recording HTTP", host=host)
        self.default = Answer()
        self._answers: deque[Answer] = deque()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def answer_next(self, answer: Answer, *, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``answer``, then go back to the default."""
        with self._lock:
            self._answers.extend([answer] * times)

    def _forget(self) -> None:
        self._answers.clear()
        self.default = Answer()

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
