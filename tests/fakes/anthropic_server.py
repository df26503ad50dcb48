"""A loopback server speaking the Anthropic Messages API wire protocol, for the SDK to really call.

``POST /v1/messages`` answers with a reply derived from the request: ``"You said: "`` followed by
the last user message's words in reverse order, cut at ``max_tokens`` words (one word is one token
here). With ``"stream": true`` it sends the API's named server-sent events (``message_start``,
``content_block_start``, a ``ping``, one ``content_block_delta`` per word, ``content_block_stop``,
``message_delta`` with the stop reason and cumulative usage, ``message_stop``).

Like API version 2026-10-21, it refuses sampling parameters (``temperature``, ``top_p``,
``top_k``) and a missing ``model``, ``max_tokens`` or ``messages`` with HTTP 400. Every request is
recorded; ``fail_next``, ``interrupt_next_stream`` and ``delay_next`` program failures and slowness.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.loopback import LoopbackHTTPServer

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
_SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")
_REQUIRED = ("model", "max_tokens", "messages")


@dataclass
class RecordedRequest:
    """One call as the server saw it: lower-cased headers and the decoded JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class _Failure:
    status: int
    error_type: str
    message: str
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Interruption:
    after_words: int
    error_type: str
    message: str


class FakeAnthropicServer(LoopbackHTTPServer[RecordedRequest]):
    """Start with ``with FakeAnthropicServer() as server:``; point the SDK at ``server.base_url``."""

    def __init__(self) -> None:
        super().__init__([Route("/v1/messages", self._messages, methods=["POST"])], name="fake Anthropic")
        self._failures: deque[_Failure] = deque()
        self._interruptions: deque[_Interruption] = deque()

    @property
    def base_url(self) -> str:
        """The address to give the SDK: it adds ``/v1/messages`` itself."""
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, status: int, *, times: int = 1, error_type: str | None = None, message: str = "",
                  error_code: str | None = None, retry_after: str | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` and an Anthropic error body.

        ``error_type`` defaults to the API's type for the status; ``error_code`` is sent as
        ``error.details.error_code`` (e.g. ``enforced_spend_limit_reached``).
        """
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        failure = _Failure(status, error_type or _ERROR_TYPES.get(status, "api_error"),
                           message or f"Fake failure with HTTP {status}.", error_code, headers)
        with self._lock:
            self._failures.extend([failure] * times)

    def interrupt_next_stream(self, *, after_words: int = 2, error_type: str = "overloaded_error",
                              message: str = "Overloaded") -> None:
        """Send an ``error`` event after ``after_words`` words of the next streamed answer (it began with 200)."""
        with self._lock:
            self._interruptions.append(_Interruption(after_words, error_type, message))

    def _forget(self) -> None:
        self._failures.clear()
        self._interruptions.clear()

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
            failure = self._failures.popleft() if self._failures else None
            delay = self._next_delay()
            interruption = self._interruptions.popleft() if body.get("stream") and self._interruptions else None
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            return _error(failure.status, failure.error_type, failure.message, failure.error_code, failure.headers)
        refusal = _refusal(body)
        if refusal is not None:
            return _error(400, "invalid_request_error", refusal)
        words, stop_reason = reply_words(body["messages"], int(body["max_tokens"]))
        input_tokens = _input_tokens(body)
        if body.get("stream"):
            events = _events(body["model"], words, stop_reason, input_tokens, interruption)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": " ".join(words)}],
            "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": len(words)},
        }, headers={"request-id": "req_fake"})


def reply_words(messages: list[dict[str, Any]], max_tokens: int) -> tuple[list[str], str]:
    """The reply's words and stop reason: ``You said:`` and the last user message reversed, cut at the limit."""
    last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = ["You", "said:", *reversed(_text(last_user).split())]
    if len(words) > max_tokens:
        return words[:max_tokens], "max_tokens"
    return words, "end_turn"


def _text(content: str | list[dict[str, Any]]) -> str:
    """A message's text: the string itself, or its text blocks joined."""
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content if block.get("type") == "text")


def _input_tokens(body: dict[str, Any]) -> int:
    system = body.get("system") or ""
    return len(_text(system).split()) + sum(len(_text(m["content"]).split()) for m in body["messages"])


def _refusal(body: dict[str, Any]) -> str | None:
    """Why the API would refuse ``body`` with HTTP 400, if it would."""
    for name in _REQUIRED:
        if name not in body:
            return f"{name}: Field required"
    for name in _SAMPLING_PARAMETERS:
        if name in body:
            return f"{name}: Extra inputs are not permitted"
    if not body["messages"]:
        return "messages: at least one message is required"
    return None


def _error(status: int, error_type: str, message: str, error_code: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if error_code is not None:
        error["details"] = {"error_code": error_code}
    return JSONResponse({"type": "error", "error": error, "request_id": "req_fake"}, status_code=status,
                        headers={"request-id": "req_fake", **(headers or {})})


async def _events(model: str, words: list[str], stop_reason: str, input_tokens: int,
                  interruption: _Interruption | None) -> AsyncIterator[bytes]:
    for name, data in _event_objects(model, words, stop_reason, input_tokens, interruption):
        yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        await asyncio.sleep(0)


def _event_objects(model: str, words: list[str], stop_reason: str, input_tokens: int,
                   interruption: _Interruption | None) -> Iterator[tuple[str, dict[str, Any]]]:
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
               "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": input_tokens, "output_tokens": 1}}
    yield "message_start", {"type": "message_start", "message": message}
    yield "content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": {"type": "text", "text": ""}}
    yield "ping", {"type": "ping"}
    for index, word in enumerate(words):
        if interruption is not None and index == interruption.after_words:
            yield "error", {"type": "error", "error": {"type": interruption.error_type,
                                                       "message": interruption.message}}
            return
        yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": word if index == 0 else f" {word}"}}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                            "usage": {"output_tokens": len(words)}}
    yield "message_stop", {"type": "message_stop"}
