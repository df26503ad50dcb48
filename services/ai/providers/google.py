"""Google's Gemini models through the official ``google-genai`` SDK (the Gemini API's ``generateContent``).

The SDK never retries (one attempt, no implicit reconnects): the service layer owns retries, and
every SDK failure becomes a :class:`ProviderFailed` that says whether and when to try again. Where
to connect, which API version and which key are always passed, so the SDK never picks them up from
its own environment variables (``GOOGLE_GEMINI_BASE_URL``, ``GOOGLE_GENAI_USE_VERTEXAI``...).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import httpx
from pydantic import BaseModel, Field, SecretStr

from services.ai.base import (
    AIProvider,
    ChatMessage,
    EmbedResult,
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Usage,
)
from services.ai.errors import ProviderFailed
from services.ai.providers.messages import conversation_turns
from services.ai.text.tokens import count_tokens
from services.net.http_failures import redacted, retry_after_seconds
from services.settings import get_settings

if TYPE_CHECKING:  # the SDK takes seconds to import: each call imports it, so start-up does not
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types
    from google.genai.client import AsyncClient

GEMINI_API_URL = "https://generativelanguage.googleapis.com"
# v1beta is where the Gemini API documents generateContent and offers new models first.
GEMINI_API_VERSION = "v1beta"

# Statuses after which the same request may succeed later: timeout, lock conflict, rate limit, server errors.
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_FINISH_REASONS: dict[str, FinishReason] = {
    "MAX_TOKENS": "length",
    **dict.fromkeys(("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"), "content_filter"),
}


class _SdkFailures(NamedTuple):
    """What the SDK raises. It sends through httpx2 by default and httpx when GOOGLE_GENAI_HTTP_CLIENT says so."""

    every: tuple[type[Exception], ...]
    """Its API error and every transport error."""
    timeouts: tuple[type[Exception], ...]
    unreachable: tuple[type[Exception], ...]


@lru_cache(maxsize=1)
def _sdk_failures() -> _SdkFailures:
    """The SDK's exception classes (imported on first use, like the SDK)."""
    import httpx2
    from google.genai import errors as genai_errors

    return _SdkFailures(every=(genai_errors.APIError, httpx.TransportError, httpx2.TransportError),
                        timeouts=(httpx.TimeoutException, httpx2.TimeoutException),
                        unreachable=(httpx.ConnectError, httpx2.ConnectError))


class GoogleConnection(BaseModel):
    """Where the Gemini API listens, the key it expects, and how long to wait for it."""

    base_url: str
    api_key: SecretStr
    timeout_seconds: float = Field(gt=0)


class GoogleProvider(AIProvider):
    """Configured when ``GOOGLE_API_KEY`` is set; ``stream`` is native server-sent events."""

    name: ClassVar[str] = "google"
    display_name: ClassVar[str] = "Google Gemini"
    is_language_model: ClassVar[bool] = True
    sdk_package: ClassVar[str] = "google-genai"
    models: ClassVar[tuple[str, ...]] = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash")
    embedding_models: ClassVar[tuple[str, ...]] = ("gemini-embedding-001", "text-embedding-004")

    last_streamed: GenerateResult | None = None
    """What the last completed ``stream`` produced: the joined text, usage and finish reason."""

    def is_configured(self) -> bool:
        """Whether an API key is set."""
        return bool(get_settings().google_api_key.get_secret_value().strip())

    def connection(self) -> GoogleConnection:
        """``GOOGLE_BASE_URL`` (Google's own when blank) with ``GOOGLE_API_KEY``."""
        settings = get_settings()
        return GoogleConnection(base_url=settings.google_base_url.strip() or GEMINI_API_URL,
                                api_key=settings.google_api_key, timeout_seconds=settings.ai_request_timeout_seconds)

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        """The model's complete answer; raises ProviderFailed when the provider fails or is unreachable."""
        model = self.resolve_model(request.model)
        contents, config, unresolved = _request_parts(request)
        connection = self.connection()
        client = await _client(connection)
        try:
            response = await client.models.generate_content(model=model, contents=contents, config=config)
        except _sdk_failures().every as exc:
            raise self._failure(exc, connection) from exc
        return self._result(_text(response), model, _usage(response.usage_metadata), _finish_reason(response),
                            unresolved, response)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[str]:
        """The answer as the server sends it; afterwards ``last_streamed`` holds the text and usage."""
        model = self.resolve_model(request.model)
        contents, config, unresolved = _request_parts(request)
        connection = self.connection()
        client = await _client(connection)
        pieces: list[str] = []
        usage, finish_reason, last = Usage(), None, None
        try:
            chunks = await client.models.generate_content_stream(model=model, contents=contents, config=config)
            async for chunk in chunks:
                last = chunk
                # Each chunk may repeat the running counts; the last one sent holds the totals.
                if chunk.usage_metadata is not None:
                    usage = _usage(chunk.usage_metadata)
                finish_reason = _finish_reason(chunk) or finish_reason
                if text := _text(chunk):
                    pieces.append(text)
                    yield text
        except _sdk_failures().every as exc:
            raise self._failure(exc, connection) from exc
        self.last_streamed = self._result("".join(pieces), model, usage, finish_reason, unresolved, last)

    async def embed(self, texts: Sequence[str], model: str = "") -> EmbedResult:
        """One vector per text (``batchEmbedContents``); the API reports no token counts, so they are estimated."""
        from google.genai import types

        chosen = self.resolve_embedding_model(model)
        connection = self.connection()
        client = await _client(connection)
        try:
            contents: list[types.Content] = [types.Content(parts=[types.Part(text=text)])
                                                   for text in texts]
            response = await client.models.embed_content(model=chosen, contents=contents)
        except _sdk_failures().every as exc:
            raise self._failure(exc, connection) from exc
        vectors = [list(item.values or []) for item in response.embeddings or []]
        if len(vectors) != len(texts):
            raise ProviderFailed(f"The {self.display_name} provider answered {len(vectors)} embeddings for "
                                 f"{len(texts)} texts; try again.", retryable=True)
        return EmbedResult(provider=self.name, model=chosen, vectors=vectors,
                           usage=Usage(input_tokens=sum(count_tokens(text) for text in texts)))

    def _result(self, text: str, model: str, usage: Usage, finish_reason: FinishReason | None,
                unresolved: list[str], response: types.GenerateContentResponse | None) -> GenerateResult:
        metadata: dict[str, Any] = {}
        if response is not None:
            metadata |= {"response_id": response.response_id or "", "model_version": response.model_version or ""}
            if response.prompt_feedback is not None and response.prompt_feedback.block_reason is not None:
                metadata["block_reason"] = response.prompt_feedback.block_reason.value
        if unresolved:
            metadata["unresolved_variables"] = unresolved
        return GenerateResult(text=text, provider=self.name, model=model, usage=usage, metadata=metadata,
                              finish_reason=finish_reason or "stop")

    def _failure(self, exc: Exception, connection: GoogleConnection) -> ProviderFailed:
        """The SDK's error as a sentence in our tree, never repeating the API key."""
        from google.genai import errors as genai_errors

        name = self.display_name
        if isinstance(exc, _sdk_failures().timeouts):
            return ProviderFailed(f"The {name} provider did not answer within {connection.timeout_seconds:g} s; "
                                  "try again.", retryable=True)
        if isinstance(exc, _sdk_failures().unreachable):
            return ProviderFailed(f"The {name} provider could not be reached at {connection.base_url}; "
                                  "try again shortly.", retryable=True)
        if not isinstance(exc, genai_errors.APIError):
            return ProviderFailed(f"The connection to the {name} provider broke off before the answer was complete; "
                                  "try again.", retryable=True)
        status, error = exc.code, _error_body(exc.details)
        details = {"status": status, "code": exc.status}
        # The Gemini API refuses an unknown key with HTTP 400 and reason API_KEY_INVALID, not 401.
        if status in (401, 403) or "API_KEY_INVALID" in _reasons(error):
            return ProviderFailed(f"The {name} provider refused the API key (HTTP {status}); "
                                  "ask an administrator to check GOOGLE_API_KEY.", retryable=False, details=details)
        said = redacted((exc.message or exc.status or "no reason given").strip().rstrip("."),
                        connection.api_key.get_secret_value())
        retryable = status in _RETRYABLE_STATUSES or status >= 500
        advice = "try again shortly" if retryable else "change the request or the provider settings"
        return ProviderFailed(f"The {name} provider answered HTTP {status}: {said} ({advice}).", retryable=retryable,
                              retry_after=_retry_after(exc, error), details=details)


async def _client(connection: GoogleConnection) -> AsyncClient:
    # Building a client loads CA certificates (tens of milliseconds), so it is built off the event
    # loop and kept: unlike the OpenAI SDK's, this one keeps a connection pool per event loop.
    client = await asyncio.to_thread(_shared_client, connection.api_key.get_secret_value(), connection.base_url,
                                     max(round(connection.timeout_seconds * 1000), 1))
    return client.aio


@lru_cache(maxsize=8)
def _shared_client(api_key: str, base_url: str, timeout_ms: int) -> genai.Client:
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=base_url, api_version=GEMINI_API_VERSION, timeout=timeout_ms,
                                retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key=api_key, vertexai=False, http_options=options)


def _request_parts(request: GenerateRequest) -> tuple[list[types.Content], types.GenerateContentConfig, list[str]]:
    """The conversation as Gemini contents, the config with the system instruction, and unresolved placeholders."""
    from google.genai import types

    turns, unresolved = conversation_turns(request)
    contents = [types.Content(role="model" if turn.role == "assistant" else "user",
                              parts=[types.Part(text=turn.content)])
                for turn in turns if turn.role != "system"]
    config = types.GenerateContentConfig(system_instruction=_system_instruction(turns) or None,
                                         temperature=request.temperature, max_output_tokens=request.max_tokens)
    return contents, config, unresolved


def _system_instruction(turns: Sequence[ChatMessage]) -> str:
    # Gemini takes the system prompt beside the contents, not as a turn inside them.
    return "\n\n".join(turn.content for turn in turns if turn.role == "system")


def _text(response: types.GenerateContentResponse) -> str:
    """The first candidate's text, without the model's thought summaries."""
    if not response.candidates or response.candidates[0].content is None:
        return ""
    parts = response.candidates[0].content.parts or []
    return "".join(part.text for part in parts if part.text and not part.thought)


def _finish_reason(response: types.GenerateContentResponse) -> FinishReason | None:
    """Why the answer ended, when this response says; a blocked prompt counts as filtered."""
    if response.prompt_feedback is not None and response.prompt_feedback.block_reason is not None:
        return "content_filter"
    if not response.candidates or response.candidates[0].finish_reason is None:
        return None
    return _FINISH_REASONS.get(response.candidates[0].finish_reason.value, "stop")


def _usage(usage: types.GenerateContentResponseUsageMetadata | None) -> Usage:
    if usage is None:
        return Usage()
    # Thinking models bill their thought tokens as output, within max_output_tokens.
    output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    return Usage(input_tokens=usage.prompt_token_count or 0, output_tokens=output)


def _error_body(body: Any) -> Mapping[str, Any]:
    """The ``error`` object of Google's error JSON (``{"error": {"code", "message", "status", "details"}}``)."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            return error
    return {}


def _reasons(error: Mapping[str, Any]) -> set[str]:
    """The ``reason`` of every ``google.rpc.ErrorInfo`` detail."""
    return {str(detail["reason"]) for detail in _details(error, "ErrorInfo") if "reason" in detail}


def _retry_after(exc: genai_errors.APIError, error: Mapping[str, Any]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, else from a ``google.rpc.RetryInfo`` detail (``"7s"``)."""
    headers = getattr(exc.response, "headers", None)
    if isinstance(headers, Mapping) and (seconds := retry_after_seconds(headers)) is not None:
        return seconds
    for detail in _details(error, "RetryInfo"):
        delay = str(detail.get("retryDelay", ""))
        try:
            return max(float(delay.removesuffix("s")), 0.0)
        except ValueError:
            continue
    return None


def _details(error: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    details = error.get("details")
    if not isinstance(details, list):
        return []
    return [detail for detail in details
            if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith(f"google.rpc.{kind}")]
