"""Anthropic's Claude models through the official ``anthropic`` SDK (the Messages API).

The SDK never retries (``max_retries=0``): the service layer owns retries, and every SDK failure
becomes a :class:`ProviderFailed` that says whether and when to try again. The SDK speaks API
version 2026-10-21, which refuses sampling parameters, so ``GenerateRequest.temperature`` is not sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field, SecretStr

from services.ai.base import AIProvider, ChatMessage, FinishReason, GenerateRequest, GenerateResult, Usage
from services.ai.errors import ProviderFailed
from services.ai.providers.messages import conversation_turns
from services.net.clients import client_for
from services.net.http_failures import redacted, retry_after_seconds
from services.settings import get_settings

if TYPE_CHECKING:  # the SDK takes seconds to import: each call imports it, so start-up does not
    import anthropic
    from anthropic.types import MessageParam

ANTHROPIC_API_URL = "https://api.anthropic.com"

# Statuses after which the same request may succeed later: timeout, lock conflict, rate limit, server errors.
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
# An error sent inside a stream arrives after HTTP 200, so its type says whether it passes.
_RETRYABLE_TYPES = frozenset({"rate_limit_error", "overloaded_error", "api_error", "timeout_error"})
# Anthropic answers 429 both for "slow down" and for a spend limit; only the first passes.
_SPEND_LIMITS = frozenset({"contract_spend_limit_reached", "enforced_spend_limit_reached"})
_FINISH_REASONS: dict[str, FinishReason] = {"max_tokens": "length", "model_context_window_exceeded": "length",
                                            "refusal": "content_filter"}


class AnthropicConnection(BaseModel):
    """Where the Messages API listens, the key it expects, and how long to wait for it."""

    base_url: str
    api_key: SecretStr
    timeout_seconds: float = Field(gt=0)


class AnthropicProvider(AIProvider):
    """Configured when ``ANTHROPIC_API_KEY`` is set; ``stream`` is native server-sent events."""

    name: ClassVar[str] = "anthropic"
    display_name: ClassVar[str] = "Anthropic"
    is_language_model: ClassVar[bool] = True
    sdk_package: ClassVar[str] = "anthropic"
    models: ClassVar[tuple[str, ...]] = ("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-8")

    last_streamed: GenerateResult | None = None
    """What the last completed ``stream`` produced: the joined text, usage and finish reason."""

    def is_configured(self) -> bool:
        """Whether an API key is set."""
        return bool(get_settings().anthropic_api_key.get_secret_value().strip())

    def connection(self) -> AnthropicConnection:
        """``ANTHROPIC_BASE_URL`` (Anthropic's own when blank) with ``ANTHROPIC_API_KEY``."""
        settings = get_settings()
        return AnthropicConnection(base_url=settings.anthropic_base_url.strip() or ANTHROPIC_API_URL,
                                   api_key=settings.anthropic_api_key,
                                   timeout_seconds=settings.ai_request_timeout_seconds)

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        """The model's complete answer; raises ProviderFailed when the provider fails or is unreachable."""
        import anthropic

        model = self.resolve_model(request.model)
        system, messages, unresolved = _messages(request)
        connection = self.connection()
        async with _client(connection) as client:
            try:
                message = await client.messages.create(model=model, system=system or anthropic.omit,
                                                       messages=messages, max_tokens=request.max_tokens)
            except anthropic.APIError as exc:
                raise self._failure(exc, connection) from exc
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = Usage(input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens)
        return self._result(text, model, usage, message.stop_reason, unresolved, message.id)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[str]:
        """The answer as the server sends it; afterwards ``last_streamed`` holds the text and usage."""
        import anthropic

        model = self.resolve_model(request.model)
        system, messages, unresolved = _messages(request)
        connection = self.connection()
        pieces: list[str] = []
        input_tokens, output_tokens, stop_reason, message_id = 0, 0, "end_turn", ""
        async with _client(connection) as client:
            try:
                events = await client.messages.create(model=model, system=system or anthropic.omit,
                                                      messages=messages, max_tokens=request.max_tokens, stream=True)
                async for event in events:
                    if event.type == "message_start":
                        message_id = event.message.id
                        input_tokens = event.message.usage.input_tokens
                        output_tokens = event.message.usage.output_tokens
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        pieces.append(event.delta.text)
                        yield event.delta.text
                    elif event.type == "message_delta":
                        # Counts here are cumulative for the whole message, not increments.
                        input_tokens = event.usage.input_tokens or input_tokens
                        output_tokens = event.usage.output_tokens
                        stop_reason = event.delta.stop_reason or stop_reason
            except anthropic.APIError as exc:
                raise self._failure(exc, connection) from exc
        usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        self.last_streamed = self._result("".join(pieces), model, usage, stop_reason, unresolved, message_id)

    def _result(self, text: str, model: str, usage: Usage, stop_reason: str | None, unresolved: list[str],
                message_id: str) -> GenerateResult:
        metadata: dict[str, Any] = {"message_id": message_id}
        if unresolved:
            metadata["unresolved_variables"] = unresolved
        return GenerateResult(text=text, provider=self.name, model=model, usage=usage, metadata=metadata,
                              finish_reason=_FINISH_REASONS.get(stop_reason or "end_turn", "stop"))

    def _failure(self, exc: anthropic.APIError, connection: AnthropicConnection) -> ProviderFailed:
        """The SDK's error as a sentence in our tree, never repeating the API key."""
        import anthropic

        name = self.display_name
        if isinstance(exc, anthropic.APITimeoutError):
            return ProviderFailed(f"The {name} provider did not answer within {connection.timeout_seconds:g} s; "
                                  "try again.", retryable=True)
        if isinstance(exc, anthropic.APIConnectionError):
            return ProviderFailed(f"The {name} provider could not be reached at {connection.base_url}; "
                                  "try again shortly.", retryable=True)
        if not isinstance(exc, anthropic.APIStatusError):
            return ProviderFailed(f"The {name} provider sent an answer this server cannot read: {exc.message}",
                                  retryable=False)
        status = exc.status_code
        if status == 401:
            return ProviderFailed(f"The {name} provider refused the API key (HTTP 401); "
                                  "ask an administrator to check ANTHROPIC_API_KEY.", retryable=False)
        said = redacted((exc.api_message or exc.message).strip().rstrip("."), connection.api_key.get_secret_value())
        retryable = ((status in _RETRYABLE_STATUSES or status >= 500 or exc.type in _RETRYABLE_TYPES)
                     and exc.error_code not in _SPEND_LIMITS)
        advice = "try again shortly" if retryable else "change the request or the provider settings"
        where = f"answered HTTP {status}" if status >= 400 else "stopped mid-answer"
        return ProviderFailed(f"The {name} provider {where}: {said} ({advice}).",
                              retryable=retryable, retry_after=retry_after_seconds(exc.response.headers),
                              details={"status": status, "type": exc.type, "code": exc.error_code,
                                       "request_id": exc.request_id})


@asynccontextmanager
async def _client(connection: AnthropicConnection) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The loop's client for these settings (kept, not closed: building one costs ~30 ms).

    The base URL is always passed so the SDK never reads ANTHROPIC_BASE_URL behind the settings' back.
    """
    import anthropic

    api_key = connection.api_key.get_secret_value()
    yield client_for(("anthropic", connection.base_url, api_key, connection.timeout_seconds),
                     lambda: anthropic.AsyncAnthropic(api_key=api_key, base_url=connection.base_url,
                                                      timeout=connection.timeout_seconds, max_retries=0))


def _messages(request: GenerateRequest) -> tuple[str, list[MessageParam], list[str]]:
    """The system prompt (every system turn, in order), the other turns, and unresolved placeholders."""
    turns, unresolved = conversation_turns(request)
    return _system_prompt(turns), [_message(turn) for turn in turns if turn.role != "system"], unresolved


def _system_prompt(turns: Sequence[ChatMessage]) -> str:
    # The Messages API takes the system prompt beside the conversation, not as a turn inside it.
    return "\n\n".join(turn.content for turn in turns if turn.role == "system")


def _message(turn: ChatMessage) -> MessageParam:
    if turn.role == "assistant":
        return {"role": "assistant", "content": turn.content}
    return {"role": "user", "content": turn.content}
