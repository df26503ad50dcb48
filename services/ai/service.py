"""Generate and analyse text: what workflow nodes, the API and the AI Studio call.

Providers only talk to their vendor; everything around a call lives here: input checks, budgets,
the answer cache, retries, fallback along ``AI_FALLBACK_CHAIN``, cost from the price table, and
one ``AIUsage`` row per call (cache hits included, at zero cost).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from functools import partial

from services import errors
from services.ai import pricing, reliability, usage
from services.ai.base import (
    ANALYSIS_KINDS,
    MAX_PROMPT_CHARS,
    AIProvider,
    AnalysisKind,
    AnalyzeResult,
    EmbedResult,
    GenerateRequest,
    GenerateResult,
    ProviderInfo,
    Usage,
)
from services.ai.budgets import over_budget
from services.ai.errors import ProviderFailed, ProviderNotConfigured
from services.ai.registry import available_providers, get_provider
from services.ai.response_cache import answer_cache, request_key
from services.ai.text.tokens import count_tokens, word_chunks
from services.ai.usage import CallContext, UsageEntry
from services.settings import get_settings

log = logging.getLogger(__name__)


async def generate(request: GenerateRequest, *, provider: str | None = None, context: CallContext | None = None,
                   fallback: bool = True, use_cache: bool = True, allow_cheaper: bool = False) -> GenerateResult:
    """The answer to ``request`` from ``provider`` (``AI_DEFAULT_PROVIDER`` when None), or a fallback.

    Raises ValidationFailed for an unknown provider or model or an empty request,
    ProviderNotConfigured when the provider lacks its settings, BudgetExceeded when a spending cap
    is reached (unless ``allow_cheaper`` finds a provider that costs nothing), and ProviderFailed
    (HTTP 502) when every provider tried failed.
    """
    context = context or CallContext()
    failed: list[str] = []
    last_failure: ProviderFailed | None = None
    for candidate, model in await _plan(request, provider, context, fallback=fallback, allow_cheaper=allow_cheaper):
        asked = request.model_copy(update={"model": model})
        key = request_key(candidate.name, model, asked)
        started = time.perf_counter()
        if (cached := await _cached(key, use_cache)) is not None:
            return await _finish(cached, context, started, failed, operation="generate", cached=True)
        try:
            result = await reliability.with_retries(partial(candidate.generate, asked), candidate.name)
        except ProviderFailed as failure:
            failed.append(candidate.name)
            last_failure = failure
            continue
        result = await _finish(result, context, started, failed, operation="generate")
        await _remember(key, result, use_cache)
        return result
    raise _all_failed(failed, last_failure)


async def stream(request: GenerateRequest, *, provider: str | None = None, context: CallContext | None = None,
                 fallback: bool = True, use_cache: bool = True, allow_cheaper: bool = False) -> AsyncIterator[str]:
    """The answer piece by piece, with ``generate``'s choices; use :func:`stream_answer` to get its result.

    Raises as ``generate`` does, when the first piece is awaited.
    """
    async for piece in stream_answer(request, provider=provider, context=context, fallback=fallback,
                                     use_cache=use_cache, allow_cheaper=allow_cheaper):
        if isinstance(piece, str):
            yield piece


async def stream_answer(request: GenerateRequest, *, provider: str | None = None,
                        context: CallContext | None = None, fallback: bool = True, use_cache: bool = True,
                        allow_cheaper: bool = False) -> AsyncIterator[str | GenerateResult]:
    """Text pieces as they arrive, then the whole :class:`GenerateResult` (usage, cost, provider) last.

    A provider that fails before its first piece is retried and then replaced by the next
    fallback; once text has been sent, a failure ends the stream with the error. Cached answers
    are replayed in word-sized pieces.
    """
    context = context or CallContext()
    failed: list[str] = []
    last_failure: ProviderFailed | None = None
    for candidate, model in await _plan(request, provider, context, fallback=fallback, allow_cheaper=allow_cheaper):
        asked = request.model_copy(update={"model": model})
        key = request_key(candidate.name, model, asked)
        started = time.perf_counter()
        if (cached := await _cached(key, use_cache)) is not None:
            for chunk in word_chunks(cached.text):
                yield chunk
            yield await _finish(cached, context, started, failed, operation="stream", cached=True)
            return
        try:
            pieces, first_text = await reliability.with_retries(partial(_first_piece, candidate, asked), candidate.name)
        except ProviderFailed as failure:
            failed.append(candidate.name)
            last_failure = failure
            continue
        sent: list[str] = []
        try:
            if first_text:
                sent.append(first_text)
                yield first_text
            async for chunk in pieces:
                sent.append(chunk)
                yield chunk
        except BaseException:  # stopped by the caller or failed midway: the provider still billed what it sent
            await asyncio.shield(_finish(_partial(candidate.name, model, asked, "".join(sent)), context, started,
                                         failed, operation="stream"))
            raise
        whole = candidate.last_streamed or GenerateResult(text="", provider=candidate.name, model=model, usage=Usage())
        result = await _finish(whole, context, started, failed, operation="stream")
        await _remember(key, result, use_cache)
        yield result
        return
    raise _all_failed(failed, last_failure)


def _partial(provider: str, model: str, request: GenerateRequest, text: str) -> GenerateResult:
    """An interrupted stream's result, its tokens estimated from the words sent and asked (the provider's
    own count never came)."""
    asked = " ".join([request.system, request.prompt, *(message.content for message in request.messages)])
    usage = Usage(input_tokens=count_tokens(asked), output_tokens=count_tokens(text))
    return GenerateResult(text=text, provider=provider, model=model, usage=usage, finish_reason="length",
                          metadata={"interrupted": True, "tokens_estimated": True})


async def _first_piece(provider: AIProvider, request: GenerateRequest) -> tuple[AsyncIterator[str], str]:
    """Start a stream and wait for its first piece (so a failure before any text can be retried)."""
    pieces = provider.stream(request)
    try:
        first = await anext(pieces)
    except StopAsyncIteration:
        first = ""
    return pieces, first


async def _plan(request: GenerateRequest, provider: str | None, context: CallContext, *, fallback: bool,
                allow_cheaper: bool) -> list[tuple[AIProvider, str]]:
    """Providers to try, in order, each with its model: the chosen one (its requested model), then fallbacks."""
    _require_input(request)
    first = _ready_provider(provider)
    model = first.resolve_model(request.model)
    candidates = [first, *(reliability.fallbacks_after(first) if fallback else [])]
    refusal = await over_budget(context)
    if refusal is not None:
        if not allow_cheaper:
            raise refusal
        candidates = reliability.free_alternatives(first)
        if not candidates:
            raise refusal
        return [(candidate, candidate.available_models()[0]) for candidate in candidates]
    return [(first, model), *((candidate, candidate.available_models()[0]) for candidate in candidates[1:])]


async def _cached(key: str, use_cache: bool) -> GenerateResult | None:
    ttl = get_settings().ai_cache_ttl_seconds
    return await answer_cache().get(key) if use_cache and ttl > 0 else None


async def _remember(key: str, result: GenerateResult, use_cache: bool) -> None:
    ttl = get_settings().ai_cache_ttl_seconds
    if use_cache and ttl > 0 and result.finish_reason == "stop" and result.text:
        await answer_cache().put(key, result.model_copy(update={"fallback_from": [], "latency_ms": 0.0}), ttl)


async def _finish(result: GenerateResult, context: CallContext, started: float, failed: list[str], *,
                  operation: str, cached: bool = False) -> GenerateResult:
    """The result with cost, latency, fallback and cache flags, after recording its usage row."""
    latency_ms = (time.perf_counter() - started) * 1000
    cost = 0.0 if cached else pricing.cost_usd(result.provider, result.model, result.usage)
    final = result.model_copy(update={"usage": result.usage.model_copy(update={"cost_usd": cost}), "cached": cached,
                                      "fallback_from": list(failed), "latency_ms": round(latency_ms, 3)})
    entry = UsageEntry(operation=operation, provider=final.provider, model=final.model,
                       input_tokens=final.usage.input_tokens, output_tokens=final.usage.output_tokens,
                       cost_usd=cost, latency_ms=latency_ms, cached=cached, fallback_from=tuple(failed))
    try:
        await usage.record(entry, context)
    except Exception:  # the answer is already paid for: keep it, and say loudly that accounting missed it
        log.exception("could not record AI usage for %s/%s", final.provider, final.model)
    return final


def _all_failed(failed: list[str], last: ProviderFailed | None) -> ProviderFailed:
    assert last is not None
    if len(failed) == 1:
        return last
    return ProviderFailed(f"Every AI provider tried failed ({', '.join(failed)}); the last said: {last.message}",
                          retryable=last.retryable, retry_after=last.retry_after,
                          details={"providers_tried": failed})


async def analyze(text: str, kinds: Sequence[AnalysisKind] = ANALYSIS_KINDS, *,
                  provider: str | None = None, context: CallContext | None = None) -> AnalyzeResult:
    """The analyses named in ``kinds`` (all by default) of ``text``; fields for other kinds are ``None``.

    Raises ValidationFailed for blank text, an unknown kind or provider, and UnsupportedOperation
    when the provider does not analyse text.
    """
    if not text.strip():
        raise errors.ValidationFailed("There is no text to analyse; pass a non-empty text.",
                                      details=[{"field": "text", "message": "must not be empty"}])
    chosen = _ready_provider(provider)
    started = time.perf_counter()
    result = await chosen.analyze(text, _validated_kinds(kinds))
    cost = await _record_call("analyze", result.provider, result.model, result.usage, started, context or CallContext())
    return result.model_copy(update={"usage": result.usage.model_copy(update={"cost_usd": cost})})


MAX_EMBED_TEXTS = 2048  # OpenAI's limit of inputs per embeddings request


async def embed(texts: Sequence[str], *, provider: str | None = None, model: str = "",
                context: CallContext | None = None) -> EmbedResult:
    """One vector per text, in order, from ``provider`` (``AI_EMBEDDING_PROVIDER``, else the default, when None).

    Retried like ``generate`` (no fallback: vectors of different models cannot be compared).
    Raises ValidationFailed for no texts, a blank or too long text, or an unknown provider or
    model; UnsupportedOperation when the provider does not embed; ProviderNotConfigured,
    BudgetExceeded and ProviderFailed as ``generate`` does.
    """
    _require_texts(texts)
    context = context or CallContext()
    chosen = _ready_provider(provider or get_settings().ai_embedding_provider or None)
    if (refusal := await over_budget(context)) is not None:
        raise refusal
    started = time.perf_counter()
    result = await reliability.with_retries(partial(chosen.embed, list(texts), model), chosen.name)
    cost = await _record_call("embed", result.provider, result.model, result.usage, started, context)
    return result.model_copy(update={"usage": result.usage.model_copy(update={"cost_usd": cost})})


async def _record_call(operation: str, provider: str, model: str, spent: Usage, started: float,
                       context: CallContext) -> float:
    """Record one uncached call's usage row and return its cost (analyze and embed; generate goes through _finish)."""
    cost = pricing.cost_usd(provider, model, spent)
    try:
        await usage.record(UsageEntry(operation=operation, provider=provider, model=model,
                                      input_tokens=spent.input_tokens, output_tokens=spent.output_tokens,
                                      cost_usd=cost, latency_ms=(time.perf_counter() - started) * 1000), context)
    except Exception:  # the answer is already paid for: keep it, and say loudly that accounting missed it
        log.exception("could not record AI usage for %s/%s", provider, model)
    return cost


def _require_texts(texts: Sequence[str]) -> None:
    if not texts or len(texts) > MAX_EMBED_TEXTS:
        message = (f"At most {MAX_EMBED_TEXTS} texts can be embedded at once; split the batch." if texts
                   else "There is no text to embed; pass at least one.")
        raise errors.ValidationFailed(message, details=[{"field": "texts", "message": message}])
    for index, text in enumerate(texts):
        if not text.strip() or len(text) > MAX_PROMPT_CHARS:
            message = "must not be blank" if not text.strip() else f"longer than {MAX_PROMPT_CHARS} characters"
            raise errors.ValidationFailed(f"Text {index + 1} to embed is {message}; fix or leave it out.",
                                          details=[{"field": f"texts[{index}]", "message": message}])


async def usage_totals(*, user_id: uuid.UUID | None, days: int = 30) -> list[usage.UsageTotal]:
    """Spend by UTC day, provider and model; ``user_id=None`` covers every user (admins)."""
    if not 1 <= days <= 366:
        raise errors.ValidationFailed("Usage reports cover 1 to 366 days.",
                                      details=[{"field": "days", "message": "between 1 and 366"}])
    return await usage.totals(user_id=user_id, days=days)


def list_providers() -> list[ProviderInfo]:
    """Every registered provider with its models and whether this deployment has it configured."""
    return [get_provider(name).info() for name in available_providers()]


def _ready_provider(name: str | None) -> AIProvider:
    provider = get_provider(name)
    if not provider.is_configured():
        ready = ", ".join(name for name in available_providers() if get_provider(name).is_configured())
        raise ProviderNotConfigured(
            f"The AI provider '{provider.name}' is not configured on this server; "
            f"choose one that is ({ready}), or ask an administrator to set it up.",
            details=[{"field": "provider", "message": f"not configured; configured providers: {ready}"}],
        )
    return provider


def _require_input(request: GenerateRequest) -> None:
    if not request.prompt.strip() and not any(message.content.strip() for message in request.messages):
        raise errors.ValidationFailed("The request has no prompt and no messages; write a prompt.",
                                      details=[{"field": "prompt", "message": "must not be empty"}])


def _validated_kinds(kinds: Sequence[str]) -> list[AnalysisKind]:
    """``kinds`` without repeats, in the order given; refuses unknown kinds and an empty choice."""
    known: dict[str, AnalysisKind] = {kind: kind for kind in ANALYSIS_KINDS}
    unknown = [kind for kind in kinds if kind not in known]
    if unknown or not kinds:
        offered = ", ".join(ANALYSIS_KINDS)
        problem = f"Unknown analysis {', '.join(map(repr, unknown))}" if unknown else "No analysis was chosen"
        raise errors.ValidationFailed(f"{problem}; choose from: {offered}.",
                                      details=[{"field": "kinds", "message": f"choose from: {offered}"}])
    return list(dict.fromkeys(known[kind] for kind in kinds))
