"""A loopback server speaking the Gemini API's REST wire format, for the ``google-genai`` SDK to really call.

``POST /{version}/models/{model}:generateContent`` answers with a reply derived from the request, by
the same rule as the fake OpenAI server: ``"You said: "`` followed by the last user turn's words in
reverse order, cut at ``generationConfig.maxOutputTokens`` words (one word is one token here).
``:streamGenerateContent?alt=sse`` sends the reply word by word as server-sent
``GenerateContentResponse`` chunks; the last one carries ``finishReason`` and ``usageMetadata``.
Every request is recorded; ``fail_next`` answers with Google's error JSON
(``{"error": {"code", "message", "status", "details"}}``), ``finish_next`` ends an answer with another
``finishReason`` (``"SAFETY"``) and ``delay_next`` makes a request slow.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.loopback import LoopbackHTTPServer
from tests.fakes.openai_server import bag_of_words_vector, reply_words

MODEL_VERSION = "fake-gemini-001"
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_GENERATE, _STREAM, _EMBED = "generateContent", "streamGenerateContent", "batchEmbedContents"


@dataclass
class RecordedRequest:
    """One call as the server saw it: path, query string, lower-cased headers and the decoded JSON body."""

    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class _Failure:
    status: int
    message: str
    details: list[dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)
    mid_stream: bool = False


class FakeGoogleServer(LoopbackHTTPServer[RecordedRequest]):
    """Start with ``with FakeGoogleServer() as server:``; point the SDK's ``base_url`` at ``server.base_url``."""

    def __init__(self) -> None:
        super().__init__([Route("/{version}/models/{target}", self._models, methods=["POST"])], name="fake Google")
        self._failures: deque[_Failure] = deque()
        self._finishes: deque[str] = deque()

    @property
    def base_url(self) -> str:
        """The server's root; the SDK appends the API version and the method path."""
        return f"http://127.0.0.1:{self.port}/"

    def fail_next(self, status: int, *, times: int = 1, message: str = "", retry_after: str | None = None,
                  retry_delay: str | None = None, reason: str | None = None, mid_stream: bool = False) -> None:
        """Answer the next ``times`` requests with ``status`` and Google's error JSON.

        ``retry_after`` sends a ``Retry-After`` header; ``retry_delay`` (``"7s"``) a ``RetryInfo``
        detail as the Gemini API does; ``reason`` an ``ErrorInfo`` detail (``"API_KEY_INVALID"``).
        ``mid_stream`` lets a streamed answer start with HTTP 200 and sends the error as its second event.
        """
        details: list[dict[str, Any]] = []
        if reason is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                            "domain": "googleapis.com"})
        if retry_delay is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        failure = _Failure(status, message or f"Fake failure with HTTP {status}.", details, headers, mid_stream)
        with self._lock:
            self._failures.extend([failure] * times)

    def finish_next(self, finish_reason: str) -> None:
        """End the next successful answer with ``finish_reason`` instead of ``STOP`` or ``MAX_TOKENS``."""
        with self._lock:
            self._finishes.append(finish_reason)

    def _forget(self) -> None:
        self._failures.clear()
        self._finishes.clear()

    async def _embed(self, request: Request, body: dict[str, Any]) -> Response:
        """``batchEmbedContents``: one bag-of-words vector per request, as the OpenAI fake computes them."""
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, request.url.query, dict(request.headers), body))
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            return _error(failure.status, failure.message, failure.details, failure.headers)
        return JSONResponse({"embeddings": [{"values": bag_of_words_vector(text)}
                                            for text in _embedding_texts(body)]})

    async def _models(self, request: Request) -> Response:
        model, _, method = request.path_params["target"].partition(":")
        if method not in (_GENERATE, _STREAM, _EMBED):
            return _error(404, f"Method {method!r} is not served by the fake Gemini API.", [])
        body = await request.json()
        if method == _EMBED:
            return await self._embed(request, body)
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, request.url.query, dict(request.headers), body))
            failure = self._failures.popleft() if self._failures else None
            delay = self._next_delay()
            finish_override = self._finishes.popleft() if self._finishes and failure is None else None
        if delay:
            await asyncio.sleep(delay)
        if failure is not None and not (failure.mid_stream and method == _STREAM):
            return _error(failure.status, failure.message, failure.details, failure.headers)
        turns = _turns(body)
        max_tokens = int((body.get("generationConfig") or {}).get("maxOutputTokens") or 8192)
        words, finish = reply_words(turns, max_tokens)
        finish_reason = finish_override or ("MAX_TOKENS" if finish == "length" else "STOP")
        prompt_tokens = sum(len(turn["content"].split()) for turn in turns) + len(_text(body.get("systemInstruction")))
        usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": len(words),
                 "totalTokenCount": prompt_tokens + len(words)}
        if method == _STREAM:
            if request.query_params.get("alt") != "sse":
                return _error(400, "This fake streams only server-sent events; ask with alt=sse.", [])
            return StreamingResponse(_events(model, words, finish_reason, usage, failure),
                                     media_type="text/event-stream")
        return JSONResponse(_response(model, " ".join(words), finish_reason, usage))


def _embedding_texts(body: dict[str, Any]) -> list[str]:
    return [" ".join(_text(item.get("content"))) for item in body.get("requests", [])]


def _error(status: int, message: str, details: list[dict[str, Any]], headers: dict[str, str] | None = None,
           ) -> JSONResponse:
    return JSONResponse({"error": _error_object(status, message, details)}, status_code=status, headers=headers)


def _error_object(status: int, message: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    return {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN"), "details": details}


def _turns(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``contents`` as ``{"role", "content"}`` turns, Gemini's ``model`` role read as ``assistant``."""
    return [{"role": "assistant" if content.get("role") == "model" else "user", "content": " ".join(_text(content))}
            for content in body.get("contents") or []]


def _text(content: dict[str, Any] | None) -> list[str]:
    """The words of a ``Content``'s text parts."""
    parts = (content or {}).get("parts") or []
    return " ".join(str(part.get("text", "")) for part in parts).split()


def _response(model: str, text: str, finish_reason: str | None, usage: dict[str, int] | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish_reason is not None:
        candidate["finishReason"] = finish_reason
    response: dict[str, Any] = {"candidates": [candidate], "modelVersion": MODEL_VERSION,
                                "responseId": f"fake-{model}"}
    if usage is not None:
        response["usageMetadata"] = usage
    return response


async def _events(model: str, words: list[str], finish_reason: str, usage: dict[str, int],
                  failure: _Failure | None) -> AsyncIterator[bytes]:
    for index, word in enumerate(words):
        if failure is not None and index == 1:
            error = _error_object(failure.status, failure.message, failure.details)
            yield f"data: {json.dumps({'error': error})}\r\n\r\n".encode()
            return
        last = index == len(words) - 1
        piece = word if index == 0 else f" {word}"
        chunk = _response(model, piece, finish_reason if last else None, usage if last else None)
        yield f"data: {json.dumps(chunk)}\r\n\r\n".encode()
        await asyncio.sleep(0)
