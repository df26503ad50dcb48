"""The shared base of providers that speak OpenAI chat completions through the official ``openai`` SDK.

A subclass declares its name, display name and models, and says where to connect and with which
key (:meth:`OpenAICompatibleProvider.connection`). The SDK never retries (``max_retries=0``): the
service layer owns retries, and every SDK failure becomes a :class:`ProviderFailed` that says
whether and when to try again.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field, SecretStr

from services.ai.base import AIProvider, EmbedResult, FinishReason, GenerateRequest, GenerateResult, Usage
from services.ai.errors import ProviderFailed
from services.ai.providers.messages import conversation_turns
from services.net.clients import client_for
from services.net.http_failures import redacted, retry_after_seconds

if TYPE_CHECKING:  # the SDK takes seconds to import: each call imports it, so start-up does not
    import openai
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.completion_usage import CompletionUsage

# Statuses after which the same request may succeed later: timeout, lock conflict, rate limit, server errors.
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_FINISH_REASONS: dict[str, FinishReason] = {"length": "length", "content_filter": "content_filter"}


class OpenAICompatibleConnection(BaseModel):
    """Where an OpenAI-compatible server listens, the key it expects, and how long to wait for it."""

    base_url: str
    api_key: SecretStr
    timeout_seconds: float = Field(gt=0)


class OpenAICompatibleProvider(AIProvider):
    """Chat completions over the OpenAI wire protocol; ``stream`` is native server-sent events."""

    is_language_model: ClassVar[bool] = True
    sdk_package: ClassVar[str] = "openai"
    credentials_hint: ClassVar[str] = "ask an administrator to check the provider's API key"

    """What the last completed ``stream`` produced: the joined text, usage and finish reason."""

    @abstractmethod
    def connection(self) -> OpenAICompatibleConnection:
        """The server address, key and timeout, read from settings."""

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        """The model's complete answer; raises ProviderFailed when the provider fails or is unreachable."""
        import openai

        model = self.resolve_model(request.model)
        messages, unresolved = _chat_messages(request)
        connection = self.connection()
        async with _client(connection) as client:
            try:
                completion = await client.chat.completions.create(
                    model=model, messages=messages, temperature=request.temperature, max_tokens=request.max_tokens)
            except openai.APIError as exc:
                raise self._failure(exc, connection) from exc
        if not completion.choices:
            raise ProviderFailed(f"The {self.display_name} provider answered without a completion; try again.",
                                 retryable=True)
        choice = completion.choices[0]
        return self._result(choice.message.content or "", model, _usage(completion.usage), choice.finish_reason,
                            unresolved, completion.id)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[str]:
        """The answer as the server sends it; afterwards ``last_streamed`` holds the text and usage."""
        import openai

        model = self.resolve_model(request.model)
        messages, unresolved = _chat_messages(request)
        connection = self.connection()
        pieces: list[str] = []
        usage, finish_reason, completion_id = Usage(), "stop", ""
        async with _client(connection) as client:
            try:
                chunks = await client.chat.completions.create(
                    model=model, messages=messages, temperature=request.temperature, max_tokens=request.max_tokens,
                    stream=True, stream_options={"include_usage": True})
                async for chunk in chunks:
                    completion_id = chunk.id
                    if chunk.usage is not None:
                        usage = _usage(chunk.usage)
                    for choice in chunk.choices:
                        finish_reason = choice.finish_reason or finish_reason
                        if choice.delta.content:
                            pieces.append(choice.delta.content)
                            yield choice.delta.content
            except openai.APIError as exc:
                raise self._failure(exc, connection) from exc
        self.last_streamed = self._result("".join(pieces), model, usage, finish_reason, unresolved, completion_id)

    async def embed(self, texts: Sequence[str], model: str = "") -> EmbedResult:
        """One vector per text from the embeddings endpoint; raises ProviderFailed as ``generate`` does."""
        import openai

        offered = self.available_embedding_models()
        if not offered:
            return await super().embed(texts, model)
        chosen = self.resolve_embedding_model(model)
        connection = self.connection()
        async with _client(connection) as client:
            try:
                response = await client.embeddings.create(model=chosen, input=list(texts), encoding_format="float")
            except openai.APIError as exc:
                raise self._failure(exc, connection) from exc
        vectors = [item.embedding for item in sorted(response.data, key=lambda item: item.index)]
        if len(vectors) != len(texts):
            raise ProviderFailed(f"The {self.display_name} provider answered {len(vectors)} embeddings for "
                                 f"{len(texts)} texts; try again.", retryable=True)
        return EmbedResult(provider=self.name, model=chosen, vectors=vectors,
                           usage=Usage(input_tokens=response.usage.prompt_tokens if response.usage else 0))

    def _result(self, text: str, model: str, usage: Usage, finish_reason: str | None, unresolved: list[str],
                completion_id: str) -> GenerateResult:
        metadata: dict[str, Any] = {"completion_id": completion_id}
        if unresolved:
            metadata["unresolved_variables"] = unresolved
        return GenerateResult(text=text, provider=self.name, model=model, usage=usage, metadata=metadata,
                              finish_reason=_FINISH_REASONS.get(finish_reason or "stop", "stop"))

    def _failure(self, exc: openai.APIError, connection: OpenAICompatibleConnection) -> ProviderFailed:
        """The SDK's error as a sentence in our tree, never repeating the API key."""
        import openai

        name = self.display_name
        if isinstance(exc, openai.APITimeoutError):
            return ProviderFailed(f"The {name} provider did not answer within {connection.timeout_seconds:g} s; "
                                  "try again.", retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderFailed(f"The {name} provider could not be reached at {connection.base_url}; "
                                  "try again shortly.", retryable=True)
        if not isinstance(exc, openai.APIStatusError):
            return ProviderFailed(f"The {name} provider sent an answer this server cannot read: {exc.message}",
                                  retryable=False)
        status = exc.status_code
        if status == 401:
            return ProviderFailed(f"The {name} provider refused the API key (HTTP 401); {self.credentials_hint}.",
                                  retryable=False)
        said = redacted(_provider_message(exc), connection.api_key.get_secret_value())
        # OpenAI answers 429 both for "slow down" and for an exhausted quota; only the first passes.
        retryable = (status in _RETRYABLE_STATUSES or status >= 500) and exc.code != "insufficient_quota"
        advice = "try again shortly" if retryable else "change the request or the provider settings"
        return ProviderFailed(f"The {name} provider answered HTTP {status}: {said} ({advice}).",
                              retryable=retryable, retry_after=retry_after_seconds(exc.response.headers),
                              details={"status": status, "type": exc.type, "code": exc.code})


@asynccontextmanager
async def _client(connection: OpenAICompatibleConnection) -> AsyncIterator[openai.AsyncOpenAI]:
    """The loop's client for these settings (kept, not closed: building one costs ~30 ms)."""
    import openai

    api_key = connection.api_key.get_secret_value()
    yield client_for(("openai", connection.base_url, api_key, connection.timeout_seconds),
                     lambda: openai.AsyncOpenAI(api_key=api_key, base_url=connection.base_url,
                                                timeout=connection.timeout_seconds, max_retries=0))


def _chat_messages(request: GenerateRequest) -> tuple[list[ChatCompletionMessageParam], list[str]]:
    """The system prompt, the conversation, then the prompt as the last user turn; and unresolved placeholders."""
    turns, unresolved = conversation_turns(request)
    messages: list[ChatCompletionMessageParam] = []
    for turn in turns:
        if turn.role == "system":
            messages.append({"role": "system", "content": turn.content})
        elif turn.role == "assistant":
            messages.append({"role": "assistant", "content": turn.content})
        else:
            messages.append({"role": "user", "content": turn.content})
    return messages, unresolved


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens)


def _provider_message(exc: openai.APIStatusError) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the SDK's summary."""
    if isinstance(exc.body, dict) and isinstance(exc.body.get("message"), str):
        return str(exc.body["message"]).strip().rstrip(".")
    return exc.message
