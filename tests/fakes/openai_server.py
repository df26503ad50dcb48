"""A loopback server speaking the OpenAI chat-completions wire protocol, for the SDK to really call.

``POST /v1/chat/completions`` answers with a reply derived from the request: ``"You said: "``
followed by the last user message's words in reverse order, cut at ``max_tokens`` words (one word
is one token here). With ``"stream": true`` it sends server-sent ``chat.completion.chunk`` events
word by word, a usage chunk when ``stream_options.include_usage`` asks, then ``data: [DONE]``.
``POST /v1/embeddings`` answers each input with :func:`bag_of_words_vector`: deterministic, and texts
sharing more words have a higher cosine similarity. Every request is recorded; ``fail_next`` and
``delay_next`` program failures and slowness.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.loopback import LoopbackHTTPServer

EMBEDDING_DIMENSIONS = 64
_WORD = re.compile(r"[a-z0-9]+")
_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                429: "requests", 500: "server_error", 503: "server_error"}


@dataclass
class RecordedRequest:
    """One call as the server saw it: lower-cased headers and the decoded JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class _Failure:
    status: int
    message: str
    code: str | None
    headers: dict[str, str] = field(default_factory=dict)


class FakeOpenAIServer(LoopbackHTTPServer[RecordedRequest]):
    """Start with ``with FakeOpenAIServer() as server:``; point the SDK at ``server.base_url``."""

    def __init__(self) -> None:
        super().__init__([Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                          Route("/v1/embeddings", self._embeddings, methods=["POST"])], name="fake OpenAI")
        self._failures: deque[_Failure] = deque()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, status: int, *, times: int = 1, message: str = "", code: str | None = None,
                  retry_after: str | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` and an OpenAI-style error body."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        failure = _Failure(status, message or f"Fake failure with HTTP {status}.", code, headers)
        with self._lock:
            self._failures.extend([failure] * times)

    def _forget(self) -> None:
        self._failures.clear()

    async def _record(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        """The request's body, and the programmed failure to answer with instead, if any (after any delay)."""
        body = await request.json()
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
            failure = self._failures.popleft() if self._failures else None
            delay = self._next_delay()
        if delay:
            await asyncio.sleep(delay)
        if failure is None:
            return body, None
        error = {"message": failure.message, "type": _ERROR_TYPES.get(failure.status, "api_error"),
                 "param": None, "code": failure.code}
        return body, JSONResponse({"error": error}, status_code=failure.status, headers=failure.headers)

    async def _embeddings(self, request: Request) -> Response:
        body, failure = await self._record(request)
        if failure is not None:
            return failure
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        tokens = sum(len(_WORD.findall(str(text).lower())) for text in inputs)
        return JSONResponse({
            "object": "list", "model": body["model"],
            "data": [{"object": "embedding", "index": index, "embedding": bag_of_words_vector(str(text))}
                     for index, text in enumerate(inputs)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })

    async def _chat_completions(self, request: Request) -> Response:
        body, failure = await self._record(request)
        if failure is not None:
            return failure
        words, finish_reason = reply_words(body["messages"], int(body.get("max_tokens") or 4096))
        usage = {"prompt_tokens": _prompt_tokens(body["messages"]), "completion_tokens": len(words),
                 "total_tokens": _prompt_tokens(body["messages"]) + len(words)}
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = _chunks(body["model"], words, finish_reason, usage if include_usage else None)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words)},
                         "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage,
        })


def bag_of_words_vector(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """The text's lower-cased words hashed into ``dimensions`` counts, scaled to length 1 (zeros if no words)."""
    counts = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        counts[int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % dimensions] += 1.0
    norm = math.sqrt(sum(count * count for count in counts)) or 1.0
    return [count / norm for count in counts]


def reply_words(messages: list[dict[str, Any]], max_tokens: int) -> tuple[list[str], str]:
    """The reply's words and finish reason: ``You said:`` and the last user message reversed, cut at the limit."""
    last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = ["You", "said:", *reversed(str(last_user).split())]
    if len(words) > max_tokens:
        return words[:max_tokens], "length"
    return words, "stop"


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m["content"]).split()) for m in messages)


async def _chunks(model: str, words: list[str], finish_reason: str,
                  usage: dict[str, int] | None) -> AsyncIterator[bytes]:
    for chunk in _chunk_objects(model, words, finish_reason, usage):
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        await asyncio.sleep(0)
    yield b"data: [DONE]\n\n"


def _chunk_objects(model: str, words: list[str], finish_reason: str,
                   usage: dict[str, int] | None) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    extra = {"usage": None} if usage is not None else {}

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, **extra, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    yield choice({"role": "assistant", "content": ""})
    for index, word in enumerate(words):
        yield choice({"content": word if index == 0 else f" {word}"})
    yield choice({}, finish_reason)
    if usage is not None:
        yield {**base, "choices": [], "usage": usage}
